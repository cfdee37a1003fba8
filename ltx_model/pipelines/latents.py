"""Initial video and audio latent states: geometry from the request, conditioning, then noise (video first)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..audio import AudioVAEConfig
from ..conditioning import ConditioningItem
from ..sampling import AudioGrid, LatentState, VideoGrid
from .request import GenerationRequest
from .streams import StreamSpec, stream_state


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


@dataclass(frozen=True)
class LatentSetup:
    """How a stage's latents start.

    Attributes:
        audio_config: the audio VAE config (audio latent geometry).
        dtype, device: latent dtype (the transformer's compute dtype) and device.
        video_latent, audio_latent: optional unpatchified start latents (stage 2: the upsampled video and the
            stage-1 audio); None = zeros.
        noise_scale: 1 = pure noise; stage 2 re-noises with its first sigma (0.909375).
    """

    audio_config: AudioVAEConfig
    dtype: torch.dtype
    device: torch.device
    video_latent: torch.Tensor | None = None
    audio_latent: torch.Tensor | None = None
    noise_scale: float | torch.Tensor = 1.0


def noised_states(
    request: GenerationRequest,
    conditionings: Sequence[ConditioningItem],
    setup: LatentSetup,
    generator: torch.Generator,
) -> tuple[LatentState, LatentState]:
    """Start latents → video conditionings applied → video noise, then audio noise, from ONE generator.

    Mirrors ltx-pipelines ``denoise_audio_video``: noise is drawn in the latent dtype with the patchified shape
    (appended conditioning tokens included) and applied as ``noise · m + latent · (1 - m)``, ``m`` = mask x scale.
    Returns patchified ``(video_state, audio_state)``.
    """
    kw = {"dtype": setup.dtype, "device": setup.device}
    video_spec = StreamSpec(tuple(conditionings), setup.video_latent, setup.noise_scale)
    video = stream_state(video_grid(request), video_spec, generator, **kw)
    audio_spec = StreamSpec(initial_latent=setup.audio_latent, noise_scale=setup.noise_scale)
    audio = stream_state(audio_grid(request, setup.audio_config), audio_spec, generator, **kw)
    return video, audio
