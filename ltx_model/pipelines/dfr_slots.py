"""Generated keyframe slots (LTX-2.5, ltx-core HEAD ``VideoGeneratedKeyframeSlots``) as a library conditioning item,
and reading the generated keyframes back after denoising (used by the DFR pipeline, :mod:`.dfr`).

A slot is one latent frame of tokens (the target's ``h x w`` cells) appended after the target, fully denoised (mask
1), whose RoPE time span is the single pixel frame it stands for (``modes.keyframes_mask.slot_pixel_bounds``,
divided by fps like every video position); its span is recorded in ``LatentState.generated_slots`` so the keyframes
mask flags it. Its start content is zero or the given ``initial`` keyframe (noised with the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from ..conditioning.items import append_tokens
from ..modes.keyframes_mask import slot_pixel_bounds
from ..sampling import LatentState, VideoGrid
from ..sampling.patchify import patchify_video, unpatchify_video


@dataclass(frozen=True)
class GeneratedKeyframeSlots:
    """Append one generated slot per pixel frame of ``frames``.

    Attributes:
        frames: pixel frames of the slots (in the state's clip).
        initial: optional ``(B, C, K, h, w)`` start content (one latent frame per slot); None = zeros.
    """

    frames: tuple[int, ...]
    initial: torch.Tensor | None = None

    def apply_to(self, state: LatentState) -> LatentState:
        """Return a copy with the slot tokens appended and their spans recorded."""
        grid = state.grid
        if not isinstance(grid, VideoGrid):
            raise ValueError("generated keyframe slots need a video latent state")
        if self.initial is not None and self.initial.shape[2] != len(self.frames):
            raise ValueError(f"{len(self.frames)} slots but {self.initial.shape[2]} initial keyframes")
        b, dim = state.latent.shape[0], state.latent.shape[2]
        for index, frame in enumerate(self.frames):
            if self.initial is None:
                tokens = state.latent.new_zeros(b, grid.height * grid.width, dim)
            else:
                part = self.initial[:, :, index: index + 1].to(state.latent)
                tokens = patchify_video(part.expand(b, -1, -1, -1, -1), patch_size=grid.patch_size)
            positions = slot_pixel_bounds(grid.height, grid.width, frame, device=tokens.device)
            positions[:, 0] /= grid.fps
            first = state.num_tokens
            state = append_tokens(state, tokens, positions.expand(b, -1, -1, -1), strength=0.0)
            state = replace(state, generated_slots=(*state.generated_slots, (first, tokens.shape[1])))
        return state


def generated_keyframes(state: LatentState) -> torch.Tensor:
    """The generated slots of a denoised video state as ``(B, C, K, h, w)`` (append order)."""
    grid = state.grid
    if not state.generated_slots:
        raise ValueError("this state has no generated keyframe slots")
    frames = [unpatchify_video(state.latent[:, first: first + count], frames=1, height=grid.height,
                               width=grid.width, patch_size=grid.patch_size)
              for first, count in state.generated_slots]
    return torch.cat(frames, dim=2)
