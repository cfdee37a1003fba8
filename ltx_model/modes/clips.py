"""Conforming input media to a clip: frames to the latent geometry, waveforms to the clip's duration, and the
source padding / cutting of the extend mode.

Frames are prepared as ltx-pipelines ``load_video_conditioning`` does (per frame: bilinear cover-resize + center
crop, ``x / 127.5 - 1``); audio is trimmed or padded with silence to ``round(duration * rate)`` samples.
Pixels here are float ``(F, H, W, 3)`` in [0, 255] unless a function says otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .geometry import SCALE, GenerationError, floor_frame_count

Frames = torch.Tensor | np.ndarray


def as_frames(frames: Frames) -> torch.Tensor:
    """``uint8``/float ``(F, H, W, 3)`` pixels in [0, 255] -> float32 tensor (a single ``(H, W, 3)`` -> F = 1)."""
    x = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames)
    if x.dim() == 3:
        x = x[None]
    if x.dim() != 4 or x.shape[-1] != 3 or x.shape[0] == 0:
        raise GenerationError(f"expected video frames (F, H, W, 3) with F >= 1, got shape {tuple(x.shape)}")
    return x.to(torch.float32)


def resize_and_center_crop(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Scale ``(H, W, 3)`` float pixels to cover ``height x width`` (bilinear, sizes rounded up), center-crop.

    Returns ``(1, 3, 1, height, width)`` (ltx-pipelines ``resize_and_center_crop``).
    """
    x = image.permute(2, 0, 1)[None]  # (1, 3, H, W)
    src_h, src_w = x.shape[-2:]
    scale = max(height / src_h, width / src_w)
    new_h, new_w = math.ceil(src_h * scale), math.ceil(src_w * scale)
    x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False)
    top, left = (new_h - height) // 2, (new_w - width) // 2
    return x[:, :, top : top + height, left : left + width][:, :, None]


def video_pixels(frames: Frames, *, height: int, width: int, dtype: torch.dtype, device: torch.device | str
                 ) -> torch.Tensor:
    """``(F, H, W, 3)`` pixels -> VAE input ``(1, 3, F, height, width)`` in [-1, 1] (cover-resize + crop per frame)."""
    x = as_frames(frames).to(device)
    pixels = torch.cat([resize_and_center_crop(frame, height, width) for frame in x], dim=2)
    return (pixels / 127.5 - 1.0).to(dtype=dtype)


def conform_images(images: torch.Tensor, *, height: int, width: int) -> torch.Tensor:
    """IMAGE-style frames ``(F, H, W, 3)`` in [0, 1] covered to ``height x width`` and center-cropped (unchanged
    when already that size); ``(F, height, width, 3)`` in [0, 1]."""
    if tuple(images.shape[1:3]) == (height, width):
        return images
    pixels = video_pixels(images * 255.0, height=height, width=width, dtype=torch.float32, device="cpu")
    return ((pixels[0].permute(1, 2, 3, 0) + 1.0) / 2.0).clamp(0.0, 1.0)


def as_channels(waveform: torch.Tensor | np.ndarray) -> torch.Tensor:
    """``(S,)``, ``(C, S)`` or ``(1, C, S)`` float audio -> ``(C, S)`` with C in {1, 2}."""
    w = torch.as_tensor(waveform)
    if w.dim() == 3 and w.shape[0] == 1:
        w = w[0]
    if w.dim() == 1:
        w = w[None]
    if w.dim() != 2 or w.shape[0] not in (1, 2):
        raise GenerationError(f"expected a mono or stereo waveform (S,) / (C, S), got shape {tuple(w.shape)}")
    if w.shape[1] == 0:
        raise GenerationError("the input audio is empty (0 samples)")
    if not w.is_floating_point():
        raise GenerationError(f"the waveform must be float in [-1, 1], got dtype {w.dtype}")
    return w


def fit_waveform(waveform: torch.Tensor | np.ndarray, sample_rate: int, duration_s: float
                 ) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Trim ``(C, S)`` audio to ``round(duration_s * sample_rate)`` samples or zero-pad it (silence), with a note."""
    w = as_channels(waveform)
    if sample_rate <= 0:
        raise GenerationError(f"sample_rate must be positive, got {sample_rate}")
    wanted = round(duration_s * sample_rate)
    have = w.shape[1]
    if have >= wanted:
        note = () if have == wanted else (f"audio trimmed from {have / sample_rate:.3f} s to {duration_s:.3f} s",)
        return w[:, :wanted], note
    pad = torch.zeros(w.shape[0], wanted - have, dtype=w.dtype, device=w.device)
    note = f"audio is {have / sample_rate:.3f} s but the clip lasts {duration_s:.3f} s: padded with silence"
    return torch.cat([w, pad], dim=1), (note,)


# ---------------------------------------------------------------------------------------------- extend
def new_frames_problem(new_frames: int) -> str | None:
    """A message unless the frames an extension adds are a positive multiple of 8."""
    if new_frames > 0 and new_frames % SCALE.time == 0:
        return None
    return f"new_frames must be a positive multiple of 8, got {new_frames}"


def extend_source_frames(source_frames: int, result_frames: int) -> int:
    """Source frames an extension to ``result_frames`` keeps: all of them when they fit, else the ``1 + 8k`` that
    leave at least 8 new frames (the ones nearest the seam are kept)."""
    if result_frames < 1 + SCALE.time:
        return source_frames
    return min(source_frames, floor_frame_count(result_frames - SCALE.time))


def pad_frames(frames: torch.Tensor, new_frames: int, *, forward: bool) -> torch.Tensor:
    """``(F, H, W, C)`` frames with their edge frame repeated ``new_frames`` times on the extended side."""
    if forward:
        return torch.cat([frames, frames[-1:].expand(new_frames, -1, -1, -1)])
    return torch.cat([frames[:1].expand(new_frames, -1, -1, -1), frames])


def pad_waveform(waveform: torch.Tensor | np.ndarray, sample_rate: int, *, source_s: float, new_s: float,
                 forward: bool) -> torch.Tensor:
    """Source audio fitted to ``source_s`` seconds, with ``new_s`` seconds of silence on the extended side;
    ``(C, S)``."""
    fitted, _ = fit_waveform(waveform, sample_rate, source_s)
    silence = torch.zeros(fitted.shape[0], round(new_s * sample_rate), dtype=fitted.dtype)
    return torch.cat([fitted, silence] if forward else [silence, fitted], dim=1)


def extend_window(source_frames: int, new_frames: int, fps: float, *, forward: bool) -> tuple[float, float]:
    """The time window ``[start, end)`` s an extension regenerates: the new frames after (or before) the source."""
    if forward:
        return source_frames / fps, (source_frames + new_frames) / fps
    return 0.0, new_frames / fps
