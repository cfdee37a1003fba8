"""The multimodal guider: a ``comfy.samplers.CFGGuider`` that guides video and audio separately.

Per step it runs up to four passes through ComfyUI's own ``calc_cond_batch`` (so hooks, wrappers, area conds and
memory batching keep working) and combines their x0 predictions per modality with ``ltx_model.sampling.guide``:

* cond (positive) and uncond (negative), batched together, when either modality's ``cfg_scale != 1``;
* perturbed (STG): positive with the listed blocks' self-attention replaced by its value projection;
* isolated: positive with the audio<->video cross-attention skipped in every block.

The perturbations travel in a CLONED ``transformer_options`` (``diffusion.PERTURBATIONS_KEY``) that only this
pack's transformer reads: nothing global is patched. Only ``predict_noise`` is overridden (its signature is the same
on every supported host); ``sampler_post_cfg_function`` hooks still run on the guided result.
"""

from __future__ import annotations

import logging
from typing import Any

import comfy.model_patcher
import comfy.samplers
import comfy.utils
import torch

from ..ltx_model.sampling import ISOLATE_MODALITIES, GuiderParams, guide, stg_perturbations
from ..ltx_model.transformer import Perturbations
from .diffusion import PERTURBATIONS_KEY

ISOLATION = ISOLATE_MODALITIES
"""Cross-modal isolation: audio->video and video->audio attention skipped in every block."""


def with_perturbations(model_options: dict, perturbations: Perturbations) -> dict:
    """A clone of ``model_options`` whose ``transformer_options`` carry ``perturbations`` (input untouched)."""
    options = comfy.model_patcher.create_model_options_clone(model_options)
    options["transformer_options"] = {**options.get("transformer_options", {}), PERTURBATIONS_KEY: perturbations}
    return options


def split_modalities(packed: torch.Tensor, latent_shapes: Any) -> list[torch.Tensor]:
    """A packed ``(B, 1, N)`` audio+video tensor -> ``[video, audio]`` grids; anything else -> ``[packed]``."""
    if latent_shapes is None or len(latent_shapes) < 2:
        return [packed]
    return comfy.utils.unpack_latents(packed, latent_shapes)


def join_modalities(parts: list[torch.Tensor]) -> torch.Tensor:
    """Inverse of :func:`split_modalities`."""
    return parts[0] if len(parts) == 1 else comfy.utils.pack_latents(parts)[0]


class LTX2MultimodalGuider(comfy.samplers.CFGGuider):
    """Per-modality CFG + STG + cross-modal isolation guidance + std rescale (ltx-pipelines'
    ``multi_modal_guider_denoising_func``) for core ``SamplerCustomAdvanced`` and the pack's sampler.

    Args:
        model_patcher: the MODEL (STG / isolation need this pack's transformer).
        video, audio: the guidance settings of each modality (``ltx_model.sampling.GuiderParams``). A video-only
            latent is guided with ``video`` alone.
    """

    def __init__(self, model_patcher: Any, video: GuiderParams, audio: GuiderParams) -> None:
        super().__init__(model_patcher)
        self.video, self.audio = video, audio
        self.cfg = video.cfg_scale  # read by some third-party hooks

    def set_conds(self, positive: Any, negative: Any) -> None:
        self.inner_set_conds({"positive": positive, "negative": negative})

    def predict_noise(self, x: torch.Tensor, timestep: torch.Tensor, model_options: dict | None = None,
                      seed: int | None = None) -> torch.Tensor:
        """Guided x0 prediction for the packed latent ``x`` at sigma ``timestep``."""
        model_options = model_options or {}
        positive, negative = self.conds.get("positive"), self.conds.get("negative")
        video, audio = self.video, self.audio
        need_uncond = video.needs_uncond() or audio.needs_uncond()
        outputs = comfy.samplers.calc_cond_batch(self.inner_model, [positive, negative] if need_uncond else [positive],
                                                 x, timestep, model_options)
        cond, uncond = outputs[0], (outputs[1] if need_uncond else 0.0)
        perturbed = isolated = 0.0
        if video.needs_perturbed() or audio.needs_perturbed():
            options = with_perturbations(model_options, stg_perturbations(video, audio))
            perturbed = comfy.samplers.calc_cond_batch(self.inner_model, [positive], x, timestep, options)[0]
        if video.needs_isolated() or audio.needs_isolated():
            options = with_perturbations(model_options, ISOLATION)
            isolated = comfy.samplers.calc_cond_batch(self.inner_model, [positive], x, timestep, options)[0]
        shapes = _latent_shapes(positive)
        passes = [split_modalities(p, shapes) if isinstance(p, torch.Tensor) else None
                  for p in (cond, uncond, perturbed, isolated)]
        guided = [guide(params, *(p[i] if p is not None else 0.0 for p in passes))
                  for i, params in enumerate((video, audio)[: len(passes[0])])]
        result = join_modalities(guided)
        for fn in model_options.get("sampler_post_cfg_function", []):
            result = fn({"denoised": result, "cond": positive, "uncond": negative, "cond_scale": video.cfg_scale,
                         "model": self.inner_model, "uncond_denoised": uncond if need_uncond else cond,
                         "cond_denoised": cond, "sigma": timestep, "model_options": model_options, "input": x})
        return result


def _latent_shapes(conds: list[dict] | None) -> Any:
    """The ``latent_shapes`` the sampler threaded into the processed conds (None for a single latent)."""
    for cond in conds or []:
        shapes = cond.get("model_conds", {}).get("latent_shapes")
        if shapes is not None:
            return shapes.cond
    return None


def usable_blocks(blocks: tuple[int, ...], num_layers: int, *, explicit: bool) -> tuple[int, ...]:
    """STG blocks that exist in a model of ``num_layers`` blocks. Explicit blocks out of range are an error;
    the version defaults (blocks 28 / 29) are dropped with a warning on smaller (test / demo) models."""
    outside = [b for b in blocks if not 0 <= b < num_layers]
    if outside and explicit:
        raise ValueError(f"STG blocks {outside} do not exist: this model has blocks 0..{num_layers - 1}")
    if outside:
        logging.warning("LTX-2 Native: default STG blocks %s are outside this %d-block model; STG disabled",
                        outside, num_layers)
    return tuple(b for b in blocks if 0 <= b < num_layers)
