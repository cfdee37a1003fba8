"""Sampling nodes: LTX-2 scheduler, multimodal guider and a one-node sampler.

Defaults follow the detected model (``model_loader.model_facts``): distilled checkpoints get the fixed 8-step distilled
sigmas and no guidance; dev checkpoints get the LTX-2 schedule with the version's step count (LTX-2: 40, LTX-2.3 and
LTX-2.5: 30) and multimodal guidance with the version's STG block (LTX-2: 29, LTX-2.3 and LTX-2.5: 28); unguided
first-stage runs of LTX-2.5 step with Euler-ancestral (``nodes.ancestral``), everything else (guided runs, the
stage-2 refinement) with Euler. Every default is read from the connected model's checkpoint, so swapping the model
swaps them. A model this pack did not load is treated as LTX-2.3 dev.

Node ids (inputs -> outputs):

* ``LTX2NScheduler`` (schedule, steps, max_shift, base_shift, stretch, terminal, model?, latent?) -> sigmas
* ``LTX2NMultimodalGuider`` (model, positive, negative, video_cfg, audio_cfg, video_stg, audio_stg, stg_blocks,
  video_rescale, audio_rescale, video_modality, audio_modality) -> guider
* ``LTX2NSampler`` (model, positive, negative, latent, seed, schedule, steps, guidance, guider?, sampler?) -> latent
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import comfy.model_management
import comfy.sample
import comfy.samplers
import comfy.utils
import torch
from comfy_api.latest import io

from ..ltx_model.pipelines.request import Sampler
from ..ltx_model.pipelines.samplers import default_sampler
from ..ltx_model.sampling import (
    LTX_2_3_HQ_PARAMS,
    LTX_2_3_PARAMS,
    GuiderParams,
    SamplingDefaults,
    distilled_sigmas,
    ltx2_sigmas,
    stage2_distilled_sigmas,
)
from .ancestral import euler_ancestral_sampler
from .guidance import LTX2MultimodalGuider, usable_blocks
from .latent_formats import tag_latent
from .model_loader import model_facts
from .previews import preview_callback
from .schema import make_schema

SCHEDULES = ("auto", "LTX-2 schedule", "distilled stage 1", "distilled stage 2", "HQ stage 1")
GUIDANCE = ("auto", "multimodal", "none")
_SCHEDULE_TIP = ("auto: distilled model -> the 8 distilled sigmas, dev model -> the LTX-2 schedule; 'distilled "
                 "stage 2' = the 3-step refinement after a x2 latent upscale (starts at sigma 0.909375); 'HQ stage 1' "
                 "= the HQ recipe's LTX-2 schedule (15 steps, shift from the connected latent; stage 2 of HQ uses "
                 "'distilled stage 2').")


def _defaults(model: Any) -> SamplingDefaults:
    facts = model_facts(model) if model is not None else None
    return facts.defaults() if facts is not None else LTX_2_3_PARAMS


def _is_distilled(model: Any) -> bool:
    facts = model_facts(model) if model is not None else None
    return facts is not None and facts.distilled


def video_token_count(latent: dict) -> int:
    """Latent frames x height x width of the video part of a LATENT (audio+video or video)."""
    samples = latent["samples"]
    video = samples.unbind()[0] if getattr(samples, "is_nested", False) else samples
    if video.ndim != 5:
        raise ValueError(f"expected a video latent (B, 128, F, H, W); got shape {tuple(video.shape)}")
    return math.prod(video.shape[2:])


def schedule_sigmas(schedule: str, steps: int, *, model: Any = None, latent: dict | None = None,
                    max_shift: float = 2.05, base_shift: float = 0.95, stretch: bool = True,
                    terminal: float = 0.1) -> torch.Tensor:
    """float32 sigmas ``(steps + 1,)`` for one of :data:`SCHEDULES`; ``steps`` 0 = the model version's default."""
    if schedule == "auto":
        schedule = "distilled stage 1" if _is_distilled(model) else "LTX-2 schedule"
    if schedule == "distilled stage 1":
        return distilled_sigmas()
    if schedule == "distilled stage 2":
        return stage2_distilled_sigmas()
    if schedule == "HQ stage 1":  # ltx-pipelines HEAD TI2VidTwoStagesHQPipeline: 15 steps, latent-shifted
        schedule, steps = "LTX-2 schedule", steps or LTX_2_3_HQ_PARAMS.num_inference_steps
    if schedule != "LTX-2 schedule":
        raise ValueError(f"unknown schedule {schedule!r}; one of {', '.join(SCHEDULES)}")
    tokens = video_token_count(latent) if latent is not None else None
    return ltx2_sigmas(steps or _defaults(model).num_inference_steps, tokens=tokens, max_shift=max_shift,
                       base_shift=base_shift, stretch=stretch, terminal=terminal)


def parse_blocks(text: str) -> tuple[int, ...] | None:
    """``"auto"`` -> None; ``"28"`` / ``"27, 28"`` -> block indices; a clear error otherwise."""
    if text.strip().lower() in ("", "auto"):
        return None
    try:
        return tuple(int(part) for part in text.replace(",", " ").split())
    except ValueError:
        raise ValueError(f"stg_blocks must be 'auto' or block numbers like '28' or '27, 28'; got {text!r}") from None


def multimodal_guider(model: Any, positive: Any, negative: Any, video: GuiderParams, audio: GuiderParams,
                      blocks: tuple[int, ...] | None = None) -> LTX2MultimodalGuider:
    """Build the guider; ``blocks`` None = the model version's STG blocks."""
    facts = model_facts(model)
    uses_passes = any(p.needs_perturbed() or p.needs_isolated() for p in (video, audio))
    if facts is None and uses_passes:
        raise ValueError("STG and audio/video modality guidance need a model loaded by 'Load LTX-2 Model'; set "
                         "the stg scales to 0 and the modality scales to 1 for other models")
    if facts is not None:
        chosen = blocks if blocks is not None else _defaults(model).video.stg_blocks
        chosen = usable_blocks(tuple(chosen), facts.num_layers, explicit=blocks is not None)
        video, audio = (dataclasses.replace(p, stg_blocks=chosen) for p in (video, audio))
    guider = LTX2MultimodalGuider(model, video, audio)
    guider.set_conds(positive, negative)
    return guider


def _float(name: str, default: float, tooltip: str, *, low: float = 0.0, high: float = 100.0) -> io.Float.Input:
    return io.Float.Input(name, default=default, min=low, max=high, step=0.05, tooltip=tooltip)


class LTX2NScheduler(io.ComfyNode):
    """Sigmas of the LTX-2 schedule (token-dependent shift, stretch to a terminal sigma) or the distilled tables."""

    DISPLAY_NAME = "LTX-2 Scheduler"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="sampling",
            description="Noise levels for sampling an LTX-2 model. Defaults follow the connected model: distilled "
                        "checkpoints use their fixed 8 sigmas, dev checkpoints the LTX-2 schedule with the "
                        "version's step count.",
            inputs=[
                io.Combo.Input("schedule", options=list(SCHEDULES), default="auto", tooltip=_SCHEDULE_TIP),
                io.Int.Input("steps", default=0, min=0, max=1000,
                             tooltip="Steps of the LTX-2 schedule; 0 = the model version's default (LTX-2: 40, "
                                     "LTX-2.3 / 2.5: 30). Ignored by the distilled tables."),
                _float("max_shift", 2.05, "Shift at 4096 latent tokens (the shift without a latent)."),
                _float("base_shift", 0.95, "Shift at 1024 latent tokens."),
                io.Boolean.Input("stretch", default=True, tooltip="Stretch so the last non-zero sigma is terminal."),
                _float("terminal", 0.1, "Last non-zero sigma when stretching.", high=0.99),
                io.Model.Input("model", optional=True, tooltip="The model, for its version's defaults."),
                io.Latent.Input("latent", optional=True,
                                tooltip="Latent for the token-dependent shift (e.g. the HQ recipe); without it "
                                        "the shift is max_shift, as in most Lightricks pipelines."),
            ],
            outputs=[io.Sigmas.Output(display_name="sigmas", tooltip="Noise levels, from 1 (or 0.909) to 0.")],
        )

    @classmethod
    def execute(cls, schedule: str, steps: int, max_shift: float, base_shift: float, stretch: bool,
                terminal: float, model: Any = None, latent: dict | None = None) -> io.NodeOutput:
        return io.NodeOutput(schedule_sigmas(schedule, steps, model=model, latent=latent, max_shift=max_shift,
                                             base_shift=base_shift, stretch=stretch, terminal=terminal))


class LTX2NMultimodalGuider(io.ComfyNode):
    """A GUIDER with per-modality CFG, STG, audio/video modality guidance and std rescale."""

    DISPLAY_NAME = "Multimodal Guider (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="sampling",
            description="Guidance for LTX-2 dev models, separately for video and audio: classifier-free guidance, "
                        "spatio-temporal guidance (STG), audio<->video modality guidance and std rescale. The "
                        "defaults are Lightricks' for both LTX-2 and LTX-2.3. Use with Sampler Custom Advanced or "
                        "the pack's sampler; distilled models need no guidance.",
            inputs=[
                io.Model.Input("model", tooltip="The LTX-2 model."),
                io.Conditioning.Input("positive", tooltip="Positive prompt."),
                io.Conditioning.Input("negative", tooltip="Negative prompt."),
                _float("video_cfg", 3.0, "Classifier-free guidance scale of the video (1 = off)."),
                _float("audio_cfg", 7.0, "Classifier-free guidance scale of the audio (1 = off)."),
                _float("video_stg", 1.0, "Spatio-temporal guidance scale of the video (0 = off)."),
                _float("audio_stg", 1.0, "Spatio-temporal guidance scale of the audio (0 = off)."),
                io.String.Input("stg_blocks", default="auto",
                                tooltip="Blocks perturbed by STG: 'auto' = the model version's (LTX-2: 29, "
                                        "LTX-2.3 / 2.5: 28), or numbers like '28' or '27, 28'."),
                _float("video_rescale", 0.7, "Std rescale of the guided video prediction (0 = off).", high=1.0),
                _float("audio_rescale", 0.7, "Std rescale of the guided audio prediction (0 = off).", high=1.0),
                _float("video_modality", 3.0, "Audio->video modality guidance scale (1 = off)."),
                _float("audio_modality", 3.0, "Video->audio modality guidance scale (1 = off)."),
            ],
            outputs=[io.Guider.Output(display_name="guider", tooltip="For Sampler Custom Advanced.")],
        )

    @classmethod
    def validate_inputs(cls, stg_blocks: str | None = None) -> bool | str:
        try:
            parse_blocks(stg_blocks or "auto")
        except ValueError as exc:
            return str(exc)
        return True

    @classmethod
    def execute(cls, model: Any, positive: Any, negative: Any, video_cfg: float, audio_cfg: float,
                video_stg: float, audio_stg: float, stg_blocks: str, video_rescale: float, audio_rescale: float,
                video_modality: float, audio_modality: float) -> io.NodeOutput:
        video = GuiderParams(cfg_scale=video_cfg, stg_scale=video_stg, rescale_scale=video_rescale,
                             modality_scale=video_modality)
        audio = GuiderParams(cfg_scale=audio_cfg, stg_scale=audio_stg, rescale_scale=audio_rescale,
                             modality_scale=audio_modality)
        return io.NodeOutput(multimodal_guider(model, positive, negative, video, audio, parse_blocks(stg_blocks)))


class LTX2NSampler(io.ComfyNode):
    """Whole denoise in one node: sigmas, guidance, noise and Euler steps, with a progress bar (latent previews)
    and interrupt."""

    DISPLAY_NAME = "Sample Audio+Video (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="sampling",
            description="Denoises an audio+video (or video) latent. 'auto' picks the right sigmas, guidance and "
                        "step for the model: distilled -> 8 distilled steps without guidance (LTX-2.5: "
                        "Euler-ancestral steps), dev -> the LTX-2 schedule with Lightricks' multimodal guidance "
                        "(Euler steps).",
            inputs=[
                io.Model.Input("model", tooltip="The LTX-2 model (optionally with LoRAs)."),
                io.Conditioning.Input("positive", tooltip="Positive prompt."),
                io.Conditioning.Input("negative", tooltip="Negative prompt (unused without guidance)."),
                io.Latent.Input("latent", tooltip="Empty audio+video latent, or a conditioned / upscaled one."),
                io.Int.Input("seed", default=10, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                             tooltip="Noise seed."),
                io.Combo.Input("schedule", options=list(SCHEDULES), default="auto", tooltip=_SCHEDULE_TIP),
                io.Int.Input("steps", default=0, min=0, max=1000,
                             tooltip="Steps of the LTX-2 schedule; 0 = the model version's default."),
                io.Combo.Input("guidance", options=list(GUIDANCE), default="auto",
                               tooltip="auto: none for distilled models and the stage-2 refinement, multimodal "
                                       "(Lightricks' defaults) otherwise; none: positive prompt only."),
                io.Guider.Input("guider", optional=True,
                                tooltip="Custom guider (e.g. Multimodal Guider (LTX-2)); overrides 'guidance'."),
                io.Sampler.Input("sampler", optional=True,
                                 tooltip="Custom sampler (e.g. Euler Ancestral Sampler (LTX-2) or core KSampler "
                                         "Select). Unconnected: the model version's (Lightricks): Euler-ancestral "
                                         "for unguided (distilled) LTX-2.5 first stages, Euler otherwise (guided "
                                         "runs, 'distilled stage 2' refinement, LTX-2 / 2.3)."),
            ],
            outputs=[io.Latent.Output(display_name="latent", tooltip="The denoised latent.")],
        )

    @classmethod
    def execute(cls, model: Any, positive: Any, negative: Any, latent: dict, seed: int, schedule: str, steps: int,
                guidance: str, guider: Any = None, sampler: Any = None) -> io.NodeOutput:
        sigmas = schedule_sigmas(schedule, steps, model=model)
        guidance = resolve_guidance(model, guidance, schedule) if guider is None else "custom"
        if guider is None:
            guider = default_guider(model, positive, negative, guidance, schedule)
        samples = comfy.sample.fix_empty_latent_channels(model, latent["samples"])
        noise = comfy.sample.prepare_noise(samples, seed)
        if sampler is None:
            sampler = default_sampler_object(model, guided=guidance != "none", schedule=schedule)
        total = len(sigmas) - 1
        out = guider.sample(noise, samples, sampler, sigmas, denoise_mask=latent.get("noise_mask"),
                            callback=preview_callback(model, total), disable_pbar=True, seed=seed)
        result = dict(latent)
        out = out.to(comfy.model_management.intermediate_device())
        result["samples"] = keep_unmasked_latent(out, samples, latent.get("noise_mask"))
        return io.NodeOutput(tag_latent(result, model_version(model)))


def keep_unmasked(sampled: torch.Tensor, source: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``sampled`` with every element whose noise mask is 0 replaced by ``source`` (bit-identical)."""
    if mask is None:
        return sampled
    full = comfy.utils.reshape_mask(mask.to(sampled.device, torch.float32), sampled.shape)
    return torch.where(full == 0, source.to(sampled), sampled)


def keep_unmasked_latent(sampled: Any, source: Any, mask: Any) -> Any:
    """:func:`keep_unmasked` on a LATENT's samples, plain or nested (audio+video, one mask per part): what the
    noise mask froze (mask 0: kept source frames, inpaint outside the mask, kept audio) comes back bit-identical
    instead of within the sampler's float round-off."""
    if mask is None:
        return sampled
    if not getattr(sampled, "is_nested", False):
        return keep_unmasked(sampled, source, mask)
    masks = mask.unbind() if getattr(mask, "is_nested", False) else (mask,) + (None,) * (len(sampled.unbind()) - 1)
    parts = [keep_unmasked(p, s, m) for p, s, m in zip(sampled.unbind(), source.unbind(), masks, strict=True)]
    return type(sampled)(parts)


def model_version(model: Any) -> str | None:
    """The ``model_version`` of a MODEL this pack loaded (its family's generation when the file has none), else
    None (core's or another pack's model)."""
    facts = model_facts(model) if model is not None else None
    return facts.version() if facts is not None else None


def default_sampler_object(model: Any, *, guided: bool, schedule: str = "auto") -> Any:
    """The reference's sampler for the model (``ltx_model.pipelines.default_sampler``): Euler-ancestral for
    unguided (distilled) first-stage runs of LTX-2.5 and later, Euler otherwise: guided runs, the stage-2
    refinement (``schedule`` "distilled stage 2"; Lightricks' DistilledPipeline refines with Euler) and models this
    pack did not load."""
    facts = model_facts(model) if model is not None else None
    version = facts.version() if facts is not None else None
    if schedule != "distilled stage 2" and default_sampler(version, guided=guided) is Sampler.EULER_ANCESTRAL:
        return euler_ancestral_sampler()
    return comfy.samplers.sampler_object("euler")


def resolve_guidance(model: Any, guidance: str, schedule: str) -> str:
    """``auto`` -> none for distilled models and the distilled schedules, multimodal otherwise."""
    if guidance == "auto":
        return "none" if _is_distilled(model) or schedule.startswith("distilled") else "multimodal"
    return guidance


def default_guider(model: Any, positive: Any, negative: Any, guidance: str, schedule: str) -> Any:
    guidance = resolve_guidance(model, guidance, schedule)
    if guidance == "multimodal":
        defaults = _defaults(model)
        return multimodal_guider(model, positive, negative, defaults.video, defaults.audio)
    plain = comfy.samplers.CFGGuider(model)  # cfg 1: the positive prompt alone, one pass per step
    plain.set_conds(positive, negative)
    plain.set_cfg(1.0)
    return plain
