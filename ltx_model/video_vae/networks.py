"""Encoder and decoder networks of the video VAE (state-dict names as in the checkpoint minus ``vae.encoder.`` /
``vae.decoder.``). Both work on raw (un-normalised) latents; :class:`~.model.VideoVAE` applies the statistics.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .config import DECODER_STRIDES, ENCODER_STRIDES, VideoVAEConfig
from .layers import (
    CausalConv3d,
    DepthToSpaceUpsample,
    Operations,
    PixelNorm,
    ResStack,
    SpaceToDepthDownsample,
    patchify,
    unpatchify,
)


class VideoEncoder(nn.Module):
    """Pixels ``(B, 3, 1+8k, H, W)`` in [-1, 1] -> raw latent means ``(B, C, 1+k, H/32, W/32)``.

    Modules: ``conv_in``, ``down_blocks.N`` (``res_x`` stacks and ``compress_*_res`` downsamplers), ``conv_norm_out``
    (pixel norm), ``conv_out`` (C means + 1 shared log-variance channel, which is discarded). Always causal.
    """

    def __init__(
        self,
        config: VideoVAEConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: Operations = nn,
    ) -> None:
        super().__init__()
        factory: dict[str, Any] = {"dtype": dtype, "device": device, "operations": operations}
        pad = config.encoder_padding
        widths = config.encoder_channels()
        self.patch_size = config.patch_size
        self.latent_channels = config.latent_channels
        self.conv_in = CausalConv3d(config.in_channels * config.patch_size**2, widths[0], padding=pad, **factory)
        self.down_blocks = nn.ModuleList()
        for block, (w_in, w_out) in zip(config.encoder_blocks, zip(widths, widths[1:], strict=False), strict=True):
            if block.is_res:
                self.down_blocks.append(ResStack(w_in, block.num_layers, padding=pad, **factory))
            else:
                stride = ENCODER_STRIDES[block.name]
                self.down_blocks.append(SpaceToDepthDownsample(w_in, w_out, stride, padding=pad, **factory))
        self.conv_norm_out = PixelNorm()
        self.conv_out = CausalConv3d(widths[-1], config.latent_channels + 1, padding=pad, **factory)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels: (B, 3, F, H, W) -> raw means (B, C, F', H', W') (shape checks are done by the caller)."""
        x = self.conv_in(patchify(pixels, self.patch_size), causal=True)
        for block in self.down_blocks:
            x = block(x, causal=True)
        x = self.conv_out(F.silu(self.conv_norm_out(x)), causal=True)
        return x[:, : self.latent_channels]  # drop the shared log-variance channel ("uniform" log-var)


class VideoDecoder(nn.Module):
    """Raw latent ``(B, C, 1+k, h, w)`` -> pixels ``(B, 3, 1+8k, 32h, 32w)`` (roughly in [-1, 1], not clamped).

    Modules: ``conv_in`` (C -> 8*base), ``up_blocks.N`` (config blocks in reversed order), ``conv_norm_out``,
    ``conv_out`` (-> 3*p*p) followed by depth-to-space p x p. No timestep conditioning / noise injection.
    """

    def __init__(
        self,
        config: VideoVAEConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: Operations = nn,
    ) -> None:
        super().__init__()
        factory: dict[str, Any] = {"dtype": dtype, "device": device, "operations": operations}
        pad = config.decoder_padding
        widths = config.decoder_channels()
        self.patch_size = config.patch_size
        self.causal = config.causal_decoder
        self.conv_in = CausalConv3d(config.latent_channels, widths[0], padding=pad, **factory)
        self.up_blocks = nn.ModuleList()
        for block, w_in in zip(reversed(config.decoder_blocks), widths, strict=False):
            if block.is_res:
                self.up_blocks.append(ResStack(w_in, block.num_layers, padding=pad, **factory))
            else:
                self.up_blocks.append(
                    DepthToSpaceUpsample(
                        w_in,
                        DECODER_STRIDES[block.name],
                        multiplier=block.multiplier,
                        residual=block.residual,
                        padding=pad,
                        **factory,
                    )
                )
        self.conv_norm_out = PixelNorm()
        self.conv_out = CausalConv3d(widths[-1], config.out_channels * config.patch_size**2, padding=pad, **factory)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """latent: raw (B, C, F', h, w) -> pixels (B, 3, F, H, W)."""
        x = self.conv_in(latent, causal=self.causal)
        for block in self.up_blocks:
            x = block(x, causal=self.causal)
        x = self.conv_out(F.silu(self.conv_norm_out(x)), causal=self.causal)
        return unpatchify(x, self.patch_size)
