"""One-stage text/image-to-video+audio generation from loaded models and text contexts."""

from __future__ import annotations

import dataclasses
from enum import Enum

import torch

from ..conditioning import ConditioningItem
from ..sampling import LatentState, unpatchify_state_latent
from .decode import decode_audio, decode_video
from .denoise import DenoiseFn, GuidedDenoiser, simple_denoiser
from .images import image_conditionings
from .latents import audio_grid, video_grid
from .models import PipelineModels
from .request import (
    Callbacks,
    GenerationRequest,
    GenerationResult,
    TextContexts,
    validate_request,
    with_version_crf,
)
from .samplers import sampler_loop
from .streams import StreamGrids, StreamSpec, denoise_streams


def make_denoiser(models: PipelineModels, request: GenerationRequest, contexts: TextContexts) -> DenoiseFn:
    """The plain (distilled) denoiser, or the multimodal-guided one when the request has guidance."""
    if not request.guided:
        return simple_denoiser(models.transformer, contexts)
    return GuidedDenoiser(models.transformer, contexts, request.video_guidance, request.audio_guidance)


class Frozen(Enum):
    """Which stream a stage holds fixed (mask 0, sigma 0 for the transformer: HEAD ``ModalitySpec.frozen``)."""

    NONE = "none"
    VIDEO = "video"
    AUDIO = "audio"


@dataclasses.dataclass(frozen=True)
class Stage:
    """One denoising stage: the request (its size, sigmas, guidance and images) and how its latents start.

    Attributes:
        request: size, sigmas, guidance, image conditions (encoded at this stage's size).
        video_latent, audio_latent: unpatchified start latents (None = zeros).
        noise_scale: noise scale of both streams (stage 2: its first sigma).
        video_items, audio_items: extra conditioning items applied after the request's images (keyframes,
            IC-LoRA references, temporal region masks...).
        frozen: a stream held fixed (A2V audio, V2A video).
        with_video: False leaves the video stream out (text-to-audio: no video tokens are computed).
        with_audio: False leaves the audio stream out (video-only modes such as HDR IC-LoRA; no audio tokens).
    """

    request: GenerationRequest
    video_latent: torch.Tensor | None = None
    audio_latent: torch.Tensor | None = None
    noise_scale: float | torch.Tensor = 1.0
    video_items: tuple[ConditioningItem, ...] = ()
    audio_items: tuple[ConditioningItem, ...] = ()
    frozen: Frozen = Frozen.NONE
    with_video: bool = True
    with_audio: bool = True


def stage_specs(models: PipelineModels, stage: Stage) -> tuple[StreamSpec | None, StreamSpec]:
    """The stage's ``(video_spec | None, audio_spec)``: image conditionings (encoded now) + extra items."""
    request = stage.request
    video = None
    if stage.with_video:
        images = image_conditionings(request.images, models.video_vae, height=request.height, width=request.width,
                                     num_frames=request.num_frames)
        video = StreamSpec((*images, *stage.video_items), stage.video_latent, stage.noise_scale,
                           frozen=stage.frozen is Frozen.VIDEO)
    audio = StreamSpec(stage.audio_items, stage.audio_latent, stage.noise_scale, frozen=stage.frozen is Frozen.AUDIO)
    return video, audio


def run_stage(
    models: PipelineModels,
    stage: Stage,
    contexts: TextContexts,
    generator: torch.Generator,
    *,
    callbacks: Callbacks | None = None,
) -> tuple[LatentState | None, LatentState]:
    """Conditionings (encoded at the stage size; unset image CRFs take the model version's default), noise (video
    then audio, from ``generator``), then the loop of ``request.sampler`` (:func:`~.samplers.sampler_loop`).

    Returns the final patchified ``(video_state, audio_state)`` (appended conditioning tokens still present;
    ``video_state`` is None when ``stage.with_video`` is False, ``audio_state`` when ``stage.with_audio`` is False).
    """
    request = dataclasses.replace(stage.request, images=with_version_crf(stage.request.images, models.model_version))
    validate_request(request)
    stage = dataclasses.replace(stage, request=request)
    device, dtype = models.device, models.dtype
    grids = StreamGrids(video_grid(request) if stage.with_video else None,
                        audio_grid(request, models.audio_vae.config) if stage.with_audio else None)
    contexts = _on(contexts, device=device, dtype=dtype)
    return denoise_streams(grids, stage_specs(models, stage), request.sigmas, make_denoiser(models, request, contexts),
                           generator, dtype=dtype, device=device, callbacks=callbacks,
                           loop=sampler_loop(request.sampler, request.seed, device))


def denoise_latents(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    *,
    callbacks: Callbacks | None = None,
) -> tuple[LatentState, LatentState]:
    """One stage from pure noise with a generator seeded by ``request.seed`` (see :func:`run_stage`)."""
    generator = torch.Generator(device=models.device).manual_seed(request.seed)
    return run_stage(models, Stage(request), contexts, generator, callbacks=callbacks)


def decode_outputs(
    models: PipelineModels,
    request: GenerationRequest,
    video: LatentState,
    audio: LatentState,
    callbacks: Callbacks,
    generator: torch.Generator | None = None,
) -> GenerationResult:
    """Drop conditioning tokens, unpatchify, decode video (tiled when large) and audio. ``generator``: the noise of
    the LTX-2.5 diffusion decoder (the reference passes the generation's generator; None: a fresh one seeded with
    ``request.seed``)."""
    video_latent, audio_latent = unpatchify_state_latent(video), unpatchify_state_latent(audio)
    callbacks.check()
    if generator is None:
        generator = torch.Generator(device=models.device).manual_seed(request.seed)
    frames = decode_video(models.video_vae, video_latent, mode=request.tiling, callbacks=callbacks,
                          generator=generator)
    callbacks.check()
    waveform, sample_rate = decode_audio(models.audio_vae, models.vocoder, audio_latent)
    return GenerationResult(frames, waveform, sample_rate, request.fps, video_latent, audio_latent)


def generate(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    *,
    callbacks: Callbacks | None = None,
) -> GenerationResult:
    """Generate a clip in one stage at the requested size.

    Args:
        models: loaded components (their dtype is the compute dtype; latents stay in it between steps).
        request: sizes, seed, sigmas, guidance, images.
        contexts: text contexts (see :func:`ltx_model.pipelines.encode_text`).
        callbacks: progress / interrupt hooks.
    Returns:
        :class:`GenerationResult` with ``uint8 (F, H, W, 3)`` frames and a float32 ``(2, S)`` waveform.
    """
    callbacks = callbacks or Callbacks()
    generator = torch.Generator(device=models.device).manual_seed(request.seed)
    video, audio = run_stage(models, Stage(request), contexts, generator, callbacks=callbacks)
    return decode_outputs(models, request, video, audio, callbacks, generator)


def _on(contexts: TextContexts, *, device: torch.device, dtype: torch.dtype) -> TextContexts:
    """Contexts moved to the models' device and dtype."""

    def move(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t.to(device=device, dtype=dtype)

    return TextContexts(move(contexts.video), move(contexts.audio), move(contexts.negative_video),
                        move(contexts.negative_audio))
