"""Video VAE: config parsing, real-size key/shape coverage against the manifests, shapes and validation."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from ltx_model.configbase import ConfigError
from ltx_model.video_vae import (
    FILE_PREFIX,
    IGNORED_FILE_KEYS,
    PaddingMode,
    VAEParts,
    VAETopology,
    VideoVAE,
    VideoVAEConfig,
    tiny_section,
)

MANIFESTS = {"19b": "ltx-2-19b.json", "2.3": "ltx-2.3-22b.json"}


def _manifest(manifests_dir: Path, name: str) -> dict:
    return json.loads((manifests_dir / MANIFESTS[name]).read_text())


@pytest.mark.parametrize("name", list(MANIFESTS))
def test_video_vae_real_size_meta_build_matches_manifest(manifests_dir: Path, name: str) -> None:
    manifest = _manifest(manifests_dir, name)
    vae = VideoVAE(VideoVAEConfig.from_dict(manifest["config"]["vae"]), device="meta", dtype=torch.bfloat16)
    ours = {k: list(v.shape) for k, v in vae.state_dict().items()}
    expected = {k.removeprefix(FILE_PREFIX): s for k, s in manifest["tensors"].items() if k.startswith(FILE_PREFIX)}
    assert sorted(ours) == sorted(expected)  # every manifest key produced exactly once, nothing extra
    assert ours == expected
    assert all(t.is_meta for t in vae.state_dict().values())
    assert set(IGNORED_FILE_KEYS) == set(manifest["extra_keys_known_in_file"])
    # ltx2-model.md §1.4: encoder / decoder sizes
    sizes = {"19b": (694_098_881, 528_380_720), "2.3": (318_936_897, 407_169_072)}[name]
    assert (sum(p.numel() for p in vae.encoder.parameters()), sum(p.numel() for p in vae.decoder.parameters())) == sizes


@pytest.mark.parametrize("parts", [VAEParts.ENCODER, VAEParts.DECODER])
def test_video_vae_parts_build_only_their_half(manifests_dir: Path, parts: VAEParts) -> None:
    section = _manifest(manifests_dir, "2.3")["config"]["vae"]
    vae = VideoVAE(VideoVAEConfig.from_dict(section), device="meta", parts=parts)
    keys = set(vae.state_dict())
    own, other = ("encoder.", "decoder.") if parts is VAEParts.ENCODER else ("decoder.", "encoder.")
    assert any(k.startswith(own) for k in keys) and not any(k.startswith(other) for k in keys)
    assert {"per_channel_statistics.std-of-means", "per_channel_statistics.mean-of-means"} <= keys
    with pytest.raises(RuntimeError, match="without its"):
        if parts is VAEParts.ENCODER:
            vae.decode(torch.zeros(1, 128, 1, 2, 2, device="meta"))
        else:
            vae.encode(torch.zeros(1, 3, 1, 32, 32, device="meta"))


def test_video_vae_config_reads_both_real_sections(manifests_dir: Path) -> None:
    c19 = VideoVAEConfig.from_dict(_manifest(manifests_dir, "19b")["config"]["vae"])
    c23 = VideoVAEConfig.from_dict(_manifest(manifests_dir, "2.3")["config"]["vae"])
    assert (c19.encoder_padding, c19.decoder_padding) == (PaddingMode.ZEROS, PaddingMode.REFLECT)
    assert (c23.encoder_padding, c23.decoder_padding) == (PaddingMode.ZEROS, PaddingMode.ZEROS)
    assert [b.residual for b in c19.decoder_blocks if not b.is_res] == [True, True, True]
    assert [b.multiplier for b in c23.decoder_blocks if not b.is_res] == [2, 2, 1, 2]
    assert [b.multiplier for b in c23.encoder_blocks if not b.is_res] == [2, 2, 2, 1]
    for cfg in (c19, c23):
        assert (cfg.time_scale, cfg.space_scale, cfg.latent_channels, cfg.causal_decoder) == (8, 32, 128, False)
    assert c19.decoder_channels() == [1024, 1024, 512, 512, 256, 256, 128, 128]
    assert c23.decoder_channels() == [1024, 1024, 512, 512, 512, 512, 256, 256, 128, 128]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"foo": 1}, r"vae\.foo"),
        ({"timestep_conditioning": True}, r"vae\.timestep_conditioning"),
        ({"norm_layer": "group_norm"}, r"vae\.norm_layer"),
        ({"_class_name": "CausalDiffusionVAE"}, r"vae\._class_name"),
        ({"spatial_padding_mode": "mirror"}, r"vae\.spatial_padding_mode"),
        ({"encoder_base_channels": 64}, r"vae\.encoder_base_channels"),
        ({"encoder_blocks": None}, r"vae\.encoder_blocks"),
        ({"encoder_blocks": [["attn_res_x", 2]]}, r"vae\.encoder_blocks\[0\].*attn_res_x"),
        ({"decoder_blocks": [["res_x", {"num_layers": 1, "inject_noise": True}]]}, r"inject_noise"),
        ({"decoder_blocks": [["compress_time", {"residual": True}]]}, r"decoder_blocks\[0\]\.residual"),
        ({"encoder_blocks": [["res_x", {"num_layers": 0}]]}, r"encoder_blocks\[0\]\.num_layers"),
        ({"decoder_blocks": [["res_x", 1]]}, r"scales"),  # decoder no longer upsamples like the encoder
    ],
)
def test_video_vae_config_rejects_bad_values_naming_the_key(change: dict, match: str) -> None:
    section = {**tiny_section(VAETopology.LTX2), **change}
    with pytest.raises(ConfigError, match=match):
        VideoVAEConfig.from_dict(section)


def test_video_vae_config_missing_blocks_and_int_params() -> None:
    section = tiny_section(VAETopology.LTX2_3)
    with pytest.raises(ConfigError, match=r"vae\.decoder_blocks"):
        VideoVAEConfig.from_dict({k: v for k, v in section.items() if k != "decoder_blocks"})
    # a bare int is shorthand for num_layers (as ltx-core accepts)
    short = {
        **section,
        "encoder_blocks": [[n, p["num_layers"] if n == "res_x" else p] for n, p in section["encoder_blocks"]],
    }
    assert VideoVAEConfig.from_dict(short) == VideoVAEConfig.tiny(VAETopology.LTX2_3)


@pytest.mark.parametrize("topology", list(VAETopology))
@torch.no_grad()
def test_video_vae_shapes_both_topologies(topology: VAETopology) -> None:
    vae = VideoVAE(VideoVAEConfig.tiny(topology))
    pixels = torch.rand(2, 3, 9, 64, 96) * 2 - 1
    latent = vae.encode(pixels)
    assert latent.shape == (2, 4, 2, 2, 3) == vae.latent_shape(pixels.shape)
    video = vae.decode(latent)
    assert video.shape == pixels.shape == vae.pixel_shape(latent.shape)
    assert torch.isfinite(video).all()
    assert vae.decode(torch.randn(1, 4, 1, 2, 3)).shape == (1, 3, 1, 64, 96)  # a single image


@pytest.mark.parametrize("frames", [2, 8, 10, 16, 24])
def test_video_vae_encode_rejects_frame_counts_not_1_plus_8k(frames: int) -> None:
    vae = VideoVAE(VideoVAEConfig.tiny())
    with pytest.raises(ValueError, match=r"1 \+ 8k frames"):
        vae.encode(torch.zeros(1, 3, frames, 32, 32))
    with pytest.raises(ValueError, match=r"1 \+ 8k frames"):
        vae.encode_tiled(torch.zeros(1, 3, frames, 32, 32))


def test_video_vae_rejects_bad_spatial_sizes_and_channels() -> None:
    vae = VideoVAE(VideoVAEConfig.tiny())
    with pytest.raises(ValueError, match="multiples of 32"):
        vae.encode(torch.zeros(1, 3, 9, 48, 64))
    with pytest.raises(ValueError, match=r"pixels \(B, 3"):
        vae.encode(torch.zeros(1, 4, 9, 32, 32))
    with pytest.raises(ValueError, match=r"latents \(B, 4"):
        vae.decode(torch.zeros(1, 128, 2, 2, 2))
    with pytest.raises(ValueError, match="at least 2x2"):  # the 19B decoder pads by reflection
        vae.decode(torch.zeros(1, 4, 2, 1, 2))
    assert VideoVAE(VideoVAEConfig.tiny(VAETopology.LTX2_3)).decode(torch.zeros(1, 4, 1, 1, 1)).shape[-2:] == (32, 32)


@torch.no_grad()
def test_video_vae_encoder_is_causal_in_time() -> None:
    vae = VideoVAE(VideoVAEConfig.tiny(VAETopology.LTX2_3))
    pixels = torch.rand(1, 3, 17, 32, 32) * 2 - 1
    changed = pixels.clone()
    changed[:, :, 9:] = -changed[:, :, 9:]  # only frames of the last latent step
    a, b = vae.encode(pixels), vae.encode(changed)
    torch.testing.assert_close(a[:, :, :2], b[:, :, :2], atol=0, rtol=0)
    assert (a[:, :, 2] - b[:, :, 2]).abs().max() > 1e-4


@torch.no_grad()
def test_video_vae_statistics_normalise_latents() -> None:
    vae = VideoVAE(VideoVAEConfig.tiny())
    pixels = torch.rand(1, 3, 1, 32, 32)
    base = vae.encode(pixels)
    vae.per_channel_statistics.get_buffer("std-of-means").fill_(2.0)
    vae.per_channel_statistics.get_buffer("mean-of-means").fill_(1.0)
    torch.testing.assert_close(vae.encode(pixels), (base - 1.0) / 2.0)
    z = torch.randn(1, 4, 1, 2, 2)
    vae2 = VideoVAE(VideoVAEConfig.tiny())
    vae2.load_state_dict(vae.state_dict())
    vae2.per_channel_statistics.get_buffer("std-of-means").fill_(1.0)
    vae2.per_channel_statistics.get_buffer("mean-of-means").fill_(0.0)
    torch.testing.assert_close(vae.decode(z), vae2.decode(z * 2.0 + 1.0))


@torch.no_grad()
def test_video_vae_uses_injected_operations_and_dtype() -> None:
    built: list[tuple[int, int]] = []

    class CountingConv3d(nn.Conv3d):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            built.append((self.in_channels, self.out_channels))

    vae = VideoVAE(VideoVAEConfig.tiny(), dtype=torch.bfloat16, operations=SimpleNamespace(Conv3d=CountingConv3d))
    assert len(built) == sum(isinstance(m, nn.Conv3d) for m in vae.modules()) > 10
    assert {p.dtype for p in vae.parameters()} == {torch.bfloat16}
    out = vae.decode(torch.randn(1, 4, 2, 2, 2, dtype=torch.bfloat16))
    assert out.dtype == torch.bfloat16 and out.shape == (1, 3, 9, 64, 64)
