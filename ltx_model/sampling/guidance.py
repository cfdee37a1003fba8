"""Multi-modal guidance: combine the x0 predictions of up to four transformer passes per modality.

Passes (ltx-pipelines ``multi_modal_guider_denoising_func``): **cond** (positive prompt), **uncond** (negative
prompt; needed when ``cfg_scale != 1``), **perturbed** (STG: self-attention of the listed blocks replaced by its
value projection; needed when ``stg_scale != 0``) and **isolated** (audio<->video cross-attention skipped in all
blocks; needed when ``modality_scale != 1``). Per modality::

    pred = c + (cfg - 1)(c - u) + stg (c - p) + (mod - 1)(c - m)
    pred = pred * (r * std(c) / std(pred) + 1 - r)          # if r = rescale_scale != 0

The arithmetic runs in float32 and is cast back to the input dtype — HEAD ltx-core behaviour (1.0.0 computed in
the input dtype, i.e. bf16).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from ..transformer.options import Perturbation, Perturbations, SkipAttention


@dataclass(frozen=True)
class GuiderParams:
    """Guidance settings of one modality (ltx-core ``MultiModalGuiderParams``).

    Attributes:
        cfg_scale: classifier-free guidance scale (1 = off).
        stg_scale: spatio-temporal guidance scale (0 = off).
        stg_blocks: transformer block indices whose self-attention is perturbed for STG.
        rescale_scale: std-rescale strength ``r`` in [0, 1] (0 = off).
        modality_scale: audio<->video guidance scale (1 = off).
        skip_step: evaluate only steps with ``i % (skip_step + 1) == 0``; others reuse the last prediction.
    """

    cfg_scale: float = 1.0
    stg_scale: float = 0.0
    stg_blocks: tuple[int, ...] = ()
    rescale_scale: float = 0.0
    modality_scale: float = 1.0
    skip_step: int = 0

    def needs_uncond(self) -> bool:
        """Whether the negative-prompt pass is needed."""
        return not math.isclose(self.cfg_scale, 1.0)

    def needs_perturbed(self) -> bool:
        """Whether the STG pass is needed."""
        return not math.isclose(self.stg_scale, 0.0)

    def needs_isolated(self) -> bool:
        """Whether the modality-isolated pass is needed."""
        return not math.isclose(self.modality_scale, 1.0)

    def skips_step(self, step_index: int) -> bool:
        """True when this step reuses the previous guided prediction."""
        return self.skip_step != 0 and step_index % (self.skip_step + 1) != 0


ISOLATE_MODALITIES = Perturbations(
    (Perturbation(SkipAttention.AUDIO_TO_VIDEO), Perturbation(SkipAttention.VIDEO_TO_AUDIO))
)
"""The isolated pass's perturbations: audio->video and video->audio cross-attention skipped in every block."""


def stg_perturbations(video: GuiderParams, audio: GuiderParams) -> Perturbations:
    """The STG pass's perturbations: each modality whose ``stg_scale != 0`` has its self-attention skipped in its
    ``stg_blocks`` (video first, then audio; empty when neither needs the pass)."""
    items = []
    if video.needs_perturbed():
        items.append(Perturbation(SkipAttention.VIDEO_SELF, blocks=tuple(video.stg_blocks)))
    if audio.needs_perturbed():
        items.append(Perturbation(SkipAttention.AUDIO_SELF, blocks=tuple(audio.stg_blocks)))
    return Perturbations(tuple(items))


Prediction = torch.Tensor | float


def _f32(x: Prediction) -> Prediction:
    return x.float() if isinstance(x, torch.Tensor) else x


def guide(
    params: GuiderParams,
    cond: torch.Tensor,
    uncond: Prediction = 0.0,
    perturbed: Prediction = 0.0,
    isolated: Prediction = 0.0,
) -> torch.Tensor:
    """Guided x0 prediction of one modality (HEAD ``MultiModalGuider.calculate``: float32 math).

    Args:
        params: the modality's guidance settings.
        cond: ``(B, T, D)`` prediction of the conditional pass.
        uncond, perturbed, isolated: predictions of the other passes, or ``0.0`` when that pass was not run
            (its term is then multiplied by a neutral scale, as in the reference).
    Returns:
        ``(B, T, D)`` in ``cond.dtype``. The rescale std is the unbiased std over the whole tensor (all tokens,
        including appended conditioning tokens).
    """
    dtype = cond.dtype
    c = cond.float()
    pred = (
        c
        + (params.cfg_scale - 1) * (c - _f32(uncond))
        + params.stg_scale * (c - _f32(perturbed))
        + (params.modality_scale - 1) * (c - _f32(isolated))
    )
    if params.rescale_scale != 0 and pred.numel() > 1:  # an empty stream (e.g. no video tokens) has no std
        factor = c.std() / pred.std()
        pred = pred * (params.rescale_scale * factor + (1 - params.rescale_scale))
    return pred.to(dtype)


@dataclass(frozen=True)
class SigmaBinnedGuiderParams:
    """Sigma-dependent guidance (ltx-core ``MultiModalGuiderFactory``).

    ``bins`` are ``(upper_sigma_bound, params)`` sorted by bound, descending; bin ``i`` covers
    ``(bound_{i+1}, bound_i]`` and a sigma above every bound uses the first bin.
    """

    bins: tuple[tuple[float, GuiderParams], ...]

    @classmethod
    def constant(cls, params: GuiderParams) -> SigmaBinnedGuiderParams:
        """The same params for every sigma."""
        return cls(bins=((float("inf"), params),))

    @classmethod
    def from_mapping(cls, sigma_to_params: Mapping[float, GuiderParams]) -> SigmaBinnedGuiderParams:
        """Build from ``{upper_sigma_bound: params}``."""
        if not sigma_to_params:
            raise ValueError("sigma_to_params must be non-empty")
        return cls(bins=tuple(sorted(sigma_to_params.items(), key=lambda kv: kv[0], reverse=True)))

    def at(self, sigma: float | torch.Tensor) -> GuiderParams:
        """Params effective at ``sigma``."""
        value = float(sigma.item() if isinstance(sigma, torch.Tensor) else sigma)
        at_or_above = [bound for bound, _ in self.bins if bound >= value]
        key = at_or_above[-1] if at_or_above else self.bins[0][0]
        return next(p for bound, p in self.bins if bound == key)


@dataclass(frozen=True)
class SamplingDefaults:
    """Per-model-version defaults of ltx-pipelines ``utils/constants.py`` (``PipelineParams``)."""

    num_inference_steps: int
    video: GuiderParams
    audio: GuiderParams
    seed: int = 10
    stage_1_height: int = 512
    stage_1_width: int = 768
    num_frames: int = 121
    frame_rate: float = 24.0


def _av_defaults(steps: int, stg_block: int) -> SamplingDefaults:
    blocks = (stg_block,)
    return SamplingDefaults(
        num_inference_steps=steps,
        video=GuiderParams(cfg_scale=3.0, stg_scale=1.0, stg_blocks=blocks, rescale_scale=0.7, modality_scale=3.0),
        audio=GuiderParams(cfg_scale=7.0, stg_scale=1.0, stg_blocks=blocks, rescale_scale=0.7, modality_scale=3.0),
    )


LTX_2_PARAMS = _av_defaults(40, 29)
"""LTX-2 (19B): 40 steps, STG block 29."""
LTX_2_3_PARAMS = _av_defaults(30, 28)
"""LTX-2.3 (22B): 30 steps, STG block 28."""
LTX_2_3_HQ_PARAMS = SamplingDefaults(
    num_inference_steps=15,
    stage_1_height=1088 // 2,
    stage_1_width=1920 // 2,
    video=GuiderParams(cfg_scale=3.0, stg_scale=0.0, rescale_scale=0.45, modality_scale=3.0),
    audio=GuiderParams(cfg_scale=7.0, stg_scale=0.0, rescale_scale=1.0, modality_scale=3.0),
)
"""HQ two-stage pipeline (res_2s, 15 steps, no STG)."""


_PARAMS_SINCE_VERSION: tuple[tuple[tuple[int, ...], SamplingDefaults], ...] = (((2, 3), LTX_2_3_PARAMS),)
"""ltx-pipelines HEAD ``_PARAMS_SINCE_VERSION``: the newest generation a version is at or above gives its params
(2.4 / 2.5 keep the 2.3 steps and STG block; their image CRF is :func:`ltx_model.modes.default_image_crf`)."""


def version_numbers(model_version: str | None) -> tuple[int, ...]:
    """``model_version`` metadata -> comparable numbers (``"2.5.0"`` -> ``(2, 5, 0)``, ``"2.4-rc2"`` -> ``(2, 4)``):
    parsing stops at the first part that is not a plain integer; unset gives ``()`` (below every version)."""
    numbers: list[int] = []
    for part in (model_version or "").replace("-", ".").split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers)


def defaults_for_version(model_version: str | None) -> SamplingDefaults:
    """``detect_params`` (ltx-pipelines HEAD): ``LTX_2_3_PARAMS`` for ``model_version >= 2.3`` (2.3, 2.4, 2.5),
    else (older, unset or unreadable) ``LTX_2_PARAMS``."""
    parsed = version_numbers(model_version)
    for since, params in _PARAMS_SINCE_VERSION:
        if parsed >= since:
            return params
    return LTX_2_PARAMS
