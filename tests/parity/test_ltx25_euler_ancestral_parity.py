"""Euler-ancestral step (LTX-2.5 pipelines) parity.

* diffusers 0.42.1 (test-only) ``LTXEulerAncestralRFScheduler``: a multi-step trajectory with the same x0 stand-in
  and the same seeded generator (diffusers draws float32 noise inside ``step``; ours draws it with
  :func:`ancestral_noise` in the latent dtype, float32 here). fp32, rel L2 <= 1e-5. diffusers skips the
  ``alpha_next / alpha_down`` rescale when ``s_noise == 0`` and adds 1e-12 to its denominators; Lightricks does not,
  and we follow Lightricks, so ``s_noise`` is non-zero in the diffusers cases and the ``s_noise == 0`` case is
  covered by the golden values.
* golden values from Lightricks' latest ltx-core / ltx-pipelines (``tests/data/ltx25_text_golden.json``, github
  Lightricks/LTX-2 main @400fd31, ``tests/data/golden/ltx25_text_golden.py``): ``EulerAncestralDiffusionStep.step``
  on fixed tensors for several (eta, s_noise), and ``euler_ancestral_denoising_loop`` (noise seed 1234) over a video
  state with a conditioned first frame and an audio state, in fp32 and bf16.
"""

from __future__ import annotations

import pytest
import torch
from ltx25_text_cases import ancestral_step_inputs, golden, loop_sigmas, loop_states, rel_l2, stand_in_x0

from ltx_model.sampling.steps import ancestral_to_next, euler_ancestral_step

pytestmark = pytest.mark.parity

TOL = 1e-5


@pytest.mark.parametrize(("eta", "s_noise"), [(1.0, 1.0), (0.5, 0.7), (0.0, 1.0)])
def test_ltx25_euler_ancestral_parity(eta: float, s_noise: float) -> None:
    from diffusers import LTXEulerAncestralRFScheduler

    sigmas = loop_sigmas()
    scheduler = LTXEulerAncestralRFScheduler(eta=eta, s_noise=s_noise)
    scheduler.set_timesteps(sigmas=sigmas.tolist())
    x_ours = x_ref = torch.randn(1, 24, 6, generator=torch.Generator().manual_seed(2))
    gen_ours, gen_ref = torch.Generator().manual_seed(77), torch.Generator().manual_seed(77)
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        noise = torch.randn(x_ours.shape, generator=gen_ours) if eta > 0 and sigma_next > 0 else None
        x_ours = euler_ancestral_step(x_ours, stand_in_x0(x_ours, sigma), sigma, sigma_next, noise, eta=eta,
                                      s_noise=s_noise)
        velocity = (x_ref - stand_in_x0(x_ref, sigma)) / sigma
        x_ref = scheduler.step(velocity, scheduler.timesteps[i], x_ref, generator=gen_ref).prev_sample
    assert rel_l2(x_ours, x_ref) <= TOL


def test_ltx25_euler_ancestral_golden_step_parity() -> None:
    ref = golden()["ancestral"]["steps"]
    sample, denoised, noise, sigmas = ancestral_step_inputs()
    for key, outputs in ref.items():
        eta, s_noise = (float(v) for v in key.split("_"))
        for i, expected in enumerate(outputs):
            ours = euler_ancestral_step(sample, denoised, sigmas[i], sigmas[i + 1], noise, eta=eta, s_noise=s_noise)
            assert rel_l2(ours, torch.tensor(expected).view_as(ours)) <= TOL, (key, i)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("eta", [1.0, 0.5])
def test_ltx25_euler_ancestral_golden_loop_parity(dtype: torch.dtype, eta: float) -> None:
    ref = golden()["ancestral"]["loops"][f"{str(dtype).removeprefix('torch.')}_{eta}"]
    states, sigmas = loop_states(dtype), loop_sigmas()
    generator = torch.Generator().manual_seed(1234)
    for i in range(len(sigmas) - 1):
        x0s = [stand_in_x0(s.latent, sigmas[i]) for s in states]
        states = [ancestral_to_next(s, x0, sigmas[i], sigmas[i + 1], generator, eta=eta)
                  for s, x0 in zip(states, x0s, strict=True)]  # video draws its noise before audio
    for state, name in zip(states, ("video", "audio"), strict=True):
        assert state.latent.dtype == dtype
        assert rel_l2(state.latent, torch.tensor(ref[name]).view(state.latent.shape)) <= TOL, name
