"""Per-call switches of the transformer: attention perturbations (STG, cross-modal isolation) and host options."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import torch

from .attention import AttentionFn, sdpa_attention


class SkipAttention(Enum):
    """An attention that a perturbation removes (ltx-core ``PerturbationType``).

    A skipped self-attention returns its value projection (STG: the attention map becomes the identity); a skipped
    audio<->video cross-attention adds nothing to its target stream.
    """

    VIDEO_SELF = "skip_video_self_attn"
    AUDIO_SELF = "skip_audio_self_attn"
    AUDIO_TO_VIDEO = "skip_a2v_cross_attn"
    VIDEO_TO_AUDIO = "skip_v2a_cross_attn"


@dataclass(frozen=True)
class Perturbation:
    """Skip one attention kind in some blocks for some batch samples.

    Attributes:
        skip: which attention.
        blocks: block indices (0-based); ``None`` = every block.
        samples: batch indices the perturbation applies to; ``None`` = every sample.
    """

    skip: SkipAttention
    blocks: tuple[int, ...] | None = None
    samples: tuple[int, ...] | None = None

    def applies(self, skip: SkipAttention, block: int, sample: int) -> bool:
        """Whether this perturbation removes ``skip`` in ``block`` for batch sample ``sample``."""
        return (
            self.skip is skip
            and (self.blocks is None or block in self.blocks)
            and (self.samples is None or sample in self.samples)
        )


@dataclass(frozen=True)
class Perturbations:
    """A set of :class:`Perturbation` for one forward call (empty = plain forward).

    Example — STG on blocks 28 for every sample plus audio->video isolation for sample 1::

        Perturbations((Perturbation(SkipAttention.VIDEO_SELF, blocks=(28,)),
                       Perturbation(SkipAttention.AUDIO_TO_VIDEO, samples=(1,))))
    """

    items: tuple[Perturbation, ...] = ()

    def keep(self, skip: SkipAttention, block: int, batch_size: int) -> tuple[bool, ...]:
        """Per-sample keep flags (True = attention runs normally) for ``skip`` in ``block``."""
        return tuple(
            not any(item.applies(skip, block, sample) for item in self.items) for sample in range(batch_size)
        )

    def keep_switch(
        self, skip: SkipAttention, block: int, reference: torch.Tensor
    ) -> torch.Tensor | bool:
        """``True`` when no sample skips, ``False`` when all do, else a ``(B, 1, 1)`` 0/1 keep tensor with the
        dtype and device of ``reference`` ``(B, T, D)``."""
        if not self.items:  # the plain pass never reads ``block``: torch.compile then reuses one graph per block
            return True
        flags = self.keep(skip, block, reference.shape[0])
        if all(flags):
            return True
        if not any(flags):
            return False
        return torch.tensor(flags, dtype=reference.dtype, device=reference.device).view(-1, 1, 1)


NO_PERTURBATIONS = Perturbations()


@dataclass(frozen=True)
class TransformerOptions:
    """Host-provided knobs for one forward call.

    Attributes:
        attention_fn: the attention kernel used by every attention module (default PyTorch SDPA). ComfyUI can
            pass ``comfy.ldm.modules.attention.optimized_attention`` (bind ``transformer_options`` with
            ``functools.partial`` if needed).
        site_attention: ``(attention, kernel)`` pairs overriding ``attention_fn`` for the self- or
            audio<->video attention that the :class:`SkipAttention` names (the text cross-attentions always use
            ``attention_fn``). Sequence parallel (:mod:`ltx_model.distributed`) sets the kernels of the
            attentions whose keys are sharded video tokens.
    """

    attention_fn: AttentionFn = sdpa_attention
    site_attention: tuple[tuple[SkipAttention, AttentionFn], ...] = ()

    def kernel(self, site: SkipAttention) -> AttentionFn:
        """The kernel of the attention ``site``: its ``site_attention`` override, else ``attention_fn``."""
        for named, kernel in self.site_attention:
            if named is site:
                return kernel
        return self.attention_fn


DEFAULT_OPTIONS = TransformerOptions()
