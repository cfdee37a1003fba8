"""Parity: sigma schedules vs ltx-core 1.0.0 / ltx-pipelines 1.0.0 (exact equality)."""

from __future__ import annotations

import pytest
import torch
from ltx_core.components.schedulers import LTX2Scheduler
from ltx_pipelines.utils.constants import DISTILLED_SIGMA_VALUES, STAGE_2_DISTILLED_SIGMA_VALUES

from ltx_model.sampling.schedules import distilled_sigmas, ltx2_sigmas, stage2_distilled_sigmas

pytestmark = pytest.mark.parity


@pytest.mark.parametrize("steps", [2, 8, 15, 30, 40, 50])
@pytest.mark.parametrize("shape", [None, (1, 128, 16, 17, 30), (1, 128, 2, 4, 4), (1, 128, 31, 32, 48)])
def test_schedule_ltx2_parity_exact(steps: int, shape: tuple[int, ...] | None) -> None:
    latent = None if shape is None else torch.zeros(shape)
    ref = LTX2Scheduler().execute(steps, latent=latent)
    ours = ltx2_sigmas(steps, tokens=None if shape is None else shape[2] * shape[3] * shape[4])
    assert ours.dtype == ref.dtype == torch.float32
    assert torch.equal(ours, ref)


@pytest.mark.parametrize(("stretch", "terminal", "max_shift", "base_shift"), [(False, 0.1, 2.05, 0.95),
                                                                              (True, 0.05, 1.5, 0.5)])
def test_schedule_ltx2_parity_options(stretch: bool, terminal: float, max_shift: float, base_shift: float) -> None:
    ref = LTX2Scheduler().execute(
        20, latent=torch.zeros(1, 1, 3, 8, 8), max_shift=max_shift, base_shift=base_shift, stretch=stretch,
        terminal=terminal,
    )
    ours = ltx2_sigmas(20, tokens=192, max_shift=max_shift, base_shift=base_shift, stretch=stretch, terminal=terminal)
    assert torch.equal(ours, ref)


def test_schedule_distilled_parity_exact() -> None:
    assert torch.equal(distilled_sigmas(), torch.Tensor(DISTILLED_SIGMA_VALUES))
    assert torch.equal(stage2_distilled_sigmas(), torch.Tensor(STAGE_2_DISTILLED_SIGMA_VALUES))
