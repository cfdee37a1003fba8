"""Building blocks of the video VAE: causal 3-D convolution, pixel norm, residual stacks, space/depth resamplers.

Tensor layout everywhere: ``(B, C, F, H, W)`` (batch, channels, frames, height, width).
"""

from __future__ import annotations

import math
from types import ModuleType, SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .config import PaddingMode

Operations = ModuleType | SimpleNamespace | Any  # torch.nn or comfy.ops-like namespace


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """Pixel space-to-depth: ``(B, C, F, H, W) -> (B, C*p*p, F, H/p, W/p)``.

    Channel order is (c, width offset r, height offset q), as ltx-core's ``"b c f (h q) (w r) -> b (c r q) f h w"``.
    """
    b, c, f, h, w = x.shape
    x = x.reshape(b, c, f, h // patch, patch, w // patch, patch)  # (b, c, f, h, q, w, r)
    x = x.permute(0, 1, 6, 4, 2, 3, 5)  # (b, c, r, q, f, h, w)
    return x.reshape(b, c * patch * patch, f, h // patch, w // patch)


def unpatchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """Inverse of :func:`patchify`: ``(B, C*p*p, F, h, w) -> (B, C, F, h*p, w*p)``."""
    b, cpp, f, h, w = x.shape
    c = cpp // (patch * patch)
    x = x.reshape(b, c, patch, patch, f, h, w)  # (b, c, r, q, f, h, w)
    x = x.permute(0, 1, 4, 5, 3, 6, 2)  # (b, c, f, h, q, w, r)
    return x.reshape(b, c, f, h * patch, w * patch)


def space_to_depth(x: torch.Tensor, stride: tuple[int, int, int]) -> torch.Tensor:
    """``(B, C, D*p1, H*p2, W*p3) -> (B, C*p1*p2*p3, D, H, W)``, channel order (c, p1, p2, p3)."""
    p1, p2, p3 = stride
    b, c, d, h, w = x.shape
    x = x.reshape(b, c, d // p1, p1, h // p2, p2, w // p3, p3)
    x = x.permute(0, 1, 3, 5, 7, 2, 4, 6)
    return x.reshape(b, c * p1 * p2 * p3, d // p1, h // p2, w // p3)


def depth_to_space(x: torch.Tensor, stride: tuple[int, int, int]) -> torch.Tensor:
    """Inverse of :func:`space_to_depth`: ``(B, C*p1*p2*p3, D, H, W) -> (B, C, D*p1, H*p2, W*p3)``."""
    p1, p2, p3 = stride
    b, cp, d, h, w = x.shape
    c = cp // (p1 * p2 * p3)
    x = x.reshape(b, c, p1, p2, p3, d, h, w)
    x = x.permute(0, 1, 5, 2, 6, 3, 7, 4)
    return x.reshape(b, c, d * p1, h * p2, w * p3)


class PixelNorm(nn.Module):
    """RMS norm over channels at every position: ``x / sqrt(mean_c(x^2) + eps)`` (no weights; eps 1e-8)."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, F, H, W) -> same shape."""
        return x / torch.sqrt(torch.mean(x**2, dim=1, keepdim=True) + self.eps)


class CausalConv3d(nn.Module):
    """3x3x3 convolution, stride 1, with frame-replication temporal padding (weights under ``conv.``).

    Temporal padding: causal -> two copies of the first frame in front; non-causal -> one copy of the first frame in
    front and one of the last frame behind. Spatial padding 1 in ``padding`` mode (done with ``F.pad`` for the
    non-zero modes so that injected ``operations`` need not honour ``padding_mode``). Frames in = frames out.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        padding: PaddingMode,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: Operations = nn,
    ) -> None:
        super().__init__()
        self.padding_mode = padding
        pad = (0, 1, 1) if padding is PaddingMode.ZEROS else 0
        self.conv = operations.Conv3d(in_channels, out_channels, 3, padding=pad, dtype=dtype, device=device)

    def forward(self, x: torch.Tensor, *, causal: bool) -> torch.Tensor:
        """x: (B, Cin, F, H, W) -> (B, Cout, F, H, W)."""
        first = x[:, :, :1]
        x = torch.cat((first, first, x) if causal else (first, x, x[:, :, -1:]), dim=2)
        if self.padding_mode is not PaddingMode.ZEROS:
            x = F.pad(x, (1, 1, 1, 1, 0, 0), mode=self.padding_mode.value)
        return self.conv(x)


class ResBlock(nn.Module):
    """Pre-activation residual block: ``x + conv2(silu(norm(conv1(silu(norm(x))))))`` at constant width."""

    def __init__(self, channels: int, *, padding: PaddingMode, **factory: Any) -> None:
        super().__init__()
        self.norm1 = PixelNorm()
        self.conv1 = CausalConv3d(channels, channels, padding=padding, **factory)
        self.norm2 = PixelNorm()
        self.conv2 = CausalConv3d(channels, channels, padding=padding, **factory)

    def forward(self, x: torch.Tensor, *, causal: bool) -> torch.Tensor:
        """x: (B, C, F, H, W) -> same shape."""
        h = self.conv1(F.silu(self.norm1(x)), causal=causal)
        h = self.conv2(F.silu(self.norm2(h)), causal=causal)
        return x + h


class ResStack(nn.Module):
    """A ``res_x`` block: ``res_blocks.0..n-1`` applied in order."""

    def __init__(self, channels: int, num_layers: int, *, padding: PaddingMode, **factory: Any) -> None:
        super().__init__()
        self.res_blocks = nn.ModuleList(ResBlock(channels, padding=padding, **factory) for _ in range(num_layers))

    def forward(self, x: torch.Tensor, *, causal: bool) -> torch.Tensor:
        """x: (B, C, F, H, W) -> same shape."""
        for block in self.res_blocks:
            x = block(x, causal=causal)
        return x


class SpaceToDepthDownsample(nn.Module):
    """Encoder ``compress_*_res``: conv + space-to-depth, plus a channel-averaged space-to-depth skip.

    ``(B, Cin, F, H, W) -> (B, Cout, F/st, H/sh, W/sw)``; with a temporal stride of 2 the first frame is duplicated
    first, so ``F = 1 + 2k`` frames become ``1 + k``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: tuple[int, int, int], *, padding: PaddingMode, **factory: Any
    ) -> None:
        super().__init__()
        self.stride = stride
        self.group_size = in_channels * math.prod(stride) // out_channels
        self.conv = CausalConv3d(in_channels, out_channels // math.prod(stride), padding=padding, **factory)

    def forward(self, x: torch.Tensor, *, causal: bool = True) -> torch.Tensor:
        """x: (B, Cin, F, H, W) -> (B, Cout, F', H', W')."""
        if self.stride[0] == 2:
            x = torch.cat((x[:, :, :1], x), dim=2)
        skip = space_to_depth(x, self.stride)
        b, c, d, h, w = skip.shape
        skip = skip.reshape(b, c // self.group_size, self.group_size, d, h, w).mean(dim=2)
        return space_to_depth(self.conv(x, causal=causal), self.stride) + skip


class DepthToSpaceUpsample(nn.Module):
    """Decoder ``compress_*``: conv to ``prod(stride)*Cin/multiplier`` channels, then depth-to-space.

    ``(B, Cin, F, H, W) -> (B, Cin/multiplier, F', H*sh, W*sw)`` with ``F' = 2F - 1`` for a temporal stride of 2 (the
    first output frame is dropped). ``residual`` adds the depth-to-space of the input, channel-tiled.
    """

    def __init__(
        self,
        in_channels: int,
        stride: tuple[int, int, int],
        *,
        multiplier: int,
        residual: bool,
        padding: PaddingMode,
        **factory: Any,
    ) -> None:
        super().__init__()
        self.stride = stride
        self.residual = residual
        self.repeats = math.prod(stride) // multiplier
        self.conv = CausalConv3d(in_channels, math.prod(stride) * in_channels // multiplier, padding=padding, **factory)

    def forward(self, x: torch.Tensor, *, causal: bool) -> torch.Tensor:
        """x: (B, Cin, F, H, W) -> (B, Cin/multiplier, F', H', W')."""
        skip = depth_to_space(x, self.stride).repeat(1, self.repeats, 1, 1, 1) if self.residual else None
        x = depth_to_space(self.conv(x, causal=causal), self.stride)
        if self.stride[0] == 2:
            x = x[:, :, 1:]
            skip = skip[:, :, 1:] if skip is not None else None
        return x + skip if skip is not None else x


class PerChannelStatistics(nn.Module):
    """Latent normalisation statistics, buffers ``std-of-means`` and ``mean-of-means`` (shape (C,))."""

    def __init__(
        self, channels: int, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> None:
        super().__init__()
        # Identity defaults (as Lightricks HEAD does) rather than uninitialised memory; real values come from the file.
        self.register_buffer("std-of-means", torch.ones(channels, dtype=dtype, device=device))
        self.register_buffer("mean-of-means", torch.zeros(channels, dtype=dtype, device=device))

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        std = self.get_buffer("std-of-means").view(1, -1, 1, 1, 1).to(x)
        mean = self.get_buffer("mean-of-means").view(1, -1, 1, 1, 1).to(x)
        return std, mean

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Raw latent means (B, C, F, H, W) -> normalised latent ``(x - mean) / std``."""
        std, mean = self._stats(x)
        return (x - mean) / std

    def un_normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised latent (B, C, F, H, W) -> raw latent ``x * std + mean``."""
        std, mean = self._stats(x)
        return x * std + mean
