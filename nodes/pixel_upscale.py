"""Pixel Upscale Prepare: a low-resolution clip -> the canvas and the reference of a pixel-spatial upscaler IC-LoRA
(x4 or x2).

The rules (``ltx_model.modes.pixel_upscale``): the output is the input's size times the IC-LoRA's reference
downscale factor on the ``32 * factor`` grid (or the given width / height), the input's first ``1 + 8k`` frames;
the reference is the input at the output size / factor (the input itself when it already is that size), which
IC-LoRA Reference Guide (LTX-2) encodes without resizing. The input's sound is kept (frozen, and reference audio
for the prompts) exactly as Video to Video Prepare keeps it.

Node ids (inputs -> outputs):

* ``LTX2NPixelUpscalePrepare`` (positive, negative, audio_vae, video, reference_downscale_factor, width, height,
  frames) -> positive, negative, latent, reference (IMAGE ``(F, H / factor, W / factor, 3)``)
"""

from __future__ import annotations

from typing import Any

import comfy.model_management
from comfy_api.latest import io

from ..ltx_model.modes import ClipGeometry, GenerationError, conform_images, frames_problem
from ..ltx_model.modes.pixel_upscale import upscale_plan
from .editing_modes import source_latent
from .iclora import MAX_FACTOR
from .schema import make_schema, number_problem
from .source_clips import clip_from_video

NAME = "Pixel Upscale Prepare (LTX-2)"


class LTX2NPixelUpscalePrepare(io.ComfyNode):
    """Prepare a pixel-space IC-LoRA upscale: output size from the input, the input as the reference, sound kept."""

    DISPLAY_NAME = NAME

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Upscales a low-resolution clip with a pixel-spatial upscaler IC-LoRA: the output is the "
                        "input's size x the LoRA's reference downscale factor (rounded to the 32 x factor grid), "
                        "the input (at output / factor) is the IC-LoRA reference, its sound is kept. Connect "
                        "reference to IC-LoRA Reference Guide (LTX-2) and latent to the sampler.",
            inputs=[io.Conditioning.Input("positive", tooltip="Positive prompt (describe the sharp result)."),
                    io.Conditioning.Input("negative", tooltip="Negative prompt."),
                    io.Vae.Input("audio_vae", tooltip="The audio VAE: encodes the input's sound, kept as it is."),
                    io.Video.Input("video", tooltip="The low-resolution clip (e.g. Load Video)."),
                    io.Int.Input("reference_downscale_factor", default=2, min=1, max=MAX_FACTOR,
                                 tooltip="From Load IC-LoRA (LTX-2): the upscale factor (x4 LoRA: 4, x2 LoRAs: 2)."),
                    io.Int.Input("width", default=0, min=0, max=16384, step=32,
                                 tooltip="Output width (multiple of 32 x factor); 0 = the input's x factor."),
                    io.Int.Input("height", default=0, min=0, max=16384, step=32,
                                 tooltip="Output height (multiple of 32 x factor); 0 = the input's x factor."),
                    io.Int.Input("frames", default=0, min=0, max=100000,
                                 tooltip="Use the first N frames (1 + 8k); 0 = the input's first 1 + 8k.")],
            outputs=[io.Conditioning.Output(display_name="positive", tooltip="Positive prompt, input sound as "
                                                                             "reference audio."),
                     io.Conditioning.Output(display_name="negative", tooltip="Negative prompt, likewise."),
                     io.Latent.Output(display_name="latent", tooltip="The output canvas: video generated, the "
                                                                     "input's sound frozen."),
                     io.Image.Output(display_name="reference", tooltip="The input at the output size / factor: "
                                                                       "the IC-LoRA reference.")],
        )

    @classmethod
    def validate_inputs(cls, width: int | None = None, height: int | None = None,
                        frames: int | None = None) -> bool | str:
        problem = number_problem(cls, width=width, height=height, frames=frames)
        problem = problem or (frames_problem(frames) if isinstance(frames, int) and frames else None)
        return f"{NAME}: {problem}" if problem else True

    @classmethod
    def execute(cls, positive: Any, negative: Any, audio_vae: Any, video: Any, reference_downscale_factor: int,
                width: int, height: int, frames: int) -> io.NodeOutput:
        clip = clip_from_video(video)
        count = frames or clip.frames
        try:
            if count > clip.frames:
                raise GenerationError(f"frames = {frames} but the video input has only {clip.frames} frames")
            plan = upscale_plan((count, *clip.images.shape[1:3]), reference_downscale_factor, width=width,
                                height=height)
        except GenerationError as exc:
            raise ValueError(f"{NAME}: {exc}") from exc
        comfy.model_management.throw_exception_if_processing_interrupted()
        reference = conform_images(clip.images[:plan.frames], height=plan.ref_height, width=plan.ref_width)
        geometry = ClipGeometry(plan.width, plan.height, plan.frames, clip.fps)
        outputs = source_latent(positive, negative, audio_vae, clip, geometry)
        return io.NodeOutput(*outputs, reference)
