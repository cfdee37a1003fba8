"""Which video tokens the LTX-2.5 keyframe embedding flags, defined once (library pipelines and the ComfyUI model).

LTX-2.5 adds a learned ``keyframes_abs_pos_embedding`` to the video tokens whose latent encodes ONE standalone
pixel frame (``Modality.keyframes_mask``, ``(B, T, 1)``). Following Lightricks' latest ltx-core (main @400fd31:
``VideoLatentTools._first_frame_keyframes_mask``, ``VideoGeneratedKeyframeSlots``, ``extend_keyframes_mask``):

* the target's first latent frame is always flagged (the causal VAE encodes pixel frame 0 alone), in every mode,
  with or without an image on it;
* generated keyframe slots (empty single-frame token slots denoised with the target) are flagged;
* every other token is not: later target frames, and appended conditioning tokens that carry GIVEN content (image
  / keyframe guides, IC-LoRA reference videos, reference audio), which the reference deliberately leaves unmarked.

The mask is plain data about the token layout, so it is built for every model; the transformer adds the embedding
only when its config sets ``use_keyframes_abs_pos_embedding`` (19B / 2.3 models ignore it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from ..sampling import LatentState, VideoGrid, latent_bounds_to_pixels, video_latent_bounds
from .geometry import SCALE

TokenSpan = tuple[int, int]
"""``(first token, token count)`` of one run of tokens in a stream's token sequence."""


def frame_token_count(grid: VideoGrid) -> int:
    """Tokens of ONE latent frame of ``grid`` (``H/p · W/p`` for patch edge ``p``)."""
    return (grid.height // grid.patch_size) * (grid.width // grid.patch_size)


def keyframes_mask(
    grid: VideoGrid,
    num_tokens: int,
    *,
    slots: Sequence[TokenSpan] = (),
    batch: int = 1,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The keyframes mask of a video token sequence (see the module docstring for the rule).

    Args:
        grid: the generated target (its ``grid.token_count`` tokens come first).
        num_tokens: ``T``, all tokens of the sequence (target + appended conditioning tokens).
        slots: token spans of generated keyframe slots (each one latent frame of the target's size).
        batch: ``B``.
        device: device of the mask.
    Returns:
        float32 ``(B, T, 1)``: 1 on the target's first latent frame and on the slot tokens, 0 elsewhere.
    """
    if num_tokens < grid.token_count:
        raise ValueError(f"a video sequence of {num_tokens} tokens is shorter than its target ({grid.token_count})")
    mask = torch.zeros(batch, num_tokens, 1, dtype=torch.float32, device=device)
    mask[:, : frame_token_count(grid)] = 1.0
    for first, count in slots:
        if first < grid.token_count or first + count > num_tokens or count != frame_token_count(grid):
            raise ValueError(f"generated keyframe slot tokens [{first}, {first + count}) do not fit a sequence of "
                             f"{num_tokens} tokens after a target of {grid.token_count} "
                             f"({frame_token_count(grid)} tokens per latent frame)")
        mask[:, first : first + count] = 1.0
    return mask


def state_keyframes_mask(state: LatentState | None) -> torch.Tensor | None:
    """:func:`keyframes_mask` of a patchified video state (its ``generated_slots``); None for audio / no state."""
    if state is None or not isinstance(state.grid, VideoGrid):
        return None
    return keyframes_mask(state.grid, state.num_tokens, slots=state.generated_slots, batch=state.latent.shape[0],
                          device=state.latent.device)


def generated_slot_frames(frames: Iterable[int], num_frames: int) -> tuple[int, ...]:
    """Pixel frames of generated keyframe slots, sorted and each once (ltx-pipelines HEAD
    ``resolve_generated_keyframes`` for explicit positions); empty = the feature is off.

    Raises:
        ValueError: a frame outside ``[0, num_frames)``.
    """
    chosen = tuple(sorted({int(f) for f in frames}))
    if chosen and (chosen[0] < 0 or chosen[-1] >= num_frames):
        raise ValueError(f"generated keyframe frames must lie in [0, {num_frames}), got {list(chosen)}")
    return chosen


def slot_pixel_bounds(height: int, width: int, pixel_frame: int, *, device: torch.device | str | None = None
                      ) -> torch.Tensor:
    """RoPE pixel bounds of ONE generated keyframe slot of a ``height x width`` latent grid: the full spatial grid,
    time exactly ``[pixel_frame, pixel_frame + 1)`` in pixel frames (not divided by fps). A slot's single-frame time
    span is what tells it apart from a latent frame (8 pixel frames) in RoPE space (ltx-core HEAD
    ``VideoGeneratedKeyframeSlots._slot_positions``, which divides by fps afterwards).

    Returns:
        float32 ``(1, 3, height * width, 2)`` ``[start, end)`` per axis (frame, row, column), token order of
        :func:`~ltx_model.sampling.patchify_video`.
    """
    bounds = video_latent_bounds(1, height, width, device=device)
    pixels = latent_bounds_to_pixels(bounds, SCALE, causal_fix=False).float()
    pixels[:, 0, :, 0] = float(pixel_frame)
    pixels[:, 0, :, 1] = float(pixel_frame) + 1.0
    return pixels
