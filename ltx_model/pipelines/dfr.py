"""DFR, detail-fidelity rendering (LTX-2.5; ltx-pipelines main @400fd31 ``DFRPipeline.__call__``), in its order:

1. the canvas: the request's frames padded to the keyframe segment grid, slots at the segment ends
   (``modes.dfr.resolve_canvas``);
2. stage 1 at half size with the request's (distilled) sigmas and plain Euler, generating the video, the audio and
   the keyframe slots (:class:`~.dfr_slots.GeneratedKeyframeSlots`);
3. the half-size video kept as the detailing reference; video AND keyframes x2 upsampled in latent space;
4. stage 2 at full size with the stage-2 sigmas (``stage2_models``: the distilled LoRA, plus the x2 detailing
   IC-LoRA when ``detailing_factor`` > 0, whose reference is the half-size video), slots seeded by the upsampled
   keyframes; video and audio re-noised at the first stage-2 sigma;
5. ``rounds`` temporal rounds (``modes.dfr``): temporal x2 upsample, ``2**round`` tiles with the carried keyframes
   as anchors (strength 0.95) and new mid-segment slots seeded from the tile, video only, ``DISTILLED_SIGMAS[4:]``
   with Euler-ancestral eta 0.5 (noise seed ``seed + 1000 round + tile``), RoPE fps capped at 60; stitched, and
   the keyframe bag grown;
6. the padding trimmed to ``(frames - 1) * 2**rounds + 1`` frames at ``fps * 2**rounds``; the STAGE-1 audio decoded
   and cut to the video's duration.

One generator (seeded once) draws the initial noise of every stage and tile, in that order, as the reference's
shared noiser. Image conditions are not supported here (text to video; the reference re-attaches images per tile).
"""

from __future__ import annotations

import dataclasses

import torch

from ..conditioning import KeyframeAtFrame, ReferenceVideo
from ..modes import GenerationError
from ..modes import dfr as rules
from ..sampling import DISTILLED_SIGMAS, STAGE2_DISTILLED_SIGMAS, LatentState, unpatchify_state_latent
from ..upsampler import LatentUpsampler
from .decode import decode_audio, decode_video
from .denoise import simple_denoiser
from .dfr_slots import GeneratedKeyframeSlots, generated_keyframes
from .generate import Stage, run_stage
from .latents import video_grid
from .models import PipelineModels
from .request import Callbacks, GenerationRequest, GenerationResult, Sampler, TextContexts
from .samplers import ANCESTRAL_NOISE_SEED_OFFSET, ancestral_loop
from .streams import StreamGrids, StreamSpec, denoise_streams
from .two_stage import upsample_video_latent
from .upscale import upscale_video_latent

SLOTS_NEED_LTX25 = "DFR needs an LTX-2.5 transformer (generated keyframe slots need its keyframe embedding)"


@dataclasses.dataclass(frozen=True)
class RoundState:
    """Between temporal rounds: video latent ``(1, C, F, h, w)``, its pixel frames and fps, and the keyframe bag
    (``positions`` and ``(1, C, K, h, w)`` keyframes)."""

    video: torch.Tensor
    frames: int
    fps: float
    positions: tuple[int, ...]
    keyframes: torch.Tensor


def _check(models: PipelineModels, request: GenerationRequest, rounds: int,
           temporal: LatentUpsampler | None) -> None:
    if not models.transformer.config.keyframes_embedding:
        raise GenerationError(SLOTS_NEED_LTX25)
    problem = rules.rounds_problem(rounds, temporal is not None)
    if problem:
        raise GenerationError(f"DFR: {problem}")
    if request.images:
        raise GenerationError("DFR here renders from text only; image conditions are not supported")


def _base_stages(models: PipelineModels, request: GenerationRequest, contexts: TextContexts,
                 generator: torch.Generator, *, stage2_models: PipelineModels | None, detailing_factor: int,
                 callbacks: Callbacks) -> tuple[LatentState, LatentState, tuple[int, ...]]:
    """Steps 1-4: ``(stage-2 video state, stage-1 audio state, slot positions)``."""
    canvas = rules.resolve_canvas(request.num_frames)
    full = dataclasses.replace(request, num_frames=canvas.frames, sampler=Sampler.EULER)
    half = dataclasses.replace(full, height=full.height // 2, width=full.width // 2)
    video, audio = run_stage(models, Stage(half, video_items=(GeneratedKeyframeSlots(canvas.positions),)),
                             contexts, generator, callbacks=callbacks)
    reference = unpatchify_state_latent(video)
    items = [GeneratedKeyframeSlots(canvas.positions, upsample_video_latent(models, generated_keyframes(video)))]
    if detailing_factor:
        items.append(ReferenceVideo(latent=reference, downscale_factor=detailing_factor))
    refine = dataclasses.replace(full, sigmas=STAGE2_DISTILLED_SIGMAS, video_guidance=None, audio_guidance=None)
    stage2 = Stage(refine, video_latent=upsample_video_latent(models, reference),
                   audio_latent=unpatchify_state_latent(audio), video_items=tuple(items),
                   noise_scale=torch.tensor(STAGE2_DISTILLED_SIGMAS[0], dtype=torch.float32))
    video2, _ = run_stage(stage2_models or models, stage2, contexts, generator, callbacks=callbacks)
    return video2, audio, canvas.positions


def _tile(models: PipelineModels, contexts: TextContexts, generator: torch.Generator, request: GenerationRequest,
          state: RoundState, tile: rules.DfrTile, seed: int, callbacks: Callbacks) -> tuple[torch.Tensor, torch.Tensor]:
    """One tile of a round: ``(video (1, C, tile.latent_frames, h, w), new slots (1, C, S, h, w))``."""
    video = state.video[:, :, tile.latent_start: tile.latent_stop]
    anchors = rules.pick_keyframes(state.keyframes, [2 * p for p in state.positions], tile.anchors)
    items = [KeyframeAtFrame(latent=anchors[:, :, i: i + 1], frame_index=frame, strength=rules.ANCHOR_STRENGTH)
             for i, frame in enumerate(tile.local(tile.anchors))]
    local = tile.local(tile.slots)
    items.append(GeneratedKeyframeSlots(local, video[:, :, rules.slot_seed_indices(local, tile.latent_frames)]))
    tile_request = dataclasses.replace(request, num_frames=tile.pixel_frames, fps=rules.conditioning_fps(state.fps))
    sigmas = DISTILLED_SIGMAS[rules.TEMPORAL_SIGMAS_FROM:]
    spec = StreamSpec(tuple(items), video, torch.tensor(sigmas[0], dtype=torch.float32))
    noise = torch.Generator(device=models.device).manual_seed(seed + ANCESTRAL_NOISE_SEED_OFFSET)
    moved = TextContexts(*(None if c is None else c.to(device=models.device, dtype=models.dtype)
                           for c in (contexts.video, contexts.audio, contexts.negative_video,
                                     contexts.negative_audio)))
    out, _ = denoise_streams(StreamGrids(video_grid(tile_request), None), (spec, None), sigmas,
                             simple_denoiser(models.transformer, moved), generator, dtype=models.dtype,
                             device=models.device, callbacks=callbacks,
                             loop=ancestral_loop(noise, eta=rules.TEMPORAL_ETA))
    return unpatchify_state_latent(out), generated_keyframes(out)


def temporal_round(models: PipelineModels, contexts: TextContexts, generator: torch.Generator,
                   request: GenerationRequest, state: RoundState, *, number: int, upsampler: LatentUpsampler,
                   callbacks: Callbacks) -> RoundState:
    """Step 5, round ``number`` (1-based): the next :class:`RoundState`."""
    video = upscale_video_latent(models, upsampler, state.video).to(device=models.device, dtype=models.dtype)
    state = dataclasses.replace(state, video=video, frames=rules.round_frames(state.frames), fps=state.fps * 2)
    seams = tuple(2 * p for p in state.positions)
    tiles = rules.tile_ranges(seams, state.frames, 2 ** number)
    results, slot_positions, slots = [], [], []
    for index, tile in enumerate(tiles):
        callbacks.check()
        out, new = _tile(models, contexts, generator, request, state, tile,
                         rules.tile_seed(request.seed, number, index), callbacks)
        results.append(out)
        slot_positions += tile.slots
        slots.append(new)
    positions, keyframes = rules.merge_keyframes(seams, state.keyframes, slot_positions, torch.cat(slots, dim=2))
    return RoundState(rules.stitch_tiles(results, tiles), state.frames, state.fps, positions, keyframes)


def generate_dfr(models: PipelineModels, request: GenerationRequest, contexts: TextContexts, *,
                 stage2_models: PipelineModels | None = None, temporal_upsampler: LatentUpsampler | None = None,
                 rounds: int = 0, detailing_factor: int = 0, callbacks: Callbacks | None = None) -> GenerationResult:
    """Render ``request`` (``num_frames`` = the frames wanted, sizes multiples of 64) with DFR.

    Args:
        models: LTX-2.5 models with the distilled LoRA fused and the spatial x2 ``upsampler``.
        stage2_models: models for stage 2 (the detailing IC-LoRA fused too); default ``models``.
        temporal_upsampler: the temporal x2 latent upsampler (needed when ``rounds`` > 0).
        rounds: temporal x2 rounds, 0 / 1 / 2.
        detailing_factor: the detailing IC-LoRA's ``reference_downscale_factor`` (2); 0 = no detailing reference.
    Returns:
        :class:`GenerationResult`: ``(num_frames - 1) * 2**rounds + 1`` frames at ``fps * 2**rounds``, the stage-1
        audio cut to the video's duration.
    """
    _check(models, request, rounds, temporal_upsampler)
    callbacks = callbacks or Callbacks()
    generator = torch.Generator(device=models.device).manual_seed(request.seed)
    video, audio, positions = _base_stages(models, request, contexts, generator, stage2_models=stage2_models,
                                           detailing_factor=detailing_factor, callbacks=callbacks)
    canvas = rules.resolve_canvas(request.num_frames)
    state = RoundState(unpatchify_state_latent(video), canvas.frames, request.fps, positions,
                       generated_keyframes(video))
    for number in range(1, rounds + 1):
        state = temporal_round(models, contexts, generator, request, state,
                               number=number, upsampler=temporal_upsampler, callbacks=callbacks)
    frames, fps = rules.final_frames(request.num_frames, rounds), request.fps * 2 ** rounds
    latent = state.video[:, :, : rules.kept_latent_frames(request.num_frames, rounds)]
    pixels = decode_video((stage2_models or models).video_vae, latent, mode=request.tiling, callbacks=callbacks,
                          generator=torch.Generator(device=models.device).manual_seed(request.seed))
    audio_latent = unpatchify_state_latent(audio)
    waveform, rate = decode_audio(models.audio_vae, models.vocoder, audio_latent)
    waveform = waveform[..., : rules.audio_samples(frames, fps, rate, waveform.shape[-1])]
    return GenerationResult(pixels, waveform, rate, fps, latent, audio_latent)
