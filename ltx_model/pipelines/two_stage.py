"""Two-stage generation (ltx-pipelines ``DistilledPipeline`` / ``TI2VidTwoStagesPipeline`` structure).

Stage 1 denoises at half the size with the request's sigmas (and guidance, if any). The video latent is upsampled
x2 with the spatial upsampler (un-normalised with the VAE statistics, upsampled, normalised again); stage 2
re-noises the upsampled video and the stage-1 audio with ``noise_scale = stage2_sigmas[0]`` and refines both with
the stage-2 sigmas without guidance. One generator (seeded once) draws all four noise tensors in the reference
order: stage-1 video, stage-1 audio, stage-2 video, stage-2 audio. Image conditions are re-encoded at each size.
For a dev checkpoint the reference fuses the distilled LoRA for stage 2; fuse it into ``stage2_models``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

from ..modes import size_problem
from ..sampling import STAGE2_DISTILLED_SIGMAS, LatentState, unpatchify_state_latent
from ..upsampler import upsample_latent
from .generate import Stage, decode_outputs, run_stage
from .models import PipelineModels
from .request import Callbacks, GenerationError, GenerationRequest, GenerationResult, Sampler, TextContexts


def _stage_callbacks(callbacks: Callbacks, offset: int, total: int) -> Callbacks:
    """Report a stage's steps as part of the whole run (``offset + done`` of ``total``)."""
    return Callbacks(
        progress=lambda done, _: callbacks.progress(offset + done, total), interrupted=callbacks.interrupted
    )


def upsample_video_latent(models: PipelineModels, latent: torch.Tensor) -> torch.Tensor:
    """Normalised ``(1, 128, F, h, w)`` → ``(1, 128, F, 2h, 2w)`` through the spatial upsampler."""
    if models.upsampler is None:
        raise GenerationError("two-stage generation needs a latent upsampler (load_pipeline_models(upsampler=...))")
    stats = models.video_vae.per_channel_statistics
    with torch.no_grad():
        return upsample_latent(latent, models.upsampler, mean=stats.get_buffer("mean-of-means"),
                               std=stats.get_buffer("std-of-means"))


StageHook = Callable[[Stage, int], Stage]
"""``hook(default_stage, stage_number) -> stage``: a mode's change to stage 1 or 2 (extra items, frozen stream...)."""


def _same(stage: Stage, number: int) -> Stage:
    return stage


def denoise_two_stage(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    *,
    callbacks: Callbacks | None = None,
    stage2_sigmas: tuple[float, ...] = STAGE2_DISTILLED_SIGMAS,
    stage2_models: PipelineModels | None = None,
    hook: StageHook = _same,
) -> tuple[LatentState, LatentState]:
    """Half-size stage 1, x2 latent upsample, full-size stage-2 refinement (sizes: multiples of 64).

    Returns the final patchified ``(video_state, audio_state)`` of stage 2.
    """
    problem = size_problem(request.width, request.height, two_stage=True)
    if problem:
        raise GenerationError(problem)
    callbacks = callbacks or Callbacks()
    total = len(request.sigmas) + len(stage2_sigmas) - 2
    generator = torch.Generator(device=models.device).manual_seed(request.seed)
    half = dataclasses.replace(request, height=request.height // 2, width=request.width // 2)
    video, audio = run_stage(models, hook(Stage(half), 1), contexts, generator,
                             callbacks=_stage_callbacks(callbacks, 0, total))
    # Stage 2 always steps deterministically (ltx-pipelines HEAD: its short schedule cannot remove injected noise).
    refine = dataclasses.replace(request, sigmas=stage2_sigmas, video_guidance=None, audio_guidance=None,
                                 sampler=Sampler.EULER)
    start = Stage(refine, video_latent=upsample_video_latent(models, unpatchify_state_latent(video)),
                  audio_latent=unpatchify_state_latent(audio),
                  noise_scale=torch.tensor(stage2_sigmas[0], dtype=torch.float32))
    stage_cb = _stage_callbacks(callbacks, len(request.sigmas) - 1, total)
    return run_stage(stage2_models or models, hook(start, 2), contexts, generator, callbacks=stage_cb)


def generate_two_stage(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    *,
    callbacks: Callbacks | None = None,
    stage2_sigmas: tuple[float, ...] = STAGE2_DISTILLED_SIGMAS,
    stage2_models: PipelineModels | None = None,
    hook: StageHook = _same,
) -> GenerationResult:
    """:func:`denoise_two_stage`, then decode with the stage-2 models."""
    callbacks = callbacks or Callbacks()
    video, audio = denoise_two_stage(models, request, contexts, callbacks=callbacks, stage2_sigmas=stage2_sigmas,
                                     stage2_models=stage2_models, hook=hook)
    return decode_outputs(stage2_models or models, request, video, audio, callbacks)
