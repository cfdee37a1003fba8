"""Masked audio+video sampling for the editing and long-video nodes, through ComfyUI's own guider and sampler.

Sampling is the host's Euler sampler with the guider of the pack's sampler node; tokens whose noise mask is 0 are
then set back to the source latent EXACTLY (ComfyUI's sampler noises every token and returns kept tokens only up to
float rounding; ltx-core keeps them bit-identical, and so do we). A long video samples the windows of a
``modes.WindowPlan`` one after the other, each carrying the stitched clip's overlap, and cross-fades the seams
(``modes.blend_overlap``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import comfy.model_management
import comfy.sample
import comfy.samplers
import comfy.utils
import torch

from ..ltx_model.modes import ClipGeometry, WindowPlan, blend_overlap, pixel_frames, seam_report
from .latent_formats import empty_av_latent, tag_latent
from .sampling import (
    default_guider,
    default_sampler_object,
    keep_unmasked,
    model_version,
    resolve_guidance,
    schedule_sigmas,
)
from .source_clips import av_latent


@dataclass(frozen=True)
class SamplingChoice:
    """What the pack's sampler node takes: seed, schedule, steps, guidance and an optional custom guider."""

    seed: int
    schedule: str
    steps: int
    guidance: str
    guider: Any = None

    def sigmas(self, model: Any) -> torch.Tensor:
        """The schedule's sigmas for ``model``."""
        return schedule_sigmas(self.schedule, self.steps, model=model)


class StepProgress:
    """One progress bar over several sampling runs (windows x steps); checks the interrupt every step."""

    def __init__(self, total: int) -> None:
        self.bar = comfy.utils.ProgressBar(total)
        self.total, self.done = total, 0

    @classmethod
    def over(cls, choice: SamplingChoice, model: Any, runs: int = 1) -> StepProgress:
        """A bar over ``runs`` sampling runs of ``choice``'s schedule."""
        return cls(runs * (len(choice.sigmas(model)) - 1))

    def callback(self) -> Any:
        """k-diffusion step callback for the next run (continues where the previous run ended)."""
        offset = self.done

        def step(index: int, _x0: Any, _x: Any, _steps: int) -> None:
            comfy.model_management.throw_exception_if_processing_interrupted()
            self.done = offset + index + 1
            self.bar.update_absolute(self.done, self.total)

        return step


def sample_av(model: Any, positive: Any, negative: Any, latent: dict, choice: SamplingChoice,
              progress: StepProgress) -> dict:
    """Denoise an audio+video LATENT (its noise masks honoured) with the model version's steps (Euler; unguided
    LTX-2.5: Euler-ancestral, ``sampling.default_sampler_object``); masked-out tokens come back
    exactly as they went in. Returns a LATENT of the sampled video and audio (no noise mask)."""
    sigmas = choice.sigmas(model)
    guider = choice.guider or default_guider(model, positive, negative, choice.guidance, choice.schedule)
    samples = latent["samples"]
    noise = comfy.sample.prepare_noise(samples, choice.seed)
    masks = latent.get("noise_mask")
    guided = choice.guider is not None or resolve_guidance(model, choice.guidance, choice.schedule) != "none"
    sampler = default_sampler_object(model, guided=guided, schedule=choice.schedule)  # the version's step
    out = guider.sample(noise, samples, sampler, sigmas, denoise_mask=masks,
                        callback=progress.callback(), disable_pbar=True, seed=choice.seed)
    device = comfy.model_management.intermediate_device()
    parts = [p.to(device) for p in out.unbind()]
    sources = samples.unbind()
    mask_parts = masks.unbind() if masks is not None else (None,) * len(parts)
    kept = [keep_unmasked(p, s, m) for p, s, m in zip(parts, sources, mask_parts, strict=True)]
    return tag_latent(av_latent(kept[0], kept[1]), model_version(model))


# ---------------------------------------------------------------------------------------------- long video
def carried_window(video: torch.Tensor, audio: torch.Tensor, plan: WindowPlan, index: int, *, fps: float,
                   strength: float, empty: dict) -> dict:
    """The LATENT of window ``index``: zeros of ``empty``'s shapes cut to the window, its first ``overlap`` video
    latent frames and the audio of the shared span taken from the stitched clip so far, noise mask
    ``1 - strength`` there (1 elsewhere)."""
    ev, ea = empty["samples"].unbind()
    a_start, a_end = plan.audio_span(index, fps)
    v = torch.zeros_like(ev[:, :, : plan.lengths[index]])
    a = torch.zeros(*ea.shape[:2], a_end - a_start, ea.shape[3], dtype=ea.dtype, device=ea.device)
    vm, am = torch.ones_like(v[:, :1]), torch.ones_like(a[:, :1])
    if index:
        shared = audio.shape[2] - a_start
        if not 0 < shared < a.shape[2]:
            raise ValueError("the windows do not overlap in audio; increase overlap_frames")
        v[:, :, : plan.overlap] = video[:, :, -plan.overlap:]
        a[:, :, :shared] = audio[:, :, a_start:]
        vm[:, :, : plan.overlap] = 1.0 - strength
        am[:, :, :shared] = 1.0 - strength
    return av_latent(v, a, vm, am)


def empty_window_latent(width: int, height: int, fps: float, plan: WindowPlan) -> dict:
    """A zero AV latent of the plan's longest window at ``width x height`` (template for the windows)."""
    return empty_av_latent(ClipGeometry(width, height, pixel_frames(max(plan.lengths)), fps), 1)


def run_long_video(model: Any, positives: list[Any], negative: Any, plan: WindowPlan, *, empty: dict, fps: float,
                   strength: float, choice: SamplingChoice, progress: StepProgress) -> tuple[dict, str]:
    """Sample the windows of ``plan`` one after the other (window ``i``: prompt ``positives[min(i, n - 1)]``, seed
    ``seed + i``, the carried overlap from the stitched clip) and stitch them with a cross-fade.

    Returns the stitched audio+video LATENT and the seam report."""
    video = audio = None
    video_seams: list[float] = []
    audio_seams: list[float] = []
    for index in range(len(plan.starts)):
        window = carried_window(video, audio, plan, index, fps=fps, strength=strength, empty=empty)
        positive = positives[min(index, len(positives) - 1)]
        sampled = sample_av(model, positive, negative, window, replace(choice, seed=choice.seed + index), progress)
        v, a = sampled["samples"].unbind()
        if index == 0:
            video, audio = v, a
            continue
        shared = audio.shape[2] - plan.audio_start(index, fps)
        video, v_seam = blend_overlap(video, v, plan.overlap, dim=2)
        audio, a_seam = blend_overlap(audio, a, shared, dim=2)
        video_seams.append(v_seam)
        audio_seams.append(a_seam)
    return av_latent(video, audio), seam_report(video_seams, audio_seams, len(plan.starts))
