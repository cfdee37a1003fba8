"""The LoRA part of ``python -m ltx_model.inspect``: layout, adapter kinds, ranks, target family, keys that map.

Everything comes from the header (shapes only, no tensor data). A key "maps" when the LoRA key table turns it into
a path made of LTX-2 transformer segments; text projection / connector layers are counted apart.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..loading.lora_keymap import foreign_model, guess_layout, is_ltx_path, other_part, parse_lora_key
from ..loading.safetensors_io import CheckpointError, SafetensorsHeader
from .layers import LoraLayer, group_layers, layer_shapes, ranks


def _shape(header: SafetensorsHeader):
    return lambda key: tuple(header.tensors[key].shape)


def _layers(header: SafetensorsHeader) -> dict[str, LoraLayer]:
    return group_layers(header.keys())[0]


def key_counts(header: SafetensorsHeader) -> tuple[int, int, int]:
    """``(keys mapping to transformer layers, keys of other checkpoint parts, all keys)``."""
    parsed = [parse_lora_key(k) for k in header.tensors]
    others = sum(1 for p in parsed if p is not None and other_part(p.module))
    mapped = sum(1 for p in parsed if p is not None and not other_part(p.module) and is_ltx_path(p.module))
    return mapped, others, len(parsed)


def describe_lora(header: SafetensorsHeader, info: Any) -> list[str]:
    """Summary lines of a LoRA file (``info``: its :class:`~ltx_model.loading.detect.CheckpointInfo`)."""
    try:
        layers = _layers(header)
    except CheckpointError:
        layers = {}  # validation reports the broken layers
    shape = _shape(header)
    all_ranks = sorted({r for layer in layers.values() for r in _ranks(layer, shape)})
    rank_text = "/".join(str(r) for r in all_ranks) or "none (full-size adapters)"
    layouts = Counter(layer.layout for layer in layers.values())
    kinds = Counter(layer.label for layer in layers.values())
    mapped, others, total = key_counts(header)
    lora = info.lora
    lines = [
        f"lora: {lora.kind.value}, rank {rank_text}, {len(layers)} layers",
        "lora layout: " + (", ".join(name for name, _ in layouts.most_common()) or "unknown"),
        "lora adapters: " + ", ".join(f"{kind} ({n} layers)" for kind, n in sorted(kinds.items())),
        f"lora ranks: {rank_text}",
        f"lora keys: {mapped} of {total} map to LTX-2 transformer layers"
        + (f" ({others} more to the text projection / connectors)" if others else ""),
        f"lora target: {lora.target.value if lora.target else 'LTX-2 family'} ({lora.target_note})",
        f"reference_downscale_factor: {lora.reference_downscale_factor}",
    ]
    foreign = foreign_model(header.keys())
    if foreign:
        lines.insert(5, f"lora looks like: a LoRA for {foreign}")
    return lines


def _ranks(layer: LoraLayer, shape) -> tuple[int, ...]:
    try:
        return ranks(layer, shape)
    except (KeyError, IndexError):
        return ()


def validate_lora(header: SafetensorsHeader) -> list[str]:
    """Check pairing, ranks and that the file is for LTX-2; raises CheckpointError with one line otherwise."""
    layers = _layers(header)
    if not layers:
        raise CheckpointError(f"{header.path}: no LoRA / LoHa / LoKr / diff tensors")
    for layer in layers.values():
        layer_shapes(layer, _shape(header))
    mapped, _, total = key_counts(header)
    foreign = foreign_model(header.keys())
    if not mapped:
        raise CheckpointError(f"{header.path}: none of its {total} keys map to LTX-2 transformer layers (it looks "
                              f"like a {guess_layout(header.keys())} LoRA for {foreign or 'an unknown model'})")
    if foreign:
        raise CheckpointError(f"{header.path}: it looks like a LoRA for {foreign}, not for LTX-2")
    return [f"  lora: {len(layers)} layers ok (adapter tensors paired, ranks checked)"]
