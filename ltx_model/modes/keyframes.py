"""Keyframe slots: which frame each conditioning image pins, resolved and checked before anything is encoded.

A frame index counts from the clip's first frame (0); a negative one counts from its end (-1 = the last frame),
as core ``LTXVAddGuide`` does. Strengths are in [0, 1] (1 keeps the frame exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from .geometry import GenerationError, pixel_frames

Image = TypeVar("Image")


def resolve_frame_index(index: int, frames: int, what: str = "frame_idx") -> int:
    """The frame ``index`` pins in a clip of ``frames`` frames (negative: from the end); an error beyond the clip."""
    frame = index + frames if index < 0 else index
    if not 0 <= frame < frames:
        raise GenerationError(f"{what} {index} is beyond the clip of {frames} frames (valid: 0..{frames - 1}, or "
                              f"-1..-{frames} from the end)")
    return frame


def strength_problem(strength: float, what: str = "keyframe strength") -> str | None:
    """A message unless ``0 <= strength <= 1``."""
    return None if 0.0 <= strength <= 1.0 else f"{what} must be in [0, 1], got {strength}"


def plan_keyframes(slots: Sequence[tuple[Image, int, float] | None], frames: int) -> list[tuple[Image, int, float]]:
    """``(image, frame, strength)`` of every filled slot (None = empty; slot ``n`` is named ``keyframe n``), frame
    indices resolved and every slot checked; an error when no slot is filled."""
    plan = []
    for number, slot in enumerate(slots, start=1):
        if slot is None:
            continue
        image, index, strength = slot
        problem = strength_problem(strength, f"keyframe {number}: strength")
        if problem:
            raise GenerationError(problem)
        plan.append((image, resolve_frame_index(index, frames, f"keyframe {number}: frame_idx"), strength))
    if not plan:
        raise GenerationError("keyframe interpolation needs at least one image (connect image_1)")
    return plan


def guide_free_frames(latent_frames: int, guide_tokens: int, cells_per_frame: int) -> int:
    """Pixel frames of a video latent of ``latent_frames`` frames of which ``guide_tokens`` tokens (whole frames of
    ``cells_per_frame`` cells) are appended keyframe guides."""
    return pixel_frames(latent_frames - guide_tokens // cells_per_frame)
