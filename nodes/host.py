"""The pack's only bridge into ComfyUI's model machinery.

This is the one module that imports ``comfy.model_base`` / ``model_patcher`` / ``ops`` / ``sd`` / ``folder_paths`` /
``latent_formats``: latent formats, the audio+video latent container, and (further down) the ``BaseModel`` wrapper
around ``ltx_model``'s transformer. Node modules call into here; they never import ``comfy.*`` model code themselves.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import comfy.latent_formats
import comfy.model_management
import torch


class LTX2VideoLatentFormat(comfy.latent_formats.LatentFormat):
    """Video latent ``(B, 128, F, H/32, W/32)``; ``F = 1 + (frames - 1) / 8``. Values are already normalised by the
    VAE's per-channel statistics, so ``process_in``/``process_out`` are the identity (scale 1)."""

    latent_channels = 128
    latent_dimensions = 3
    spacial_downscale_ratio = 32
    temporal_downscale_ratio = 8
    latent_rgb_factors = None
    latent_rgb_factors_bias = None


class LTX2AudioLatentFormat(comfy.latent_formats.LatentFormat):
    """Audio latent ``(B, 8, T, 16)``: 8 channels, ``T`` = 25 latents per second, 16 mel-bin groups."""

    latent_channels = 8
    latent_dimensions = 2
    mel_bins = 16
    latents_per_second = 25.0  # 16 kHz mel hop 160, 4x temporal down-sampling


@dataclass(frozen=True)
class AVLatentGeometry:
    """Sizes of one audio+video clip. ``width``/``height`` in pixels, ``frames`` video frames, ``fps`` frames/s."""

    width: int
    height: int
    frames: int
    fps: float

    def problem(self) -> str | None:
        """A user-facing explanation when the sizes cannot be encoded exactly, else None."""
        v = LTX2VideoLatentFormat
        if self.width < v.spacial_downscale_ratio or self.height < v.spacial_downscale_ratio:
            return f"width and height must be at least {v.spacial_downscale_ratio} (got {self.width}x{self.height})"
        if self.width % v.spacial_downscale_ratio or self.height % v.spacial_downscale_ratio:
            return (f"width and height must be multiples of {v.spacial_downscale_ratio} "
                    f"(got {self.width}x{self.height})")
        if self.frames < 1 or (self.frames - 1) % v.temporal_downscale_ratio:
            k = max(0, round((self.frames - 1) / v.temporal_downscale_ratio))
            return (f"frames must be 1 + 8k (1, 9, 17, ..., 97, 121); got {self.frames}, "
                    f"nearest valid: {1 + v.temporal_downscale_ratio * k}")
        if not self.fps > 0:
            return f"fps must be > 0 (got {self.fps})"
        return None

    def video_shape(self, batch: int) -> tuple[int, int, int, int, int]:
        """``(B, 128, F, H/32, W/32)``."""
        v = LTX2VideoLatentFormat
        return (batch, v.latent_channels, 1 + (self.frames - 1) // v.temporal_downscale_ratio,
                self.height // v.spacial_downscale_ratio, self.width // v.spacial_downscale_ratio)

    def audio_shape(self, batch: int) -> tuple[int, int, int, int]:
        """``(B, 8, T, 16)`` with ``T = round(frames / fps * 25)`` as Lightricks' pipelines size it."""
        a = LTX2AudioLatentFormat
        return (batch, a.latent_channels, round(self.frames / self.fps * a.latents_per_second), a.mel_bins)


def nested_tensor_class() -> type:
    """``comfy.nested_tensor.NestedTensor`` (ComfyUI >= 0.3.67); a clear error on older hosts."""
    try:
        return importlib.import_module("comfy.nested_tensor").NestedTensor
    except ImportError as exc:
        raise RuntimeError("audio+video latents need ComfyUI >= 0.3.67 (comfy.nested_tensor is missing)") from exc


def empty_av_latent(geometry: AVLatentGeometry, batch: int) -> dict:
    """A LATENT dict ``{"samples": NestedTensor((video, audio))}`` of zeros on ComfyUI's intermediate device.

    The sampler derives ``latent_shapes`` from the nested parts, exactly as for core's ``LTXVConcatAVLatent``.
    """
    device = comfy.model_management.intermediate_device()
    video = torch.zeros(geometry.video_shape(batch), device=device)
    audio = torch.zeros(geometry.audio_shape(batch), device=device)
    return {"samples": nested_tensor_class()((video, audio))}
