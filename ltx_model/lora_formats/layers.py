"""Grouping a LoRA file's keys into per-module adapter layers, with the checks that need only tensor shapes.

Every key is parsed by the LoRA key table (:mod:`ltx_model.loading.lora_keymap`). A :class:`LoraLayer` holds all
tensors of one module. :func:`group_layers` refuses incomplete adapters (A without B, half a LoHa / LoKr), adapter
kinds that are recognised but not applied (OFT, GLoRA, conv-only Tucker factors) and a tensor written twice;
:func:`layer_shapes` checks the ranks inside a layer and returns the weight / bias shapes it patches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..loading.lora_keymap import APPLIED_KINDS, parse_lora_key
from ..loading.safetensors_io import CheckpointError

MAX_LISTED = 5
# Which parts make a complete weight adapter of each kind (any one alternative suffices).
REQUIRED: dict[str, tuple[frozenset[str], ...]] = {
    "LoRA": (frozenset({"A", "B"}),),
    "LoHa": (frozenset({"hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"}),),
    "LoKr": tuple(frozenset(w1 | w2) for w1 in ({"w1"}, {"w1_a", "w1_b"}) for w2 in ({"w2"}, {"w2_a", "w2_b"})),
    "diff": (frozenset({"diff"}),),
}
PART_KIND = {part: kind for kind, alts in REQUIRED.items() for alt in alts for part in alt}
Shape = tuple[int, ...]


@dataclass(frozen=True)
class LoraLayer:
    """The tensors of one module in a LoRA file.

    Attributes:
        module: transformer-relative module path (official names).
        stem: the file key minus the adapter suffix (core's ``load_lora`` name for the module).
        layout: the key layout (:data:`~ltx_model.loading.lora_keymap.LORA_LAYOUTS` name).
        parts: ``{part: file key}`` (``A``, ``B``, ``alpha``, ``dora_scale``, ``hada_w1_a``, ``w1_a``, ``diff_b``, ...).
    """

    module: str
    stem: str
    layout: str
    parts: Mapping[str, str]

    @property
    def kind(self) -> str | None:
        """Weight adapter kind: ``LoRA``, ``LoHa``, ``LoKr``, ``diff``; None when only the bias is adapted."""
        return next((PART_KIND[p] for p in self.parts if p in PART_KIND and p != "diff_b"), None)

    @property
    def dora(self) -> bool:
        """Whether the layer carries a DoRA magnitude (``dora_scale`` or PEFT ``lora_magnitude_vector``)."""
        return "dora_scale" in self.parts or "magnitude" in self.parts

    @property
    def label(self) -> str:
        """Adapter kind(s) as shown to users, e.g. ``DoRA (LoRA)``, ``LoKr + bias diff``."""
        kind = self.kind
        name = f"DoRA ({kind})" if self.dora and kind else (kind or "")
        bias = "bias diff" if "diff_b" in self.parts else ""
        return " + ".join(x for x in (name, bias) if x)

    @property
    def one_stem(self) -> bool:
        """Whether every tensor of the layer is named ``<stem>.<suffix>`` (what core's ``load_lora`` needs)."""
        return all(key.startswith(self.stem + ".") for key in self.parts.values())

    def suffix(self, part: str) -> str:
        """The file key of ``part`` without the stem (e.g. ``lora_down.weight``), for messages."""
        key = self.parts[part]
        return key[len(self.stem) + 1 :] if key.startswith(self.stem + ".") else key


def _missing(parts: Iterable[str], kind: str) -> str:
    """What a kind's closest alternative lacks, e.g. ``B``."""
    have = set(parts)
    return ", ".join(sorted(min((alt - have for alt in REQUIRED[kind]), key=len)))


def _layer_problem(module: str, parts: Mapping[str, tuple[str, str]]) -> str | None:
    """Why the parts of one module do not make an adapter that can be applied, or None."""
    unsupported = sorted({kind for kind, _ in parts.values() if kind not in APPLIED_KINDS})
    if unsupported:
        return f"{module} uses {', '.join(unsupported)}, which this loader does not apply"
    kinds = {PART_KIND[p] for p in parts if p in PART_KIND and p != "diff_b"}
    for kind in kinds:
        if not any(alt <= set(parts) for alt in REQUIRED[kind]):
            return f"{module} ({kind}) lacks {_missing(parts, kind)}"
    if len(kinds) > 1:
        return f"{module} mixes {' and '.join(sorted(kinds))}"
    if not kinds and "diff_b" not in parts:
        return f"{module} has only {', '.join(sorted(parts))} (no adapter weights)"
    if kinds == {"diff"} and ({"alpha", "dora_scale", "magnitude"} & set(parts)):
        return f"{module} has a full diff with alpha / DoRA tensors"
    return None


def group_layers(keys: Iterable[str]) -> tuple[dict[str, LoraLayer], tuple[str, ...]]:
    """``({module: LoraLayer}, keys that are no adapter tensor)`` of a LoRA file's keys.

    Raises:
        CheckpointError: incomplete adapters ("without both A and B" for LoRA), unsupported adapter kinds, or a
            tensor written under two names; every broken layer is named (the first few).
    """
    found: dict[str, dict[str, tuple[str, str]]] = {}
    stems: dict[str, tuple[str, str]] = {}
    twice: list[str] = []
    other: list[str] = []
    for key in keys:
        parsed = parse_lora_key(key)
        if parsed is None:
            other.append(key)
            continue
        stems.setdefault(parsed.module, (parsed.stem, parsed.layout))
        parts = found.setdefault(parsed.module, {})
        if parsed.part in parts:
            twice.append(f"{parsed.module} ({parts[parsed.part][1]} and {key})")
        parts[parsed.part] = (parsed.kind, key)
    if twice:
        raise CheckpointError(f"LoRA writes a tensor twice under different names: {'; '.join(twice[:MAX_LISTED])}")
    problems = [p for m, parts in found.items() if (p := _layer_problem(m, parts)) is not None]
    if problems:
        raise CheckpointError(
            f"LoRA layers without both A and B, or otherwise incomplete / unsupported ({len(problems)}): "
            + "; ".join(problems[:MAX_LISTED])
        )
    layers = {
        m: LoraLayer(m, stems[m][0], stems[m][1], {part: key for part, (_, key) in parts.items()})
        for m, parts in found.items()
    }
    return layers, tuple(other)


def _pair(layer: LoraLayer, shape: Callable[[str], Shape], first: str, second: str) -> Shape:
    """``first @ second`` shape; a rank mismatch names the layer and both shapes."""
    x, y = shape(layer.parts[first]), shape(layer.parts[second])
    if len(x) != 2 or len(y) != 2 or x[1] != y[0]:
        raise CheckpointError(
            f"{layer.module}: {layer.suffix(first)} {list(x)} and {layer.suffix(second)} {list(y)} do not pair up "
            "(rank mismatch)"
        )
    return (x[0], y[1])


def _factor(layer: LoraLayer, shape: Callable[[str], Shape], name: str) -> Shape:
    """LoKr factor ``w1`` / ``w2``: stored whole or as ``_a @ _b``."""
    if name in layer.parts:
        return tuple(shape(layer.parts[name]))
    return _pair(layer, shape, f"{name}_a", f"{name}_b")


def _weight_shape(layer: LoraLayer, shape: Callable[[str], Shape]) -> Shape | None:
    kind = layer.kind
    if kind == "LoRA":
        return _pair(layer, shape, "B", "A")
    if kind == "LoHa":
        one, two = _pair(layer, shape, "hada_w1_a", "hada_w1_b"), _pair(layer, shape, "hada_w2_a", "hada_w2_b")
        if one != two:
            raise CheckpointError(f"{layer.module}: LoHa halves give {list(one)} and {list(two)}")
        return one
    if kind == "LoKr":
        w1, w2 = _factor(layer, shape, "w1"), _factor(layer, shape, "w2")
        if len(w1) != 2 or len(w2) != 2:
            raise CheckpointError(f"{layer.module}: LoKr factors {list(w1)} and {list(w2)} are not matrices")
        return (w1[0] * w2[0], w1[1] * w2[1])
    return tuple(shape(layer.parts["diff"])) if kind == "diff" else None


def _check_dora(layer: LoraLayer, weight: Shape, shape: Callable[[str], Shape]) -> None:
    part = "dora_scale" if "dora_scale" in layer.parts else "magnitude"
    got = tuple(shape(layer.parts[part]))
    allowed = [(weight[0], 1), (1, weight[1])] if part == "dora_scale" else [(weight[0],)]
    if got not in allowed:
        raise CheckpointError(
            f"{layer.module}: {layer.suffix(part)} {list(got)} fits neither axis of the weight {list(weight)}"
        )


def layer_shapes(layer: LoraLayer, shape: Callable[[str], Shape]) -> tuple[Shape | None, Shape | None]:
    """``(weight shape, bias shape)`` the layer patches (None = not patched); ``shape(file key)`` gives a tensor's
    shape. Raises CheckpointError naming the layer and both shapes when its tensors do not fit each other."""
    weight = _weight_shape(layer, shape)
    if weight is not None and layer.dora:
        _check_dora(layer, weight, shape)
    bias = tuple(shape(layer.parts["diff_b"])) if "diff_b" in layer.parts else None
    return weight, bias


def ranks(layer: LoraLayer, shape: Callable[[str], Shape]) -> tuple[int, ...]:
    """The rank(s) of a layer: LoRA A rows, LoHa / split LoKr inner sizes; () for full diffs / full LoKr."""
    inner = {"LoRA": ("A",), "LoHa": ("hada_w1_b", "hada_w2_b"), "LoKr": ("w1_b", "w2_b")}.get(layer.kind or "", ())
    return tuple(sorted({shape(layer.parts[p])[0] for p in inner if p in layer.parts}))
