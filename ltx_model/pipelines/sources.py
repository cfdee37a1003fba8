"""Input clips → latents: video frames through the video VAE encoder, waveforms through the audio VAE encoder.

Used by the modes that start from existing media (audio-to-video, video-to-audio, extend, retake, IC-LoRA
references). Frames are prepared as ltx-pipelines ``load_video_conditioning`` does (per frame: bilinear
cover-resize + center crop, ``x / 127.5 - 1``); audio as ``encode_audio`` (resample to the VAE rate, log-mel,
encode), then cropped to the clip's audio latent length.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import torch

from ..audio import AudioVAE, audio_latent_frames_for_video, to_stereo
from ..modes import GenerationError, as_channels, as_frames, fit_waveform, frames_problem, video_pixels
from ..video_vae import VideoVAE


def encode_frames(video_vae: VideoVAE, frames: torch.Tensor | np.ndarray, *, height: int, width: int) -> torch.Tensor:
    """Encode ``1 + 8k`` frames at ``height x width`` → normalised latent ``(1, 128, 1 + k, height/32, width/32)``."""
    problem = frames_problem(as_frames(frames).shape[0], "a clip to encode")
    if problem:
        raise GenerationError(problem)
    weight = next(video_vae.parameters())
    pixels = video_pixels(frames, height=height, width=width, dtype=weight.dtype, device=weight.device)
    with torch.no_grad():
        return video_vae.encode(pixels)


@dataclass(frozen=True)
class ClipAudio:
    """An input waveform fitted to a clip.

    Attributes:
        latent: ``(1, 8, T, 16)`` encoded audio, exactly the clip's audio latent length.
        waveform: the input samples covering the clip ``(C, S)`` (C = input channels, S = round(duration · rate));
            the leading input samples are bit-identical to the input; zero samples were appended when it was short.
        sample_rate: the input sample rate (Hz).
        notes: human-readable remarks (trimmed / padded).
    """

    latent: torch.Tensor
    waveform: torch.Tensor
    sample_rate: int
    notes: tuple[str, ...] = ()


class AudioFit(Enum):
    """How a longer input is cut to the clip: trim the waveform before encoding (ltx-pipelines A2V reads only the
    clip's duration) or encode all of it and crop the latent (ltx-pipelines retake; the last latent frames then
    see the following audio through the spectrogram window)."""

    TRIM_THEN_ENCODE = "trim_then_encode"
    ENCODE_THEN_CROP = "encode_then_crop"


def encode_clip_audio(
    audio_vae: AudioVAE,
    waveform: torch.Tensor | np.ndarray,
    sample_rate: int,
    *,
    num_frames: int,
    fps: float,
    fit: AudioFit = AudioFit.TRIM_THEN_ENCODE,
) -> ClipAudio:
    """Fit a waveform to a clip of ``num_frames`` at ``fps`` (trim, or pad with silence + note) and encode it.

    Args:
        waveform: float ``(S,)``, ``(C, S)`` or ``(1, C, S)`` in [-1, 1], mono or stereo, any rate.
        sample_rate: its rate (Hz); it is resampled to the VAE rate for encoding only.
        fit: see :class:`AudioFit` (only matters for input longer than the clip).
    Returns:
        :class:`ClipAudio` with the ``(1, 8, round(num_frames / fps · 25), 16)`` latent.
    Raises:
        GenerationError: empty audio, bad shape or rate.
    """
    fitted, notes = fit_waveform(waveform, sample_rate, num_frames / fps)
    source = fitted
    if fit is AudioFit.ENCODE_THEN_CROP and as_channels(waveform).shape[1] > fitted.shape[1]:
        source = as_channels(waveform)
    weight = next(audio_vae.parameters())
    stereo = to_stereo(source.to(device=weight.device, dtype=torch.float32))
    with torch.no_grad():
        latent = audio_vae.encode_waveform(stereo, int(sample_rate))
    frames = audio_latent_frames_for_video(num_frames, fps, audio_vae.config)
    if latent.shape[2] < frames:  # cannot happen for fitted audio; guards odd configs
        raise GenerationError(f"encoded audio has {latent.shape[2]} latent frames, the clip needs {frames}")
    return ClipAudio(latent[:, :, :frames], fitted, int(sample_rate), notes)
