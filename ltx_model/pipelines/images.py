"""Image conditioning as the reference prepares it: CRF round trip, cover-resize + center crop, VAE encode."""

from __future__ import annotations

import numpy as np
import torch

from ..conditioning import ConditioningItem, ImageAtLatentIndex, KeyframeAtFrame
from ..media import DEFAULT_IMAGE_CRF, crf_round_trip
from ..modes import resize_and_center_crop, resolve_frame_index
from ..video_vae import VideoVAE
from .request import ImageCondition


def image_pixels(
    condition: ImageCondition, *, height: int, width: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """``uint8 (H, W, 3)`` → VAE input ``(1, 3, 1, height, width)`` in [-1, 1] (after the CRF round trip)."""
    crf = DEFAULT_IMAGE_CRF if condition.crf is None else condition.crf  # None: the pipelines resolve it by version
    array = crf_round_trip(condition.image, crf)
    image = torch.from_numpy(np.ascontiguousarray(array)).to(device=device, dtype=torch.float32)
    pixels = resize_and_center_crop(image, height, width)
    return (pixels / 127.5 - 1.0).to(device=device, dtype=dtype)


def encode_image(condition: ImageCondition, video_vae: VideoVAE, *, height: int, width: int) -> torch.Tensor:
    """One image through the CRF round trip, cover-resize + crop and the VAE encoder -> ``(1, 128, 1, h, w)``."""
    weight = next(video_vae.parameters())
    pixels = image_pixels(condition, height=height, width=width, dtype=weight.dtype, device=weight.device)
    with torch.no_grad():
        return video_vae.encode(pixels)


def image_conditionings(
    conditions: tuple[ImageCondition, ...],
    video_vae: VideoVAE,
    *,
    height: int,
    width: int,
    num_frames: int | None = None,
) -> list[ConditioningItem]:
    """Encode each image at the output size; frame 0 replaces the first latent frame, others become keyframes
    (ltx-pipelines ``combined_image_conditionings``); given ``num_frames``, a negative frame index counts from the
    clip's end."""
    items: list[ConditioningItem] = []
    for condition in conditions:
        latent = encode_image(condition, video_vae, height=height, width=width)
        frame = condition.frame_index
        if num_frames is not None:
            frame = resolve_frame_index(frame, num_frames, "image frame_index")
        if frame == 0:
            items.append(ImageAtLatentIndex(latent=latent, strength=condition.strength, latent_index=0))
        else:
            items.append(KeyframeAtFrame(latent=latent, frame_index=frame, strength=condition.strength))
    return items
