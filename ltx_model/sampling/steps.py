"""Rectified-flow conversions, noising and the Euler step, with the reference's dtype behaviour.

Formulation: ``x_sigma = (1 - sigma) * x0 + sigma * eps``; the network's velocity is ``v = eps - x0`` and
``x0 = x - sigma_tok * v`` with the per-token timestep ``sigma_tok = denoise_mask * sigma``.
Real runs keep latents in bf16 between steps: the velocity is computed in float32 and **cast to the sample
dtype**, the update is computed in float32 and cast back (ltx-core ``EulerDiffusionStep`` / ``to_velocity``).
"""

from __future__ import annotations

from dataclasses import replace

import torch

from .state import LatentState

Sigma = float | torch.Tensor


def _as_f32(sigma: Sigma) -> torch.Tensor:
    return torch.as_tensor(sigma).to(torch.float32).detach().cpu()


def to_velocity(
    sample: torch.Tensor, sigma: Sigma, denoised: torch.Tensor, *, calc_dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """``v = (x - x0) / sigma`` computed in ``calc_dtype`` and returned in ``sample.dtype``.

    Args:
        sample: noisy tokens ``x`` ``(B, T, D)``.
        sigma: scalar noise level (must be non-zero).
        denoised: ``x0`` prediction, same shape.
    """
    sigma_value = sigma.to(calc_dtype).item() if isinstance(sigma, torch.Tensor) else float(sigma)
    if sigma_value == 0:
        raise ValueError("sigma must be non-zero to compute a velocity")
    return ((sample.to(calc_dtype) - denoised.to(calc_dtype)) / sigma_value).to(sample.dtype)


def to_denoised(
    sample: torch.Tensor, velocity: torch.Tensor, sigma: Sigma, *, calc_dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """``x0 = x - sigma * v`` computed in ``calc_dtype``, returned in ``sample.dtype``.

    ``sigma`` may be a scalar or a per-token tensor broadcastable to ``sample`` (e.g. ``(B, T, 1)`` timesteps).
    """
    sigma_t = torch.as_tensor(sigma, device=sample.device).to(calc_dtype)
    return (sample.to(calc_dtype) - velocity.to(calc_dtype) * sigma_t).to(sample.dtype)


def euler_step(sample: torch.Tensor, denoised: torch.Tensor, sigma: Sigma, sigma_next: Sigma) -> torch.Tensor:
    """One Euler step ``x + v * (sigma_next - sigma)`` (ltx-core ``EulerDiffusionStep``).

    The velocity is rounded to ``sample.dtype`` first (bf16 in real runs); the update is float32 and the result
    is cast to ``sample.dtype``. ``sigma`` must be non-zero.
    """
    dt = _as_f32(sigma_next) - _as_f32(sigma)
    velocity = to_velocity(sample, sigma, denoised)
    return (sample.to(torch.float32) + velocity.to(torch.float32) * dt.to(sample.device)).to(sample.dtype)


def blend_denoised(denoised: torch.Tensor, denoise_mask: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Keep clean tokens where the mask is 0: ``x0 * m + clean * (1 - m)`` in float32, cast to ``denoised.dtype``.

    Args:
        denoised: ``(B, T, D)`` x0 prediction.
        denoise_mask: float32 ``(B, T, 1)``.
        clean: ``(B, T, D)`` clean latent of the state.
    """
    return (denoised * denoise_mask + clean.float() * (1 - denoise_mask)).to(denoised.dtype)


def gradient_estimation(
    sample: torch.Tensor,
    denoised: torch.Tensor,
    sigma: Sigma,
    previous_velocity: torch.Tensor | None,
    *,
    gamma: float = 2.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient-estimation correction (``gradient_estimating_euler_denoising_loop``).

    Returns ``(velocity, corrected_denoised)``: ``v = to_velocity(x, sigma, x0)``; with a previous velocity the
    effective velocity ``gamma * (v - v_prev) + v_prev`` is turned back into an x0 prediction.
    """
    velocity = to_velocity(sample, sigma, denoised)
    if previous_velocity is None:
        return velocity, denoised
    total = gamma * (velocity - previous_velocity) + previous_velocity
    return velocity, to_denoised(sample, total, _as_f32(sigma))


def timesteps_from_mask(denoise_mask: torch.Tensor, sigma: Sigma) -> torch.Tensor:
    """Per-token timesteps ``denoise_mask * sigma`` ``(B, T, 1)``; clean tokens get 0."""
    return denoise_mask * sigma


def modality_sigma(state: LatentState, sigma: torch.Tensor) -> torch.Tensor:
    """Scalar sigma handed to the transformer for this modality.

    HEAD ltx-core behaviour (``modality_from_latent_state``): a frozen stream (A2V audio) gets sigma 0, so prompt
    AdaLN and cross-modal gates see a clean stream. ltx-core 1.0.0 passed the global sigma; we follow HEAD.
    """
    return torch.zeros_like(sigma) if state.frozen else sigma


def draw_noise(state: LatentState, generator: torch.Generator | None) -> torch.Tensor:
    """Gaussian noise shaped like ``state.latent`` (incl. appended tokens) in the latent's dtype and device.

    The draw always happens, even for a zero noise scale, so a shared generator advances as in the reference.
    """
    latent = state.latent
    return torch.randn(*latent.shape, device=latent.device, dtype=latent.dtype, generator=generator)


def apply_noise(state: LatentState, noise: torch.Tensor, noise_scale: Sigma = 1.0) -> LatentState:
    """ltx-core 1.0.0 ``GaussianNoiser``: ``x <- noise * (m * s) + x * (1 - m * s)`` with ``m`` the denoise mask.

    Args:
        state: patchified state; its ``latent`` is replaced.
        noise: ``(B, T, D)`` noise (see :func:`draw_noise`).
        noise_scale: ``s`` (1 for text-to-video, 0.909375 for stage 2, 0 for frozen streams).
    Returns:
        A new state; the latent keeps its dtype.
    """
    scaled_mask = state.denoise_mask * noise_scale
    latent = noise * scaled_mask + state.latent * (1 - scaled_mask)
    return replace(state, latent=latent.to(state.latent.dtype))


def noise_state(state: LatentState, generator: torch.Generator | None, noise_scale: Sigma = 1.0) -> LatentState:
    """Draw noise from ``generator`` and apply it (:func:`draw_noise` + :func:`apply_noise`)."""
    return apply_noise(state, draw_noise(state, generator), noise_scale)


def denoise_to_next(state: LatentState, denoised: torch.Tensor, sigma: Sigma, sigma_next: Sigma) -> LatentState:
    """One Euler iteration of ``euler_denoising_loop`` for a modality: blend x0 with the clean latent, then step."""
    blended = blend_denoised(denoised, state.denoise_mask, state.clean_latent)
    return replace(state, latent=euler_step(state.latent, blended, sigma, sigma_next))
