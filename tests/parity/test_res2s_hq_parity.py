"""Parity: our res_2s loop (library and pipeline loop) vs Lightricks' latest (LTX-2 main @400fd31) golden values.

``tests/data/res2s_golden.json`` comes from ``tests/data/golden/res2s_golden.py`` (see its docstring): the reference
``res2s_audio_video_denoising_loop`` on tiny float32 video + audio token states with a partial denoise mask, the
transformer replaced by the same fixed function :func:`x0_of`; cases: an HQ stage-1 LTX2Scheduler schedule at step
eta 0.5 and 0.8, and the HQ stage-2 sigmas with noise seed -1 (the seed the HQ pipeline's stages use).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltx_model.pipelines import res2s_pipeline_loop
from ltx_model.sampling import AudioGrid, LatentState, Res2sNoise, VideoGrid, res2s_loop

pytestmark = pytest.mark.parity

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "data" / "res2s_golden.json").read_text())
CASES = {case["name"]: case for case in GOLDEN["cases"]}


def x0_of(latent: torch.Tensor, sigma: float) -> torch.Tensor:
    """The generator's stand-in transformer (same formula): a smooth nonlinear map of ``(B, T, D)`` tokens."""
    w = torch.linspace(-1.0, 1.0, latent.shape[-1] ** 2, dtype=torch.float32).view(latent.shape[-1], -1)
    return (torch.tanh(latent.float() @ w) * (1.2 - sigma) + 0.1 * sigma).to(latent.dtype)


def _tensor(name: str) -> torch.Tensor:
    entry = GOLDEN["inputs"][name]
    return torch.tensor(entry["values"], dtype=torch.float32).view(entry["shape"])


def _states() -> list[LatentState]:
    grids = (VideoGrid(frames=1, height=3, width=4, fps=24.0, channels=4), AudioGrid(frames=5, channels=2, mel_bins=3))
    return [
        LatentState(latent=_tensor(name), denoise_mask=_tensor(f"{name}_mask"),
                    positions=torch.zeros(1, 1, _tensor(name).shape[1], 2), clean_latent=_tensor(f"{name}_clean"),
                    grid=grid)
        for name, grid in zip(("video", "audio"), grids, strict=True)
    ]


def _expected(case: dict, states: list[LatentState]) -> list[torch.Tensor]:
    return [torch.tensor(case[name], dtype=torch.float32).view(s.latent.shape)
            for name, s in zip(("video", "audio"), states, strict=True)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_res2s_library_loop_matches_latest_reference(name: str) -> None:
    case, states = CASES[name], _states()
    sigmas = torch.tensor(case["sigmas"], dtype=torch.float32)
    out = res2s_loop(states, lambda st, sig, i: [x0_of(s.latent, float(sig[i])) for s in st], sigmas,
                     noise=Res2sNoise.from_seed(case["seed"]), model_dtype=torch.float32, eta=case["eta"])
    for got, want in zip(out, _expected(case, states), strict=True):
        torch.testing.assert_close(got.latent, want, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_res2s_pipeline_loop_matches_latest_reference(name: str) -> None:
    """The pipeline's loop (:class:`Sampler.RES_2S` in ``sampler_loop``) over (video, audio) with progress."""
    case, states = CASES[name], _states()
    sigmas = torch.tensor(case["sigmas"], dtype=torch.float32)
    calls: list[float] = []

    def denoise(video: LatentState, audio: LatentState, sig: torch.Tensor, i: int) -> tuple:
        calls.append(float(sig[i]))
        return x0_of(video.latent, float(sig[i])), x0_of(audio.latent, float(sig[i]))

    loop = res2s_pipeline_loop(Res2sNoise.from_seed(case["seed"]), eta=case["eta"])
    video, audio = loop(sigmas, states[0], states[1], denoise)
    want_video, want_audio = _expected(case, states)
    torch.testing.assert_close(video.latent, want_video, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(audio.latent, want_audio, atol=1e-6, rtol=1e-5)
    steps = len(sigmas) - 1
    assert len(calls) == 2 * steps + 1  # two evaluations per step, one final denoise at 0.0011
    assert calls[0] == pytest.approx(float(sigmas[0])) and calls[-1] == pytest.approx(0.0011)
