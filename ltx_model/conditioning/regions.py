"""Whole-stream conditioning: frozen audio (A2V), temporal region masks (retake / extend) and clearing.

* :class:`FrozenAudio` — audio-to-video: the encoded input audio is the audio latent, never denoised
  (``denoise_mask = 0``, noise scale 0) and marked ``frozen`` so the transformer sees sigma 0 for it (HEAD).
* :class:`TemporalRegionMask` — ltx-pipelines ``retake.py``: ``denoise_mask = 1`` on target tokens whose time span
  ``[t_start, t_end)`` intersects ``[start, end)`` seconds, else 0 (the source is noised with scale 1 afterwards,
  so only that region is regenerated).
* :func:`clear_conditioning` — drop appended tokens after denoising (``LatentTools.clear_conditioning``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from ..sampling.patchify import patchify_audio
from ..sampling.positions import (
    AudioGrid,
    VideoGrid,
    audio_positions,
    latent_bounds_to_pixels,
    video_latent_bounds,
)
from ..sampling.state import LatentState
from .errors import ConditioningError


@dataclass(frozen=True)
class FrozenAudio:
    """Use an encoded audio latent ``(B, C, T, M)`` as the fixed audio stream (A2V).

    Longer latents are cropped to the grid's frame count (as the A2V pipeline does); shorter ones are rejected.
    """

    latent: torch.Tensor

    def apply_to(self, state: LatentState) -> LatentState:
        """Return the frozen audio state (latent = clean = the audio tokens, mask 0, ``frozen=True``)."""
        grid = state.grid
        if not isinstance(grid, AudioGrid):
            raise ConditioningError("FrozenAudio needs an audio latent state")
        lat = self.latent
        if lat.dim() != 4 or (lat.shape[0], lat.shape[1], lat.shape[3]) != (
            state.latent.shape[0], grid.channels, grid.mel_bins
        ):
            raise ConditioningError(
                f"audio latent {tuple(lat.shape)} does not fit (B={state.latent.shape[0]}, C={grid.channels}, "
                f"T, M={grid.mel_bins})"
            )
        if lat.shape[2] < grid.frames:
            raise ConditioningError(
                f"audio latent has {lat.shape[2]} frames but the clip needs {grid.frames}; use longer audio"
            )
        if state.num_tokens != grid.token_count:
            raise ConditioningError("FrozenAudio must be applied before items that append audio tokens")
        tokens = patchify_audio(lat[:, :, : grid.frames]).to(state.latent.dtype)
        return replace(
            state, latent=tokens, clean_latent=tokens.clone(), denoise_mask=torch.zeros_like(state.denoise_mask),
            frozen=True,
        )


def token_time_bounds(grid: VideoGrid | AudioGrid, device: torch.device | None = None) -> torch.Tensor:
    """float32 ``(T, 2)`` ``[start, end)`` seconds of every target token (video: causal-fixed pixel frames / fps)."""
    if isinstance(grid, AudioGrid):
        return audio_positions(grid, device=device)[0, 0]
    bounds = video_latent_bounds(grid.frames, grid.height, grid.width, patch_size=grid.patch_size, device=device)
    pixels = latent_bounds_to_pixels(bounds, grid.scale, causal_fix=grid.causal_fix)
    return pixels[0, 0] / grid.fps


def tokens_in_window(grid: VideoGrid | AudioGrid, start_s: float, end_s: float,
                     device: torch.device | None = None) -> torch.Tensor:
    """bool ``(T,)``: the target tokens whose time span ``[t_start, t_end)`` meets ``[start_s, end_s)`` seconds."""
    bounds = token_time_bounds(grid, device=device)
    return (bounds[:, 1] > start_s) & (bounds[:, 0] < end_s)


@dataclass(frozen=True)
class TemporalRegionMask:
    """Regenerate only ``[start_time, end_time)`` seconds: mask 1 inside, 0 outside (target tokens only)."""

    start_time: float
    end_time: float

    def apply_to(self, state: LatentState) -> LatentState:
        """Return a copy whose target-token denoise mask selects the region."""
        if self.end_time <= self.start_time:
            raise ConditioningError(f"empty time region [{self.start_time}, {self.end_time})")
        inside = tokens_in_window(state.grid, self.start_time, self.end_time, device=state.denoise_mask.device)
        new = state.clone()
        n = state.grid.token_count
        new.denoise_mask[:, :n] = inside.to(new.denoise_mask.dtype).view(1, n, 1)
        return new


def clear_conditioning(state: LatentState) -> LatentState:
    """Keep the target's tokens only: latent, clean latent, positions sliced; mask reset to 1; no attention mask."""
    n = state.grid.token_count
    return replace(
        state,
        latent=state.latent[:, :n].clone(),
        clean_latent=state.clean_latent[:, :n].clone(),
        denoise_mask=torch.ones_like(state.denoise_mask[:, :n]),
        positions=state.positions[:, :, :n].clone(),
        attention_mask=None,
    )
