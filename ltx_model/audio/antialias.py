"""Anti-aliased activations and sinc resamplers of the 2.3 BigVGAN-v2 vocoder (ltx2-model.md §5.5).

Waveform-like tensors are (B, C, L). The kaiser-sinc filters are persistent buffers ([1, 1, 12], present in the
checkpoint); the BWE skip resampler's Hann-sinc filter is recomputed (not stored).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

_ACT_RATIO = 2
_ACT_KERNEL = 12


def kaiser_sinc_filter(cutoff: float, half_width: float, kernel_size: int) -> torch.Tensor:
    """Kaiser-windowed sinc low-pass (BigVGAN's ``kaiser_sinc_filter1d``), normalised to unit DC gain.

    Args:
        cutoff: cutoff as a fraction of the sample rate (0.25 = half Nyquist).
        half_width: transition half width, same unit.
        kernel_size: taps.
    Returns:
        (1, 1, kernel_size) float32 on the CPU.
    """
    even = kernel_size % 2 == 0
    half = kernel_size // 2
    amplitude = 2.285 * (half - 1) * math.pi * (4 * half_width) + 7.95  # Kaiser's attenuation estimate (dB)
    if amplitude > 50.0:
        beta = 0.1102 * (amplitude - 8.7)
    elif amplitude >= 21.0:
        beta = 0.5842 * (amplitude - 21) ** 0.4 + 0.07886 * (amplitude - 21.0)
    else:
        beta = 0.0
    window = torch.kaiser_window(kernel_size, beta=beta, periodic=False, device="cpu")
    time = torch.arange(-half, half, device="cpu") + 0.5 if even else torch.arange(kernel_size, device="cpu") - half
    if cutoff == 0:
        return torch.zeros_like(time).view(1, 1, kernel_size)
    arg = 2 * cutoff * time
    sinc = torch.where(arg == 0, torch.ones(()), torch.sin(math.pi * arg) / math.pi / arg)
    taps = 2 * cutoff * window * sinc
    return (taps / taps.sum()).view(1, 1, kernel_size)


def hann_sinc_upsample_filter(ratio: int, *, width: int = 6, rolloff: float = 0.99) -> tuple[torch.Tensor, int]:
    """Hann-windowed sinc interpolation filter for integer upsampling (torchaudio-equivalent resampler).

    Returns:
        The (1, 1, 2·w·ratio + 1) float32 CPU filter and its half width w = ceil(width / rolloff) in input samples.
    """
    half = math.ceil(width / rolloff)
    kernel_size = 2 * half * ratio + 1
    t = (torch.arange(kernel_size, device="cpu") / ratio - half) * rolloff
    window = torch.cos(t.clamp(-width, width) * math.pi / width / 2) ** 2
    return (torch.sinc(t) * window * rolloff / ratio).view(1, 1, -1), half


def upsample_with_filter(x: torch.Tensor, taps: torch.Tensor, *, ratio: int, pad: int) -> torch.Tensor:
    """Zero-stuffing upsampler: replicate-pad ``pad`` input samples each side, transposed conv with ``taps`` per
    channel (scaled by ``ratio``), then crop so that (B, C, L) → (B, C, ratio · L)."""
    kernel_size = taps.shape[-1]
    if kernel_size % 2:  # Hann filter (odd length)
        crop_left, crop_right = 2 * pad * ratio, kernel_size - ratio
    else:  # kaiser filter (even length)
        crop_left = pad * ratio + (kernel_size - ratio) // 2
        crop_right = pad * ratio + (kernel_size - ratio + 1) // 2
    channels = x.shape[1]
    x = F.pad(x, (pad, pad), mode="replicate")
    weight = taps.to(dtype=x.dtype, device=x.device).expand(channels, -1, -1)
    x = ratio * F.conv_transpose1d(x, weight, stride=ratio, groups=channels)
    return x[..., crop_left:-crop_right]


class UpSample1d(nn.Module):
    """×2 kaiser-sinc upsampler; buffer ``filter`` (1, 1, 12). (B, C, L) → (B, C, 2L)."""

    def __init__(self, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> None:
        super().__init__()
        taps = kaiser_sinc_filter(0.5 / _ACT_RATIO, 0.6 / _ACT_RATIO, _ACT_KERNEL)
        self.register_buffer("filter", taps.to(dtype=dtype or torch.get_default_dtype(), device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, L) → (B, C, 2L)."""
        pad = _ACT_KERNEL // _ACT_RATIO - 1
        return upsample_with_filter(x, self.filter, ratio=_ACT_RATIO, pad=pad)


class LowPassFilter1d(nn.Module):
    """Kaiser-sinc low-pass with stride 2 (replicate padding 5 left / 6 right); buffer ``filter`` (1, 1, 12)."""

    def __init__(self, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> None:
        super().__init__()
        taps = kaiser_sinc_filter(0.5 / _ACT_RATIO, 0.6 / _ACT_RATIO, _ACT_KERNEL)
        self.register_buffer("filter", taps.to(dtype=dtype or torch.get_default_dtype(), device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, 2L) → (B, C, L)."""
        channels = x.shape[1]
        x = F.pad(x, (_ACT_KERNEL // 2 - 1, _ACT_KERNEL // 2), mode="replicate")
        weight = self.filter.to(dtype=x.dtype, device=x.device).expand(channels, -1, -1)
        return F.conv1d(x, weight, stride=_ACT_RATIO, groups=channels)


class DownSample1d(nn.Module):
    """×2 anti-aliased downsampler (wraps ``lowpass`` to keep the checkpoint key ``downsample.lowpass.filter``)."""

    def __init__(self, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.lowpass = LowPassFilter1d(dtype=dtype, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, 2L) → (B, C, L)."""
        return self.lowpass(x)


class SnakeBeta(nn.Module):
    """SnakeBeta(x) = x + sin²(x · e^α) / (e^β + 1e-9), per-channel α, β stored in log scale (``alpha``, ``beta``)."""

    def __init__(
        self, channels: int, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(channels, dtype=dtype, device=device))
        self.beta = nn.Parameter(torch.zeros(channels, dtype=dtype, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, L) → (B, C, L), computed in x's dtype."""
        alpha = torch.exp(self.alpha.to(x.dtype))[None, :, None]
        beta = torch.exp(self.beta.to(x.dtype))[None, :, None]
        return x + (1.0 / (beta + 1e-9)) * torch.sin(x * alpha).pow(2)


class Activation1d(nn.Module):
    """Anti-aliased SnakeBeta: ×2 upsample → ``act`` → ×2 low-pass downsample. (B, C, L) → (B, C, L)."""

    def __init__(
        self, channels: int, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> None:
        super().__init__()
        self.act = SnakeBeta(channels, dtype=dtype, device=device)
        self.upsample = UpSample1d(dtype=dtype, device=device)
        self.downsample = DownSample1d(dtype=dtype, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, L) → (B, C, L)."""
        return self.downsample(self.act(self.upsample(x)))
