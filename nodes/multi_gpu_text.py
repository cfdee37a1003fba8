"""Text Encoder Device (LTX-2): run the Gemma text encoder on a chosen device, off the sampling GPU.

On a multi-GPU machine the 12B Gemma (24 GB in bf16) need not share a GPU with the transformer: this node returns
a copy of the text encoder (and of its CLIP) whose Gemma + projection + connectors ComfyUI loads on ``device`` for
each encode (and moves back to the offload device afterwards, as usual); the weights themselves are shared with the
input, nothing is reloaded. ``default`` keeps ComfyUI's text-encoder device; ``cpu`` encodes on the CPU (slow, but
leaves every GPU to the sampler). Device names follow the Multi-GPU node's rules (:func:`~.multi_gpu.check_device`).

Node id ``LTX2NTextEncoderDevice`` (text_encoder, device) -> (text_encoder, clip).
"""

from __future__ import annotations

import copy
from typing import Any

from comfy_api.latest import io

from .multi_gpu import check_device
from .schema import make_schema
from .text import TextEncoderType

NODE = "Text Encoder Device (LTX-2)"
DEFAULT = "default"


def on_device(encoder: Any, device: str) -> Any:
    """A copy of ``encoder`` (an ``LTX2N_TEXT_ENCODER``) loaded on ``device`` for each encode; the input is returned
    unchanged for ``default``. The copy shares the weights; its CLIP is a clone with the same load device."""
    if (device or DEFAULT).strip() == DEFAULT:
        return encoder
    target = check_device(device, NODE)
    placed = copy.copy(encoder)
    placed.clip = encoder.clip.clone()
    placed.clip.patcher.load_device = target
    placed.patcher = placed.clip.patcher
    return placed


class LTX2NTextEncoderDevice(io.ComfyNode):
    """Put the Gemma text encoder on a chosen device (e.g. a GPU the sampler does not use, or the CPU)."""

    DISPLAY_NAME = NODE

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="loaders",
            description="Runs the Gemma text encoder on a chosen device, so it need not sit on the sampling GPU "
                        "(e.g. with Multi-GPU (LTX-2): the workers on cuda:0,cuda:1, Gemma on cuda:2). The weights "
                        "are shared with the input; nothing is reloaded.",
            inputs=[TextEncoderType.Input("text_encoder", tooltip="From Gemma Text Encoder Loader (LTX-2)."),
                    io.String.Input("device", default=DEFAULT,
                                    tooltip="'default' (ComfyUI's text-encoder device), 'cpu', or a GPU such as "
                                            "cuda:2.")],
            outputs=[TextEncoderType.Output(display_name="text_encoder",
                                            tooltip="The text encoder, encoding on the chosen device."),
                     io.Clip.Output(display_name="clip", tooltip="The same encoder as a CLIP, for core nodes.")],
        )

    @classmethod
    def execute(cls, text_encoder: Any, device: str = DEFAULT) -> io.NodeOutput:
        placed = on_device(text_encoder, device)
        return io.NodeOutput(placed, placed.clip)
