"""The res_2s sampler (HQ pipeline): 2-stage exponential Runge-Kutta with SDE noise injection.

Follows ltx-pipelines ``res2s_audio_video_denoising_loop`` (legacy SDE mode, its default) and ltx-core
``Res2sDiffusionStep``; Lightricks' latest (LTX-2 main @400fd31) adds the step-level ``eta`` (default 0.5, the
substep stays at 0.5), the only difference to 1.0.0. All RK arithmetic is float64; latents are cast to the
model dtype between steps.
A step works on any number of modality states at once (video, audio, ...) in a fixed order, which is also the
order in which SDE noise is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch

from .state import LatentState
from .steps import blend_denoised

Denoiser = Callable[[Sequence[LatentState], torch.Tensor, int], Sequence[torch.Tensor]]
"""``denoise(states, sigmas, step_index) -> x0 per state`` (the sigma used is ``sigmas[step_index]``)."""

FINAL_SIGMA = 0.0011
"""Sigma inserted before a final 0 so that every full step has a non-zero target."""

RES2S_ETA = 0.5
"""Step-level SDE strength (``sigma_up = eta * sigma_next``; 0 = deterministic); the substep always uses 0.5."""


def phi(j: int, neg_h: float) -> float:
    """``phi_j(z) = (e^z - sum_{k<j} z^k / k!) / z^j`` at ``z = neg_h`` (``1/j!`` for ``|z| < 1e-10``)."""
    if abs(neg_h) < 1e-10:
        return 1.0 / math.factorial(j)
    remainder = sum(neg_h**k / math.factorial(k) for k in range(j))
    return (math.exp(neg_h) - remainder) / (neg_h**j)


def res2s_coefficients(h: float, c2: float = 0.5) -> tuple[float, float, float]:
    """RK coefficients ``(a21, b1, b2)`` for log-step ``h = ln(sigma / sigma_next)``."""
    a21 = c2 * phi(1, -h * c2)
    b2 = phi(2, -h) / c2
    b1 = phi(1, -h) - b2
    return a21, b1, b2


def res2s_schedule(sigmas: torch.Tensor) -> torch.Tensor:
    """Replace a final 0 by ``[0.0011, 0]`` (one extra plain denoise at the end); otherwise unchanged."""
    if sigmas[-1] == 0:
        tail = torch.tensor([FINAL_SIGMA, 0.0], device=sigmas.device)
        return torch.cat([sigmas[:-1], tail], dim=0)
    return sigmas


def sde_coefficients(sigma_next: torch.Tensor, sigma_up: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``(alpha_ratio, sigma_down, sigma_up)`` of ``Res2sDiffusionStep.get_sde_coeff`` given ``sigma_up``."""
    sigma_up = torch.minimum(sigma_up, sigma_next * 0.9999)
    residual = (sigma_next**2 - sigma_up**2).clamp(min=0) ** 0.5
    alpha_ratio = (torch.ones_like(sigma_next) - sigma_next) + residual
    sigma_down = residual / alpha_ratio
    sigma_up = torch.nan_to_num(sigma_up, 0.0)
    sigma_down = torch.where(torch.isnan(sigma_down), sigma_next.to(sigma_down.dtype), sigma_down)
    return torch.nan_to_num(alpha_ratio, 1.0), sigma_down, sigma_up


def sde_step(
    sample: torch.Tensor, denoised: torch.Tensor, sigma: torch.Tensor, sigma_next: torch.Tensor, noise: torch.Tensor,
    eta: float = RES2S_ETA,
) -> torch.Tensor:
    """``Res2sDiffusionStep.step``: move from ``sample`` at ``sigma`` towards ``denoised`` at ``sigma_next``.

    ``sigma_up = eta * sigma_next``; returns ``denoised`` unchanged when ``sigma_next`` (or ``sigma_up``) is 0,
    otherwise ``alpha * (x0 + sigma_down * eps) + sigma_up * noise`` in ``denoised.dtype``.
    """
    alpha_ratio, sigma_down, sigma_up = sde_coefficients(sigma_next, sigma_next * eta)
    if torch.any(sigma_up == 0) or torch.any(sigma_next == 0):
        return denoised
    eps = (sample - denoised) / (sigma - sigma_next)
    x0 = sample - sigma * eps
    return (alpha_ratio * (x0 + sigma_down * eps) + sigma_up * noise).to(denoised.dtype)


def res2s_noise(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """float64 Gaussian noise shaped like ``like``, normalised globally, then per leading index over the last 2 dims."""
    noise = torch.randn(like.shape, generator=generator, dtype=torch.float64, device=generator.device)
    noise = (noise - noise.mean()) / noise.std()
    noise = noise - noise.mean(dim=(-2, -1), keepdim=True)
    return noise / noise.std(dim=(-2, -1), keepdim=True)


@dataclass(frozen=True)
class Res2sNoise:
    """The two SDE noise generators; seed -1 in the pipeline means ``2**64 - 1`` (and substep 9999)."""

    step: torch.Generator
    substep: torch.Generator

    @classmethod
    def from_seed(cls, seed: int = -1, substep_seed: int | None = None, device: str = "cpu") -> Res2sNoise:
        """Generators seeded like ``res2s_audio_video_denoising_loop`` (substep seed defaults to ``seed + 10000``)."""
        sub = seed + 10000 if substep_seed is None else substep_seed
        return cls(
            step=torch.Generator(device=device).manual_seed(seed),
            substep=torch.Generator(device=device).manual_seed(sub),
        )


def _inject(state: LatentState, anchor: torch.Tensor, target: torch.Tensor, sigma: torch.Tensor,
            sigma_next: torch.Tensor, generator: torch.Generator, eta: float = RES2S_ETA) -> torch.Tensor:
    """Legacy-mode SDE injection followed by the masked blend with the clean latent (float64 in, float64 out)."""
    noise = res2s_noise(state.latent, generator)
    x = sde_step(anchor, target, sigma, sigma_next, noise.to(anchor.device), eta)
    return blend_denoised(x, state.denoise_mask, state.clean_latent)


def _blended_x0(states: Sequence[LatentState], x0s: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    return [blend_denoised(x0, s.denoise_mask, s.clean_latent) for s, x0 in zip(states, x0s, strict=True)]


def _first_stage(
    states: Sequence[LatentState], x0s: list[torch.Tensor], sigmas: torch.Tensor, step_index: int, noise: Res2sNoise
) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor], float, float, torch.Tensor]:
    """Stage 1: anchors, ``e1``, noisy midpoints; returns ``(anchors, eps1, mids, h, a21, sub_sigma)``."""
    sigma, sigma_next = sigmas[step_index].double(), sigmas[step_index + 1].double()
    h = (-torch.log(sigmas[step_index + 1].double().cpu() / sigmas[step_index].double().cpu())).item()
    a21 = res2s_coefficients(h)[0]
    sub_sigma = torch.sqrt(sigma * sigma_next)
    anchors = [s.latent.clone().double() for s in states]
    eps1 = [x0.double() - a for x0, a in zip(x0s, anchors, strict=True)]
    mids = [
        _inject(s, a, a + h * a21 * e, sigma, sub_sigma, noise.substep)
        for s, a, e in zip(states, anchors, eps1, strict=True)
    ]
    return anchors, eps1, mids, h, a21, sub_sigma


def res2s_step(
    states: Sequence[LatentState],
    denoise: Denoiser,
    sigmas: torch.Tensor,
    step_index: int,
    *,
    noise: Res2sNoise,
    bongmath: bool = True,
    bongmath_max_iter: int = 100,
    model_dtype: torch.dtype = torch.bfloat16,
    eta: float = RES2S_ETA,
) -> list[LatentState]:
    """One full res_2s step ``sigmas[i] -> sigmas[i+1]`` for all ``states`` (``sigmas`` from :func:`res2s_schedule`).

    Calls ``denoise`` twice: at ``(states, sigmas, i)`` and at the noisy midpoint with ``([sqrt(s s')], 0)``.
    Returns the new states (latents in ``model_dtype``).
    """
    x0s = _blended_x0(states, denoise(states, sigmas, step_index))
    anchors, eps1, mids, h, a21, sub_sigma = _first_stage(states, x0s, sigmas, step_index, noise)
    _, b1, b2 = res2s_coefficients(h)
    if bongmath and h < 0.5 and sigmas[step_index].double() > 0.03:
        for _ in range(bongmath_max_iter):
            anchors = [m - h * a21 * e for m, e in zip(mids, eps1, strict=True)]
            eps1 = [x0.double() - a for x0, a in zip(x0s, anchors, strict=True)]
    mid_states = [replace(s, latent=m.to(model_dtype)) for s, m in zip(states, mids, strict=True)]
    sub_sigmas = torch.stack([sub_sigma]).to(sigmas.device)
    x0s_2 = _blended_x0(states, denoise(mid_states, sub_sigmas, 0))
    out = []
    for s, a, e1, x0_2 in zip(states, anchors, eps1, x0s_2, strict=True):
        x_next = a + h * (b1 * e1 + b2 * (x0_2.double() - a))
        x_next = _inject(s, a, x_next, sigmas[step_index], sigmas[step_index + 1], noise.step, eta)
        out.append(replace(s, latent=x_next.to(model_dtype)))
    return out


def res2s_finish(
    states: Sequence[LatentState], denoise: Denoiser, sigmas: torch.Tensor, *, model_dtype: torch.dtype = torch.bfloat16
) -> list[LatentState]:
    """The final plain denoise at ``sigmas[-2]`` (= 0.0011) when the schedule ends in 0: latent <- blended x0."""
    x0s = _blended_x0(states, denoise(states, sigmas, len(sigmas) - 2))
    return [replace(s, latent=x0.to(model_dtype)) for s, x0 in zip(states, x0s, strict=True)]


def res2s_loop(
    states: Sequence[LatentState],
    denoise: Denoiser,
    sigmas: torch.Tensor,
    *,
    noise: Res2sNoise,
    bongmath: bool = True,
    model_dtype: torch.dtype = torch.bfloat16,
    eta: float = RES2S_ETA,
) -> list[LatentState]:
    """The whole res_2s loop over a schedule (e.g. :func:`~ltx_model.sampling.schedules.ltx2_sigmas`)."""
    n_full_steps = len(sigmas) - 1
    sigmas = res2s_schedule(sigmas)
    out = list(states)
    for i in range(n_full_steps):
        out = res2s_step(out, denoise, sigmas, i, noise=noise, bongmath=bongmath, model_dtype=model_dtype, eta=eta)
    if sigmas[-1] == 0:
        out = res2s_finish(out, denoise, sigmas, model_dtype=model_dtype)
    return out
