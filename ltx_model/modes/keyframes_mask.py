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

from collections.abc import Sequence

import torch

from ..sampling import LatentState, VideoGrid

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
