"""Shared, seeded inputs of the LTX-2.5 text / duration-head / Euler-ancestral tests and of their golden generator
(``tests/data/golden/ltx25_text_golden.py``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import torch

from ltx_model.sampling.positions import AudioGrid, VideoGrid
from ltx_model.sampling.schedules import distilled_sigmas
from ltx_model.sampling.state import LatentState, initial_state

GOLDEN = Path(__file__).resolve().parent / "data" / "ltx25_text_golden.json"


def golden() -> dict:
    """The committed reference outputs (see the generator's docstring for how they were produced)."""
    return json.loads(GOLDEN.read_text())


def rel_l2(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """``||ours - ref|| / ||ref||`` in float64."""
    ours, ref = ours.double().reshape(-1), ref.double().reshape(-1)
    return float((ours - ref).norm() / ref.norm().clamp_min(1e-30))


def ancestral_step_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(sample, denoised, noise) ``(1, 12, 4)`` fp32 and a 5-step distilled-like sigma list ending in 0."""
    g = torch.Generator().manual_seed(5)
    sample, denoised, noise = (torch.randn(1, 12, 4, generator=g) for _ in range(3))
    return sample, denoised, noise, torch.tensor([1.0, 0.9, 0.6, 0.3, 0.05, 0.0])


def loop_sigmas() -> torch.Tensor:
    """The 8-step distilled sigma list (ends in 0)."""
    return distilled_sigmas()


def stand_in_x0(latent: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Stand-in for the transformer: a smooth nonlinear map evaluated in the latent's dtype."""
    w = torch.linspace(-1.0, 1.0, latent.shape[-1] ** 2, dtype=torch.float32).view(latent.shape[-1], -1)
    s = float(sigma)
    return (torch.tanh(latent.float() @ w) * (1.2 - s) + 0.1 * s).to(latent.dtype)


def loop_states(dtype: torch.dtype) -> list[LatentState]:
    """A video state (first latent frame conditioned with strength 0.7) and an audio state, noisy, in ``dtype``."""
    g = torch.Generator().manual_seed(11)
    video = initial_state(VideoGrid(frames=2, height=2, width=3, fps=24.0, channels=4), dtype=dtype,
                          latent=torch.randn(1, 4, 2, 2, 3, generator=g).to(dtype))
    audio = initial_state(AudioGrid(frames=5, channels=2, mel_bins=3), dtype=dtype,
                          latent=torch.randn(1, 2, 5, 3, generator=g).to(dtype))
    video_mask = video.denoise_mask.clone()
    video_mask[:, :6] = 0.3
    out = []
    for state, mask in ((video, video_mask), (audio, audio.denoise_mask)):
        noisy = torch.randn(state.latent.shape, generator=g).to(dtype)
        out.append(replace(state, latent=noisy, denoise_mask=mask))
    return out
