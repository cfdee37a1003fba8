"""The LTX-2.5 diffusion video VAE (``vae/ltx-2.5-video-vae-*``, ``CausalDiffusionVAE``) as a ``comfy.sd.VAE``.

:class:`LTX25VideoVAEHost` is a real ``comfy.sd.VAE``: core ``VAEDecode`` / ``VAEDecodeTiled`` / ``VAEEncode`` and
the LTXV image nodes run it (core's decode runs the file's default decode steps with seed
:data:`DEFAULT_DECODE_SEED`). "Decode Video (LTX-2)" calls :meth:`LTX25VideoVAEHost.decode_video`, which adds:

* the decode steps and seed of the seeded stage-5 denoiser (0 steps = the file's ``default_num_inference_steps``);
* tiles sized from the free device memory (:func:`tile_bytes` per plan, the first plan that fits
  :data:`FREE_MEMORY_SHARE` of ``get_free_memory``); the whole-video tensors (noise canvas, stage-1-3 features,
  blended output) stay on the host's intermediate device, so the accelerator holds one tile at a time and its use
  does not grow with the video's length;
* one progress step per tile and decode step (the interrupt is checked there);
* on an out-of-memory error, the tile is halved (largest spatial axis first, then time) and the decode retried,
  with a warning in the log.

Tiles carry the exact receptive field of stages 4-5 (the library's default halo), so a tiled decode equals the
untiled one up to float rounding. On an accelerator the neighbourhood attention runs on comfy-kitchen's ``na3d``
when it is installed (ComfyUI ships it); on the CPU the library's chunked pure-PyTorch kernel is used (bounded memory).
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import comfy.model_management
import comfy.sd
import torch
from torch import nn

from ..ltx_model.video_vae import DiffusionTiling, LTX25VideoVAE, NA3DFunction, build_ltx25_video_vae
from ..ltx_model.video_vae.diffusion_tiling import peak_tile_cells, plan_tiles, stage4_grid, tile_count
from ..ltx_model.video_vae.neighborhood import GATHER_BUDGET
from .progress import HostProgress
from .vae_host import (
    FREE_MEMORY_SHARE,
    attach_host_module,
    init_host_vae,
    is_out_of_memory,
    output_dtype,
    pixel_bytes,
    vae_origin,
)

mm = comfy.model_management

DEFAULT_DECODE_SEED = 0  # seed of core VAEDecode / VAEDecodeTiled decodes (they have no seed input)
ACTIVATION_COPIES = 8  # block-width tensors alive at once in an NA block (input, norm, q/k/v, SwiGLU, residual)
FLOAT32_PIXEL_COPIES = 4  # stage-5 pixels held in float32 per cell: x_t, prediction, Euler temporaries
MIN_TILE = (4, 8, 8)  # smallest tile core (stage-4 frames, rows, columns) the OOM retry goes down to


def kitchen_na3d(device: torch.device) -> NA3DFunction | None:
    """comfy-kitchen's ``na3d`` for an accelerator when installed, else None (the library's own kernel)."""
    if device.type == "cpu":
        return None
    try:
        return importlib.import_module("comfy_kitchen").na3d
    except (ImportError, AttributeError):
        return None


# ---------------------------------------------------------------------------------------------- tile plans
def tile_bytes(model: LTX25VideoVAE, cells: int, dtype: torch.dtype) -> float:
    """Working bytes of stages 4-5 over ``cells`` stage-4 input cells (one tile's source region).

    Per stage-4 cell: the stage-4 blocks at their width, and ``prod(stride)`` stage-5 cells holding the context, the
    diffusion blocks' activations and the float32 pixels of one ``patch x patch`` patch; plus the neighbourhood
    attention's bounded gather buffers (keys, values, scores)."""
    cfg = model.decoder.config
    stride = math.prod(cfg.upsamples[-1][0])
    width4 = cfg.stage_channels[len(cfg.upsamples) - 1]
    width5 = max(cfg.stage5_channels, cfg.context_channels)
    per_cell = mm.dtype_size(dtype) * ACTIVATION_COPIES * (width4 + stride * width5)
    per_cell += stride * cfg.patch_size**2 * cfg.out_channels * 4 * FLOAT32_PIXEL_COPIES
    return cells * per_cell + 3 * GATHER_BUDGET * mm.dtype_size(dtype)


@dataclass(frozen=True)
class TilePlan:
    """One way to decode a latent: the tiling, its largest tile's working bytes and the number of tiles."""

    tiling: DiffusionTiling
    nbytes: float
    tiles: int


def halve(tile: tuple[int, int, int]) -> tuple[int, int, int] | None:
    """The next smaller tile: the larger spatial axis halved, then time; None at :data:`MIN_TILE`."""
    order = sorted((1, 2), key=lambda a: -tile[a]) + [0]
    for axis in order:
        if tile[axis] > MIN_TILE[axis]:
            smaller = list(tile)
            smaller[axis] = max(MIN_TILE[axis], -(-tile[axis] // 2))
            return tuple(smaller)  # type: ignore[return-value]
    return None


def tile_plans(model: LTX25VideoVAE, latent_shape: Sequence[int], steps: int, dtype: torch.dtype) -> list[TilePlan]:
    """Whole video first, then each tile halved in turn (:func:`halve`), for latent ``(B, C, T, h, w)``; a plan is
    kept only when its largest tile (halo included) is smaller than the previous plan's."""
    decoder = model.decoder
    grid = stage4_grid(decoder, tuple(latent_shape))
    blend = DiffusionTiling().blend
    plans: list[TilePlan] = []
    tile: tuple[int, int, int] | None = grid
    while tile is not None:
        tiling = DiffusionTiling(tile=tile, blend=tuple(min(b, t // 2) for b, t in zip(blend, tile, strict=True)))
        spans = plan_tiles(decoder, grid, tiling, steps)
        nbytes = latent_shape[0] * tile_bytes(model, peak_tile_cells(spans), dtype)
        if not plans or nbytes < plans[-1].nbytes:
            plans.append(TilePlan(tiling, nbytes, tile_count(spans)))
        tile = halve(tile)
    return plans


def first_fitting(plans: Sequence[TilePlan], free_bytes: float) -> int:
    """Index of the first plan whose largest tile fits ``FREE_MEMORY_SHARE`` of ``free_bytes`` (else the last)."""
    budget = free_bytes * FREE_MEMORY_SHARE
    return next((i for i, p in enumerate(plans) if p.nbytes <= budget), len(plans) - 1)


# ---------------------------------------------------------------------------------------------- the VAE
class DiffusionVAEModule(nn.Module):
    """``first_stage_model``: :class:`LTX25VideoVAE` as child ``vae``, with ComfyUI's encode / decode contract."""

    def __init__(self, vae: LTX25VideoVAE) -> None:
        super().__init__()
        self.vae = vae

    @property
    def per_channel_statistics(self) -> nn.Module:
        """Latent statistics (``normalize`` / ``un_normalize``), read by core's ``LTXVLatentUpsampler``."""
        return self.vae.per_channel_statistics

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """Pixels (B, 3, 1 + 8k, H, W) in [-1, 1] -> normalised latent (B, 128, 1 + k, H/32, W/32)."""
        frames = 1 + (pixels.shape[2] - 1) // self.vae.decoder.config.time_scale * self.vae.decoder.config.time_scale
        return self.vae.encode(pixels[:, :, :frames])

    def decode(self, latent: torch.Tensor, **_vae_options: Any) -> torch.Tensor:
        """Normalised latent (B, 128, T, h, w) -> pixels (B, 3, 1 + 8(T-1), 32h, 32w): the file's default steps and
        seed :data:`DEFAULT_DECODE_SEED` (the path of core's tiled decode)."""
        generator = torch.Generator().manual_seed(DEFAULT_DECODE_SEED)
        return self.vae.decode(latent, generator=generator)


class LTX25VideoVAEHost(comfy.sd.VAE):
    """The LTX-2.5 diffusion video VAE of a file as ComfyUI's ``VAE`` (see the module docstring)."""

    def __init__(self, path: str) -> None:
        init_host_vae(self, [torch.bfloat16, torch.float32])
        vae = build_ltx25_video_vae(path, dtype=self.vae_dtype, na3d=kitchen_na3d(self.device))
        if not isinstance(vae, LTX25VideoVAE):
            raise ValueError("not a diffusion-decoder LTX-2.5 video VAE (load the conv variant as a conv VAE)")
        cfg = vae.decoder.config
        ts, ss = cfg.time_scale, cfg.space_scale
        self.latent_channels, self.latent_dim, self.output_channels = cfg.in_channels, 3, cfg.out_channels
        self.upscale_ratio = (lambda n: max(0, 1 + ts * (n - 1)), ss, ss)
        self.downscale_ratio = (lambda n: max(0, 1 + (n - 1) // ts), ss, ss)
        self.upscale_index_formula = self.downscale_index_formula = (ts, ss, ss)
        self.memory_used_decode = lambda shape, dtype: self.plans(shape, 0)[-1].nbytes
        if vae.encoder_config is not None:
            per_pixel = pixel_bytes(vae.encoder_config, vae.encoder_config.latent_channels, self.vae_dtype)
            self.memory_used_encode = lambda shape, dtype: per_pixel * math.prod(shape[2:])
        self.origin = vae_origin(path)
        attach_host_module(self, DiffusionVAEModule(vae))

    @property
    def model(self) -> LTX25VideoVAE:
        """The library model."""
        return self.first_stage_model.vae

    @property
    def default_steps(self) -> int:
        """The file's ``default_num_inference_steps``."""
        return self.model.decoder.config.default_num_inference_steps

    def plans(self, latent_shape: Sequence[int], steps: int) -> list[TilePlan]:
        """:func:`tile_plans` at this VAE's compute dtype (``steps`` 0 = the file's default)."""
        return tile_plans(self.model, latent_shape, steps or self.default_steps, self.vae_dtype)

    def decode(self, samples_in: torch.Tensor, vae_options: dict | None = None) -> torch.Tensor:
        """Core's ``VAE.decode``: latent (B, 128, T, h, w) -> pixels (B, 1 + 8(T-1), 32h, 32w, 3) in [0, 1], with
        the file's default steps, seed :data:`DEFAULT_DECODE_SEED` and this VAE's memory-sized tiles."""
        images = self.decode_video(samples_in, HostProgress())
        return images.reshape(samples_in.shape[0], -1, *images.shape[1:])

    def decode_video(self, latent: torch.Tensor, progress: Callable[[int, int], None], *, steps: int = 0,
                     seed: int = DEFAULT_DECODE_SEED) -> torch.Tensor:
        """Normalised latent (B, 128, T, h, w) -> IMAGE frames (B * (1 + 8(T-1)), 32h, 32w, 3) in [0, 1].

        ``steps`` 0 = the file's default. ``progress(done, total)`` runs after every decode step of every tile
        (total = tiles x steps; it may raise to interrupt)."""
        steps = steps or self.default_steps
        plans = self.plans(latent.shape, steps)
        # keep room for the whole decode, or for the library's default tiles when the whole would not fit anyway
        decoder = self.model.decoder
        default = peak_tile_cells(plan_tiles(decoder, stage4_grid(decoder, latent.shape), DiffusionTiling(), steps))
        wanted = min(plans[0].nbytes, latent.shape[0] * tile_bytes(self.model, default, self.vae_dtype))
        mm.load_models_gpu([self.patcher], memory_required=wanted, force_full_load=self.disable_offload)
        start = first_fitting(plans, mm.get_free_memory(self.device))
        pixels = self._decode_with_retry(latent, plans[start:], steps, seed, progress)
        images = pixels.to(dtype=output_dtype(self)).movedim(1, -1)
        self.process_output(images)
        return images.reshape(-1, *images.shape[-3:])

    def _decode_with_retry(self, latent: torch.Tensor, plans: Sequence[TilePlan], steps: int, seed: int,
                           progress: Callable[[int, int], None]) -> torch.Tensor:
        """Decode with the first plan; after an out-of-memory error, halve the tile and retry (logged)."""
        for index, plan in enumerate(plans):
            failed = False
            try:
                return self._decode_once(latent, plan, steps, seed, progress)
            except mm.OOM_EXCEPTION as exc:
                if not is_out_of_memory(exc) or index == len(plans) - 1:
                    raise
                failed = True  # leave the except block first so the failed attempt's tensors can be freed
            if failed:
                logging.warning("LTX-2.5 video decode ran out of memory with tiles of %s stage-4 cells (%d tiles); "
                                "retrying with %s", plan.tiling.tile, plan.tiles, plans[index + 1].tiling.tile)
                mm.soft_empty_cache()
        raise RuntimeError("no decode plan")  # unreachable: the last plan re-raises

    def _decode_once(self, latent: torch.Tensor, plan: TilePlan, steps: int, seed: int,
                     progress: Callable[[int, int], None]) -> torch.Tensor:
        """One tiled decode with ``plan``: pixels (B, 3, F, H, W) in [-1, 1] on the output device."""
        total, done = plan.tiles * steps, [0]

        def on_step() -> None:
            done[0] += 1
            progress(done[0], total)

        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            work = latent.to(device=self.device, dtype=self.vae_dtype)
            pixels = self.model.decode(work, generator=generator, steps=steps, tiling=plan.tiling,
                                       on_step=on_step, store=torch.device(self.output_device))
        return pixels.to(self.output_device)

