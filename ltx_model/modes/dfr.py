"""DFR (detail-fidelity rendering, LTX-2.5): the canvas, its keyframe grid and the temporal rounds' tiles, once.

Lightricks' ``DFRPipeline`` (ltx-pipelines main @400fd31, ``dfr_pipeline.py`` / ``dfr_layout.py``) renders a clip in
two stages plus optional temporal rounds; every layout rule of it lives here, for both the plain-script pipeline
(``ltx_model.pipelines.dfr``) and the ComfyUI nodes (``nodes/dfr.py``):

* **Canvas** (:func:`resolve_canvas`): ``requested - 1`` pixel frames are padded up to a multiple of a segment
  length (24 or 32 frames, whichever pads least; ties keep 32). Generated keyframe slots sit on every segment end
  ``[S, 2S, ..., N' - 1]`` (frame 0 is excluded: it is already a one-pixel-frame token; the last frame is included).
* **Temporal round** ``r`` (1 or 2): the video latent is temporally x2 upsampled (``N -> 2(N - 1) + 1`` frames at
  twice the fps), the seams (the carried keyframe positions, doubled) split the canvas into ``2**r`` tiles
  (:func:`tile_ranges`); each tile is denoised with its seams as anchor keyframes (strength 0.95) and new slots in
  the middle of each of its segments, seeded from the tile's own video latent (:func:`slot_seed_indices`); the
  tiles are stitched (:func:`stitch_tiles`) and the next round's keyframe bag is the anchors plus the new slots
  (:func:`merge_keyframes`).
* **Result** (:func:`final_frames`, :func:`kept_latent_frames`, :func:`audio_samples`): ``(requested - 1) *
  2**rounds + 1`` frames at ``fps * 2**rounds``; the stage-1 audio cut to the video's duration.

Frames are pixel-frame indices on the x8 latent border (pixel frame ``p`` is latent frame ``p // 8``); latents are
``(B, C, F, H, W)``; keyframe bags are ``(B, C, K, H, W)`` (one latent frame per keyframe).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .geometry import SCALE, GenerationError

SEGMENT_CANDIDATES = (24, 32)
"""Keyframe segment lengths in pixel frames (multiples of the x8 temporal scale)."""
TILE_LEAD_SEGMENTS = 1
"""Segments a non-first tile reaches back: its local latents 0 (an image latent) and 1 (denoised against it) fall
in the dropped prefix, and the window still starts on a keyframe anchor."""
ANCHOR_STRENGTH = 0.95
"""Strength of the carried seam keyframes in a temporal round (just short of clean so a tile settles its seam)."""
TEMPORAL_ETA = 0.5
"""Euler-ancestral eta of the temporal rounds."""
MAX_CONDITIONING_FPS = 60.0
"""RoPE time base cap of a temporal round (playback fps may be higher; beyond 60 the model stalls every latent)."""
TEMPORAL_ROUNDS = (0, 1, 2)
ROUND_SEED_STRIDE = 1000
"""Tile ``t`` of round ``r`` draws its ancestral noise from seed ``seed + 1000 * r + t`` (tiles are positionally
identical: a shared seed would inject the same noise into each)."""
TEMPORAL_SIGMAS_FROM = 4
"""A temporal round samples the distilled stage-1 sigmas from this index on (``DISTILLED_SIGMAS[4:]``)."""


@dataclass(frozen=True)
class DfrCanvas:
    """The padded canvas: ``frames`` pixel frames (``1 + k * segment``), slots at ``positions`` (segment ends)."""

    frames: int
    segment: int
    positions: tuple[int, ...]


@dataclass(frozen=True)
class DfrTile:
    """One temporal tile in global pixel / latent frames.

    Attributes:
        pixel_start, pixel_end: inclusive pixel frames of the tile's window.
        latent_start, latent_stop: half-open latent frames ``[start, stop)`` of the window.
        anchors: global seam frames inside the window (keyframe anchors; frame 0 is never one).
        slots: global mid-segment frames this tile generates.
        drop: leading latent frames of the tile's result not stitched (lead-in + the shared seam latent).
    """

    pixel_start: int
    pixel_end: int
    latent_start: int
    latent_stop: int
    anchors: tuple[int, ...]
    slots: tuple[int, ...]
    drop: int

    @property
    def latent_frames(self) -> int:
        """Latent frames of the tile's window."""
        return self.latent_stop - self.latent_start

    @property
    def pixel_frames(self) -> int:
        """Pixel frames of the tile's window, ``(latent_frames - 1) * 8 + 1``."""
        return (self.latent_frames - 1) * SCALE.time + 1

    def local(self, positions: Sequence[int]) -> tuple[int, ...]:
        """Global pixel frames shifted to the tile (``local = global - pixel_start``)."""
        return tuple(int(p) - self.pixel_start for p in positions)


def choose_segment_length(content_frames: int) -> int:
    """The segment of :data:`SEGMENT_CANDIDATES` that pads ``content_frames`` (``num_frames - 1``) least; a tie keeps
    the longer one."""
    if content_frames < 1:
        raise GenerationError(f"DFR: content frames must be >= 1, got {content_frames}")
    return min(SEGMENT_CANDIDATES, key=lambda s: ((s - content_frames % s) % s, -s))


def resolve_canvas(num_frames: int) -> DfrCanvas:
    """The canvas of a request of ``num_frames`` (``1 + 8k``, at least 9) frames: padded frame count, segment and
    slot positions ``[S, 2S, ..., N' - 1]``."""
    if num_frames < 2 or (num_frames - 1) % SCALE.time:
        raise GenerationError(f"DFR needs a frame count of 1 + 8k (at least 9), got {num_frames}")
    content = num_frames - 1
    segment = choose_segment_length(content)
    padded = content + (segment - content % segment) % segment
    return DfrCanvas(padded + 1, segment, tuple(segment * i for i in range(1, padded // segment + 1)))


def latent_index(pixel_frame: int) -> int:
    """Latent frame of a pixel frame on the x8 border (0 or a multiple of 8)."""
    if pixel_frame < 0 or (pixel_frame and pixel_frame % SCALE.time):
        raise GenerationError(f"DFR: pixel frame {pixel_frame} is not on the x{SCALE.time} latent border")
    return pixel_frame // SCALE.time


def owned_segment_counts(segments: int, tiles: int) -> list[int]:
    """``segments`` split into ``tiles`` contiguous runs, the larger runs first."""
    base, extra = divmod(segments, tiles)
    return [base + (1 if i < extra else 0) for i in range(tiles)]


def _tile(bounds: Sequence[int], own_lo: int, own_hi: int, lead: int) -> DfrTile:
    """The tile owning segments ``[own_lo, own_hi)`` of ``bounds`` (``[0, seam_1, ..., seam_n]``) with ``lead``
    segments of lead-in; it drops the lead-in and the seam latent the previous tile keeps."""
    lo = max(0, own_lo - lead)
    start, end = bounds[lo], bounds[own_hi]
    drop = latent_index(bounds[own_lo]) - latent_index(start) + (1 if own_lo > 0 else 0)
    return DfrTile(start, end, latent_index(start), latent_index(end) + 1,
                   tuple(bounds[i] for i in range(lo, own_hi + 1) if bounds[i]),
                   tuple((bounds[i] + bounds[i + 1]) // 2 for i in range(lo, own_hi)), drop)


def _check_seams(seams: Sequence[int], num_frames: int) -> list[int]:
    """``[0, *seams]`` after checking the seams end on the last frame and span >= 2 latent frames each."""
    if num_frames < 2 or not seams:
        raise GenerationError(f"DFR tiles need >= 2 frames and seams, got {num_frames} frames, seams {list(seams)}")
    if int(seams[-1]) != num_frames - 1:
        raise GenerationError(f"DFR: the last seam must be the last frame {num_frames - 1}, got {seams[-1]}")
    bounds = [0, *(int(s) for s in seams)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        if b - a < 2 * SCALE.time or (b - a) % SCALE.time:
            raise GenerationError(f"DFR: segment [{a}, {b}] must span a multiple of {SCALE.time} frames, at "
                                  f"least 2 latent frames (seams {list(seams)})")
    return bounds


def tile_ranges(seams: Sequence[int], num_frames: int, num_tiles: int, *, lead: int = TILE_LEAD_SEGMENTS
                ) -> list[DfrTile]:
    """The canvas of ``num_frames`` frames cut at ``seams`` (increasing, the last = ``num_frames - 1``) into
    ``num_tiles`` gapless tiles (clamped to the segment count), each non-first one reaching ``lead`` segments back."""
    if num_tiles < 1 or lead < 1:
        raise GenerationError(f"DFR: num_tiles and lead must be >= 1, got {num_tiles} and {lead}")
    bounds = _check_seams(seams, num_frames)
    segments = len(bounds) - 1
    tiles, own_lo = [], 0
    for index, count in enumerate(owned_segment_counts(segments, min(num_tiles, segments))):
        tiles.append(_tile(bounds, own_lo, own_lo + count, lead if index else 0))
        own_lo += count
    return tiles


def stitch_tiles(latents: Sequence[torch.Tensor], tiles: Sequence[DfrTile]) -> torch.Tensor:
    """Tile results ``(B, C, tile.latent_frames, H, W)`` concatenated along time, each without its ``drop`` prefix;
    ``(B, C, canvas latent frames, H, W)``."""
    if len(latents) != len(tiles) or not tiles:
        raise GenerationError(f"DFR stitch: {len(latents)} tile latents for {len(tiles)} tiles")
    for latent, tile in zip(latents, tiles, strict=True):
        if latent.dim() != 5 or latent.shape[2] != tile.latent_frames:
            raise GenerationError(f"DFR stitch: tile latent {tuple(latent.shape)} does not have the tile's "
                                  f"{tile.latent_frames} latent frames")
    return torch.cat([latent[:, :, tile.drop:] for latent, tile in zip(latents, tiles, strict=True)], dim=2)


def slot_seed_indices(positions: Sequence[int], latent_frames: int) -> list[int]:
    """Latent frame nearest each (local) slot position, clamped to ``[0, latent_frames)``: a slot's initial content."""
    return [min(max(round(int(p) / SCALE.time), 0), latent_frames - 1) for p in positions]


def pick_keyframes(bag: torch.Tensor, bag_positions: Sequence[int], wanted: Sequence[int]) -> torch.Tensor:
    """The keyframes of ``bag`` ``(B, C, K, H, W)`` (at ``bag_positions``) at the ``wanted`` positions, in order."""
    index = {int(p): i for i, p in enumerate(bag_positions)}
    missing = [p for p in wanted if int(p) not in index]
    if missing:
        raise GenerationError(f"DFR: anchor seams {missing} are missing from the carried keyframes {list(index)}")
    return torch.cat([bag[:, :, index[int(p)]: index[int(p)] + 1] for p in wanted], dim=2)


def merge_keyframes(anchor_positions: Sequence[int], anchors: torch.Tensor | None, slot_positions: Sequence[int],
                    slots: torch.Tensor | None) -> tuple[tuple[int, ...], torch.Tensor]:
    """The next round's keyframe bag: carried anchors plus this round's slots, sorted by position. A position listed
    twice within one kind (a lead-in repeats the previous tile's slots) keeps its FIRST entry (the earlier tile's);
    a slot at an anchor's position replaces it (the reference merges anchors, then slots).
    Returns ``(positions, (B, C, K, H, W))``."""
    chosen: dict[int, torch.Tensor] = {}
    for positions, latents, what in ((anchor_positions, anchors, "anchor"), (slot_positions, slots, "slot")):
        if not positions:
            continue
        if latents is None or latents.shape[2] != len(positions):
            raise GenerationError(f"DFR: {len(positions)} {what} positions but "
                                  f"{None if latents is None else latents.shape[2]} {what} latents")
        firsts: dict[int, int] = {}
        for i, p in enumerate(positions):
            firsts.setdefault(int(p), i)
        for p, i in firsts.items():
            chosen[p] = latents[:, :, i: i + 1]
    if not chosen:
        raise GenerationError("DFR: the carried keyframe bag is empty")
    ordered = tuple(sorted(chosen))
    return ordered, torch.cat([chosen[p] for p in ordered], dim=2)


def round_frames(frames: int) -> int:
    """Pixel frames after one temporal x2 round: ``2 (N - 1) + 1``."""
    return 2 * (frames - 1) + 1


def conditioning_fps(fps: float) -> float:
    """The RoPE time base of a temporal round at playback ``fps`` (capped at :data:`MAX_CONDITIONING_FPS`)."""
    return min(float(fps), MAX_CONDITIONING_FPS)


def tile_seed(seed: int, round_number: int, tile_index: int) -> int:
    """The ancestral noise seed of tile ``tile_index`` in round ``round_number`` (1-based)."""
    return seed + ROUND_SEED_STRIDE * round_number + tile_index


def rounds_problem(rounds: int, has_temporal_upscaler: bool) -> str | None:
    """A message for rounds outside 0/1/2 or rounds without a temporal upscaler."""
    if rounds not in TEMPORAL_ROUNDS:
        return f"temporal rounds must be 0, 1 or 2 (x1, x2, x4 fps), got {rounds}"
    if rounds and not has_temporal_upscaler:
        return "temporal rounds > 0 need the temporal x2 latent upscaler (ltx-2.5-latent-temporal-upscaler-x2)"
    return None


def final_frames(requested: int, rounds: int) -> int:
    """Frames of the result: ``(requested - 1) * 2**rounds + 1`` (the canvas padding is trimmed away)."""
    return (requested - 1) * 2 ** rounds + 1


def kept_latent_frames(requested: int, rounds: int) -> int:
    """Latent frames kept by the final trim (the target always lands on a latent border)."""
    return (final_frames(requested, rounds) - 1) // SCALE.time + 1


def audio_samples(video_frames: int, fps: float, sample_rate: int, available: int) -> int:
    """Audio samples that last as long as ``video_frames`` frames at ``fps`` (at most ``available``)."""
    return min(available, round(video_frames / fps * sample_rate))


def audio_latent_frames(video_frames: int, fps: float, per_second: float, available: int) -> int:
    """Audio latent frames covering ``video_frames`` at ``fps`` (rounded up, at most ``available``): the latent-space
    cut of the ComfyUI graph, whose decoder then yields the duration within one audio latent (40 ms)."""
    return min(available, math.ceil(video_frames / fps * per_second))
