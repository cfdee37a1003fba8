"""Pixel-space upscaling with a pixel-spatial upscaler IC-LoRA (``ltx-2.5-22b-ic-lora-pixel-spatial-upscaler-x2``).

The IC-LoRA regenerates a clip at ``factor`` times the size of a low-resolution input that it sees as its reference
at the output size / ``factor`` (its ``reference_downscale_factor``, 2 for the x2 LoRA; Lightricks' DFR pipeline
uses the same default). So the input IS the reference grid; the rules:

* Output size: the input's size times ``factor``, each side rounded to the nearest multiple of ``32 * factor`` (the
  reference grid, output / factor, must stay on the 32-pixel latent grid), at least ``32 * factor``. An explicit
  output size must itself be a multiple of ``32 * factor``.
* Reference: the input resized to the output size / factor (cover + center crop; unchanged, bit for bit, when the
  input already is that size).
* Frames: the input's first ``1 + 8k`` frames; the fps and the sound of the input are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from .geometry import SCALE, GenerationError, floor_frame_count


@dataclass(frozen=True)
class UpscalePlan:
    """The sizes of one pixel upscale: output ``height x width``, reference ``ref_height x ref_width``, frames."""

    height: int
    width: int
    ref_height: int
    ref_width: int
    frames: int


def grid_multiple(factor: int) -> int:
    """Output sides are multiples of this: ``32 * factor``."""
    if factor < 1:
        raise GenerationError(f"reference_downscale_factor must be >= 1, got {factor}")
    return SCALE.height * factor


def upscaled_side(side: int, factor: int) -> int:
    """``side * factor`` rounded to the nearest multiple of ``32 * factor`` (ties up), at least one multiple."""
    multiple = grid_multiple(factor)
    return max(multiple, multiple * int((side * factor) / multiple + 0.5))


def upscale_plan(source: tuple[int, int, int], factor: int, *, width: int = 0, height: int = 0) -> UpscalePlan:
    """Sizes for an input of ``(frames, height, width)``; ``width`` / ``height`` 0 = the input's times ``factor``.

    Raises:
        GenerationError: an explicit side that is not a multiple of ``32 * factor``, or an input without frames.
    """
    frames, src_h, src_w = source
    if frames < 1 or src_h < 1 or src_w < 1:
        raise GenerationError(f"the input video is empty: {frames} frames of {src_w}x{src_h}")
    multiple = grid_multiple(factor)
    for name, value in (("width", width), ("height", height)):
        if value and value % multiple:
            raise GenerationError(f"{name} {value} must be a multiple of {multiple} (32 x the IC-LoRA's reference "
                                  f"downscale factor {factor}), or 0 for the input's x{factor}")
    out_h = height or upscaled_side(src_h, factor)
    out_w = width or upscaled_side(src_w, factor)
    return UpscalePlan(out_h, out_w, out_h // factor, out_w // factor, floor_frame_count(frames))
