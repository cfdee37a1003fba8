"""Decode Video on a device list (its ``devices`` input) in the real host: two gloo workers on the CPU (spawned
the production way) decode the tiles of a tiny LTX-2.3 VAE, bitwise equal to one process decoding with the same
tiling; bad device lists and VAEs without a distributed decode are refused naming the node."""

from __future__ import annotations

import importlib

import pytest
import torch

from ltx_model.demo import DemoFamily, write_demo_checkpoint
from ltx_model.video_vae import decode_layout

pytestmark = pytest.mark.comfy

CKPT = "ltx2n_mgpu_decode_23.safetensors"


@pytest.fixture(scope="module")
def vae(comfy_host, pack_nodes):
    write_demo_checkpoint(comfy_host.model_dir("checkpoints") / CKPT, DemoFamily.LTX23, dtype=torch.float32)
    return pack_nodes.vae.LTX2NVideoVAELoader.execute(vae_name=CKPT).result[0]


@pytest.fixture(scope="module")
def mgpu_vae(pack_nodes):
    return importlib.import_module(pack_nodes.__name__ + ".multi_gpu_vae")


def _one_process(vae, latent, tiling) -> torch.Tensor:
    """IMAGE (B * frames, H, W, 3) of the library's tiled decode in one process, mapped to [0, 1] as core maps it."""
    with torch.no_grad():
        video = vae.model.decode_tiled(latent.to(vae.vae_dtype), tiling).float()
    return ((video + 1) / 2).clamp(0, 1).permute(0, 2, 3, 4, 1).reshape(-1, *video.shape[-2:], 3)


def test_multi_gpu_distributed_decode_equals_one_device(pack_nodes, mgpu_vae, vae) -> None:
    latent = torch.randn(1, 128, 3, 3, 5, generator=torch.Generator().manual_seed(4))
    tiling = mgpu_vae.distributed_tiling(vae, tuple(latent.shape), 2)
    tiles = len(decode_layout((3, 3, 5), tiling, time_scale=8, space_scale=32))
    assert tiles >= 2  # every rank decodes at least one tile
    seen: list[tuple[int, int]] = []
    try:
        got = mgpu_vae.decode_on_devices(vae, latent, "cpu,cpu", lambda done, total: seen.append((done, total)),
                                         pack_nodes.vae.VAE_FOLDERS)
        pool = next(iter(pack_nodes.multi_gpu._POOLS.values()))  # noqa: SLF001 - the test closes what it started
        pids = pool.pids()
        node = pack_nodes.vae.LTX2NDecodeVideo  # the node's devices input: the same decode, the same workers
        from_node = node.execute(samples={"samples": latent}, vae=vae, devices="cpu, cpu").result[0]
        assert pool.running and pool.pids() == pids and len(pids) == 2
    finally:
        for pool in list(pack_nodes.multi_gpu._POOLS.values()):  # noqa: SLF001
            pool.close()
        pack_nodes.multi_gpu._POOLS.clear()  # noqa: SLF001
    assert got.shape == (17, 96, 160, 3) and torch.equal(got, _one_process(vae, latent, tiling))
    assert torch.equal(from_node, got)
    assert seen == [(done, tiles) for done in range(1, tiles + 1)]  # the driver's progress bar sees every tile


def test_multi_gpu_distributed_decode_refusals(pack_nodes, mgpu_vae, vae) -> None:
    decode = mgpu_vae.decode_on_devices
    latent = torch.zeros(1, 128, 2, 2, 2)
    folders = pack_nodes.vae.VAE_FOLDERS
    assert decode(vae, latent, "auto", print, folders) is None  # no 2 GPUs here: the caller decodes on one device
    with pytest.raises(ValueError, match=r"Decode Video \(LTX-2\): device 'cuda:5' does not exist here"):
        decode(vae, latent, "cpu,cuda:5", print, folders)
    with pytest.raises(ValueError, match=r"Decode Video \(LTX-2\) needs at least 2 devices"):
        decode(vae, latent, "cpu", print, folders)
    with pytest.raises(ValueError, match="needs the conv video VAE from Load Video VAE"):
        decode(object(), latent, "cpu,cpu", print, folders)
    assert pack_nodes.multi_gpu._POOLS == {}  # noqa: SLF001 - nothing was started
