"""Lightricks' HQ two-stage recipe (ltx-pipelines HEAD ``TI2VidTwoStagesHQPipeline``, LTX-2 main @400fd31).

The structure is :func:`~ltx_model.pipelines.generate_two_stage` (half-size stage 1, x2 latent upsample, full-size
stage-2 refinement of video and audio); what HQ changes:

- both stages step with the second-order res_2s sampler (:attr:`Sampler.RES_2S`, two denoiser calls per step, its
  SDE noise from the fixed seed :data:`~ltx_model.pipelines.samplers.RES2S_NOISE_SEED` as the reference);
- stage 1: 15 LTX2Scheduler steps (shifted by the stage-1 token count, :func:`hq_sigmas`) with the HQ guidance
  (:data:`~ltx_model.sampling.LTX_2_3_HQ_PARAMS`: video CFG 3, rescale 0.45;
  audio CFG 7, rescale 1; modality 3; STG off), default size 1088 x 1920 (stage 1 at 544 x 960);
- stage 2: the distilled stage-2 sigmas ``(0.909375, 0.725, 0.421875, 0)`` without guidance;
- the distilled LoRA is fused into BOTH stages of the dev checkpoint: strength :data:`HQ_STAGE1_LORA_STRENGTH` (0.25)
  for stage 1 (fuse it into ``models``) and :data:`HQ_STAGE2_LORA_STRENGTH` (0.5) for stage 2 (``stage2_models``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..sampling import LTX_2_3_HQ_PARAMS, STAGE2_DISTILLED_SIGMAS, ltx2_sigmas
from .generate import Stage
from .latents import video_grid
from .models import PipelineModels
from .presets import dev_request
from .request import Callbacks, GenerationRequest, GenerationResult, Sampler, TextContexts
from .two_stage import StageHook, generate_two_stage

HQ_STAGE1_LORA_STRENGTH = 0.25
"""Distilled-LoRA strength of stage 1 (ltx-pipelines ``--distilled-lora-strength-stage-1`` default)."""
HQ_STAGE2_LORA_STRENGTH = 0.5
"""Distilled-LoRA strength of stage 2 (ltx-pipelines ``--distilled-lora-strength-stage-2`` default)."""
HQ_STAGE2_SIGMAS: tuple[float, ...] = STAGE2_DISTILLED_SIGMAS
"""Stage-2 schedule of the HQ pipeline (its ``stage_2_sigmas`` default)."""


def hq_sigmas(request: GenerationRequest, steps: int) -> tuple[float, ...]:
    """Stage-1 sigmas of the HQ pipeline: the LTX2Scheduler shifted by the token count of the stage-1 (half-size)
    latent ``F·H·W`` (the reference passes its empty stage-1 latent; the plain two-stage pipeline does not)."""
    half = dataclasses.replace(request, height=request.height // 2, width=request.width // 2)
    return tuple(float(s) for s in ltx2_sigmas(steps, tokens=video_grid(half).token_count))


def hq_request(model_version: str | None = "2.3", *, steps: int | None = None, **fields: Any) -> GenerationRequest:  # noqa: ANN401
    """A request with the HQ defaults: :func:`hq_sigmas` for ``steps`` (default 15), HQ guidance, res_2s, and the
    full (stage-2) size 1088 x 1920; ``fields`` override any :class:`GenerationRequest` field."""
    hq = LTX_2_3_HQ_PARAMS
    base = dev_request(model_version, height=2 * hq.stage_1_height, width=2 * hq.stage_1_width,
                       video_guidance=hq.video, audio_guidance=hq.audio, sampler=Sampler.RES_2S)
    base = dataclasses.replace(base, **fields)
    if "sigmas" in fields:
        return base
    return dataclasses.replace(base, sigmas=hq_sigmas(base, steps or hq.num_inference_steps))


def _res2s_stage2(hook: StageHook) -> StageHook:
    """``hook`` run after switching stage 2 (which :func:`denoise_two_stage` sets to Euler) to res_2s."""

    def staged(stage: Stage, number: int) -> Stage:
        if number == 2:
            stage = dataclasses.replace(stage, request=dataclasses.replace(stage.request, sampler=Sampler.RES_2S))
        return hook(stage, number)

    return staged


def _same(stage: Stage, number: int) -> Stage:
    return stage


def generate_two_stage_hq(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    *,
    callbacks: Callbacks | None = None,
    stage2_models: PipelineModels | None = None,
    hook: StageHook = _same,
) -> GenerationResult:
    """The HQ recipe: :func:`generate_two_stage` with res_2s in both stages and :data:`HQ_STAGE2_SIGMAS`.

    ``request``: usually from :func:`hq_request` (its ``sampler`` drives stage 1; sizes multiples of 64).
    Returns the decoded stage-2 result (frames ``(F, H, W, 3)``, waveform, latents).
    """
    return generate_two_stage(models, request, contexts, callbacks=callbacks, stage2_sigmas=HQ_STAGE2_SIGMAS,
                              stage2_models=stage2_models, hook=_res2s_stage2(hook))
