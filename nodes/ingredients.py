"""Ingredients Reference: reference images -> the static reference video of the Ingredients IC-LoRA.

The rule (``ltx_model.modes.ingredients``): the pictures are laid out as a reference sheet on black (one panel per
picture, a grid; one picture fills the frame with black padding like the official template's ResizeAndPadImage)
at the latent's size, repeated to the latent's frame count (the official RepeatImageBatch). Connect the output to
IC-LoRA Reference Guide (LTX-2) as ``reference`` with the Ingredients IC-LoRA (reference downscale factor 1).

Node ids (inputs -> outputs):

* ``LTX2NIngredientsReference`` (latent, image_1, image_2?, image_3?, image_4?) -> reference (IMAGE
  ``(F, H, W, 3)`` in [0, 1])
"""

from __future__ import annotations

import comfy.model_management
import torch
from comfy_api.latest import io

from ..ltx_model.modes import GenerationError
from ..ltx_model.modes.ingredients import ingredients_video
from .conditioning import AVParts, generated_geometry
from .schema import make_schema

NAME = "Ingredients Reference (LTX-2)"
EXTRA_IMAGES = ("image_2", "image_3", "image_4")


class LTX2NIngredientsReference(io.ComfyNode):
    """Compose reference pictures into the Ingredients IC-LoRA's reference video."""

    DISPLAY_NAME = NAME

    @classmethod
    def define_schema(cls) -> io.Schema:
        extra = [io.Image.Input(name, optional=True,
                                tooltip="Another element (character / prop / location), its own panel; same "
                                        "channel count as image_1.") for name in EXTRA_IMAGES]
        return make_schema(
            cls, group="conditioning",
            description="Builds the reference video of the Ingredients IC-LoRA (ltx-2.3-22b-ic-lora-ingredients): "
                        "the pictures as a reference sheet on black (one panel per picture; one picture fills the "
                        "frame, padded) at the latent's size, repeated to its frame count. Connect it to IC-LoRA "
                        "Reference Guide (LTX-2) as reference.",
            inputs=[io.Latent.Input("latent", tooltip="The (audio+)video latent to sample: sets size and frames."),
                    io.Image.Input("image_1", tooltip="A reference sheet (clean panels on black, no text) or one "
                                                      "element; a batch gives one panel per picture."),
                    *extra],
            outputs=[io.Image.Output(display_name="reference",
                                     tooltip="The static reference video (F, H, W, 3) at the latent's size.")],
        )

    @classmethod
    def execute(cls, latent: dict, image_1: torch.Tensor, **extra: torch.Tensor | None) -> io.NodeOutput:
        frames, height, width = generated_geometry(AVParts.of(latent), [])
        given = [("image_1", image_1)] + [(n, extra[n]) for n in EXTRA_IMAGES if extra.get(n) is not None]
        comfy.model_management.throw_exception_if_processing_interrupted()
        try:
            video = ingredients_video([img.cpu() for _, img in given], frames=frames, height=height, width=width,
                                      names=[f"{n} input" for n, _ in given])
        except GenerationError as exc:
            raise ValueError(f"{NAME}: {exc}. Connect RGB pictures (Load Image) or convert them first.") from exc
        return io.NodeOutput(video.clamp(0.0, 1.0))

