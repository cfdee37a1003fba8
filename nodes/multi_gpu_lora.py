"""A MODEL's LoRA patches read back as LoRA files + strengths, so the multi-GPU workers can apply them themselves.

ComfyUI records a LoRA as patches on the ModelPatcher (``patches[param] = [(strength, adapter, strength_model,
offset, function), ...]``, one entry per LoRA loader), holding the tensors the loader read from the file but not the
file's name. :func:`lora_set` finds each entry's file among ``models/loras`` by content: the file must have a layer
for the patched module whose tensors equal the entry's (read by byte range, one layer at a time, files that matched
before tried first). Both the pack's Load LoRA (LTX-2) and core's LoraLoader / LoraLoaderModelOnly are read this
way, whether they sit before or after the Multi-GPU node. The workers then fuse exactly the layers the host patched
(all of a file's layers, or the subset a loader applied) at the same strength.

A patch that is not a file of ``models/loras`` (a merge, a hook, a model strength other than 1, a tensor made in
the graph) is refused with a clear error: the workers cannot read it, and running without it would silently change
the result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import torch

from ..ltx_model.distributed import LoraApplication, LoraSet
from ..ltx_model.loading import CheckpointError, SafetensorsReader, read_header
from ..ltx_model.lora import group_lora_keys, match_layers, open_lora
from ..ltx_model.lora_formats.layers import LoraLayer
from .model_folders import model_files, model_path

PREFIX = "diffusion_model."
NOT_A_FILE = ("Multi-GPU (LTX-2): the model carries a weight patch on {key} that is not a LoRA file of models/loras "
              "({why}); the workers apply LoRAs by reading their files, so they cannot apply it. Load LoRAs from "
              "models/loras (Load LoRA (LTX-2) or core's LoraLoader, model strength 1), or leave out the patch or "
              "the Multi-GPU node")
_CACHE: dict[Any, LoraSet] = {}  # patches_uuid -> the set read back (one entry: the last model sampled)
_LAYERS: dict[tuple[str, float], dict[str, LoraLayer]] = {}  # (path, mtime) -> the file's layers


@dataclass
class _Found:
    """What one file at one strength patched: ``{param key (without the prefix): number of entries}``."""

    order: int
    params: dict[str, int] = field(default_factory=dict)

    @property
    def modules(self) -> set[str]:
        """The patched modules."""
        return {param.rsplit(".", 1)[0] for param in self.params}


def _tensors(value: Any) -> list[torch.Tensor] | None:
    """The tensors of one patch value (a core weight adapter, our library adapter, a ``("diff", (t,))`` tuple), or
    None for a patch kind the workers cannot apply."""
    if hasattr(value, "weights") and hasattr(value, "loaded_keys"):
        items, out = list(value.weights), []
        while items:
            item = items.pop(0)
            if isinstance(item, torch.Tensor):
                out.append(item)
            elif isinstance(item, (tuple, list)):
                items[:0] = list(item)
        return out
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "diff":
        return list(value[1])
    return None


def _layers(path: str) -> dict[str, LoraLayer]:
    """``{module: LoraLayer}`` of a file of models/loras (empty for a file that is no LTX-2 LoRA)."""
    key = (path, os.path.getmtime(path))
    if key not in _LAYERS:
        try:
            _LAYERS[key] = group_lora_keys(read_header(path).keys())
        except (CheckpointError, ValueError, OSError):
            _LAYERS[key] = {}
    return _LAYERS[key]


class _Finder:
    """Finds the file of each patch entry by content (tensors read per layer and kept while reading one model)."""

    def __init__(self) -> None:
        self.paths = [model_path("loras", name) for name in model_files("loras")]
        self.readers: dict[str, SafetensorsReader] = {}
        self.read: dict[tuple[str, str], list[torch.Tensor]] = {}

    def _layer_tensors(self, path: str, layer: LoraLayer) -> list[torch.Tensor]:
        if (path, layer.module) not in self.read:
            if path not in self.readers:
                self.readers[path] = SafetensorsReader(path)
            self.read[path, layer.module] = [self.readers[path].read(k) for k in layer.parts.values()]
        return self.read[path, layer.module]

    def find(self, module: str, tensors: list[torch.Tensor]) -> str | None:
        """The file whose layer for ``module`` holds every tensor of ``tensors``; None when no file does."""
        for path in list(self.paths):
            layer = _layers(path).get(module)
            if layer is None:
                continue
            mine = self._layer_tensors(path, layer)
            if all(any(t.shape == f.shape and t.dtype == f.dtype and torch.equal(t.cpu(), f) for f in mine)
                   for t in tensors):  # patch tensors may have been moved to a GPU by the host
                self.paths.remove(path)
                self.paths.insert(0, path)  # the next entries most likely come from the same file
                return path
        return None

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()


def _entry_file(finder: _Finder, key: str, entry: tuple) -> str:
    """The file of one patch entry of ``key``; a clear error when it has none."""
    strength, value, strength_model, offset, function = entry
    if strength_model != 1.0 or offset is not None or function is not None:
        raise ValueError(NOT_A_FILE.format(key=key, why=f"model strength {strength_model:g}, offset or function"))
    tensors = _tensors(value)
    if not tensors or not key.startswith(PREFIX):
        raise ValueError(NOT_A_FILE.format(key=key, why=f"a {type(value).__name__} patch"))
    path = finder.find(key[len(PREFIX):].rsplit(".", 1)[0], tensors)
    if path is None:
        raise ValueError(NOT_A_FILE.format(key=key, why="no file of models/loras holds its tensors"))
    return path


def _group(patches: dict) -> dict[tuple[str, float], _Found]:
    """``{(file, strength): what it patched}`` for every entry of ``patches``."""
    finder, found = _Finder(), {}
    try:
        for key, entries in patches.items():
            for entry in entries:
                item = found.setdefault((_entry_file(finder, key, entry), float(entry[0])), _Found(len(found)))
                item.params[key[len(PREFIX):]] = item.params.get(key[len(PREFIX):], 0) + 1
    finally:
        finder.close()
    return found


def _application(path: str, strength: float, found: _Found, shapes: dict) -> list[LoraApplication]:
    """The application(s) of one file reproducing exactly what the host patched; a clear error otherwise."""
    counts = set(found.params.values())
    if len(counts) != 1:
        raise ValueError(f"Multi-GPU (LTX-2): {os.path.basename(path)} is applied a different number of times to "
                         "different layers; the workers cannot reproduce that, use one LoRA loader per file")
    with open_lora(path) as lora:
        everything = set(match_layers(shapes, [(lora, 1.0)])[0])
        modules = None if set(found.params) == everything else tuple(sorted(found.modules))
        if modules is not None:
            lora.layers = {m: layer for m, layer in lora.layers.items() if m in found.modules}
            if set(match_layers(shapes, [(lora, 1.0)])[0]) != set(found.params):
                raise ValueError(f"Multi-GPU (LTX-2): the LoRA loader applied {os.path.basename(path)} to a set of "
                                 "weights the workers cannot reproduce (e.g. a layer's bias without its weight); "
                                 "use Load LoRA (LTX-2)")
    return [LoraApplication(path, strength, modules)] * counts.pop()


def lora_set(patcher: Any) -> LoraSet:
    """The LoRA files + strengths (+ layers) that ``patcher``'s weight patches came from, in loader order; ``()``
    when it has none. Raises ValueError for a patch that is not a LoRA file of models/loras."""
    if not patcher.patches:
        return ()
    uuid = getattr(patcher, "patches_uuid", None)
    if uuid is not None and uuid in _CACHE:
        return _CACHE[uuid]
    shapes = {name: tuple(p.shape) for name, p in patcher.model.diffusion_model.named_parameters()}
    found = _group(patcher.patches)
    result: list[LoraApplication] = []
    for (path, strength), item in sorted(found.items(), key=lambda pair: pair[1].order):
        result += _application(path, strength, item, shapes)
    if uuid is not None:
        _CACHE.clear()
        _CACHE[uuid] = tuple(result)
    return tuple(result)
