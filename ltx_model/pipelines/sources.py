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
from ..video_vae import VideoVAE
from .images import resize_and_center_crop
from .request import GenerationError


def as_frames(frames: torch.Tensor | np.ndarray) -> torch.Tensor:
    """``uint8``/float ``(F, H, W, 3)`` pixels in [0, 255] → float32 tensor (a single ``(H, W, 3)`` → F = 1)."""
    x = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames)
    if x.dim() == 3:
        x = x[None]
    if x.dim() != 4 or x.shape[-1] != 3 or x.shape[0] == 0:
        raise GenerationError(f"expected video frames (F, H, W, 3) with F >= 1, got shape {tuple(x.shape)}")
    return x.to(torch.float32)


def video_pixels(
    frames: torch.Tensor | np.ndarray, *, height: int, width: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """``(F, H, W, 3)`` pixels → VAE input ``(1, 3, F, height, width)`` in [-1, 1] (cover-resize + crop per frame)."""
    x = as_frames(frames).to(device)
    pixels = torch.cat([resize_and_center_crop(frame, height, width) for frame in x], dim=2)
    return (pixels / 127.5 - 1.0).to(dtype=dtype)


def encode_frames(video_vae: VideoVAE, frames: torch.Tensor | np.ndarray, *, height: int, width: int) -> torch.Tensor:
    """Encode ``1 + 8k`` frames at ``height x width`` → normalised latent ``(1, 128, 1 + k, height/32, width/32)``."""
    count = as_frames(frames).shape[0]
    if (count - 1) % 8:
        raise GenerationError(f"a clip to encode needs 1 + 8k frames, got {count}")
    weight = next(video_vae.parameters())
    pixels = video_pixels(frames, height=height, width=width, dtype=weight.dtype, device=weight.device)
    with torch.no_grad():
        return video_vae.encode(pixels)


def snap_frames(count: int) -> int:
    """Largest ``1 + 8k`` not above ``count`` (``count >= 1``)."""
    return 1 + 8 * ((count - 1) // 8)


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


def _as_channels(waveform: torch.Tensor | np.ndarray) -> torch.Tensor:
    """``(S,)``, ``(C, S)`` or ``(1, C, S)`` → ``(C, S)`` with C in {1, 2}."""
    w = torch.as_tensor(waveform)
    if w.dim() == 3 and w.shape[0] == 1:
        w = w[0]
    if w.dim() == 1:
        w = w[None]
    if w.dim() != 2 or w.shape[0] not in (1, 2):
        raise GenerationError(f"expected a mono or stereo waveform (S,) / (C, S), got shape {tuple(w.shape)}")
    if w.shape[1] == 0:
        raise GenerationError("the input audio is empty (0 samples)")
    if not w.is_floating_point():
        raise GenerationError(f"the waveform must be float in [-1, 1], got dtype {w.dtype}")
    return w


def fit_waveform(
    waveform: torch.Tensor | np.ndarray, sample_rate: int, duration_s: float
) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Trim ``(C, S)`` audio to ``round(duration_s · sample_rate)`` samples or zero-pad it (silence), with a note."""
    w = _as_channels(waveform)
    if sample_rate <= 0:
        raise GenerationError(f"sample_rate must be positive, got {sample_rate}")
    wanted = round(duration_s * sample_rate)
    have = w.shape[1]
    if have >= wanted:
        note = () if have == wanted else (f"audio trimmed from {have / sample_rate:.3f} s to {duration_s:.3f} s",)
        return w[:, :wanted], note
    pad = torch.zeros(w.shape[0], wanted - have, dtype=w.dtype, device=w.device)
    note = f"audio is {have / sample_rate:.3f} s but the clip lasts {duration_s:.3f} s: padded with silence"
    return torch.cat([w, pad], dim=1), (note,)


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
    if fit is AudioFit.ENCODE_THEN_CROP and _as_channels(waveform).shape[1] > fitted.shape[1]:
        source = _as_channels(waveform)
    weight = next(audio_vae.parameters())
    stereo = to_stereo(source.to(device=weight.device, dtype=torch.float32))
    with torch.no_grad():
        latent = audio_vae.encode_waveform(stereo, int(sample_rate))
    frames = audio_latent_frames_for_video(num_frames, fps, audio_vae.config)
    if latent.shape[2] < frames:  # cannot happen for fitted audio; guards odd configs
        raise GenerationError(f"encoded audio has {latent.shape[2]} latent frames, the clip needs {frames}")
    return ClipAudio(latent[:, :, :frames], fitted, int(sample_rate), notes)
