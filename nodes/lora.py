"""LoRA loader that checks the LoRA belongs to the model's family before patching a clone of the MODEL.

Every trainer's layout is read (Lightricks / ComfyUI ``diffusion_model.``, PEFT, diffusers / SimpleTuner /
ai-toolkit ``transformer.``, kohya / musubi-tuner ``lora_unet_``, LyCORIS) through the library's LoRA key table, and
every adapter kind the library fuses (LoRA, DoRA, LoHa, LoKr, ComfyUI ``.diff`` / ``.diff_b``). The LoRA is applied
the way core applies LoRAs (``comfy.lora.load_lora`` patches, ``ModelPatcher.add_patches`` on a clone): weights are
patched at load time, or per forward for streamed (lowvram / Dynamic VRAM) layers. Core's weight adapters do the
math where they are right; DoRA with the magnitude on the output axis (LyCORIS ``wd_on_out``, PEFT
``lora_magnitude_vector``) goes through :class:`LibraryAdapter` (the library's formula: core normalises by the base
weight's norm instead of the merged weight's), as does a layer whose tensors are named under mixed prefixes.
Unlike core ``LoraLoaderModelOnly`` (which skips what it cannot map with a log line per key), a LoRA for another
model or family, or with layers whose shapes do not fit, is refused with a clear error before anything is patched;
keys that map to nothing of the model are listed in ONE warning (count + first few).

The family of a LoRA comes from its header (``model_version`` metadata, family-only modules, real-size shapes), then
from its file name (``ltx-2.5`` / ``ltx-2.3`` / ``22b`` / ``19b``, as Lightricks names them). LTX-2.5 has every
LTX-2.3 layer, so a LoRA known only from 2.3 layers fits a 2.5 model, while one whose metadata or name says 2.3 is
refused there (:func:`family_fits`). Layer shapes are always checked against the loaded model itself
(:func:`lora_patches`), so tiny test LoRAs for tiny models are judged correctly.
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
import comfy.model_management
import comfy.utils
import torch
from comfy.weight_adapter.base import WeightAdapterBase
from comfy_api.latest import io

from ..ltx_model.loading import CheckpointError, Family, FileKind, detect, read_header
from ..ltx_model.loading.detect import FAMILY_SIGNATURES
from ..ltx_model.loading.lora_keymap import foreign_model
from ..ltx_model.lora import LoraTarget, LoraWeights, group_lora_keys, match_layers, unmatched_message
from ..ltx_model.lora_formats.formulas import patched_weight
from ..ltx_model.lora_formats.layers import LoraLayer, group_layers
from .model_folders import listed_files, model_files, model_path
from .model_loader import model_facts
from .schema import make_schema, not_listed

FOLDER = "loras"
MAX_LISTED = 4
NAME_FAMILY_HINTS: tuple[tuple[re.Pattern[str], Family], ...] = (
    (re.compile(r"ltx-?2\.5", re.I), Family.LTX25),
    (re.compile(r"ltx-?2\.3|22b", re.I), Family.LTX23_22B),
    (re.compile(r"19b", re.I), Family.LTX2_19B),
)
"""File-name evidence of a LoRA's family, used when its header has none (Lightricks' names carry it)."""
AUDIO_STREAM = re.compile(r"^(audio_(?!to_video)|video_to_audio|av_ca_v2a|av_ca_audio)")
"""Transformer modules (block-relative inside ``transformer_blocks.N.``) whose output goes to the audio stream."""


_INCLUDED = {sig.family: sig.includes for sig in FAMILY_SIGNATURES}
"""Older families whose layers a newer family has too (LTX-2.5 has every LTX-2.3 module)."""
_DECLARED = ("metadata", "config", "file name")
"""Evidence that names a family (as opposed to layers, which a newer family may share)."""


def lora_family(path: str) -> tuple[Family | None, str]:
    """``(family, evidence)`` of the LoRA at ``path``: header evidence, then the file name; ``(None, ...)`` when
    nothing tells (layers both families share: it fits either). Layers alone that a newer family shares (LTX-2.3
    modules) give way to a file name naming that newer family (``ltx-2.5-...``)."""
    info = detect(read_header(path))
    name = os.path.basename(path)
    named = next(((family, f"file name {name}") for pattern, family in NAME_FAMILY_HINTS if pattern.search(name)),
                 None)
    if info.family is Family.UNKNOWN:
        return named or (None, "no family evidence")
    if named and not info.evidence.startswith(_DECLARED) and info.family in _INCLUDED.get(named[0], ()):
        return named
    return info.family, info.evidence


def family_fits(target: Family, evidence: str, family: Family) -> bool:
    """Whether a LoRA for ``target`` (found from ``evidence``) may go on a ``family`` model: the same family, or an
    older family found from layers alone that ``family`` includes (a LoRA on LTX-2.3 layers with no version may be
    an LTX-2.5 LoRA; its shapes are checked when it is applied)."""
    return target is family or (not evidence.startswith(_DECLARED) and target in _INCLUDED.get(family, ()))


def lora_problem(path: str, family: Family | None = None) -> str | None:
    """Why ``path`` is not an LTX-2 LoRA (for ``family`` when given), from its header alone, or None.

    The family comes from the LoRA's own evidence (metadata, family-only modules such as LTX-2.3's gated attention);
    a LoRA touching only layers both families share fits either. Shapes are checked against the model later.
    """
    name = os.path.basename(path)
    try:
        header = read_header(path)
        info = detect(header)
    except ValueError as exc:
        return f"{name}: {exc}"
    if info.kind is not FileKind.LORA:
        return f"{name} is not a LoRA (it looks like: {info.kind.value})"
    foreign = foreign_model(header.keys())
    if foreign:
        return f"{name} is a LoRA for another model (it looks like {foreign}), not for LTX-2"
    try:
        group_lora_keys(header.keys())
    except CheckpointError as exc:
        return f"{name}: {exc}"
    target, evidence = lora_family(path)
    if family is not None and target is not None and not family_fits(target, evidence, family):
        return (f"{name} is a LoRA for {target.value} ({evidence}), but the model is {family.value}: LoRAs do not "
                f"transfer between LTX-2 model versions; pick a LoRA made for {family.value}")
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


def _param_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    """``{param name: logical shape}`` of the diffusion model's weights and biases; GGUF layers report their
    de-quantised shape (``gguf_shape``), not the shape of their packed blocks."""
    shapes: dict[str, tuple[int, ...]] = {}
    for name, module in model.model.diffusion_model.named_modules():
        for part in ("weight", "bias"):
            tensor = getattr(module, part, None)
            if isinstance(tensor, torch.Tensor):
                logical = getattr(module, "gguf_shape", None) if part == "weight" else None
                shapes[f"{name}.{part}" if name else part] = tuple(logical or tensor.shape)
    return shapes


class LibraryAdapter(WeightAdapterBase):
    """A core weight adapter whose math is the library's :func:`patched_weight` (used where core's is wrong).

    ``weights`` is ``(LoraLayer, tensors)`` with ``tensors`` in ``layer.parts`` order (core's prefetch rebuilds an
    adapter as ``type(a)(a.loaded_keys, prefetched weights)``).
    """

    name = "ltx2n_library"

    def __init__(self, loaded_keys: set[str], weights: tuple[LoraLayer, tuple[torch.Tensor, ...]]) -> None:
        self.loaded_keys = loaded_keys
        self.weights = weights

    def calculate_weight(self, weight, key, strength, strength_model, offset, function,
                         intermediate_dtype=torch.float32, original_weight=None):
        layer, tensors = self.weights
        by_key = dict(zip(layer.parts.values(), tensors, strict=True))

        def fetch(file_key: str) -> torch.Tensor:
            return comfy.model_management.cast_to_device(by_key[file_key], weight.device, intermediate_dtype)

        new = patched_weight(layer, fetch, weight, strength)
        return weight + function((new - weight).to(weight.dtype))


def _own_math(layer: LoraLayer, shape: tuple[int, ...] | None, lora: LoraWeights) -> bool:
    """Whether core's adapters would get this layer's weight wrong (output-axis DoRA) or cannot find it (tensors
    named under mixed prefixes); ``shape`` is the model weight's (None: the weight is not patched)."""
    if shape is None or layer.kind is None:
        return False
    if not layer.one_stem or "magnitude" in layer.parts:
        return True
    return "dora_scale" in layer.parts and lora.shape(layer.parts["dora_scale"]) == (shape[0], 1)


def _core_patches(lora: LoraWeights, targets: dict[str, list[LoraTarget]], shapes: dict) -> dict:
    """Core patch dict (``diffusion_model.<param>`` keys) for the matched layers of ``lora``."""
    layers = {t.layer.module: t.layer for found in targets.values() for t in found}
    own = {m: layer for m, layer in layers.items() if _own_math(layer, shapes.get(m + ".weight"), lora)}
    key_map = {layer.stem: f"diffusion_model.{m}.weight" for m, layer in layers.items() if m not in own}
    used = {k for m, layer in layers.items() if m not in own for k in layer.parts.values()}
    patches = comfy.lora.load_lora({k: lora.fetch(k) for k in used}, key_map, log_missing=False)
    for module, layer in own.items():
        tensors = tuple(lora.fetch(k) for k in layer.parts.values())
        patches[f"diffusion_model.{module}.weight"] = LibraryAdapter(set(layer.parts.values()), (layer, tensors))
        if "diff_b" in layer.parts:
            patches[f"diffusion_model.{module}.bias"] = ("diff", (lora.fetch(layer.parts["diff_b"]),))
    missing = sorted(set(f"diffusion_model.{k}" for k in targets) - set(patches))
    if missing:
        raise ValueError(f"{lora.name}: ComfyUI's LoRA reader did not load {len(missing)} matched layer(s), e.g. "
                         + ", ".join(missing[:MAX_LISTED]))
    return patches


def lora_patches(model: Any, path: str) -> dict:
    """Core patch dict for the LoRA at ``path`` (any layout / adapter kind) on ``model``; a clear error for a LoRA
    that does not fit the model or has broken layers, before anything is patched; ONE warning listing the keys that
    map to nothing of the model."""
    header = read_header(path)
    name = os.path.basename(path)
    state: dict[str, torch.Tensor] = {}  # filled once every layer is checked (from the header alone)
    try:
        layers, ignored = group_layers(header.keys())
        lora = LoraWeights(name, layers, state.__getitem__, dict(header.metadata), None, ignored,
                           lambda key: tuple(header.tensors[key].shape))
        shapes = _param_shapes(model)
        targets, report = match_layers(shapes, [(lora, 1.0)])
    except CheckpointError as exc:
        raise ValueError(f"{name}: {exc}") from None
    message = unmatched_message(report)
    if message:
        logging.warning("LTX-2 Native: %s: %s", name, message)
    state.update(comfy.utils.load_torch_file(path, safe_load=True))
    return _core_patches(lora, targets, shapes)


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


def _listable(path: str) -> bool:
    """A LoRA, or a file whose header cannot be read (validation then explains it)."""
    try:
        return detect(read_header(path)).kind is FileKind.LORA
    except (ValueError, OSError):
        return True


def lora_choices() -> list[str]:
    """A LoRA dropdown: models/loras without the files whose header shows they are no LoRA (checkpoints, VAEs...);
    validation still takes any file of the folder and says what it is."""
    return listed_files((FOLDER,), _listable)


def validate_lora_choice(lora_name: str | None, problem: Callable[[str], str | None], node: str) -> bool | str:
    """``validate_inputs`` of the LoRA loader ``node`` (its display name): ``problem(path)`` of a listed file in
    models/loras, prefixed with the node's name, else True."""
    if lora_name is None:
        return True
    unlisted = not_listed("lora_name", lora_name, model_files(FOLDER), f"models/{FOLDER}")
    found = None if unlisted else problem(model_path(FOLDER, lora_name))
    return unlisted or (f"{node}: {found}" if found else True)


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
                    io.Combo.Input("lora_name", options=lora_choices(), tooltip="LoRA file in models/loras."),
                    io.Float.Input("strength", default=1.0, min=-10.0, max=10.0, step=0.01,
                                   tooltip="LoRA strength (the distilled LoRA: 1.0 for the stage-2 refine).")],
            outputs=[io.Model.Output(display_name="model", tooltip="The model with the LoRA applied.")],
        )

    @classmethod
    def validate_inputs(cls, lora_name: str | None = None) -> bool | str:
        return validate_lora_choice(lora_name, lora_problem, cls.DISPLAY_NAME)

    @classmethod
    def execute(cls, model: Any, lora_name: str, strength: float) -> io.NodeOutput:
        family = checked_family(model, cls.DISPLAY_NAME)
        path = model_path(FOLDER, lora_name)
        problem = lora_problem(path, family)
        if problem:
            raise ValueError(f"{cls.DISPLAY_NAME}: {problem}")
        return io.NodeOutput(with_lora(model, path, strength))
