"""Parity: latent upsamplers vs ltx-core 1.0.0 at fp32 on tiny random weights copied across (atol 1e-5)."""

from __future__ import annotations

import pytest
import torch
from ltx_core.model.upsampler import LatentUpsamplerConfigurator
from ltx_core.model.upsampler import upsample_video as ref_upsample_video

from ltx_model.upsampler import LatentUpsampler, UpsamplerConfig, UpsamplerKind, upsample_latent

pytestmark = pytest.mark.parity

CONFIGS = {
    UpsamplerKind.SPATIAL_X2: {"spatial_upsample": True, "spatial_scale": 2.0, "rational_resampler": False},
    UpsamplerKind.SPATIAL_RATIONAL: {"spatial_upsample": True, "spatial_scale": 1.5, "rational_resampler": True},
    UpsamplerKind.TEMPORAL_X2: {"spatial_upsample": False, "temporal_upsample": True, "spatial_scale": 1.0,
                                "rational_resampler": True},
    UpsamplerKind.SPATIOTEMPORAL_X2: {"spatial_upsample": True, "temporal_upsample": True},
}


def _pair(kind: UpsamplerKind, dims: int = 3) -> tuple[torch.nn.Module, LatentUpsampler]:
    section = {"_class_name": "LatentUpsampler", "in_channels": 8, "mid_channels": 32, "num_blocks_per_stage": 2,
               "dims": dims, **CONFIGS[kind]}
    ref = LatentUpsamplerConfigurator.from_config(section).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    ours = LatentUpsampler(UpsamplerConfig.from_dict(section)).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)  # identical key names, no map needed
    return ref, ours


@pytest.mark.parametrize("kind", list(UpsamplerKind))
def test_upsampler_parity(kind: UpsamplerKind) -> None:
    ref, ours = _pair(kind)
    x = torch.randn(1, 8, 3, 4, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, got = ref(x), ours(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_upsampler_dims2_parity() -> None:
    ref, ours = _pair(UpsamplerKind.SPATIAL_X2, dims=2)
    x = torch.randn(2, 8, 2, 3, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)


class _Stats(torch.nn.Module):
    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("std-of-means", std)
        self.register_buffer("mean-of-means", mean)


class _Encoder:
    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        from ltx_core.model.video_vae.ops import PerChannelStatistics

        self.per_channel_statistics = PerChannelStatistics(latent_channels=8)
        self.per_channel_statistics.load_state_dict(_Stats(mean, std).state_dict())


def test_upsampler_upsample_video_parity() -> None:
    ref, ours = _pair(UpsamplerKind.SPATIAL_X2)
    g = torch.Generator().manual_seed(2)
    mean, std, x = torch.randn(8, generator=g), torch.rand(8, generator=g) + 0.5, torch.randn(1, 8, 2, 3, 3,
                                                                                              generator=g)
    with torch.no_grad():
        expected = ref_upsample_video(x, _Encoder(mean, std), ref)
        got = upsample_latent(x, ours, mean=mean, std=std)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
