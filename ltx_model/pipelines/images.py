"""Image conditioning as the reference prepares it: CRF round trip, cover-resize + center crop, VAE encode."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..conditioning import ConditioningItem, ImageAtLatentIndex, KeyframeAtFrame
from ..media import crf_round_trip
from ..video_vae import VideoVAE
from .request import ImageCondition


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


def image_pixels(
    condition: ImageCondition, *, height: int, width: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """``uint8 (H, W, 3)`` → VAE input ``(1, 3, 1, height, width)`` in [-1, 1] (after the CRF round trip)."""
    array = crf_round_trip(condition.image, condition.crf)
    image = torch.from_numpy(np.ascontiguousarray(array)).to(device=device, dtype=torch.float32)
    pixels = resize_and_center_crop(image, height, width)
    return (pixels / 127.5 - 1.0).to(device=device, dtype=dtype)


def image_conditionings(
    conditions: tuple[ImageCondition, ...], video_vae: VideoVAE, *, height: int, width: int
) -> list[ConditioningItem]:
    """Encode each image at the output size; frame 0 replaces the first latent frame, others become keyframes
    (ltx-pipelines ``combined_image_conditionings``)."""
    weight = next(video_vae.parameters())
    items: list[ConditioningItem] = []
    for condition in conditions:
        pixels = image_pixels(condition, height=height, width=width, dtype=weight.dtype, device=weight.device)
        with torch.no_grad():
            latent = video_vae.encode(pixels)  # (1, 128, 1, h, w)
        if condition.frame_index == 0:
            items.append(ImageAtLatentIndex(latent=latent, strength=condition.strength, latent_index=0))
        else:
            items.append(KeyframeAtFrame(latent=latent, frame_index=condition.frame_index, strength=condition.strength))
    return items
