"""Video VAE parity against ltx-core 1.0.0 (fp32, tiny random weights copied across).

Both topologies (LTX-2 19B: residual upsamplers, reflect-padded decoder; LTX-2.3: mixed space/time upsamplers,
zeros padding), whole-tensor and tiled, encode and decode. Tolerance: atol 1e-5 / rtol 1e-5 on outputs of order 1.
"""

from __future__ import annotations

import pytest
import torch
from ltx_core.model.video_vae import (
    SpatialTilingConfig as CoreSpatial,
)
from ltx_core.model.video_vae import (
    TemporalTilingConfig as CoreTemporal,
)
from ltx_core.model.video_vae import (
    TilingConfig as CoreTiling,
)
from ltx_core.model.video_vae import (
    VideoDecoderConfigurator,
    VideoEncoderConfigurator,
)

from ltx_model.video_vae import (
    SpatialTilingConfig,
    TemporalTilingConfig,
    TilingConfig,
    VAETopology,
    VideoVAE,
    VideoVAEConfig,
    tiny_section,
)

pytestmark = pytest.mark.parity

ATOL = RTOL = 1e-5
TOPOLOGIES = [VAETopology.LTX2, VAETopology.LTX2_3]


def _sections(topology: VAETopology) -> list[dict]:
    """The tiny section, plus (2.3 only) a causal-decoder variant."""
    section = tiny_section(topology)
    if topology is VAETopology.LTX2_3:
        return [section, {**section, "causal_decoder": True}]
    return [section]


CASES = [(t, s) for t in TOPOLOGIES for s in _sections(t)]
IDS = [f"{t.value}{'-causal' if s['causal_decoder'] else ''}" for t, s in CASES]


def _build(section: dict) -> tuple[VideoVAE, torch.nn.Module, torch.nn.Module]:
    """Our VAE with random weights and statistics, and ltx-core's encoder/decoder holding the same values."""
    ours = VideoVAE(VideoVAEConfig.from_dict(section)).eval()
    with torch.no_grad():
        stats = ours.per_channel_statistics
        stats.get_buffer("std-of-means").uniform_(0.5, 1.5)
        stats.get_buffer("mean-of-means").normal_(0.0, 0.3)
    sd = ours.state_dict()
    stats_sd = {k: v for k, v in sd.items() if k.startswith("per_channel_statistics.")}
    core = []
    for part, configurator in (("encoder", VideoEncoderConfigurator), ("decoder", VideoDecoderConfigurator)):
        module = configurator.from_config({"vae": section}).eval()
        mapped = {k[len(part) + 1 :]: v for k, v in sd.items() if k.startswith(part + ".")}
        module.load_state_dict({**mapped, **stats_sd}, strict=True)
        core.append(module)
    return ours, core[0], core[1]


def _close(ours: torch.Tensor, ref: torch.Tensor) -> None:
    assert ours.shape == ref.shape
    assert ref.abs().max() > 1e-3  # non-trivial output
    torch.testing.assert_close(ours, ref, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize(("topology", "section"), CASES, ids=IDS)
@torch.no_grad()
def test_video_vae_encode_decode_parity(topology: VAETopology, section: dict) -> None:
    ours, core_enc, core_dec = _build(section)
    pixels = torch.rand(1, 3, 17, 64, 96) * 2 - 1
    latent = ours.encode(pixels)
    assert latent.shape == (1, 4, 3, 2, 3)
    _close(latent, core_enc(pixels))
    z = torch.randn(2, 4, 3, 2, 3)
    _close(ours.decode(z), core_dec(z))


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=[t.value for t in TOPOLOGIES])
@torch.no_grad()
def test_video_vae_tiled_decode_parity(topology: VAETopology) -> None:
    ours, _, core_dec = _build(tiny_section(topology))
    z = torch.randn(1, 4, 4, 3, 4)  # 25 frames, 96 x 128 px: 3 temporal x 2 x 3 spatial tiles
    ref = torch.cat(list(core_dec.tiled_decode(z, CoreTiling(CoreSpatial(64, 32), CoreTemporal(16, 8)))), dim=2)
    calls: list[tuple[int, int]] = []
    tiling = TilingConfig(SpatialTilingConfig(64, 32), TemporalTilingConfig(16, 8))
    out = ours.decode_tiled(z, tiling, progress=lambda done, total: calls.append((done, total)))
    _close(out, ref)
    assert calls == [(i + 1, 18) for i in range(18)]
    # the tiles really change the result (seams are blended, not identical to the whole-tensor decode)
    assert (out - ours.decode(z)).abs().max() > 1e-3


@pytest.mark.parametrize(("topology", "section"), CASES, ids=IDS)
@torch.no_grad()
def test_video_vae_tiled_decode_spatial_only_and_temporal_only_parity(topology: VAETopology, section: dict) -> None:
    ours, _, core_dec = _build(section)
    z = torch.randn(1, 4, 4, 3, 2)  # portrait latent: exercises the aspect-ratio tile shrink on the short side
    for core_cfg, cfg in (
        # ltx-core 1.0.0's tiled_decode crashes without a temporal config; one long temporal tile is equivalent
        (CoreTiling(CoreSpatial(96, 32), CoreTemporal(64, 8)), TilingConfig(spatial=SpatialTilingConfig(96, 32))),
        (CoreTiling(temporal_config=CoreTemporal(24, 16)), TilingConfig(temporal=TemporalTilingConfig(24, 16))),
    ):
        ref = torch.cat(list(core_dec.tiled_decode(z, core_cfg)), dim=2)
        _close(ours.decode_tiled(z, cfg), ref)


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=[t.value for t in TOPOLOGIES])
@torch.no_grad()
def test_video_vae_tiled_encode_parity(topology: VAETopology) -> None:
    ours, core_enc, _ = _build(tiny_section(topology))
    pixels = torch.rand(1, 3, 25, 96, 128) * 2 - 1  # 2 temporal x 1 x 2 spatial tiles
    core_cfg = CoreTiling(CoreSpatial(96, 32), CoreTemporal(24, 8))  # overlaps raised to 64 px / 16 frames
    ref = core_enc.tiled_encode(pixels, core_cfg)
    calls: list[int] = []
    tiling = TilingConfig(SpatialTilingConfig(96, 32), TemporalTilingConfig(24, 8))
    out = ours.encode_tiled(pixels, tiling, progress=lambda done, total: calls.append(total))
    _close(out, ref)
    assert len(calls) == calls[0] == 2 * 1 * 2
