"""Camera-control LoRAs and a LoRA stack with separate video and audio strengths.

Lightricks released camera-control LoRAs for LTX-2 (19B) only: plain LoRAs (no extra conditioning) named
``ltx-2-19b-lora-camera-control-<preset>.safetensors``. The camera loader lists the presets found in models/loras
(any subfolder; all official names when none is there, so a shared workflow still opens and says what to
download) and refuses a camera LoRA whose family differs from the model's (e.g. the 19B files on LTX-2.3) with a
clear error. The stack applies up to three LoRAs, each with one strength for video-stream parameters and one for
audio-stream parameters (``lora.split_by_stream``: audio self/cross attention, audio feed-forward, the
video->audio cross attention and the audio AdaLN / projections take the audio strength).

Node ids (inputs -> outputs):

* ``LTX2NCameraLoraLoader`` (model, camera_lora, strength) -> model
* ``LTX2NLoraStack`` (model, lora_1, video_strength_1, audio_strength_1, ... x3) -> model
"""

from __future__ import annotations

import os
from typing import Any

from comfy_api.latest import io

from ..ltx_model.loading import Family
from .lora import FOLDER, checked_family, lora_family, lora_patches, lora_problem, split_by_stream
from .model_folders import model_files, model_path
from .schema import make_schema, not_listed, number_problem

CAMERA_PRESETS = ("dolly-in", "dolly-out", "dolly-left", "dolly-right", "jib-up", "jib-down", "static")
CAMERA_FAMILY = Family.LTX2_19B
NONE = "None"
STACK_SLOTS = 3
DOWNLOAD = "huggingface.co/Lightricks (the LTX-2 camera-control LoRA repositories)"


def preset_file(preset: str) -> str:
    """Official file name of a camera preset, e.g. ``ltx-2-19b-lora-camera-control-dolly-in.safetensors``."""
    return f"ltx-2-19b-lora-camera-control-{preset}.safetensors"


def camera_options() -> list[str]:
    """Camera LoRA files present in models/loras in preset order; all official names when none is present."""
    official = [preset_file(p) for p in CAMERA_PRESETS]
    present = model_files(FOLDER)
    found = [name for file in official for name in present if os.path.basename(name) == file]
    return found or official


def camera_problem(name: str) -> str | None:
    """Why ``name`` cannot be loaded as a camera LoRA (missing file, not a LoRA), or None."""
    if name not in model_files(FOLDER):
        return f"{name} is not in models/loras: download it from {DOWNLOAD}"
    return lora_problem(model_path(FOLDER, name))


def camera_family_problem(path: str, family: Family) -> str | None:
    """A clear incompatibility message when a camera LoRA targets another family than the model's."""
    target, evidence = lora_family(path)
    target = target or CAMERA_FAMILY  # Lightricks' camera LoRAs exist for LTX-2 (19B) only
    if target is family:
        return None
    return (f"{os.path.basename(path)} is a camera-control LoRA for {target.value} ({evidence}), but the model is "
            f"{family.value}: LoRAs do not transfer between LTX-2 model versions. Use it with an LTX-2 (19B) "
            f"checkpoint, or leave the camera LoRA out (describe the camera move in the prompt instead).")


def apply_per_stream(model: Any, path: str, video_strength: float, audio_strength: float) -> Any:
    """A clone of ``model`` with the LoRA's video-stream patches at ``video_strength`` and audio-stream patches at
    ``audio_strength`` (layers that do not fit the model raise)."""
    video, audio = split_by_stream(lora_patches(model, path))
    patched = model.clone()
    for patches, strength in ((video, video_strength), (audio, audio_strength)):
        if patches and strength != 0:
            patched.add_patches(patches, strength)
    return patched


class LTX2NCameraLoraLoader(io.ComfyNode):
    """Apply one of Lightricks' camera-control LoRAs (dolly, jib, static)."""

    DISPLAY_NAME = "Load Camera LoRA (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="loaders",
            description="Camera motion presets for LTX-2 (19B): dolly in/out/left/right, jib up/down, static. "
                        "Lists the preset files found in models/loras. These LoRAs exist for LTX-2 19B only; on "
                        "an LTX-2.3 model they are refused with a clear error.",
            inputs=[io.Model.Input("model", tooltip="An LTX-2 (19B) model from Load LTX-2 Model."),
                    io.Combo.Input("camera_lora", options=camera_options(),
                                   tooltip="Camera preset file (ltx-2-19b-lora-camera-control-<preset>)."),
                    io.Float.Input("strength", default=1.0, min=-10.0, max=10.0, step=0.01,
                                   tooltip="LoRA strength (Lightricks recommend 1.0).")],
            outputs=[io.Model.Output(display_name="model", tooltip="The model with the camera LoRA.")],
        )

    @classmethod
    def validate_inputs(cls, camera_lora: str | None = None) -> bool | str:
        return True if camera_lora is None else camera_problem(camera_lora) or True

    @classmethod
    def execute(cls, model: Any, camera_lora: str, strength: float) -> io.NodeOutput:
        family = checked_family(model, "Load Camera LoRA (LTX-2)")
        problem = camera_problem(camera_lora)
        path = model_path(FOLDER, camera_lora) if problem is None else None
        problem = problem or camera_family_problem(path, family)
        if problem:
            raise ValueError(problem)
        return io.NodeOutput(apply_per_stream(model, path, strength, strength))


def _slot_inputs(index: int) -> list[io.Input]:
    strength = dict(default=1.0, min=-10.0, max=10.0, step=0.01)
    return [io.Combo.Input(f"lora_{index}", options=[NONE, *model_files(FOLDER)], default=NONE,
                           tooltip=f"LoRA {index} in models/loras (None = empty slot)."),
            io.Float.Input(f"video_strength_{index}", **strength,
                           tooltip=f"Strength of LoRA {index} on video-stream layers."),
            io.Float.Input(f"audio_strength_{index}", **strength,
                           tooltip=f"Strength of LoRA {index} on audio-stream layers (audio attention, audio "
                                   f"feed-forward, video->audio cross attention).")]


class LTX2NLoraStack(io.ComfyNode):
    """Up to three LoRAs, each with separate video and audio strengths."""

    DISPLAY_NAME = "LoRA Stack, Video/Audio (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="loaders",
            description="Applies up to three LTX-2 LoRAs in order. Each has a strength for the video stream and "
                        "one for the audio stream (e.g. keep a camera or style LoRA off the audio: audio strength "
                        "0). Every LoRA is checked against the model's family and layer shapes.",
            inputs=[io.Model.Input("model", tooltip="Model from Load LTX-2 Model."),
                    *(i for n in range(1, STACK_SLOTS + 1) for i in _slot_inputs(n))],
            outputs=[io.Model.Output(display_name="model", tooltip="The model with the LoRAs applied.")],
        )

    @classmethod
    def validate_inputs(cls, **slots: Any) -> bool | str:
        # accepting **slots makes ComfyUI skip its own checks for EVERY input: the strengths' ranges are checked here
        strengths = {f"{s}_strength_{n}": slots.get(f"{s}_strength_{n}") for n in range(1, STACK_SLOTS + 1)
                     for s in ("video", "audio")}
        bad = number_problem(cls, **strengths)
        if bad:
            return bad
        for n in range(1, STACK_SLOTS + 1):
            name = slots.get(f"lora_{n}")
            if name not in (None, NONE):
                problem = not_listed(f"lora_{n}", name, model_files(FOLDER), f"models/{FOLDER}") or lora_problem(
                    model_path(FOLDER, name))
                if problem:
                    return problem
        return True

    @classmethod
    def execute(cls, model: Any, **slots: Any) -> io.NodeOutput:
        family = checked_family(model, "LoRA Stack (LTX-2)")
        chosen = [(n, slots[f"lora_{n}"]) for n in range(1, STACK_SLOTS + 1) if slots[f"lora_{n}"] != NONE]
        paths = [model_path(FOLDER, name) for _, name in chosen]
        problem = next((p for p in (lora_problem(path, family) for path in paths) if p), None)
        if problem:
            raise ValueError(problem)
        for (n, _), path in zip(chosen, paths, strict=True):
            model = apply_per_stream(model, path, slots[f"video_strength_{n}"], slots[f"audio_strength_{n}"])
        return io.NodeOutput(model)
