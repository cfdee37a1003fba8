"""The pack's video VAE inside the real host: loader, core VAE nodes on our model, and the tiled decode node."""

from __future__ import annotations

import pytest
import torch

from ltx_model.demo import DemoFamily, write_demo_checkpoint
from ltx_model.loading import read_header, write_safetensors

pytestmark = pytest.mark.comfy

CKPTS = {DemoFamily.LTX2: "ltx2n_demo_19b.safetensors", DemoFamily.LTX23: "ltx2n_demo_23.safetensors"}


def write_demo_ckpts(host):
    """Tiny full checkpoints of both families (fp32) in the host's models/checkpoints (also for test_audio.py)."""
    return {fam: write_demo_checkpoint(host.model_dir("checkpoints") / name, fam, dtype=torch.float32)
            for fam, name in CKPTS.items()}


@pytest.fixture(scope="module")
def demo_ckpts(comfy_host):
    return write_demo_ckpts(comfy_host)


@pytest.fixture(scope="module")
def vaes(pack_nodes, demo_ckpts):
    loader = pack_nodes.vae.LTX2NVideoVAELoader
    return {fam: loader.execute(vae_name=name).result[0] for fam, name in CKPTS.items()}


@pytest.fixture(autouse=True)
def _inference_mode():
    """Nodes run under ``torch.inference_mode()`` in the executor; core's tiler relies on it."""
    with torch.inference_mode():
        yield


def _latent(seed, shape=(1, 128, 2, 2, 3)):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _library_images(vae, latent):
    """Our library's whole decode, mapped to IMAGE (B*T, H, W, 3) in [0, 1] as core maps VAE output."""
    with torch.no_grad():
        pixels = vae.model.decode(latent.to(vae.vae_dtype)).float()
    return ((pixels + 1) / 2).clamp(0, 1).movedim(1, -1).reshape(-1, *pixels.shape[-2:], 3)


def test_video_vae_loader_gives_core_vae_with_official_keys(comfy_host, pack_nodes, vaes, demo_ckpts):
    import comfy.sd

    vae = vaes[DemoFamily.LTX23]
    assert isinstance(vae, comfy.sd.VAE) and isinstance(vae, pack_nodes.vae_host.LTX2VideoVAE)
    file_keys = {k for k in read_header(demo_ckpts[DemoFamily.LTX23]).tensors if k.startswith("vae.")}
    ignored = {"vae.per_channel_statistics.channel", "vae.per_channel_statistics.mean-of-stds"}
    assert set(vae.first_stage_model.state_dict()) == file_keys - ignored
    assert (vae.latent_channels, vae.latent_dim, vae.output_channels) == (128, 3, 3)
    assert vae.downscale_index_formula == vae.upscale_index_formula == (8, 32, 32)
    assert vae.upscale_ratio[0](3) == 17 and vae.downscale_ratio[0](17) == 3 and vae.downscale_ratio[0](16) == 2
    assert vae.spacial_compression_decode() == 32 and vae.temporal_compression_decode() == 8
    assert vae.memory_used_decode((1, 128, 2, 2, 2), vae.vae_dtype) > 0


def test_video_vae_loader_reads_unprefixed_standalone_file(comfy_host, pack_nodes, vaes, demo_ckpts):
    """models/vae file in the layout core's VAELoader reads (no ``vae.`` prefix) with the config metadata."""
    import json

    from safetensors import safe_open

    with safe_open(str(demo_ckpts[DemoFamily.LTX2]), framework="pt") as f:
        tensors = {k.removeprefix("vae."): f.get_tensor(k) for k in f.keys() if k.startswith("vae.")}  # noqa: SIM118
        config = {"vae": json.loads(f.metadata()["config"])["vae"]}
    write_safetensors(comfy_host.model_dir("vae") / "ltx2n_vae_only.safetensors", tensors,
                      metadata={"config": json.dumps(config)})
    vae = pack_nodes.vae.LTX2NVideoVAELoader.execute(vae_name="ltx2n_vae_only.safetensors").result[0]
    latent = _latent(9)
    torch.testing.assert_close(_library_images(vae, latent), _library_images(vaes[DemoFamily.LTX2], latent),
                               atol=0, rtol=0)


def test_video_vae_loader_rejects_file_without_vae(comfy_host, pack_nodes):
    write_safetensors(comfy_host.model_dir("vae") / "ltx2n_not_a_vae.safetensors", {"w": torch.zeros(2)})
    with pytest.raises(ValueError, match="ltx2n_not_a_vae.safetensors has no loadable LTX-2 video VAE"):
        pack_nodes.vae.LTX2NVideoVAELoader.execute(vae_name="ltx2n_not_a_vae.safetensors")


@pytest.mark.parametrize("family", list(DemoFamily))
def test_video_vae_core_decode_equals_library(comfy_host, vaes, family):
    vae, latent = vaes[family], _latent(1)
    images = comfy_host.node_class("VAEDecode")().decode(vae, {"samples": latent})[0]
    assert tuple(images.shape) == (9, 64, 96, 3)
    torch.testing.assert_close(images, _library_images(vae, latent), atol=1e-6, rtol=0)


def test_video_vae_core_decode_tiled(comfy_host, vaes):
    vae = vaes[DemoFamily.LTX2]  # reflect-padded decoder: 1-cell edge tiles must still decode
    latent = _latent(2, (1, 128, 3, 3, 3))
    tiled = comfy_host.node_class("VAEDecodeTiled")().decode
    whole = tiled(vae, {"samples": latent}, 512, 64, 64, 8)[0]  # one tile covers everything
    torch.testing.assert_close(whole, _library_images(vae, latent), atol=1e-6, rtol=0)
    small = tiled(vae, {"samples": latent}, 64, 0, 16, 8)[0]  # 2x2-cell tiles (1-cell at the edge), 2-frame tiles
    assert tuple(small.shape) == (17, 96, 96, 3) and torch.isfinite(small).all()
    # frames 0-7 come from the first 2-frame tile alone, and spatial tiles do not overlap: compare two of them
    corner = _library_images(vae, latent[:, :, :2, :2, :2])
    torch.testing.assert_close(small[:8, :64, :64], corner[:8], atol=1e-6, rtol=0)
    edge = torch.nn.functional.pad(latent[:, :, :2, :2, 2:], (0, 1, 0, 0, 0, 0), mode="replicate")
    torch.testing.assert_close(small[:8, :64, 64:], _library_images(vae, edge)[:8, :, :32], atol=1e-6, rtol=0)


def test_video_vae_core_encode_and_frame_truncation(comfy_host, vaes):
    vae = vaes[DemoFamily.LTX23]
    frames = torch.rand(10, 64, 96, 3, generator=torch.Generator().manual_seed(3))
    latent = comfy_host.node_class("VAEEncode")().encode(vae, frames)[0]["samples"]
    assert tuple(latent.shape) == (1, 128, 2, 2, 3)  # 10 frames -> the first 9 (1 + 8k), as core's LTX VAE
    with torch.no_grad():
        expected = vae.model.encode((frames[:9] * 2 - 1).movedim(-1, 0)[None].to(vae.vae_dtype))
    torch.testing.assert_close(latent, expected.float(), atol=1e-5, rtol=1e-5)


def test_video_vae_core_ltxv_image_nodes(comfy_host, vaes):
    vae, node = vaes[DemoFamily.LTX23], comfy_host.node_class
    image = torch.rand(1, 64, 96, 3, generator=torch.Generator().manual_seed(4))
    empty = {"samples": torch.zeros(1, 128, 3, 2, 3)}
    out = node("LTXVImgToVideoInplace").execute(vae, image, empty, 0.8, False).result[0]
    with torch.no_grad():
        first = vae.model.encode((image * 2 - 1).movedim(-1, 0)[None].to(vae.vae_dtype)).float()
    torch.testing.assert_close(out["samples"][:, :, :1], first, atol=1e-5, rtol=1e-5)
    assert torch.equal(out["samples"][:, :, 1:], torch.zeros(1, 128, 2, 2, 3))
    cond = [[torch.zeros(1, 4, 8), {}]]
    _, _, guided = node("LTXVAddGuide").execute(cond, cond, vae, empty, image, 8, 1.0).result
    assert tuple(guided["samples"].shape) == (1, 128, 4, 2, 3)  # one guide latent frame appended
    torch.testing.assert_close(guided["samples"][:, :, 3:], first, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", list(DemoFamily))
def test_video_vae_decode_node_whole_when_memory_allows(comfy_host, pack_nodes, vaes, family, progress_calls):
    import comfy.nested_tensor

    vae, latent = vaes[family], _latent(5)
    av = {"samples": comfy.nested_tensor.NestedTensor((latent, torch.zeros(1, 8, 4, 16)))}
    images = pack_nodes.vae.LTX2NDecodeVideo.execute(samples=av, vae=vae).result[0]
    torch.testing.assert_close(images, _library_images(vae, latent), atol=1e-6, rtol=0)
    assert progress_calls == [(1, 1)]


def test_video_vae_decode_node_tiles_from_free_memory(comfy_host, pack_nodes, vaes, monkeypatch, progress_calls):
    import comfy.model_management

    vae, latent = vaes[DemoFamily.LTX23], _latent(6, (1, 128, 5, 4, 6))
    plans = pack_nodes.vae_host.decode_plans(vae.model.config, latent.shape, vae.decode_bytes_per_pixel)
    target = next(p for p in plans if p.tiling.spatial is not None and p.tiling.temporal is not None)
    free = target.nbytes / pack_nodes.vae_host.FREE_MEMORY_SHARE + 1  # just enough for that plan's largest tile
    monkeypatch.setattr(comfy.model_management, "get_free_memory", lambda *a, **k: free)
    images = pack_nodes.vae.LTX2NDecodeVideo.execute(samples={"samples": latent}, vae=vae).result[0]
    with torch.no_grad():
        expected = vae.model.decode_tiled(latent, target.tiling)
    assert tuple(images.shape) == (33, 128, 192, 3)
    torch.testing.assert_close(images, ((expected + 1) / 2).clamp(0, 1).movedim(1, -1)[0], atol=1e-6, rtol=0)
    assert progress_calls == [(i, target.tiles) for i in range(1, target.tiles + 1)] and target.tiles > 2


def test_video_vae_decode_node_retries_smaller_tiles_after_oom(pack_nodes, vaes, monkeypatch, progress_calls):
    vae, latent = vaes[DemoFamily.LTX23], _latent(7, (1, 128, 2, 4, 4))
    decode = vae.model.decode

    def small_tiles_only(tile):
        if tile.shape[-1] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return decode(tile)

    monkeypatch.setattr(vae.model, "decode", small_tiles_only)
    images = pack_nodes.vae.LTX2NDecodeVideo.execute(samples={"samples": latent}, vae=vae).result[0]
    monkeypatch.undo()
    plans = pack_nodes.vae_host.decode_plans(vae.model.config, latent.shape, vae.decode_bytes_per_pixel)
    fitting = next(p for p in plans if max(t.src.stop - t.src.start for t in
                                           pack_nodes.vae_host.decode_layout(tuple(latent.shape[2:]), p.tiling,
                                                                        time_scale=8, space_scale=32).width) <= 2)
    with torch.no_grad():
        expected = vae.model.decode_tiled(latent, fitting.tiling)
    torch.testing.assert_close(images, ((expected + 1) / 2).clamp(0, 1).movedim(1, -1)[0], atol=1e-6, rtol=0)
    assert progress_calls[-1] == (fitting.tiles, fitting.tiles)


def test_video_vae_decode_node_honours_interrupt(pack_nodes, vaes):
    import comfy.model_management as mm

    mm.interrupt_current_processing(True)
    try:
        with pytest.raises(mm.InterruptProcessingException):
            pack_nodes.vae.LTX2NDecodeVideo.execute(samples={"samples": _latent(8)}, vae=vaes[DemoFamily.LTX2])
    finally:
        mm.interrupt_current_processing(False)


def test_video_vae_decode_node_clear_errors(pack_nodes, vaes):
    decode = pack_nodes.vae.LTX2NDecodeVideo.execute
    with pytest.raises(ValueError, match="needs a video latent"):
        decode(samples={"samples": torch.zeros(1, 8, 5, 16)}, vae=vaes[DemoFamily.LTX2])
    with pytest.raises(ValueError, match="expects latents"):
        decode(samples={"samples": torch.zeros(1, 16, 2, 2, 2)}, vae=vaes[DemoFamily.LTX2])


def test_video_vae_decode_plans_order(pack_nodes, vaes):
    cfg = vaes[DemoFamily.LTX23].model.config
    plans = pack_nodes.vae_host.decode_plans(cfg, (1, 128, 16, 16, 24), 100.0)
    assert plans[0].tiles == 1 and plans[0].nbytes == 121 * 512 * 768 * 100.0
    assert all(a.nbytes > b.nbytes for a, b in zip(plans, plans[1:], strict=False))
    assert plans[-1].tiles > 50
    fitting = pack_nodes.vae_host.first_fitting
    assert fitting(plans, 1e30) == 0 and fitting(plans, 0) == len(plans) - 1
