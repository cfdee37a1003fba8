"""Audio latent geometry and audio/video alignment (ltx2-model.md §5.2, §5.6).

With the real config: 16 kHz, hop 160 → 100 mel frames/s; the VAE compresses time 4× (causally) → 25 latent
frames/s. Both streams share wall-clock time, so the audio latent of a clip of ``num_frames`` video frames at
``fps`` has ``round(num_frames / fps · 25)`` frames (ltx-core ``AudioLatentShape.from_duration`` /
``from_video_pixel_shape``; Python's round, i.e. halves to even).
"""

from __future__ import annotations

import math

from .config import AudioVAEConfig


def audio_latent_frames_for_duration(duration_s: float, config: AudioVAEConfig) -> int:
    """Audio latent frames the pipelines allocate for ``duration_s`` seconds: round(duration · latents/s)."""
    return round(float(duration_s) * config.latents_per_second)


def audio_latent_frames_for_video(num_frames: int, fps: float, config: AudioVAEConfig) -> int:
    """Audio latent frames matching a video of ``num_frames`` frames at ``fps`` (121 @ 24 fps → 126)."""
    return audio_latent_frames_for_duration(float(num_frames) / float(fps), config)


def audio_latent_shape(batch: int, frames: int, config: AudioVAEConfig) -> tuple[int, int, int, int]:
    """Shape (B, z, T_lat, F_lat) of an audio latent with ``frames`` latent frames ((B, 8, T, 16) for real)."""
    return (batch, config.latent_channels, frames, config.latent_mel_bins)


def latent_frames_for_mel_frames(mel_frames: int, config: AudioVAEConfig) -> int:
    """Latent frames the encoder produces from ``mel_frames`` spectrogram frames: ceil(T / 4) (causal strides)."""
    frames = mel_frames
    for _ in range(len(config.channel_multipliers) - 1):
        frames = math.ceil(frames / 2)
    return frames


def mel_frames_for_samples(num_samples: int, sample_rate: int, config: AudioVAEConfig) -> int:
    """Spectrogram frames of a waveform of ``num_samples`` at ``sample_rate`` Hz after resampling to the model rate
    (centred STFT: 1 + samples // hop)."""
    gcd = math.gcd(int(sample_rate), int(config.sample_rate))
    orig, new = int(sample_rate) // gcd, int(config.sample_rate) // gcd
    resampled = math.ceil(new * num_samples / orig)  # the resampler's output length
    return 1 + resampled // config.hop_length


def latent_frames_for_samples(num_samples: int, sample_rate: int, config: AudioVAEConfig) -> int:
    """Latent frames :meth:`AudioVAE.encode_waveform` returns for a waveform of ``num_samples`` at ``sample_rate``."""
    return latent_frames_for_mel_frames(mel_frames_for_samples(num_samples, sample_rate, config), config)


def mel_frames_for_latent_frames(latent_frames: int, config: AudioVAEConfig) -> int:
    """Spectrogram frames the decoder returns for ``latent_frames``: max(4 · T_lat - 3, 1) (causal)."""
    factor = config.downsample_factor
    return max(latent_frames * factor - (factor - 1), 1)


def latent_frame_duration_s(config: AudioVAEConfig) -> float:
    """Seconds of audio per latent frame (0.04 s for the real model)."""
    return 1.0 / config.latents_per_second
