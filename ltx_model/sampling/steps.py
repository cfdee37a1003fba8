"""Rectified-flow conversions, noising, the Euler and Euler-ancestral steps, with the reference's dtype behaviour.

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
    # A sigma tensor on an accelerator stays there (no host sync per step; a zero gives inf instead of the error);
    # dividing by the float32 0-d tensor rounds exactly as dividing by its value.
    on_host = not isinstance(sigma, torch.Tensor) or sigma.device.type == "cpu"
    if on_host and float(sigma) == 0:
        raise ValueError("sigma must be non-zero to compute a velocity")
    divisor = sigma.to(device=sample.device, dtype=calc_dtype) if isinstance(sigma, torch.Tensor) else float(sigma)
    return ((sample.to(calc_dtype) - denoised.to(calc_dtype)) / divisor).to(sample.dtype)


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
    device = sample.device  # dt in float32 on the sample's device (no host round trip per step)
    dt = torch.as_tensor(sigma_next, device=device).to(torch.float32) - torch.as_tensor(sigma, device=device).to(
        torch.float32)
    velocity = to_velocity(sample, sigma, denoised)
    return (sample.to(torch.float32) + velocity.to(torch.float32) * dt).to(sample.dtype)


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


def euler_ancestral_step(
    sample: torch.Tensor,
    denoised: torch.Tensor,
    sigma: Sigma,
    sigma_next: Sigma,
    noise: torch.Tensor | None,
    *,
    eta: float = 1.0,
    s_noise: float = 1.0,
) -> torch.Tensor:
    """One ancestral (SDE) Euler step for rectified flow (Lightricks HEAD ``EulerAncestralDiffusionStep``).

    Deterministic part: step to ``sigma_down = sigma_next * (1 + (sigma_next / sigma - 1) * eta)`` as the
    interpolation ``r * x + (1 - r) * x0`` with ``r = sigma_down / sigma``. Stochastic part (``eta > 0``): rescale
    the signal by ``alpha_next / alpha_down`` (``alpha = 1 - sigma``) and add
    ``noise * s_noise * sqrt(max(0, sigma_next^2 - sigma_down^2 * alpha_next^2 / alpha_down^2))``. At
    ``sigma_next == 0`` the result is ``x0``. All math is float32; the result has ``sample.dtype``.

    Differences from diffusers 0.42.1 ``LTXEulerAncestralRFScheduler`` (we follow Lightricks): diffusers adds 1e-12
    to the ``alpha_down`` denominators, draws the noise itself (float32, inside the step) and skips the rescale
    when ``s_noise == 0``; Lightricks applies the rescale whenever ``eta > 0`` and takes the noise from the loop.

    Args:
        sample: noisy tokens ``x`` ``(B, T, D)``.
        denoised: ``x0`` prediction, same shape.
        sigma / sigma_next: current and next noise level (``sigma`` non-zero).
        noise: standard Gaussian noise shaped like ``sample``; required when ``eta > 0`` (see
            :func:`ancestral_noise`), unused otherwise.
        eta: 0 = plain Euler (no noise), 1 = fully ancestral.
        s_noise: scale of the injected noise.
    """
    sigma_t, next_t = _as_f32(sigma).to(sample.device), _as_f32(sigma_next).to(sample.device)
    if next_t.item() == 0:
        return denoised.to(sample.dtype)
    if eta > 0 and noise is None:
        raise ValueError("the Euler-ancestral step needs a noise tensor when eta > 0")
    x, x0 = sample.to(torch.float32), denoised.to(torch.float32)
    sigma_down = next_t * (1.0 + (next_t / sigma_t - 1.0) * eta)
    ratio = sigma_down / sigma_t
    out = ratio * x + (1.0 - ratio) * x0
    if eta > 0:
        alpha_next, alpha_down = 1.0 - next_t, 1.0 - sigma_down
        renoise = (next_t**2 - sigma_down**2 * alpha_next**2 / alpha_down**2).clamp(min=0) ** 0.5
        out = (alpha_next / alpha_down) * out + noise.to(torch.float32) * s_noise * renoise
    return out.to(sample.dtype)


def ancestral_noise(state: LatentState, generator: torch.Generator | None) -> torch.Tensor:
    """Noise for one ancestral step: ``randn`` shaped like ``state.latent`` in its dtype and device (Lightricks'
    ``_get_plain_noise``; one shared generator per run, video drawn before audio, no draw on the terminal step)."""
    return draw_noise(state, generator)


def ancestral_to_next(
    state: LatentState,
    denoised: torch.Tensor,
    sigma: Sigma,
    sigma_next: Sigma,
    generator: torch.Generator | None,
    *,
    eta: float = 1.0,
    s_noise: float = 1.0,
) -> LatentState:
    """One iteration of Lightricks' ``euler_ancestral_denoising_loop`` for one modality.

    ``x0`` is blended with the clean latent in float32; on the terminal step (``sigma_next == 0``) the blended ``x0``
    becomes the latent and no noise is drawn. Otherwise noise is drawn from ``generator`` (when ``eta > 0``), the
    step runs on the float32 latent, the result is blended with the clean latent again (conditioned tokens stay
    clean after the noise injection) and cast to the latent dtype.
    """
    blended = blend_denoised(denoised.float(), state.denoise_mask, state.clean_latent)
    dtype = state.latent.dtype
    if _as_f32(sigma_next).item() == 0:
        return replace(state, latent=blended.to(dtype))
    noise = ancestral_noise(state, generator) if eta > 0 else None
    out = euler_ancestral_step(state.latent.float(), blended, sigma, sigma_next, noise, eta=eta, s_noise=s_noise)
    if noise is not None:
        out = blend_denoised(out, state.denoise_mask, state.clean_latent)
    return replace(state, latent=out.to(dtype))
