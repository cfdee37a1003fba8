"""Source clips of the editing nodes (extend, retake): core VIDEO in, host-encoded audio+video LATENT out.

The rules (frame counts, sizes, conforming, extension padding, time windows) are ``ltx_model.modes``'; this module
only unpacks core's VIDEO, runs the host VAEs and packs LATENT dicts:

* a source clip is conformed to ``width x height`` (``modes.conform_images``: cover-resize + center crop, as
  ltx-pipelines' ``load_video_conditioning``) and must have ``1 + 8k`` frames; its audio is fitted to the clip (the
  whole input encoded and the latent cropped, or padded with silence, like ``RetakePipeline``);
* :func:`masked_source` encodes it with noise mask 1 on the tokens of a time window (``modes.video_window_mask`` /
  ``audio_window_mask``) and 0 elsewhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import node_helpers
import torch

from ..ltx_model.modes import (
    ClipGeometry,
    audio_window_mask,
    conform_images,
    extend_source_frames,
    fit_waveform,
    frames_problem,
    pad_frames,
    pad_waveform,
    size_problem,
    video_window_mask,
)
from ..ltx_model.sampling import patchify_audio
from .audio import require_audio_vae
from .latent_formats import nested_tensor_class

TARGETS = ("video and audio", "video", "audio")  # what a retake regenerates inside its window


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
    problem = problem or size_problem(width, height, source_size=True)
    if problem:
        raise ValueError(problem)
    height, width = height or clip.images.shape[1], width or clip.images.shape[2]
    return replace(clip, images=conform_images(clip.images[:count], height=height, width=width))


def nearest_seam(clip: Clip, frames: int, forward: bool) -> Clip:
    """The source cut to the frames an extension to ``frames`` keeps (``modes.extend_source_frames``): its end
    when extending forward, its start backward (logged); unchanged when it fits."""
    keep = extend_source_frames(clip.frames, frames)
    if keep == clip.frames:
        return clip
    logging.warning("LTX-2 Native extend: the source has %d frames; for a %d-frame result only its %s %d are kept",
                    clip.frames, frames, "last" if forward else "first", keep)
    images = clip.images[-keep:] if forward else clip.images[:keep]
    waveform = clip.waveform
    if waveform is not None:
        offset = round((clip.frames - keep) / clip.fps * clip.sample_rate) if forward else 0
        waveform = waveform[:, offset: offset + round(keep / clip.fps * clip.sample_rate)]
    return replace(clip, images=images, waveform=waveform)


def padded_clip(clip: Clip, new: int, forward: bool) -> Clip:
    """The source with its edge frame repeated ``new`` times and silence on the extended side
    (``modes.pad_frames`` / ``pad_waveform``, as ltx_model's ``extend_clip``)."""
    images = pad_frames(clip.images, new, forward=forward)
    if clip.waveform is None:
        return replace(clip, images=images)
    waveform = pad_waveform(clip.waveform, clip.sample_rate, source_s=clip.duration_s, new_s=new / clip.fps,
                            forward=forward)
    return replace(clip, images=images, waveform=waveform)


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


REF_AUDIO_KEY = "ref_audio"  # core LTXVReferenceAudio's conditioning key ({"tokens": (B, T, C*M)})


def with_reference_audio(positive: Any, negative: Any, audio: torch.Tensor) -> tuple[Any, Any]:
    """Both prompts with an audio latent ``(1, C, T, M)`` set as their reference audio tokens ``(1, T, C*M)``."""
    values = {REF_AUDIO_KEY: {"tokens": patchify_audio(audio)}}
    return tuple(node_helpers.conditioning_set_values(c, values) for c in (positive, negative))


def frozen_audio_canvas(geometry: ClipGeometry, audio: torch.Tensor) -> dict:
    """A LATENT of ``geometry`` with the video empty (generated whole) and ``audio`` ``(1, C, T, M)`` frozen
    (noise mask 0 on the audio stream)."""
    return av_latent(torch.zeros(geometry.video_shape(1)), audio, None, torch.zeros_like(audio[:, :1]))


def masked_source(vae: Any, audio_vae: Any, clip: Clip, start: float, end: float, target: str) -> dict:
    """Encode a conformed clip; noise mask 1 on the ``target`` stream(s) (one of :data:`TARGETS`) inside
    ``[start, end)`` s, 0 on everything else (a stream not in ``target`` is kept whole). Without source audio the
    audio is zeros, generated whole."""
    video = encode_video(vae, clip.images)
    v_mask = video_window_mask(video.shape, clip.fps, start, end)
    if target == TARGETS[2]:
        v_mask = torch.zeros_like(v_mask)
    if clip.waveform is None:
        count = require_audio_vae(audio_vae).first_stage_model.num_of_latents_from_frames(clip.frames, clip.fps)
        return av_latent(video, torch.zeros(1, 8, count, 16).to(video), v_mask, None)
    audio = encode_audio(audio_vae, clip.waveform, clip.sample_rate, frames=clip.frames, fps=clip.fps).to(video)
    a_mask = audio_window_mask(audio.shape, start, end)
    if target == TARGETS[1]:
        a_mask = torch.zeros_like(a_mask)
    return av_latent(video, audio, v_mask, a_mask)
