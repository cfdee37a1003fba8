"""DFR (LTX-2.5) in ComfyUI's terms: the canvas record carried in the LATENT, the slot split, and the temporal rounds.

The layout rules are the library's (``ltx_model.modes.dfr``); this module only moves LATENT dicts and CONDITIONING
around them:

* the DFR record (:data:`DFR_KEY`) travels in the LATENT dict from DFR Canvas on (the samplers copy the dict):
  the requested frames, the slot positions, the clip's fps and, after DFR Detail Stage, the stage-1 audio latent
  (the audio shipped, as Lightricks' pipeline does);
* generated slots are the LAST ``len(positions)`` latent frames of a sampled video (appended guides, one latent
  frame each, :func:`split_slots`);
* a temporal tile is a video-only LATENT sampled with Euler-ancestral (eta 0.5, its own seed) with its seams as
  anchor keyframes (strength 0.95) and its new slots seeded from its own frames (:func:`sample_tile`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import comfy.sample
import node_helpers
import torch

from ..ltx_model.loading import Family
from ..ltx_model.modes import GenerationError, latent_frames
from ..ltx_model.modes.dfr import (
    ANCHOR_STRENGTH,
    TEMPORAL_ETA,
    DfrTile,
    conditioning_fps,
    merge_keyframes,
    pick_keyframes,
    round_frames,
    slot_seed_indices,
    stitch_tiles,
    tile_ranges,
    tile_seed,
)
from .ancestral import euler_ancestral_sampler
from .conditioning import AVParts, append_guide, cond_value
from .diffusion import REFERENCES_KEY
from .keyframe_slots import SLOTS_NEED_LTX25
from .masked_sampling import StepProgress
from .model_loader import model_facts
from .sampling import default_guider
from .upscale import require_kind, upscale_video

DFR_KEY = "ltx2n_dfr"
"""LATENT key of the :class:`DfrRecord` (set by DFR Canvas, extended by DFR Detail Stage)."""
GUIDE_KEYS = ("keyframe_idxs", "guide_attention_entries", REFERENCES_KEY)
"""CONDITIONING keys a stage adds (keyframe guides / slots, IC-LoRA references); dropped for a temporal tile."""


@dataclass(frozen=True)
class DfrRecord:
    """What the DFR nodes hand each other in the LATENT: the request and the canvas slot frames.

    Attributes:
        requested: frames asked for (``1 + 8k``; the canvas is longer when it was padded).
        positions: pixel frames of the generated slots on the canvas.
        fps: the clip's frame rate (from the positive prompt).
        audio: stage-1 audio latent ``(B, 8, T, 16)`` (set by DFR Detail Stage), or None.
    """

    requested: int
    positions: tuple[int, ...]
    fps: float
    audio: torch.Tensor | None = None


def dfr_record(latent: dict, node: str) -> DfrRecord:
    """The record of a LATENT that went through DFR Canvas; a clear error otherwise."""
    record = latent.get(DFR_KEY)
    if not isinstance(record, DfrRecord):
        raise ValueError(f"{node}: this latent did not come through DFR Canvas (LTX-2.5); connect the latent of "
                         f"the DFR chain (DFR Canvas -> sampler -> DFR Detail Stage -> sampler)")
    return record


def require_ltx25(model: Any, node: str) -> None:
    """A clear error for a model that is not LTX-2.5 (DFR lives on its generated keyframe slots)."""
    facts = model_facts(model)
    if facts is not None and facts.family is not Family.LTX25:
        raise ValueError(f"{node}: DFR needs LTX-2.5: {SLOTS_NEED_LTX25} (the model is {facts.family.value})")


def split_slots(latent: dict, record: DfrRecord, positive: Any, node: str) -> tuple[AVParts, torch.Tensor]:
    """The LATENT's parts without the slots, and the slots ``(B, C, K, h, w)`` (its last K latent frames)."""
    parts = AVParts.of(latent)
    count = len(record.positions)
    idxs = cond_value(positive, "keyframe_idxs")
    _, _, f, h, w = parts.video.shape
    if idxs is None or idxs.shape[2] != count * h * w or f <= count:
        raise ValueError(f"{node}: positive must be the prompt that carries the {count} DFR slots of this latent "
                         f"(from DFR Canvas or DFR Detail Stage); got other guides")
    video, slots = parts.video[:, :, : f - count], parts.video[:, :, f - count:]
    return replace(parts, video=video, video_mask=None, audio_mask=None), slots


def plain_prompt(conditioning: Any, fps: float | None = None) -> Any:
    """``conditioning`` without keyframe guides, slots and references (and at ``fps`` when given)."""
    values: dict[str, Any] = dict.fromkeys(GUIDE_KEYS)
    if fps is not None:
        values["frame_rate"] = float(fps)
    return node_helpers.conditioning_set_values(conditioning, values)


def append_slots(parts: AVParts, positive: Any, negative: Any, positions: tuple[int, ...],
                 initial: torch.Tensor) -> tuple[AVParts, Any, Any]:
    """Append one generated slot per position, its content seeded by ``initial`` ``(B, C, K, h, w)``."""
    for index, frame in enumerate(positions):
        parts, positive, negative = append_guide(parts, positive, negative, initial[:, :, index: index + 1],
                                                 frame, 0.0, generated=True)
    return parts, positive, negative


def sample_tile(model: Any, positive: Any, negative: Any, video: torch.Tensor, tile: DfrTile, anchors: torch.Tensor,
                *, sigmas: torch.Tensor, seed: int, progress: StepProgress) -> tuple[torch.Tensor, torch.Tensor]:
    """Denoise one tile ``video`` ``(B, C, tile.latent_frames, h, w)`` with its anchors ``(B, C, A, h, w)`` at
    :data:`ANCHOR_STRENGTH` and new slots seeded from its frames; returns ``(video, slots (B, C, S, h, w))``."""
    parts = AVParts(video, None, None, None)
    for frame, latent in zip(tile.local(tile.anchors), anchors.split(1, dim=2), strict=True):
        parts, positive, negative = append_guide(parts, positive, negative, latent, frame, ANCHOR_STRENGTH)
    local = tile.local(tile.slots)
    seeds = video[:, :, slot_seed_indices(local, tile.latent_frames)]
    parts, positive, negative = append_slots(parts, positive, negative, local, seeds)
    latent = parts.to_latent({})
    guider = default_guider(model, positive, negative, "none", "distilled stage 1")
    noise = comfy.sample.prepare_noise(latent["samples"], seed)
    out = guider.sample(noise, latent["samples"], euler_ancestral_sampler(eta=TEMPORAL_ETA), sigmas,
                        denoise_mask=latent.get("noise_mask"), callback=progress.callback(), disable_pbar=True,
                        seed=seed)
    out = out.to(video)
    return out[:, :, : tile.latent_frames], out[:, :, out.shape[2] - len(local):]


def run_round(model: Any, positive: Any, negative: Any, state: tuple[torch.Tensor, int, float, tuple, torch.Tensor],
              *, number: int, upscaler: Any, vae: Any, seed: int, sigmas: torch.Tensor, progress: StepProgress
              ) -> tuple[torch.Tensor, int, float, tuple, torch.Tensor]:
    """Temporal round ``number``: ``(video, frames, fps, keyframe positions, keyframes)`` -> the same after it
    (video temporally x2 upsampled, re-denoised in ``2**number`` tiles, stitched; the keyframe bag grown)."""
    video, frames, fps, carry, bag = state
    require_kind(upscaler, "temporal x2", "DFR Temporal Rounds (LTX-2.5)")
    video = upscale_video(video, upscaler, vae)
    frames, fps = round_frames(frames), fps * 2
    seams = tuple(2 * p for p in carry)
    tiles = tile_ranges(seams, frames, 2 ** number)
    cond = [plain_prompt(c, conditioning_fps(fps)) for c in (positive, negative)]
    results, slot_positions, slot_latents = [], [], []
    for index, tile in enumerate(tiles):
        out, slots = sample_tile(model, *cond, video[:, :, tile.latent_start: tile.latent_stop], tile,
                                 pick_keyframes(bag, seams, tile.anchors), sigmas=sigmas,
                                 seed=tile_seed(seed, number, index), progress=progress)
        results.append(out)
        slot_positions += tile.slots
        slot_latents.append(slots)
    stitched = stitch_tiles(results, tiles)
    if stitched.shape[2] != latent_frames(frames):
        raise GenerationError(f"DFR round {number}: stitched {stitched.shape[2]} latent frames for {frames} frames")
    carry, bag = merge_keyframes(seams, bag, slot_positions, torch.cat(slot_latents, dim=2) if slot_latents else None)
    return stitched, frames, fps, carry, bag


def tile_count(positions: tuple[int, ...], frames: int, rounds: int) -> int:
    """Tiles sampled over ``rounds`` rounds of a canvas (for one progress bar over tiles x steps)."""
    total, carry = 0, positions
    for number in range(1, rounds + 1):
        frames = round_frames(frames)
        tiles = tile_ranges([2 * p for p in carry], frames, 2 ** number)
        total += len(tiles)
        carry = tuple(sorted({2 * p for p in carry} | {s for t in tiles for s in t.slots}))
    return total
