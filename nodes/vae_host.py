"""The conv video VAE (LTX-2, LTX-2.3, LTX-2.5 conv variant) as a ``comfy.sd.VAE``, and the host helpers every
VAE of this pack shares (audio VAE, LTX-2.5 diffusion VAE).

:class:`LTX2VideoVAE` is a real ``comfy.sd.VAE`` (its fields set as core sets them for its own LTX VAE), so core
``VAEDecode`` / ``VAEDecodeTiled`` / ``VAEEncode`` and the core LTXV nodes (``LTXVImgToVideoInplace``,
``LTXVAddGuide``, ``LTXVLatentUpsampler``) accept it and run our model. :meth:`LTX2VideoVAE.decode_video` is what
"Decode Video (LTX-2)" (``nodes/vae.py``) runs: the library's tiled decoder, tiles sized from the device's free
memory, one progress step per tile, interruptible, and retried with smaller tiles after an out-of-memory error.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import comfy.model_management
import comfy.model_patcher
import comfy.ops
import comfy.sd
import torch
import torch.nn.functional as F
from torch import nn

from ..ltx_model.loading import (
    Component,
    Family,
    FileKind,
    FilePart,
    SafetensorsHeader,
    detect,
    load_component,
    read_header,
)
from ..ltx_model.loading.keymaps import VIDEO_VAE_PREFIX
from ..ltx_model.modes import floor_frame_count, latent_frames, pixel_frames
from ..ltx_model.sampling.guidance import version_numbers
from ..ltx_model.video_vae import (
    PaddingMode,
    SpatialTilingConfig,
    TemporalTilingConfig,
    TilingConfig,
    VideoVAE,
    VideoVAEConfig,
    decode_layout,
)
from .model_folders import model_files, model_path
from .progress import HostProgress

mm = comfy.model_management


# ---------------------------------------------------------------------------------------------- shared host helpers
def resolve_model_file(name: str, kinds: Sequence[str]) -> str:
    """Full path of ``name`` in the first of the model folders ``kinds`` that lists it; a clear error otherwise."""
    for kind in kinds:
        if name in model_files(kind):
            return model_path(kind, name)
    raise FileNotFoundError(f"{name} is not in models/{' or models/'.join(kinds)}")


class _NoWeightsWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "No VAE weights detected" not in record.getMessage()


def init_host_vae(vae: comfy.sd.VAE, working_dtypes: list[torch.dtype]) -> None:
    """Give ``vae`` every field the running host's ``VAE.__init__`` sets (``sd={}`` returns right after the
    defaults; its "no weights" warning is dropped), then the device, dtype and output device for our module."""
    quiet = _NoWeightsWarning()
    logging.getLogger().addFilter(quiet)
    try:
        comfy.sd.VAE.__init__(vae, sd={})
    finally:
        logging.getLogger().removeFilter(quiet)
    vae.working_dtypes = list(working_dtypes)
    vae.device = mm.vae_device()
    vae.vae_dtype = mm.vae_dtype(vae.device, vae.working_dtypes)
    vae.output_device = mm.intermediate_device()


def attach_host_module(vae: comfy.sd.VAE, module: nn.Module, *, disable_offload: bool = False) -> None:
    """Make ``module`` (weights loaded on the CPU) the VAE's ``first_stage_model`` under a model patcher, so
    ``load_models_gpu`` moves, offloads and (Dynamic VRAM) streams it like core's own VAEs."""
    vae.disable_offload = disable_offload
    vae.first_stage_model = module.eval()
    # ComfyUI 0.12.0 (#11845, adaptive model loading) added archive_model_dtypes and CoreModelPatcher (the class
    # main.py swaps for ModelPatcherDynamic under Dynamic VRAM); 0.8.0 to 0.11.x have neither and use ModelPatcher.
    if hasattr(mm, "archive_model_dtypes"):
        mm.archive_model_dtypes(module)
    patcher = getattr(comfy.model_patcher, "CoreModelPatcher", comfy.model_patcher.ModelPatcher)
    if disable_offload:
        patcher = comfy.model_patcher.ModelPatcher
    vae.patcher = patcher(module, load_device=vae.device, offload_device=mm.vae_offload_device())
    vae.size = None
    vae.model_size()


def output_dtype(vae: comfy.sd.VAE) -> torch.dtype:
    """dtype of decoded pixels / encoded latents on the host: ``VAE.vae_output_dtype()`` (ComfyUI 0.18.0, #12953,
    ``--fp16-intermediates``: ``intermediate_dtype``), float32 before."""
    method = getattr(vae, "vae_output_dtype", None)
    return method() if method is not None else torch.float32


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an accelerator out-of-memory error (never true for ordinary CPU errors)."""
    kinds = tuple(k for k in (getattr(torch, "OutOfMemoryError", None), torch.cuda.OutOfMemoryError) if k)
    return isinstance(exc, kinds) or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


@dataclass(frozen=True)
class VAEOrigin:
    """Where a VAE came from: its file name and the ``model_version`` its header gives (``"2.5"`` for a file of the
    LTX-2.5 family without one; None when nothing tells)."""

    file: str
    model_version: str | None

    @property
    def ltx25(self) -> bool:
        """Whether the VAE belongs to LTX-2.5 (its latents are refused by older VAEs and the reverse)."""
        return is_ltx25_version(self.model_version)


def is_ltx25_version(model_version: str | None) -> bool:
    """Whether a ``model_version`` is LTX-2.5 or newer (parsed by the one version parser, ``version_numbers``)."""
    return version_numbers(model_version)[:2] >= (2, 5)


def vae_origin(path: str) -> VAEOrigin:
    """The :class:`VAEOrigin` of a VAE file, from its header alone."""
    info = detect(read_header(path))
    version = info.model_version or ("2.5" if info.family is Family.LTX25 else None)
    return VAEOrigin(os.path.basename(path), version)


# ---------------------------------------------------------------------------------------------- memory estimates
ACTIVATION_COPIES = 6  # tensors of a block's width alive at once (input, conv out, norm, residual, temporaries)
OUTPUT_BYTES_PER_PIXEL = 3 * 4 * 3  # RGB float32: decoded tile, its weighted copy, the accumulation buffer


def pixel_bytes(config: VideoVAEConfig, width: int, dtype: torch.dtype) -> float:
    """Peak working bytes per video pixel (frame x height x width) of the encoder or decoder.

    Both run on space-to-depth patches (``patch_size``): the full-resolution stage holds ``width`` channels per
    ``patch_size**2`` pixels; each deeper stage has a quarter of the cells and at most twice the channels, so all
    stages together cost at most twice the first one.
    """
    per_copy = 2 * width / config.patch_size**2
    return ACTIVATION_COPIES * per_copy * mm.dtype_size(dtype) + OUTPUT_BYTES_PER_PIXEL


# ---------------------------------------------------------------------------------------------- tile plans
SPATIAL_TILES_PX = ((1024, 128), (768, 96), (512, 64), (384, 64), (256, 64), (128, 32), (64, 32))
TEMPORAL_TILES_FRAMES = ((64, 24), (32, 8), (16, 8))


@dataclass(frozen=True)
class DecodePlan:
    """One way to decode a latent: the tiling (``None`` axes = whole), its largest tile's working bytes and the
    number of tiles."""

    tiling: TilingConfig
    nbytes: float
    tiles: int


def decode_plan(config: VideoVAEConfig, latent_shape: Sequence[int], tiling: TilingConfig,
                bytes_per_pixel: float) -> DecodePlan:
    """The plan of ``tiling`` for a latent (B, C, F, h, w): its largest tile's pixels x ``bytes_per_pixel``."""
    layout = decode_layout(tuple(latent_shape[2:]), tiling, time_scale=config.time_scale,
                           space_scale=config.space_scale)
    extent = [max(tile.dst.stop - tile.dst.start for tile in axis) for axis in (layout.time, layout.height,
                                                                                  layout.width)]
    return DecodePlan(tiling, latent_shape[0] * extent[0] * extent[1] * extent[2] * bytes_per_pixel, len(layout))


def decode_plans(config: VideoVAEConfig, latent_shape: Sequence[int], bytes_per_pixel: float) -> list[DecodePlan]:
    """Every distinct tiling of ``latent_shape`` (B, C, F, h, w), largest tile first (untiled first); among plans
    with equally large tiles only the one with the fewest tiles is kept."""
    spatial = [None, *(SpatialTilingConfig(s, o) for s, o in SPATIAL_TILES_PX)]
    temporal = [None, *(TemporalTilingConfig(s, o) for s, o in TEMPORAL_TILES_FRAMES)]
    plans = [decode_plan(config, latent_shape, TilingConfig(s, t), bytes_per_pixel) for s in spatial for t in temporal]
    plans.sort(key=lambda p: (-p.nbytes, p.tiles))
    return [p for i, p in enumerate(plans) if i == 0 or p.nbytes < plans[i - 1].nbytes]


FREE_MEMORY_SHARE = 0.8  # of the free device memory a tile may use; the rest is headroom for the allocator


def first_fitting(plans: Sequence[DecodePlan], free_bytes: float) -> int:
    """Index of the first plan whose largest tile fits in ``FREE_MEMORY_SHARE`` of ``free_bytes`` (else the last)."""
    budget = free_bytes * FREE_MEMORY_SHARE
    return next((i for i, p in enumerate(plans) if p.nbytes <= budget), len(plans) - 1)


# ---------------------------------------------------------------------------------------------- the VAE
class VideoVAEModule(nn.Module):
    """``first_stage_model``: the :class:`VideoVAE` as child ``vae`` (so its state-dict keys are the official file
    keys) with ComfyUI's encode/decode contract."""

    def __init__(self, vae: VideoVAE) -> None:
        super().__init__()
        self.vae = vae

    @property
    def per_channel_statistics(self) -> nn.Module:
        """Latent statistics (``normalize`` / ``un_normalize``), read by core's ``LTXVLatentUpsampler``."""
        return self.vae.per_channel_statistics

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """Pixels (B, 3, T, H, W) in [-1, 1] -> normalised latent (B, 128, 1 + (T-1)//8, H/32, W/32).

        Frames beyond the last 1 + 8k are dropped, as core does for its LTX VAE (its ``downscale_ratio`` promises
        that length).
        """
        ts = self.vae.config.time_scale
        frames = floor_frame_count(pixels.shape[2], ts)
        if frames != pixels.shape[2]:
            logging.warning("LTX-2 video VAE encode: %d frames is not 1 + %dk; using the first %d",
                            pixels.shape[2], ts, frames)
        return self.vae.encode(pixels[:, :, :frames])

    def decode(self, latent: torch.Tensor, **_vae_options: Any) -> torch.Tensor:
        """Normalised latent (B, 128, F, h, w) -> pixels (B, 3, 1 + 8(F-1), 32h, 32w) in about [-1, 1].

        A reflect-padded decoder (19B) cannot decode a 1-cell-wide latent; core's tiler can cut such edge tiles, so
        they are replicate-padded to 2 cells and the extra pixels cropped. Core's ``vae_options`` are ignored.
        """
        h, w = latent.shape[-2:]
        grow_h, grow_w = max(0, 2 - h), max(0, 2 - w)
        if self.vae.config.decoder_padding is not PaddingMode.REFLECT or not (grow_h or grow_w):
            return self.vae.decode(latent)
        ss = self.vae.config.space_scale
        padded = F.pad(latent, (0, grow_w, 0, grow_h, 0, 0), mode="replicate")
        return self.vae.decode(padded)[..., : h * ss, : w * ss]


def _frames_up(scale: int) -> Callable[[int], int]:
    return lambda count: max(0, pixel_frames(count, scale))


def _frames_down(scale: int) -> Callable[[int], int]:
    return lambda frames: max(0, latent_frames(frames, scale))


def video_vae_source(path: str) -> SafetensorsHeader:
    """The file's header; for a standalone VAE stored without the ``vae.`` prefix (the layout core's VAELoader
    reads: ``encoder.*``, ``decoder.*``, ``per_channel_statistics.*``) a view naming its tensors with the prefix.
    The file's ``config`` metadata must still carry the ``vae`` section."""
    header = read_header(path)
    names = header.tensors
    prefixed = any(k.startswith(VIDEO_VAE_PREFIX) for k in names)
    if prefixed or not any(k.startswith(("encoder.", "decoder.")) for k in names):
        return header
    renamed = {VIDEO_VAE_PREFIX + k: dataclasses.replace(info, name=VIDEO_VAE_PREFIX + k) for k, info in names.items()}
    return dataclasses.replace(header, tensors=renamed)


class LTX2VideoVAE(comfy.sd.VAE):
    """The LTX-2 / LTX-2.3 video VAE of a file as ComfyUI's ``VAE`` (weights read from the ``vae.*`` tensors, or
    an unprefixed standalone VAE file)."""

    def __init__(self, path: str) -> None:
        init_host_vae(self, [torch.bfloat16, torch.float32])
        vae = load_component(video_vae_source(path), Component.VIDEO_VAE, dtype=self.vae_dtype,
                             operations=comfy.ops.disable_weight_init, should_abort=HostProgress().check_interrupt)
        cfg = vae.config
        ts, ss = cfg.time_scale, cfg.space_scale
        self.latent_channels, self.latent_dim, self.output_channels = cfg.latent_channels, 3, cfg.out_channels
        self.upscale_ratio = (_frames_up(ts), ss, ss)
        self.downscale_ratio = (_frames_down(ts), ss, ss)
        self.upscale_index_formula = self.downscale_index_formula = (ts, ss, ss)
        self.decode_bytes_per_pixel = pixel_bytes(cfg, cfg.decoder_base_channels, self.vae_dtype)
        self.encode_bytes_per_pixel = pixel_bytes(cfg, cfg.latent_channels, self.vae_dtype)
        self.memory_used_decode = self._decode_bytes
        self.memory_used_encode = lambda shape, dtype: self.encode_bytes_per_pixel * _volume(shape)
        self.origin = vae_origin(path)
        attach_host_module(self, VideoVAEModule(vae))

    @property
    def model(self) -> VideoVAE:
        """The library model."""
        return self.first_stage_model.vae

    def _decode_bytes(self, shape: Sequence[int], dtype: Any = None) -> float:
        """Working bytes to decode one sample of latent ``shape`` whole (core's per-sample convention)."""
        _, _, frames, height, width = self.model.pixel_shape((1, *shape[1:]))
        return self.decode_bytes_per_pixel * frames * height * width

    def decode_video(self, latent: torch.Tensor, progress: HostProgress) -> torch.Tensor:
        """Normalised latent (B, 128, F, h, w) -> IMAGE frames (B * (1 + 8(F-1)), 32h, 32w, 3) in [0, 1].

        Tiles are the largest whose working memory fits the free memory after the VAE is loaded; an out-of-memory
        error retries with the next smaller plan. ``progress`` is called after every tile (and may interrupt).
        """
        b, _, frames, height, width = self.model.pixel_shape(latent.shape)
        images = torch.empty((b, frames, height, width, 3), device=self.output_device, dtype=output_dtype(self))
        cfg, per_pixel = self.model.config, self.decode_bytes_per_pixel
        plans = decode_plans(cfg, latent.shape, per_pixel)
        # keep room for the whole decode, or for ltx-pipelines' default tiles when the whole would not fit anyway
        wanted = min(plans[0].nbytes, decode_plan(cfg, latent.shape, TilingConfig.default(), per_pixel).nbytes)
        mm.load_models_gpu([self.patcher], memory_required=wanted, force_full_load=self.disable_offload)
        start = first_fitting(plans, mm.get_free_memory(self.device))
        self._decode_into(latent, plans[start:], images.permute(0, 4, 1, 2, 3), progress)
        self.process_output(images)
        return images.reshape(-1, height, width, 3)

    def _decode_into(self, latent: torch.Tensor, plans: Sequence[DecodePlan], out: torch.Tensor,
                     progress: HostProgress) -> None:
        """Decode with the first plan, falling back to the next one after each out-of-memory error."""
        for index, plan in enumerate(plans):
            failed = False
            try:
                with torch.no_grad():
                    self.model.decode_tiled(latent, plan.tiling, progress=progress, compute_device=self.device,
                                            compute_dtype=self.vae_dtype, out=out)
            except Exception as exc:
                if not is_out_of_memory(exc) or index == len(plans) - 1:
                    raise
                failed = True  # leave the except block first so the failed attempt's tensors can be freed
            if not failed:
                return
            logging.warning("LTX-2 video decode ran out of memory with %d tiles; retrying with smaller tiles",
                            plan.tiles)
            mm.soft_empty_cache()


def _volume(shape: Sequence[int]) -> int:
    """Frames x height x width of a 5-D shape (B, C, F, H, W)."""
    return int(shape[2]) * int(shape[3]) * int(shape[4])


def latent_part(samples: dict, *, part: int, ndim: int, error: str) -> torch.Tensor:
    """The tensor of a LATENT, or part ``part`` (0 video, -1 audio) of an audio+video ``NestedTensor``.

    Raises ValueError(``error`` formatted with ``shape``) unless the result has ``ndim`` dimensions.
    """
    latent = samples["samples"]
    if getattr(latent, "is_nested", False):
        latent = latent.unbind()[part]
    if latent.ndim != ndim:
        raise ValueError(error.format(shape=tuple(latent.shape)))
    return latent


def load_model_file(factory: Callable[[str], Any], name: str, folders: tuple[str, ...], what: str) -> Any:
    """``factory(path)`` for the model file ``name`` found in ``folders``; ltx_model's one-line ValueErrors
    (CheckpointError / ConfigError) are re-raised as "<name> has no loadable LTX-2 <what>: <reason>"."""
    try:
        return factory(resolve_model_file(name, folders))
    except ValueError as exc:
        raise ValueError(f"{name} has no loadable LTX-2 {what}: {exc}") from None


def vae_listable(path: str, other_parts: Sequence[FilePart]) -> bool:
    """Whether a file belongs in a VAE loader's dropdown: not a LoRA / upscaler and not one of ``other_parts`` by
    its header (unreadable files are listed, so loading explains them)."""
    try:
        info = detect(read_header(path))
    except (ValueError, OSError):
        return True
    return info.kind not in (FileKind.LORA, FileKind.UPSAMPLER) and info.part not in other_parts
