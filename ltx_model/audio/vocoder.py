"""Vocoder: decoded log-mel spectrogram (B, 2, T, 64) → stereo waveform (B, 2, samples) at ``sample_rate``.

* 19B (ltx2-model.md §5.4): one HiFi-GAN generator whose keys sit at top level (``conv_pre.*``, ``ups.*``, …);
  240 samples per mel frame → 24 kHz.
* 2.3 (§5.5): ``vocoder.*`` (BigVGAN-v2, 160 samples/frame → 16 kHz), then bandwidth extension: a causal log-mel
  of that waveform (``mel_stft.*`` buffers from the checkpoint) drives ``bwe_generator.*`` which predicts a
  residual added to a ×3 sinc-resampled copy → 48 kHz.

State-dict keys equal the checkpoint keys minus exactly one leading ``vocoder.``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .antialias import hann_sinc_upsample_filter, upsample_with_filter
from .generator import MelGenerator, build_generator_layers, run_generator
from .vocoder_config import BandwidthExtensionConfig, VocoderConfig

_LOG_FLOOR = 1e-5


class STFTBasis(nn.Module):
    """Causal STFT as a strided conv with the checkpoint's windowed DFT basis.

    Buffers ``forward_basis`` (2·F, 1, n_fft) (real rows then imaginary rows, F = n_fft/2 + 1) and the unused
    ``inverse_basis`` of the same shape; Lightricks stores the exact bf16 bases used in training.
    """

    def __init__(
        self, n_fft: int, hop_length: int, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> None:
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        shape = (2 * (n_fft // 2 + 1), 1, n_fft)
        self.register_buffer("forward_basis", torch.zeros(shape, dtype=dtype, device=device))
        self.register_buffer("inverse_basis", torch.zeros(shape, dtype=dtype, device=device))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """(N, L) waveform → (N, F, L // hop) magnitude; left-pads n_fft - hop samples, so no look-ahead."""
        x = F.pad(waveform[:, None], (max(0, self.n_fft - self.hop_length), 0))
        spec = F.conv1d(x, self.forward_basis.to(dtype=x.dtype, device=x.device), stride=self.hop_length)
        real, imag = spec.chunk(2, dim=1)
        return torch.sqrt(real**2 + imag**2)


class CausalMelSTFT(nn.Module):
    """Causal log-mel of the BWE input: buffers ``mel_basis`` (n_mels, F) and ``stft_fn.*``."""

    def __init__(
        self,
        config: BandwidthExtensionConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.stft_fn = STFTBasis(config.n_fft, config.hop_length, dtype=dtype, device=device)
        n_freqs = config.n_fft // 2 + 1
        self.register_buffer("mel_basis", torch.zeros(config.num_mels, n_freqs, dtype=dtype, device=device))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, C, L) with L a multiple of hop → (B, C, L // hop, n_mels) natural-log mel (clamped at 1e-5)."""
        batch, channels, length = waveform.shape
        magnitude = self.stft_fn(waveform.reshape(batch * channels, length))  # (B*C, F, frames)
        mel = torch.matmul(self.mel_basis.to(magnitude.dtype), magnitude)  # (B*C, n_mels, frames)
        mel = torch.log(torch.clamp(mel, min=_LOG_FLOOR))
        return mel.reshape(batch, channels, *mel.shape[1:]).transpose(2, 3)


class Vocoder(nn.Module):
    """Mel → waveform vocoder (19B HiFi-GAN or 2.3 BigVGAN-v2 + bandwidth extension).

    Args:
        config: :class:`VocoderConfig`; ``config.bwe`` selects the 2.3 form.
        dtype, device, operations: forwarded to every layer.
    Attributes:
        sample_rate: output sample rate in Hz (24000 for 19B, 48000 for 2.3).
    """

    def __init__(
        self,
        config: VocoderConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: ModuleType | Any = nn,
    ) -> None:
        super().__init__()
        self.config = config
        self.sample_rate = config.sample_rate
        kw = {"dtype": dtype, "device": device, "operations": operations}
        if config.bwe is None:
            build_generator_layers(self, config.generator, **kw)
            return
        self.vocoder = MelGenerator(config.generator, **kw)
        self.bwe_generator = MelGenerator(config.bwe.generator, **kw)
        self.mel_stft = CausalMelSTFT(config.bwe, dtype=dtype, device=device)

    def num_samples(self, mel_frames: int) -> int:
        """Output samples for ``mel_frames`` spectrogram frames (19B: 240·T; 2.3: 480·T)."""
        samples = mel_frames * self.config.generator.samples_per_frame
        return samples * self.config.bwe.ratio if self.config.bwe is not None else samples

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 2, T, 64) log-mel spectrogram → (B, 2, :meth:`num_samples` (T)) waveform in [-1, 1]."""
        if self.config.bwe is None:
            return run_generator(self, self.config.generator, mel)
        return self._forward_bwe(mel)

    def _forward_bwe(self, mel: torch.Tensor) -> torch.Tensor:
        """2.3 path. Runs entirely in float32 whatever the weight dtype and returns the input's dtype — the
        behaviour of current Lightricks code (ltx-core >= 1.1, ``VocoderWithBWE.forward``); ltx-core 1.0.0 computed
        in the weights' dtype. With fp32 weights the two agree exactly."""
        bwe = self.config.bwe
        wave = _run_in_float32(self.vocoder, mel.float())  # (B, 2, L) at the input rate
        length = wave.shape[-1]
        remainder = length % bwe.hop_length
        if remainder:
            wave = F.pad(wave, (0, bwe.hop_length - remainder))
        log_mel = _run_in_float32(self.mel_stft, wave)  # (B, 2, L_padded / hop, n_mels)
        residual = _run_in_float32(self.bwe_generator, log_mel)  # (B, 2, ratio · L_padded)
        taps, half = hann_sinc_upsample_filter(bwe.ratio)
        skip = upsample_with_filter(wave, taps, ratio=bwe.ratio, pad=half)
        out = torch.clamp(residual + skip, -1, 1)[..., : length * bwe.ratio]
        return out.to(mel.dtype)


def _run_in_float32(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module(x)`` for a float32 ``x``, computed in float32 whatever the module's stored dtype.

    CUDA: ``torch.autocast(dtype=float32)`` up-casts weights per op (what Lightricks does; no weight copy).
    Elsewhere (CPU autocast has no float32 mode): ``torch.func.functional_call`` with float32 copies of the
    module's floating-point parameters and buffers; the module itself is not modified.
    """
    tensors = dict(module.named_parameters())
    tensors.update(module.named_buffers())
    if all(t.dtype == torch.float32 for t in tensors.values() if t.is_floating_point()):
        return module(x)
    if x.device.type == "cuda":
        with torch.autocast(device_type="cuda", dtype=torch.float32):
            return module(x)
    fp32 = {name: t.float() if t.is_floating_point() else t for name, t in tensors.items()}
    return torch.func.functional_call(module, fp32, (x,))
