"""Latent formats and the audio+video latent container of the pack.

:class:`LTX2VideoLatentFormat` / :class:`LTX2AudioLatentFormat` (ComfyUI ``LatentFormat`` subclasses, with the
latent2rgb preview hook) and the empty audio+video LATENT (``NestedTensor`` of video and audio parts, as core's
``LTXVConcatAVLatent``) of a ``ltx_model.modes.ClipGeometry`` (clip sizes, latent shapes and their checks).
"""

from __future__ import annotations

import importlib

import comfy.latent_formats
import comfy.model_management
import torch

from ..ltx_model.modes import ClipGeometry
from .previews import VIDEO_RGB_BIAS, VIDEO_RGB_FACTORS, preview_frame


class LTX2VideoLatentFormat(comfy.latent_formats.LatentFormat):
    """Video latent ``(B, 128, F, H/32, W/32)``; ``F = 1 + (frames - 1) / 8``. Values are already normalised by the
    VAE's per-channel statistics, so ``process_in``/``process_out`` are the identity (scale 1)."""

    latent_channels = 128
    latent_dimensions = 3
    spacial_downscale_ratio = 32
    temporal_downscale_ratio = 8
    latent_rgb_factors = VIDEO_RGB_FACTORS  # latent2rgb previews (nodes/previews.py says where they come from)
    latent_rgb_factors_bias = VIDEO_RGB_BIAS
    latent_shapes = None  # packed parts of the running sampling run (set by LTX2Model.extra_conds), for previews

    def latent_rgb_factors_reshape(self, x0: torch.Tensor) -> torch.Tensor:
        """Preview input: the video part's middle latent frame ``(B, 128, H, W)`` (``previews.preview_frame``)."""
        return preview_frame(x0, self.latent_shapes)


class LTX2AudioLatentFormat(comfy.latent_formats.LatentFormat):
    """Audio latent ``(B, 8, T, 16)``: 8 channels, ``T`` = 25 latents per second, 16 mel-bin groups."""

    latent_channels = 8
    latent_dimensions = 2


def nested_tensor_class() -> type:
    """``comfy.nested_tensor.NestedTensor`` (ComfyUI >= 0.3.67); a clear error on older hosts."""
    try:
        return importlib.import_module("comfy.nested_tensor").NestedTensor
    except ImportError as exc:
        raise RuntimeError("audio+video latents need ComfyUI >= 0.3.67 (comfy.nested_tensor is missing)") from exc


def empty_av_latent(geometry: ClipGeometry, batch: int) -> dict:
    """A LATENT dict ``{"samples": NestedTensor((video, audio))}`` of zeros on ComfyUI's intermediate device.

    The sampler derives ``latent_shapes`` from the nested parts, exactly as for core's ``LTXVConcatAVLatent``.
    """
    device = comfy.model_management.intermediate_device()
    video = torch.zeros(geometry.video_shape(batch), device=device)
    audio = torch.zeros(geometry.audio_shape(batch), device=device)
    return {"samples": nested_tensor_class()((video, audio))}


LATENT_VERSION_KEY = "ltx2_model_version"
"""LATENT key recording the ``model_version`` of the model that sampled it (read by the decode nodes' VAE family
check; core samplers copy the dict, so the tag survives them)."""


def tag_latent(latent: dict, model_version: str | None) -> dict:
    """A copy of LATENT ``latent`` recording ``model_version`` (for the VAE family check of the decode nodes)."""
    return {**latent, LATENT_VERSION_KEY: model_version} if model_version else dict(latent)
