"""The LTX-2 / LTX-2.3 video VAE: normalised-latent encode/decode, whole or tiled (ltx-core 1.0.0 numerics).

State-dict keys equal the checkpoint keys minus ``vae.``: ``encoder.*``, ``decoder.*`` and
``per_channel_statistics.{std-of-means,mean-of-means}``. The file's other two statistics keys are not parameters
(see :data:`IGNORED_STATE_KEYS`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import Enum

import torch
from torch import nn

from ..loading.keymaps import VIDEO_VAE_PREFIX as FILE_PREFIX
from ..modes.geometry import frames_problem, size_problem
from .config import PaddingMode, VideoVAEConfig
from .layers import Operations, PerChannelStatistics
from .networks import VideoDecoder, VideoEncoder
from .tiling import AxisTile, TileLayout, TilingConfig, decode_layout, encode_layout

# Present in the real files but not used by the model (ltx-core ignores them too); a strict loader drops these.
IGNORED_STATE_KEYS: tuple[str, ...] = ("per_channel_statistics.channel", "per_channel_statistics.mean-of-stds")
IGNORED_FILE_KEYS: tuple[str, ...] = tuple(FILE_PREFIX + k for k in IGNORED_STATE_KEYS)

# progress(done_tiles, total_tiles), called once after every tile; raising from it aborts the encode/decode
# (e.g. ComfyUI's interrupt check), nothing is left allocated beyond the caller's own tensors.
TileProgress = Callable[[int, int], None]
TileSource = Callable[[int, AxisTile, AxisTile, AxisTile], torch.Tensor]
"""``(tile index, t, h, w) -> weighted tile`` (B, 3, n_t, n_h, n_w): where :meth:`VideoVAE.iter_decode_tiled` gets
its tiles from (default: :meth:`VideoVAE.weighted_tile` in this process; the distributed decode receives them)."""


class VAEParts(Enum):
    """Which halves of the VAE to build (the statistics are always built)."""

    BOTH = "both"
    ENCODER = "encoder"
    DECODER = "decoder"


def _tile_weights(t: AxisTile, h: AxisTile, w: AxisTile, like: torch.Tensor) -> torch.Tensor:
    """Separable blend weights of one tile, (T, H, W), on ``like``'s device and dtype."""
    mask = t.mask.view(-1, 1, 1) * h.mask.view(1, -1, 1) * w.mask.view(1, 1, -1)
    return mask.to(device=like.device, dtype=like.dtype)


def _normalize_chunk(chunk: torch.Tensor, first_frame: int, weights: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Divide an accumulated (B, C, n, H, W) chunk in place by the summed tile weights of its frames."""
    w_t, w_h, w_w = weights
    chunk.div_(w_t[first_frame : first_frame + chunk.shape[2]].view(-1, 1, 1))
    chunk.div_(w_h.view(-1, 1))
    return chunk.div_(w_w)


class VideoVAE(nn.Module):
    """Video VAE with ``encoder``, ``decoder`` and ``per_channel_statistics``.

    Latents are normalised per channel: ``(mu - mean_of_means) / std_of_means``. Pixels are ``(B, 3, 1+8k, H, W)``
    in [-1, 1] with H, W multiples of 32; latents are ``(B, 128, 1+k, H/32, W/32)`` (for the real configs).

    Args:
        config: :class:`VideoVAEConfig`.
        dtype / device: parameter dtype and device (``device="meta"`` builds without allocating).
        operations: layer namespace (``torch.nn`` or ``comfy.ops.*``); only ``Conv3d`` is used.
        parts: build both halves or only the encoder / decoder (the other attribute is then ``None``).
    """

    def __init__(
        self,
        config: VideoVAEConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: Operations = nn,
        parts: VAEParts = VAEParts.BOTH,
    ) -> None:
        super().__init__()
        self.config = config
        factory = {"dtype": dtype, "device": device, "operations": operations}
        self.encoder = VideoEncoder(config, **factory) if parts is not VAEParts.DECODER else None
        self.decoder = VideoDecoder(config, **factory) if parts is not VAEParts.ENCODER else None
        self.per_channel_statistics = PerChannelStatistics(config.latent_channels, dtype=dtype, device=device)

    # ------------------------------------------------------------------ shapes
    def latent_shape(self, pixel_shape: tuple[int, ...] | torch.Size) -> tuple[int, int, int, int, int]:
        """Pixels ``(B, 3, F, H, W)`` -> latent ``(B, C, 1+(F-1)/8, H/32, W/32)``.

        Raises ValueError unless F = 1 + 8k and H, W are multiples of 32 (the real configs' scales)."""
        cfg = self.config
        if len(pixel_shape) != 5 or pixel_shape[1] != cfg.in_channels:
            raise ValueError(
                f"video VAE encode expects pixels (B, {cfg.in_channels}, F, H, W), got {tuple(pixel_shape)}"
            )
        b, _, f, h, w = pixel_shape
        ts, ss = cfg.time_scale, cfg.space_scale
        problem = frames_problem(f, "video VAE encode input", ts) or size_problem(
            w, h, what="video VAE encode input's width and height", multiple=ss)
        if problem:
            raise ValueError(problem)
        return (b, cfg.latent_channels, 1 + (f - 1) // ts, h // ss, w // ss)

    def pixel_shape(self, latent_shape: tuple[int, ...] | torch.Size) -> tuple[int, int, int, int, int]:
        """Latent ``(B, C, F', h, w)`` -> pixels ``(B, 3, 1+8(F'-1), 32h, 32w)``.

        Raises ValueError for a wrong layout, or h or w below 2 with a reflect-padded decoder (19B)."""
        cfg = self.config
        if len(latent_shape) != 5 or latent_shape[1] != cfg.latent_channels or min(latent_shape) < 1:
            raise ValueError(
                f"video VAE decode expects latents (B, {cfg.latent_channels}, F, h, w), got {tuple(latent_shape)}"
            )
        b, _, f, h, w = latent_shape
        if cfg.decoder_padding is PaddingMode.REFLECT and min(h, w) < 2:
            # reflection padding of a 1-cell-wide axis is undefined (ltx-core fails inside F.pad here too)
            raise ValueError(
                f"this video VAE decoder (reflect padding) needs latents of at least 2x2 cells, got {h}x{w}"
            )
        ss = cfg.space_scale
        return (b, cfg.out_channels, 1 + cfg.time_scale * (f - 1), h * ss, w * ss)

    def _need(self, part: nn.Module | None, name: str) -> nn.Module:
        if part is None:
            raise RuntimeError(f"this VideoVAE was built without its {name}")
        return part

    # ------------------------------------------------------------------ whole-tensor encode / decode
    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels (B, 3, 1+8k, H, W) in [-1, 1] -> normalised latent (B, C, 1+k, H/32, W/32), same dtype/device."""
        self.latent_shape(pixels.shape)
        encoder = self._need(self.encoder, "encoder")
        return self.per_channel_statistics.normalize(encoder(pixels))

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """normalised latent (B, C, 1+k, h, w) -> pixels (B, 3, 1+8k, 32h, 32w), unclamped, same dtype/device."""
        self.pixel_shape(latent.shape)
        decoder = self._need(self.decoder, "decoder")
        return decoder(self.per_channel_statistics.un_normalize(latent))

    # ------------------------------------------------------------------ tiled encode / decode
    def encode_tiled(
        self,
        pixels: torch.Tensor,
        tiling: TilingConfig | None = None,
        *,
        progress: TileProgress | None = None,
        compute_device: torch.device | str | None = None,
        compute_dtype: torch.dtype | None = None,
    ) -> torch.Tensor:
        """Encode tile by tile (ltx-core ``tiled_encode``): each tile is moved to ``compute_device`` /
        ``compute_dtype`` (default: the input's), encoded, and its latent blended with 0/1 masks.

        pixels (B, 3, 1+8k, H, W) -> normalised latent (B, C, 1+k, H/32, W/32) on the pixels' device and dtype.
        """
        b, c, *latent_size = self.latent_shape(pixels.shape)
        cfg = self.config
        layout = encode_layout(tuple(pixels.shape[2:]), tiling, time_scale=cfg.time_scale, space_scale=cfg.space_scale)
        acc_dtype = torch.promote_types(pixels.dtype, torch.float32)
        acc = torch.zeros(b, c, *latent_size, device=pixels.device, dtype=acc_dtype)
        dev, dt = compute_device or pixels.device, compute_dtype or pixels.dtype
        done = 0
        for t in layout.time:
            for h, w in layout.spatial_tiles():
                tile = pixels[:, :, t.src, h.src, w.src].to(device=dev, dtype=dt)
                latent = self.encode(tile)
                acc[:, :, t.dst, h.dst, w.dst] += (latent * _tile_weights(t, h, w, latent)).to(acc)
                del tile, latent
                done += 1
                if progress is not None:
                    progress(done, len(layout))
        weights = tuple(layout.axis_sum(axis).to(acc) for axis in range(3))
        return _normalize_chunk(acc, 0, weights).to(pixels.dtype)

    def iter_decode_tiled(
        self,
        latent: torch.Tensor,
        tiling: TilingConfig | None = None,
        *,
        progress: TileProgress | None = None,
        compute_device: torch.device | str | None = None,
        compute_dtype: torch.dtype | None = None,
        tile_source: TileSource | None = None,
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """Decode tile by tile, yielding finished frame ranges as ``(first_frame, chunk)`` in order.

        ``tile_source`` supplies the weighted tiles in visiting order (time-major, then height, width); default:
        :meth:`weighted_tile` here.

        Tiles of one temporal slice are decoded on ``compute_device`` / ``compute_dtype`` (default: the latent's),
        weighted by their trapezoid masks and summed into a slice buffer (float32 or wider, on the latent's device);
        the overlap with the previous slice is added in, and the frames that no later tile touches are normalised
        and yielded (``chunk``: (B, 3, n, H, W)). Working memory is one slice buffer plus one tile's activations,
        independent of the video's length (ltx-core ``tiled_decode`` numerics).
        """
        b, c, _, height, width = self.pixel_shape(latent.shape)
        cfg = self.config
        layout: TileLayout = decode_layout(
            tuple(latent.shape[2:]), tiling, time_scale=cfg.time_scale, space_scale=cfg.space_scale
        )
        acc_dtype = torch.promote_types(latent.dtype, torch.float32)
        weights = tuple(layout.axis_sum(axis).to(device=latent.device, dtype=acc_dtype) for axis in range(3))
        dev, dt = compute_device or latent.device, compute_dtype or latent.dtype
        source = tile_source or (lambda _, t, h, w: self.weighted_tile(latent, t, h, w, device=dev, dtype=dt))
        pending: torch.Tensor | None = None
        pending_start, done = 0, 0
        for t in layout.time:
            buf = torch.zeros(b, c, t.dst.stop - t.dst.start, height, width, device=latent.device, dtype=acc_dtype)
            for h, w in layout.spatial_tiles():
                buf[:, :, :, h.dst, w.dst] += source(done, t, h, w).to(buf)
                done += 1
                if progress is not None:
                    progress(done, len(layout))
            if pending is not None:
                overlap = pending_start + pending.shape[2] - t.dst.start
                if overlap > 0:
                    buf[:, :, :overlap] += pending[:, :, pending.shape[2] - overlap :]
                finished = t.dst.start - pending_start  # frames no later tile touches (0 if both start at 0)
                if finished > 0:
                    yield pending_start, _normalize_chunk(pending[:, :, :finished], pending_start, weights)
            pending, pending_start = buf, t.dst.start
            del buf
        if pending is not None:
            yield pending_start, _normalize_chunk(pending, pending_start, weights)

    def weighted_tile(self, latent: torch.Tensor, t: AxisTile, h: AxisTile, w: AxisTile, *,
                      device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
        """Decode one tile of ``latent`` (on ``device`` / ``dtype``, default the latent's) and weight it by its blend
        masks: (B, 3, n_t, n_h, n_w)."""
        pixels = self.decode(latent[:, :, t.src, h.src, w.src].to(device=device or latent.device,
                                                                   dtype=dtype or latent.dtype))
        return pixels * _tile_weights(t, h, w, pixels)

    def decode_tiled(
        self,
        latent: torch.Tensor,
        tiling: TilingConfig | None = None,
        *,
        progress: TileProgress | None = None,
        compute_device: torch.device | str | None = None,
        compute_dtype: torch.dtype | None = None,
        out: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Tiled decode into a preallocated video: ``out`` (B, 3, 1+8k, 32h, 32w; any device/dtype) or a new tensor
        on the latent's device and dtype. See :meth:`iter_decode_tiled` for the arguments. Returns ``out``."""
        shape = self.pixel_shape(latent.shape)
        if out is None:
            out = torch.empty(shape, device=latent.device, dtype=latent.dtype)
        elif tuple(out.shape) != shape:
            raise ValueError(f"video VAE decode_tiled: out has shape {tuple(out.shape)}, expected {shape}")
        chunks = self.iter_decode_tiled(
            latent, tiling, progress=progress, compute_device=compute_device, compute_dtype=compute_dtype
        )
        for first, chunk in chunks:
            out[:, :, first : first + chunk.shape[2]] = chunk
            del chunk
        return out
