"""Latent nodes: empty audio+video latent.

Node id ``LTX2NEmptyAVLatent`` (width, height, frames, fps, batch_size, stages?) -> av_latent.
"""

from __future__ import annotations

from comfy_api.latest import io

from ..ltx_model.modes import ClipGeometry
from .latent_formats import empty_av_latent
from .schema import make_schema, not_a_number, number_problem

STAGES = ("one stage", "two stages (x2 upscale)")


class LTX2NEmptyAVLatent(io.ComfyNode):
    """Zeros for one audio+video clip, sized from pixels, frames and frame rate.

    With ``stages`` = "two stages (x2 upscale)" the sizes are the FINAL output size (multiples of 64) and the
    latent is made at half width and height for the first stage; Upscale Latent x2 (LTX-2) restores the full size.
    """

    DISPLAY_NAME = "Empty Audio+Video Latent (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls,
            group="latent",
            description="Empty video and audio latents for a clip of the given size, length and frame rate, "
                        "combined into one audio+video LATENT.",
            inputs=[
                io.Int.Input("width", default=768, min=32, max=8192, step=32,
                             tooltip="Video width in pixels; a multiple of 32 (64 for two stages)."),
                io.Int.Input("height", default=512, min=32, max=8192, step=32,
                             tooltip="Video height in pixels; a multiple of 32 (64 for two stages)."),
                io.Int.Input("frames", default=121, min=1, max=8193, step=8,
                             tooltip="Number of video frames; 1 + 8k (e.g. 97, 121, 161)."),
                io.Float.Input("fps", default=25.0, min=1.0, max=240.0, step=1.0,
                               tooltip="Frame rate in frames per second; sets the audio length."),
                io.Int.Input("batch_size", default=1, min=1, max=64,
                             tooltip="Number of clips generated in parallel."),
                io.Combo.Input("stages", options=list(STAGES), default=STAGES[0], optional=True,
                               tooltip="two stages: width and height are the final size (multiples of 64); the "
                                       "latent is made at half size and upscaled x2 before the refine pass."),
            ],
            outputs=[io.Latent.Output(display_name="av_latent", tooltip="Audio+video latent (video, audio).")],
        )

    @classmethod
    def validate_inputs(cls, width: int | None = None, height: int | None = None, frames: int | None = None,
                        fps: float | None = None, stages: str | None = None) -> bool | str:
        # Runs before any work; linked (not yet known) values arrive as None and are checked in execute. The LTX
        # geometry first (execute's own message), then the schema bounds ComfyUI skips for declared inputs.
        values = {"width": width, "height": height, "frames": frames, "fps": fps}
        bad = not_a_number(**values)
        if bad is None and None not in values.values():
            bad = _geometry(width, height, frames, fps, stages).problem()
        return bad or number_problem(cls, **values) or True

    @classmethod
    def execute(cls, width: int, height: int, frames: int, fps: float, batch_size: int,
                stages: str = STAGES[0]) -> io.NodeOutput:
        geometry = _geometry(width, height, frames, fps, stages)
        problem = geometry.problem()
        if problem is not None:
            raise ValueError(problem)
        return io.NodeOutput(empty_av_latent(geometry.first_stage(), batch_size))


def _geometry(width: int, height: int, frames: int, fps: float, stages: str | None) -> ClipGeometry:
    if stages not in (None, *STAGES):
        raise ValueError(f"stages must be one of {', '.join(STAGES)}")
    return ClipGeometry(width, height, frames, fps, two_stage=stages == STAGES[1])
