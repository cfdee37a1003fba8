"""Unit tests of the Euler-ancestral step (LTX-2.5 pipelines) and its per-modality loop iteration."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from ltx25_text_cases import loop_states

from ltx_model.sampling import ancestral_to_next, euler_ancestral_step, euler_step


def test_ltx25_ancestral_eta0_is_euler() -> None:
    x, x0 = torch.randn(1, 6, 4), torch.randn(1, 6, 4)
    out = euler_ancestral_step(x, x0, 0.8, 0.5, None, eta=0.0)
    torch.testing.assert_close(out, euler_step(x, x0, 0.8, 0.5), atol=1e-6, rtol=0)


def test_ltx25_ancestral_terminal_and_noise_rules() -> None:
    x, x0 = torch.randn(1, 6, 4).bfloat16(), torch.randn(1, 6, 4)
    assert torch.equal(euler_ancestral_step(x, x0, 0.3, 0.0, None), x0.bfloat16())
    with pytest.raises(ValueError, match="noise"):
        euler_ancestral_step(x, x0, 0.8, 0.5, None, eta=0.5)
    out = euler_ancestral_step(x, x0, 0.8, 0.5, torch.randn(1, 6, 4), eta=1.0)
    assert out.dtype == torch.bfloat16


def test_ltx25_ancestral_matches_the_marginal_on_the_linear_path() -> None:
    """With a perfect x0 and eta=1 the step lands on ``(1 - s') x0 + s' eps'`` for fresh noise: its mean over many
    draws is ``(1 - s') x0`` plus the kept share of the old noise, and the total noise variance is ``s'^2``."""
    torch.manual_seed(0)
    x0, eps = torch.randn(1, 20000, 1), torch.randn(1, 20000, 1)
    sigma, nxt = 0.8, 0.5
    x = (1 - sigma) * x0 + sigma * eps
    out = euler_ancestral_step(x, x0, sigma, nxt, torch.randn(1, 20000, 1), eta=1.0)
    residual = (out - (1 - nxt) * x0).std()
    assert abs(residual.item() - nxt) < 0.02


def test_ltx25_ancestral_to_next_keeps_conditioned_tokens_clean() -> None:
    video = loop_states(torch.float32)[0]
    mask = torch.ones_like(video.denoise_mask)
    mask[:, :6] = 0.0  # fully conditioned first latent frame
    clean = torch.randn(video.latent.shape)
    state = replace(video, denoise_mask=mask, clean_latent=clean)
    generator = torch.Generator().manual_seed(0)
    out = ancestral_to_next(state, torch.randn(video.latent.shape), 0.9, 0.6, generator, eta=1.0)
    assert torch.equal(out.latent[:, :6], clean[:, :6])
    assert not torch.equal(out.latent[:, 6:], state.latent[:, 6:])
    before = generator.get_state()
    last = ancestral_to_next(out, torch.randn(video.latent.shape), 0.6, 0.0, generator, eta=1.0)
    assert torch.equal(generator.get_state(), before)  # no draw on the terminal step
    assert torch.equal(last.latent[:, :6], clean[:, :6])
