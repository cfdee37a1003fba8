"""Audio-driven and audio-only modes: audio-to-video, text-to-audio and video-to-audio (Foley).

* :func:`generate_audio_to_video` — ltx-pipelines ``A2VidPipelineTwoStage``: the input waveform is encoded and
  held frozen (mask 0 and, per HEAD, sigma 0 for the audio stream) in every stage; the video is generated to it,
  optionally from a first image; the result carries the input waveform itself (not a VAE round trip).
* :func:`generate_audio` — HEAD ``T2AOneStagePipeline``: the transformer runs the audio stream only
  (``video=None``: no video tokens exist, none are computed); only audio guidance applies.
* :func:`generate_audio_for_video` — video-to-audio: the input frames are encoded and held frozen (mask 0, sigma 0)
  while the audio is generated; the result carries the input frames.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..conditioning import FrozenAudio
from ..modes import as_frames
from ..sampling import STAGE2_DISTILLED_SIGMAS, unpatchify_state_latent
from .decode import decode_audio, decode_video
from .generate import Frozen, Stage, run_stage
from .models import PipelineModels
from .request import (
    Callbacks,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    TextContexts,
)
from .sources import encode_clip_audio, encode_frames
from .two_stage import denoise_two_stage


def generate_audio_to_video(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    waveform: torch.Tensor | np.ndarray,
    sample_rate: int,
    *,
    two_stage: bool = False,
    stage2_models: PipelineModels | None = None,
    stage2_sigmas: tuple[float, ...] = STAGE2_DISTILLED_SIGMAS,
    callbacks: Callbacks | None = None,
) -> GenerationResult:
    """Generate video for an input sound track.

    Args:
        request: size, frames, fps, seed, sigmas; ``video_guidance`` (the reference's audio guider is neutral, so
            ``audio_guidance`` should be None); ``images`` e.g. an optional first frame.
        waveform: float ``(S,)`` / ``(C, S)`` in [-1, 1], mono or stereo, at ``sample_rate`` (any rate). Longer
            audio is trimmed to ``num_frames / fps`` seconds; shorter audio is padded with silence (see ``notes``).
        two_stage: half-size stage 1, x2 upsample, stage 2 (audio frozen in both, as the reference).
    Returns:
        :class:`GenerationResult` whose ``waveform`` is the input (trimmed/padded, same channels, bit-identical
        samples) at the input ``sample_rate``, and whose ``audio_latent`` is the frozen encoded audio.
    Raises:
        GenerationError: empty or malformed audio.
    """
    callbacks = callbacks or Callbacks()
    clip = encode_clip_audio(models.audio_vae, waveform, sample_rate, num_frames=request.num_frames, fps=request.fps)

    def frozen_audio(stage: Stage, number: int) -> Stage:
        return dataclasses.replace(stage, audio_items=(FrozenAudio(clip.latent),), frozen=Frozen.AUDIO)

    if two_stage:
        video, audio = denoise_two_stage(models, request, contexts, callbacks=callbacks, stage2_models=stage2_models,
                                         stage2_sigmas=stage2_sigmas, hook=frozen_audio)
    else:
        generator = torch.Generator(device=models.device).manual_seed(request.seed)
        video, audio = run_stage(models, frozen_audio(Stage(request), 1), contexts, generator, callbacks=callbacks)
    callbacks.check()
    video_latent = unpatchify_state_latent(video)
    frames = decode_video((stage2_models or models).video_vae, video_latent, mode=request.tiling, callbacks=callbacks)
    return GenerationResult(frames, clip.waveform, clip.sample_rate, request.fps, video_latent,
                            unpatchify_state_latent(audio), clip.notes)


@dataclasses.dataclass(frozen=True)
class AudioResult:
    """Text-to-audio output.

    Attributes:
        waveform: float32 ``(2, S)`` in [-1, 1].
        sample_rate: vocoder rate (Hz).
        audio_latent: ``(1, 8, T, 16)`` final latent.
        video_tokens: video tokens the transformer processed (always 0: the video stream is left out).
    """

    waveform: torch.Tensor
    sample_rate: int
    audio_latent: torch.Tensor
    video_tokens: int = 0


def generate_audio(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    *,
    callbacks: Callbacks | None = None,
) -> AudioResult:
    """Text-to-audio: ``num_frames / fps`` seconds of sound, the transformer running the audio stream only.

    ``request.height/width/images/video_guidance`` are ignored (no video exists); ``audio_guidance`` (HEAD T2A:
    CFG with the negative audio context, modality scale 1) or None (distilled). Returns :class:`AudioResult`.
    """
    callbacks = callbacks or Callbacks()
    audio_only = dataclasses.replace(request, images=(), video_guidance=None)
    generator = torch.Generator(device=models.device).manual_seed(request.seed)
    video, audio = run_stage(models, Stage(audio_only, with_video=False), contexts, generator, callbacks=callbacks)
    assert video is None
    latent = unpatchify_state_latent(audio)
    callbacks.check()
    waveform, rate = decode_audio(models.audio_vae, models.vocoder, latent)
    return AudioResult(waveform, rate, latent)


def generate_audio_for_video(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    frames: torch.Tensor | np.ndarray,
    *,
    callbacks: Callbacks | None = None,
) -> GenerationResult:
    """Video-to-audio (Foley): encode the first ``request.num_frames`` input frames at the request size, hold the
    video frozen (mask 0, sigma 0) and generate the audio for it.

    Args:
        frames: ``(F, H, W, 3)`` uint8 (or float 0..255) frames, ``F >= request.num_frames`` (extra frames are
            dropped); they are cover-resized + center-cropped to ``request.height x request.width`` for encoding.
    Returns:
        :class:`GenerationResult` whose ``frames`` are the input frames used (unchanged) and whose ``waveform`` is
        the generated audio.
    """
    callbacks = callbacks or Callbacks()
    pixels = as_frames(frames)
    if pixels.shape[0] < request.num_frames:
        raise GenerationError(f"the video has {pixels.shape[0]} frames, the request needs {request.num_frames}")
    used = pixels[: request.num_frames]
    latent = encode_frames(models.video_vae, used, height=request.height, width=request.width)
    generator = torch.Generator(device=models.device).manual_seed(request.seed)
    stage = Stage(dataclasses.replace(request, images=()), video_latent=latent, frozen=Frozen.VIDEO)
    video, audio = run_stage(models, stage, contexts, generator, callbacks=callbacks)
    audio_latent = unpatchify_state_latent(audio)
    callbacks.check()
    waveform, rate = decode_audio(models.audio_vae, models.vocoder, audio_latent)
    original = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames)
    return GenerationResult(original[: request.num_frames], waveform, rate, request.fps,
                            unpatchify_state_latent(video), audio_latent)
