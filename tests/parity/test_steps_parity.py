"""Parity: Euler / gradient-estimation / res_2s loops and noising vs ltx-core + ltx-pipelines 1.0.0.

The transformer is replaced by a fixed nonlinear x0 function of (latent, sigma) shared by both sides; the loops,
steps, masking and noise draws are the reference code. Video and audio states carry partial denoise masks.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from ltx_core.components.diffusion_steps import EulerDiffusionStep, Res2sDiffusionStep
from ltx_core.components.noisers import GaussianNoiser
from ltx_core.types import LatentState as RefState
from ltx_pipelines.utils.samplers import (
    euler_denoising_loop,
    gradient_estimating_euler_denoising_loop,
    res2s_audio_video_denoising_loop,
)

from ltx_model.sampling.positions import AudioGrid, VideoGrid
from ltx_model.sampling.res2s import Res2sNoise, res2s_loop
from ltx_model.sampling.schedules import distilled_sigmas, ltx2_sigmas
from ltx_model.sampling.state import LatentState, initial_state
from ltx_model.sampling.steps import blend_denoised, denoise_to_next, euler_step, gradient_estimation, noise_state

pytestmark = pytest.mark.parity


def _x0(latent: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Stand-in for the transformer: a smooth nonlinear map evaluated in the latent's dtype."""
    w = torch.linspace(-1.0, 1.0, latent.shape[-1] ** 2, dtype=torch.float32).view(latent.shape[-1], -1)
    s = float(sigma)
    return (torch.tanh(latent.float() @ w) * (1.2 - s) + 0.1 * s).to(latent.dtype)


def _states(dtype: torch.dtype) -> list[LatentState]:
    g = torch.Generator().manual_seed(11)
    video = initial_state(VideoGrid(frames=2, height=2, width=3, fps=24.0, channels=4), dtype=dtype,
                          latent=torch.randn(1, 4, 2, 2, 3, generator=g).to(dtype))
    audio = initial_state(AudioGrid(frames=5, channels=2, mel_bins=3), dtype=dtype,
                          latent=torch.randn(1, 2, 5, 3, generator=g).to(dtype))
    video_mask = video.denoise_mask.clone()
    video_mask[:, :6] = 0.3  # e.g. an image at latent frame 0 with strength 0.7
    out = []
    for st, mask in ((video, video_mask), (audio, audio.denoise_mask)):
        noisy = torch.randn(st.latent.shape, generator=g).to(dtype)
        out.append(replace(st, latent=noisy, denoise_mask=mask))
    return out


def _ref(state: LatentState) -> RefState:
    return RefState(latent=state.latent.clone(), denoise_mask=state.denoise_mask.clone(),
                    positions=state.positions.clone(), clean_latent=state.clean_latent.clone())


def _ref_denoise(video_state: RefState, audio_state: RefState, sigmas: torch.Tensor,
                 step_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    sigma = sigmas[step_index]
    return _x0(video_state.latent, sigma), _x0(audio_state.latent, sigma)


def _our_denoise(states: list[LatentState], sigmas: torch.Tensor, step_index: int) -> list[torch.Tensor]:
    return [_x0(s.latent, sigmas[step_index]) for s in states]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_steps_euler_loop_parity(dtype: torch.dtype) -> None:
    states, sigmas = _states(dtype), distilled_sigmas()
    ref_v, ref_a = euler_denoising_loop(sigmas, _ref(states[0]), _ref(states[1]), EulerDiffusionStep(), _ref_denoise)
    for i in range(len(sigmas) - 1):
        states = [denoise_to_next(s, x0, sigmas[i], sigmas[i + 1]) for s, x0 in
                  zip(states, _our_denoise(states, sigmas, i), strict=True)]
    assert states[0].latent.dtype == dtype
    assert torch.equal(states[0].latent, ref_v.latent) and torch.equal(states[1].latent, ref_a.latent)


def test_steps_gradient_estimation_loop_parity() -> None:
    states, sigmas = _states(torch.bfloat16), ltx2_sigmas(6)
    ref_v, ref_a = gradient_estimating_euler_denoising_loop(
        sigmas, _ref(states[0]), _ref(states[1]), EulerDiffusionStep(), _ref_denoise
    )
    prev: list[torch.Tensor | None] = [None, None]
    for i in range(len(sigmas) - 1):
        x0s = [blend_denoised(x0, s.denoise_mask, s.clean_latent)
               for s, x0 in zip(states, _our_denoise(states, sigmas, i), strict=True)]
        if sigmas[i + 1] == 0:
            states = [replace(s, latent=x0) for s, x0 in zip(states, x0s, strict=True)]
            break
        new_states = []
        for k, (s, x0) in enumerate(zip(states, x0s, strict=True)):
            prev[k], x0 = gradient_estimation(s.latent, x0, sigmas[i], prev[k])
            new_states.append(replace(s, latent=euler_step(s.latent, x0, sigmas[i], sigmas[i + 1])))
        states = new_states
    assert torch.equal(states[0].latent, ref_v.latent) and torch.equal(states[1].latent, ref_a.latent)


@pytest.mark.parametrize("noise_scale", [1.0, 0.909375, 0.0])
def test_steps_noiser_parity(noise_scale: float) -> None:
    state = _states(torch.bfloat16)[0]
    ref = GaussianNoiser(torch.Generator().manual_seed(42))(_ref(state), noise_scale)
    ours = noise_state(state, torch.Generator().manual_seed(42), noise_scale)
    assert ours.latent.dtype == torch.bfloat16 and torch.equal(ours.latent, ref.latent)


@pytest.mark.parametrize(("dtype", "seed", "steps"), [(torch.float32, 7, 4), (torch.bfloat16, -1, 3)])
def test_steps_res2s_loop_parity(dtype: torch.dtype, seed: int, steps: int) -> None:
    states = _states(dtype)
    sigmas = ltx2_sigmas(steps, tokens=12)
    ref_v, ref_a = res2s_audio_video_denoising_loop(
        sigmas, _ref(states[0]), _ref(states[1]), Res2sDiffusionStep(), _ref_denoise, noise_seed=seed,
        model_dtype=dtype,
    )
    out = res2s_loop(states, _our_denoise, sigmas, noise=Res2sNoise.from_seed(seed), model_dtype=dtype)
    assert out[0].latent.dtype == dtype
    torch.testing.assert_close(out[0].latent, ref_v.latent, atol=0, rtol=0)
    torch.testing.assert_close(out[1].latent, ref_a.latent, atol=0, rtol=0)
