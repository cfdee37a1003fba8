"""Unit tests of the transformer RoPE tables (frequency grid, angles, layouts, rotation properties)."""

from __future__ import annotations

import math

import pytest
import torch

from ltx_model.transformer import RopeSpec, RopeType, frequency_grid, rope_table

VIDEO = RopeSpec(dim=4096, heads=32, max_pos=(20, 2048, 2048))
AUDIO = RopeSpec(dim=2048, heads=32, max_pos=(20,))


def bounds(points: torch.Tensor, width: float = 1.0) -> torch.Tensor:
    """Midpoints ``(B, N, T)`` -> [start, end) bounds ``(B, N, T, 2)`` around them."""
    return torch.stack([points - width / 2, points + width / 2], dim=-1)


@pytest.mark.parametrize("double", [True, False])
def test_transformer_rope_frequency_grid(double: bool) -> None:
    grid = frequency_grid(10000.0, 3, 4096, double)
    assert grid.shape == (682,) and grid.dtype == torch.float32
    assert grid[0] == pytest.approx(math.pi / 2) and grid[-1] == pytest.approx(math.pi / 2 * 10000, rel=1e-6)
    assert bool((grid[1:] > grid[:-1]).all())
    k = torch.arange(682, dtype=torch.float64)
    exact = (math.pi / 2) * 10000.0 ** (k / 681)
    assert (grid.double() - exact).abs().div(exact).max() < (1e-7 if double else 1e-5)


def test_transformer_rope_split_layout_real_video() -> None:
    points = torch.rand(2, 3, 5) * torch.tensor([5.0, 500.0, 500.0])[None, :, None]
    table = rope_table(bounds(points), VIDEO, out_dtype=torch.float32)
    assert table.cos.shape == table.sin.shape == (2, 32, 5, 64)
    # K·N = 2046 angles for 2048 slots: 2 identity slots at the front, i.e. in head 0.
    assert torch.equal(table.cos[:, 0, :, :2], torch.ones(2, 5, 2))
    assert torch.equal(table.sin[:, 0, :, :2], torch.zeros(2, 5, 2))
    # Slot 2 (first real angle) is k = 0 on the time axis: (π/2)·(2·t/20 − 1).
    angle = (math.pi / 2) * (2 * points[:, 0] / 20 - 1)
    torch.testing.assert_close(table.cos[:, 0, :, 2], angle.cos(), atol=1e-6, rtol=0)
    # The last slot is the highest frequency on the width axis.
    last = frequency_grid(10000.0, 3, 4096, True)[-1] * (2 * points[:, 2] / 2048 - 1)
    torch.testing.assert_close(table.sin[:, -1, :, -1], last.sin(), atol=1e-4, rtol=0)


def test_transformer_rope_interleaved_layout() -> None:
    spec = RopeSpec(dim=16, heads=2, max_pos=(20, 2048, 2048), layout=RopeType.INTERLEAVED)
    table = rope_table(bounds(torch.rand(1, 3, 4)), spec, out_dtype=torch.float32)
    assert table.cos.shape == (1, 4, 16)  # 2 frequencies x 3 axes, each repeated twice, + 4 identity slots
    assert torch.equal(table.cos[..., :4], torch.ones(1, 4, 4))
    assert torch.equal(table.sin[..., :4], torch.zeros(1, 4, 4))
    assert torch.equal(table.cos[..., 4::2], table.cos[..., 5::2])


def test_transformer_rope_midpoint_and_positions_dtype() -> None:
    start = torch.tensor([[[0.0, 1 / 24, 9 / 24]]])
    end = start + 8 / 24
    pos = torch.stack([start, end], dim=-1)  # (1, 1, 3, 2)
    spec = RopeSpec(dim=8, heads=2, max_pos=(20,))
    t32 = rope_table(pos, spec, out_dtype=torch.float32)
    mid = ((start + end) / 2)[0, 0]
    expected = frequency_grid(10000.0, 1, 8, True)[None, :] * (2 * mid[:, None] / 20 - 1)  # (T, K)
    torch.testing.assert_close(t32.cos[0].transpose(0, 1).reshape(3, -1), expected.cos(), atol=1e-6, rtol=0)
    # bf16 positions: the fractional part is rounded in bf16 (as the reference pipelines do for video).
    t16 = rope_table(pos.to(torch.bfloat16), spec, out_dtype=torch.float32)
    pos16 = pos.to(torch.bfloat16)
    frac16 = ((pos16[..., 0] + pos16[..., 1]) / 2.0 / 20 * 2 - 1)[0, 0]
    expected16 = frequency_grid(10000.0, 1, 8, True)[None, :] * frac16[:, None].float()
    torch.testing.assert_close(t16.cos[0].transpose(0, 1).reshape(3, -1), expected16.cos(), atol=1e-6, rtol=0)
    assert not torch.allclose(t16.cos, t32.cos, atol=1e-6, rtol=0)


@pytest.mark.parametrize("layout", list(RopeType))
def test_transformer_rope_rotation_is_relative(layout: RopeType) -> None:
    """Rotated q·k depends on the position difference only (per head), and zero angles are the identity."""
    spec = RopeSpec(dim=16, heads=2, max_pos=(20,), layout=layout)
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(1, 1, 16, generator=gen), torch.randn(1, 1, 16, generator=gen)

    def score(pq: float, pk: float) -> torch.Tensor:
        tq = rope_table(bounds(torch.tensor([[[pq]]]), 0.0), spec, out_dtype=torch.float32)
        tk = rope_table(bounds(torch.tensor([[[pk]]]), 0.0), spec, out_dtype=torch.float32)
        return (tq.apply(q) * tk.apply(k)).view(2, 8).sum(-1)  # per-head dot products

    # fp32 angles reach ~1.6e4 rad at the highest frequency, so they carry ~1e-3 rad of rounding.
    torch.testing.assert_close(score(3.0, 1.0), score(7.5, 5.5), atol=2e-3, rtol=0)
    assert (score(3.0, 1.0) - score(3.0, 2.0)).abs().max() > 0.05
    identity = rope_table(bounds(torch.tensor([[[10.0]]]), 0.0), spec, out_dtype=torch.float32)  # 2p/20-1 = 0
    torch.testing.assert_close(identity.apply(q), q, atol=1e-6, rtol=0)
    torch.testing.assert_close(identity.apply(q).norm(), q.norm())


def test_transformer_rope_rejects_bad_positions() -> None:
    with pytest.raises(ValueError, match="axes"):
        rope_table(torch.zeros(1, 2, 3, 2), AUDIO, out_dtype=torch.float32)
    with pytest.raises(ValueError, match="bounds"):
        rope_table(torch.zeros(1, 1, 3), AUDIO, out_dtype=torch.float32)
