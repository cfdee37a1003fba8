"""Spatial editing rules (inpaint / outpaint with the in/outpainting IC-LoRA), defined once.

The official pack's recipe (Lightricks/ComfyUI-LTXVideo ``LTXVDilateVideoMask``, ``LTXVInpaintPreprocess``, the
``ic-lora-in-outpainting`` example workflows) is: a black/white mask video (white = regenerate) is dilated
(separable max-pool, then thresholded at 0.5), the source is composited over a flat colour (#66FF00) under the
mask and given to the IC-LoRA as its reference; the generated clip is blended back into the source
(:mod:`.pyramid`). Outpainting is the same with a mask that covers the new border of a larger canvas, the
source placed there whole (fitted inside what the borders leave, never cropped).

Frames are ``(F, H, W, 3)`` floats in [0, 1]; masks ``(F, H, W)`` floats in [0, 1] (1 = regenerate).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812

from .geometry import SCALE, size_problem

FLAT_COLOUR = (102, 255, 0)
"""RGB (0-255) under the mask in the reference video (#66FF00, the colour the in/outpainting IC-LoRA learned)."""
MASK_THRESHOLD = 0.5  # mask values above it count as "regenerate" after dilation


def mask_problem(mask_shape: tuple[int, ...], source_shape: tuple[int, ...], what: str = "mask") -> str | None:
    """A message unless a ``(F_m, H_m, W_m)`` mask fits ``(F, H, W, ...)`` source frames: same height and width,
    and ``F_m == F`` or a single frame (used for every frame); else None."""
    f_m, h_m, w_m = mask_shape[:3]
    frames, height, width = source_shape[:3]
    if (h_m, w_m) != (height, width):
        return (f"the {what} is {w_m}x{h_m} but the source video is {width}x{height}: the mask must have the "
                f"source's size (resize it to {width}x{height})")
    if f_m not in (1, frames):
        return (f"the {what} has {f_m} frames but the source video has {frames}: the mask must have as many "
                f"frames as the source (or be a single frame, used for every frame)")
    return None


def as_mask(mask: torch.Tensor) -> torch.Tensor:
    """A ComfyUI MASK ``(F, H, W)`` / ``(H, W)`` or an IMAGE ``(F, H, W, C)`` (channel mean) -> float ``(F, H, W)``."""
    mask = mask.float()
    if mask.ndim == 4:
        mask = mask.mean(dim=-1)
    return mask[None] if mask.ndim == 2 else mask


def dilate_mask(mask: torch.Tensor, spatial_radius: int = 0, temporal_radius: int = 0) -> torch.Tensor:
    """Grow a ``(F, H, W)`` mask by max-pooling (a ``2r + 1`` square per frame, then ``2t + 1`` frames) and
    threshold it at :data:`MASK_THRESHOLD` -> binary float ``(F, H, W)`` (the official ``LTXVDilateVideoMask``)."""
    out = mask.float()
    if spatial_radius > 0:
        out = F.max_pool2d(out[:, None], 2 * spatial_radius + 1, stride=1, padding=spatial_radius)[:, 0]
    if temporal_radius > 0:
        frames, height, width = out.shape
        flat = out.permute(1, 2, 0).reshape(height * width, 1, frames)
        flat = F.max_pool1d(flat, 2 * temporal_radius + 1, stride=1, padding=temporal_radius)
        out = flat.reshape(height, width, frames).permute(2, 0, 1)
    return (out > MASK_THRESHOLD).float()


def flat_colour_composite(frames: torch.Tensor, mask: torch.Tensor,
                          colour: tuple[int, int, int] = FLAT_COLOUR) -> torch.Tensor:
    """Frames ``(F, H, W, 3)`` in [0, 1] with :data:`FLAT_COLOUR` under ``mask`` (``(F|1, H, W)``, 1 = covered):
    ``frames * (1 - m) + colour * m`` (the official ``LTXVInpaintPreprocess``)."""
    m = mask.to(frames)[..., None]
    flat = torch.tensor(colour, dtype=frames.dtype, device=frames.device) / 255.0
    return frames * (1.0 - m) + flat * m


@dataclass(frozen=True)
class OutpaintCanvas:
    """Where the source sits on an outpaint canvas: ``width`` x ``height`` pixels, the source region
    ``[top, top + source_height) x [left, left + source_width)``; everything else is generated."""

    width: int
    height: int
    left: int
    top: int
    source_width: int
    source_height: int

    def place(self, frames: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
        """Frames ``(F, h, w, C)`` of the source region's size -> ``(F, height, width, C)`` filled with ``fill``."""
        out = frames.new_full((frames.shape[0], self.height, self.width, frames.shape[-1]), fill)
        out[:, self.top: self.top + self.source_height, self.left: self.left + self.source_width] = frames
        return out

    def mask(self, frames: int) -> torch.Tensor:
        """``(frames, height, width)``: 0 on the source region, 1 on the new area."""
        inside = torch.ones(frames, self.source_height, self.source_width, 1)
        return 1.0 - self.place(inside)[..., 0]

    def crop(self, frames: torch.Tensor) -> torch.Tensor:
        """The source region of canvas frames ``(F, height, width, C)``."""
        return frames[:, self.top: self.top + self.source_height, self.left: self.left + self.source_width]


def round_to_grid(pixels: int, cell: int = SCALE.width) -> int:
    """``pixels`` rounded to the nearest multiple of the latent cell (32), halves up (16 -> 32)."""
    return cell * ((pixels + cell // 2) // cell)


def ceil_to_grid(pixels: int, cell: int = SCALE.width) -> int:
    """The smallest multiple of the latent cell (32) that holds ``pixels`` (500 -> 512)."""
    return cell * -(-pixels // cell)


def _fit_scale(source: tuple[int, int], regions: tuple[int, int]) -> float:
    """Scale that fits a ``(w, h)`` source inside the given ``(w, h)`` regions (0 = that side free); 1 when both
    are free (the source keeps its pixels)."""
    scales = [region / side for side, region in zip(source, regions, strict=True) if region]
    return min(scales) if scales else 1.0


def _leftover_before(leftover: int, before: int, after: int) -> int:
    """How much of a region's ``leftover`` pixels (the fitted source is smaller) go before the source: all of it
    when only the side before has a border, none when only the side after has one, else half (centred)."""
    if before and not after:
        return leftover
    if after and not before:
        return 0
    return leftover // 2


def outpaint_canvas(width: int, height: int, *, source_width: int, source_height: int, left: int, right: int,
                    top: int, bottom: int) -> OutpaintCanvas:
    """Where a ``source_width`` x ``source_height`` source goes on an outpaint canvas; never cropped.

    ``left`` / ``right`` / ``top`` / ``bottom`` are the new borders, each rounded to the latent grid
    (:func:`round_to_grid`). ``width`` x ``height`` (multiples of 32) is the canvas; 0 on a side means "the source
    plus its borders", the source's side rounded up to the grid. The source is scaled (aspect kept) to fit inside
    the region the borders leave (unchanged when both sides are 0) and placed whole next to the new area; what the
    fitted source leaves of its region (less than 32 pixels with 0 sides) is generated too (:func:`_leftover_before`
    says on which side). The official pack's ``ImagePadForOutpaintTargetSize`` also fits without cropping.
    Raises ValueError (:func:`outpaint_problem`'s message) when it cannot.
    """
    problem = outpaint_problem(width, height, left=left, right=right, top=top, bottom=bottom)
    if problem or min(source_width, source_height) < 1:
        raise ValueError(problem or f"the outpaint source is {source_width}x{source_height}: it has no pixels")
    pad_l, pad_r, pad_t, pad_b = (round_to_grid(v) for v in (left, right, top, bottom))
    regions = (width - pad_l - pad_r if width else 0, height - pad_t - pad_b if height else 0)
    scale = _fit_scale((source_width, source_height), regions)
    fitted = [max(1, round(side * scale)) for side in (source_width, source_height)]
    fitted = [min(side, region) if region else side for side, region in zip(fitted, regions, strict=True)]
    regions = tuple(region or ceil_to_grid(side) for side, region in zip(fitted, regions, strict=True))
    return OutpaintCanvas(pad_l + regions[0] + pad_r, pad_t + regions[1] + pad_b,
                          pad_l + _leftover_before(regions[0] - fitted[0], pad_l, pad_r),
                          pad_t + _leftover_before(regions[1] - fitted[1], pad_t, pad_b), fitted[0], fitted[1])


def outpaint_source(frames: torch.Tensor, *, width: int, height: int, left: int, right: int, top: int,
                    bottom: int) -> tuple[OutpaintCanvas, torch.Tensor]:
    """Source frames ``(F, h, w, C)`` in [0, 1] on their outpaint canvas (:func:`outpaint_canvas`): the canvas and
    the frames ``(F, canvas.height, canvas.width, C)``, the whole source in its region (bilinearly resized only
    when the canvas needs it, so pixel for pixel when it does not), 0 elsewhere."""
    canvas = outpaint_canvas(width, height, source_width=frames.shape[2], source_height=frames.shape[1], left=left,
                             right=right, top=top, bottom=bottom)
    size = (canvas.source_height, canvas.source_width)
    if tuple(frames.shape[1:3]) != size:
        resized = F.interpolate(frames.float().permute(0, 3, 1, 2), size=size, mode="bilinear", align_corners=False)
        frames = resized.permute(0, 2, 3, 1).clamp(0.0, 1.0)
    return canvas, canvas.place(frames)


def outpaint_problem(width: int, height: int, *, left: int, right: int, top: int, bottom: int) -> str | None:
    """A message when the canvas is not on the grid (0 = the source plus its borders is allowed), a border is
    negative, nothing would be generated, or the borders (rounded to the grid) leave no source pixels; else None."""
    problem = size_problem(width, height, source_size=True, what="the outpaint canvas (width and height)")
    if problem:
        return problem
    sides = {"left": left, "right": right, "top": top, "bottom": bottom}
    if any(v < 0 for v in sides.values()):
        return f"outpaint borders must be >= 0 pixels; got {sides}"
    rounded = {k: round_to_grid(v) for k, v in sides.items()}
    if not any(rounded.values()):
        return (f"outpaint borders {sides} round to 0 on the {SCALE.width}-pixel grid: nothing to generate "
                f"(make one border at least {SCALE.width // 2} pixels)")
    if (width and rounded["left"] + rounded["right"] >= width
            or height and rounded["top"] + rounded["bottom"] >= height):
        return (f"outpaint borders {rounded} (rounded to the {SCALE.width}-pixel grid) leave no source pixels on "
                f"the {width}x{height} canvas: left + right must be < width and top + bottom < height (or set "
                f"width / height to 0: the source plus its borders)")
    return None
