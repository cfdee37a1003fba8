"""Building blocks of the audio VAE (ltx2-model.md §5.3): time-causal 2-D convs, pixel norm, ResNet blocks,
down/upsampling.

Tensors are spectrogram feature maps laid out (B, C, T, F): T = time (the causal axis, "height"), F = mel bins.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_PIXEL_NORM_EPS = 1e-6


def pixel_norm(x: torch.Tensor) -> torch.Tensor:
    """RMS-normalise over channels: x / sqrt(mean_c(x²) + 1e-6). x: (B, C, T, F)."""
    return x / torch.sqrt(torch.mean(x**2, dim=1, keepdim=True) + _PIXEL_NORM_EPS)


def norm_act(x: torch.Tensor) -> torch.Tensor:
    """Pixel norm then SiLU, the pre-activation of every audio VAE conv after the first. x: (B, C, T, F)."""
    return F.silu(pixel_norm(x))


class CausalConv2d(nn.Module):
    """Stride-1 2-D conv that only looks at the current and past time steps.

    Pads (kernel-1) rows on top of the time axis, and (kernel-1) split evenly left/right on the mel axis, then
    runs an unpadded conv stored as ``conv`` (checkpoint keys ``<name>.conv.weight/bias``).
    Input (B, C_in, T, F) → output (B, C_out, T, F).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: ModuleType | Any = nn,
    ) -> None:
        super().__init__()
        pad = kernel_size - 1
        self.padding = (pad // 2, pad - pad // 2, pad, 0)  # (F left, F right, T top, T bottom)
        self.conv = operations.Conv2d(in_channels, out_channels, kernel_size, dtype=dtype, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T, F) → (B, C_out, T, F)."""
        return self.conv(F.pad(x, self.padding))


class ResnetBlock(nn.Module):
    """pixel-norm → SiLU → causal conv, twice, plus a (1×1 causal conv when the width changes) shortcut."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: ModuleType | Any = nn,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device, "operations": operations}
        self.conv1 = CausalConv2d(in_channels, out_channels, 3, **kw)
        self.conv2 = CausalConv2d(out_channels, out_channels, 3, **kw)
        self.nin_shortcut = CausalConv2d(in_channels, out_channels, 1, **kw) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T, F) → (B, C_out, T, F)."""
        h = self.conv2(norm_act(self.conv1(norm_act(x))))
        shortcut = x if self.nin_shortcut is None else self.nin_shortcut(x)
        return shortcut + h


class Downsample(nn.Module):
    """Halve time and mel bins: pad (T top 2, F right 1), then a 3×3 stride-2 conv (key ``conv``).

    (B, C, T, F) → (B, C, ceil(T / 2), F // 2) for even F.
    """

    def __init__(
        self,
        channels: int,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: ModuleType | Any = nn,
    ) -> None:
        super().__init__()
        self.conv = operations.Conv2d(channels, channels, 3, stride=2, dtype=dtype, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, F) → (B, C, ceil(T / 2), F // 2)."""
        return self.conv(F.pad(x, (0, 1, 2, 0)))


class Upsample(nn.Module):
    """Double time and mel bins: nearest ×2, causal 3×3 conv (key ``conv.conv``), then drop the first time row.

    Dropping the first row keeps lengths of the form 1 + 2n aligned with the causal encoder:
    (B, C, T, F) → (B, C, 2T - 1, 2F).
    """

    def __init__(
        self,
        channels: int,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: ModuleType | Any = nn,
    ) -> None:
        super().__init__()
        self.conv = CausalConv2d(channels, channels, 3, dtype=dtype, device=device, operations=operations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, F) → (B, C, 2T - 1, 2F)."""
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x)[:, :, 1:, :]


class Level(nn.Module):
    """One resolution level: ``block`` (ResNet blocks) and an optional ``downsample``/``upsample`` resampler."""

    def __init__(self, blocks: list[ResnetBlock], **resampler: nn.Module) -> None:
        super().__init__()
        self.block = nn.ModuleList(blocks)
        for name, module in resampler.items():
            self.add_module(name, module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the ResNet blocks, then the resampler if any."""
        for block in self.block:
            x = block(x)
        for name in ("downsample", "upsample"):
            resampler = getattr(self, name, None)
            if resampler is not None:
                x = resampler(x)
        return x


def resnet_level(
    in_channels: int, out_channels: int, num_blocks: int, kw: dict[str, Any], *, resampler: str | None = None
) -> Level:
    """A :class:`Level` of ``num_blocks`` ResNet blocks (the first maps ``in_channels`` → ``out_channels``, the rest
    keep ``out_channels``), then the optional ``resampler`` (``"downsample"`` or ``"upsample"``, also its key);
    ``kw`` holds the layers' dtype / device / operations."""
    widths = [in_channels] + [out_channels] * num_blocks
    blocks = [ResnetBlock(i, o, **kw) for i, o in zip(widths[:-1], widths[1:], strict=True)]
    if resampler is None:
        return Level(blocks)
    resampler_cls = {"downsample": Downsample, "upsample": Upsample}[resampler]
    return Level(blocks, **{resampler: resampler_cls(out_channels, **kw)})


class MidBlock(nn.Module):
    """Two ResNet blocks at the bottleneck (``block_1``, ``block_2``; no attention in LTX-2)."""

    def __init__(
        self,
        channels: int,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: ModuleType | Any = nn,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device, "operations": operations}
        self.block_1 = ResnetBlock(channels, channels, **kw)
        self.block_2 = ResnetBlock(channels, channels, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, F) → (B, C, T, F)."""
        return self.block_2(self.block_1(x))
