"""Video VAE tiling: tile layouts, seam blending identities, progress/abort hook and length-independent memory."""

from __future__ import annotations

import weakref

import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

from ltx_model.video_vae import (
    SpatialTilingConfig,
    TemporalTilingConfig,
    TilingConfig,
    VAETopology,
    VideoVAE,
    VideoVAEConfig,
    decode_layout,
    encode_layout,
)

SPATIAL_TEMPORAL = TilingConfig(SpatialTilingConfig(64, 32), TemporalTilingConfig(16, 8))


def _ranges(tiles: tuple) -> list[tuple[int, int, int, int]]:
    return [(t.src.start, t.src.stop, t.dst.start, t.dst.stop) for t in tiles]


def test_video_vae_decode_layout_default_tiling_1080p() -> None:
    # 121 frames at 1920x1088 -> latent (16, 34, 60); TilingConfig.default(): 512/64 px, 64/24 frames
    layout = decode_layout((16, 34, 60), TilingConfig.default(), time_scale=8, space_scale=32)
    assert layout.out_size == (121, 1088, 1920)
    # width: tile 16, overlap 2 -> count (60+16-4-1)//14 = 5, starts 0,14,28,42,56 (last end forced to 60)
    assert [(a, b) for a, b, _, _ in _ranges(layout.width)] == [(0, 16), (14, 30), (28, 44), (42, 58), (56, 60)]
    # height keeps the aspect ratio: tile round(16*34/60) = 9 -> count (34+9-4-1)//7 = 5
    assert [(a, b) for a, b, _, _ in _ranges(layout.height)] == [(0, 9), (7, 16), (14, 23), (21, 30), (28, 34)]
    # time: tile 8, overlap 3 -> starts 0,5,10 then non-first tiles start one latent earlier
    assert _ranges(layout.time) == [(0, 8, 0, 57), (4, 13, 32, 97), (9, 16, 72, 121)]
    first, second = layout.time[0].mask, layout.time[1].mask
    assert first[0] == 1 and first[-24:].tolist() == torch.linspace(1, 0, 26)[1:-1].tolist()
    assert second[:25].tolist() == torch.linspace(0, 1, 26)[:-1].tolist()  # left ramp 1+8*3 frames from 0
    w = layout.width[1].mask  # 512 px, ramps of 64 px that exclude 0 and 1
    assert w[:64].tolist() == torch.linspace(0, 1, 66)[1:-1].tolist() and (w[64:-64] == 1).all()
    assert len(layout) == 3 * 5 * 5


def test_video_vae_encode_layout_raises_overlaps_and_extends_frames() -> None:
    tiling = TilingConfig(SpatialTilingConfig(128, 0), TemporalTilingConfig(32, 0))
    layout = encode_layout((49, 192, 96), tiling, time_scale=8, space_scale=32)
    assert layout.out_size == (7, 6, 3)
    # overlap raised to 16 frames; tiles of 1 + 8n frames; left box edge drops 1 + (16-1)//8 = 2 latents
    assert _ranges(layout.time) == [(0, 33, 0, 5), (16, 49, 2, 7), (32, 49, 4, 7)]
    assert layout.time[1].mask.tolist() == [0, 0, 1, 1, 1]
    # overlap raised to 64 px: one latent dropped on each inner edge
    assert _ranges(layout.height) == [(0, 128, 0, 4), (64, 192, 2, 6)]
    assert layout.height[0].mask.tolist() == [1, 1, 1, 0] and layout.height[1].mask.tolist() == [0, 1, 1, 1]
    assert len(layout.width) == 1 and layout.width[0].mask.tolist() == [1, 1, 1]


def test_video_vae_tiling_config_validation() -> None:
    for bad in ((32, 0), (100, 0), (64, 16), (64, 64)):
        with pytest.raises(ValueError):
            SpatialTilingConfig(*bad)
    for bad in ((8, 0), (20, 0), (16, 4), (16, 16)):
        with pytest.raises(ValueError):
            TemporalTilingConfig(*bad)
    vae = VideoVAE(VideoVAEConfig.tiny())
    with pytest.raises(ValueError, match="exceed the overlap"):  # encode overlap is raised to 64 px = tile size
        vae.encode_tiled(torch.zeros(1, 3, 1, 96, 32), TilingConfig(SpatialTilingConfig(64, 0)))


@pytest.mark.parametrize("topology", list(VAETopology))
@torch.no_grad()
def test_video_vae_tiled_with_one_tile_equals_whole(topology: VAETopology) -> None:
    vae = VideoVAE(VideoVAEConfig.tiny(topology))
    z = torch.randn(1, 4, 3, 2, 3)
    big = TilingConfig(SpatialTilingConfig(512, 64), TemporalTilingConfig(64, 24))
    torch.testing.assert_close(vae.decode_tiled(z, big), vae.decode(z), atol=0, rtol=0)
    pixels = torch.rand(1, 3, 17, 64, 96) * 2 - 1
    torch.testing.assert_close(vae.encode_tiled(pixels, big), vae.encode(pixels), atol=1e-6, rtol=1e-6)


@torch.no_grad()
def test_video_vae_iter_decode_tiled_chunks_cover_the_video_in_order() -> None:
    vae = VideoVAE(VideoVAEConfig.tiny(VAETopology.LTX2_3))
    z = torch.randn(1, 4, 5, 2, 2)  # time tiles (latent) [0,2) [0,3) [1,4) [2,5) -> frames [0,9) [0,17) [8,25) [16,33)
    chunks = list(vae.iter_decode_tiled(z, SPATIAL_TEMPORAL))
    assert [(first, c.shape[2]) for first, c in chunks] == [(0, 8), (8, 8), (16, 17)]
    out64 = torch.full((1, 3, 33, 64, 64), float("nan"), dtype=torch.float64)
    returned = vae.decode_tiled(z, SPATIAL_TEMPORAL, out=out64)
    assert returned is out64 and not out64.isnan().any()
    torch.testing.assert_close(out64.float(), torch.cat([c for _, c in chunks], dim=2))
    with pytest.raises(ValueError, match="out has shape"):
        vae.decode_tiled(z, SPATIAL_TEMPORAL, out=torch.empty(1, 3, 32, 64, 64))


@torch.no_grad()
def test_video_vae_tiled_decode_progress_and_abort() -> None:
    vae = VideoVAE(VideoVAEConfig.tiny())
    z = torch.randn(1, 4, 4, 3, 2)  # 3 temporal x 2 x 1 spatial tiles
    seen: list[tuple[int, int]] = []
    vae.decode_tiled(z, SPATIAL_TEMPORAL, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 6) for i in range(1, 7)]

    class Interrupted(Exception):
        pass

    calls = []

    def abort_at_third(done: int, total: int) -> None:
        calls.append(done)
        if done == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        vae.decode_tiled(z, SPATIAL_TEMPORAL, progress=abort_at_third)
    assert calls == [1, 2, 3]  # nothing decoded after the abort
    with pytest.raises(Interrupted):
        tiling = TilingConfig(SpatialTilingConfig(96, 32), TemporalTilingConfig(24, 8))  # 3 temporal tiles
        vae.encode_tiled(torch.zeros(1, 3, 33, 96, 64), tiling, progress=abort_at_third)


class _LiveTensorBytes(TorchFunctionMode):
    """Tracks bytes of tensor storages returned by torch calls inside the mode and alive at once (peak), ignoring
    ``exclude``'s storages.

    Storages are released through weakref finalizers (PyTorch keeps one Python object per live storage). Every
    tensor the Python code holds passes through a torch call, so its storage is counted; temporaries inside a
    single kernel are not (they are bounded by that op's inputs and outputs).
    """

    def __init__(self, exclude: list[torch.Tensor]) -> None:
        super().__init__()
        self.excluded = {t.untyped_storage().data_ptr() for t in exclude}
        self.sizes: dict[int, int] = {}
        self.live = self.peak = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self._track(t.untyped_storage())
        return out

    def _track(self, storage: torch.UntypedStorage) -> None:
        key = storage.data_ptr()
        if key == 0 or key in self.excluded or key in self.sizes:
            return
        self.sizes[key] = storage.nbytes()
        self.live += storage.nbytes()
        self.peak = max(self.peak, self.live)
        weakref.finalize(storage, self._release, key)

    def _release(self, key: int) -> None:
        self.live -= self.sizes.pop(key)


def _peak_bytes(vae: VideoVAE, frames: int, tiling: TilingConfig | None) -> int:
    z = torch.randn(1, 4, frames, 3, 2)
    out = torch.empty(vae.pixel_shape(z.shape))
    mode = _LiveTensorBytes(exclude=[z, out, *vae.state_dict().values()])
    with torch.no_grad(), mode:
        if tiling is None:
            out.copy_(vae.decode(z))
        else:
            vae.decode_tiled(z, tiling, out=out)
    assert mode.live <= 0  # everything allocated inside was released again
    return mode.peak


def test_video_vae_tiled_decode_peak_memory_does_not_grow_with_length() -> None:
    vae = VideoVAE(VideoVAEConfig.tiny()).eval()
    short, long = 4, 8  # 25 vs 57 frames; 3 vs 7 temporal tiles of 2x1 spatial tiles
    tiled_short, tiled_long = _peak_bytes(vae, short, SPATIAL_TEMPORAL), _peak_bytes(vae, long, SPATIAL_TEMPORAL)
    one_frame_bytes = 3 * 96 * 64 * 4
    assert tiled_short > 17 * one_frame_bytes  # the measure sees at least one decoded tile
    # only 1-D bookkeeping grows (temporal masks and weight sums, a few floats per frame), never frames x H x W
    assert tiled_long - tiled_short <= 16 * 8 * (long - short) < one_frame_bytes
    # the measure can fail: whole-tensor decoding grows with the length
    whole_short, whole_long = _peak_bytes(vae, short, None), _peak_bytes(vae, long, None)
    assert whole_long > 1.8 * whole_short and whole_long > 1.5 * tiled_long
