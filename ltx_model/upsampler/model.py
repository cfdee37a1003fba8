"""Latent upsamplers (ltx-core ``model/upsampler``): spatial x2, rational spatial (x1.5 ...), temporal x2.

Structure (state-dict keys without prefix): ``initial_conv`` -> ``initial_norm`` (GroupNorm 32) -> SiLU ->
``res_blocks.*`` -> ``upsampler`` -> ``post_upsample_res_blocks.*`` -> ``final_conv``. Works on **un-normalised**
latents; :func:`upsample_latent` wraps it with the video VAE's per-channel statistics as the pipelines do.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from .config import RATIONAL_SCALES, UpsamplerConfig, UpsamplerKind


def _conv(operations: Any, dims: int) -> Any:  # noqa: ANN401
    return operations.Conv2d if dims == 2 else operations.Conv3d


class ResBlock(nn.Module):
    """conv1 -> GroupNorm -> SiLU -> conv2 -> GroupNorm -> SiLU(x + residual); kernel 3, padding 1."""

    def __init__(self, channels: int, *, dims: int, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None, operations: ModuleType | Any = nn) -> None:
        super().__init__()
        conv = _conv(operations, dims)
        self.conv1 = conv(channels, channels, kernel_size=3, padding=1, dtype=dtype, device=device)
        self.norm1 = operations.GroupNorm(32, channels, dtype=dtype, device=device)
        self.conv2 = conv(channels, channels, kernel_size=3, padding=1, dtype=dtype, device=device)
        self.norm2 = operations.GroupNorm(32, channels, dtype=dtype, device=device)
        self.activation = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, [F,] H, W)`` -> same shape."""
        h = self.activation(self.norm1(self.conv1(x)))
        return self.activation(self.norm2(self.conv2(h)) + x)


class PixelShuffle(nn.Module):
    """Move channel factors into time (``dims=1``), height/width (2) or all three axes (3)."""

    def __init__(self, dims: int, factors: tuple[int, int, int] = (2, 2, 2)) -> None:
        super().__init__()
        self.dims = dims
        self.factors = factors

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C*p..., ...)`` -> ``(B, C, ... * p)``; channel index is ``c * prod(p) + offsets`` (c-major)."""
        if self.dims == 2:
            b, c, h, w = x.shape
            p1, p2 = self.factors[0], self.factors[1]
            x = x.reshape(b, c // (p1 * p2), p1, p2, h, w).permute(0, 1, 4, 2, 5, 3)
            return x.reshape(b, c // (p1 * p2), h * p1, w * p2)
        b, c, f, h, w = x.shape
        if self.dims == 1:
            p = self.factors[0]
            x = x.reshape(b, c // p, p, f, h, w).permute(0, 1, 3, 2, 4, 5)
            return x.reshape(b, c // p, f * p, h, w)
        p1, p2, p3 = self.factors
        x = x.reshape(b, c // (p1 * p2 * p3), p1, p2, p3, f, h, w).permute(0, 1, 5, 2, 6, 3, 7, 4)
        return x.reshape(b, c // (p1 * p2 * p3), f * p1, h * p2, w * p3)


class BlurDownsample(nn.Module):
    """Depthwise 5x5 binomial blur ([1,4,6,4,1] outer product / 256), stride ``stride``, padding 2, on 4-D input.

    The kernel is a persistent buffer (``blur_down.kernel`` ``(1, 1, 5, 5)``; it is stored in the files too).
    """

    def __init__(self, stride: int, *, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None) -> None:
        super().__init__()
        self.stride = stride
        k = torch.tensor([math.comb(4, i) for i in range(5)])
        k2d = (k[:, None] @ k[None, :]).float()
        k2d = k2d / k2d.sum()
        self.register_buffer("kernel", k2d[None, None].to(device=device, dtype=dtype or torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> ``(N, C, ceil(H/s), ceil(W/s))``."""
        if self.stride == 1:
            return x
        c = x.shape[1]
        weight = self.kernel.to(dtype=x.dtype, device=x.device).expand(c, 1, 5, 5)
        return F.conv2d(x, weight, None, stride=self.stride, padding=2, groups=c)


class RationalResampler(nn.Module):
    """Per-frame spatial scaling by ``num/den``: Conv2d(mid -> num^2 mid), pixel shuffle ``num``, blur ``den``."""

    def __init__(self, mid_channels: int, scale: float, *, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None, operations: ModuleType | Any = nn) -> None:
        super().__init__()
        self.num, self.den = RATIONAL_SCALES[float(scale)]
        self.conv = operations.Conv2d(
            mid_channels, self.num**2 * mid_channels, kernel_size=3, padding=1, dtype=dtype, device=device
        )
        self.pixel_shuffle = PixelShuffle(2, (self.num, self.num, 1))
        self.blur_down = BlurDownsample(self.den, dtype=dtype, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, F, H, W)`` -> ``(B, C, F, H', W')``."""
        b, c, f, h, w = x.shape
        y = x.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
        y = self.blur_down(self.pixel_shuffle(self.conv(y)))
        return y.reshape(b, f, c, *y.shape[-2:]).permute(0, 2, 1, 3, 4)


def _resampler(config: UpsamplerConfig, **kw: Any) -> nn.Module:  # noqa: ANN401
    mid, kind = config.mid_channels, config.kind
    operations = kw["operations"]
    layer = {"dtype": kw["dtype"], "device": kw["device"]}
    if kind is UpsamplerKind.SPATIAL_RATIONAL:
        return RationalResampler(mid, config.spatial_scale, **kw)
    if kind is UpsamplerKind.SPATIAL_X2:
        return nn.Sequential(operations.Conv2d(mid, 4 * mid, kernel_size=3, padding=1, **layer), PixelShuffle(2))
    if kind is UpsamplerKind.TEMPORAL_X2:
        return nn.Sequential(operations.Conv3d(mid, 2 * mid, kernel_size=3, padding=1, **layer), PixelShuffle(1))
    return nn.Sequential(operations.Conv3d(mid, 8 * mid, kernel_size=3, padding=1, **layer), PixelShuffle(3))


class LatentUpsampler(nn.Module):
    """Upsample un-normalised video latents ``(B, 128, F, H, W)``.

    Output: spatial x2 ``(B, 128, F, 2H, 2W)``; rational x1.5 ``(B, 128, F, ceil(3H/2), ceil(3W/2))``; temporal x2
    ``(B, 128, 2F - 1, H, W)``. State-dict keys equal the file's keys (no prefix).
    """

    def __init__(self, config: UpsamplerConfig, *, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None, operations: ModuleType | Any = nn) -> None:
        super().__init__()
        self.config = config
        kw = {"dtype": dtype, "device": device, "operations": operations}
        conv, mid = _conv(operations, config.dims), config.mid_channels
        self.initial_conv = conv(config.in_channels, mid, kernel_size=3, padding=1, dtype=dtype, device=device)
        self.initial_norm = operations.GroupNorm(32, mid, dtype=dtype, device=device)
        self.initial_activation = nn.SiLU()
        self.res_blocks = nn.ModuleList(
            [ResBlock(mid, dims=config.dims, **kw) for _ in range(config.num_blocks_per_stage)]
        )
        self.upsampler = _resampler(config, **kw)
        self.post_upsample_res_blocks = nn.ModuleList(
            [ResBlock(mid, dims=config.dims, **kw) for _ in range(config.num_blocks_per_stage)]
        )
        self.final_conv = conv(mid, config.in_channels, kernel_size=3, padding=1, dtype=dtype, device=device)

    def _resample(self, x: torch.Tensor) -> torch.Tensor:
        kind = self.config.kind
        if kind in (UpsamplerKind.TEMPORAL_X2, UpsamplerKind.SPATIOTEMPORAL_X2):
            return self.upsampler(x)[:, :, 1:]  # the first latent frame encodes a single pixel frame
        if kind is UpsamplerKind.SPATIAL_RATIONAL:
            return self.upsampler(x)
        b, c, f, h, w = x.shape
        y = self.upsampler(x.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w))
        return y.reshape(b, f, c, *y.shape[-2:]).permute(0, 2, 1, 3, 4)

    def _stacks(self, x: torch.Tensor, resample: Any) -> torch.Tensor:  # noqa: ANN401
        x = self.initial_activation(self.initial_norm(self.initial_conv(x)))
        for block in self.res_blocks:
            x = block(x)
        x = resample(x)
        for block in self.post_upsample_res_blocks:
            x = block(x)
        return self.final_conv(x)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """``(B, C, F, H, W)`` un-normalised latent -> upsampled latent (same dtype as the weights' compute)."""
        if self.config.dims == 3:
            return self._stacks(latent, self._resample)
        b, c, f, h, w = latent.shape
        x = self._stacks(latent.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w), self.upsampler)
        return x.reshape(b, f, c, *x.shape[-2:]).permute(0, 2, 1, 3, 4)


def upsample_latent(
    latent: torch.Tensor, upsampler: nn.Module, *, mean: torch.Tensor, std: torch.Tensor
) -> torch.Tensor:
    """``upsample_video``: un-normalise with the video VAE statistics, upsample, normalise again.

    Args:
        latent: normalised latent ``(B, C, F, H, W)``.
        upsampler: a :class:`LatentUpsampler` (or any module mapping latents to latents).
        mean: per-channel ``mean-of-means`` ``(C,)``; std: per-channel ``std-of-means`` ``(C,)`` (cast to the
            latent's dtype/device, as the reference does).
    Returns:
        The normalised upsampled latent.
    """
    m, s = mean.view(1, -1, 1, 1, 1).to(latent), std.view(1, -1, 1, 1, 1).to(latent)
    x = upsampler(latent * s + m)
    return (x - m.to(x)) / s.to(x)
