"""IC-LoRA references conformed to the generated clip (ltx-pipelines ``ICLoraPipeline``).

The reference is encoded at the generated size divided by the IC-LoRA's ``reference_downscale_factor`` (its grid
must stay a multiple of 32), covers that size (resize + center crop, with a note) and keeps at most the clip's
frames, snapped down to ``1 + 8k`` (with a note). An optional attention mask is conformed the same way.
"""

from __future__ import annotations

import torch

from .clips import resize_and_center_crop
from .geometry import SCALE, GenerationError, floor_frame_count


def reference_size(height: int, width: int, factor: int) -> tuple[int, int]:
    """``(height, width) / factor``: the reference grid; an error unless it is a whole multiple of 32."""
    multiple = max(factor, 1) * SCALE.height
    if factor < 1 or height % multiple or width % multiple:
        raise GenerationError(f"the reference grid {height}x{width} / {factor} must be multiples of 32: use a size "
                              f"divisible by {multiple}")
    return height // factor, width // factor


def reference_frames(available: int, clip_frames: int) -> int:
    """Reference frames used: at most the clip's, snapped down to ``1 + 8k``."""
    return floor_frame_count(min(available, clip_frames))


def reference_notes(source: tuple[int, int, int], used: tuple[int, int, int]) -> tuple[str, ...]:
    """Notes for a reference of ``(frames, height, width)`` ``source`` conformed to ``used``."""
    notes = []
    if source[1:] != used[1:]:
        notes.append(f"reference video {source[1]}x{source[2]} resized to {used[1]}x{used[2]}")
    if source[0] != used[0]:
        notes.append(f"reference video trimmed from {source[0]} to {used[0]} frames")
    return tuple(notes)


def attention_strength_problem(strength: float) -> str | None:
    """A message unless ``0 <= strength <= 1``."""
    return None if 0.0 <= strength <= 1.0 else f"attention_strength must be in [0, 1], got {strength}"


def conform_reference_mask(mask: torch.Tensor, *, frames: int, height: int, width: int) -> torch.Tensor:
    """Mask ``(F|1, H, W)`` (or ``(H, W)``) -> ``(1, 1, frames, height, width)``: resized like the reference frames
    (cover + center crop), one frame repeated or the first ``frames`` kept."""
    mask = mask if mask.dim() == 3 else mask[None]
    if 1 < mask.shape[0] < frames:
        raise GenerationError(f"attention_mask has {mask.shape[0]} frames; the reference uses {frames}")
    planes = [resize_and_center_crop(m[..., None].float().cpu().expand(-1, -1, 3), height, width)[:, :1]
              for m in mask[:frames]]
    out = torch.cat(planes, dim=2)  # (1, 1, F', height, width)
    return out.expand(-1, -1, frames, -1, -1) if out.shape[2] == 1 else out
