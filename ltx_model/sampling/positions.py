"""Latent grids and the position tensors the transformer turns into RoPE angles.

Layout (as ltx-core builds it): positions are ``(B, n_axes, T, 2)`` — per token and axis the bounds
``[start, end)``. Video has 3 axes (time in seconds, height and width in pixels); audio has 1 axis (time in
seconds). The transformer either uses the midpoint ``(start + end) / 2`` (``use_middle_indices_grid``) or the start
(:func:`rope_coordinates`).

Video (``VideoLatentTools.create_initial_state``): latent bounds ``[i, i+1)`` per axis are scaled to pixels by
``(8, 32, 32)``; the causal fix maps time bounds ``t -> max(t + 1 - 8, 0)`` (latent frame 0 covers one pixel
frame); time is divided by fps; the whole tensor is finally cast to the latent dtype (bf16 in real runs).
Audio (``AudioPatchifier``): latent index ``i`` covers mel frames from ``max(4i - 3, 0)`` to ``max(4i + 1, 0)``,
times ``hop / sample_rate`` = 10 ms; always float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class VideoScaleFactors:
    """Pixel frames / pixels per latent cell along (time, height, width)."""

    time: int = 8
    height: int = 32
    width: int = 32


@dataclass(frozen=True)
class VideoGrid:
    """Geometry of the generated (noisy) video latent ``(B, channels, frames, height, width)``.

    Attributes:
        frames, height, width: latent grid size.
        fps: frame rate of the pixel video (positions are in seconds).
        channels: latent channels (128 for all LTX-2 VAEs).
        scale: VAE compression factors.
        causal_fix: apply the causal first-frame correction on the time axis.
        patch_size: spatial patch edge of the patchifier (1 for the real models).
    """

    frames: int
    height: int
    width: int
    fps: float
    channels: int = 128
    scale: VideoScaleFactors = field(default_factory=VideoScaleFactors)
    causal_fix: bool = True
    patch_size: int = 1

    @property
    def token_count(self) -> int:
        """Number of tokens of the patchified target latent."""
        return self.frames * (self.height // self.patch_size) * (self.width // self.patch_size)

    def latent_shape(self, batch: int = 1) -> tuple[int, int, int, int, int]:
        """``(B, C, F, H, W)`` of the target latent."""
        return (batch, self.channels, self.frames, self.height, self.width)

    @classmethod
    def from_pixels(cls, *, frames: int, height: int, width: int, fps: float, channels: int = 128) -> VideoGrid:
        """Latent grid for a pixel video (``(frames - 1) // 8 + 1`` latent frames, ``height // 32`` rows, ...)."""
        s = VideoScaleFactors()
        return cls(
            frames=(frames - 1) // s.time + 1, height=height // s.height, width=width // s.width, fps=fps,
            channels=channels,
        )


@dataclass(frozen=True)
class AudioGrid:
    """Geometry of the generated audio latent ``(B, channels, frames, mel_bins)``.

    Attributes:
        frames: latent frames (25 per second with the defaults).
        channels, mel_bins: latent channels (8) and latent mel bins (16); tokens are ``channels * mel_bins`` wide.
        sample_rate, hop_length, downsample: spectrogram parameters mapping latent frames to seconds.
        causal: apply the causal timing shift.
        shift: latent index offset of the first frame.
    """

    frames: int
    channels: int = 8
    mel_bins: int = 16
    sample_rate: int = 16000
    hop_length: int = 160
    downsample: int = 4
    causal: bool = True
    shift: int = 0

    @property
    def token_count(self) -> int:
        """Number of tokens of the patchified target latent (one per latent frame)."""
        return self.frames

    def latent_shape(self, batch: int = 1) -> tuple[int, int, int, int]:
        """``(B, C, T, M)`` of the target latent."""
        return (batch, self.channels, self.frames, self.mel_bins)

    @classmethod
    def from_duration(cls, duration: float, **kwargs: int) -> AudioGrid:
        """Grid for ``duration`` seconds: ``round(duration * sample_rate / hop / downsample)`` latent frames."""
        probe = cls(frames=0, **kwargs)
        per_second = float(probe.sample_rate) / float(probe.hop_length) / float(probe.downsample)
        return cls(frames=round(duration * per_second), **kwargs)


def video_latent_bounds(
    frames: int, height: int, width: int, *, batch: int = 1, patch_size: int = 1, device: torch.device | None = None
) -> torch.Tensor:
    """Integer latent-cell bounds of every video token.

    Returns:
        int64 ``(B, 3, F*H'*W', 2)`` with ``[start, end)`` per axis (frame, row, column), token order of
        :func:`~ltx_model.sampling.patchify.patchify_video`.
    """
    if min(frames, height, width, batch) <= 0:
        raise ValueError(f"video grid sizes must be positive, got {frames}x{height}x{width}, batch {batch}")
    axes = (
        torch.arange(0, frames, 1, device=device),
        torch.arange(0, height, patch_size, device=device),
        torch.arange(0, width, patch_size, device=device),
    )
    starts = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=0)  # (3, F, H', W')
    size = torch.tensor([1, patch_size, patch_size], device=starts.device, dtype=starts.dtype).view(3, 1, 1, 1)
    bounds = torch.stack((starts, starts + size), dim=-1).reshape(3, -1, 2)  # (3, T, 2)
    return bounds.unsqueeze(0).expand(batch, -1, -1, -1).contiguous()


def latent_bounds_to_pixels(
    bounds: torch.Tensor, scale: VideoScaleFactors, *, causal_fix: bool
) -> torch.Tensor:
    """Scale latent bounds ``(B, 3, T, 2)`` to pixel bounds (pixel frames, pixels); dtype is preserved.

    With ``causal_fix`` the time bounds become ``max(t + 1 - scale.time, 0)``: the causal VAE's first latent frame
    encodes a single pixel frame.
    """
    factors = torch.tensor([scale.time, scale.height, scale.width], device=bounds.device)
    pixels = bounds * factors.view(1, 3, 1, 1)
    if causal_fix:
        pixels[:, 0] = (pixels[:, 0] + 1 - scale.time).clamp(min=0)
    return pixels


def video_positions(
    grid: VideoGrid, *, batch: int = 1, dtype: torch.dtype = torch.float32, device: torch.device | None = None
) -> torch.Tensor:
    """Positions of the target video tokens as ltx-core builds them.

    Returns:
        ``(B, 3, T, 2)`` in ``dtype``: time in seconds (causal-fixed pixel frames / fps, computed in float32), then
        height and width in pixels. Cast to ``dtype`` last (bf16 in real runs, e.g. 1/24 s -> 0.041748).
    """
    bounds = video_latent_bounds(
        grid.frames, grid.height, grid.width, batch=batch, patch_size=grid.patch_size, device=device
    )
    pixels = latent_bounds_to_pixels(bounds, grid.scale, causal_fix=grid.causal_fix).float()
    pixels[:, 0] = pixels[:, 0] / grid.fps
    return pixels.to(dtype)


def _audio_seconds(grid: AudioGrid, start: int, stop: int, device: torch.device | None) -> torch.Tensor:
    """Times in seconds (float32) of the mel frame where each latent index ``start..stop-1`` begins."""
    mel = torch.arange(start, stop, dtype=torch.float32, device=device) * grid.downsample
    if grid.causal:
        mel = (mel + 1 - grid.downsample).clip(min=0)
    return mel * grid.hop_length / grid.sample_rate


def audio_positions(grid: AudioGrid, *, batch: int = 1, device: torch.device | None = None) -> torch.Tensor:
    """Positions of the target audio tokens: float32 ``(B, 1, T, 2)`` with ``[start, end)`` in seconds."""
    starts = _audio_seconds(grid, grid.shift, grid.frames + grid.shift, device)
    ends = _audio_seconds(grid, grid.shift + 1, grid.frames + grid.shift + 1, device)
    bounds = torch.stack([starts, ends], dim=-1)  # (T, 2)
    return bounds.view(1, 1, -1, 2).expand(batch, 1, -1, 2).contiguous()


def rope_coordinates(positions: torch.Tensor, *, use_middle_indices_grid: bool) -> torch.Tensor:
    """Reduce bounds ``(B, n, T, 2)`` to one coordinate per token and axis, ``(B, n, T)``.

    The midpoint ``(start + end) / 2`` is computed in the positions' own dtype (bf16 for plain video states), as
    the reference does; without the middle-indices grid the start is used.
    """
    if use_middle_indices_grid:
        return (positions[..., 0] + positions[..., 1]) / 2.0
    return positions[..., 0]
