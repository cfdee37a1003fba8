"""Unit tests for the multi-modal guidance combination and defaults."""

from __future__ import annotations

import pytest
import torch

from ltx_model.sampling.guidance import (
    LTX_2_3_HQ_PARAMS,
    LTX_2_3_PARAMS,
    LTX_2_PARAMS,
    GuiderParams,
    SigmaBinnedGuiderParams,
    defaults_for_version,
    guide,
    stg_perturbations,
)
from ltx_model.transformer import Perturbation, SkipAttention


def test_guidance_formula_without_rescale() -> None:
    c, u, p, m = (torch.randn(1, 4, 8) for _ in range(4))
    params = GuiderParams(cfg_scale=3.0, stg_scale=1.0, modality_scale=2.0)
    out = guide(params, c, u, p, m)
    torch.testing.assert_close(out, c + 2 * (c - u) + (c - p) + (c - m))


def test_guidance_neutral_params_return_cond() -> None:
    c = torch.randn(2, 3, 4)
    assert torch.equal(guide(GuiderParams(), c), c)
    assert not GuiderParams().needs_uncond() and not GuiderParams().needs_perturbed()
    assert not GuiderParams().needs_isolated()


def test_guidance_rescale_matches_cond_std() -> None:
    c, u = torch.randn(1, 16, 8), torch.randn(1, 16, 8)
    out = guide(GuiderParams(cfg_scale=5.0, rescale_scale=1.0), c, u)
    assert out.std().item() == pytest.approx(c.std().item(), rel=1e-5)


def test_guidance_bf16_inputs_fp32_math() -> None:
    c, u = torch.randn(1, 8, 4).bfloat16(), torch.randn(1, 8, 4).bfloat16()
    params = GuiderParams(cfg_scale=3.0, rescale_scale=0.7)
    out = guide(params, c, u)
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, guide(params, c.float(), u.float()).bfloat16())


def test_guidance_skip_step() -> None:
    p = GuiderParams(skip_step=2)
    assert [p.skips_step(i) for i in range(5)] == [False, True, True, False, True]
    assert not GuiderParams().skips_step(3)


def test_guidance_defaults_per_version() -> None:
    assert LTX_2_PARAMS.num_inference_steps == 40 and LTX_2_PARAMS.video.stg_blocks == (29,)
    assert LTX_2_3_PARAMS.num_inference_steps == 30 and LTX_2_3_PARAMS.audio.stg_blocks == (28,)
    v, a = LTX_2_3_PARAMS.video, LTX_2_3_PARAMS.audio
    assert (v.cfg_scale, v.stg_scale, v.rescale_scale, v.modality_scale) == (3.0, 1.0, 0.7, 3.0)
    assert (a.cfg_scale, a.stg_scale, a.rescale_scale, a.modality_scale) == (7.0, 1.0, 0.7, 3.0)
    assert LTX_2_3_HQ_PARAMS.num_inference_steps == 15 and LTX_2_3_HQ_PARAMS.audio.rescale_scale == 1.0
    assert defaults_for_version("2.3.0") is LTX_2_3_PARAMS and defaults_for_version(None) is LTX_2_PARAMS


def test_guidance_sigma_bins() -> None:
    lo, hi = GuiderParams(cfg_scale=2.0), GuiderParams(cfg_scale=4.0)
    sched = SigmaBinnedGuiderParams.from_mapping({0.5: lo, 1.0: hi})
    assert sched.at(0.9) is hi and sched.at(0.5) is lo and sched.at(0.1) is lo and sched.at(2.0) is hi
    assert SigmaBinnedGuiderParams.constant(lo).at(torch.tensor(0.3)) is lo
    with pytest.raises(ValueError):
        SigmaBinnedGuiderParams.from_mapping({})


def test_guidance_stg_perturbations_per_modality() -> None:
    on, off = GuiderParams(stg_scale=1.0, stg_blocks=(3, 5)), GuiderParams(stg_blocks=(7,))
    assert stg_perturbations(on, on).items == (
        Perturbation(SkipAttention.VIDEO_SELF, blocks=(3, 5)),
        Perturbation(SkipAttention.AUDIO_SELF, blocks=(3, 5)),
    )
    assert stg_perturbations(off, on).items == (Perturbation(SkipAttention.AUDIO_SELF, blocks=(3, 5)),)
    assert stg_perturbations(off, off).items == ()
