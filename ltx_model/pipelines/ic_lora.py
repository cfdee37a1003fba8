"""IC-LoRA video-to-video (ltx-pipelines ``ICLoraPipeline``): a reference video guides generation.

The reference (depth / canny / pose / motion tracks / a low-res clip...) is resized to the stage size divided by
the LoRA's ``reference_downscale_factor``, encoded and appended as reference tokens (``ReferenceVideo``: its own
grid with height/width coordinates multiplied by the factor), optionally with an attention strength (scalar or a
pixel mask) between the generated and the reference tokens. After sampling the reference tokens are dropped.
Stage 2 of a two-stage run uses the plain model (pass ``stage2_models`` without the IC-LoRA) and no reference.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from ..conditioning import ConditioningItem, ReferenceVideo, WithAttentionStrength, pixel_mask_to_latent
from ..lora import LoraWeights
from ..modes import (
    GenerationError,
    as_frames,
    attention_strength_problem,
    reference_frames,
    reference_notes,
    reference_size,
)
from ..sampling import STAGE2_DISTILLED_SIGMAS
from ..video_vae import VideoVAE
from .generate import Stage, decode_outputs, run_stage
from .models import PipelineModels
from .request import Callbacks, GenerationRequest, GenerationResult, TextContexts
from .sources import encode_frames
from .two_stage import generate_two_stage


@dataclass(frozen=True)
class ICReference:
    """A reference video for an IC-LoRA.

    Attributes:
        frames: ``(F, H, W, 3)`` uint8 pixels, any size (cover-resized + center-cropped, with a note).
        strength: denoise mask ``1 - strength`` on the reference tokens (1 = kept clean).
        attention_strength: weight in [0, 1] of attention between generated and reference tokens.
        attention_mask: optional pixel mask ``(1, 1, F_ref, H_ref, W_ref)`` in [0, 1] at the reference's resized
            size and used frame count; multiplied by ``attention_strength``.
    """

    frames: torch.Tensor | np.ndarray
    strength: float = 1.0
    attention_strength: float = 1.0
    attention_mask: torch.Tensor | None = None


def lora_reference_downscale_factor(
    loras: list[LoraWeights] | tuple[LoraWeights, ...], *, model_version: str | None = None
) -> int:
    """The IC-LoRAs' common ``reference_downscale_factor`` (1 when absent), checking family and agreement.

    Raises:
        GenerationError: LoRAs disagree on the factor, or a LoRA's ``model_version`` metadata names another model
            family (LTX-2 vs LTX-2.3) than ``model_version``.
    """
    factor = 1
    for lora in loras:
        lora_version = lora.metadata.get("model_version")
        if lora_version and model_version and _family(lora_version) != _family(model_version):
            raise GenerationError(
                f"IC-LoRA {lora.name} is for model {lora_version} but the checkpoint is {model_version}"
            )
        value = lora.reference_downscale_factor
        if value != 1 and factor not in (1, value):
            raise GenerationError(f"IC-LoRAs disagree on reference_downscale_factor: {factor} vs {value}")
        factor = value if value != 1 else factor
    return factor


def _family(version: str) -> str:
    return "2.3" if version.strip().startswith("2.3") else version.strip().split(".")[0]


def reference_conditionings(
    video_vae: VideoVAE,
    reference: ICReference,
    *,
    height: int,
    width: int,
    num_frames: int,
    downscale_factor: int = 1,
) -> tuple[list[ConditioningItem], tuple[str, ...]]:
    """Encode the reference at ``(height, width) / downscale_factor`` → ``[ReferenceVideo | WithAttentionStrength]``.

    The reference keeps at most ``num_frames`` frames, snapped down to ``1 + 8k``. Returns the items and notes
    (resized / trimmed).
    """
    problem = attention_strength_problem(reference.attention_strength)
    if problem:
        raise GenerationError(problem)
    frames = as_frames(reference.frames)
    ref_h, ref_w = reference_size(height, width, downscale_factor)
    used = reference_frames(frames.shape[0], num_frames)
    notes = reference_notes(tuple(frames.shape[:3]), (used, ref_h, ref_w))
    latent = encode_frames(video_vae, frames[:used], height=ref_h, width=ref_w)
    item: ConditioningItem = ReferenceVideo(latent, downscale_factor=downscale_factor, strength=reference.strength)
    weight = _attention(reference, latent)
    if weight is not None:
        item = WithAttentionStrength(item, weight)
    return [item], notes


def _attention(reference: ICReference, latent: torch.Tensor) -> float | torch.Tensor | None:
    """The reference's ``conditioning_attention_mask`` logic: mask x strength, a scalar below 1, or None."""
    if reference.attention_mask is not None:
        _, _, f, h, w = latent.shape
        mask = pixel_mask_to_latent(reference.attention_mask.to(torch.float32), frames=f, height=h, width=w)
        return mask.to(latent.device) * reference.attention_strength
    return reference.attention_strength if reference.attention_strength < 1.0 else None


def generate_ic_lora(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    reference: ICReference,
    *,
    downscale_factor: int = 1,
    two_stage: bool = False,
    stage2_models: PipelineModels | None = None,
    stage2_sigmas: tuple[float, ...] = STAGE2_DISTILLED_SIGMAS,
    callbacks: Callbacks | None = None,
) -> GenerationResult:
    """Generate guided by a reference video (fuse the IC-LoRA into ``models.transformer`` beforehand).

    Args:
        request: output size, frames, seed, sigmas (distilled by default), images.
        reference: the reference video and its strengths.
        downscale_factor: :func:`lora_reference_downscale_factor` of the fused IC-LoRA(s).
        two_stage: stage 1 at half size with the reference; stage 2 (``stage2_models``: the model WITHOUT the
            IC-LoRA, as the reference pipeline) refines without it.
    Returns:
        :class:`GenerationResult` (reference tokens cropped) with resize/trim notes.
    """
    callbacks = callbacks or Callbacks()
    notes: list[str] = []

    def with_reference(stage: Stage, number: int) -> Stage:
        if number == 2:
            return stage
        req = stage.request
        items, stage_notes = reference_conditionings(
            models.video_vae, reference, height=req.height, width=req.width, num_frames=req.num_frames,
            downscale_factor=downscale_factor,
        )
        notes.extend(stage_notes)
        return dataclasses.replace(stage, video_items=(*stage.video_items, *items))

    if two_stage:
        result = generate_two_stage(models, request, contexts, callbacks=callbacks, stage2_models=stage2_models,
                                    stage2_sigmas=stage2_sigmas, hook=with_reference)
    else:
        generator = torch.Generator(device=models.device).manual_seed(request.seed)
        video, audio = run_stage(models, with_reference(Stage(request), 1), contexts, generator, callbacks=callbacks)
        result = decode_outputs(models, request, video, audio, callbacks)
    return dataclasses.replace(result, notes=tuple(notes))
