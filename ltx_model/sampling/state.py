"""The patchified latent state that conditioning items edit and the samplers advance.

Mirrors ltx-core's ``LatentState`` (plus the ``frozen`` flag of HEAD ltx-core) and additionally carries the
target ``grid``, so a conditioning item can be applied to a state alone (``item.apply_to(state)``) without the
reference's separate ``LatentTools`` object. Tokens ``[0, grid.token_count)`` are the generated latent; anything
after them was appended by conditioning items and is dropped by ``clear_conditioning``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .patchify import patchify_audio, patchify_video, unpatchify_audio, unpatchify_video
from .positions import AudioGrid, VideoGrid, audio_positions, video_positions


@dataclass(frozen=True)
class LatentState:
    """One modality's latent during denoising (all tensors patchified).

    Attributes:
        latent: ``(B, T, D)`` current (noisy) tokens.
        denoise_mask: float32 ``(B, T, 1)``; 1 = fully denoised, 0 = kept clean (``1 - strength``).
        positions: ``(B, n_axes, T, 2)`` token bounds (see :mod:`ltx_model.sampling.positions`).
        clean_latent: ``(B, T, D)`` clean reference tokens (conditioning content).
        grid: geometry of the generated target (its ``token_count`` leading tokens).
        attention_mask: optional ``(B, T, T)`` self-attention weights in [0, 1]; ``None`` = full attention.
        frozen: the whole stream is held fixed (A2V audio): denoise_mask is all 0 and, following HEAD
            ltx-core, the scalar sigma given to the transformer for this modality is 0.
        generated_slots: ``(first token, count)`` spans of generated keyframe slots (LTX-2.5: appended empty
            single-frame tokens that are denoised with the target and flagged in the keyframes mask, see
            :mod:`ltx_model.modes.keyframes_mask`); items that append tokens later keep them (``replace``).
    """

    latent: torch.Tensor
    denoise_mask: torch.Tensor
    positions: torch.Tensor
    clean_latent: torch.Tensor
    grid: VideoGrid | AudioGrid
    attention_mask: torch.Tensor | None = None
    frozen: bool = False
    generated_slots: tuple[tuple[int, int], ...] = ()

    @property
    def num_tokens(self) -> int:
        """Total tokens ``T`` including appended conditioning tokens."""
        return self.latent.shape[1]

    def clone(self) -> LatentState:
        """Deep copy of all tensors."""
        return replace(
            self,
            latent=self.latent.clone(),
            denoise_mask=self.denoise_mask.clone(),
            positions=self.positions.clone(),
            clean_latent=self.clean_latent.clone(),
            attention_mask=None if self.attention_mask is None else self.attention_mask.clone(),
        )


def _patchify(grid: VideoGrid | AudioGrid, x: torch.Tensor) -> torch.Tensor:
    if isinstance(grid, VideoGrid):
        return patchify_video(x, patch_size=grid.patch_size)
    return patchify_audio(x)


def _check_latent(grid: VideoGrid | AudioGrid, latent: torch.Tensor) -> None:
    expected = grid.latent_shape(latent.shape[0])
    if tuple(latent.shape) != expected:
        raise ValueError(f"latent has shape {tuple(latent.shape)}, expected {expected}")


def initial_state(
    grid: VideoGrid | AudioGrid,
    *,
    batch: int = 1,
    dtype: torch.dtype = torch.float32,
    device: torch.device | None = None,
    latent: torch.Tensor | None = None,
) -> LatentState:
    """The unconditioned state (``create_initial_state``): latent (zeros or ``latent``), mask 1, positions.

    Args:
        grid: target geometry.
        batch: batch size ``B`` (ignored when ``latent`` is given).
        dtype: latent dtype; video positions are cast to it as in the reference (audio positions stay float32).
        device: device of the new tensors.
        latent: optional unpatchified initial latent (``grid.latent_shape(B)``), e.g. an upscaled or encoded one.
    Returns:
        Patchified :class:`LatentState`; ``clean_latent`` is a copy of the latent.
    """
    if latent is None:
        latent = torch.zeros(grid.latent_shape(batch), dtype=dtype, device=device)
    else:
        _check_latent(grid, latent)
    batch, device = latent.shape[0], latent.device
    if isinstance(grid, VideoGrid):
        mask_shape = (batch, 1, grid.frames, grid.height, grid.width)
        positions = video_positions(grid, batch=batch, dtype=dtype, device=device)
    else:
        mask_shape = (batch, 1, grid.frames, 1)
        positions = audio_positions(grid, batch=batch, device=device)
    mask = torch.ones(mask_shape, dtype=torch.float32, device=device)
    tokens = _patchify(grid, latent)
    return LatentState(
        latent=tokens, denoise_mask=_patchify(grid, mask), positions=positions, clean_latent=tokens.clone(),
        grid=grid,
    )


def unpatchify_state_latent(state: LatentState, tokens: torch.Tensor | None = None) -> torch.Tensor:
    """Unpatchify the target tokens of ``state`` (default: ``state.latent``) back to a latent tensor.

    Appended conditioning tokens are ignored, so this equals ``clear_conditioning`` followed by unpatchify.
    Returns ``(B, C, F, H, W)`` for video, ``(B, C, T, M)`` for audio.
    """
    grid = state.grid
    x = (state.latent if tokens is None else tokens)[:, : grid.token_count]
    if isinstance(grid, VideoGrid):
        return unpatchify_video(
            x, frames=grid.frames, height=grid.height, width=grid.width, patch_size=grid.patch_size
        )
    return unpatchify_audio(x, channels=grid.channels, mel_bins=grid.mel_bins)
