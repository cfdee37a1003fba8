"""Inpaint, outpaint (the in/outpainting IC-LoRA) and video-to-video IC-LoRAs: the official pack's 2026 recipes.

Neither Lightricks' ltx-pipelines nor ltx-core 1.0.0 has these modes (HEAD ltx-core has ``VideoConditionByMask``,
a latent-space mask item no pipeline uses); the recipe is the official ComfyUI workflows'
``LTX-2.3_ICLoRA_{In,Out}paint_Two_Stage_Distilled``: the source with a flat colour under the (dilated) mask is
the IC-LoRA reference (``reference_downscale_factor`` 1), the whole frame is generated, the source audio is kept
(frozen: mask 0, so its latent stays the encoded source) and also given as reference audio tokens, and the decoded
clip is blended back into the source with a Laplacian pyramid (``modes.pyramid``). Fuse the IC-LoRA
(``ltx-2.3-22b-ic-lora-in-outpainting``) into ``models.transformer`` beforehand.

Frames: ``(F, H, W, 3)`` uint8 (or floats in [0, 255]); masks ``(F|1, H, W)`` in [0, 1], 1 = regenerate.
"""

from __future__ import annotations

import dataclasses

import torch

from ..conditioning import ReferenceAudio
from ..modes import GenerationError, as_frames, frames_problem, size_problem
from ..modes.masks import dilate_mask, flat_colour_composite, mask_problem, outpaint_source
from ..modes.pyramid import pyramid_blend, soften_mask
from .editing import Sampling, SourceClip
from .generate import Frozen, Stage, decode_outputs, run_stage
from .ic_lora import ICReference, reference_conditionings
from .models import PipelineModels
from .request import Callbacks, GenerationRequest, GenerationResult, TextContexts
from .sources import AudioFit, encode_clip_audio


@dataclasses.dataclass(frozen=True)
class MaskSettings:
    """Mask growth before generation (``spatial_radius`` pixels, ``temporal_radius`` frames; official defaults of
    the inpaint workflow: 5 / 0 for the reference) and the soft growth of the blend mask (``blend_radius`` at a
    long side of 64 pixels; the official workflows use 5 for inpaint, 2 for outpaint)."""

    spatial_radius: int = 5
    temporal_radius: int = 0
    blend_radius: int = 5


def _check_source(frames: torch.Tensor, what: str) -> None:
    f, h, w = frames.shape[:3]
    problem = frames_problem(f, what) or size_problem(w, h, what=f"{what}'s width and height")
    if problem:
        raise GenerationError(problem)


def inpaint(models: PipelineModels, contexts: TextContexts, clip: SourceClip, mask: torch.Tensor, *,
            settings: MaskSettings | None = None, sampling: Sampling | None = None,
            callbacks: Callbacks | None = None) -> GenerationResult:
    """Regenerate the white part of ``mask`` in ``clip``; outside the softened blend mask the result is the source
    bit-identically, the source audio is kept.

    Raises:
        GenerationError: source not ``1 + 8k`` frames / not multiples of 32, or a mask of another size or frame
            count (checked before anything is encoded).
    """
    settings = settings or MaskSettings()
    frames = as_frames(clip.frames)
    _check_source(frames, "the source clip")
    problem = mask_problem(tuple(mask.shape), tuple(frames.shape))
    if problem:
        raise GenerationError(problem)
    grown = dilate_mask(mask.float().expand(frames.shape[0], -1, -1), settings.spatial_radius,
                        settings.temporal_radius)
    source = frames / 255.0
    return _edit(models, contexts, clip, source, grown, settings.blend_radius, sampling, callbacks)


def outpaint(models: PipelineModels, contexts: TextContexts, clip: SourceClip, *, left: int, right: int, top: int,
             bottom: int, width: int = 0, height: int = 0, blend_radius: int = 2, sampling: Sampling | None = None,
             callbacks: Callbacks | None = None) -> GenerationResult:
    """Generate ``left`` / ``right`` / ``top`` / ``bottom`` pixels of new area (each rounded to the 32-pixel grid)
    around the source, kept whole (``modes.masks.outpaint_canvas``: on a ``width`` x ``height`` canvas it is fitted,
    never cropped, into what the borders leave; 0 = the source plus its borders, pixel for pixel) and unchanged
    there (bit-identical outside the softened blend band), its audio kept.

    Raises:
        GenerationError: canvas not multiples of 32, negative borders, borders that round to nothing or leave no
            source pixels, source not ``1 + 8k`` frames.
    """
    frames = as_frames(clip.frames)
    try:
        canvas, source = outpaint_source(frames / 255.0, width=width, height=height, left=left, right=right,
                                         top=top, bottom=bottom)
    except ValueError as exc:
        raise GenerationError(str(exc)) from exc
    problem = frames_problem(frames.shape[0], "the source clip")
    if problem:
        raise GenerationError(problem)
    return _edit(models, contexts, clip, source, canvas.mask(frames.shape[0]), blend_radius, sampling, callbacks)


def _edit(models: PipelineModels, contexts: TextContexts, clip: SourceClip, source: torch.Tensor,
          mask: torch.Tensor, blend_radius: int, sampling: Sampling | None,
          callbacks: Callbacks | None) -> GenerationResult:
    """Generate ``source`` ``(F, H, W, 3)`` in [0, 1] regenerated under ``mask`` ``(F, H, W)`` and blend it back."""
    reference = flat_colour_composite(source, mask) * 255.0
    result = sample_with_reference(models, contexts, clip, reference, keep_audio=True, sampling=sampling,
                                   callbacks=callbacks)
    blended = pyramid_blend(result.frames.float() / 255.0, source, soften_mask(mask, blend_radius))
    frames = (blended * 255.0).round().to(torch.uint8)  # exactly the source's uint8 where the blend mask is 0
    return dataclasses.replace(result, frames=frames)


def sample_with_reference(models: PipelineModels, contexts: TextContexts, clip: SourceClip, reference: torch.Tensor,
                          *, keep_audio: bool, sampling: Sampling | None = None,
                          callbacks: Callbacks | None = None) -> GenerationResult:
    """One distilled stage at the size of ``reference`` ``(F, H, W, 3)`` in [0, 255], which is the IC-LoRA
    reference (downscale factor 1). With ``keep_audio`` and source audio, the audio is the encoded source, frozen,
    and also its reference tokens (``ReferenceAudio``); otherwise it is generated."""
    sampling, callbacks = sampling or Sampling(), callbacks or Callbacks()
    f, h, w = reference.shape[:3]
    request = GenerationRequest(height=h, width=w, num_frames=f, fps=clip.fps, seed=sampling.seed,
                                sigmas=sampling.sigmas, tiling=sampling.tiling)
    items, notes = reference_conditionings(models.video_vae, ICReference(reference), height=h, width=w,
                                           num_frames=f)
    stage = Stage(request, video_items=tuple(items))
    if clip.waveform is not None and keep_audio:
        audio = encode_clip_audio(models.audio_vae, clip.waveform, clip.sample_rate, num_frames=f, fps=clip.fps,
                                  fit=AudioFit.ENCODE_THEN_CROP)
        stage = dataclasses.replace(stage, audio_latent=audio.latent, frozen=Frozen.AUDIO,
                                    audio_items=(ReferenceAudio.from_latent(audio.latent),))
        notes = (*notes, *audio.notes)
    generator = torch.Generator(device=models.device).manual_seed(sampling.seed)
    video, audio_state = run_stage(models, stage, contexts, generator, callbacks=callbacks)
    result = decode_outputs(models, request, video, audio_state, callbacks)
    return dataclasses.replace(result, notes=tuple(notes))


def video_to_video(models: PipelineModels, contexts: TextContexts, clip: SourceClip, *, keep_audio: bool = True,
                   sampling: Sampling | None = None, callbacks: Callbacks | None = None) -> GenerationResult:
    """Restyle / add detail to a clip with a video-to-video IC-LoRA (the official ``V2V_ICLoRA`` recipe: the
    source is the reference, factor 1), at the source's size; its audio kept (frozen + reference tokens) or, with
    ``keep_audio=False``, generated anew. Fuse the IC-LoRA (e.g. ``ltx-2.3-22b-ic-lora-deblur``) beforehand.

    Raises:
        GenerationError: source not ``1 + 8k`` frames or its sides not multiples of 32.
    """
    frames = as_frames(clip.frames)
    _check_source(frames, "the source clip")
    return sample_with_reference(models, contexts, clip, frames, keep_audio=keep_audio, sampling=sampling,
                                 callbacks=callbacks)
