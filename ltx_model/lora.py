"""LoRA files for the LTX-2 transformer: reading, key normalisation and the fusion math.

File format (ltx2-model.md §10): ``diffusion_model.<module path>.lora_A.weight`` (rank, in) and ``.lora_B.weight``
(out, rank); no alpha tensors in Lightricks' files; IC-LoRAs carry ``reference_downscale_factor`` in the metadata.
Keys are normalised by :func:`ltx_model.loading.keymaps.split_lora_key` (PEFT ``base_model.model.`` and the
``diffusion_model.`` prefixes removed; ``lora_down``/``lora_up`` accepted as A/B).

Fusion follows ltx-core's ``fuse_loras`` (``apply_loras``): for every model ``<module>.weight`` with a LoRA layer,
``delta = (B * strength) @ A`` is computed in the LoRA's dtype, cast to the weight's dtype (bfloat16 for float8
weights), summed over LoRAs (``stack().sum(0)``), and ``W <- delta + W``; biases are never adapted. Differences, by
choice: (1) a stored ``alpha`` scales by ``alpha / rank`` (ComfyUI's convention; Lightricks' files have no alpha, so
their results are unchanged); (2) float32 / float16 weights are accepted (ltx-core only handles bf16 / fp8);
(3) layers whose shapes do not fit raise :class:`LoraMismatchError` before any weight is modified.
Float8 weights are up-cast, added in bfloat16 and rounded back to float8 (ltx-core's CPU path; its CUDA path uses
stochastic rounding).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from .loading.keymaps import split_lora_key
from .loading.safetensors_io import CheckpointError, SafetensorsReader, read_header

REFERENCE_DOWNSCALE_KEY = "reference_downscale_factor"
FP8_DTYPES = (torch.float8_e4m3fn, torch.float8_e5m2)
MAX_LISTED = 5


class LoraMismatchError(CheckpointError):
    """A LoRA does not fit the model (another family, or a different width)."""


@dataclass(frozen=True)
class LoraKeys:
    """File keys of one LoRA layer (``alpha`` optional)."""

    a: str
    b: str
    alpha: str | None = None


def group_lora_keys(keys: Iterable[str]) -> dict[str, LoraKeys]:
    """``{module path: LoraKeys}``; raises CheckpointError for a lone A or B (corrupt / partial LoRA)."""
    parts: dict[str, dict[str, str]] = {}
    for key in keys:
        split = split_lora_key(key)
        if split is not None:
            parts.setdefault(split[0], {})[split[1]] = key
    broken = sorted(m for m, p in parts.items() if not ("A" in p and "B" in p))
    if broken:
        raise CheckpointError(f"LoRA layers without both A and B: {', '.join(broken[:MAX_LISTED])}")
    return {m: LoraKeys(p["A"], p["B"], p.get("alpha")) for m, p in parts.items()}


def parse_reference_downscale_factor(metadata: Mapping[str, str]) -> int:
    """IC-LoRA reference downscale factor from metadata (missing -> 1, like ltx-pipelines)."""
    raw = metadata.get(REFERENCE_DOWNSCALE_KEY)
    if raw is None:
        return 1
    try:
        value = int(raw)
    except ValueError:
        raise CheckpointError(f"LoRA metadata {REFERENCE_DOWNSCALE_KEY}={raw!r} is not an integer") from None
    if value < 1:
        raise CheckpointError(f"LoRA metadata {REFERENCE_DOWNSCALE_KEY}={value} must be >= 1")
    return value


@dataclass
class LoraWeights:
    """One LoRA: its layers and a way to fetch their tensors (lazily from a file, or from memory).

    Attributes:
        name: file name or a label.
        layers: ``{module path: LoraKeys}`` (module paths relative to the transformer).
        fetch: key -> tensor (reads only that tensor's bytes for file-backed LoRAs).
        metadata: safetensors metadata.
    """

    name: str
    layers: Mapping[str, LoraKeys]
    fetch: Callable[[str], torch.Tensor]
    metadata: Mapping[str, str] = field(default_factory=dict)
    _closer: Callable[[], None] | None = None

    @property
    def reference_downscale_factor(self) -> int:
        """IC-LoRA reference downscale factor (1 for plain LoRAs)."""
        return parse_reference_downscale_factor(self.metadata)

    def check_shapes(self) -> None:
        """Every A is (r, in) and B is (out, r) with the same r; raises CheckpointError otherwise."""
        for module, keys in self.layers.items():
            a, b = self.fetch(keys.a), self.fetch(keys.b)
            if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
                raise CheckpointError(
                    f"{self.name}: {module}: lora_A {list(a.shape)} and lora_B {list(b.shape)} do not pair up"
                )

    def delta(self, module: str, strength: float, dtype: torch.dtype) -> torch.Tensor:
        """``(B * strength * alpha/r) @ A`` in the LoRA's dtype, then cast to ``dtype``. Shape (out, in)."""
        keys = self.layers[module]
        a, b = self.fetch(keys.a), self.fetch(keys.b)
        scale = float(strength)
        if keys.alpha is not None:
            scale *= float(self.fetch(keys.alpha).float().item()) / a.shape[0]
        return torch.matmul(b * scale, a).to(dtype)

    def close(self) -> None:
        """Release the file handle of a file-backed LoRA."""
        if self._closer is not None:
            self._closer()
            self._closer = None

    def __enter__(self) -> LoraWeights:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_lora(path: str | os.PathLike[str]) -> LoraWeights:
    """Open a LoRA safetensors file; tensors are read on demand, one layer at a time. Close it (or use ``with``)."""
    header = read_header(path)
    layers = group_lora_keys(header.keys())
    if not layers:
        raise CheckpointError(f"{path}: not a LoRA file (no lora_A / lora_B keys)")
    parse_reference_downscale_factor(header.metadata)
    reader = SafetensorsReader(header)
    return LoraWeights(os.path.basename(str(path)), layers, reader.read, dict(header.metadata), reader.close)


def lora_from_state_dict(
    state: Mapping[str, torch.Tensor], *, name: str = "lora", metadata: Mapping[str, str] | None = None
) -> LoraWeights:
    """A LoRA held in memory (e.g. a state dict from another loader)."""
    return LoraWeights(name, group_lora_keys(state), state.__getitem__, dict(metadata or {}))


@dataclass(frozen=True)
class FuseReport:
    """What a fusion touched: fused model weight keys and LoRA layers no model weight matched (ignored)."""

    fused: tuple[str, ...]
    unmatched: tuple[str, ...]


def _delta_dtype(weight: torch.Tensor) -> torch.dtype:
    return torch.bfloat16 if weight.dtype in FP8_DTYPES else weight.dtype


def _check_fit(weights: Mapping[str, torch.Tensor], loras: Sequence[tuple[LoraWeights, float]]) -> FuseReport:
    """Match LoRA layers to ``<module>.weight`` keys and check shapes, before anything is modified."""
    fused: set[str] = set()
    unmatched: list[str] = []
    bad: list[str] = []
    for lora, _ in loras:
        for module, keys in lora.layers.items():
            key = module + ".weight"
            if key not in weights:
                unmatched.append(f"{lora.name}:{module}")
                continue
            a, b = lora.fetch(keys.a), lora.fetch(keys.b)
            want = tuple(weights[key].shape)
            if (b.shape[0], a.shape[-1]) != want or a.shape[0] != b.shape[-1]:
                bad.append(f"{module} gives [{b.shape[0]}, {a.shape[-1]}] for weight {list(want)}")
            fused.add(key)
    if bad:
        raise LoraMismatchError(
            f"LoRA does not fit this model (a LoRA for another family or size?): {len(bad)} layer(s), e.g. "
            + "; ".join(bad[:MAX_LISTED])
        )
    if not fused:
        raise LoraMismatchError(
            "LoRA matches none of the model's weights (a LoRA for another model?); e.g. "
            + ", ".join(unmatched[:MAX_LISTED])
        )
    return FuseReport(tuple(sorted(fused)), tuple(unmatched))


def fused_weight(weight: torch.Tensor, deltas: list[torch.Tensor]) -> torch.Tensor:
    """``sum(deltas) + W`` in the delta dtype, returned in ``weight``'s dtype (ltx-core operation order)."""
    total = deltas[0] if len(deltas) == 1 else torch.sum(torch.stack(deltas, dim=0), dim=0)
    total = total.add_(weight.to(total.dtype)) if weight.dtype in FP8_DTYPES else total.add_(weight)
    return total.to(weight.dtype)


def fuse_loras(
    weights: Mapping[str, torch.Tensor], loras: Sequence[tuple[LoraWeights, float]]
) -> tuple[dict[str, torch.Tensor], FuseReport]:
    """New tensors for every weight a LoRA touches: ``{key: W + sum_i s_i * B_i @ A_i}`` (inputs untouched).

    Args:
        weights: transformer state dict (module keys, e.g. ``transformer_blocks.0.attn1.to_q.weight``).
        loras: ``(LoraWeights, strength)`` pairs.
    Raises:
        LoraMismatchError: a layer's shape differs from the model's, or nothing matches.
    """
    report = _check_fit(weights, loras)
    out: dict[str, torch.Tensor] = {}
    for key in report.fused:
        weight = weights[key]
        module = key[: -len(".weight")]
        deltas = [
            lora.delta(module, strength, _delta_dtype(weight)).to(weight.device)
            for lora, strength in loras
            if module in lora.layers
        ]
        out[key] = fused_weight(weight, deltas)
    return out, report


@torch.no_grad()
def fuse_loras_into_module(module: nn.Module, loras: Sequence[tuple[LoraWeights, float]]) -> FuseReport:
    """Fuse LoRAs into a module's weights in place, one layer at a time (peak memory: one layer's delta)."""
    params = dict(module.named_parameters())
    report = _check_fit(params, loras)
    for key in report.fused:
        param = params[key]
        layer = key[: -len(".weight")]
        deltas = [
            lora.delta(layer, s, _delta_dtype(param)).to(param.device) for lora, s in loras if layer in lora.layers
        ]
        param.copy_(fused_weight(param.detach(), deltas))
    return report
