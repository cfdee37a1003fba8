"""Unit tests for the sigma schedules (values from ltx2-model.md §7.2 / §7.3)."""

from __future__ import annotations

import pytest
import torch

from ltx_model.sampling.schedules import (
    DISTILLED_SIGMAS,
    STAGE2_DISTILLED_SIGMAS,
    distilled_sigmas,
    ltx2_sigmas,
    stage2_distilled_sigmas,
    token_shift,
)

SIGMAS_30 = [
    1.000000, 0.994957, 0.989603, 0.983908, 0.977840, 0.971358, 0.964421, 0.956978, 0.948972, 0.940336,
    0.930994, 0.920854, 0.909810, 0.897735, 0.884479, 0.869858, 0.853651, 0.835584, 0.815319, 0.792427,
    0.766363, 0.736418, 0.701656, 0.660813, 0.612141, 0.553148, 0.480164, 0.387541, 0.266120, 0.100000, 0.0,
]
SIGMAS_HQ_15 = [
    1.000000, 0.993491, 0.986015, 0.977340, 0.967151, 0.955015, 0.940314, 0.922140, 0.899096, 0.868923,
    0.827707, 0.768028, 0.673897, 0.503378, 0.100000, 0.0,
]
SIGMAS_40_HEAD = [1.000000, 0.996449, 0.992737, 0.988851, 0.984780, 0.980510]
SIGMAS_40_TAIL = [0.592384, 0.544771, 0.488430, 0.420719, 0.337809, 0.233936, 0.100000, 0.0]


def test_schedule_ltx2_30_steps_documented_values() -> None:
    s = ltx2_sigmas(30)
    assert s.dtype == torch.float32 and s.shape == (31,)
    torch.testing.assert_close(s, torch.tensor(SIGMAS_30), atol=6e-7, rtol=0)


def test_schedule_ltx2_40_steps_documented_values() -> None:
    s = ltx2_sigmas(40)
    torch.testing.assert_close(s[:6], torch.tensor(SIGMAS_40_HEAD), atol=6e-7, rtol=0)
    torch.testing.assert_close(s[-8:], torch.tensor(SIGMAS_40_TAIL), atol=6e-7, rtol=0)


def test_schedule_token_dependent_shift_hq() -> None:
    tokens = 16 * 17 * 30
    assert token_shift(tokens) == pytest.approx(3.505, abs=1e-3)
    torch.testing.assert_close(ltx2_sigmas(15, tokens=tokens), torch.tensor(SIGMAS_HQ_15), atol=6e-7, rtol=0)
    assert token_shift(4096) == pytest.approx(2.05) and token_shift(1024) == pytest.approx(0.95)


@pytest.mark.parametrize("steps", [2, 8, 30, 40])
@pytest.mark.parametrize("tokens", [None, 256, 8160])
def test_schedule_monotone_and_terminal(steps: int, tokens: int | None) -> None:
    s = ltx2_sigmas(steps, tokens=tokens)
    assert s[0].item() == pytest.approx(1.0, abs=1e-6) and s[-1] == 0.0
    assert torch.all(s[1:] < s[:-1])
    assert s[-2].item() == pytest.approx(0.1, abs=1e-6)


def test_schedule_without_stretch_keeps_shifted_values() -> None:
    s = ltx2_sigmas(4, stretch=False)
    import math

    e = math.exp(2.05)
    expected = [1.0] + [e / (e + (1 / t - 1)) for t in (0.75, 0.5, 0.25)] + [0.0]
    torch.testing.assert_close(s, torch.tensor(expected), atol=1e-6, rtol=0)
    with pytest.raises(ValueError):
        ltx2_sigmas(0)


def test_schedule_distilled_tables_exact() -> None:
    assert DISTILLED_SIGMAS == (1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875, 0.0)
    assert STAGE2_DISTILLED_SIGMAS == (0.909375, 0.725, 0.421875, 0.0)
    d, s2 = distilled_sigmas(), stage2_distilled_sigmas()
    assert d.dtype == torch.float32 and s2.dtype == torch.float32
    assert torch.equal(d, torch.tensor(DISTILLED_SIGMAS, dtype=torch.float32))
    assert torch.equal(s2, d[-4:])
    assert torch.all(d[1:] < d[:-1])
