"""Pixel-space upscaling with a pixel-spatial upscaler IC-LoRA (x4 or x2).

Lightricks publishes three such IC-LoRAs: ``ltx-2.3-22b-ic-lora-pixel-spatial-upscaler-x4-0.9`` and ``-x2-0.9``
(Lightricks/LTX-2.3-22b-IC-LoRA-Pixel-Spatial-Upscaler, listed in the README of Lightricks/ComfyUI-LTXVideo
@aceeae96) and ``ltx-2.5-22b-ic-lora-pixel-spatial-upscaler-x2-1.0`` (Lightricks/LTX-2 README @400fd31, the
DFR pipeline's detailing LoRA). The factor is read from the file's ``reference_downscale_factor`` metadata (as
ltx-pipelines' ``read_lora_reference_downscale_factor``). The official workflow
(``LTX-2.3_ICLoRA_Pixel_Spatial_Upscaler_Distilled.json``, x4) resizes the input to the output size (its shorter
side to 1088, then to a multiple of 32 x factor), which is also the canvas, and its IC-LoRA guide node resizes that
to output / factor: the reference is the input on a grid ``factor`` times coarser than the output. The rules:

* Output size: the input's size times ``factor``, each side rounded to the nearest multiple of ``32 * factor`` (the
  reference grid, output / factor, must stay on the 32-pixel latent grid), at least ``32 * factor``. An explicit
  output size must itself be a multiple of ``32 * factor``.
* Reference: the input resized to the output size / factor (cover + center crop; unchanged, bit for bit, when the
  input already is that size; one resize instead of the official workflow's up-then-down pair).
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
