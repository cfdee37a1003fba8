"""Mel → waveform generators: HiFi-GAN (19B vocoder, ltx2-model.md §5.4) and BigVGAN-v2 (2.3, §5.5).

A generator maps a stereo log-mel spectrogram (B, 2, T, 64) to a stereo waveform (B, 2, T · prod(rates)):
``conv_pre`` (128 → C) → per stage [LeakyReLU(0.1) for HiFi-GAN] ``ups.i`` (transposed conv, C → C/2, ×rate)
→ mean of the stage's residual blocks → post activation → ``conv_post`` (→ 2) → tanh / clamp / none.
Residual blocks are indexed ``resblocks.{stage · n_kernels + kernel_index}``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .antialias import Activation1d
from .vocoder_config import FinalActivation, GeneratorConfig, GeneratorKind

_LRELU_SLOPE = 0.1
_POST_LRELU_SLOPE = 0.01  # torch.nn.LeakyReLU's default, used by the reference after the last HiFi-GAN stage


def _dilated_convs(
    channels: int, kernel_size: int, dilations: tuple[int, ...], *, operations: ModuleType | Any, **kw: Any
) -> nn.ModuleList:
    """Length-preserving Conv1d's (odd kernel, padding d·(k-1)/2), one per dilation."""
    return nn.ModuleList(
        operations.Conv1d(channels, channels, kernel_size, dilation=d, padding=d * (kernel_size - 1) // 2, **kw)
        for d in dilations
    )


class ResBlock1(nn.Module):
    """HiFi-GAN residual block: for each dilation d, x += conv2(lrelu(conv1_d(lrelu(x)))), slope 0.1.
    (B, C, L) → (B, C, L)."""

    anti_aliased = False  # AMPBlock1 adds its per-dilation activations ``acts1`` / ``acts2``

    def __init__(
        self,
        channels: int,
        kernel_size: int,
        dilations: tuple[int, ...],
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: ModuleType | Any = nn,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device, "operations": operations}
        self.convs1 = _dilated_convs(channels, kernel_size, dilations, **kw)
        self.convs2 = _dilated_convs(channels, kernel_size, (1,) * len(dilations), **kw)
        if self.anti_aliased:
            self.acts1 = nn.ModuleList(Activation1d(channels, dtype=dtype, device=device) for _ in dilations)
            self.acts2 = nn.ModuleList(Activation1d(channels, dtype=dtype, device=device) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, L) → (B, C, L)."""
        for conv1, conv2 in zip(self.convs1, self.convs2, strict=True):
            h = conv1(F.leaky_relu(x, _LRELU_SLOPE))
            x = x + conv2(F.leaky_relu(h, _LRELU_SLOPE))
        return x


class AMPBlock1(ResBlock1):
    """BigVGAN-v2 residual block: for each dilation d, x += conv2(act2(conv1_d(act1(x)))) with anti-aliased
    SnakeBeta activations ``acts1``/``acts2``. (B, C, L) → (B, C, L)."""

    anti_aliased = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, L) → (B, C, L)."""
        for conv1, conv2, act1, act2 in zip(self.convs1, self.convs2, self.acts1, self.acts2, strict=True):
            x = x + conv2(act2(conv1(act1(x))))
        return x


def build_generator_layers(
    module: nn.Module,
    config: GeneratorConfig,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    operations: ModuleType | Any = nn,
) -> None:
    """Register a generator's layers (``conv_pre``, ``ups``, ``resblocks``, [``act_post``], ``conv_post``) on
    ``module``; used both by :class:`MelGenerator` and by the 19B :class:`~ltx_model.audio.vocoder.Vocoder`, whose
    generator keys sit at top level."""
    kw = {"dtype": dtype, "device": device}
    width = config.upsample_initial_channel
    module.conv_pre = operations.Conv1d(config.in_channels, width, 7, padding=3, **kw)
    module.ups = nn.ModuleList(
        operations.ConvTranspose1d(width // 2**i, width // 2 ** (i + 1), k, stride=r, padding=(k - r) // 2, **kw)
        for i, (r, k) in enumerate(zip(config.upsample_rates, config.upsample_kernel_sizes, strict=True))
    )
    block_cls = AMPBlock1 if config.kind is GeneratorKind.BIGVGAN else ResBlock1
    module.resblocks = nn.ModuleList(
        block_cls(width // 2 ** (i + 1), k, d, operations=operations, **kw)
        for i in range(len(config.upsample_rates))
        for k, d in zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes, strict=True)
    )
    if config.kind is GeneratorKind.BIGVGAN:
        module.act_post = Activation1d(config.final_channels, **kw)
    module.conv_post = operations.Conv1d(config.final_channels, 2, 7, padding=3, bias=config.final_bias, **kw)


def run_generator(module: nn.Module, config: GeneratorConfig, mel: torch.Tensor) -> torch.Tensor:
    """Forward pass over layers registered by :func:`build_generator_layers`.

    Args:
        module: the module holding the layers.
        config: its generator config.
        mel: (B, 2, T, 64) stereo log-mel spectrogram.
    Returns:
        (B, 2, T · prod(upsample_rates)) waveform.
    """
    if mel.dim() != 4 or mel.shape[1] != 2:
        raise ValueError(f"expected a stereo mel spectrogram (B, 2, T, mel_bins), got shape {tuple(mel.shape)}")
    x = mel.transpose(2, 3).flatten(1, 2)  # (B, 2 * mel_bins, T), channel index = stereo_channel * 64 + mel_bin
    x = module.conv_pre(x)
    n_kernels = len(config.resblock_kernel_sizes)
    is_hifigan = config.kind is GeneratorKind.HIFIGAN
    for stage, up in enumerate(module.ups):
        if is_hifigan:
            x = F.leaky_relu(x, _LRELU_SLOPE)
        x = up(x)  # (B, C / 2, L · rate)
        blocks = module.resblocks[stage * n_kernels : (stage + 1) * n_kernels]
        x = torch.stack([block(x) for block in blocks], dim=0).mean(dim=0)
    x = F.leaky_relu(x, _POST_LRELU_SLOPE) if is_hifigan else module.act_post(x)
    x = module.conv_post(x)  # (B, 2, L)
    if config.final_activation is FinalActivation.TANH:
        return torch.tanh(x)
    if config.final_activation is FinalActivation.CLAMP:
        return torch.clamp(x, -1, 1)
    return x


class MelGenerator(nn.Module):
    """A stand-alone generator (the 2.3 ``vocoder`` and ``bwe_generator`` submodules).
    (B, 2, T, 64) → (B, 2, T · prod(upsample_rates))."""

    def __init__(
        self,
        config: GeneratorConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: ModuleType | Any = nn,
    ) -> None:
        super().__init__()
        self.config = config
        build_generator_layers(self, config, dtype=dtype, device=device, operations=operations)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 2, T, 64) → (B, 2, T · prod(upsample_rates))."""
        return run_generator(self, self.config, mel)
