"""Sigma schedules (rectified flow, sigma = 1 is pure noise) as float32 tensors.

* :func:`ltx2_sigmas` — ltx-core's ``LTX2Scheduler``: shifted linear schedule with a token-count dependent shift,
  stretched so that the last non-zero sigma equals ``terminal``.
* :data:`DISTILLED_SIGMAS` / :data:`STAGE2_DISTILLED_SIGMAS` — the fixed tables of ltx-pipelines
  ``utils/constants.py`` for the distilled model (8 steps) and the stage-2 refinement (3 steps).
"""

from __future__ import annotations

import math

import torch

BASE_SHIFT_ANCHOR = 1024
"""Token count at which the shift equals ``base_shift``."""
MAX_SHIFT_ANCHOR = 4096
"""Token count at which the shift equals ``max_shift`` (also the default token count)."""

DISTILLED_SIGMAS: tuple[float, ...] = (1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875, 0.0)
"""Distilled stage-1 schedule (8 steps)."""
STAGE2_DISTILLED_SIGMAS: tuple[float, ...] = (0.909375, 0.725, 0.421875, 0.0)
"""Stage-2 refinement schedule (3 steps); the upscaled latent is re-noised with ``noise_scale = 0.909375``."""


def token_shift(tokens: int, *, max_shift: float = 2.05, base_shift: float = 0.95) -> float:
    """Linear shift ``s(tokens)`` with ``s(1024) = base_shift`` and ``s(4096) = max_shift`` (Python float math)."""
    slope = (max_shift - base_shift) / (MAX_SHIFT_ANCHOR - BASE_SHIFT_ANCHOR)
    intercept = base_shift - slope * BASE_SHIFT_ANCHOR
    return tokens * slope + intercept


def ltx2_sigmas(
    steps: int,
    *,
    tokens: int | None = None,
    max_shift: float = 2.05,
    base_shift: float = 0.95,
    stretch: bool = True,
    terminal: float = 0.1,
) -> torch.Tensor:
    """The LTX-2 scheduler (``LTX2Scheduler.execute``), bit-exact in float32.

    Args:
        steps: number of denoising steps; the result has ``steps + 1`` entries ending in 0.
        tokens: latent token count ``F*H*W`` for the token-dependent shift (the HQ pipeline passes its stage-1
            latent); ``None`` uses 4096 tokens, i.e. the fixed shift 2.05 all other pipelines use.
        max_shift, base_shift: shift at 4096 and 1024 tokens.
        stretch: rescale so that the last non-zero sigma equals ``terminal``.
        terminal: last non-zero sigma when stretching.
    Returns:
        float32 ``(steps + 1,)``, from 1.0 down to 0.0.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    shift = token_shift(MAX_SHIFT_ANCHOR if tokens is None else tokens, max_shift=max_shift, base_shift=base_shift)
    sigmas = torch.linspace(1.0, 0.0, steps + 1)
    exp_shift = math.exp(shift)
    sigmas = torch.where(sigmas != 0, exp_shift / (exp_shift + (1 / sigmas - 1)), 0)
    if stretch:
        non_zero = sigmas != 0
        one_minus = 1.0 - sigmas[non_zero]
        scale = one_minus[-1] / (1.0 - terminal)
        sigmas[non_zero] = 1.0 - (one_minus / scale)
    return sigmas.to(torch.float32)


def distilled_sigmas(device: torch.device | None = None) -> torch.Tensor:
    """Distilled stage-1 sigmas as float32 ``(9,)``."""
    return torch.tensor(DISTILLED_SIGMAS, dtype=torch.float32, device=device)


def stage2_distilled_sigmas(device: torch.device | None = None) -> torch.Tensor:
    """Stage-2 refinement sigmas as float32 ``(4,)``."""
    return torch.tensor(STAGE2_DISTILLED_SIGMAS, dtype=torch.float32, device=device)
