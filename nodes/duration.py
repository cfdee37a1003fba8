"""LTX-2 Predict Duration: the LTX-2.5 duration head's suggested clip length for an encoded prompt.

The head is the optional ``ltx-2.5-*duration-head*.safetensors`` file (``models/duration_head``, or core's
``models/model_patches``), loaded strictly by :func:`ltx_model.duration.load_duration_head`; the frame count comes
from :func:`ltx_model.duration.predict_frame_count` (clamped to ``[min_seconds, max_seconds]``, snapped to the
``1 + 8k`` frame rule), so it can feed the ``frames`` input of Empty Audio+Video Latent (LTX-2) directly.

Node id ``LTX2NPredictDuration`` (model, positive, duration_head, frame_rate, min_seconds, max_seconds)
-> (frames INT, seconds FLOAT).
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

import comfy.model_management
import torch
from comfy_api.latest import io

from ..ltx_model.duration import (
    DEFAULT_MAX_SECONDS,
    DEFAULT_MIN_SECONDS,
    DurationHead,
    has_duration_head,
    load_duration_head,
    predict_frame_count,
)
from ..ltx_model.loading import Family, read_header
from .model_folders import find_model_path, listed_files, model_path_in, register_model_folder
from .model_loader import model_facts
from .schema import make_schema, not_listed

NODE = "LTX-2 Predict Duration"
HEAD_FOLDERS = ("duration_head", "model_patches")
"""Where the head file is looked for: the pack's folder, then core's (``ModelPatchLoader``'s)."""
for _folder in HEAD_FOLDERS:
    register_model_folder(_folder)


def _listable(path: str) -> bool:
    """A file with ``duration_head.*`` tensors, or one whose header cannot be read (validation explains it)."""
    try:
        return has_duration_head(read_header(path).keys())
    except (ValueError, OSError):
        return True


def head_choices() -> list[str]:
    """The duration-head files of :data:`HEAD_FOLDERS` (other files hidden by their header)."""
    return listed_files(HEAD_FOLDERS, _listable)


@functools.lru_cache(maxsize=2)
def _load(path: str, _mtime_ns: int) -> DurationHead:
    return load_duration_head(path)  # float32 on the CPU: the head is a few MB


def load_head(name: str) -> DurationHead:
    """The head of file ``name`` (cached per file version)."""
    path = model_path_in(HEAD_FOLDERS, name)
    return _load(path, os.stat(path).st_mtime_ns)


def prompt_contexts(model: Any, positive: list) -> tuple[torch.Tensor, torch.Tensor]:
    """Video ``(1, S, Wv)`` and audio ``(1, S, Wa)`` text contexts (connector outputs, float32, CPU) of the first
    prompt of ``positive``; core-format (unprocessed) embeddings are run through the model's connectors first."""
    context, meta = positive[0][0][:1], positive[0][1]
    net = model.model.diffusion_model
    if meta.get("unprocessed_ltxav_embeds"):
        comfy.model_management.load_models_gpu([model])
        with torch.no_grad():
            context = net.process_text_embeds(context.to(device=model.load_device,
                                                         dtype=model.model.get_dtype_inference()))
    widths = tuple(net.context_widths())
    if context.shape[-1] != sum(widths):
        raise ValueError(f"{NODE}: the prompt's text context is {context.shape[-1]} wide, the model needs "
                         f"{sum(widths)} (video {widths[0]} + audio {widths[1]}): encode the prompt with the "
                         "text encoder of this model")
    video, audio = torch.split(context.float().cpu(), list(widths), dim=-1)
    return video, audio


def check_model(model: Any) -> None:
    """Only LTX-2.5 models have a duration head; anything else is refused with the fix."""
    facts = model_facts(model)
    if facts is None:
        raise ValueError(f"{NODE}: the model was not loaded by Load LTX-2 Model; load the LTX-2.5 transformer "
                         "with it")
    if facts.family is not Family.LTX25:
        raise ValueError(f"{NODE}: the duration head is an LTX-2.5 feature, but the model is {facts.family.value}; "
                         "load an LTX-2.5 transformer and its Gemma 4 text encoder, or set the frame count by hand")


def check_head(head: DurationHead, name: str, video: torch.Tensor, audio: torch.Tensor) -> None:
    """The head must read contexts of the widths the prompt has (an LTX-2.5 encoder's)."""
    want, got = (head.config.video_dim, head.config.audio_dim), (video.shape[-1], audio.shape[-1])
    if want != got:
        raise ValueError(f"{NODE}: {name} reads text contexts of widths video {want[0]} + audio {want[1]}, the "
                         f"prompt has {got[0]} + {got[1]}: use the LTX-2.5 text encoder (Gemma 4) and model, and "
                         "the duration head published with them")


# The seconds inputs' bounds; checked in validate_inputs too (a host skips its own range check for inputs that
# validate_inputs names).
SECONDS_RANGE = (0.05, 600.0)


class LTX2NPredictDuration(io.ComfyNode):
    """Suggested frame count (and seconds) for a prompt, from the LTX-2.5 duration head."""

    DISPLAY_NAME = "LTX-2 Predict Duration"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="conditioning",
            description="Predicts how long the shot a prompt describes should last (LTX-2.5's duration head) and "
                        "returns it as a frame count on the 1 + 8k grid, ready for the frames input of Empty "
                        "Audio+Video Latent (LTX-2). LTX-2.5 models only.",
            inputs=[
                io.Model.Input("model", tooltip="The LTX-2.5 model (its text connectors and family)."),
                io.Conditioning.Input("positive", tooltip="The encoded prompt (Text Encode (LTX-2) or core "
                                                          "CLIPTextEncode); the first prompt is used."),
                io.Combo.Input("duration_head", options=head_choices(),
                               tooltip="ltx-2.5-*duration-head*.safetensors in models/duration_head (or "
                                       "models/model_patches)."),
                io.Float.Input("frame_rate", default=24.0, min=1.0, max=240.0, step=0.01,
                               tooltip="Frame rate of the clip; the seconds become frames at this rate."),
                io.Float.Input("min_seconds", default=DEFAULT_MIN_SECONDS, min=SECONDS_RANGE[0],
                               max=SECONDS_RANGE[1], step=0.1,
                               tooltip="Shortest suggestion in seconds (Lightricks: 1)."),
                io.Float.Input("max_seconds", default=DEFAULT_MAX_SECONDS, min=SECONDS_RANGE[0],
                               max=SECONDS_RANGE[1], step=0.1,
                               tooltip="Longest suggestion in seconds (Lightricks: 20)."),
            ],
            outputs=[io.Int.Output(display_name="frames", tooltip="Suggested frame count (1 + 8k, clamped)."),
                     io.Float.Output(display_name="seconds", tooltip="The head's raw prediction in seconds "
                                                                     "(before clamping and snapping).")],
        )

    @classmethod
    def validate_inputs(cls, duration_head: str | None = None, min_seconds: float | None = None,
                        max_seconds: float | None = None) -> bool | str:
        for name, value in (("min_seconds", min_seconds), ("max_seconds", max_seconds)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                return f"{name} must be a number of seconds; got {value!r} ({type(value).__name__})"
            if value is not None and not SECONDS_RANGE[0] <= value <= SECONDS_RANGE[1]:
                return f"{name} must be between {SECONDS_RANGE[0]} and {SECONDS_RANGE[1]} seconds; got {value}"
        if None not in (min_seconds, max_seconds) and min_seconds > max_seconds:
            return f"min_seconds ({min_seconds}) must not exceed max_seconds ({max_seconds})"
        return not_listed("duration_head", duration_head, head_choices(), "models/duration_head") or True

    @classmethod
    def execute(cls, model: Any, positive: list, duration_head: str, frame_rate: float, min_seconds: float,
                max_seconds: float) -> io.NodeOutput:
        check_model(model)
        if find_model_path(HEAD_FOLDERS, duration_head) is None:
            raise FileNotFoundError(f"{NODE}: {duration_head!r} is not in models/duration_head or "
                                    "models/model_patches; put the duration-head file there")
        video, audio = prompt_contexts(model, positive)
        head = load_head(duration_head)
        check_head(head, duration_head, video, audio)
        comfy.model_management.throw_exception_if_processing_interrupted()
        frames, seconds = predict_frame_count(head, video, audio, fps=frame_rate, min_seconds=min_seconds,
                                              max_seconds=max_seconds)
        logging.info("LTX-2 Native: duration head predicted %.2f s -> %d frames at %.2f fps", seconds, frames,
                     frame_rate)
        return io.NodeOutput(frames, seconds)
