"""Worker-side weights: LoRA files applied to each worker's own copy of the transformer, swapped without a reload.

The driver never sends weights. It sends a :data:`LoraSet` (file paths, strengths and, where the host applied only
part of a file, the module paths it applied); each worker opens the files itself (tensors read one layer at a time
by byte range) and fuses them into its transformer with the library's LoRA code
(:func:`~ltx_model.lora.fuse_loras_into_module`, ltx-core's ``W + sum(strength * B @ A)``), so a worker's weights
equal one process's with the same LoRAs.

A different LoRA set first restores the parameters the previous set changed, reading just those tensors from the
checkpoint by byte range (nothing else is reloaded); a checkpoint storing them in float8 is reloaded whole (its
up-cast / de-quantisation is the loader's rule, not repeated here). :attr:`WeightState.events` records each load,
restore and LoRA application (the tests count loads with it).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

import torch
from torch import nn

from ..loading import SafetensorsReader, load_component
from ..loading.build import component_source
from ..lora import LoraWeights, fuse_loras_into_module, open_lora
from ..precision import FP8_DTYPES


@dataclass(frozen=True)
class LoraApplication:
    """One LoRA file applied at ``strength``; ``modules`` (transformer module paths) limits it to the layers the host
    applied (None = every layer the library maps)."""

    path: str
    strength: float
    modules: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        """``name@strength`` (``name[k layers]@strength`` when limited), for events and messages."""
        part = "" if self.modules is None else f"[{len(self.modules)} layers]"
        return f"{os.path.basename(self.path)}{part}@{self.strength:g}"


LoraSet = tuple[LoraApplication, ...]  # applied in this order (deltas summed per parameter, as ltx-core does)


@dataclass
class WeightState:
    """What a worker's transformer holds: the checkpoint it came from, the LoRA set fused into it, the parameters
    that set changed, and the event log (``load ...``, ``restore ...``, ``reload ...``, ``lora ...``)."""

    path: str
    dtype: torch.dtype | None = None
    loras: LoraSet = ()
    touched: tuple[str, ...] = ()
    events: list[str] = field(default_factory=list)


def open_application(item: LoraApplication) -> LoraWeights:
    """The LoRA file of ``item``, limited to its ``modules`` when given (close it after use)."""
    lora = open_lora(item.path)
    if item.modules is not None:
        wanted = set(item.modules)
        missing = sorted(wanted - set(lora.layers))
        if missing:
            lora.close()
            raise ValueError(f"{lora.name} has no layer for {', '.join(missing[:3])}")
        lora.layers = {module: layer for module, layer in lora.layers.items() if module in wanted}
    return lora


def restore(model: nn.Module, state: WeightState, device: torch.device) -> nn.Module:
    """``model`` with the parameters of ``state.touched`` back to the checkpoint's values (byte-range reads of just
    those tensors); a float8-stored checkpoint is reloaded whole. Returns the (possibly new) model."""
    if not state.touched:
        return model
    src = component_source(state.path, "transformer")
    stored = {key: src.header.tensors[src.keys[key]] for key in state.touched}
    if any(info.torch_dtype in FP8_DTYPES for info in stored.values()):
        state.events.append(f"reload {os.path.basename(state.path)}")
        state.touched = ()
        return load_component(state.path, "transformer", dtype=state.dtype, device=device)
    params = dict(model.named_parameters())
    with SafetensorsReader(src.header) as reader, torch.no_grad():
        for key in state.touched:
            params[key].copy_(reader.read(src.keys[key]).to(device=device, dtype=params[key].dtype))
    state.events.append(f"restore {len(state.touched)} tensors")
    state.touched = ()
    return model


def apply_loras(model: nn.Module, state: WeightState, loras: LoraSet, device: torch.device) -> nn.Module:
    """``model`` carrying exactly ``loras`` (nothing done when it already does): the previous set's parameters are
    restored, then the new set is fused in place. Returns the (possibly reloaded) model."""
    if tuple(loras) == state.loras:
        return model
    model = restore(model, state, device)
    state.loras = ()
    if loras:
        with contextlib.ExitStack() as stack:
            opened = [(stack.enter_context(open_application(item)), item.strength) for item in loras]
            report = fuse_loras_into_module(model, opened)
        state.touched = report.fused
        state.events.append("lora " + ", ".join(item.label for item in loras))
    state.loras = tuple(loras)
    return model
