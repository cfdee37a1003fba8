"""LoRA loader that checks the LoRA belongs to the model's family before patching a clone of the MODEL.

The LoRA is applied the way core applies LoRAs (``comfy.lora.load_lora`` patches, ``ModelPatcher.add_patches`` on
a clone): weights are patched at load time, or per forward for streamed (lowvram / Dynamic VRAM) layers. Unlike
core ``LoraLoaderModelOnly`` (which skips what it cannot map with a log line), a LoRA for another model family, or
with layers whose shapes do not fit, is refused with a clear error; layers of other parts of the checkpoint (text
projection) are skipped with a warning.

The family of a LoRA comes from its header (``model_version`` metadata, family-only modules, real-size shapes), then
from its file name (``ltx-2.3`` / ``22b`` / ``19b``, as Lightricks names them); layer shapes are always checked
against the loaded model itself (:func:`lora_patches`), so tiny test LoRAs for tiny models are judged correctly.
:func:`split_by_stream` sorts patches into the video and the audio stream by parameter name (for per-stream
strengths).

Node id ``LTX2NLoraLoader`` (model, lora_name, strength) -> model.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from typing import Any

import comfy.lora
import comfy.utils
from comfy_api.latest import io

from ..ltx_model.loading import Family, FileKind, detect, read_header
from ..ltx_model.lora import group_lora_keys
from .model_folders import model_files, model_path
from .model_loader import model_facts
from .schema import make_schema, not_listed

FOLDER = "loras"
MAX_LISTED = 4
NAME_FAMILY_HINTS: tuple[tuple[re.Pattern[str], Family], ...] = (
    (re.compile(r"ltx-?2\.3|22b", re.I), Family.LTX23_22B),
    (re.compile(r"19b", re.I), Family.LTX2_19B),
)
"""File-name evidence of a LoRA's family, used when its header has none (Lightricks' names carry it)."""
AUDIO_STREAM = re.compile(r"^(audio_(?!to_video)|video_to_audio|av_ca_v2a|av_ca_audio)")
"""Transformer modules (block-relative inside ``transformer_blocks.N.``) whose output goes to the audio stream."""


def lora_family(path: str) -> tuple[Family | None, str]:
    """``(family, evidence)`` of the LoRA at ``path``: header evidence, then the file name; ``(None, ...)`` when
    nothing tells (layers both families share: it fits either)."""
    info = detect(read_header(path))
    if info.family is not Family.UNKNOWN:
        return info.family, info.evidence
    name = os.path.basename(path)
    for pattern, family in NAME_FAMILY_HINTS:
        if pattern.search(name):
            return family, f"file name {name}"
    return None, "no family evidence"


def lora_problem(path: str, family: Family | None = None) -> str | None:
    """Why ``path`` is not an LTX-2 LoRA (for ``family`` when given), from its header alone, or None.

    The family comes from the LoRA's own evidence (metadata, family-only modules such as LTX-2.3's gated attention);
    a LoRA touching only layers both families share fits either. Shapes are checked against the model later.
    """
    name = os.path.basename(path)
    try:
        info = detect(read_header(path))
    except ValueError as exc:
        return f"{name}: {exc}"
    if info.kind is not FileKind.LORA:
        return f"{name} is not a LoRA (it looks like: {info.kind.value})"
    if info.family is Family.LTX25:
        return f"{name} is a LoRA for {info.family.value}"
    target, evidence = lora_family(path)
    if family is not None and target is not None and target is not family:
        return f"{name} is a LoRA for {target.value} ({evidence}), but the model is {family.value}"
    return None


def split_by_stream(patches: dict) -> tuple[dict, dict]:
    """Core patch dict -> ``(video patches, audio patches)`` by the stream each parameter writes to."""
    video, audio = {}, {}
    for key, patch in patches.items():
        module = key.removeprefix("diffusion_model.")
        module = re.sub(r"^transformer_blocks\.\d+\.", "", module)
        (audio if AUDIO_STREAM.match(module) else video)[key] = patch
    return video, audio


def checked_family(model: Any, what: str):
    """The :class:`Family` of a MODEL loaded by this pack; a clear error for any other model."""
    facts = model_facts(model)
    if facts is None:
        raise ValueError(f"{what} needs a model from Load LTX-2 Model (use core's LoRA loader for other models)")
    return facts.family


def _weight_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    """``{param name: logical shape}`` of the diffusion model's weights; GGUF layers report their de-quantised
    shape (``gguf_shape``), not the shape of their packed blocks."""
    shapes: dict[str, tuple[int, ...]] = {}
    for name, module in model.model.diffusion_model.named_modules():
        weight = getattr(module, "weight", None)
        if weight is not None and hasattr(weight, "shape"):
            shapes[f"{name}.weight"] = tuple(getattr(module, "gguf_shape", None) or weight.shape)
    return shapes


def lora_patches(model: Any, path: str) -> dict:
    """Core patch dict for the LoRA at ``path`` on ``model``; errors for layers that do not fit the model."""
    header = read_header(path)
    layers = group_lora_keys(header.keys())
    weights = _weight_shapes(model)
    key_map, skipped, bad = {}, [], []
    for module, keys in layers.items():
        shape = weights.get(module + ".weight")
        if shape is None:
            skipped.append(module)
            continue
        a, b = header.tensors[keys.a].shape, header.tensors[keys.b].shape
        if (b[0], a[-1]) != tuple(shape):
            bad.append(f"{module} gives [{b[0]}, {a[-1]}] for weight {list(shape)}")
        key_map[keys.a.rsplit(".lora_", 1)[0]] = f"diffusion_model.{module}.weight"
    name = os.path.basename(path)
    if bad:
        raise ValueError(f"{name} does not fit this model (a LoRA for another family or size): {len(bad)} "
                         f"layer(s), e.g. " + "; ".join(bad[:MAX_LISTED]))
    if not key_map:
        raise ValueError(f"{name} matches none of this model's weights (a LoRA for another model?)")
    if skipped:
        logging.warning("LTX-2 Native: %s: %d layer(s) are not part of the diffusion model and were skipped, "
                        "e.g. %s", name, len(skipped), ", ".join(skipped[:MAX_LISTED]))
    return comfy.lora.load_lora(comfy.utils.load_torch_file(path, safe_load=True), key_map, log_missing=False)


def with_lora(model: Any, path: str, strength: float) -> Any:
    """A clone of the MODEL ``model`` with the LoRA file ``path`` patched in at ``strength`` (none when 0); the file's
    metadata is attached as ``lora_metadata``, as core's LoRA loaders do (core ``GetICLoRAParameters`` reads it)."""
    patched = model.clone()
    if strength != 0:
        patched.add_patches(lora_patches(model, path), strength)
    metadata = read_header(path).metadata
    if metadata:
        patched.set_attachments("lora_metadata", metadata)
    return patched


def validate_lora_choice(lora_name: str | None, problem: Callable[[str], str | None]) -> bool | str:
    """``validate_inputs`` of a LoRA loader: ``problem(path)`` of a listed file in models/loras, else True."""
    if lora_name is None:
        return True
    unlisted = not_listed("lora_name", lora_name, model_files(FOLDER), f"models/{FOLDER}")
    return unlisted or problem(model_path(FOLDER, lora_name)) or True


class LTX2NLoraLoader(io.ComfyNode):
    """Apply an LTX-2 LoRA (e.g. the distilled LoRA, camera LoRAs) to a model, checked against its family."""

    DISPLAY_NAME = "Load LoRA (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="loaders",
            description="Applies an LTX-2 / LTX-2.3 LoRA to the model (a copy; the input model is unchanged). A "
                        "LoRA made for the other model family is refused with a clear error.",
            inputs=[io.Model.Input("model", tooltip="Model from Load LTX-2 Model."),
                    io.Combo.Input("lora_name", options=model_files(FOLDER), tooltip="LoRA file in models/loras."),
                    io.Float.Input("strength", default=1.0, min=-10.0, max=10.0, step=0.01,
                                   tooltip="LoRA strength (the distilled LoRA: 1.0 for the stage-2 refine).")],
            outputs=[io.Model.Output(display_name="model", tooltip="The model with the LoRA applied.")],
        )

    @classmethod
    def validate_inputs(cls, lora_name: str | None = None) -> bool | str:
        return validate_lora_choice(lora_name, lora_problem)

    @classmethod
    def execute(cls, model: Any, lora_name: str, strength: float) -> io.NodeOutput:
        family = checked_family(model, "Load LoRA (LTX-2)")
        path = model_path(FOLDER, lora_name)
        problem = lora_problem(path, family)
        if problem:
            raise ValueError(problem)
        return io.NodeOutput(with_lora(model, path, strength))
