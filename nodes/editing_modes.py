"""Editing nodes: inpaint and outpaint with the in/outpainting IC-LoRA, the pyramid blend back, video to video.

The rules are ``ltx_model.modes.masks`` / ``.pyramid`` (mask checks and dilation, flat-colour composite, outpaint
canvas on the 32-pixel grid with the whole source fitted in, softened Laplacian pyramid blend); these nodes unpack
core's VIDEO, run the host's audio VAE and pack LATENT / CONDITIONING. The graph is the official pack's
(``LTXVDilateVideoMask`` + ``LTXVInpaintPreprocess`` + ``LTXVSetAudioRefTokens`` in one prepare node, then Load
IC-LoRA + IC-LoRA Reference Guide + the sampler, decode, and ``LTXVLaplacianPyramidBlend`` = Pyramid Blend):

* ``LTX2NInpaintPrepare`` (positive, negative, audio_vae, video, mask, width, height, frames, spatial_radius,
  temporal_radius) -> positive, negative, latent, reference, source, mask
* ``LTX2NOutpaintPrepare`` (positive, negative, audio_vae, video, width, height, frames, left, right, top, bottom)
  -> positive, negative, latent, reference, source, mask
* ``LTX2NPyramidBlend`` (generated, source, mask, blend_radius) -> image
* ``LTX2NVideoToVideoPrepare`` (positive, negative, audio_vae, video, width, height, frames, audio) -> positive,
  negative, latent, reference (video-to-video IC-LoRAs: the source is the reference)

The latent is the canvas with an empty video (generated whole; the IC-LoRA reference says what to keep) and the
source audio encoded and frozen (noise mask 0: its latent stays the encoded source), also given to both prompts as
reference audio tokens (core's ``ref_audio``). Without source audio, the audio is generated.
"""

from __future__ import annotations

from typing import Any

import comfy.model_management
import comfy.utils
import torch
from comfy_api.latest import io

from ..ltx_model.modes import ClipGeometry, conform_images, frames_problem, size_problem
from ..ltx_model.modes.masks import (
    as_mask,
    dilate_mask,
    flat_colour_composite,
    mask_problem,
    outpaint_problem,
    outpaint_source,
)
from ..ltx_model.modes.pyramid import CHUNK_FRAMES, pyramid_blend, soften_mask
from .latent_formats import empty_av_latent
from .schema import make_schema, not_a_number, number_problem
from .source_clips import (
    Clip,
    clip_from_video,
    conform_clip,
    encode_audio,
    frozen_audio_canvas,
    with_reference_audio,
)


def _prompt_inputs() -> list[io.Input]:
    return [io.Conditioning.Input("positive", tooltip="Positive prompt (what to put in the new area)."),
            io.Conditioning.Input("negative", tooltip="Negative prompt."),
            io.Vae.Input("audio_vae", tooltip="The LTX-2 audio VAE (Load Audio VAE (LTX-2)): encodes the source "
                                              "audio, kept as it is."),
            io.Video.Input("video", tooltip="The source clip (e.g. Load Video); its audio is kept when it has one.")]


def _frames_input() -> io.Int.Input:
    return io.Int.Input("frames", default=0, min=0, max=100000, step=1,
                        tooltip="Use the first N frames of the source (1 + 8k); 0 = all of it (must then be 1 + 8k).")


def _outputs() -> list[io.Output]:
    return [io.Conditioning.Output(display_name="positive", tooltip="Positive prompt with the source audio as "
                                                                    "reference."),
            io.Conditioning.Output(display_name="negative", tooltip="Negative prompt with the source audio as "
                                                                    "reference."),
            io.Latent.Output(display_name="latent", tooltip="The canvas to sample: video generated, source audio "
                                                            "frozen."),
            io.Image.Output(display_name="reference", tooltip="The source with a flat colour (#66FF00) under the "
                                                              "mask: the IC-LoRA reference."),
            io.Image.Output(display_name="source", tooltip="The source frames on the canvas (for Pyramid Blend)."),
            io.Mask.Output(display_name="mask", tooltip="What is regenerated (1), after dilation (for Pyramid "
                                                        "Blend).")]


def _check(node: str, *problems: str | None) -> bool | str:
    problem = next((p for p in problems if p), None)
    return f"{node}: {problem}" if problem else True


def _size_check(node: type, **values: int | None) -> bool | str:
    """``validate_inputs`` of a node with width / height (0 = the source's) and frames (0 = all) inputs."""
    if bad := not_a_number(**values):
        return bad
    width, height, frames = values["width"], values["height"], values["frames"]
    return _check(node.DISPLAY_NAME, size_problem(width or 0, height or 0, source_size=True),
                  frames_problem(frames) if frames else None, number_problem(node, **values))


def source_latent(positive: Any, negative: Any, audio_vae: Any, clip: Clip, geometry: ClipGeometry, *,
                  keep_audio: bool = True) -> tuple[Any, Any, dict]:
    """``(positive, negative, latent)`` of a clip's canvas: the video empty (generated whole) and, with
    ``keep_audio`` and source audio, the audio encoded, frozen (noise mask 0) and set as both prompts' reference
    audio tokens; otherwise the audio is generated."""
    comfy.model_management.throw_exception_if_processing_interrupted()
    if clip.waveform is None or not keep_audio:
        return positive, negative, empty_av_latent(geometry, 1)
    audio = encode_audio(audio_vae, clip.waveform, clip.sample_rate, frames=geometry.frames, fps=clip.fps)
    audio = audio.float().cpu()
    positive, negative = with_reference_audio(positive, negative, audio)
    return positive, negative, frozen_audio_canvas(geometry, audio)


def _prepared(positive: Any, negative: Any, audio_vae: Any, clip: Clip, source: torch.Tensor,
              mask: torch.Tensor) -> io.NodeOutput:
    """Outputs of a prepare node for canvas frames ``source`` ``(F, H, W, 3)`` and a regenerate ``mask``
    ``(F, H, W)``."""
    frames, height, width = source.shape[:3]
    geometry = ClipGeometry(width, height, frames, clip.fps)
    positive, negative, latent = source_latent(positive, negative, audio_vae, clip, geometry)
    return io.NodeOutput(positive, negative, latent, flat_colour_composite(source, mask), source, mask)


class LTX2NInpaintPrepare(io.ComfyNode):
    """Prepare an inpaint: dilated mask, flat-colour reference, canvas latent with the source audio kept."""

    DISPLAY_NAME = "Inpaint Prepare (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Inpainting with the in/outpainting IC-LoRA: the mask (white = regenerate) is grown, the "
                        "source is covered with a flat colour there (the IC-LoRA reference) and the source audio "
                        "is kept (frozen, and given to the prompts as reference audio). Connect 'reference' to "
                        "IC-LoRA Reference Guide, 'latent' to the guide and the sampler, and 'source' + 'mask' to "
                        "Pyramid Blend after decoding.",
            inputs=[*_prompt_inputs(),
                    io.Mask.Input("mask", tooltip="Black/white mask video (white = regenerate) with the source's size "
                                                  "and frame count, or one frame for all (e.g. Image To Mask)."),
                    io.Int.Input("width", default=0, min=0, max=8192, step=32,
                                 tooltip="Working width (multiple of 32); 0 = the source's (must then be one)."),
                    io.Int.Input("height", default=0, min=0, max=8192, step=32,
                                 tooltip="Working height (multiple of 32); 0 = the source's (must then be one)."),
                    _frames_input(),
                    io.Int.Input("spatial_radius", default=5, min=0, max=300,
                                 tooltip="Grow the mask by this many pixels (official workflow: 5)."),
                    io.Int.Input("temporal_radius", default=0, min=0, max=10,
                                 tooltip="Grow the mask by this many frames before and after.")],
            outputs=_outputs(),
        )

    @classmethod
    def validate_inputs(cls, width: int | None = None, height: int | None = None,
                        frames: int | None = None) -> bool | str:
        return _size_check(cls, width=width, height=height, frames=frames)

    @classmethod
    def execute(cls, positive: Any, negative: Any, audio_vae: Any, video: Any, mask: torch.Tensor, width: int,
                height: int, frames: int, spatial_radius: int, temporal_radius: int) -> io.NodeOutput:
        raw = clip_from_video(video)
        mask = as_mask(mask).cpu()
        problem = mask_problem(tuple(mask.shape), tuple(raw.images.shape), "mask input")
        if problem:
            raise ValueError(f"{cls.DISPLAY_NAME}: {problem}")
        clip = conform_clip(raw, width=width, height=height, frames=frames)
        count, size = clip.frames, clip.images.shape[1:3]
        mask = mask.expand(raw.frames, -1, -1)[:count]
        mask = conform_images(mask[..., None].expand(-1, -1, -1, 3), height=size[0], width=size[1]).mean(-1)
        grown = dilate_mask(mask, spatial_radius, temporal_radius)
        return _prepared(positive, negative, audio_vae, clip, clip.images, grown)


class LTX2NOutpaintPrepare(io.ComfyNode):
    """Prepare an outpaint: canvas on the grid, the whole source placed (never cropped), flat colour on the new
    area."""

    DISPLAY_NAME = "Outpaint Prepare (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Outpainting with the in/outpainting IC-LoRA: the left / right / top / bottom borders "
                        "(rounded to the 32-pixel grid) are generated around the source, which is kept whole, never "
                        "cropped: on a width x height canvas it is scaled (aspect kept) to fit what the borders "
                        "leave; with width / height 0 the canvas is the source plus its borders and the source "
                        "keeps its pixels. Whatever the fitted source leaves of its region is generated too. The "
                        "source audio is kept. Connect like Inpaint Prepare.",
            inputs=[*_prompt_inputs(),
                    io.Int.Input("width", default=0, min=0, max=8192, step=32,
                                 tooltip="Canvas (output) width, a multiple of 32; 0 = the source's width plus "
                                         "left + right, rounded up to the grid."),
                    io.Int.Input("height", default=0, min=0, max=8192, step=32,
                                 tooltip="Canvas (output) height, a multiple of 32; 0 = the source's height plus "
                                         "top + bottom, rounded up to the grid."),
                    _frames_input(),
                    *(io.Int.Input(side, default=default, min=0, max=8192, step=32,
                                   tooltip=f"New area on the {side}, in pixels (rounded to a multiple of 32).")
                      for side, default in (("left", 128), ("right", 128), ("top", 32), ("bottom", 32)))],
            outputs=_outputs(),
        )

    @classmethod
    def validate_inputs(cls, width: int | None = None, height: int | None = None, frames: int | None = None,
                        left: int | None = None, right: int | None = None, top: int | None = None,
                        bottom: int | None = None) -> bool | str:
        values = {"width": width, "height": height, "frames": frames, "left": left, "right": right, "top": top,
                  "bottom": bottom}
        if bad := not_a_number(**values):
            return bad
        canvas = None if None in values.values() else outpaint_problem(width, height, left=left, right=right,
                                                                       top=top, bottom=bottom)
        return _check(cls.DISPLAY_NAME, canvas, frames_problem(frames) if frames else None,
                      number_problem(cls, **values))

    @classmethod
    def execute(cls, positive: Any, negative: Any, audio_vae: Any, video: Any, width: int, height: int, frames: int,
                left: int, right: int, top: int, bottom: int) -> io.NodeOutput:
        try:
            clip = conform_clip(clip_from_video(video), width=0, height=0, frames=frames)
            canvas, placed = outpaint_source(clip.images.float(), width=width, height=height, left=left,
                                             right=right, top=top, bottom=bottom)
        except ValueError as exc:
            raise ValueError(f"{cls.DISPLAY_NAME}: {exc}") from exc
        return _prepared(positive, negative, audio_vae, clip, placed, canvas.mask(clip.frames))


AUDIO_CHOICES = ("keep", "regenerate")


class LTX2NVideoToVideoPrepare(io.ComfyNode):
    """Prepare a video-to-video IC-LoRA run: the source as the reference, its audio kept or regenerated."""

    DISPLAY_NAME = "Video to Video Prepare (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Video to video with an IC-LoRA (restyle, deblur / add detail, day to night, ...): the "
                        "source, resized to width x height, is the IC-LoRA reference and the clip is generated at "
                        "that size. audio 'keep': the source audio stays (frozen, and given to the prompts as "
                        "reference audio); 'regenerate': new audio is generated.",
            inputs=[*_prompt_inputs(),
                    io.Int.Input("width", default=0, min=0, max=8192, step=32,
                                 tooltip="Output width (multiple of 32); 0 = the source's (must then be one)."),
                    io.Int.Input("height", default=0, min=0, max=8192, step=32,
                                 tooltip="Output height (multiple of 32); 0 = the source's (must then be one)."),
                    _frames_input(),
                    io.Combo.Input("audio", options=list(AUDIO_CHOICES), default=AUDIO_CHOICES[0],
                                   tooltip="keep: the source audio unchanged; regenerate: new audio for the clip.")],
            outputs=[*_outputs()[:3],
                     io.Image.Output(display_name="reference", tooltip="The resized source: the IC-LoRA reference.")],
        )

    @classmethod
    def validate_inputs(cls, width: int | None = None, height: int | None = None,
                        frames: int | None = None) -> bool | str:
        return _size_check(cls, width=width, height=height, frames=frames)

    @classmethod
    def execute(cls, positive: Any, negative: Any, audio_vae: Any, video: Any, width: int, height: int, frames: int,
                audio: str) -> io.NodeOutput:
        clip = conform_clip(clip_from_video(video), width=width, height=height, frames=frames)
        count, rows, cols = clip.images.shape[:3]
        geometry = ClipGeometry(int(cols), int(rows), int(count), clip.fps)
        outputs = source_latent(positive, negative, audio_vae, clip, geometry, keep_audio=audio == AUDIO_CHOICES[0])
        return io.NodeOutput(*outputs, clip.images)


class LTX2NPyramidBlend(io.ComfyNode):
    """Blend generated frames back into the source (Laplacian pyramid; the source exactly outside the blend)."""

    DISPLAY_NAME = "Pyramid Blend (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Blends the generated frames into the source with a Laplacian pyramid under the mask "
                        "(grown softly by blend_radius at a long side of 64 pixels). Where that blend mask is 0 the "
                        "output is the source, bit for bit.",
            inputs=[io.Image.Input("generated", tooltip="The decoded result (same size as the source)."),
                    io.Image.Input("source", tooltip="The source frames (from the prepare node)."),
                    io.Mask.Input("mask", tooltip="What was regenerated (from the prepare node)."),
                    io.Int.Input("blend_radius", default=5, min=0, max=15,
                                 tooltip="Soft growth of the blend mask (official workflows: 5 inpaint, 2 "
                                         "outpaint); larger hides seams, smaller keeps more of the source.")],
            outputs=[io.Image.Output(display_name="image", tooltip="The blended frames.")],
        )

    @classmethod
    def execute(cls, generated: torch.Tensor, source: torch.Tensor, mask: torch.Tensor,
                blend_radius: int) -> io.NodeOutput:
        mask = as_mask(mask).cpu()
        frames = min(generated.shape[0], source.shape[0])
        if tuple(generated.shape[1:3]) != tuple(source.shape[1:3]) or mask.shape[0] not in (1, source.shape[0]):
            raise ValueError(f"{cls.DISPLAY_NAME}: generated {tuple(generated.shape[:3])}, source "
                             f"{tuple(source.shape[:3])} and mask {tuple(mask.shape)} must share their size (and "
                             f"the mask the source's frame count)")
        weights = soften_mask(mask.expand(source.shape[0], -1, -1)[:frames], blend_radius)
        bar, parts = comfy.utils.ProgressBar(frames), []
        for start in range(0, frames, CHUNK_FRAMES):
            comfy.model_management.throw_exception_if_processing_interrupted()
            part = slice(start, min(frames, start + CHUNK_FRAMES))
            parts.append(pyramid_blend(generated[part, ..., :3].float().cpu(), source[part, ..., :3].float().cpu(),
                                       weights[part]))
            bar.update(part.stop - part.start)
        return io.NodeOutput(torch.cat(parts))
