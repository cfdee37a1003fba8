"""Tiled decode for the LTX-2.5 diffusion video decoder: stages 4-5 per overlapping tile, blended.

Stages 1-3 run once on the whole (cheap) latent, as in ltx-core and diffusers: their output holds about two values
per output pixel. Stages 4 and 5 - the context and the stage-5 denoiser, about twenty times that per pixel - run
per tile of the stage-4 input grid (one cell = 2 frames x 8 x 8 pixels for the published config), so their
working size is bounded by the tile, whatever the video's length or size.

Each tile has a **core** (the tiles' cores partition the grid), a **keep** region (core widened by ``blend`` cells
on every inner side; neighbouring keep regions overlap by ``2·blend`` cells and are cross-faded with linear ramps
that sum to one), and a **source** region (keep widened by ``halo`` cells of context on every inner side). With the
default halo - the exact receptive field of stages 4 and 5 over all decode steps - every kept pixel equals the
untiled decode's up to float rounding (the tests check it), so the blend never shows a seam; a smaller ``halo``
trades that exactness for speed. The noise of every tile is sliced from one seeded canvas over the whole video,
so overlapping tiles denoise the same noise (a one-step x0 decoder draws fresh noise per tile, as ltx-core does).

ltx-core 1.2 plans its tiles from a memory budget with a one-step halo (its tiled output is close to, not equal
to, the untiled one); diffusers blends per-tile outputs without a halo. Our plan differs from both on purpose: it
reproduces the untiled reference exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .diffusion_decoder import DiffusionDecoder


@dataclass(frozen=True)
class DiffusionTiling:
    """Tile sizes on the stage-4 input grid (frames, rows, columns; x2 frames and x8 pixels for the real config).

    Attributes:
        tile: core extent of one tile per axis.
        blend: cells cross-faded on each side of an inner tile edge.
        halo: context cells on each inner side (None: the exact receptive field, see :func:`exact_halo`).
    """

    tile: tuple[int, int, int] = (16, 48, 48)
    blend: tuple[int, int, int] = (1, 2, 2)
    halo: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        if min(self.tile) < 1 or min(self.blend) < 0 or (self.halo is not None and min(self.halo) < 0):
            raise ValueError(f"invalid diffusion VAE tiling {self}")


@dataclass(frozen=True)
class AxisSpan:
    """One tile along one axis, in stage-4 cells: ``src`` is decoded, ``keep`` is blended into the output."""

    src: tuple[int, int]
    keep: tuple[int, int]
    ramp: tuple[int, int]  # blended cells at the start / end of ``keep`` (0 at the grid border)


def exact_halo(decoder: DiffusionDecoder, steps: int) -> tuple[int, int, int]:
    """Cells of stage-4 input that influence a pixel: stage-4 blocks plus ``steps`` passes of the stage-5 blocks."""
    cfg = decoder.config
    stride = cfg.upsamples[-1][0]
    k4, depth4, depth5 = cfg.stage_kernels[len(cfg.upsamples) - 1], cfg.stage_depths[-2], cfg.stage_depths[-1]
    return tuple(depth4 * (k4[a] // 2) + -(-(steps * depth5 * (cfg.stage5_kernel[a] // 2)) // stride[a])
                 for a in range(3))  # type: ignore[return-value]


def axis_spans(length: int, tile: int, blend: int, halo: int, minimum: int) -> list[AxisSpan]:
    """Split ``[0, length)`` into cores of ``tile`` cells (a last core shorter than ``max(minimum, 2·blend)`` is
    merged into the previous one) and widen them into keep and source regions."""
    starts = list(range(0, length, tile))
    while len(starts) > 1 and length - starts[-1] < max(minimum, 2 * blend, 1):
        starts.pop()
    ends = starts[1:] + [length]
    spans = []
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        left, right = (blend if i > 0 else 0), (blend if i + 1 < len(starts) else 0)
        keep = (a - left, b + right)
        src = (max(0, keep[0] - halo), min(length, keep[1] + halo))
        spans.append(AxisSpan(src=src, keep=keep, ramp=(2 * left, 2 * right)))
    return spans


def plan_tiles(
    decoder: DiffusionDecoder, grid: tuple[int, int, int], tiling: DiffusionTiling, steps: int
) -> list[list[AxisSpan]]:
    """Per-axis spans over the stage-4 grid (frames without ghost frames, rows, columns)."""
    cfg = decoder.config
    halo = tiling.halo if tiling.halo is not None else exact_halo(decoder, steps)
    k4, stride = cfg.stage_kernels[len(cfg.upsamples) - 1], cfg.upsamples[-1][0]
    minimum = [max(k4[a], -(-cfg.stage5_kernel[a] // stride[a])) for a in range(3)]
    return [axis_spans(grid[a], tiling.tile[a], tiling.blend[a], halo[a], minimum[a]) for a in range(3)]


def peak_tile_cells(plan: list[list[AxisSpan]]) -> int:
    """Largest source volume (stage-4 cells) of any tile: the plan's peak working size."""
    return math.prod(max(s.src[1] - s.src[0] for s in spans) for spans in plan)


def _first_frame(cell: int, stride: int) -> int:
    """First output frame of stage-4 frame ``cell`` (frame 0 maps to one frame, every later one to ``stride``)."""
    return max(stride * cell - (stride - 1), 0)


def _ramp(n_out: int, ramp: tuple[int, int], scale_in: tuple[int, int]) -> torch.Tensor:
    """1-D weights over ``n_out`` kept samples: rising over the first ``scale_in[0]`` samples if ``ramp[0]``, falling
    over the last ``scale_in[1]`` if ``ramp[1]``; values i/(n+1) so two facing ramps sum to one."""
    w = torch.ones(n_out, dtype=torch.float32)
    if ramp[0]:
        n = scale_in[0]
        w[:n] = torch.arange(1, n + 1, dtype=torch.float32) / (n + 1)
    if ramp[1]:
        n = scale_in[1]
        w[n_out - n :] = torch.arange(n, 0, -1, dtype=torch.float32) / (n + 1)
    return w


def _axis_pixels(span: AxisSpan, axis: int, stride: int, scale: int) -> tuple[slice, slice, torch.Tensor]:
    """(source pixel slice, kept pixel slice, kept weights) of one span; temporal axis 0 uses the causal map."""
    def px(cell: int) -> int:
        return _first_frame(cell, stride) if axis == 0 else cell * scale

    src = slice(px(span.src[0]), None)
    keep = slice(px(span.keep[0]), px(span.keep[1]))
    ramps = (px(span.keep[0] + span.ramp[0]) - keep.start, keep.stop - px(span.keep[1] - span.ramp[1]))
    return src, keep, _ramp(keep.stop - keep.start, span.ramp, ramps)


def stage4_grid(decoder: DiffusionDecoder, latent_shape: tuple[int, ...] | torch.Size) -> tuple[int, int, int]:
    """The stage-4 input grid (frames without ghost frames, rows, columns) of a latent ``(B, C, T, h, w)``: what
    :func:`decode_tiled` tiles, computed from the shape alone (size floor, ghost frames, stage 1-3 upsamples)."""
    cfg = decoder.config
    decoder.pixel_shape(latent_shape)
    t, h, w = (max(n, m) for n, m in zip(latent_shape[2:], decoder.min_latent_size(), strict=True))
    t, ghost = t + cfg.trailing_pad_frames, cfg.trailing_pad_frames
    for stride, _ in cfg.upsamples[:-1]:
        t = stride[0] * t - (1 if stride[0] == 2 else 0)  # drop_leading_frame after a 2x temporal upsample
        ghost, h, w = ghost * stride[0], h * stride[1], w * stride[2]
    return t - ghost, h, w


def tile_count(plan: list[list[AxisSpan]]) -> int:
    """Number of tiles of a plan."""
    return math.prod(len(spans) for spans in plan)


def decode_tiled(
    decoder: DiffusionDecoder, latent: torch.Tensor, tiling: DiffusionTiling,
    generator: torch.Generator | None = None, steps: int | None = None, *,
    on_step: Callable[[], None] | None = None, store: torch.device | None = None,
) -> torch.Tensor:
    """Raw latent ``(B, C, T, h, w)`` -> pixels, stages 4-5 per tile (see the module docstring).

    ``on_step()`` runs after every decode step of every tile (``tile_count x steps`` calls; it may raise to abort).
    ``store``: device of the whole-video tensors (noise canvas, stage-1-3 features, blended output; default: the
    latent's); each tile is moved to the latent's device for stages 4-5, so that device holds one tile at a time.
    """
    cfg = decoder.config
    steps = steps or cfg.default_num_inference_steps
    compute = latent.device
    work, before = decoder.prepare(latent)
    noise = None if decoder.single_step_x0(steps) else decoder.noise(work, generator, store)
    feat = decoder.stages_1_to_3(decoder.with_ghost(work)).to(store or compute)  # (B, T4 + ghost, H4, W4, C4)
    grid = stage4_grid(decoder, latent.shape)
    plan = plan_tiles(decoder, grid, tiling, steps)
    if tile_count(plan) == 1:
        context = decoder.stage_4(feat.to(compute), drop_leading_frame=True, crop_ghost=True)
        x_t = decoder.initial_x(context, noise, generator).to(compute)
        return decoder.crop(decoder.denoise(context, x_t, steps, on_step), latent.shape, before).to(store or compute)
    full = decoder.pixel_shape(work.shape)
    out = torch.zeros(full, dtype=torch.promote_types(work.dtype, torch.float32), device=store or compute)
    totals = [torch.zeros(n, dtype=out.dtype, device=out.device) for n in full[2:]]
    stride, scale = cfg.upsamples[-1][0], cfg.upsamples[-1][0][1] * cfg.patch_size
    for t in plan[0]:
        for h in plan[1]:
            for w in plan[2]:
                _decode_one(decoder, feat, (noise, generator), out, totals, (t, h, w), grid,
                            (stride, scale, steps, compute), on_step)
    for axis, total in enumerate(totals):
        shape = [1, 1, 1, 1, 1]
        shape[2 + axis] = -1
        out.div_(total.clamp_min(1e-8).view(shape))
    return decoder.crop(out.to(latent.dtype), latent.shape, before)


def _decode_one(
    decoder: DiffusionDecoder, feat: torch.Tensor, noise: tuple[torch.Tensor | None, torch.Generator | None],
    out: torch.Tensor, totals: list[torch.Tensor], spans: tuple[AxisSpan, ...], grid: tuple[int, int, int],
    run: tuple[tuple[int, int, int], int, int, torch.device], on_step: Callable[[], None] | None,
) -> None:
    """Decode one tile's source region and add its weighted kept pixels into ``out``; ``run`` is (stage-4 stride,
    pixels per stage-4 cell, steps, compute device)."""
    stride, scale, steps, compute = run
    t, h, w = spans
    t_stop = feat.shape[1] if t.src[1] >= grid[0] else t.src[1]  # the last tile carries the ghost frames
    src = feat[:, t.src[0] : t_stop, h.src[0] : h.src[1], w.src[0] : w.src[1]].to(compute)
    context = decoder.stage_4(src, drop_leading_frame=t.src[0] == 0, crop_ghost=t_stop == feat.shape[1])
    pixel = [_axis_pixels(span, a, stride[a], scale) for a, span in enumerate(spans)]
    starts = [p[0].start for p in pixel]
    patch = decoder.config.patch_size
    sizes = (context.shape[1], context.shape[2] * patch, context.shape[3] * patch)
    video_noise, generator = noise
    if video_noise is None:  # one-step x0: fresh noise per tile, as ltx-core
        x_t = decoder.initial_x(context, None, generator)
    else:
        x_t = video_noise[(slice(None), slice(None), *(slice(s, s + n) for s, n in zip(starts, sizes, strict=True)))]
    pixels = decoder.denoise(context, x_t.to(compute), steps, on_step).to(out.device)
    local = [slice(p[1].start - s, p[1].stop - s) for p, s in zip(pixel, starts, strict=True)]
    weight = pixel[0][2].view(-1, 1, 1) * pixel[1][2].view(1, -1, 1) * pixel[2][2].view(1, 1, -1)
    kept = pixels[:, :, local[0], local[1], local[2]].to(out.dtype) * weight.to(out)
    out[:, :, pixel[0][1], pixel[1][1], pixel[2][1]] += kept
    for axis in range(3):
        totals[axis][pixel[axis][1]] += pixel[axis][2].to(out) if _first_in_other_axes(spans, axis) else 0


def _first_in_other_axes(spans: tuple[AxisSpan, ...], axis: int) -> bool:
    """Count a span's weights once per axis: only for tiles at the start of both other axes."""
    return all(s.keep[0] == 0 for a, s in enumerate(spans) if a != axis)
