"""LoRA files for the LTX-2 transformer: reading every trainer's layout, and the fusion math.

Lightricks' format (ltx2-model.md §10): ``diffusion_model.<module path>.lora_A.weight`` (rank, in) and
``.lora_B.weight`` (out, rank); no alpha tensors; IC-LoRAs carry ``reference_downscale_factor`` in the metadata.
Every other layout (PEFT, diffusers / SimpleTuner / ai-toolkit, kohya / musubi-tuner, LyCORIS, ComfyUI TrainLoRA /
ExtractLoRA) is read through the LoRA key table (:mod:`ltx_model.loading.lora_keymap`); adapters other than LoRA
(DoRA, LoHa, LoKr, ComfyUI's ``.diff`` / ``.diff_b``) follow :mod:`ltx_model.lora_formats.formulas`.

Fusion follows ltx-core's ``fuse_loras`` (``apply_loras``): for every model weight a LoRA adapts,
``delta = (B * strength) @ A`` is computed in the LoRA's dtype, cast to the weight's dtype (bfloat16 for float8
weights), summed over LoRAs (``stack().sum(0)``), and ``W <- delta + W``. Differences, by choice: (1) a stored
``alpha`` scales by ``alpha / rank`` (ComfyUI's convention; Lightricks' files have no alpha, so their results are
unchanged); (2) float32 / float16 weights are accepted (ltx-core only handles bf16 / fp8); (3) layers whose shapes
do not fit raise :class:`LoraMismatchError` before any weight is modified; (4) ComfyUI ``.diff_b`` tensors adapt
biases (``b <- b + s * diff_b``); (5) a DoRA layer contributes ``patched - W`` of its own formula. Float8 weights are
up-cast, added in bfloat16 and rounded back to float8 (ltx-core's CPU path; its CUDA path uses stochastic rounding).
Keys no model weight matches are listed in one warning and in :class:`FuseReport`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from .loading.lora_keymap import foreign_model, guess_layout, other_part
from .loading.safetensors_io import CheckpointError, SafetensorsReader, read_header
from .lora_formats.formulas import bias_delta, patched_weight, weight_delta
from .lora_formats.layers import LoraLayer, group_layers, layer_shapes

REFERENCE_DOWNSCALE_KEY = "reference_downscale_factor"
FP8_DTYPES = (torch.float8_e4m3fn, torch.float8_e5m2)
MAX_LISTED = 5
LOG = logging.getLogger(__name__)


class LoraMismatchError(CheckpointError):
    """A LoRA does not fit the model (another model or family, or a different width)."""


def group_lora_keys(keys: Iterable[str]) -> dict[str, LoraLayer]:
    """``{module path: LoraLayer}`` of a LoRA file's keys, any layout; raises CheckpointError naming broken layers
    (a lone A or B, half a LoHa / LoKr) or unsupported adapter kinds."""
    return group_layers(keys)[0]


def what_it_looks_like(keys: Iterable[str]) -> str:
    """``"a kohya / musubi-tuner (lora_unet_) LoRA for Flux / HunyuanVideo (...)"``: layout and apparent model."""
    keys = list(keys)
    model = foreign_model(keys) or "an LTX-2-family model"
    return f"a {guess_layout(keys)} LoRA for {model}"


def parse_reference_downscale_factor(metadata: Mapping[str, str]) -> int:
    """IC-LoRA reference downscale factor from metadata (missing -> 1, like ltx-pipelines)."""
    raw = metadata.get(REFERENCE_DOWNSCALE_KEY)
    if raw is None:
        return 1
    try:
        value = int(raw)
    except ValueError:
        raise CheckpointError(f"LoRA metadata {REFERENCE_DOWNSCALE_KEY}={raw!r} is not an integer") from None
    if value < 1:
        raise CheckpointError(f"LoRA metadata {REFERENCE_DOWNSCALE_KEY}={value} must be >= 1")
    return value


@dataclass
class LoraWeights:
    """One LoRA: its layers and a way to fetch their tensors (lazily from a file, or from memory).

    Attributes:
        name: file name or a label.
        layers: ``{module path: LoraLayer}`` (module paths relative to the transformer, official names).
        fetch: key -> tensor (reads only that tensor's bytes for file-backed LoRAs).
        metadata: safetensors metadata.
        ignored: file keys that are no adapter tensor (listed in the fusion warning).
        shapes: key -> shape without reading the tensor (file headers); None = from ``fetch``.
    """

    name: str
    layers: Mapping[str, LoraLayer]
    fetch: Callable[[str], torch.Tensor]
    metadata: Mapping[str, str] = field(default_factory=dict)
    _closer: Callable[[], None] | None = None
    ignored: tuple[str, ...] = ()
    shapes: Callable[[str], tuple[int, ...]] | None = None

    @property
    def reference_downscale_factor(self) -> int:
        """IC-LoRA reference downscale factor (1 for plain LoRAs)."""
        return parse_reference_downscale_factor(self.metadata)

    def shape(self, key: str) -> tuple[int, ...]:
        """Shape of one tensor of the file."""
        return tuple(self.shapes(key) if self.shapes is not None else self.fetch(key).shape)

    def check_shapes(self) -> None:
        """Every layer's tensors fit each other (ranks, LoHa halves, DoRA magnitude); raises CheckpointError."""
        for layer in self.layers.values():
            layer_shapes(layer, self.shape)

    def delta(self, module: str, strength: float, dtype: torch.dtype) -> torch.Tensor | None:
        """``dW`` of one layer's weight adapter at ``strength`` (no DoRA magnitude), cast to ``dtype``. [out, in]"""
        return weight_delta(self.layers[module], self.fetch, strength, dtype)

    def close(self) -> None:
        """Release the file handle of a file-backed LoRA."""
        if self._closer is not None:
            self._closer()
            self._closer = None

    def __enter__(self) -> LoraWeights:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _not_a_lora(name: str, keys: Sequence[str]) -> CheckpointError:
    return CheckpointError(
        f"{name}: not a LoRA file (no LoRA / LoHa / LoKr / diff tensors; it looks like {what_it_looks_like(keys)})"
    )


def open_lora(path: str | os.PathLike[str]) -> LoraWeights:
    """Open a LoRA safetensors file; tensors are read on demand, one layer at a time. Close it (or use ``with``)."""
    header = read_header(path)
    layers, ignored = group_layers(header.keys())
    if not layers:
        raise _not_a_lora(str(path), list(header.keys()))
    parse_reference_downscale_factor(header.metadata)
    reader = SafetensorsReader(header)
    name = os.path.basename(str(path))
    return LoraWeights(name, layers, reader.read, dict(header.metadata), reader.close, ignored,
                       lambda key: tuple(header.tensors[key].shape))


def lora_from_state_dict(
    state: Mapping[str, torch.Tensor], *, name: str = "lora", metadata: Mapping[str, str] | None = None
) -> LoraWeights:
    """A LoRA held in memory (e.g. a state dict from another loader), any layout."""
    layers, ignored = group_layers(state)
    if not layers:
        raise _not_a_lora(name, list(state))
    return LoraWeights(name, layers, state.__getitem__, dict(metadata or {}), None, ignored)


@dataclass(frozen=True)
class FuseReport:
    """What a fusion touched.

    Attributes:
        fused: model parameter keys changed (``<module>.weight`` / ``<module>.bias``).
        unmatched: ``"<lora>:<module>"`` layers (or their bias part) no model parameter matched (ignored).
        skipped: ``"<lora>:<module>"`` layers of other checkpoint parts (text projection / connectors; ignored).
    """

    fused: tuple[str, ...]
    unmatched: tuple[str, ...]
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoraTarget:
    """One parameter a layer patches: ``part`` is ``weight`` or ``bias``."""

    lora: LoraWeights
    strength: float
    layer: LoraLayer
    part: str


def _delta_dtype(weight: torch.Tensor) -> torch.dtype:
    return torch.bfloat16 if weight.dtype in FP8_DTYPES else weight.dtype


def _layer_targets(layer: LoraLayer, lora: LoraWeights, shapes: Mapping[str, tuple[int, ...]], bad: list[str]):
    """``[(param key, part)]`` a layer patches, and the parts no parameter has; misfits are appended to ``bad``."""
    found, missing = [], []
    for part, want in zip(("weight", "bias"), layer_shapes(layer, lora.shape), strict=True):
        key = f"{layer.module}.{part}"
        if want is None:
            continue
        if key not in shapes:
            missing.append(part)
        elif tuple(want) != shapes[key]:
            bad.append(f"{layer.module} gives {list(want)} for {part} {list(shapes[key])}")
        else:
            found.append((key, part))
    return found, missing


def match_layers(
    shapes: Mapping[str, tuple[int, ...]], loras: Sequence[tuple[LoraWeights, float]]
) -> tuple[dict[str, list[LoraTarget]], FuseReport]:
    """Which model parameters each LoRA layer patches: ``({param key: [LoraTarget]}, FuseReport)``.

    Args:
        shapes: ``{param key: shape}`` of the model (transformer-relative keys, weights and biases).
        loras: ``(LoraWeights, strength)`` pairs.
    Raises:
        LoraMismatchError: a layer does not fit its parameter, or nothing matches (nothing is modified before).
        CheckpointError: a layer's own tensors do not fit each other (rank mismatch: layer and both shapes named).
    """
    targets: dict[str, list[LoraTarget]] = {}
    unmatched: list[str] = []
    skipped: list[str] = []
    bad: list[str] = []
    for lora, strength in loras:
        unmatched += [f"{lora.name}:{key}" for key in lora.ignored]
        for module, layer in lora.layers.items():
            if other_part(module):
                skipped.append(f"{lora.name}:{module}")
                continue
            found, missing = _layer_targets(layer, lora, shapes, bad)
            unmatched += [f"{lora.name}:{module}" + ("" if p == "weight" else f" ({p})") for p in missing]
            for key, part in found:
                targets.setdefault(key, []).append(LoraTarget(lora, strength, layer, part))
    if bad:
        raise LoraMismatchError(
            f"LoRA does not fit this model (a LoRA for another family or size?): {len(bad)} layer(s), e.g. "
            + "; ".join(bad[:MAX_LISTED])
        )
    if not targets:
        looks = "; ".join(f"{lora.name} looks like {what_it_looks_like(_file_keys(lora))}" for lora, _ in loras)
        raise LoraMismatchError(
            f"LoRA matches none of the model's weights (a LoRA for another model?): {looks}; e.g. "
            + ", ".join(unmatched[:MAX_LISTED])
        )
    return targets, FuseReport(tuple(sorted(targets)), tuple(unmatched), tuple(skipped))


def _file_keys(lora: LoraWeights) -> list[str]:
    return [key for layer in lora.layers.values() for key in layer.parts.values()] + list(lora.ignored)


def unmatched_message(report: FuseReport) -> str | None:
    """ONE line for everything a fusion leaves out (count + first few), or None when everything was used."""
    left = report.unmatched + report.skipped
    if not left:
        return None
    parts = f" ({len(report.skipped)} of them text projection / connector layers)" if report.skipped else ""
    return (f"{len(left)} LoRA layer(s) / key(s) match no weight of this model and were ignored{parts}, e.g. "
            + ", ".join(left[:MAX_LISTED]))


def warn_unmatched(report: FuseReport) -> None:
    """Log :func:`unmatched_message` as one warning."""
    message = unmatched_message(report)
    if message:
        LOG.warning("%s", message)


def _delta(target: LoraTarget, param: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """One target's contribution to ``param`` (same shape), in ``dtype``."""
    layer, fetch = target.layer, target.lora.fetch
    if target.part == "bias":
        return bias_delta(layer, fetch, target.strength, dtype)
    if layer.dora:
        base = param.to(dtype) if param.dtype in FP8_DTYPES else param
        return (patched_weight(layer, fetch, base, target.strength) - base).to(dtype)
    return weight_delta(layer, fetch, target.strength, dtype).reshape(param.shape)


def fused_weight(weight: torch.Tensor, deltas: list[torch.Tensor]) -> torch.Tensor:
    """``sum(deltas) + W`` in the delta dtype, returned in ``weight``'s dtype (ltx-core operation order)."""
    total = deltas[0] if len(deltas) == 1 else torch.sum(torch.stack(deltas, dim=0), dim=0)
    total = total.add_(weight.to(total.dtype)) if weight.dtype in FP8_DTYPES else total.add_(weight)
    return total.to(weight.dtype)


def _fused(param: torch.Tensor, targets: list[LoraTarget]) -> torch.Tensor:
    dtype = _delta_dtype(param)
    return fused_weight(param, [_delta(t, param, dtype).to(param.device) for t in targets])


def fuse_loras(
    weights: Mapping[str, torch.Tensor], loras: Sequence[tuple[LoraWeights, float]]
) -> tuple[dict[str, torch.Tensor], FuseReport]:
    """New tensors for every parameter a LoRA touches: ``{key: W + sum_i delta_i}`` (inputs untouched).

    Args:
        weights: transformer state dict (module keys, e.g. ``transformer_blocks.0.attn1.to_q.weight``).
        loras: ``(LoraWeights, strength)`` pairs (any layout / adapter kind).
    Raises:
        LoraMismatchError: a layer's shape differs from the model's, or nothing matches (the message says what the
            LoRA looks like: layout and apparent model).
    """
    targets, report = match_layers({k: tuple(v.shape) for k, v in weights.items()}, loras)
    warn_unmatched(report)
    return {key: _fused(weights[key], found) for key, found in targets.items()}, report


@torch.no_grad()
def fuse_loras_into_module(module: nn.Module, loras: Sequence[tuple[LoraWeights, float]]) -> FuseReport:
    """Fuse LoRAs into a module's parameters in place, one at a time (peak memory: one layer's delta)."""
    params = dict(module.named_parameters())
    targets, report = match_layers({k: tuple(v.shape) for k, v in params.items()}, loras)
    warn_unmatched(report)
    for key, found in targets.items():
        params[key].copy_(_fused(params[key].detach(), found))
    return report
