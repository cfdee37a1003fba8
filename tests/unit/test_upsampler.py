"""Unit tests for the latent upsamplers: config parsing, meta builds vs manifests, shapes, normalisation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltx_model.configbase import ConfigError
from ltx_model.upsampler import LatentUpsampler, UpsamplerConfig, UpsamplerKind, upsample_latent

MANIFESTS = ["latent-upscaler-spatial-x2.json", "latent-upscaler-spatial-x1.5.json",
             "latent-upscaler-temporal-x2-ltx2.5.json"]


@pytest.mark.parametrize("name", MANIFESTS)
def test_upsampler_meta_build_matches_manifest(manifests_dir: Path, name: str) -> None:
    manifest = json.loads((manifests_dir / name).read_text())
    config = UpsamplerConfig.from_dict(manifest["config"])
    model = LatentUpsampler(config, dtype=torch.bfloat16, device="meta")
    state = model.state_dict()
    assert all(t.is_meta for t in state.values())
    names = list(state)
    assert len(names) == len(set(names))
    assert {k: list(v.shape) for k, v in state.items()} == manifest["tensors"]
    assert sum(v.numel() for v in state.values()) == manifest["summary"]["element_count"]


def test_upsampler_config_defaults_and_kinds(manifests_dir: Path) -> None:
    assert UpsamplerConfig.from_dict({}).mid_channels == 512  # ltx-core default when the key is missing
    x15 = json.loads((manifests_dir / MANIFESTS[1]).read_text())["config"]
    assert UpsamplerConfig.from_dict(x15).kind is UpsamplerKind.SPATIAL_RATIONAL
    t = UpsamplerConfig.from_dict({"spatial_upsample": False, "temporal_upsample": True, "rational_resampler": True})
    assert t.kind is UpsamplerKind.TEMPORAL_X2


@pytest.mark.parametrize(
    "section",
    [{"mid_channel": 1024}, {"_class_name": "Other"}, {"dims": 1}, {"spatial_scale": 3.0, "rational_resampler": True},
     {"spatial_scale": 1.5}, {"spatial_upsample": False}, {"mid_channels": 48}, {"spatial_upsample": "yes"}],
)
def test_upsampler_config_rejects_bad_sections(section: dict) -> None:
    with pytest.raises(ConfigError):
        UpsamplerConfig.from_dict(section)


def test_upsampler_config_error_names_key() -> None:
    with pytest.raises(ConfigError, match="upsampler.mid_channel"):
        UpsamplerConfig.from_dict({"mid_channel": 1})


@pytest.mark.parametrize(
    ("kind", "out_shape"),
    [(UpsamplerKind.SPATIAL_X2, (1, 8, 3, 8, 12)), (UpsamplerKind.SPATIAL_RATIONAL, (1, 8, 3, 6, 9)),
     (UpsamplerKind.TEMPORAL_X2, (1, 8, 5, 4, 6)), (UpsamplerKind.SPATIOTEMPORAL_X2, (1, 8, 5, 8, 12))],
)
def test_upsampler_output_shapes(kind: UpsamplerKind, out_shape: tuple[int, ...]) -> None:
    model = LatentUpsampler(UpsamplerConfig.tiny(kind))
    out = model(torch.randn(1, 8, 3, 4, 6))
    assert out.shape == out_shape and torch.isfinite(out).all()


def test_upsampler_dims2_and_blur_kernel() -> None:
    model = LatentUpsampler(UpsamplerConfig(in_channels=8, mid_channels=32, num_blocks_per_stage=1, dims=2))
    assert model(torch.randn(2, 8, 2, 3, 3)).shape == (2, 8, 2, 6, 6)
    k = LatentUpsampler(UpsamplerConfig.tiny(UpsamplerKind.SPATIAL_RATIONAL)).upsampler.blur_down.kernel
    row = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    assert torch.equal(k[0, 0], torch.outer(row, row) / 256.0)


def test_upsampler_normalisation_wrapper() -> None:
    mean, std = torch.randn(8), torch.rand(8) + 0.5
    seen = {}

    def fake(x: torch.Tensor) -> torch.Tensor:
        seen["x"] = x
        return x

    latent = torch.randn(1, 8, 2, 3, 3)
    out = upsample_latent(latent, fake, mean=mean, std=std)
    torch.testing.assert_close(seen["x"], latent * std.view(1, -1, 1, 1, 1) + mean.view(1, -1, 1, 1, 1))
    torch.testing.assert_close(out, latent, atol=1e-6, rtol=0)
