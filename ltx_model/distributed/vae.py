"""Distributed tiled video-VAE decode: tiles round-robin across ranks, blended on rank 0 as on one device.

Every rank calls :func:`decode_tiled_distributed` with the same latent. The tiles of
:func:`~ltx_model.video_vae.decode_layout` are numbered in the single-device visiting order (time-major, then
height, width); tile ``i`` is decoded and weighted by rank ``i mod W`` and sent to rank 0, which sums the tiles in
exactly :meth:`VideoVAE.iter_decode_tiled`'s order (per temporal slice a fresh buffer, tiles added in order, then the
previous slice's overlap added in; normalised per axis in the same order). The result is bitwise the single-device
decode (the tile arithmetic is the same on every rank). Only rank 0 returns the video; the other ranks return None.

Interrupt: the tiles go in rounds of W (round ``r`` = tiles ``rW .. rW + W - 1``, one per rank); before each round
every rank calls the collective ``check`` (e.g. :meth:`~ltx_model.distributed.workers.JobControl.check`), so a
Cancel stops every rank within one round, between two rounds' sends (no tile is left in flight).

What scales: decode latency, about 1/W of the tiles per rank (the decoder weights are replicated). Reference:
Lightricks/LTX-2 ``ltx_core/multigpu/vae/distributed_decoder.py`` (read, not copied).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.distributed as dist

from ..video_vae import TileProgress, TilingConfig, VideoVAE, decode_layout
from ..video_vae.tiling import AxisTile
from .groups import Rank


def decode_tiled_distributed(vae: VideoVAE, latent: torch.Tensor, tiling: TilingConfig | None, rank: Rank, *,
                             progress: TileProgress | None = None,
                             check: Callable[[], None] | None = None) -> torch.Tensor | None:
    """Decode ``latent`` (B, C, 1+k, h, w) with the tiles spread over ``rank``'s group.

    Returns the video ``(B, 3, 1+8k, 32h, 32w)`` (latent dtype) on rank 0, None elsewhere. ``progress(done, total)``
    is called on rank 0 after each tile; ``check()`` on every rank before each round of W tiles (collective; it
    raises to stop). Rank 0 assembles through :meth:`VideoVAE.iter_decode_tiled` itself (its ``tile_source``
    receives the other ranks' tiles), so the blend is the single-device one.
    """
    cfg = vae.config
    layout = decode_layout(tuple(latent.shape[2:]), tiling, time_scale=cfg.time_scale, space_scale=cfg.space_scale)
    tiles = [(t, h, w) for t in layout.time for h, w in layout.spatial_tiles()]
    check = check or (lambda: None)
    if not rank.is_driver:
        for first in range(0, len(tiles), rank.world_size):  # one round: every rank checks, then sends its tile
            check()
            if first + rank.rank < len(tiles):
                dist.send(vae.weighted_tile(latent, *tiles[first + rank.rank]).contiguous(), 0, group=rank.group)
        return None
    out = torch.empty(vae.pixel_shape(latent.shape), device=latent.device, dtype=latent.dtype)

    def source(index: int, t: AxisTile, h: AxisTile, w: AxisTile) -> torch.Tensor:
        """Tile ``index`` weighted: decoded here when rank 0 owns it, else received from its owner."""
        owner = index % rank.world_size
        if owner == 0:
            check()  # rank 0 owns the first tile of every round
            return vae.weighted_tile(latent, t, h, w)
        shape = (latent.shape[0], 3, t.dst.stop - t.dst.start, h.dst.stop - h.dst.start, w.dst.stop - w.dst.start)
        buffer = torch.empty(shape, device=latent.device, dtype=latent.dtype)
        dist.recv(buffer, owner, group=rank.group)
        return buffer

    for first, chunk in vae.iter_decode_tiled(latent, tiling, progress=progress, tile_source=source):
        out[:, :, first:first + chunk.shape[2]] = chunk
    return out
