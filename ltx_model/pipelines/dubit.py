"""Dub-It / LipDub (ltx-pipelines ``DubItPipeline``, Lightricks/LTX-2 @400fd31): new speech on a source clip.

The rules are :mod:`ltx_model.modes.dubbing`: the source frames are the IC-LoRA reference, the source's whole sound
track is the speaker's voice (clean reference audio tokens, negative times), and the new speech is either a dub
waveform (encoded and frozen: the result's audio is that waveform, bit-identical) or, without one, generated from
the prompt. Fuse the LipDub IC-LoRA (``ltx-2.3-22b-ic-lora-lipdub-0.9``) into ``models.transformer`` beforehand and
pass its ``reference_downscale_factor`` (:func:`~.ic_lora.lora_reference_downscale_factor`).

HEAD runs two stages (half size, x2 latent upsample, a frozen-audio refinement); this entry runs one distilled
stage at the source size, as the pack's other editing modes (:mod:`.inpaint`) do. Its audio layout is HEAD's
stage 2 with a dub waveform (frozen target + reference tokens) and HEAD's stage 1 without one.
The reference pipeline targets LTX-2.3 (the LipDub IC-LoRA exists for it only); the same call runs on LTX-2.5
models if a LoRA for them is fused.

Usable from a plain script::

    result = dub_it(models, contexts, SourceClip(frames, fps, waveform, rate), DubAudio(speech, 48000))
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from ..audio import AudioVAE, to_stereo
from ..conditioning import ConditioningItem, FrozenAudio, ReferenceAudio
from ..modes import GenerationError, as_channels, as_frames, frames_problem, size_problem
from ..modes.dubbing import dub_duration_problem, dub_frames, source_audio_problem
from .editing import Sampling, SourceClip
from .generate import Frozen, Stage, decode_outputs, run_stage
from .ic_lora import ICReference, reference_conditionings
from .models import PipelineModels
from .request import Callbacks, GenerationRequest, GenerationResult, TextContexts
from .sources import encode_clip_audio


@dataclass(frozen=True)
class DubAudio:
    """The new speech: float ``(S,)`` / ``(C, S)`` in [-1, 1] at ``sample_rate`` (any rate), not longer than the
    source clip (shorter is padded with silence)."""

    waveform: torch.Tensor | np.ndarray
    sample_rate: int


def check_dub_inputs(clip: SourceClip, dub: DubAudio | None) -> int:
    """The clip's frame count (the source's snapped to ``1 + 8k``) after checking everything before any encoding.

    Raises:
        GenerationError: source sides not multiples of 32, neither source audio nor a dub, or a dub longer than
            the clip.
    """
    frames = as_frames(clip.frames)
    count = dub_frames(frames.shape[0])
    problem = (frames_problem(count, "the source clip")
               or size_problem(frames.shape[2], frames.shape[1], what="the source clip's width and height")
               or source_audio_problem(clip.waveform is not None, dub is not None))
    if dub is not None and problem is None:
        problem = dub_duration_problem(as_channels(dub.waveform).shape[-1], dub.sample_rate, count, clip.fps)
    if problem:
        raise GenerationError(problem)
    return count


def encode_reference_audio(audio_vae: AudioVAE, waveform: torch.Tensor | np.ndarray, sample_rate: int
                           ) -> torch.Tensor:
    """The whole source sound track ``(C, S)`` -> normalised latent ``(1, 8, T_ref, 16)`` (HEAD encodes the full
    track of the reference video, not only the used frames)."""
    weight = next(audio_vae.parameters())
    stereo = to_stereo(as_channels(waveform).to(device=weight.device, dtype=torch.float32))
    with torch.no_grad():
        return audio_vae.encode_waveform(stereo, int(sample_rate))


def dub_audio_items(reference_latent: torch.Tensor | None, dub_latent: torch.Tensor | None
                    ) -> tuple[tuple[ConditioningItem, ...], Frozen]:
    """Audio items and freezing of a Dub-It stage: the dub latent ``(1, 8, T, 16)`` frozen as the target (when
    given) and the source's ``(1, 8, T_ref, 16)`` appended as clean reference tokens (when the source has sound)."""
    reference = () if reference_latent is None else (ReferenceAudio.from_latent(reference_latent),)
    if dub_latent is None:
        return reference, Frozen.NONE
    return (FrozenAudio(dub_latent), *reference), Frozen.AUDIO


def dub_it(models: PipelineModels, contexts: TextContexts, clip: SourceClip, dub: DubAudio | None = None, *,
           downscale_factor: int = 1, sampling: Sampling | None = None,
           callbacks: Callbacks | None = None) -> GenerationResult:
    """Re-dub ``clip``: its picture regenerated with the source as IC-LoRA reference, lips following the new speech.

    Args:
        clip: the source (``(F, H, W, 3)`` uint8, sides multiples of 32, with its audio: the voice reference);
            F is snapped down to ``1 + 8k``.
        dub: the new speech (frozen; the result's ``waveform`` is it, padded to the clip), or None to generate the
            speech from the prompt in the source speaker's voice.
        downscale_factor: the IC-LoRA's ``reference_downscale_factor``.
    Raises:
        GenerationError: see :func:`check_dub_inputs` (raised before anything is encoded or sampled).
    """
    sampling, callbacks = sampling or Sampling(), callbacks or Callbacks()
    count = check_dub_inputs(clip, dub)
    frames = as_frames(clip.frames)[:count]
    h, w = frames.shape[1:3]
    request = GenerationRequest(height=h, width=w, num_frames=count, fps=clip.fps, seed=sampling.seed,
                                sigmas=sampling.sigmas, video_guidance=sampling.video_guidance,
                                audio_guidance=sampling.audio_guidance, tiling=sampling.tiling)
    video_items, notes = reference_conditionings(models.video_vae, ICReference(frames), height=h, width=w,
                                                 num_frames=count, downscale_factor=downscale_factor)
    reference = (None if clip.waveform is None
                 else encode_reference_audio(models.audio_vae, clip.waveform, clip.sample_rate))
    fitted = None if dub is None else encode_clip_audio(models.audio_vae, dub.waveform, dub.sample_rate,
                                                        num_frames=count, fps=clip.fps)
    audio_items, frozen = dub_audio_items(reference, None if fitted is None else fitted.latent)
    stage = Stage(request, video_items=tuple(video_items), audio_items=audio_items, frozen=frozen)
    generator = torch.Generator(device=models.device).manual_seed(sampling.seed)
    video, audio_state = run_stage(models, stage, contexts, generator, callbacks=callbacks)
    result = decode_outputs(models, request, video, audio_state, callbacks)
    if fitted is None:
        return dataclasses.replace(result, notes=tuple(notes))
    return dataclasses.replace(result, waveform=fitted.waveform, sample_rate=fitted.sample_rate,
                               notes=(*notes, *fitted.notes))
