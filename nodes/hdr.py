"""HDR IC-LoRA nodes: EXR sequences in and out and the HDR decode (scene-linear float IMAGE, never clipped).

The colour rules are ``ltx_model.modes.hdr`` (LogC3 / ACEScct curves, Rec.709 <-> ACEScg primaries, the EXR colour
spaces); the EXR files ``ltx_model.exr`` (OpenEXR package, imported when first needed). ComfyUI's IMAGE is a float
tensor, so linear light above 1.0 passes between these nodes unchanged.

Node ids (inputs -> outputs):

* ``LTX2NLoadEXRSequence`` (folder, colour_space, transfer, frame_start, frame_cap, fps) -> images (the files'
  values, ``(F, H, W, 3)`` float32), reference (working codes in [0, 1] for IC-LoRA Reference Guide), fps, frames
* ``LTX2NHDRPrepare`` (images, reference_downscale_factor, width, height, frames, high_quality) -> latent (VIDEO-ONLY
  stage-1 latent at half the 64-aligned size), reference_stage1, reference_stage2 (the reference reflect-padded to
  each stage's size / factor), width, height, high_quality (for HDR Decode)
* ``LTX2NHDRDecode`` (images, transfer, colour_space, exposure, width?, height?, high_quality?) -> linear
  (scene-linear float, cropped back, every other frame in high quality), preview (SDR)
* ``LTX2NSaveEXRSequence`` (images, filename_prefix, colour_space, precision) -> output node:
  ``output/<prefix>_NNNNN_/frame_00000.exr`` ...
"""

from __future__ import annotations

from pathlib import Path

import comfy.model_management
import folder_paths
import torch
from comfy_api.latest import io

from ..ltx_model.exr import ExrError, exr_frames, read_exr_sequence, write_exr_sequence
from ..ltx_model.modes import GenerationError, floor_frame_count
from ..ltx_model.modes.hdr import (
    CHROMATICITIES,
    COLOUR_SPACES,
    DEFAULT_TRANSFER,
    REC709,
    TRANSFERS,
    exr_from_working,
    exr_to_working,
    find_colour_space,
    hq_keep,
    plan_hdr,
    sdr_to_working,
    stage_reference_frames,
    to_linear,
    tonemap_preview,
)
from .progress import HostProgress
from .schema import make_schema

LOAD_NAME = "Load EXR Sequence (LTX-2)"
DECODE_NAME = "HDR Decode (LTX-2)"
PREPARE_NAME = "HDR Prepare (LTX-2)"
SAVE_NAME = "Save EXR Sequence (LTX-2)"
SPACE_TIP = ("srgb_linear: scene-linear Rec.709 / sRGB primaries; acescg: scene-linear ACES AP1; acescct: ACEScct "
             "log codes (AP1).")
TRANSFER_TIP = ("The working-space curve of the model's signal: logc3 (ARRI LogC3, what the HDR IC-LoRA was trained "
                "on) or acescct.")


def sequence_folder(folder: str) -> Path:
    """``folder`` as given when absolute, else below ComfyUI's input directory."""
    path = Path(folder.strip()).expanduser()
    return path if path.is_absolute() else Path(folder_paths.get_input_directory()) / path


class LTX2NLoadEXRSequence(io.ComfyNode):
    """Load a folder of EXR frames as an unclipped float IMAGE, plus the IC-LoRA reference in working codes."""

    DISPLAY_NAME = LOAD_NAME

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Loads a folder of EXR frames (sorted by name) as a float IMAGE with the files' values "
                        "(highlights above 1.0 kept), and the same frames converted to the model's working codes "
                        "(in [0, 1]) for IC-LoRA Reference Guide. Each frame needs R, G, B (alpha is dropped) or "
                        "one grey channel. Needs the OpenEXR package.",
            inputs=[io.String.Input("folder", default="exr_sequence",
                                    tooltip="A folder of *.exr frames: a path below ComfyUI's input folder, or an "
                                            "absolute path."),
                    io.Combo.Input("colour_space", options=list(COLOUR_SPACES), default="srgb_linear",
                                   tooltip="What the files hold. " + SPACE_TIP),
                    io.Combo.Input("transfer", options=list(TRANSFERS), default=DEFAULT_TRANSFER,
                                   tooltip=TRANSFER_TIP + " Used for the reference output only."),
                    io.Int.Input("frame_start", default=0, min=0, max=1000000,
                                 tooltip="Skip this many frames (by sorted name) first."),
                    io.Int.Input("frame_cap", default=0, min=0, max=1000000,
                                 tooltip="Load at most this many frames; 0 = all."),
                    io.Float.Input("fps", default=24.0, min=1.0, max=240.0, step=0.001,
                                   tooltip="Frame rate of the sequence (EXR files carry none); passed through.")],
            outputs=[io.Image.Output(display_name="images", tooltip="The files' values, float32, not clipped."),
                     io.Image.Output(display_name="reference",
                                     tooltip="The frames as working codes in [0, 1]: the IC-LoRA reference."),
                     io.Float.Output(display_name="fps", tooltip="The fps input, passed through."),
                     io.Int.Output(display_name="frames", tooltip="How many frames were loaded.")],
        )

    @classmethod
    def validate_inputs(cls, folder: str | None = None) -> bool | str:
        if isinstance(folder, str) and not sequence_folder(folder).is_dir():
            return (f"{LOAD_NAME}: folder {sequence_folder(folder)} does not exist; put the *.exr frames in a "
                    f"folder below ComfyUI's input folder or give an absolute path")
        return True

    @classmethod
    def fingerprint_inputs(cls, folder: str, **_: object) -> object:
        """The frames' names, sizes and modification times: edited or added frames load again."""
        root = sequence_folder(folder)
        if not root.is_dir():
            return folder
        return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.glob("*.[eE][xX][rR]")))

    @classmethod
    def execute(cls, folder: str, colour_space: str, transfer: str, frame_start: int, frame_cap: int,
                fps: float) -> io.NodeOutput:
        progress = HostProgress()
        try:
            space, curve = COLOUR_SPACES[colour_space], TRANSFERS[transfer]
            paths = exr_frames(sequence_folder(folder), start=frame_start, cap=frame_cap)
            images = read_exr_sequence(paths, progress)
        except (ExrError, KeyError) as exc:
            raise ValueError(f"{LOAD_NAME}: folder input: {exc}") from exc
        reference = exr_to_working(images, space, curve)
        return io.NodeOutput(images, reference, float(fps), int(images.shape[0]))


class LTX2NHDRPrepare(io.ComfyNode):
    """Sizes, the video-only stage-1 latent and both stages' IC-LoRA references of an HDR IC-LoRA run."""

    DISPLAY_NAME = PREPARE_NAME

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Prepares a two-stage HDR IC-LoRA run as Lightricks' pipeline: the generation size is the "
                        "output size rounded up to multiples of 64 (cropped back by HDR Decode); a VIDEO-ONLY latent "
                        "(no audio) at half that size for stage 1; the reference fitted to each stage's size / the "
                        "LoRA's factor by shrinking and reflection padding (never cropped). High quality: 2N - 1 "
                        "frames from the first N input frames each shown twice; HDR Decode keeps every other one.",
            inputs=[io.Image.Input("images", tooltip="The input: an SDR video's frames (Get Video Components), or "
                                                     "Load EXR Sequence's reference output (working codes)."),
                    io.Int.Input("reference_downscale_factor", default=1, min=1, max=8,
                                 tooltip="Connect Load IC-LoRA's factor (from the HDR LoRA's metadata)."),
                    io.Int.Input("width", default=0, min=0, max=8192,
                                 tooltip="Output width in pixels (any); 0 = the input's."),
                    io.Int.Input("height", default=0, min=0, max=8192,
                                 tooltip="Output height in pixels (any); 0 = the input's."),
                    io.Int.Input("frames", default=0, min=0, max=8193,
                                 tooltip="Output frames, 1 + 8k; 0 = the input's first 1 + 8k."),
                    io.Boolean.Input("high_quality", default=False,
                                     tooltip="Lightricks' high-quality HDR: generate 2N - 1 frames from each input "
                                             "frame shown twice, keep every other (fewer temporal artefacts, about "
                                             "2x the time).")],
            outputs=[io.Latent.Output(display_name="latent",
                                      tooltip="Video-only stage-1 latent (half the 64-aligned size)."),
                     io.Image.Output(display_name="reference_stage1",
                                     tooltip="The reference for stage 1's IC-LoRA Reference Guide."),
                     io.Image.Output(display_name="reference_stage2",
                                     tooltip="The reference for stage 2's IC-LoRA Reference Guide."),
                     io.Int.Output(display_name="width", tooltip="Output width: connect to HDR Decode."),
                     io.Int.Output(display_name="height", tooltip="Output height: connect to HDR Decode."),
                     io.Boolean.Output(display_name="high_quality", tooltip="Connect to HDR Decode.")],
        )

    @classmethod
    def execute(cls, images: torch.Tensor, reference_downscale_factor: int, width: int, height: int, frames: int,
                high_quality: bool) -> io.NodeOutput:
        if images.dim() != 4 or images.shape[-1] < 3:
            raise ValueError(f"{PREPARE_NAME}: images must be (frames, height, width, 3), got {tuple(images.shape)}")
        width, height = width or int(images.shape[2]), height or int(images.shape[1])
        frames = frames or floor_frame_count(int(images.shape[0]))
        try:
            plan = plan_hdr(width, height, frames, high_quality=high_quality)
            codes = sdr_to_working(images[:plan.frames, ..., :3].cpu())  # both stages use the first N frames only
            stage1, stage2 = (stage_reference_frames(codes, plan, reference_downscale_factor, stage).clamp(0.0, 1.0)
                              for stage in (1, 2))
        except GenerationError as exc:
            raise ValueError(f"{PREPARE_NAME}: {exc} (set width / height / frames, or the LoRA's factor)") from exc
        comfy.model_management.throw_exception_if_processing_interrupted()
        device = comfy.model_management.intermediate_device()
        latent = {"samples": torch.zeros(plan.stage1_latent_shape(1), device=device)}
        return io.NodeOutput(latent, stage1, stage2, plan.width, plan.height, plan.high_quality)


class LTX2NHDRDecode(io.ComfyNode):
    """Decoded frames of an HDR IC-LoRA run (working codes) -> scene-linear float light, and an SDR preview."""

    DISPLAY_NAME = DECODE_NAME

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Turns the decoded frames of an HDR IC-LoRA run (LogC3 working codes in [0, 1]) into "
                        "scene-linear light: a float IMAGE whose highlights go above 1.0 (up to about 55 for "
                        "LogC3), for Save EXR Sequence (LTX-2). Also a tonemapped SDR preview (Reinhard + sRGB). "
                        "Connect HDR Prepare's width, height and high_quality to crop the 64-aligned frames back and "
                        "keep every other frame of a high-quality run.",
            inputs=[io.Image.Input("images", tooltip="Decoded frames (Decode Video) of the HDR IC-LoRA run."),
                    io.Combo.Input("transfer", options=list(TRANSFERS), default=DEFAULT_TRANSFER,
                                   tooltip=TRANSFER_TIP),
                    io.Combo.Input("colour_space", options=list(COLOUR_SPACES), default="srgb_linear",
                                   tooltip="The linear output's colour space (set Save EXR's to the same). "
                                           + SPACE_TIP),
                    io.Float.Input("exposure", default=0.0, min=-10.0, max=10.0, step=0.1,
                                   tooltip="Preview only: exposure in stops before tonemapping. The linear "
                                           "output is not changed."),
                    io.Int.Input("width", default=0, min=0, max=8192, optional=True,
                                 tooltip="Crop the frames to this width (HDR Prepare's width); 0 = no crop."),
                    io.Int.Input("height", default=0, min=0, max=8192, optional=True,
                                 tooltip="Crop the frames to this height (HDR Prepare's height); 0 = no crop."),
                    io.Boolean.Input("high_quality", default=False, optional=True,
                                     tooltip="Keep every other frame (HDR Prepare's high_quality).")],
            outputs=[io.Image.Output(display_name="linear",
                                     tooltip="Scene-linear float frames (not clipped) in colour_space."),
                     io.Image.Output(display_name="preview", tooltip="SDR preview in [0, 1] (Rec.709 / sRGB).")],
        )

    @classmethod
    def execute(cls, images: torch.Tensor, transfer: str, colour_space: str, exposure: float, width: int = 0,
                height: int = 0, high_quality: bool = False) -> io.NodeOutput:
        progress = HostProgress()
        images = images[:, :height or None, :width or None]
        images = hq_keep(images) if high_quality else images
        try:
            curve, space = TRANSFERS[transfer], COLOUR_SPACES[colour_space]
        except KeyError as exc:
            raise ValueError(f"{DECODE_NAME}: unknown choice {exc}: transfer {list(TRANSFERS)}, colour_space "
                             f"{list(COLOUR_SPACES)}") from exc
        linear, preview = [], []
        for i, frame in enumerate(images.float()):
            linear.append(exr_from_working(frame, space, curve).cpu())
            preview.append(tonemap_preview(to_linear(frame, curve, REC709), exposure).cpu())
            progress(i + 1, images.shape[0])
        return io.NodeOutput(torch.stack(linear), torch.stack(preview))


class LTX2NSaveEXRSequence(io.ComfyNode):
    """Write frames as an EXR sequence below ComfyUI's output folder (half or float, ZIP, colour tags)."""

    DISPLAY_NAME = SAVE_NAME

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Writes the frames, unclipped, as output/<prefix>_NNNNN_/frame_00000.exr ... (ZIP "
                        "compressed, with chromaticities and colorSpace attributes). Half precision keeps about 3 "
                        "significant digits up to 65504; float keeps the values exactly. Needs the OpenEXR package.",
            inputs=[io.Image.Input("images", tooltip="Float frames, e.g. HDR Decode's linear output."),
                    io.String.Input("filename_prefix", default="LTX-2/hdr",
                                    tooltip="Folder name (and optional sub-folders) below ComfyUI's output folder; "
                                            "a counter is appended."),
                    io.Combo.Input("colour_space", options=list(COLOUR_SPACES), default="srgb_linear",
                                   tooltip="Tags written in the files (what the values are). " + SPACE_TIP),
                    io.Combo.Input("precision", options=["half", "float"], default="half",
                                   tooltip="half: 16-bit float (the usual for EXR); float: 32-bit.")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, images: torch.Tensor, filename_prefix: str, colour_space: str,
                precision: str) -> io.NodeOutput:
        try:
            space = find_colour_space(colour_space)
            if images.dim() != 4 or images.shape[-1] != 3:
                raise ExrError(f"images must be (frames, height, width, 3), got {tuple(images.shape)}")
            root = Path(folder_paths.get_output_directory())
            folder, name, counter, _, _ = folder_paths.get_save_image_path(filename_prefix, str(root))
            target = Path(folder) / f"{name}_{counter:05}_"
            write_exr_sequence(target, images, half=precision != "float",
                               chromaticities=CHROMATICITIES[space.primaries], colour_space=space.tag,
                               progress=HostProgress())
        except (ExrError, GenerationError) as exc:
            raise ValueError(f"{SAVE_NAME}: {exc}") from exc
        shown = target.relative_to(root).as_posix()
        return io.NodeOutput(ui={"text": [f"saved {images.shape[0]} EXR frames to output/{shown}"]})
