"""Audio VAE: log-mel spectrogram (B, 2, T, 64) ⇄ normalised latent (B, 8, T_lat, 16) (ltx2-model.md §5.2–§5.3).

``AudioVAE.state_dict()`` keys equal the checkpoint keys minus ``audio_vae.`` (``encoder.*``, ``decoder.*``,
``per_channel_statistics.std-of-means`` / ``mean-of-means``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .config import AudioVAEConfig
from .geometry import mel_frames_for_latent_frames
from .mel import waveform_to_mel
from .vae_blocks import CausalConv2d, Level, MidBlock, norm_act, resnet_level


class AudioVAEParts(enum.Flag):
    """Which halves of the audio VAE to build (the statistics are always built)."""

    ENCODER = enum.auto()
    DECODER = enum.auto()
    ALL = ENCODER | DECODER


class PerChannelStatistics(nn.Module):
    """Latent normalisation statistics over the patchified channel axis (c · F_lat + f).

    Buffers ``std-of-means`` and ``mean-of-means`` (hyphenated, as in the checkpoint), each (C·F_lat,).
    Initialised to the identity (std 1, mean 0) as in current Lightricks code (ltx-core ≥ 1.1; 1.0.0 left
    them uninitialised); real values come from the checkpoint.
    """

    def __init__(
        self, channels: int, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> None:
        super().__init__()
        self.register_buffer("std-of-means", torch.ones(channels, dtype=dtype, device=device))
        self.register_buffer("mean-of-means", torch.zeros(channels, dtype=dtype, device=device))

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        std = self.get_buffer("std-of-means").to(x)
        mean = self.get_buffer("mean-of-means").to(x)
        return std, mean

    def normalize(self, latent: torch.Tensor) -> torch.Tensor:
        """(B, C, T, F) raw latent → (x - mean) / std with statistics indexed by c · F + f."""
        std, mean = self._stats(latent)
        return _per_token(latent, lambda tokens: (tokens - mean) / std)

    def denormalize(self, latent: torch.Tensor) -> torch.Tensor:
        """(B, C, T, F) normalised latent → x · std + mean."""
        std, mean = self._stats(latent)
        return _per_token(latent, lambda tokens: tokens * std + mean)


def _per_token(latent: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Apply ``fn`` to ``latent`` (B, C, T, F) viewed as tokens (B, T, C·F) and return the (B, C, T, F) result."""
    tokens = latent.permute(0, 2, 1, 3).flatten(2)  # (B, T, C*F)
    return fn(tokens).unflatten(2, (latent.shape[1], latent.shape[3])).permute(0, 2, 1, 3)


class AudioEncoder(nn.Module):
    """Spectrogram (B, 2, T, M) → latent moments (B, 2·z, ceil(T/4), M/4), mean first, before normalisation."""

    def __init__(
        self,
        config: AudioVAEConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: ModuleType | Any = nn,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device, "operations": operations}
        ch, mults = config.base_channels, config.channel_multipliers
        self.conv_in = CausalConv2d(config.in_channels, ch, 3, **kw)
        self.down = nn.ModuleList()
        block_in = ch
        for level, mult in enumerate(mults):
            resampler = "downsample" if level < len(mults) - 1 else None
            self.down.append(resnet_level(block_in, ch * mult, config.num_res_blocks, kw, resampler=resampler))
            block_in = ch * mult
        self.mid = MidBlock(block_in, **kw)
        self.conv_out = CausalConv2d(block_in, 2 * config.latent_channels, 3, **kw)  # mean and log-variance

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 2, T, M) log-mel → (B, 2z, ceil(T/4), M/4) moments (mean first)."""
        h = self.conv_in(mel)
        for level in self.down:
            h = level(h)
        h = self.mid(h)
        return self.conv_out(norm_act(h))


class AudioDecoder(nn.Module):
    """Denormalised latent (B, z, T_lat, M/4) → spectrogram (B, 2, 4·T_lat - 3, M) before final cropping."""

    def __init__(
        self,
        config: AudioVAEConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: ModuleType | Any = nn,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device, "operations": operations}
        ch, mults = config.base_channels, config.channel_multipliers
        block_in = ch * mults[-1]
        self.conv_in = CausalConv2d(config.latent_channels, block_in, 3, **kw)
        self.mid = MidBlock(block_in, **kw)
        levels: list[Level] = []
        for level in reversed(range(len(mults))):
            width, resampler = ch * mults[level], "upsample" if level > 0 else None
            levels.insert(0, resnet_level(block_in, width, config.num_res_blocks + 1, kw, resampler=resampler))
            block_in = width
        self.up = nn.ModuleList(levels)  # indexed by level; run from the deepest (last) to level 0
        self.conv_out = CausalConv2d(block_in, config.out_channels, 3, **kw)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """(B, z, T_lat, F_lat) → (B, 2, 4·T_lat - 3, 4·F_lat)."""
        h = self.mid(self.conv_in(latent))
        for level in reversed(self.up):
            h = level(h)
        return self.conv_out(norm_act(h))


class AudioVAE(nn.Module):
    """Audio VAE with ``encoder``, ``decoder`` and shared ``per_channel_statistics``.

    Args:
        config: architecture and front-end settings.
        dtype, device, operations: forwarded to every layer (``operations`` defaults to ``torch.nn``).
        parts: which halves to build; a missing half is ``None`` and has no state-dict keys.
    """

    def __init__(
        self,
        config: AudioVAEConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: ModuleType | Any = nn,
        parts: AudioVAEParts = AudioVAEParts.ALL,
    ) -> None:
        super().__init__()
        self.config = config
        kw = {"dtype": dtype, "device": device, "operations": operations}
        self.encoder = AudioEncoder(config, **kw) if AudioVAEParts.ENCODER in parts else None
        self.decoder = AudioDecoder(config, **kw) if AudioVAEParts.DECODER in parts else None
        self.per_channel_statistics = PerChannelStatistics(config.statistics_channels, dtype=dtype, device=device)

    @property
    def sample_rate(self) -> int:
        """Model sample rate (Hz) of the spectrogram front-end."""
        return self.config.sample_rate

    def encode(self, mel: torch.Tensor) -> torch.Tensor:
        """Log-mel spectrogram (B, 2, T, M) → normalised latent mean (B, z, ceil(T/4), M/4)."""
        if self.encoder is None:
            raise RuntimeError("this AudioVAE was built without its encoder (parts)")
        moments = self.encoder(mel.to(self._dtype(self.encoder)))
        mean = moments[:, : self.config.latent_channels]  # (B, z, T_lat, F_lat)
        return self.per_channel_statistics.normalize(mean)

    def encode_waveform(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """Waveform (B, 1|2, samples) at ``sample_rate`` Hz → normalised latent (B, z, T_lat, M/4).

        Mono is duplicated to stereo, the audio resampled to the model rate and turned into a log-mel spectrogram
        (:func:`ltx_model.audio.mel.waveform_to_mel`); T_lat = ceil(mel_frames / 4).
        """
        return self.encode(waveform_to_mel(waveform, sample_rate, self.config))

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Normalised latent (B, z, T_lat, F_lat) → log-mel spectrogram (B, 2, max(4·T_lat - 3, 1), M).

        The decoder output is cropped (or zero-padded) to exactly that many frames and ``mel_bins`` bins, as in the
        reference.
        """
        if self.decoder is None:
            raise RuntimeError("this AudioVAE was built without its decoder (parts)")
        latent = self.per_channel_statistics.denormalize(latent.to(self._dtype(self.decoder)))
        mel = self.decoder(latent)
        frames = mel_frames_for_latent_frames(latent.shape[2], self.config)
        mel = mel[:, :, :frames, : self.config.mel_bins]
        pad_t, pad_f = frames - mel.shape[2], self.config.mel_bins - mel.shape[3]
        return F.pad(mel, (0, pad_f, 0, pad_t)) if pad_t > 0 or pad_f > 0 else mel

    @staticmethod
    def _dtype(module: nn.Module) -> torch.dtype:
        return next(module.parameters()).dtype
