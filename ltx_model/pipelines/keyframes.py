"""Keyframe interpolation (ltx-pipelines ``KeyframeInterpolationPipeline``): images pinned at chosen frames.

Every image — including one at frame 0 — becomes appended keyframe tokens (``KeyframeAtFrame``: the encoded frame
with its own positions, time shifted to its pixel frame, mask ``1 - strength``), as the reference's
``image_conditionings_by_adding_guiding_latent``; the tokens are dropped after sampling. Two-stage runs re-encode
the keyframes at the full size for stage 2, like the reference.
"""

from __future__ import annotations

import dataclasses

import torch

from ..conditioning import ConditioningItem, KeyframeAtFrame
from ..sampling import STAGE2_DISTILLED_SIGMAS
from ..video_vae import VideoVAE
from .generate import Stage, decode_outputs, run_stage
from .images import image_pixels
from .models import PipelineModels
from .request import (
    Callbacks,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    ImageCondition,
    TextContexts,
)
from .two_stage import generate_two_stage


def check_keyframes(images: tuple[ImageCondition, ...], num_frames: int) -> None:
    """Raise :class:`GenerationError` for no keyframes or a frame index outside ``0 .. num_frames - 1``."""
    if not images:
        raise GenerationError("keyframe interpolation needs at least one image")
    for image in images:
        if not 0 <= image.frame_index < num_frames:
            raise GenerationError(
                f"keyframe index {image.frame_index} is beyond the clip: valid frames are 0..{num_frames - 1}"
            )
        if not 0.0 <= image.strength <= 1.0:
            raise GenerationError(f"keyframe strength must be in [0, 1], got {image.strength}")


def keyframe_conditionings(
    images: tuple[ImageCondition, ...], video_vae: VideoVAE, *, height: int, width: int
) -> list[ConditioningItem]:
    """Encode each image at ``height x width`` (CRF round trip, cover-resize) → one :class:`KeyframeAtFrame` each."""
    weight = next(video_vae.parameters())
    items: list[ConditioningItem] = []
    for image in images:
        pixels = image_pixels(image, height=height, width=width, dtype=weight.dtype, device=weight.device)
        with torch.no_grad():
            latent = video_vae.encode(pixels)  # (1, 128, 1, h, w)
        items.append(KeyframeAtFrame(latent=latent, frame_index=image.frame_index, strength=image.strength))
    return items


def generate_keyframes(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    *,
    two_stage: bool = False,
    stage2_models: PipelineModels | None = None,
    stage2_sigmas: tuple[float, ...] = STAGE2_DISTILLED_SIGMAS,
    callbacks: Callbacks | None = None,
) -> GenerationResult:
    """Generate a clip through the keyframes ``request.images`` (frame index + strength each).

    Args:
        models: loaded models (``upsampler`` needed when ``two_stage``).
        request: size, seed, sigmas, guidance; ``images`` are the keyframes (any frame, 0 included).
        contexts: text contexts.
        two_stage: half-size stage 1 + x2 upsample + stage-2 refinement (keyframes re-encoded at full size).
        stage2_models: models for stage 2 (e.g. with the distilled LoRA fused); default ``models``.
    Returns:
        :class:`GenerationResult` (keyframe tokens removed).
    Raises:
        GenerationError: a keyframe index beyond the clip, no keyframes.
    """
    check_keyframes(request.images, request.num_frames)
    callbacks = callbacks or Callbacks()
    plain = dataclasses.replace(request, images=())

    def with_keyframes(stage: Stage, number: int) -> Stage:
        req = stage.request
        vae = (stage2_models or models).video_vae if number == 2 else models.video_vae
        items = keyframe_conditionings(request.images, vae, height=req.height, width=req.width)
        return dataclasses.replace(stage, video_items=(*stage.video_items, *items))

    if two_stage:
        return generate_two_stage(models, plain, contexts, callbacks=callbacks, stage2_models=stage2_models,
                                  stage2_sigmas=stage2_sigmas, hook=with_keyframes)  # fmt: skip
    generator = torch.Generator(device=models.device).manual_seed(request.seed)
    video, audio = run_stage(models, with_keyframes(Stage(plain), 1), contexts, generator, callbacks=callbacks)
    return decode_outputs(models, request, video, audio, callbacks)
