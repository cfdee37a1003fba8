"""Two-stage generation: the latent upscaler loader and the x2 latent upscale node.

The upscaler is ``ltx_model``'s :class:`LatentUpsampler` built from ``comfy.ops`` layers and returned as core's
``LATENT_UPSCALE_MODEL`` (a plain module), so core ``LTXVLatentUpsampler`` accepts it as well. The pack's node
runs it under a model patcher (ComfyUI memory management), on the video part of an audio+video latent, with the
VAE's per-channel statistics (``ltx_model.upsampler.upsample_latent``). For the refine pass, sample the result
with the "distilled stage 2" schedule (distilled model, or a dev model with the distilled LoRA).

Node ids (inputs -> outputs):

* ``LTX2NUpscalerLoader`` (upscaler_name) -> upscale_model
* ``LTX2NUpscaleLatent`` (samples, upscale_model, vae) -> latent
"""

from __future__ import annotations

import math
import os
import weakref
from dataclasses import replace
from typing import Any

import comfy.model_management
import comfy.model_patcher
import comfy.ops
import torch
from comfy_api.latest import io

from ..ltx_model.loading import Component, FileKind, detect, load_component, read_header
from ..ltx_model.upsampler import upsample_latent
from .conditioning import AVParts
from .host import model_files, model_path, register_model_folder
from .schema import make_schema

FOLDER = "latent_upscale_models"
register_model_folder(FOLDER)  # missing before ComfyUI v0.3.71; merged with extra_model_paths.yaml entries
LatentUpscaleModel = getattr(io, "LatentUpscaleModel", None) or io.Custom("LATENT_UPSCALE_MODEL")
ACTIVATION_COPIES = 4
_PATCHERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
mm = comfy.model_management


def upscaler_problem(path: str) -> str | None:
    """Why ``path`` is not a latent upscaler file (header only), or None."""
    try:
        info = detect(read_header(path))
    except ValueError as exc:
        return f"{os.path.basename(path)}: {exc}"
    if info.kind is not FileKind.UPSAMPLER:
        return f"{os.path.basename(path)} is not an LTX-2 latent upscaler (it looks like: {info.kind.value})"
    return None


def _patcher(module: torch.nn.Module) -> Any:
    """One model patcher per upscaler module (created on first use), so ComfyUI loads and offloads it."""
    if module not in _PATCHERS:
        _PATCHERS[module] = comfy.model_patcher.ModelPatcher(module, load_device=mm.get_torch_device(),
                                                             offload_device=mm.unet_offload_device())
    return _PATCHERS[module]


def upscale_video(video: torch.Tensor, upscaler: torch.nn.Module, vae: Any) -> torch.Tensor:
    """Normalised video latent ``(B, 128, F, H, W)`` -> upscaled normalised latent on the intermediate device."""
    stats = getattr(getattr(vae, "first_stage_model", None), "per_channel_statistics", None)
    if stats is None:
        raise ValueError("this VAE has no LTX latent statistics: connect the LTX-2 video VAE")
    patcher = _patcher(upscaler)
    weight = next(upscaler.parameters())
    # activations: a few mid-width copies at the upscaled size (x4 cells for spatial x2, the largest case)
    cells = video.shape[0] * math.prod(video.shape[2:]) * 4
    mm.load_models_gpu([patcher], memory_required=cells * upscaler.config.mid_channels * weight.element_size()
                       * ACTIVATION_COPIES)
    device = mm.get_torch_device()
    with torch.no_grad():
        out = upsample_latent(video.to(device=device, dtype=weight.dtype), upscaler,
                              mean=stats.get_buffer("mean-of-means"), std=stats.get_buffer("std-of-means"))
    return out.to(device=mm.intermediate_device(), dtype=video.dtype)


class LTX2NUpscalerLoader(io.ComfyNode):
    """An LTX-2 latent upscaler (spatial x2 / x1.5, temporal x2) from models/latent_upscale_models."""

    DISPLAY_NAME = "Load Latent Upscaler (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="loaders",
            description="Loads an LTX-2 latent upscaler (e.g. ltx-2-spatial-upscaler-x2) with this pack's own "
                        "implementation; also usable with core LTXVLatentUpsampler.",
            inputs=[io.Combo.Input("upscaler_name", options=model_files(FOLDER),
                                   tooltip="Latent upscaler file (.safetensors) in models/latent_upscale_models.")],
            outputs=[LatentUpscaleModel.Output(display_name="upscale_model", tooltip="The latent upscaler.")],
        )

    @classmethod
    def validate_inputs(cls, upscaler_name: str | None = None) -> bool | str:
        if upscaler_name is None or upscaler_name not in model_files(FOLDER):
            return True
        return upscaler_problem(model_path(FOLDER, upscaler_name)) or True

    @classmethod
    def execute(cls, upscaler_name: str) -> io.NodeOutput:
        path = model_path(FOLDER, upscaler_name)
        problem = upscaler_problem(path)
        if problem:
            raise ValueError(problem)
        dtype = mm.vae_dtype(mm.get_torch_device(), [torch.bfloat16, torch.float32])
        return io.NodeOutput(load_component(path, Component.UPSAMPLER, dtype=dtype,
                                            operations=comfy.ops.disable_weight_init))


class LTX2NUpscaleLatent(io.ComfyNode):
    """Upscale the video of an (audio+)video latent in latent space, for a second (refine) pass."""

    DISPLAY_NAME = "Upscale Latent x2 (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="latent",
            description="Upscales the video part of a latent with an LTX-2 latent upscaler (the audio part is "
                        "kept). Noise masks are dropped: re-apply image conditioning at the new size, then refine "
                        "with the 'distilled stage 2' schedule.",
            inputs=[io.Latent.Input("samples", tooltip="Stage-1 latent (guide frames cropped)."),
                    LatentUpscaleModel.Input("upscale_model", tooltip="From Load Latent Upscaler (LTX-2)."),
                    io.Vae.Input("vae", tooltip="The LTX-2 video VAE (its latent statistics are used).")],
            outputs=[io.Latent.Output(display_name="latent", tooltip="The upscaled latent.")],
        )

    @classmethod
    def execute(cls, samples: dict, upscale_model: Any, vae: Any) -> io.NodeOutput:
        parts = AVParts.of(samples)
        video = upscale_video(parts.video, upscale_model, vae)
        parts = replace(parts, video=video, video_mask=None, audio_mask=None)
        return io.NodeOutput(parts.to_latent({k: v for k, v in samples.items() if k != "noise_mask"}))
