"""From a predicted duration to a frame count on the video VAE's ``1 + 8k`` grid.

Follows ltx-pipelines HEAD ``DurationPredictor.__call__`` / ``seconds_to_clamped_num_frames``: the bounds become
frame counts (``round(seconds * fps)``), the prediction is clamped to them *before* snapping, snapping floors to the
grid, and when flooring undershoots the lower bound the next grid point up is taken. Where the bounds admit no grid
point at all (e.g. [1.0 s, 1.02 s] at 24 fps) Lightricks returns the upper bound itself, which is off the grid; we
take the grid point nearest the clamped count instead (as diffusers 0.42.1 ``predict_num_frames`` does), so the result
always obeys the frame rule of :mod:`ltx_model.modes.geometry`. The frame bounds are at least 1 (as diffusers; HEAD's
grid snapping raises for a count below 1, e.g. ``min_seconds=0`` with a near-zero prediction).
"""

from __future__ import annotations

import torch

from ..loading.detect import Family
from ..modes.geometry import SCALE, floor_frame_count
from .model import DurationHead

DEFAULT_MIN_SECONDS = 1.0
DEFAULT_MAX_SECONDS = 20.0

DURATION_RANGE_FAMILIES = (Family.LTX25,)
"""Families whose durations Lightricks keep to [DEFAULT_MIN_SECONDS, DEFAULT_MAX_SECONDS] (the duration head's
range, ltx-pipelines @400fd31 ``AutoDuration`` / ``DurationPredictor``; LTX-2.5 is the first family with a duration
head; Lightricks state no maximum for LTX-2 / 2.3)."""


def seconds_to_frame_count(
    seconds: float,
    fps: float,
    *,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    scale: int = SCALE.time,
) -> int:
    """A ``1 + 8k`` frame count for a clip of ``seconds`` at ``fps``, clamped to ``[min_seconds, max_seconds]``.

    Raises:
        ValueError: non-positive fps, or ``min_seconds > max_seconds``.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if min_seconds > max_seconds:
        raise ValueError(f"min_seconds ({min_seconds}) must not exceed max_seconds ({max_seconds})")
    min_frames = max(1, round(min_seconds * fps))
    max_frames = max(1, round(max_seconds * fps))
    clamped = max(min_frames, min(round(seconds * fps), max_frames))
    frames = floor_frame_count(clamped, scale)
    if frames >= min_frames:
        return frames
    up = frames + scale
    if up <= max_frames:
        return up
    return up if abs(up - clamped) < abs(frames - clamped) else frames


def predict_frame_count(
    head: DurationHead,
    video: torch.Tensor | None,
    audio: torch.Tensor | None,
    *,
    fps: float,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> tuple[int, float]:
    """Suggested frame count for ONE prompt and the raw predicted seconds.

    Args:
        head: a loaded :class:`DurationHead`.
        video / audio: (1, S, D) connector outputs (``TextEncoding.video_context`` / ``audio_context``).
        fps: frame rate of the clip to generate.
        min_seconds / max_seconds: bounds of the suggestion (the reference's defaults: 1 s and 20 s).
    Returns:
        ``(frames, seconds)``: ``frames`` obeys ``1 + 8k``.
    Raises:
        ValueError: more than one prompt (one frame count cannot serve prompts of different lengths).
    """
    with torch.no_grad():
        seconds = head(video, audio)
    if seconds.shape != (1,):
        raise ValueError(f"predict_frame_count takes one prompt, got a prediction of shape {tuple(seconds.shape)}")
    value = float(seconds.item())
    return seconds_to_frame_count(value, fps, min_seconds=min_seconds, max_seconds=max_seconds), value
