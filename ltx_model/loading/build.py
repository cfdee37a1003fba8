"""Strict builders: a component on the meta device from the header alone, or materialised from its byte ranges.

* :func:`build_component` builds the module on ``meta`` from the metadata config and compares its state-dict names
  and shapes with the file (no tensor data is read). Any difference raises ONE :class:`StateDictMismatchError`
  listing up to 20 missing, 20 unexpected and 20 wrongly shaped keys.
* :func:`load_component` does the same check, then reads only that component's tensors, one at a time in file order,
  casts each to the dtype the module declared for it (fp8-stored weights are up-cast, kept with ``Fp8Mode.KEEP``,
  or, with ``Fp8Mode.SCALED``, scaled fp8 linears become :class:`~ltx_model.quant.Fp8Linear` as stored) and assigns
  them (``load_state_dict(strict=True, assign=True)``): peak memory is the component's
  own size plus one tensor. Parameters are created on ``meta`` while the module is constructed (so nothing is
  allocated twice), buffers are created for real, so non-persistent buffers (RoPE tables, filters) get their
  computed values. A model with a tensor still on ``meta`` is never returned.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import torch
from torch import nn

from .. import layers
from ..quant.fp8 import Fp8Linear
from .keymaps import (
    FP8_INPUT_SCALE_SUFFIXES,
    FP8_WEIGHT_SCALE_SUFFIXES,
    KEYMAPS,
    Component,
    model_state_keys,
    parse_component,
)
from .registry import make_config, make_module, transformer_kind
from .safetensors_io import CheckpointError, SafetensorsHeader, SafetensorsReader, read_header

MAX_LISTED_KEYS = 20
FP8_DTYPES = (torch.float8_e4m3fn, torch.float8_e5m2)
_FLOAT_BY_STORAGE = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32, "F64": torch.float64}


class StateDictMismatchError(CheckpointError):
    """The file's keys or shapes differ from the module built from its own config."""


class Fp8Mode(Enum):
    """What to do with float8-stored weights."""

    UPCAST = "upcast"  # cast to the module's compute dtype (de-quantising with a stored weight scale)
    KEEP = "keep"  # keep float8 storage (the layers must up-cast at matmul time, e.g. ComfyUI's comfy.ops)
    # scaled fp8 (official ``*-fp8`` files: e4m3 ``weight`` + fp32 ``weight_scale`` [+ ``input_scale``]): each such
    # linear becomes a quant.Fp8Linear holding the stored tensors (torch._scaled_mm with those per-tensor scales on
    # fp8 GPUs, its float32 emulation elsewhere), as ltx-core's "fp8-scaled-mm" swaps exactly the linears whose
    # e4m3 weight has a ``weight_scale``; every other fp8 tensor is up-cast as with UPCAST
    SCALED = "scaled"


@dataclass(frozen=True)
class ComponentSource:
    """A component of one file: its header, the component and ``{module key: file key}``."""

    header: SafetensorsHeader
    component: Component
    keys: Mapping[str, str]
    kind: str | None = None  # transformer: the ModelKind member name it is built as (None = from the file's keys)

    def choices(self) -> dict[str, str]:
        """``make_config`` choices for this source (``{"kind": ...}`` for a single-stream transformer build)."""
        return {} if self.kind is None else {"kind": self.kind}


def _kind_name(kind: Enum | str | None) -> str | None:
    """``ModelKind.AUDIO_ONLY`` / ``"AUDIO_ONLY"`` / ``"audio_only"`` -> ``"AUDIO_ONLY"`` (None stays None)."""
    return None if kind is None else (kind.name if isinstance(kind, Enum) else kind.upper())


def component_source(
    source: str | os.PathLike[str] | SafetensorsHeader, name: str | Component, *, kind: Enum | str | None = None
) -> ComponentSource:
    """Resolve a path / header and a component name; raise CheckpointError when the file lacks the component.

    ``kind``: build the transformer as this ``ModelKind`` (e.g. AUDIO_ONLY from an audio+video file: the video
    stream's and the cross-modal keys, as ``keymaps.TRANSFORMER_KIND_SKIPS`` lists them, are not read).
    """
    header = source if isinstance(source, SafetensorsHeader) else read_header(source)
    component = parse_component(name)
    kind_name = _kind_name(kind)
    if kind_name is not None and component is Component.TRANSFORMER:
        file_kind = transformer_kind(header.keys())
        if file_kind not in (kind_name, "AUDIO_VIDEO"):
            raise CheckpointError(f"{header.path}: a {file_kind} transformer cannot be built as {kind_name}")
    try:
        keys = model_state_keys(header.keys(), component, kind=kind_name)
    except ValueError as exc:
        raise CheckpointError(f"{header.path}: {exc}") from None
    if not keys:
        raise CheckpointError(f"{header.path}: no {component.value} tensors in this file")
    return ComponentSource(header, component, keys, kind_name)


def default_dtype(src: ComponentSource) -> torch.dtype:
    """Compute dtype when none is given: the component's dominant float storage dtype; fp8 -> bfloat16."""
    nbytes: dict[str, int] = {}
    for file_key in src.keys.values():
        info = src.header.tensors[file_key]
        nbytes[info.dtype] = nbytes.get(info.dtype, 0) + info.nbytes
    floats = {d: n for d, n in nbytes.items() if d in _FLOAT_BY_STORAGE}
    if not floats:
        return torch.bfloat16
    return _FLOAT_BY_STORAGE[max(floats, key=floats.__getitem__)]


def _instantiate(src: ComponentSource, *, dtype: torch.dtype, device: str | torch.device, operations: Any) -> nn.Module:
    """Build the module from the header's config, wrapping config errors into one-line CheckpointErrors."""
    try:
        cfg = make_config(src.component, src.header.config(), set(src.header.keys()), choices=src.choices())
    except KeyError as exc:
        raise CheckpointError(f"{src.header.path}: {exc.args[0]}") from None
    except ValueError as exc:  # ConfigError is a ValueError
        raise CheckpointError(f"{src.header.path}: {src.component.value}: {exc}") from None
    return make_module(src.component, cfg, dtype=dtype, device=device, operations=operations)


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED_KEYS])
    return shown + (f", ... ({len(items) - MAX_LISTED_KEYS} more)" if len(items) > MAX_LISTED_KEYS else "")


def check_keys(src: ComponentSource, model: nn.Module) -> None:
    """Compare module state-dict names/shapes with the file. Raises ONE StateDictMismatchError (one line)."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict(keep_vars=True).items()}
    to_file = src.keys
    missing = [k for k in expected if k not in to_file]
    unexpected = [to_file[k] for k in to_file if k not in expected]
    shapes = [
        f"{to_file[k]} {list(src.header.tensors[to_file[k]].shape)} vs model {list(shape)}"
        for k, shape in expected.items()
        if k in to_file and src.header.tensors[to_file[k]].shape != shape
    ]
    if not (missing or unexpected or shapes):
        return
    strip = KEYMAPS[src.component].strip
    parts = [f"{len(missing)} missing key(s): {_listing([strip + k for k in missing])}"] if missing else []
    parts += [f"{len(unexpected)} unexpected key(s): {_listing(unexpected)}"] if unexpected else []
    parts += [f"{len(shapes)} shape mismatch(es): {_listing(shapes)}"] if shapes else []
    raise StateDictMismatchError(
        f"{src.header.path}: {src.component.value} does not match the model built from its config: " + "; ".join(parts)
    )


def build_component(
    source: str | os.PathLike[str] | SafetensorsHeader,
    name: str | Component,
    *,
    device: str | torch.device = "meta",
    dtype: torch.dtype | None = None,
    operations: Any = layers,
    kind: Enum | str | None = None,
) -> nn.Module:
    """Build component ``name`` on the meta device from the header alone and validate it strictly.

    Args:
        source: checkpoint path or an already-read header.
        name: a :class:`Component` or its name (``"transformer"``, ``"video_vae"``...).
        device: must be ``"meta"`` (data is never read here; use :func:`load_component`).
        dtype: parameter dtype of the meta module (default: the component's storage dtype, fp8 -> bf16).
        kind: transformer only: the ``ModelKind`` to build (AUDIO_ONLY from an audio+video file skips the video
            and cross-modal keys); None = as the file is.
    Returns:
        the module with every parameter on ``meta``.
    Raises:
        StateDictMismatchError / CheckpointError (one-line messages), ComponentUnavailableError.
    """
    if torch.device(device).type != "meta":
        raise ValueError("build_component only builds on the meta device; use load_component to read weights")
    src = component_source(source, name, kind=kind)
    model = _instantiate(src, dtype=dtype or default_dtype(src), device="meta", operations=operations)
    check_keys(src, model)
    return model


@contextlib.contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """While active, every registered parameter is moved to ``meta`` (buffers are untouched)."""
    original = nn.Module.register_parameter

    def register(module: nn.Module, pname: str, param: nn.Parameter | None) -> None:
        if param is not None and param.device.type != "meta":
            param = nn.Parameter(param.detach().to("meta"), requires_grad=param.requires_grad)
        original(module, pname, param)

    nn.Module.register_parameter = register  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = original  # type: ignore[method-assign]


def _scale_for(
    src: ComponentSource, file_key: str, suffixes: tuple[str, ...] = FP8_WEIGHT_SCALE_SUFFIXES
) -> str | None:
    """The file key of a stored fp8 weight scale for ``file_key`` (``x.weight`` -> ``x.weight_scale``); with
    ``FP8_INPUT_SCALE_SUFFIXES``, of its input scale (``x.input_scale``)."""
    if not file_key.endswith(".weight"):
        return None
    stem = file_key[: -len(".weight")]
    return next((stem + s for s in suffixes if stem + s in src.header.tensors), None)


def _convert(
    src: ComponentSource, reader: SafetensorsReader, file_key: str, target: torch.Tensor, fp8: Fp8Mode
) -> torch.Tensor:
    """Stored tensor -> the dtype the module declared for it (fp8 kept or up-cast, de-quantised if scaled)."""
    tensor = reader.read(file_key)
    scale_key = _scale_for(src, file_key) if tensor.dtype in FP8_DTYPES else None
    if tensor.dtype in FP8_DTYPES and fp8 is Fp8Mode.KEEP:
        if scale_key is not None:
            raise CheckpointError(f"{file_key}: scaled fp8 weights can only be loaded with Fp8Mode.UPCAST or "
                                  "Fp8Mode.SCALED")
        return tensor
    if scale_key is not None and fp8 is Fp8Mode.SCALED and tensor.dtype == torch.float8_e4m3fn:
        return tensor  # stays e4m3; _use_scaled_linears pairs it with its scales
    if scale_key is not None:
        scale = reader.read(scale_key).to(torch.float32)
        return (tensor.to(torch.float32) * scale).to(target.dtype)
    return tensor if tensor.dtype == target.dtype else tensor.to(target.dtype)


def load_component(
    path: str | os.PathLike[str] | SafetensorsHeader,
    name: str | Component,
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device = "cpu",
    operations: Any = layers,
    fp8: Fp8Mode = Fp8Mode.UPCAST,
    should_abort: Callable[[], None] | None = None,
    kind: Enum | str | None = None,
) -> nn.Module:
    """Materialise one component, reading only its tensors' byte ranges (one tensor in flight at a time).

    Args:
        path: checkpoint path (or its header).
        name: component name.
        dtype: compute dtype for the module (default: the component's storage dtype; fp8 storage -> bfloat16).
        device: where the weights end up; each tensor is read into CPU memory and moved there at once.
        operations: layer namespace (``torch.nn`` or ComfyUI's ``comfy.ops`` classes).
        fp8: up-cast float8 weights to ``dtype`` (default), keep them in float8, or (``SCALED``) run scaled fp8
            linears as :class:`~ltx_model.quant.Fp8Linear` with the file's per-tensor scales.
        should_abort: called before each tensor is read; whatever it raises (e.g. the host's "interrupted") stops
            the load, and the partly filled module is dropped.
        kind: transformer only: the ``ModelKind`` to build, e.g. ``ModelKind.AUDIO_ONLY`` (only the audio
            stream's tensors are read from an audio+video file); None = as the file is.
    Returns:
        the module in eval mode, every parameter and buffer on ``device``.
    """
    src = component_source(path, name, kind=kind)
    device = torch.device(device)
    with _parameters_on_meta():
        model = _instantiate(src, dtype=dtype or default_dtype(src), device="cpu", operations=operations)
    check_keys(src, model)
    state = _read_state(src, model.state_dict(keep_vars=True), device, fp8, should_abort)
    model.load_state_dict(state, strict=True, assign=True)
    del state
    if fp8 is Fp8Mode.SCALED:
        _use_scaled_linears(src, model, device)
    return _finish(src, model, device)


def _use_scaled_linears(src: ComponentSource, model: nn.Module, device: torch.device) -> None:
    """Replace each linear whose loaded weight is e4m3 with a stored ``weight_scale`` by an :class:`Fp8Linear`
    holding that weight ``(out, in)``, its scales (0-d float32) and its bias."""
    with SafetensorsReader(src.header) as reader:
        for key, file_key in src.keys.items():
            scale_key = _scale_for(src, file_key)
            if scale_key is None or src.header.tensors[file_key].dtype != "F8_E4M3":
                continue
            name = key[: -len(".weight")]
            layer = model.get_submodule(name)
            if not isinstance(layer, nn.Linear):
                raise CheckpointError(f"{file_key}: a scaled fp8 weight of a {type(layer).__name__}, not a linear "
                                      "layer; load this file with Fp8Mode.UPCAST")
            input_key = _scale_for(src, file_key, FP8_INPUT_SCALE_SUFFIXES)
            input_scale = None if input_key is None else reader.read(input_key).to(device)
            scaled = Fp8Linear(layer.weight.data, reader.read(scale_key).to(device), layer.bias, input_scale)
            parent, _, leaf = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, leaf, scaled)


def _read_state(
    src: ComponentSource,
    targets: Mapping[str, torch.Tensor],
    device: torch.device,
    fp8: Fp8Mode,
    should_abort: Callable[[], None] | None,
) -> dict[str, torch.Tensor]:
    """Read the component's tensors in file order, converted and moved to ``device`` one at a time
    (``should_abort()`` before each one)."""
    file_to_model = {file_key: key for key, file_key in src.keys.items()}
    state: dict[str, torch.Tensor] = {}
    with SafetensorsReader(src.header) as reader:
        for file_key in sorted(file_to_model, key=lambda k: src.header.tensors[k].start):
            if should_abort is not None:
                should_abort()
            key = file_to_model[file_key]
            state[key] = _convert(src, reader, file_key, targets[key], fp8).to(device)
    return state


def _finish(src: ComponentSource, model: nn.Module, device: torch.device) -> nn.Module:
    """Move constructed buffers to ``device``; refuse to return anything still on ``meta``; eval mode."""
    for module in model.modules():
        for bname, buf in list(module._buffers.items()):
            if buf is not None and buf.device != device:
                module._buffers[bname] = buf.to(device)
    leftover = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.device.type == "meta"]
    if leftover:
        raise CheckpointError(f"{src.component.value}: tensors left on the meta device: {_listing(leftover)}")
    return model.eval()


def module_nbytes(model: nn.Module) -> int:
    """Bytes held by a module's parameters and buffers."""
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)
