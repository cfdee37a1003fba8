"""Parity: guidance combination vs ltx-core (1.0.0 at fp32; HEAD golden values for bf16) and frozen sigma.

HEAD golden values were computed once with HEAD ltx-core's ``MultiModalGuider.calculate`` (fp32 arithmetic, cast
back to bf16) on the seeded inputs below; HEAD's ``modality_from_latent_state`` returned sigma 0 for a frozen state.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from ltx_core.components.guiders import MultiModalGuider, MultiModalGuiderFactory, MultiModalGuiderParams

from ltx_model.sampling.guidance import GuiderParams, SigmaBinnedGuiderParams, guide
from ltx_model.sampling.positions import AudioGrid
from ltx_model.sampling.state import initial_state
from ltx_model.sampling.steps import modality_sigma, timesteps_from_mask

pytestmark = pytest.mark.parity

HEAD_G1 = [
    -1.3671875, -1.984375, 1.328125, 0.9609375, 1.8515625, 1.2578125, 0.462890625, -1.8359375, -0.08837890625,
    1.0078125, -2.46875, -0.208984375, -0.43359375, -1.7109375, 2.46875, -1.7421875, 0.9453125, -0.023193359375,
    -2.125, -5.28125, 0.51171875, 2.078125, -1.6171875, -3.125, 1.0234375, -1.8359375, 1.140625, -1.3359375,
    -4.09375, 2.234375, -0.69140625, 2.15625, -3.703125, 3.453125, -1.1875, -1.4453125, -2.515625, -0.77734375,
    -4.3125, 0.62109375, 1.8125, 0.69921875, -0.1845703125, -2.5, 4.0625, -6.0, 4.78125, -1.3515625,
]
HEAD_G2 = [
    -0.8046875, -0.3984375, 0.83203125, 0.6484375, 1.0390625, 0.443359375, 0.3984375, -0.77734375, -0.5859375,
    -0.1943359375, -1.1015625, -0.28515625, -0.142578125, -0.1494140625, 1.25, -0.8125, 0.171875, -0.39453125,
    -0.46875, -1.328125, 0.001678466796875, 0.8671875, -0.396484375, -0.97265625, 0.166015625, -0.73046875,
    0.88671875, -0.37890625, -1.421875, 0.64453125, 0.08251953125, 0.55859375, -1.2421875, 1.15625,
    -0.486328125, -0.2177734375, -0.71875, -0.3125, -1.4453125, 0.0269775390625, 0.162109375, 0.6953125,
    -0.140625, -0.62890625, 1.2890625, -2.46875, 1.984375, -0.21484375,
]


def _inputs() -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1234)
    return tuple(torch.randn(1, 6, 8, generator=g).bfloat16() for _ in range(4))


def test_guidance_head_golden_bf16() -> None:
    c, u, p, m = _inputs()
    out = guide(GuiderParams(cfg_scale=3.0, stg_scale=1.0, stg_blocks=(28,), rescale_scale=0.7, modality_scale=3.0),
                c, u, p, m)
    assert out.dtype == torch.bfloat16
    assert torch.equal(out.flatten().float(), torch.tensor(HEAD_G1))
    out2 = guide(GuiderParams(cfg_scale=7.0, rescale_scale=1.0, modality_scale=3.0), c, u, 0.0, m)
    assert torch.equal(out2.flatten().float(), torch.tensor(HEAD_G2))


def test_guidance_head_differs_from_bf16_reference() -> None:
    """The 1.0.0 guider (bf16 arithmetic) gives different values: the test can tell the two apart."""
    c, u, p, m = _inputs()
    ref_params = MultiModalGuiderParams(cfg_scale=3.0, stg_scale=1.0, rescale_scale=0.7, modality_scale=3.0)
    ref = MultiModalGuider(params=ref_params).calculate(c, u, p, m)
    assert not torch.equal(ref.flatten().float(), torch.tensor(HEAD_G1))


@pytest.mark.parametrize(("cfg", "stg", "rescale", "mod"), [(3.0, 1.0, 0.7, 3.0), (7.0, 0.0, 1.0, 3.0),
                                                             (1.0, 0.0, 0.0, 1.0), (2.5, 0.5, 0.45, 1.0)])
def test_guidance_fp32_parity_with_1_0_0(cfg: float, stg: float, rescale: float, mod: float) -> None:
    c, u, p, m = (x.float() for x in _inputs())
    ref_params = MultiModalGuiderParams(cfg_scale=cfg, stg_scale=stg, rescale_scale=rescale, modality_scale=mod)
    ref_guider = MultiModalGuider(params=ref_params)
    ours = GuiderParams(cfg_scale=cfg, stg_scale=stg, rescale_scale=rescale, modality_scale=mod)
    torch.testing.assert_close(guide(ours, c, u, p, m), ref_guider.calculate(c, u, p, m), atol=1e-6, rtol=0)
    assert ours.needs_uncond() == ref_guider.do_unconditional_generation()
    assert ours.needs_perturbed() == ref_guider.do_perturbed_generation()
    assert ours.needs_isolated() == ref_guider.do_isolated_modality_generation()


def test_guidance_skip_and_sigma_bins_parity() -> None:
    for skip in (0, 1, 3):
        ref = MultiModalGuider(params=MultiModalGuiderParams(skip_step=skip))
        ours = GuiderParams(skip_step=skip)
        assert [ours.skips_step(i) for i in range(9)] == [ref.should_skip_step(i) for i in range(9)]
    mapping = {0.9: MultiModalGuiderParams(cfg_scale=2.0), 0.4: MultiModalGuiderParams(cfg_scale=5.0)}
    ref = MultiModalGuiderFactory.from_dict(mapping)
    ours = SigmaBinnedGuiderParams.from_mapping({k: GuiderParams(cfg_scale=v.cfg_scale) for k, v in mapping.items()})
    for sigma in (1.0, 0.9, 0.5, 0.4, 0.1, 0.0):
        assert ours.at(sigma).cfg_scale == ref.params(sigma).cfg_scale


def test_guidance_frozen_modality_sigma_head() -> None:
    state = initial_state(AudioGrid(frames=3, channels=1, mel_bins=4))
    frozen = replace(state, denoise_mask=torch.zeros_like(state.denoise_mask), frozen=True)
    sigma = torch.tensor(0.725)
    assert modality_sigma(frozen, sigma).item() == 0.0  # HEAD: tensor(0.)
    assert torch.equal(timesteps_from_mask(frozen.denoise_mask, modality_sigma(frozen, sigma)).flatten(),
                       torch.zeros(3))
    assert modality_sigma(state, sigma).item() == pytest.approx(0.725)
