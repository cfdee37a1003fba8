"""Editing an existing clip: retake (regenerate a time window) and extend (continue forwards or backwards).

Both encode the source video and audio and regenerate only a time region with ``TemporalRegionMask`` (ltx-pipelines
``RetakePipeline``): target tokens whose time span meets the region get denoise mask 1 and start from pure noise;
all others keep mask 0, stay exactly the encoded source through every Euler step (the x0 blend returns the clean
token and the velocity is exactly 0) and are therefore bit-identical in the final latent. A stream that is not
regenerated at all is frozen (mask 0 and sigma 0 for the transformer, HEAD ``RetakePipeline``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

import numpy as np
import torch

from ..conditioning import TemporalRegionMask
from ..modes import (
    GenerationError,
    as_frames,
    extend_window,
    frames_problem,
    new_frames_problem,
    pad_frames,
    pad_waveform,
    size_problem,
    window_problem,
)
from ..sampling import DISTILLED_SIGMAS
from .generate import Frozen, Stage, decode_outputs, run_stage
from .models import PipelineModels
from .request import (
    Callbacks,
    GenerationRequest,
    GenerationResult,
    Guidance,
    TextContexts,
    TilingMode,
)
from .sources import AudioFit, ClipAudio, encode_clip_audio, encode_frames

Waveform = torch.Tensor | np.ndarray


class RetakeTarget(Enum):
    """Which streams a retake regenerates inside the window (the other one is kept whole)."""

    VIDEO = "video"
    AUDIO = "audio"
    BOTH = "both"


class Direction(Enum):
    """Where :func:`extend_clip` adds frames."""

    FORWARD = "forward"
    BACKWARD = "backward"


@dataclass(frozen=True)
class Sampling:
    """Seed, schedule and guidance of an editing run (None guidance = distilled, one pass per step)."""

    seed: int = 10
    sigmas: tuple[float, ...] = DISTILLED_SIGMAS
    video_guidance: Guidance | None = None
    audio_guidance: Guidance | None = None
    tiling: TilingMode = TilingMode.AUTO


@dataclass(frozen=True)
class SourceClip:
    """An existing clip: ``frames`` ``(F, H, W, 3)`` uint8 (F = 1 + 8k, H and W multiples of 32) at ``fps``, and
    optionally its audio (float ``(S,)`` / ``(C, S)`` at ``sample_rate``)."""

    frames: torch.Tensor | np.ndarray
    fps: float
    waveform: Waveform | None = None
    sample_rate: int = 48000


def _source_request(clip: SourceClip, sampling: Sampling, num_frames: int) -> GenerationRequest:
    """The request at the source's size and fps for ``num_frames`` frames, with clear errors for bad geometry."""
    frames = as_frames(clip.frames)
    f, h, w = frames.shape[:3]
    problem = frames_problem(f, "the source clip") or size_problem(w, h, what="the source clip's width and height")
    if problem:
        raise GenerationError(problem)
    return GenerationRequest(height=h, width=w, num_frames=num_frames, fps=clip.fps, seed=sampling.seed,
                             sigmas=sampling.sigmas, video_guidance=sampling.video_guidance,
                             audio_guidance=sampling.audio_guidance, tiling=sampling.tiling)


def _encode_audio(models: PipelineModels, waveform: Waveform, rate: int, request: GenerationRequest) -> ClipAudio:
    return encode_clip_audio(models.audio_vae, waveform, rate, num_frames=request.num_frames, fps=request.fps,
                             fit=AudioFit.ENCODE_THEN_CROP)


def check_window(start_s: float, end_s: float, duration_s: float) -> None:
    """Raise :class:`GenerationError` unless ``0 <= start_s < end_s <= duration_s`` (``modes.window_problem``)."""
    problem = window_problem(start_s, end_s, duration_s)
    if problem:
        raise GenerationError(problem)


def retake(
    models: PipelineModels,
    contexts: TextContexts,
    clip: SourceClip,
    *,
    start_s: float,
    end_s: float,
    target: RetakeTarget = RetakeTarget.BOTH,
    sampling: Sampling | None = None,
    callbacks: Callbacks | None = None,
) -> GenerationResult:
    """Regenerate ``[start_s, end_s)`` seconds of a clip's video and/or audio; everything else stays.

    Latents of the regenerated stream(s) outside the window are bit-identical to the encoded source; a stream not
    in ``target`` is frozen whole. Without source audio, the audio is generated for the whole clip.

    Returns:
        :class:`GenerationResult` at the source size/fps (decoded from the final latents).
    Raises:
        GenerationError: window outside the clip or empty, source not 1 + 8k frames or not multiples of 32.
    """
    sampling = sampling or Sampling()
    request = _source_request(clip, sampling, as_frames(clip.frames).shape[0])
    check_window(start_s, end_s, request.duration_s)
    video_latent = encode_frames(models.video_vae, clip.frames, height=request.height, width=request.width)
    region = (TemporalRegionMask(start_s, end_s),)
    audio_latent, notes, audio_items, frozen = None, (), (), Frozen.NONE
    if clip.waveform is not None:
        audio = _encode_audio(models, clip.waveform, clip.sample_rate, request)
        audio_latent, notes = audio.latent, audio.notes
        audio_items = region if target is not RetakeTarget.VIDEO else ()
        frozen = Frozen.AUDIO if target is RetakeTarget.VIDEO else Frozen.NONE
    if target is RetakeTarget.AUDIO:
        if clip.waveform is None:
            raise GenerationError("an audio retake needs the source audio")
        frozen = Frozen.VIDEO
    video_items = region if target is not RetakeTarget.AUDIO else ()
    stage = Stage(request, video_latent=video_latent, audio_latent=audio_latent, video_items=video_items,
                  audio_items=audio_items, frozen=frozen)
    return _run(models, stage, contexts, notes, callbacks)


def _run(
    models: PipelineModels, stage: Stage, contexts: TextContexts, notes: tuple[str, ...], callbacks: Callbacks | None
) -> GenerationResult:
    callbacks = callbacks or Callbacks()
    generator = torch.Generator(device=models.device).manual_seed(stage.request.seed)
    video, audio = run_stage(models, stage, contexts, generator, callbacks=callbacks)
    result = decode_outputs(models, stage.request, video, audio, callbacks)
    return dataclasses.replace(result, notes=notes)


def extend_clip(
    models: PipelineModels,
    contexts: TextContexts,
    clip: SourceClip,
    *,
    new_frames: int,
    direction: Direction = Direction.FORWARD,
    sampling: Sampling | None = None,
    callbacks: Callbacks | None = None,
) -> GenerationResult:
    """Continue a clip by ``new_frames`` (a multiple of 8) forwards or backwards, its audio carried across.

    The source is padded on the extended side (edge frame repeated, audio with silence), encoded, and only the new
    time region is regenerated (video and audio). The source's latents stay bit-identical; after decoding, its
    frames equal the VAE round trip of the padded source except near the seam (the decoder sees the new latents).
    Backwards, the source's first frame shares a latent frame with the new frames and is regenerated with them.

    Returns:
        :class:`GenerationResult` of ``F + new_frames`` frames (source frames first when FORWARD, last otherwise).
    """
    problem = new_frames_problem(new_frames)
    if problem:
        raise GenerationError(problem)
    sampling = sampling or Sampling()
    source = as_frames(clip.frames)
    count = source.shape[0]
    request = _source_request(clip, sampling, count + new_frames)
    forward = direction is Direction.FORWARD
    video_latent = encode_frames(models.video_vae, pad_frames(source, new_frames, forward=forward),
                                 height=request.height, width=request.width)
    region = (TemporalRegionMask(*extend_window(count, new_frames, clip.fps, forward=forward)),)
    audio_latent, audio_items = None, ()
    if clip.waveform is not None:
        padded = pad_waveform(clip.waveform, clip.sample_rate, source_s=count / clip.fps,
                              new_s=new_frames / clip.fps, forward=forward)
        audio_latent, audio_items = _encode_audio(models, padded, clip.sample_rate, request).latent, region
    stage = Stage(request, video_latent=video_latent, audio_latent=audio_latent, video_items=region,
                  audio_items=audio_items)
    return _run(models, stage, contexts, (), callbacks)
