"""LTX-2.5 video VAE: neighbourhood attention, tile plan, real-size key manifest, file detection and bad input.

Numerical parity with diffusers 0.42.1 and Lightricks' ltx-core HEAD lives in
``tests/parity/test_ltx25_video_vae_parity.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltx_model.demo.ltx25_vae import PUBLISHED_DIFFUSION_VAE, TINY_DECODER, write_demo_ltx25_video_vae
from ltx_model.loading.safetensors_io import CheckpointError, read_header, write_safetensors
from ltx_model.video_vae.diffusion_config import DiffusionDecoderConfig
from ltx_model.video_vae.diffusion_decoder import DiffusionDecoder
from ltx_model.video_vae.diffusion_tiling import DiffusionTiling, exact_halo, peak_tile_cells, plan_tiles
from ltx_model.video_vae.ltx25 import (
    LTX25VideoVAE,
    build_ltx25_video_vae,
    check_ltx25_video_vae,
    encoder_config,
    is_ltx25_video_vae,
    ltx25_video_vae_kind,
)
from ltx_model.video_vae.model import VideoVAE
from ltx_model.video_vae.neighborhood import na3d_torch

MANIFEST = Path(__file__).resolve().parents[1] / "data" / "ltx-2.5-video-vae.json"


def brute_force_na3d(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, kernel: tuple[int, ...]) -> torch.Tensor:
    """Dense attention over all positions with every key outside the query's NATTEN window masked out."""
    b, t, h, w, n, d = q.shape
    dims = (t, h, w)
    grids = torch.meshgrid(*(torch.arange(x) for x in dims), indexing="ij")
    pos = torch.stack([g.reshape(-1) for g in grids], dim=1)  # (N, 3)
    allowed = torch.ones(pos.shape[0], pos.shape[0], dtype=torch.bool)
    for axis, (length, kk) in enumerate(zip(dims, kernel, strict=True)):
        kk = min(kk, length)
        start = (pos[:, axis] - kk // 2).clamp(0, length - kk)  # window shifted inward at the border
        allowed &= (pos[None, :, axis] >= start[:, None]) & (pos[None, :, axis] < start[:, None] + kk)
    qf, kf, vf = (x.reshape(b, -1, n, d).transpose(1, 2) for x in (q, k, v))
    scores = (qf @ kf.transpose(-1, -2)) * d**-0.5
    probs = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
    return (probs @ vf).transpose(1, 2).reshape(q.shape)


@pytest.mark.parametrize(("shape", "kernel"), [((2, 5, 7, 6), (3, 5, 3)), ((1, 3, 9, 4), (3, 7, 7)),
                                               ((4, 6, 5, 5), (5, 3, 5))])
def test_ltx25_na3d_matches_brute_force(shape, kernel):
    gen = torch.Generator().manual_seed(0)
    b, t, h, w = shape
    q, k, v = (torch.randn(b, t, h, w, 2, 8, generator=gen) for _ in range(3))
    got = na3d_torch(q, k, v, kernel_size=kernel)
    want = brute_force_na3d(q, k, v, kernel)
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5)


def test_ltx25_na3d_chunked_path_matches_unchunked(monkeypatch):
    gen = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 5, 6, 7, 1, 8, generator=gen) for _ in range(3))
    whole = na3d_torch(q, k, v, kernel_size=(3, 3, 5), scale=0.7)
    monkeypatch.setattr("ltx_model.video_vae.neighborhood.GATHER_BUDGET", 1)  # one (frame, row) per chunk
    assert torch.equal(na3d_torch(q, k, v, kernel_size=(3, 3, 5), scale=0.7), whole)


def test_ltx25_na3d_agrees_with_comfy_kitchen():
    """ComfyUI ships comfy-kitchen; its na3d (eager backend on CPU) has the same semantics as our pure path."""
    kitchen = pytest.importorskip("comfy_kitchen")
    gen = torch.Generator().manual_seed(2)
    for shape, kernel in (((1, 5, 9, 8, 2, 16), [3, 5, 5]), ((2, 3, 4, 11, 1, 8), [3, 7, 7])):
        q, k, v = (torch.randn(shape, generator=gen) for _ in range(3))
        ours = na3d_torch(q, k, v, kernel_size=kernel, scale=1.0)
        theirs = kitchen.na3d(q, k, v, kernel_size=kernel, scale=1.0)
        assert ((ours - theirs).norm() / theirs.norm()).item() < 1e-5


@pytest.mark.slow
def test_ltx25_decoder_runs_on_comfy_kitchen_na3d():
    kitchen = pytest.importorskip("comfy_kitchen")
    torch.manual_seed(0)
    decoder = DiffusionDecoder(TINY_DECODER).eval()
    for p in decoder.parameters():
        p.data.normal_(0, 0.2)
    latent = torch.randn(1, 8, 1, 3, 3)
    with torch.no_grad():
        ours = decoder(latent, generator=torch.Generator().manual_seed(1))
        decoder.set_na3d(kitchen.na3d)
        theirs = decoder(latent, generator=torch.Generator().manual_seed(1))
    assert ours.shape == (1, 3, 1, 96, 96)
    assert ((ours - theirs).norm() / theirs.norm()).item() < 1e-5


def test_ltx25_tile_plan_peak_is_flat_in_video_length():
    decoder = DiffusionDecoder(DiffusionDecoderConfig(), device="meta")  # the published config
    tiling = DiffusionTiling()
    peaks = []
    for latent_frames in (4, 16, 64, 256):
        grid = (4 * latent_frames - 3, 96, 160)  # 768 x 1280 video: stage-4 input grid
        plan = plan_tiles(decoder, grid, tiling, steps=2)
        cores = [(s.keep[0] + s.ramp[0] // 2, s.keep[1] - s.ramp[1] // 2) for s in plan[0]]
        assert cores[0][0] == 0 and cores[-1][1] == grid[0]
        assert all(a[1] == b[0] for a, b in zip(cores, cores[1:], strict=False))  # cores partition the frames
        peaks.append(peak_tile_cells(plan))
        frames = max(s.src[1] - s.src[0] for s in plan[0])
    assert len(set(peaks[1:])) == 1, peaks  # once the video is longer than one tile, the peak stops growing
    halo = exact_halo(decoder, steps=2)
    assert halo == (10, 28, 28)  # 2 stage-4 blocks x kernel/2 + 2 steps x 8 blocks x kernel/2 / stride 2
    assert frames == 16 + 2 * 1 + 2 * halo[0]  # core + blend on both sides + halo on both sides


def test_ltx25_manifest_matches_our_module():
    """The real-size manifest (derived from ltx-core HEAD's modules) equals our state dict, key for key."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["config"]["vae"] == json.loads(json.dumps(PUBLISHED_DIFFUSION_VAE))
    vae = manifest["config"]["vae"]
    model = LTX25VideoVAE(encoder_config(vae), DiffusionDecoderConfig.from_dict(vae), device="meta")
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: shape for k, (_dtype, shape) in manifest["tensors"].items()}
    assert sorted(set(ours) ^ set(theirs)) == []
    assert {k: s for k, s in ours.items() if theirs[k] != s} == {}
    assert len(theirs) == 395  # decoder 309, encoder 84, latent statistics 2


def test_ltx25_published_config_values():
    cfg = DiffusionDecoderConfig.from_dict(PUBLISHED_DIFFUSION_VAE)
    assert cfg.stage_channels[:4] == (1024, 512, 256, 256) and cfg.stage_depths == (4, 6, 4, 2, 8)
    assert cfg.stage_kernels[:4] == ((3, 7, 7), (3, 7, 7), (3, 5, 5), (3, 5, 5)) and cfg.stage5_kernel == (3, 7, 7)
    assert (cfg.t_emb_dim, cfg.model_output_type, cfg.default_num_inference_steps) == (384, "v", 2)
    assert (cfg.time_scale, cfg.space_scale) == (8, 32)


def test_ltx25_files_detected_and_loaded(tmp_path):
    bare = write_demo_ltx25_video_vae(tmp_path / "vae.safetensors", seed=3)
    prefixed = write_demo_ltx25_video_vae(tmp_path / "vae_prefixed.safetensors", seed=3, prefix="vae.")
    conv = write_demo_ltx25_video_vae(tmp_path / "conv.safetensors", seed=3, conv=True)
    assert [ltx25_video_vae_kind(read_header(p)) for p in (bare, prefixed, conv)] == ["diffusion", "diffusion", "conv"]
    a, b, c = (build_ltx25_video_vae(p) for p in (bare, prefixed, conv))
    assert isinstance(a, LTX25VideoVAE) and isinstance(c, VideoVAE)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key


def test_ltx25_static_gates_are_folded(tmp_path):
    """A file storing static gates (weights divided by them) loads to the same module as the folded file."""
    plain = build_ltx25_video_vae(write_demo_ltx25_video_vae(tmp_path / "plain.safetensors", seed=5))
    gated = build_ltx25_video_vae(write_demo_ltx25_video_vae(tmp_path / "gated.safetensors", seed=5, gates=True))
    for key, value in plain.state_dict().items():
        assert torch.allclose(value, gated.state_dict()[key], rtol=1e-6, atol=1e-7), key


def _rewrite(src: Path, dst: Path, drop: str = "", metadata: dict | None = None) -> Path:
    from ltx_model.loading.safetensors_io import SafetensorsReader

    header = read_header(src)
    with SafetensorsReader(header) as reader:
        tensors = {k: reader.read(k) for k in header.tensors if k != drop}
    write_safetensors(dst, tensors, metadata=metadata if metadata is not None else dict(header.metadata))
    return dst


def test_ltx25_bad_input_one_clear_error(tmp_path):
    good = write_demo_ltx25_video_vae(tmp_path / "good.safetensors", seed=0)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:-1000])
    with pytest.raises(CheckpointError, match=r"truncated\.safetensors.*truncated"):
        build_ltx25_video_vae(truncated)
    missing = _rewrite(good, tmp_path / "missing.safetensors", drop="decoder.diff_blocks.1.attn.qkv.weight")
    with pytest.raises(CheckpointError, match=r"missing\.safetensors.*1 missing key.*diff_blocks\.1\.attn\.qkv"):
        build_ltx25_video_vae(missing)
    metadata = dict(read_header(good).metadata)
    cfg = json.loads(metadata["config"])
    cfg["vae"]["decoder"]["stage_depths"] = [1, 1, 1, 1, 3]
    deeper = _rewrite(good, tmp_path / "deeper.safetensors", metadata={**metadata, "config": json.dumps(cfg)})
    with pytest.raises(CheckpointError, match=r"deeper\.safetensors.*missing key.*diff_blocks\.2"):
        build_ltx25_video_vae(deeper)
    cfg["vae"]["decoder"]["stage_kernels"] = "wide"
    bad = _rewrite(good, tmp_path / "badcfg.safetensors", metadata={**metadata, "config": json.dumps(cfg)})
    with pytest.raises(CheckpointError, match=r"badcfg\.safetensors.*config.*stage_kernels"):
        build_ltx25_video_vae(bad)


def test_ltx25_wrong_family_is_rejected(tmp_path):
    from ltx_model.video_vae.config import VAETopology, VideoVAEConfig, tiny_section

    vae23 = VideoVAE(VideoVAEConfig.tiny(VAETopology.LTX2_3))
    path = tmp_path / "ltx-2.3-vae.safetensors"
    write_safetensors(path, {"vae." + k: v for k, v in vae23.state_dict().items()},
                      metadata={"config": json.dumps({"vae": tiny_section(VAETopology.LTX2_3)})})
    assert not is_ltx25_video_vae(read_header(path))
    with pytest.raises(CheckpointError, match=r"ltx-2\.3-vae\.safetensors: not an LTX-2\.5 video VAE"):
        build_ltx25_video_vae(path)


def test_ltx25_real_size_sparse_file_checks_by_header(tmp_path):
    """A real-size file (sparse: exact header, no data) built from the manifest passes the header-only check."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    path = tmp_path / manifest["file_names"][0]
    size = write_safetensors(path, {k: (dtype, tuple(shape)) for k, (dtype, shape) in manifest["tensors"].items()},
                             metadata={"config": json.dumps(manifest["config"]), "model_version": "2.5.0"})
    assert size > 200 * 2**20  # the real decoder + encoder in bf16
    header = read_header(path)
    assert ltx25_video_vae_kind(header) == "diffusion"
    model = check_ltx25_video_vae(path)
    assert all(p.is_meta for p in model.parameters())
    assert model.decoder.config == DiffusionDecoderConfig()
