"""Pixel upscale (a pixel-spatial upscaler IC-LoRA, x4 or x2): a low-resolution clip regenerated at ``factor`` x its
size.

Sizes follow :func:`ltx_model.modes.pixel_upscale.upscale_plan` (output = input x factor on the ``32 * factor``
grid, the input's first ``1 + 8k`` frames); the input, resized to the output / factor (unchanged when it already
is that size), is the IC-LoRA reference (:func:`generate_ic_lora`). Fuse the upscaler IC-LoRA into
``models.transformer`` beforehand; the caller keeps the input's fps and sound (``request.fps`` is used as given).
"""

from __future__ import annotations

import dataclasses

import torch

from ..modes import as_frames
from ..modes.pixel_upscale import UpscalePlan, upscale_plan
from .ic_lora import ICReference, generate_ic_lora
from .models import PipelineModels
from .request import Callbacks, GenerationRequest, GenerationResult, TextContexts


def upscale_request(request: GenerationRequest, frames: torch.Tensor, factor: int) -> tuple[GenerationRequest,
                                                                                            UpscalePlan]:
    """``request`` with the output size and frame count of upscaling ``frames`` ``(F, H, W, 3)`` by ``factor``."""
    plan = upscale_plan(tuple(as_frames(frames).shape[:3]), factor)
    return dataclasses.replace(request, height=plan.height, width=plan.width, num_frames=plan.frames), plan


def generate_pixel_upscale(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    frames: torch.Tensor,
    *,
    downscale_factor: int,
    callbacks: Callbacks | None = None,
) -> GenerationResult:
    """Upscale ``frames`` (``(F, H, W, 3)`` in [0, 255]) ``downscale_factor`` times (the fused IC-LoRA's
    ``reference_downscale_factor``: 4 or 2; one distilled stage; the size and frame count of ``request`` are replaced
    by the plan's)."""
    upscaled, plan = upscale_request(request, frames, downscale_factor)
    reference = ICReference(as_frames(frames)[:plan.frames])
    return generate_ic_lora(models, upscaled, contexts, reference, downscale_factor=downscale_factor,
                            callbacks=callbacks)
