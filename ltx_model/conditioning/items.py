"""Conditioning items: pure objects ``item.apply_to(state) -> new LatentState`` (ltx-core 1.0.0 semantics).

Items that add content append their tokens **after** the target's tokens (``clear_conditioning`` drops them);
replacement items edit target tokens in place (on a copy). The input state is never modified. Strength ``s`` maps
to ``denoise_mask = 1 - s`` (1 = kept clean). Appended masks are created in the conditioning latent's dtype and
then concatenated, like the reference (so in bf16 runs ``1 - 0.7`` is stored as bf16(0.3) = 0.30078125).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import torch

from ..sampling.patchify import patchify_video
from ..sampling.positions import VideoGrid, latent_bounds_to_pixels, video_latent_bounds
from ..sampling.state import LatentState
from .attention import AttentionWeight, extend_attention_mask
from .errors import ConditioningError


class ConditioningItem(Protocol):
    """Anything that turns a patchified state into a new conditioned state."""

    def apply_to(self, state: LatentState) -> LatentState:
        """Return the conditioned copy of ``state``."""
        ...


def _video_grid(state: LatentState, what: str) -> VideoGrid:
    if not isinstance(state.grid, VideoGrid):
        raise ConditioningError(f"{what} needs a video latent state, got a {type(state.grid).__name__} state")
    return state.grid


def _check_video_latent(latent: torch.Tensor, state: LatentState, grid: VideoGrid, what: str) -> None:
    if latent.dim() != 5:
        raise ConditioningError(f"{what}: expected a (B, C, F, H, W) latent, got shape {tuple(latent.shape)}")
    if latent.shape[0] != state.latent.shape[0] or latent.shape[1] != grid.channels:
        raise ConditioningError(
            f"{what}: latent batch/channels {tuple(latent.shape[:2])} do not match the state "
            f"({state.latent.shape[0]}, {grid.channels})"
        )


def _appended_positions(latent: torch.Tensor, grid: VideoGrid, *, causal_fix: bool, time_offset: int = 0
                        ) -> torch.Tensor:
    """float32 ``(B, 3, T', 2)`` positions of an appended latent's own grid (pixel units, time in seconds)."""
    b, _, f, h, w = latent.shape
    bounds = video_latent_bounds(f, h, w, batch=b, patch_size=grid.patch_size, device=latent.device)
    positions = latent_bounds_to_pixels(bounds, grid.scale, causal_fix=causal_fix)
    positions[:, 0] += time_offset
    positions = positions.to(torch.float32)
    positions[:, 0] /= grid.fps
    return positions


def append_tokens(state: LatentState, tokens: torch.Tensor, positions: torch.Tensor, strength: float,
            attention: AttentionWeight | None = None) -> LatentState:
    """Append clean ``tokens`` with ``positions``, mask ``1 - strength`` and the grown attention mask."""
    mask = torch.full((*tokens.shape[:2], 1), 1.0 - strength, device=tokens.device, dtype=tokens.dtype)
    attention_mask = extend_attention_mask(
        state.attention_mask, attention, num_noisy_tokens=state.grid.token_count,
        num_existing_tokens=state.num_tokens, num_new_tokens=tokens.shape[1], batch=tokens.shape[0],
        device=tokens.device, dtype=tokens.dtype,
    )
    return replace(
        state,
        latent=torch.cat([state.latent, tokens], dim=1),
        denoise_mask=torch.cat([state.denoise_mask, mask], dim=1),
        positions=torch.cat([state.positions, positions], dim=2),
        clean_latent=torch.cat([state.clean_latent, tokens], dim=1),
        attention_mask=attention_mask,
    )


@dataclass(frozen=True)
class ImageAtLatentIndex:
    """Replace the tokens of latent frame(s) ``latent_index...`` by an encoded image (``VideoConditionByLatentIndex``).

    Attributes:
        latent: encoded image(s) ``(B, C, F_c, H, W)`` with the target's ``B, C, H, W`` (usually ``F_c = 1``).
        strength: 1 = the frame stays exactly the image; the mask there becomes ``1 - strength``.
        latent_index: first latent frame to replace (0 = first frame).
    """

    latent: torch.Tensor
    strength: float = 1.0
    latent_index: int = 0

    def apply_to(self, state: LatentState) -> LatentState:
        """Return a copy with latent, clean latent and mask overwritten on the frame's tokens."""
        grid = _video_grid(state, "image conditioning")
        _check_video_latent(self.latent, state, grid, "image conditioning")
        if tuple(self.latent.shape[3:]) != (grid.height, grid.width):
            raise ConditioningError(
                f"image latent is {tuple(self.latent.shape[3:])} (H, W) but the video latent is "
                f"({grid.height}, {grid.width}); encode the image at the video resolution"
            )
        frames = self.latent.shape[2]
        if not 0 <= self.latent_index <= grid.frames - frames:
            raise ConditioningError(
                f"latent index {self.latent_index} (+{frames} frames) is outside the clip of "
                f"{grid.frames} latent frames"
            )
        tokens = patchify_video(self.latent, patch_size=grid.patch_size)
        start = self.latent_index * grid.token_count // grid.frames
        stop = start + tokens.shape[1]
        new = state.clone()
        new.latent[:, start:stop] = tokens
        new.clean_latent[:, start:stop] = tokens
        new.denoise_mask[:, start:stop] = 1.0 - self.strength
        return new


@dataclass(frozen=True)
class KeyframeAtFrame:
    """Append an encoded frame as guiding tokens at pixel frame ``frame_index`` (``VideoConditionByKeyframeIndex``).

    Positions: the keyframe latent's own grid in pixels, causal fix only when ``frame_index == 0``, time shifted by
    ``frame_index`` pixel frames, then / fps (float32): a keyframe at frame k covers ``[k, k+8) / fps``.

    Attributes:
        latent: encoded keyframe ``(B, C, F_k, H_k, W_k)``.
        frame_index: pixel frame index in the output video (``0 <= k < pixel frames``).
        strength: mask ``1 - strength`` on the appended tokens.
    """

    latent: torch.Tensor
    frame_index: int
    strength: float = 1.0

    def apply_to(self, state: LatentState) -> LatentState:
        """Return a copy with the keyframe tokens appended."""
        grid = _video_grid(state, "keyframe conditioning")
        _check_video_latent(self.latent, state, grid, "keyframe conditioning")
        pixel_frames = (grid.frames - 1) * grid.scale.time + 1
        if not 0 <= self.frame_index < pixel_frames:
            raise ConditioningError(f"keyframe index {self.frame_index} is outside the clip of {pixel_frames} frames")
        positions = _appended_positions(
            self.latent, grid, causal_fix=grid.causal_fix and self.frame_index == 0, time_offset=self.frame_index
        )
        return append_tokens(state, patchify_video(self.latent, patch_size=grid.patch_size), positions, self.strength)


@dataclass(frozen=True)
class ReferenceVideo:
    """Append an IC-LoRA reference video (``VideoConditionByReferenceLatent``).

    Positions come from the reference latent's own grid (causal fix, / fps); height and width coordinates are then
    multiplied by ``downscale_factor`` (the LoRA's ``reference_downscale_factor``; 2 for half-resolution refs).
    """

    latent: torch.Tensor
    downscale_factor: int = 1
    strength: float = 1.0

    def apply_to(self, state: LatentState) -> LatentState:
        """Return a copy with the reference tokens appended."""
        grid = _video_grid(state, "reference video conditioning")
        _check_video_latent(self.latent, state, grid, "reference video conditioning")
        if self.downscale_factor < 1:
            raise ConditioningError(f"downscale_factor must be >= 1, got {self.downscale_factor}")
        positions = _appended_positions(self.latent, grid, causal_fix=grid.causal_fix)
        if self.downscale_factor != 1:
            positions[:, 1:] *= self.downscale_factor
        return append_tokens(state, patchify_video(self.latent, patch_size=grid.patch_size), positions, self.strength)


@dataclass(frozen=True)
class WithAttentionStrength:
    """Wrap an appending item so its tokens attend to/from the noisy tokens with weight ``attention``.

    ``attention`` is a scalar or per-new-token weights ``(M,)`` / ``(B, M)`` in [0, 1] (see
    :func:`~ltx_model.conditioning.attention.pixel_mask_to_latent`). ``ConditioningItemAttentionStrengthWrapper``.
    """

    item: ConditioningItem
    attention: AttentionWeight

    def apply_to(self, state: LatentState) -> LatentState:
        """Apply the inner item, then rebuild the mask from the original state's mask."""
        new = self.item.apply_to(state)
        num_new = new.num_tokens - state.num_tokens
        if num_new == 0:
            return new
        mask = extend_attention_mask(
            state.attention_mask, self.attention, num_noisy_tokens=state.grid.token_count,
            num_existing_tokens=state.num_tokens, num_new_tokens=num_new, batch=new.latent.shape[0],
            device=new.latent.device, dtype=new.latent.dtype,
        )
        return replace(new, attention_mask=mask)
