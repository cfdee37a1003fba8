"""Ingredients (the official pack's ``ic-lora-ingredients-0.9`` recipe): reference images composed into a new clip.

The reference images become a static reference video at the output's size and length
(:func:`ltx_model.modes.ingredients.ingredients_video`: a black reference sheet with one panel per picture, repeated)
which guides an IC-LoRA generation (:func:`generate_ic_lora`, reference downscale factor 1 for this LoRA); the
prompt ("Reference sheet: ... Generated video: ...") drives the scene. Fuse the Ingredients IC-LoRA into
``models.transformer`` beforehand.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..modes.ingredients import ingredients_video
from .ic_lora import ICReference, generate_ic_lora
from .models import PipelineModels
from .request import Callbacks, GenerationRequest, GenerationResult, TextContexts


def ingredients_reference(images: Sequence[torch.Tensor], request: GenerationRequest) -> ICReference:
    """The IC-LoRA reference of ``images`` (each ``(H, W, C)`` / ``(N, H, W, C)`` in [0, 255]) for ``request``:
    ``(num_frames, height, width, 3)`` float pixels, kept clean (strength 1)."""
    frames = ingredients_video(images, frames=request.num_frames, height=request.height, width=request.width)
    return ICReference(frames)


def generate_ingredients(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    images: Sequence[torch.Tensor],
    *,
    downscale_factor: int = 1,
    callbacks: Callbacks | None = None,
) -> GenerationResult:
    """Generate ``request`` guided by the reference sheet built from ``images`` (one stage, as the official
    workflow). Bad images (none, mismatched channel counts) raise before any model runs."""
    reference = ingredients_reference(images, request)
    return generate_ic_lora(models, request, contexts, reference, downscale_factor=downscale_factor,
                            callbacks=callbacks)
