"""Unit tests for conversions, noising, the Euler step and res_2s helpers."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from ltx_model.sampling.positions import AudioGrid, VideoGrid
from ltx_model.sampling.res2s import Res2sNoise, phi, res2s_coefficients, res2s_loop, res2s_noise, res2s_schedule
from ltx_model.sampling.state import initial_state
from ltx_model.sampling.steps import (
    apply_noise,
    blend_denoised,
    denoise_to_next,
    euler_step,
    modality_sigma,
    noise_state,
    to_denoised,
    to_velocity,
)


def test_steps_velocity_denoised_round_trip() -> None:
    x, x0 = torch.randn(1, 6, 4), torch.randn(1, 6, 4)
    v = to_velocity(x, 0.4, x0)
    torch.testing.assert_close(to_denoised(x, v, 0.4), x0, atol=1e-6, rtol=0)
    with pytest.raises(ValueError):
        to_velocity(x, torch.tensor(0.0), x0)


def test_steps_euler_exact_on_linear_path() -> None:
    x0, eps = torch.randn(1, 5, 3), torch.randn(1, 5, 3)
    x = 0.2 * x0 + 0.8 * eps  # sigma 0.8
    out = euler_step(x, x0, torch.tensor(0.8), torch.tensor(0.3))
    torch.testing.assert_close(out, 0.7 * x0 + 0.3 * eps, atol=1e-5, rtol=0)


def test_steps_euler_keeps_bf16_and_rounds_velocity() -> None:
    x, x0 = torch.randn(1, 8, 4).bfloat16(), torch.randn(1, 8, 4).bfloat16()
    out = euler_step(x, x0, 0.9, 0.7)
    assert out.dtype == torch.bfloat16
    v = ((x.float() - x0.float()) / 0.9).bfloat16().float()
    assert torch.equal(out, (x.float() + v * (torch.tensor(0.7) - torch.tensor(0.9))).bfloat16())


def test_steps_noising_respects_mask_and_scale() -> None:
    grid = VideoGrid(frames=1, height=2, width=2, fps=24.0, channels=3)
    state = initial_state(grid, latent=torch.ones(1, 3, 1, 2, 2))
    mask = state.denoise_mask.clone()
    mask[:, :2] = 0.0
    state = replace(state, denoise_mask=mask)
    noise = torch.full_like(state.latent, 5.0)
    out = apply_noise(state, noise, 0.5)
    assert out is not state and torch.equal(state.latent, torch.ones_like(state.latent))
    assert torch.equal(out.latent[:, :2], torch.ones(1, 2, 3))
    assert torch.equal(out.latent[:, 2:], torch.full((1, 2, 3), 3.0))
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    n = noise_state(state, g1, 1.0)
    assert torch.equal(n.latent[:, 2:], torch.randn(1, 4, 3, generator=g2)[:, 2:])


def test_steps_blend_and_denoise_to_next() -> None:
    state = initial_state(AudioGrid(frames=3, channels=1, mel_bins=2), latent=torch.randn(1, 1, 3, 2))
    mask = torch.tensor([[[1.0], [0.0], [1.0]]])
    state = replace(state, denoise_mask=mask)
    x0 = torch.randn(1, 3, 2)
    blended = blend_denoised(x0, mask, state.clean_latent)
    assert torch.equal(blended[:, 1], state.clean_latent[:, 1]) and torch.equal(blended[:, 0], x0[:, 0])
    nxt = denoise_to_next(state, x0, 1.0, 0.5)
    assert torch.allclose(nxt.latent[:, 1], state.latent[:, 1])


def test_steps_frozen_modality_sigma_is_zero() -> None:
    state = initial_state(AudioGrid(frames=2))
    sigma = torch.tensor(0.7)
    assert modality_sigma(state, sigma) is sigma
    assert modality_sigma(replace(state, frozen=True), sigma).item() == 0.0


def test_steps_res2s_coefficients_and_schedule() -> None:
    assert phi(1, 0.0) == 1.0 and phi(2, 0.0) == 0.5
    assert phi(1, -1.0) == pytest.approx(1 - math.exp(-1))
    a21, b1, b2 = res2s_coefficients(0.3)
    assert b1 + b2 == pytest.approx(phi(1, -0.3)) and a21 == pytest.approx(0.5 * phi(1, -0.15))
    s = res2s_schedule(torch.tensor([1.0, 0.5, 0.0]))
    torch.testing.assert_close(s, torch.tensor([1.0, 0.5, 0.0011, 0.0]))
    n = res2s_noise(torch.zeros(2, 5, 7), torch.Generator().manual_seed(0))
    assert n.dtype == torch.float64
    torch.testing.assert_close(n.mean(dim=(-2, -1)), torch.zeros(2, dtype=torch.float64), atol=1e-12, rtol=0)


def test_steps_res2s_loop_converges_to_oracle_x0() -> None:
    target = torch.randn(1, 4, 3)
    state = initial_state(AudioGrid(frames=4, channels=1, mel_bins=3), latent=torch.randn(1, 1, 4, 3))
    calls = []

    def denoise(states, sigmas, i):  # noqa: ANN001, ANN202
        calls.append(float(sigmas[i]))
        return [target.clone() for _ in states]

    (out,) = res2s_loop([state], denoise, torch.tensor([1.0, 0.6, 0.0]), noise=Res2sNoise.from_seed(5),
                        model_dtype=torch.float32)
    assert len(calls) == 5 and calls[-1] == pytest.approx(0.0011)
    torch.testing.assert_close(out.latent, target)
