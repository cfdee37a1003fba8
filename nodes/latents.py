"""Latent nodes: empty audio+video latent."""

from __future__ import annotations

from comfy_api.latest import io

from .host import AVLatentGeometry, empty_av_latent
from .schema import make_schema


class LTX2NEmptyAVLatent(io.ComfyNode):
    """Zeros for one audio+video clip, sized from pixels, frames and frame rate."""

    DISPLAY_NAME = "Empty Audio+Video Latent"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls,
            group="latent",
            description="Empty video and audio latents for a clip of the given size, length and frame rate, "
                        "combined into one audio+video LATENT.",
            inputs=[
                io.Int.Input("width", default=768, min=32, max=8192, step=32,
                             tooltip="Video width in pixels; a multiple of 32."),
                io.Int.Input("height", default=512, min=32, max=8192, step=32,
                             tooltip="Video height in pixels; a multiple of 32."),
                io.Int.Input("frames", default=121, min=1, max=8193, step=8,
                             tooltip="Number of video frames; 1 + 8k (e.g. 97, 121, 161)."),
                io.Float.Input("fps", default=25.0, min=1.0, max=240.0, step=1.0,
                               tooltip="Frame rate in frames per second; sets the audio length."),
                io.Int.Input("batch_size", default=1, min=1, max=64,
                             tooltip="Number of clips generated in parallel."),
            ],
            outputs=[io.Latent.Output(display_name="av_latent", tooltip="Audio+video latent (video, audio).")],
        )

    @classmethod
    def validate_inputs(cls, width: int | None = None, height: int | None = None, frames: int | None = None,
                        fps: float | None = None) -> bool | str:
        # Runs before any work; linked (not yet known) values arrive as None and are checked in execute.
        if None in (width, height, frames, fps):
            return True
        problem = AVLatentGeometry(width, height, frames, fps).problem()
        return True if problem is None else problem

    @classmethod
    def execute(cls, width: int, height: int, frames: int, fps: float, batch_size: int) -> io.NodeOutput:
        geometry = AVLatentGeometry(width, height, frames, fps)
        problem = geometry.problem()
        if problem is not None:
            raise ValueError(problem)
        return io.NodeOutput(empty_av_latent(geometry, batch_size))
