"""IC-LoRA nodes: the loader (LoRA + its ``reference_downscale_factor`` metadata) and the reference-video guide.

An IC-LoRA is a LoRA trained to follow a reference video given as extra tokens (depth / canny / pose / motion
tracks / a low-resolution clip). The guide encodes the reference at the stage size divided by the LoRA's
``reference_downscale_factor`` (``ltx_model.pipelines.reference_conditionings``: cover-resize + center crop with a
note, frames trimmed to ``1 + 8k`` within the clip with a note) and stores the resulting ``ReferenceVideo`` items
in both prompts (``diffusion.REFERENCES_KEY``). The model appends their tokens on every call, with height/width
positions multiplied by the factor and the attention strength (scalar, or a mask) between generated and
reference tokens, and drops them from its output: the sampled latent never contains them, so nothing has to be
cropped after sampling. For a second stage use the prompts WITHOUT the reference and the model without the
IC-LoRA, as Lightricks' ICLoraPipeline does.

Node ids (inputs -> outputs):

* ``LTX2NICLoraLoader`` (model, lora_name, strength) -> model, reference_downscale_factor
* ``LTX2NICLoraGuide`` (positive, negative, vae, latent, reference, reference_downscale_factor, strength,
  attention_strength, attention_mask?) -> positive, negative (a VAE of another LTX generation than the latent's
  version tag is refused before the reference is encoded)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import comfy.model_management
import node_helpers
import torch
from comfy_api.latest import io

from ..ltx_model.loading import read_header
from ..ltx_model.lora import parse_reference_downscale_factor
from ..ltx_model.modes import conform_reference_mask, reference_frames, reference_size
from ..ltx_model.pipelines import ICReference, reference_conditionings
from .appended_tokens import VideoReferences
from .conditioning import AVParts, check_vae_family, cond_value, generated_geometry
from .diffusion import REFERENCES_KEY
from .lora import FOLDER, checked_family, lora_problem, validate_lora_choice, with_lora
from .model_folders import model_files, model_path
from .schema import make_schema

MAX_FACTOR = 8


def ic_lora_problem(path: str) -> str | None:
    """Why ``path`` cannot be used as an IC-LoRA (header only), or None."""
    problem = lora_problem(path)
    if problem:
        return problem
    try:
        parse_reference_downscale_factor(read_header(path).metadata)
    except ValueError as exc:
        return f"{os.path.basename(path)}: {exc}"
    return None


class _HostEncoder:
    """The two things ``ltx_model.pipelines.encode_frames`` uses of a video VAE, backed by a ComfyUI ``VAE`` (its
    memory management and dtype): ``parameters()`` (pixels are prepared in float32 on the CPU) and ``encode``."""

    def __init__(self, vae: Any) -> None:
        self._vae = vae

    def parameters(self) -> Iterator[torch.Tensor]:
        yield torch.empty(0)

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """``(1, 3, F, H, W)`` in [-1, 1] -> normalised latent ``(1, 128, 1 + (F-1)/8, H/32, W/32)``."""
        image = (pixels[0].permute(1, 2, 3, 0) + 1.0) / 2.0  # IMAGE (F, H, W, 3) in [0, 1]
        return self._vae.encode(image)


class LTX2NICLoraLoader(io.ComfyNode):
    """Apply an IC-LoRA and read its reference downscale factor from the file's metadata."""

    DISPLAY_NAME = "Load IC-LoRA (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="loaders",
            description="Applies an LTX-2 / LTX-2.3 IC-LoRA (union / depth / canny / pose control, motion tracks, "
                        "detailer, ...) to a copy of the model and outputs the reference downscale factor stored "
                        "in the file (ref0.5 LoRAs: 2; none stored: 1). Connect it to IC-LoRA Reference Guide.",
            inputs=[io.Model.Input("model", tooltip="Model from Load LTX-2 Model (usually the distilled one)."),
                    io.Combo.Input("lora_name", options=model_files(FOLDER), tooltip="IC-LoRA file in models/loras."),
                    io.Float.Input("strength", default=1.0, min=-10.0, max=10.0, step=0.01,
                                   tooltip="LoRA strength (Lightricks' workflows: 1.0).")],
            outputs=[io.Model.Output(display_name="model", tooltip="The model with the IC-LoRA applied."),
                     io.Int.Output(display_name="reference_downscale_factor",
                                   tooltip="From the file's metadata: the reference is encoded at size / factor.")],
        )

    @classmethod
    def validate_inputs(cls, lora_name: str | None = None) -> bool | str:
        return validate_lora_choice(lora_name, ic_lora_problem, cls.DISPLAY_NAME)

    @classmethod
    def execute(cls, model: Any, lora_name: str, strength: float) -> io.NodeOutput:
        family = checked_family(model, cls.DISPLAY_NAME)
        path = model_path(FOLDER, lora_name)
        problem = lora_problem(path, family) or ic_lora_problem(path)
        if problem:
            raise ValueError(f"{cls.DISPLAY_NAME}: {problem}")
        factor = parse_reference_downscale_factor(read_header(path).metadata)
        return io.NodeOutput(with_lora(model, path, strength), factor)


class LTX2NICLoraGuide(io.ComfyNode):
    """Guide generation with a reference video for an IC-LoRA (no guide cropping needed afterwards)."""

    DISPLAY_NAME = "IC-LoRA Reference Guide (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="conditioning",
            description="Adds a reference video (depth / canny / pose / motion tracks / low-res clip, as an IMAGE "
                        "batch or a single image) for an IC-LoRA to both prompts. It is encoded at the latent's "
                        "size divided by the IC-LoRA's reference downscale factor (another size is resized, with "
                        "a note in the log). The reference tokens never enter the latent: nothing to crop after "
                        "sampling. Use the model from Load IC-LoRA (LTX-2).",
            inputs=[io.Conditioning.Input("positive", tooltip="Positive prompt."),
                    io.Conditioning.Input("negative", tooltip="Negative prompt."),
                    io.Vae.Input("vae", tooltip="The LTX-2 video VAE."),
                    io.Latent.Input("latent", tooltip="The (audio+)video latent to sample; sets size and length."),
                    io.Image.Input("reference", tooltip="Reference frames (a control video or one image); "
                                                        "frames beyond the clip are dropped."),
                    io.Int.Input("reference_downscale_factor", default=1, min=1, max=MAX_FACTOR,
                                 tooltip="From Load IC-LoRA (LTX-2): the reference grid is the latent size / "
                                         "factor (ref0.5 LoRAs: 2)."),
                    io.Float.Input("strength", default=1.0, min=0.0, max=1.0, step=0.01,
                                   tooltip="1 = the reference is kept exactly as given (Lightricks' default)."),
                    io.Float.Input("attention_strength", default=1.0, min=0.0, max=1.0, step=0.01,
                                   tooltip="How strongly generated and reference tokens attend to each other."),
                    io.Mask.Input("attention_mask", optional=True,
                                  tooltip="Optional mask over the reference (1 = follow it there), multiplied "
                                          "by attention_strength.")],
            outputs=[io.Conditioning.Output(display_name="positive", tooltip="Positive prompt with the reference."),
                     io.Conditioning.Output(display_name="negative", tooltip="Negative prompt with the reference.")],
        )

    @classmethod
    def execute(cls, positive: Any, negative: Any, vae: Any, latent: dict, reference: torch.Tensor,
                reference_downscale_factor: int, strength: float, attention_strength: float,
                attention_mask: torch.Tensor | None = None) -> io.NodeOutput:
        check_vae_family(cls.DISPLAY_NAME, vae, latent=latent)  # the latent's version tag, when a node set one
        frames, height, width = generated_geometry(AVParts.of(latent), positive)
        factor = reference_downscale_factor
        ref_h, ref_w = reference_size(height, width, factor)
        pixels = reference[..., :3].float().cpu() * 255.0  # (F, H, W, 3) in [0, 255]
        used = reference_frames(pixels.shape[0], frames)
        mask = None if attention_mask is None else conform_reference_mask(
            attention_mask, frames=used, height=ref_h, width=ref_w)
        comfy.model_management.throw_exception_if_processing_interrupted()
        items, notes = reference_conditionings(
            _HostEncoder(vae), ICReference(pixels, strength, attention_strength, mask), height=height, width=width,
            num_frames=frames, downscale_factor=factor)
        for note in notes:
            logging.warning("LTX-2 Native: IC-LoRA reference: %s", note)
        references = VideoReferences(_existing(positive) + tuple(items))
        values = {REFERENCES_KEY: references}
        return io.NodeOutput(*(node_helpers.conditioning_set_values(c, values) for c in (positive, negative)))


def _existing(conditioning: Any) -> tuple:
    """Reference items already attached to a prompt (several guides chain; earlier ones come first)."""
    refs = cond_value(conditioning, REFERENCES_KEY)
    return () if refs is None else refs.items
