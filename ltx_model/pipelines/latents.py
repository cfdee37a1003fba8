"""Initial video and audio latent states: geometry from the request, conditioning, then noise (video first)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ltx_model.audio import AudioVAEConfig
from ltx_model.conditioning import ConditioningItem
from ltx_model.pipelines.request import GenerationRequest
from ltx_model.sampling import AudioGrid, LatentState, VideoGrid, initial_state, noise_state


def video_grid(request: GenerationRequest, *, channels: int = 128) -> VideoGrid:
    """Latent grid of the output video: ``(1 + (F-1)/8, H/32, W/32)`` with positions in seconds at ``fps``."""
    return VideoGrid.from_pixels(
        frames=request.num_frames, height=request.height, width=request.width, fps=request.fps, channels=channels
    )


def audio_grid(request: GenerationRequest, config: AudioVAEConfig) -> AudioGrid:
    """Audio latent grid for ``num_frames / fps`` seconds: ``round(duration · 25)`` frames for the real config."""
    return AudioGrid.from_duration(
        request.duration_s,
        channels=config.latent_channels,
        mel_bins=config.latent_mel_bins,
        sample_rate=config.sample_rate,
        hop_length=config.hop_length,
        downsample=config.downsample_factor,
    )


def noised_states(
    request: GenerationRequest,
    conditionings: Sequence[ConditioningItem],
    *,
    audio_config: AudioVAEConfig,
    generator: torch.Generator,
    dtype: torch.dtype,
    device: torch.device,
) -> tuple[LatentState, LatentState]:
    """Zero latents → video conditionings applied → video noise, then audio noise, from ONE generator.

    Mirrors ltx-pipelines ``denoise_audio_video``: noise is drawn in the latent dtype with the patchified shape
    (appended conditioning tokens included) and applied as ``noise · mask + latent · (1 - mask)``.
    Returns patchified ``(video_state, audio_state)``.
    """
    video = initial_state(video_grid(request), dtype=dtype, device=device)
    for item in conditionings:
        video = item.apply_to(video)
    video = noise_state(video, generator, 1.0)
    audio = initial_state(audio_grid(request, audio_config), dtype=dtype, device=device)
    audio = noise_state(audio, generator, 1.0)
    return video, audio
