"""Patchify / unpatchify between VAE latents and transformer token sequences.

Video latents ``(B, C, F, H, W)`` become tokens ``(B, F*H*W, C)`` (patch size 1: order frame, then row, then
column, channel last; tokens of latent frame 0 come first). Audio latents ``(B, C, T, M)`` (``M`` mel bins) become
``(B, T, C*M)`` with feature index ``c*M + m`` (channel-major). Denoise masks use the same functions with ``C = 1``
(video ``(B, 1, F, H, W)`` -> ``(B, T, 1)``; audio ``(B, 1, T, 1)`` -> ``(B, T, 1)``).
"""

from __future__ import annotations

import torch


def patchify_video(latent: torch.Tensor, *, patch_size: int = 1) -> torch.Tensor:
    """Flatten a video latent into tokens.

    Args:
        latent: ``(B, C, F, H, W)``; ``H`` and ``W`` divisible by ``patch_size``.
        patch_size: spatial patch edge (the real models use 1; time is never patched).
    Returns:
        ``(B, F*(H/p)*(W/p), C*p*p)``; feature index ``c*p*p + i*p + j`` for the patch pixel ``(i, j)``.
    """
    b, c, f, h, w = latent.shape
    p = patch_size
    if h % p or w % p:
        raise ValueError(f"latent height/width {h}x{w} not divisible by patch size {p}")
    x = latent.reshape(b, c, f, h // p, p, w // p, p)
    x = x.permute(0, 2, 3, 5, 1, 4, 6)  # (B, F, H/p, W/p, C, p, p)
    return x.reshape(b, f * (h // p) * (w // p), c * p * p)


def unpatchify_video(
    tokens: torch.Tensor, *, frames: int, height: int, width: int, patch_size: int = 1
) -> torch.Tensor:
    """Inverse of :func:`patchify_video`.

    Args:
        tokens: ``(B, F*(H/p)*(W/p), C*p*p)`` — exactly the target's tokens (clear appended conditioning first).
        frames, height, width: latent grid size ``F, H, W`` (before patching).
        patch_size: spatial patch edge ``p``.
    Returns:
        ``(B, C, F, H, W)``.
    """
    b, t, d = tokens.shape
    p = patch_size
    gh, gw = height // p, width // p
    if t != frames * gh * gw:
        raise ValueError(f"{t} tokens do not match a latent grid of {frames}x{height}x{width} (patch {p})")
    c = d // (p * p)
    x = tokens.reshape(b, frames, gh, gw, c, p, p)
    x = x.permute(0, 4, 1, 2, 5, 3, 6)  # (B, C, F, H/p, p, W/p, p)
    return x.reshape(b, c, frames, height, width)


def patchify_audio(latent: torch.Tensor) -> torch.Tensor:
    """Flatten an audio latent ``(B, C, T, M)`` into tokens ``(B, T, C*M)`` (feature ``c*M + m``)."""
    b, c, t, m = latent.shape
    return latent.permute(0, 2, 1, 3).reshape(b, t, c * m)


def unpatchify_audio(tokens: torch.Tensor, *, channels: int, mel_bins: int) -> torch.Tensor:
    """Inverse of :func:`patchify_audio`: ``(B, T, C*M)`` -> ``(B, C, T, M)``."""
    b, t, d = tokens.shape
    if d != channels * mel_bins:
        raise ValueError(f"token width {d} != channels {channels} x mel_bins {mel_bins}")
    return tokens.reshape(b, t, channels, mel_bins).permute(0, 2, 1, 3).contiguous()
