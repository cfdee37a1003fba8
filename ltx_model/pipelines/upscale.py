"""Latent upscalers applied to a finished clip: temporal x2, spatial x1.5 (and x2), with the bookkeeping.

The upsamplers work on un-normalised latents (``upsample_latent`` wraps them with the video VAE statistics). A
temporal x2 upsampler maps ``F`` latent frames to ``2F - 1`` (the causal first frame is not doubled), i.e. ``N``
pixel frames to ``2N - 1`` at twice the frame rate, so the clip keeps its duration (within one frame) and its audio
is returned untouched (the same tensor). Spatial upsamplers keep the frame count and fps.
"""

from __future__ import annotations

import dataclasses

import torch

from ..upsampler import LatentUpsampler, UpsamplerKind, upsample_latent
from .decode import decode_video
from .models import PipelineModels
from .request import Callbacks, GenerationError, GenerationResult, TilingMode


def upscale_video_latent(models: PipelineModels, upsampler: LatentUpsampler, latent: torch.Tensor) -> torch.Tensor:
    """Normalised ``(1, 128, F, h, w)`` → upsampled normalised latent (``2F - 1`` frames for temporal x2,
    ``ceil(1.5 h)`` x ``ceil(1.5 w)`` for spatial x1.5, ``2h`` x ``2w`` for spatial x2)."""
    stats = models.video_vae.per_channel_statistics
    weight = next(upsampler.parameters())
    with torch.no_grad():
        mean, std = stats.get_buffer("mean-of-means"), stats.get_buffer("std-of-means")
        return upsample_latent(latent.to(device=weight.device, dtype=weight.dtype), upsampler, mean=mean, std=std)


def upscaled_fps(upsampler: LatentUpsampler, fps: float) -> float:
    """Frame rate after the upsampler: doubled by temporal kinds, unchanged otherwise."""
    temporal = upsampler.config.kind in (UpsamplerKind.TEMPORAL_X2, UpsamplerKind.SPATIOTEMPORAL_X2)
    return fps * 2 if temporal else fps


def upscale_clip(
    models: PipelineModels,
    result: GenerationResult,
    upsampler: LatentUpsampler,
    *,
    tiling: TilingMode = TilingMode.AUTO,
    callbacks: Callbacks | None = None,
) -> GenerationResult:
    """Upscale a generated clip's video latent and decode it; the audio (waveform, rate, latent) is passed through.

    Returns:
        A new :class:`GenerationResult`: temporal x2 → ``2N - 1`` frames at ``2 · fps``; spatial → larger frames at
        the same count and fps. ``waveform`` / ``audio_latent`` are the input's tensors (untouched).
    """
    if result.video_latent.dim() != 5:
        raise GenerationError(f"expected a (1, 128, F, h, w) video latent, got {tuple(result.video_latent.shape)}")
    latent = upscale_video_latent(models, upsampler, result.video_latent)
    latent = latent.to(device=models.device, dtype=next(models.video_vae.parameters()).dtype)
    frames = decode_video(models.video_vae, latent, mode=tiling, callbacks=callbacks)
    return dataclasses.replace(result, frames=frames, video_latent=latent, fps=upscaled_fps(upsampler, result.fps))
