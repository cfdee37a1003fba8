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
from ..modes import plan_keyframes
from ..sampling import STAGE2_DISTILLED_SIGMAS
from ..video_vae import VideoVAE
from .generate import Stage, decode_outputs, run_stage
from .images import encode_image
from .models import PipelineModels
from .request import (
    Callbacks,
    GenerationRequest,
    GenerationResult,
    ImageCondition,
    TextContexts,
    with_version_crf,
)
from .two_stage import generate_two_stage


def resolved_keyframes(images: tuple[ImageCondition, ...], num_frames: int) -> tuple[ImageCondition, ...]:
    """The keyframes with their frame indices resolved (negative: from the end) and checked
    (``modes.plan_keyframes``); :class:`GenerationError` for none, an index beyond the clip or a bad strength."""
    plan = plan_keyframes([(image, image.frame_index, image.strength) for image in images], num_frames)
    return tuple(dataclasses.replace(image, frame_index=frame) for image, frame, _ in plan)


def keyframe_conditionings(
    images: tuple[ImageCondition, ...], video_vae: VideoVAE, *, height: int, width: int
) -> list[ConditioningItem]:
    """Encode each image at ``height x width`` (CRF round trip, cover-resize) → one :class:`KeyframeAtFrame` each."""
    return [KeyframeAtFrame(latent=encode_image(image, video_vae, height=height, width=width),
                            frame_index=image.frame_index, strength=image.strength) for image in images]


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
    keyframes = resolved_keyframes(with_version_crf(request.images, models.model_version), request.num_frames)
    callbacks = callbacks or Callbacks()
    plain = dataclasses.replace(request, images=())

    def with_keyframes(stage: Stage, number: int) -> Stage:
        req = stage.request
        vae = (stage2_models or models).video_vae if number == 2 else models.video_vae
        items = keyframe_conditionings(keyframes, vae, height=req.height, width=req.width)
        return dataclasses.replace(stage, video_items=(*stage.video_items, *items))

    if two_stage:
        return generate_two_stage(models, plain, contexts, callbacks=callbacks, stage2_models=stage2_models,
                                  stage2_sigmas=stage2_sigmas, hook=with_keyframes)
    generator = torch.Generator(device=models.device).manual_seed(request.seed)
    video, audio = run_stage(models, with_keyframes(Stage(plain), 1), contexts, generator, callbacks=callbacks)
    return decode_outputs(models, request, video, audio, callbacks)
