"""Machinery of the temporal mode nodes (``modes_temporal``): source clips, time-region masks, masked sampling
through ComfyUI's own guider/sampler, and the sliding-window plan of long videos.

Semantics follow ``ltx_model.pipelines`` (editing.py, long_video.py), re-expressed on ComfyUI LATENTs:

* a source clip (core VIDEO) is conformed to ``width x height`` (cover-resize + center crop, as ltx-pipelines'
  ``load_video_conditioning``) and to ``1 + 8k`` frames, then encoded with the host VAEs; its audio is fitted to
  the clip (the whole input encoded and the latent cropped, or padded with silence, like ``RetakePipeline``);
* a time window ``[start, end)`` s selects the latent frames whose time span meets it (``TemporalRegionMask``:
  video spans from the causal-fixed pixel bounds / fps, audio from the audio latent timing); their noise mask is 1,
  every other token's 0;
* sampling is the host's Euler sampler with the guider of the pack's sampler node; tokens whose mask is 0 are then
  set back to the source latent EXACTLY (ComfyUI's sampler noises every token and returns kept tokens only up to
  float rounding; ltx-core keeps them bit-identical, and so do we).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import comfy.model_management
import comfy.sample
import comfy.samplers
import comfy.utils
import torch

from ..ltx_model.audio import AudioVAEConfig
from ..ltx_model.conditioning import token_time_bounds
from ..ltx_model.pipelines.sources import fit_waveform, video_pixels
from ..ltx_model.sampling import AudioGrid, VideoGrid, VideoScaleFactors
from .audio import LTX2AudioVAE
from .host import nested_tensor_class
from .sampling import _default_guider, schedule_sigmas

SCALE = VideoScaleFactors()
LATENTS_PER_SECOND = AudioVAEConfig().latents_per_second  # released audio VAE geometry (LTX-2 and LTX-2.3)


def latent_frames(pixel_frames: int) -> int:
    """Latent frames of ``1 + 8k`` pixel frames."""
    return 1 + (pixel_frames - 1) // SCALE.time


def pixel_frames(latent_count: int) -> int:
    """Pixel frames decoded from ``latent_count`` latent frames."""
    return 1 + SCALE.time * (latent_count - 1)


def frames_problem(frames: int, what: str = "frames") -> str | None:
    """A message when ``frames`` is not ``1 + 8k`` (with the nearest valid counts), else None."""
    if frames >= 1 and (frames - 1) % SCALE.time == 0:
        return None
    low = 1 + SCALE.time * max(0, (frames - 1) // SCALE.time)
    return f"{what} must be 1 + 8k (1, 9, 17, ..., 121); got {frames} (nearest: {low} or {low + SCALE.time})"


def size_problem(width: int, height: int) -> str | None:
    """A message when a non-zero size is not a multiple of 32, else None (0 = the source's size)."""
    bad = [v for v in (width, height) if v and v % SCALE.width]
    return f"width and height must be multiples of 32 (or 0 = the source's size); got {width}x{height}" if bad else None


# ---------------------------------------------------------------------------------------------- source clips
@dataclass(frozen=True)
class Clip:
    """A source clip: IMAGE frames ``(F, H, W, 3)`` in [0, 1], ``fps``, optional waveform ``(C, S)`` at
    ``sample_rate`` Hz."""

    images: torch.Tensor
    fps: float
    waveform: torch.Tensor | None = None
    sample_rate: int = 0

    @property
    def frames(self) -> int:
        """Number of frames."""
        return int(self.images.shape[0])

    @property
    def duration_s(self) -> float:
        """Duration in seconds (frames / fps)."""
        return self.frames / self.fps


def clip_from_video(video: Any) -> Clip:
    """Core VIDEO (e.g. from Load Video) -> :class:`Clip` (first audio item of the batch)."""
    components = video.get_components()
    audio = components.audio
    waveform, rate = None, 0
    if audio is not None and audio.get("waveform") is not None and audio["waveform"].shape[-1] > 0:
        waveform, rate = audio["waveform"][0].float().cpu(), int(audio["sample_rate"])
    fps = float(components.frame_rate)
    if not fps > 0:
        raise ValueError(f"the source video has no valid frame rate ({components.frame_rate})")
    return Clip(components.images[..., :3].float().cpu(), fps, waveform, rate)


def conform_clip(clip: Clip, *, width: int, height: int, frames: int) -> Clip:
    """The first ``frames`` frames (0 = all) resized to cover ``width x height`` (0 = the source's size) and
    center-cropped; errors for counts that are not ``1 + 8k`` or sizes that are not multiples of 32."""
    count = frames or clip.frames
    if count > clip.frames:
        raise ValueError(f"frames = {frames} but the source video has only {clip.frames} frames")
    problem = frames_problem(count, f"the source's frame count ({count}; set 'frames' to use its first 1 + 8k)")
    height, width = height or clip.images.shape[1], width or clip.images.shape[2]
    problem = problem or size_problem(width, height)
    if problem:
        raise ValueError(problem)
    images = clip.images[:count]
    if tuple(images.shape[1:3]) != (height, width):
        pixels = video_pixels(images * 255.0, height=height, width=width, dtype=torch.float32, device="cpu")
        images = ((pixels[0].permute(1, 2, 3, 0) + 1.0) / 2.0).clamp(0.0, 1.0)  # (F, H, W, 3)
    return replace(clip, images=images)


def require_audio_vae(audio_vae: Any) -> LTX2AudioVAE:
    """The audio VAE, or a clear error for another VAE."""
    if not isinstance(audio_vae, LTX2AudioVAE):
        raise ValueError("audio_vae must be the audio VAE from Load Audio VAE (LTX-2)")
    return audio_vae


def encode_audio(audio_vae: Any, waveform: torch.Tensor, rate: int, *, frames: int, fps: float) -> torch.Tensor:
    """Encode audio for a clip of ``frames`` at ``fps`` -> ``(1, 8, T, 16)``, ``T = round(frames / fps * 25)``.

    Longer input is encoded whole and the latent cropped (``RetakePipeline``); shorter input is padded with silence
    first (logged).
    """
    vae = require_audio_vae(audio_vae)
    fitted, notes = fit_waveform(waveform, rate, frames / fps)
    for note in notes:
        logging.warning("LTX-2 Native: %s", note)
    source = waveform if waveform.shape[-1] > fitted.shape[-1] else fitted
    latent = vae.encode_audio(source[None].float(), rate)
    return latent[:, :, : vae.first_stage_model.num_of_latents_from_frames(frames, fps)]


def encode_video(vae: Any, images: torch.Tensor) -> torch.Tensor:
    """IMAGE frames ``(F, H, W, 3)`` (F = 1 + 8k, H and W multiples of 32) -> video latent ``(1, 128, f, h, w)``."""
    latent = vae.encode(images)
    if latent.ndim != 5:
        raise ValueError("vae must be the LTX-2 video VAE (Load Video VAE (LTX-2))")
    return latent


def av_latent(video: torch.Tensor, audio: torch.Tensor, video_mask: torch.Tensor | None = None,
              audio_mask: torch.Tensor | None = None) -> dict:
    """A LATENT dict ``{"samples": NestedTensor((video, audio))[, "noise_mask": NestedTensor((vmask, amask))]}``."""
    nested = nested_tensor_class()
    out = {"samples": nested((video, audio))}
    if video_mask is not None or audio_mask is not None:
        vm = video_mask if video_mask is not None else torch.ones_like(video[:, :1])
        am = audio_mask if audio_mask is not None else torch.ones_like(audio[:, :1])
        out["noise_mask"] = nested((vm, am))
    return out


# ---------------------------------------------------------------------------------------------- time regions
def window_problem(start_s: float, end_s: float, duration_s: float | None = None) -> str | None:
    """A message unless ``0 <= start < end <= duration`` (1 µs slack at the end), else None."""
    if not start_s < end_s:
        return f"the time window needs start_time < end_time; got [start_time, end_time) = [{start_s}, {end_s}) s"
    if start_s < 0 or (duration_s is not None and end_s > duration_s + 1e-6):
        clip = "" if duration_s is None else f" [0, {duration_s:.3f}) s"
        return f"the time window [start_time, end_time) = [{start_s}, {end_s}) s is outside the clip{clip}"
    return None


def video_region_mask(shape: torch.Size, fps: float, start_s: float, end_s: float) -> torch.Tensor:
    """``(B, 1, F, H, W)`` float mask: 1 on latent frames whose time span meets ``[start_s, end_s)``."""
    b, _, f, h, w = shape
    bounds = token_time_bounds(VideoGrid(frames=f, height=1, width=1, fps=fps))  # (F, 2) seconds
    inside = ((bounds[:, 1] > start_s) & (bounds[:, 0] < end_s)).float()
    return inside.view(1, 1, f, 1, 1).expand(b, 1, f, h, w).clone()


def audio_region_mask(shape: torch.Size, start_s: float, end_s: float) -> torch.Tensor:
    """``(B, 1, T, M)`` float mask: 1 on audio latent frames whose time span meets ``[start_s, end_s)``."""
    b, _, t, m = shape
    bounds = token_time_bounds(AudioGrid(frames=t))  # (T, 2) seconds
    inside = ((bounds[:, 1] > start_s) & (bounds[:, 0] < end_s)).float()
    return inside.view(1, 1, t, 1).expand(b, 1, t, m).clone()


# ---------------------------------------------------------------------------------------------- sampling
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

    def callback(self) -> Any:
        """k-diffusion step callback for the next run (continues where the previous run ended)."""
        offset = self.done

        def step(index: int, _x0: Any, _x: Any, _steps: int) -> None:
            comfy.model_management.throw_exception_if_processing_interrupted()
            self.done = offset + index + 1
            self.bar.update_absolute(self.done, self.total)

        return step


def keep_unmasked(sampled: torch.Tensor, source: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``sampled`` with every element whose noise mask is 0 replaced by ``source`` (bit-identical)."""
    if mask is None:
        return sampled
    full = comfy.utils.reshape_mask(mask.to(sampled.device, torch.float32), sampled.shape)
    return torch.where(full == 0, source.to(sampled), sampled)


def sample_av(model: Any, positive: Any, negative: Any, latent: dict, choice: SamplingChoice,
              progress: StepProgress) -> dict:
    """Denoise an audio+video LATENT (its noise masks honoured) with Euler steps; masked-out tokens come back
    exactly as they went in. Returns a LATENT of the sampled video and audio (no noise mask)."""
    sigmas = choice.sigmas(model)
    guider = choice.guider or _default_guider(model, positive, negative, choice.guidance, choice.schedule)
    samples = latent["samples"]
    noise = comfy.sample.prepare_noise(samples, choice.seed)
    masks = latent.get("noise_mask")
    out = guider.sample(noise, samples, comfy.samplers.sampler_object("euler"), sigmas, denoise_mask=masks,
                        callback=progress.callback(), disable_pbar=True, seed=choice.seed)
    device = comfy.model_management.intermediate_device()
    parts = [p.to(device) for p in out.unbind()]
    sources = samples.unbind()
    mask_parts = masks.unbind() if masks is not None else (None,) * len(parts)
    kept = [keep_unmasked(p, s, m) for p, s, m in zip(parts, sources, mask_parts, strict=True)]
    return av_latent(kept[0], kept[1])


# ---------------------------------------------------------------------------------------------- long video
@dataclass(frozen=True)
class WindowPlan:
    """Sliding windows over a clip of ``total`` latent frames: window ``i`` covers latent frames
    ``starts[i] .. starts[i] + lengths[i]``; consecutive windows share ``overlap`` latent frames."""

    starts: tuple[int, ...]
    lengths: tuple[int, ...]
    overlap: int

    def audio_span(self, index: int, fps: float) -> tuple[int, int]:
        """Audio latent frames ``[start, end)`` of window ``index`` in the stitched clip (ltx_model's
        ``long_video``: a window starts at pixel frame 8 x its latent start; ends where its last frame ends)."""
        start = round(SCALE.time * self.starts[index] / fps * LATENTS_PER_SECOND) if index else 0
        end_frame = pixel_frames(self.starts[index] + self.lengths[index])
        return start, round(end_frame / fps * LATENTS_PER_SECOND)


def plan_windows(total_frames: int, window_frames: int, overlap_frames: int) -> WindowPlan:
    """Windows of ``window_frames`` pixel frames sharing ``overlap_frames`` (a multiple of 8) that cover
    ``total_frames``; the last window is shortened to end exactly at the clip's end."""
    total, window, overlap = latent_frames(total_frames), latent_frames(window_frames), overlap_frames // SCALE.time
    if total <= window:
        return WindowPlan((0,), (total,), overlap)
    stride = window - overlap
    starts = [0]
    while starts[-1] + window < total:
        starts.append(starts[-1] + stride)
    lengths = [window] * (len(starts) - 1) + [total - starts[-1]]
    return WindowPlan(tuple(starts), tuple(lengths), overlap)


def long_video_problem(frames: int, window_frames: int, overlap_frames: int) -> str | None:
    """A message for an impossible window layout, else None."""
    problem = frames_problem(frames) or frames_problem(window_frames, "window_frames")
    if problem:
        return problem
    if overlap_frames % SCALE.time or not 0 < overlap_frames < window_frames - 1:
        return (f"overlap_frames must be a multiple of 8 from 8 to {window_frames - 9} (shorter than the window); "
                f"got {overlap_frames}")
    return None


def window_count_note(prompts: list[str], windows: int) -> str | None:
    """A note when the number of window prompts differs from the number of windows."""
    if not prompts or len(prompts) == windows:
        return None
    if len(prompts) < windows:
        return f"{len(prompts)} window prompts for {windows} windows: the last prompt is used for the rest"
    return f"{len(prompts)} window prompts for {windows} windows: the extra prompts are ignored"


def blend_seam(previous: torch.Tensor, new: torch.Tensor, shared: int) -> tuple[torch.Tensor, float]:
    """Stitch ``new`` after ``previous`` (dim 2) sharing ``shared`` frames: a linear cross-fade from the previous
    window to the new one over the shared frames (ltx_model's ``blend_overlap``). Returns (stitched, the largest
    |previous - new| over the shared frames)."""
    from ..ltx_model.pipelines.long_video import blend_overlap

    return blend_overlap(previous, new.to(previous), shared, dim=2)


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


def empty_shape_latent(width: int, height: int, fps: float, window_latent: int) -> dict:
    """A zero AV latent of ``window_latent`` latent frames at ``width x height`` (template for the windows)."""
    from .host import AVLatentGeometry, empty_av_latent

    return empty_av_latent(AVLatentGeometry(width, height, pixel_frames(window_latent), fps), 1)


def seam_report(video_seams: list[float], audio_seams: list[float], windows: int) -> str:
    """One line describing the windows and their seam differences (latent units)."""
    video = ", ".join(f"{s:.4g}" for s in video_seams)
    audio = ", ".join(f"{s:.4g}" for s in audio_seams)
    return (f"{windows} window(s); seam differences (max |latent difference| over each overlap, before "
            f"blending): video [{video}], audio [{audio}]")


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
        shared = audio.shape[2] - plan.audio_span(index, fps)[0]
        video, v_seam = blend_seam(video, v, plan.overlap)
        audio, a_seam = blend_seam(audio, a, shared)
        video_seams.append(v_seam)
        audio_seams.append(a_seam)
    return av_latent(video, audio), seam_report(video_seams, audio_seams, len(plan.starts))


def keyframe_plan(frames: int, keyframes: dict[str, Any], *, slots: int = 4) -> list[tuple[torch.Tensor, int, float]]:
    """``(image, frame, strength)`` of each connected ``image_n`` slot (n = 1..slots) of a ``frames``-frame clip,
    negative ``frame_idx_n`` counted from the end; indices resolved and checked before any encoding."""
    plan = []
    for n in range(1, slots + 1):
        image = keyframes.get(f"image_{n}")
        if image is None:
            continue
        index = keyframes[f"frame_idx_{n}"]
        frame = index + frames if index < 0 else index
        if not 0 <= frame < frames:
            raise ValueError(f"keyframe {n}: frame_idx {index} is beyond the clip of {frames} frames (valid: 0.."
                             f"{frames - 1}, or -1..-{frames} from the end)")
        plan.append((image, frame, keyframes[f"strength_{n}"]))
    if not plan:
        raise ValueError("connect at least image_1")
    return plan


def guide_free_frames(parts: Any, positive: Any) -> int:
    """Pixel frames of the video latent without guide frames already appended."""
    idxs = next((e[1]["keyframe_idxs"] for e in positive if e[1].get("keyframe_idxs") is not None), None)
    _, _, f, h, w = parts.video.shape
    return pixel_frames(f - (0 if idxs is None else idxs.shape[2] // (h * w)))
