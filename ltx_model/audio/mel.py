"""Waveform → log-mel spectrogram front-end of the audio VAE (ltx2-model.md §5.1), in plain PyTorch.

Reproduces what ltx-core 1.0.0 computes with torchaudio (``AudioProcessor``): sinc/Hann resampling to the model
rate (``torchaudio.functional.resample`` defaults: lowpass width 6, rolloff 0.99), a centred, reflect-padded STFT
with a periodic Hann window, magnitude (power 1), a Slaney-scale / Slaney-normalised mel filterbank from 0 Hz to
Nyquist, and ``log(clamp(mel, 1e-5))``. torchaudio is not needed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import AudioVAEConfig

_LOG_FLOOR = 1e-5
_RESAMPLE_WIDTH = 6  # zero crossings of the windowed sinc on each side
_RESAMPLE_ROLLOFF = 0.99


def to_stereo(waveform: torch.Tensor) -> torch.Tensor:
    """Bring a waveform to the 2 channels the audio VAE expects.

    Args:
        waveform: (B, C, samples) with C = 1 (duplicated to both channels) or 2; (C, samples) and (samples,)
            are treated as a batch of one.
    Returns:
        (B, 2, samples).
    Raises:
        ValueError: for any other channel count.
    """
    if waveform.dim() == 1:
        waveform = waveform[None]
    if waveform.dim() == 2:
        waveform = waveform[None]
    if waveform.dim() != 3 or waveform.shape[1] not in (1, 2):
        raise ValueError(f"expected a mono or stereo waveform (B, 1|2, samples), got shape {tuple(waveform.shape)}")
    return waveform.expand(-1, 2, -1) if waveform.shape[1] == 1 else waveform


def resample(waveform: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    """Band-limited resampling, numerically equivalent to ``torchaudio.functional.resample`` (sinc_interp_hann).

    Args:
        waveform: (..., samples), floating point; the filter is computed in its dtype.
        orig_rate: input sample rate (Hz, integer).
        new_rate: output sample rate (Hz, integer).
    Returns:
        (..., ceil(samples * new_rate / orig_rate)).
    """
    if orig_rate <= 0 or new_rate <= 0 or int(orig_rate) != orig_rate or int(new_rate) != new_rate:
        raise ValueError(f"sample rates must be positive integers, got {orig_rate} and {new_rate}")
    if orig_rate == new_rate:
        return waveform
    gcd = math.gcd(int(orig_rate), int(new_rate))
    orig, new = int(orig_rate) // gcd, int(new_rate) // gcd
    kernel, width = _sinc_resample_kernel(orig, new, dtype=waveform.dtype, device=waveform.device)
    shape = waveform.shape
    flat = waveform.reshape(-1, 1, shape[-1])  # (N, 1, samples)
    flat = F.pad(flat, (width, width + orig))
    out = F.conv1d(flat, kernel, stride=orig)  # (N, new, frames)
    out = out.transpose(1, 2).reshape(flat.shape[0], -1)  # (N, frames * new), interleaved phases
    target = math.ceil(new * shape[-1] / orig)
    return out[..., :target].reshape(*shape[:-1], -1)


def _sinc_resample_kernel(orig: int, new: int, *, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, int]:
    """Polyphase Hann-windowed sinc kernel (new, 1, taps) for coprime rates ``orig``/``new`` and its half width."""
    base = min(orig, new) * _RESAMPLE_ROLLOFF
    width = math.ceil(_RESAMPLE_WIDTH * orig / base)
    idx = torch.arange(-width, width + orig, dtype=dtype, device=device)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=dtype, device=device)[:, None, None] / new + idx  # (new, 1, taps)
    t = (t * base).clamp(-_RESAMPLE_WIDTH, _RESAMPLE_WIDTH)
    window = torch.cos(t * math.pi / _RESAMPLE_WIDTH / 2) ** 2
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones((), dtype=dtype, device=device), t.sin() / t)
    return sinc * (window * (base / orig)), width


def mel_filterbank(
    *, n_freqs: int, n_mels: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None
) -> torch.Tensor:
    """Slaney-scale triangular filterbank with Slaney area normalisation (librosa / torchaudio "slaney").

    Returns:
        (n_freqs, n_mels) float32 matrix; a magnitude spectrum (..., n_freqs) @ it gives (..., n_mels).
    """
    f_max = sample_rate / 2 if f_max is None else f_max
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    mel_points = torch.linspace(_hz_to_slaney_mel(f_min), _hz_to_slaney_mel(f_max), n_mels + 2)
    f_pts = _slaney_mel_to_hz(mel_points)  # (n_mels + 2,)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]  # (n_freqs, n_mels + 2)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = torch.clamp(torch.minimum(down, up), min=0.0)
    return fb * (2.0 / (f_pts[2 : n_mels + 2] - f_pts[:n_mels]))[None, :]


_SLANEY_F_SP = 200.0 / 3
_SLANEY_MIN_LOG_HZ = 1000.0
_SLANEY_MIN_LOG_MEL = _SLANEY_MIN_LOG_HZ / _SLANEY_F_SP
_SLANEY_LOGSTEP = math.log(6.4) / 27.0


def _hz_to_slaney_mel(freq: float) -> float:
    if freq >= _SLANEY_MIN_LOG_HZ:
        return _SLANEY_MIN_LOG_MEL + math.log(freq / _SLANEY_MIN_LOG_HZ) / _SLANEY_LOGSTEP
    return freq / _SLANEY_F_SP


def _slaney_mel_to_hz(mels: torch.Tensor) -> torch.Tensor:
    linear = _SLANEY_F_SP * mels
    log_part = _SLANEY_MIN_LOG_HZ * torch.exp(_SLANEY_LOGSTEP * (mels - _SLANEY_MIN_LOG_MEL))
    return torch.where(mels >= _SLANEY_MIN_LOG_MEL, log_part, linear)


def log_mel_spectrogram(waveform: torch.Tensor, config: AudioVAEConfig) -> torch.Tensor:
    """Log-magnitude mel spectrogram of a waveform already at ``config.sample_rate``.

    Args:
        waveform: (B, C, samples).
        config: STFT size, hop, mel bins and sample rate.
    Returns:
        (B, C, frames, mel_bins) float32 (float64 for float64 input), frames = 1 + samples // hop_length,
        natural log of the magnitude clamped at 1e-5.
    """
    compute_dtype = torch.float64 if waveform.dtype == torch.float64 else torch.float32
    batch, channels, samples = waveform.shape
    flat = waveform.reshape(batch * channels, samples).to(compute_dtype)
    window = torch.hann_window(config.n_fft, dtype=compute_dtype, device=waveform.device)
    spec = torch.stft(
        flat,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.n_fft,
        window=window,
        center=True,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    ).abs()  # (B*C, n_fft // 2 + 1, frames)
    fb = mel_filterbank(n_freqs=config.n_fft // 2 + 1, n_mels=config.mel_bins, sample_rate=config.sample_rate)
    mel = torch.matmul(spec.transpose(1, 2), fb.to(device=waveform.device, dtype=compute_dtype))  # (B*C, T, M)
    mel = torch.log(torch.clamp(mel, min=_LOG_FLOOR))
    return mel.reshape(batch, channels, mel.shape[1], mel.shape[2])


def waveform_to_mel(waveform: torch.Tensor, sample_rate: int, config: AudioVAEConfig) -> torch.Tensor:
    """Full front-end: mono→stereo, resample to the model rate, log-mel.

    Args:
        waveform: (B, 1|2, samples) (or unbatched, see :func:`to_stereo`), values in [-1, 1].
        sample_rate: rate of ``waveform`` in Hz.
        config: the audio VAE config (model rate, STFT, mel bins).
    Returns:
        (B, 2, frames, mel_bins) log-mel spectrogram in float32, frames = 1 + resampled_samples // hop_length.
    Raises:
        ValueError: audio shorter than the STFT's reflect padding allows (n_fft // 2 + 1 samples at the model
        rate: 32 ms for the real model).
    """
    stereo = to_stereo(waveform)
    if not stereo.is_floating_point():
        raise TypeError(f"waveform must be floating point, got {stereo.dtype}")
    stereo = resample(stereo, sample_rate, config.sample_rate)
    shortest = config.n_fft // 2 + 1  # the centred STFT reflect-pads n_fft // 2 samples on each side
    if stereo.shape[-1] < shortest:
        raise ValueError(f"the audio is too short to encode: {waveform.shape[-1]} samples at {sample_rate} Hz "
                         f"({waveform.shape[-1] / sample_rate * 1000:.1f} ms); the audio VAE needs at least "
                         f"{shortest / config.sample_rate * 1000:.1f} ms ({shortest} samples at "
                         f"{config.sample_rate} Hz)")
    return log_mel_spectrogram(stereo, config)
