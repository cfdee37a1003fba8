"""Tile layouts for tiled video-VAE encode/decode, matching ltx-core 1.0.0 ``model/video_vae/tiling.py``.

A layout is the product of three per-axis splits (time, height, width). Each axis tile knows where it reads in the
input, where it writes in the output and its 1-D blend weights over the written range; the N-D weight of a tile is
the outer product of its three 1-D masks (ltx2-model.md §4.6). Because the layout is a full product grid, the sum
of all tile weights is also separable: the product of the three per-axis weight sums (:meth:`TileLayout.axis_sum`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SpatialTilingConfig:
    """Spatial tiles, in pixels: size >= 64 and a multiple of 32; overlap a multiple of 32 below the size."""

    tile_size_px: int
    overlap_px: int = 0

    def __post_init__(self) -> None:
        if self.tile_size_px < 64 or self.tile_size_px % 32:
            raise ValueError(f"tile_size_px must be >= 64 and divisible by 32, got {self.tile_size_px}")
        if self.overlap_px < 0 or self.overlap_px % 32 or self.overlap_px >= self.tile_size_px:
            raise ValueError(f"overlap_px must be a multiple of 32 below tile_size_px, got {self.overlap_px}")


@dataclass(frozen=True)
class TemporalTilingConfig:
    """Temporal tiles, in pixel frames: size >= 16 and a multiple of 8; overlap a multiple of 8 below the size."""

    tile_size_frames: int
    overlap_frames: int = 0

    def __post_init__(self) -> None:
        if self.tile_size_frames < 16 or self.tile_size_frames % 8:
            raise ValueError(f"tile_size_frames must be >= 16 and divisible by 8, got {self.tile_size_frames}")
        if self.overlap_frames < 0 or self.overlap_frames % 8 or self.overlap_frames >= self.tile_size_frames:
            raise ValueError(f"overlap_frames must be a multiple of 8 below the tile size, got {self.overlap_frames}")


@dataclass(frozen=True)
class TilingConfig:
    """Spatial and/or temporal tiling; ``None`` on an axis group means one tile along it."""

    spatial: SpatialTilingConfig | None = None
    temporal: TemporalTilingConfig | None = None

    @classmethod
    def default(cls) -> TilingConfig:
        """ltx-pipelines' default: 512 px tiles with 64 px overlap, 64-frame tiles with 24 frames overlap."""
        return cls(SpatialTilingConfig(512, 64), TemporalTilingConfig(64, 24))


@dataclass(frozen=True)
class AxisTile:
    """One tile along one axis: input range ``src``, output range ``dst`` and blend weights ``mask`` (len dst)."""

    src: slice
    dst: slice
    mask: torch.Tensor  # (len(dst),) float32


@dataclass(frozen=True)
class TileLayout:
    """Per-axis tiles (time, height, width) of a 5-D tensor; tiles are visited time-major, then height, width."""

    time: tuple[AxisTile, ...]
    height: tuple[AxisTile, ...]
    width: tuple[AxisTile, ...]
    out_size: tuple[int, int, int]  # output (frames, height, width)

    def __len__(self) -> int:
        return len(self.time) * len(self.height) * len(self.width)

    def spatial_tiles(self) -> Iterator[tuple[AxisTile, AxisTile]]:
        """(height, width) tile pairs in visiting order."""
        return itertools.product(self.height, self.width)

    def axis_sum(self, axis: int) -> torch.Tensor:
        """Sum of the blend weights of all tiles along ``axis`` (0 time, 1 height, 2 width), clamped >= 1e-8."""
        tiles = (self.time, self.height, self.width)[axis]
        total = torch.zeros(self.out_size[axis], dtype=torch.float32)
        for tile in tiles:
            total[tile.dst] += tile.mask
        return total.clamp_(min=1e-8)


@dataclass(frozen=True)
class _Interval:
    start: int
    end: int
    left: int  # blend ramp length at the start (input units)
    right: int  # blend ramp length at the end


def _split(length: int, size: int, overlap: int) -> list[_Interval]:
    """Symmetric overlapping split of ``[0, length)`` into tiles of ``size``; the last tile ends at ``length``."""
    if length <= size:
        return [_Interval(0, length, 0, 0)]
    if overlap >= size:
        raise ValueError(f"tile size {size} must exceed the overlap {overlap}")
    count = (length + size - 2 * overlap - 1) // (size - overlap)
    starts = [i * (size - overlap) for i in range(count)]
    return [
        _Interval(s, length if i == count - 1 else s + size, overlap if i else 0, overlap if i < count - 1 else 0)
        for i, s in enumerate(starts)
    ]


def trapezoid_mask(length: int, left: int, right: int, *, left_from_zero: bool = False) -> torch.Tensor:
    """1-D blend weights: 1 in the middle, linear ramps of ``left`` / ``right`` samples that exclude 0 and 1
    (``left_from_zero``: the left ramp starts at exactly 0). Returns (length,) float32."""
    if length <= 0:
        raise ValueError("mask length must be positive")
    left, right = max(0, min(left, length)), max(0, min(right, length))
    mask = torch.ones(length, dtype=torch.float32)
    if left > 0:
        ramp = torch.linspace(0.0, 1.0, left + 1)[:-1] if left_from_zero else torch.linspace(0.0, 1.0, left + 2)[1:-1]
        mask[:left] *= ramp
    if right > 0:
        mask[-right:] *= torch.linspace(1.0, 0.0, right + 2)[1:-1]
    return mask.clamp_(0, 1)


def box_mask(length: int, left: int, right: int) -> torch.Tensor:
    """1-D 0/1 weights: zero on the first ``left`` and the last ``right`` samples. Returns (length,) float32."""
    if length <= 0:
        raise ValueError("mask length must be positive")
    mask = torch.ones(length, dtype=torch.float32)
    mask[:left] = 0
    if right > 0:
        mask[-right:] = 0
    return mask


def _whole(length: int, out_length: int) -> tuple[AxisTile, ...]:
    return (AxisTile(slice(0, length), slice(0, out_length), torch.ones(out_length, dtype=torch.float32)),)


def decode_layout(
    latent_size: tuple[int, int, int], tiling: TilingConfig | None, *, time_scale: int, space_scale: int
) -> TileLayout:
    """Tiles of a latent ``(frames, h, w)`` for decoding into ``(1 + ts*(frames-1), ss*h, ss*w)`` pixels.

    Spatial axes (latent units): tile length ``max(2, overlap+1, round(size*axis/long_side))`` keeps the aspect
    ratio; trapezoid ramps of ``overlap*ss`` pixels. Temporal axis: the symmetric split, then every tile but the first
    starts one latent earlier with its left ramp grown by one (its first decoded frame is a causal "first frame").
    """
    frames, h, w = latent_size
    out = (1 + time_scale * (frames - 1), space_scale * h, space_scale * w)
    height, width = _whole(h, out[1]), _whole(w, out[2])
    if tiling is not None and tiling.spatial is not None:
        size, overlap = tiling.spatial.tile_size_px // space_scale, tiling.spatial.overlap_px // space_scale
        long_side = max(h, w)

        def axis(length: int) -> tuple[AxisTile, ...]:
            tile = max(2, overlap + 1, round(size * length / long_side))
            return tuple(
                AxisTile(
                    slice(iv.start, iv.end),
                    slice(iv.start * space_scale, iv.end * space_scale),
                    trapezoid_mask((iv.end - iv.start) * space_scale, iv.left * space_scale, iv.right * space_scale),
                )
                for iv in _split(length, tile, overlap)
            )

        height, width = axis(h), axis(w)
    time = _whole(frames, out[0])
    if tiling is not None and tiling.temporal is not None:
        size, overlap = tiling.temporal.tile_size_frames // time_scale, tiling.temporal.overlap_frames // time_scale
        intervals = _split(frames, size, overlap)
        if len(intervals) > 1:
            shifted = [_Interval(iv.start - 1, iv.end, iv.left + 1, iv.right) for iv in intervals[1:]]
            intervals = [intervals[0], *shifted]
        time = tuple(_decode_time_tile(iv, time_scale) for iv in intervals)
    return TileLayout(time, height, width, out)


def _decode_time_tile(iv: _Interval, scale: int) -> AxisTile:
    start, stop = iv.start * scale, 1 + (iv.end - 1) * scale
    left = 0 if iv.left == 0 else 1 + (iv.left - 1) * scale
    mask = trapezoid_mask(stop - start, left, iv.right * scale, left_from_zero=True)
    return AxisTile(slice(iv.start, iv.end), slice(start, stop), mask)


def encode_layout(
    pixel_size: tuple[int, int, int], tiling: TilingConfig | None, *, time_scale: int, space_scale: int
) -> TileLayout:
    """Tiles of pixels ``(1 + ts*k, H, W)`` for encoding into ``(1 + k, H/ss, W/ss)`` latents (ltx-core
    ``tiled_encode``): box masks that drop one latent on each inner edge (overlap forced to >= 2 latents spatially,
    >= 2 latent frames temporally); temporal tiles extended by one frame to the right so each has 1 + ts*n frames.
    """
    frames, h, w = pixel_size
    out = (1 + (frames - 1) // time_scale, h // space_scale, w // space_scale)
    height, width = _whole(h, out[1]), _whole(w, out[2])
    if tiling is not None and tiling.spatial is not None:
        size, overlap = tiling.spatial.tile_size_px, max(tiling.spatial.overlap_px, 2 * space_scale)

        def axis(length: int) -> tuple[AxisTile, ...]:
            tiles = []
            for iv in _split(length, size, overlap):
                dst = slice(iv.start // space_scale, iv.end // space_scale)
                left, right = max(0, iv.left // space_scale - 1), (0 if iv.right == 0 else 1)
                tiles.append(AxisTile(slice(iv.start, iv.end), dst, box_mask(dst.stop - dst.start, left, right)))
            return tuple(tiles)

        height, width = axis(h), axis(w)
    time = _whole(frames, out[0])
    if tiling is not None and tiling.temporal is not None:
        size, overlap = tiling.temporal.tile_size_frames, max(tiling.temporal.overlap_frames, 2 * time_scale)
        intervals = _split(frames, size, overlap)
        if len(intervals) > 1:
            last = len(intervals) - 1
            intervals = [_Interval(iv.start, iv.end + (i < last), iv.left, 0) for i, iv in enumerate(intervals)]
        time = tuple(_encode_time_tile(iv, time_scale) for iv in intervals)
    return TileLayout(time, height, width, out)


def _encode_time_tile(iv: _Interval, scale: int) -> AxisTile:
    dst = slice(iv.start // scale, (iv.end - 1) // scale + 1)
    left = 0 if iv.left == 0 else 1 + (iv.left - 1) // scale
    return AxisTile(slice(iv.start, iv.end), dst, box_mask(dst.stop - dst.start, left, 0))
