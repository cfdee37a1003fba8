"""Ingredients IC-LoRA references (``ltx-2.3-22b-ic-lora-ingredients-0.9``): reference images -> reference video.

The Ingredients IC-LoRA follows a *reference sheet*: one still picture holding a clean panel per element
(character, prop, location) on a black background, given as a static video at the output's size and length
(its model card: reference downscale factor 1, the sheet "looped to the output's length and frame rate"). The
official ComfyUI template (``template_ltx2_3_ic_lora_ingredients``) repeats the sheet into a batch and resizes it
with black padding to the output size (``RepeatImageBatch`` + ``ResizeAndPadImage``). The rules here:

* Images: one or more pictures ``(H, W, C)`` (or ``(N, H, W, C)`` batches, each picture its own panel), all with the
  same channel count, 3 (RGB) or 4 (RGBA: composited over the black background).
* Sheet: ``n`` panels laid out on a grid of ``cols = ceil(sqrt(n))`` columns and ``ceil(n / cols)`` rows covering
  the output size (cell edges at ``round(i * size / count)``); each picture is resized to fit its cell keeping its
  aspect ratio (bilinear, antialiased) and centred, the rest is black. One picture fills the whole frame like
  ``ResizeAndPadImage``.
* Video: the sheet repeated to the clip's frame count (the IC-LoRA guide encodes it at the latent's size / 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .geometry import GenerationError

CHANNELS = (3, 4)


def ingredient_pictures(images: Sequence[torch.Tensor], names: Sequence[str] | None = None) -> list[torch.Tensor]:
    """Each input ``(H, W, C)`` / ``(N, H, W, C)`` -> its pictures as ``(H, W, 3)`` float (RGBA over black).

    ``names`` name the inputs in errors (default ``image 1``, ``image 2``, ...).

    Raises:
        GenerationError: no picture at all, a tensor that is no image, a channel count other than 3 or 4, or
            inputs whose channel counts differ (naming the input).
    """
    pictures: list[torch.Tensor] = []
    channels: int | None = None
    labels = list(names) if names is not None else [f"image {i}" for i in range(1, len(images) + 1)]
    for label, image in zip(labels, images, strict=True):
        batch = image[None] if image.dim() == 3 else image
        if batch.dim() != 4 or batch.shape[0] == 0 or min(batch.shape[1:3]) == 0:
            raise GenerationError(f"{label} is not a picture (H, W, C) or batch (N, H, W, C): shape "
                                  f"{tuple(image.shape)}")
        count = int(batch.shape[-1])
        if count not in CHANNELS or channels not in (None, count):
            first = "" if channels is None else f" ({labels[0]}: {channels})"
            raise GenerationError(f"{label} has {count} channels; every image needs the same channel count, 3 (RGB) "
                                  f"or 4 (RGBA){first}")
        channels = count
        batch = batch.float()
        rgb = batch[..., :3] * batch[..., 3:] if count == 4 else batch  # RGBA over the black background
        pictures.extend(rgb.unbind(0))
    if not pictures:
        raise GenerationError("no reference images: connect at least one picture (a reference sheet, or the "
                              "characters / props / location as separate pictures)")
    return pictures


def sheet_grid(count: int) -> tuple[int, int]:
    """``(rows, cols)`` of the panel grid for ``count`` pictures: ``cols = ceil(sqrt(count))``."""
    cols = math.ceil(math.sqrt(count))
    return math.ceil(count / cols), cols


def fit_and_pad(picture: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(h, w, 3)`` -> ``(height, width, 3)``: resized to fit inside keeping the aspect ratio (at least 1 pixel),
    centred on black."""
    h, w = picture.shape[:2]
    scale = min(height / h, width / w)
    new_h, new_w = min(height, max(1, round(h * scale))), min(width, max(1, round(w * scale)))
    x = picture.permute(2, 0, 1)[None]  # (1, 3, h, w)
    if (new_h, new_w) != (h, w):
        x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=True)
    out = picture.new_zeros(height, width, 3)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top:top + new_h, left:left + new_w] = x[0].permute(1, 2, 0)
    return out


def _edges(size: int, count: int) -> list[int]:
    return [round(i * size / count) for i in range(count + 1)]


def reference_sheet(images: Sequence[torch.Tensor], *, height: int, width: int,
                    names: Sequence[str] | None = None) -> torch.Tensor:
    """The reference sheet ``(height, width, 3)``: every picture fitted into its grid cell on black."""
    pictures = ingredient_pictures(images, names)
    rows, cols = sheet_grid(len(pictures))
    ys, xs = _edges(height, rows), _edges(width, cols)
    sheet = pictures[0].new_zeros(height, width, 3)
    for index, picture in enumerate(pictures):
        r, c = divmod(index, cols)
        sheet[ys[r]:ys[r + 1], xs[c]:xs[c + 1]] = fit_and_pad(picture, ys[r + 1] - ys[r], xs[c + 1] - xs[c])
    return sheet


def ingredients_video(images: Sequence[torch.Tensor], *, frames: int, height: int, width: int,
                      names: Sequence[str] | None = None) -> torch.Tensor:
    """The IC-LoRA reference video ``(frames, height, width, 3)``: the sheet repeated (a static video)."""
    if frames < 1:
        raise GenerationError(f"the reference video needs at least 1 frame, got {frames}")
    sheet = reference_sheet(images, height=height, width=width, names=names)
    return sheet[None].expand(frames, -1, -1, -1).contiguous()
