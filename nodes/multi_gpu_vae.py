"""Decode Video on several devices: the decode tiles spread over the multi-GPU workers, equal to one device.

:func:`decode_on_devices` is what Decode Video (LTX-2) runs when its ``devices`` input names a device list (the
same rules as the Multi-GPU node's: ``auto`` = every GPU, or ``cuda:0,cuda:1,...``). The workers of a live
Multi-GPU pool on those devices are used (they load the VAE beside the transformer); otherwise a decode-only pool
starts. Each worker reads the VAE file by byte range (nothing but its name crosses the pipe) in the host VAE's
dtype; the tiles go round-robin over the ranks and rank 0 blends them in the single-device order
(:func:`~ltx_model.distributed.decode_tiled_distributed`), so the frames equal one device's decode with the same
tiling. The tiling: the largest tiles that give every rank at least one tile and are no larger than ltx-pipelines'
default tiles (which fit the GPUs that run the model). Only the conv VAE (LTX-2 / LTX-2.3 / LTX-2.5 conv) decodes
distributed; the LTX-2.5 diffusion decoder is refused with a clear error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import comfy.model_management
import torch

from ..ltx_model.video_vae import TilingConfig
from .model_folders import model_path_in
from .multi_gpu import HostPoolPass, decode_pool, parse_devices
from .vae_host import LTX2VideoVAE, decode_plan, decode_plans, output_dtype, video_vae_source

NODE = "Decode Video (LTX-2)"


def distributed_tiling(vae: LTX2VideoVAE, latent_shape: tuple[int, ...], world_size: int) -> TilingConfig:
    """The tiling of a latent (B, C, F, h, w) over ``world_size`` ranks: the largest tiles that give every rank one
    and are no larger than ltx-pipelines' default tiles (else the smallest tiles there are)."""
    config, per_pixel = vae.model.config, vae.decode_bytes_per_pixel
    limit = decode_plan(config, latent_shape, TilingConfig.default(), per_pixel).nbytes
    plans = decode_plans(config, latent_shape, per_pixel)
    return next((plan.tiling for plan in plans if plan.tiles >= world_size and plan.nbytes <= limit),
                plans[-1].tiling)


def decode_on_devices(vae: Any, latent: torch.Tensor, devices: str, progress: Callable[[int, int], None],
                      folders: tuple[str, ...]) -> torch.Tensor | None:
    """Latent (B, 128, F, h, w) -> IMAGE (B * frames, H, W, 3) decoded on the workers of ``devices``; None when
    ``devices`` is ``auto`` and fewer than 2 GPUs are visible (the caller decodes on its own device). ``folders``:
    where the VAE's file is (the loader's model folders)."""
    chosen = parse_devices(devices, NODE)
    if chosen is None:
        return None
    if type(vae) is not LTX2VideoVAE:
        raise ValueError(f"{NODE}: decoding on several devices needs the conv video VAE from Load Video VAE (LTX-2) "
                         f"(LTX-2 / LTX-2.3 / LTX-2.5 conv); got {type(vae).__name__}. Clear the devices input to "
                         "decode on one device")
    runner = HostPoolPass(decode_pool(chosen), interrupted=comfy.model_management.processing_interrupted)
    runner.load_vae(video_vae_source(model_path_in(folders, vae.origin.file)), vae.vae_dtype)
    video = runner.decode(latent, distributed_tiling(vae, tuple(latent.shape), len(chosen)), progress)
    images = video.permute(0, 2, 3, 4, 1).to(vae.output_device, output_dtype(vae)).contiguous()
    vae.process_output(images)  # in place: [-1, 1] -> [0, 1]
    return images.reshape(-1, *images.shape[-3:])
