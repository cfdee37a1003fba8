"""Weight storage of the pack's MODEL in the host: the loader's ``weight_dtype`` option, the precision table applied
to the built model, and streaming the file's tensors into it one at a time.

* ``default``: ComfyUI's own choice (``unet_dtype``: keeps fp8 files in fp8 when memory is short or the GPU computes
  fp8, honours ``--fp8_e4m3fn-unet`` / ``--bf16-unet``...).
* ``fp8_e4m3fn`` / ``fp8_e5m2``: the fp8-eligible matrices (``ltx_model.precision``) are stored in fp8 whatever the
  file's dtype (bf16 files are cast on load); the rest keeps the compute dtype. Compute is up-cast by ``comfy.ops``
  (``manual_cast``: ComfyUI passes the storage and compute dtypes to ``pick_operations``).
* ``fp8_e4m3fn_fast``: the same storage, plus ComfyUI's fp8 matmul (``comfy.ops.fp8_ops``) where the host supports fp8
  compute (``model_management.supports_fp8_compute``, e.g. Ada / Hopper); elsewhere it is plain ``fp8_e4m3fn``.
* ``bf16``: bf16 storage (fp8 files are up-cast).

Loading never holds the checkpoint in RAM: the model is built with empty parameters, then each tensor is read by
byte range, converted to its parameter's dtype and copied (or assigned, for ComfyUI's dynamic patcher) before the
next one is read. Peak memory = the model + one tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import comfy.model_management
import torch

from ..ltx_model.loading import SafetensorsReader
from ..ltx_model.loading.build import ComponentSource
from ..ltx_model.loading.keymaps import FP8_WEIGHT_SCALE_SUFFIXES
from ..ltx_model.precision import FP8_DTYPES, storage_dtype, to_storage
from ..ltx_model.quant import assign_tensor

WEIGHT_DTYPES: dict[str, torch.dtype | None] = {
    "default": None, "fp8_e4m3fn": torch.float8_e4m3fn, "fp8_e4m3fn_fast": torch.float8_e4m3fn,
    "fp8_e5m2": torch.float8_e5m2, "bf16": torch.bfloat16,
}
"""The loader's ``weight_dtype`` options -> forced storage dtype (None: ComfyUI decides)."""
FP8_MATMUL_OPTIONS = ("fp8_e4m3fn_fast",)


@dataclass(frozen=True)
class WeightPlan:
    """Storage and compute dtypes of one load.

    ``weight_dtype``: the model's (unet) dtype, used by the fp8-eligible matrices; ``manual_cast``: the compute dtype
    when it differs from the storage (None: compute in ``weight_dtype``); ``fp8_matmul``: ComfyUI's fp8 matmul was
    requested (it is used only where the host supports fp8 compute).
    """

    weight_dtype: torch.dtype
    manual_cast: torch.dtype | None
    fp8_matmul: bool = False

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype activations are computed in."""
        return self.manual_cast or self.weight_dtype


def plan_weights(option: str, *, file_dtype: torch.dtype, params: int, supported: list[torch.dtype]) -> WeightPlan:
    """The :class:`WeightPlan` of loader option ``option`` for a model of ``params`` parameters stored mostly in
    ``file_dtype``; ``supported``: the model config's inference dtypes."""
    if option not in WEIGHT_DTYPES:
        raise ValueError(f"unknown weight_dtype {option!r}; choose one of {', '.join(WEIGHT_DTYPES)}")
    mm = comfy.model_management
    forced = WEIGHT_DTYPES[option]
    dtype = forced or mm.unet_dtype(model_params=params, supported_dtypes=supported, weight_dtype=file_dtype)
    manual_cast = mm.unet_manual_cast(dtype, mm.get_torch_device(), supported)
    return WeightPlan(dtype, manual_cast, fp8_matmul=option in FP8_MATMUL_OPTIONS)


def apply_precision_table(model: torch.nn.Module, plan: WeightPlan) -> int:
    """Give every parameter that must stay high precision (``ltx_model.precision``) the compute dtype.

    Called on the freshly built model (empty parameters, before loading), only when the weight dtype is fp8.
    Returns the number of parameters changed.
    """
    if plan.weight_dtype not in FP8_DTYPES:
        return 0
    changed = 0
    for key, param in list(model.named_parameters()):
        target = storage_dtype(key, plan.weight_dtype, plan.compute_dtype)
        if param.dtype != target:
            empty = torch.empty(param.shape, dtype=target, device=param.device)
            assign_tensor(model, key, empty, assign=True)
            changed += 1
    return changed


def _scale_key(source: ComponentSource, file_key: str) -> str | None:
    """The stored fp8 weight scale of ``file_key`` (``x.weight`` -> ``x.weight_scale``), if the file has one."""
    stem = file_key.removesuffix(".weight")
    if stem == file_key:
        return None
    return next((stem + s for s in FP8_WEIGHT_SCALE_SUFFIXES if stem + s in source.header.tensors), None)


def stream_weights(model: torch.nn.Module, source: ComponentSource, *, assign: bool,
                   should_abort: Callable[[], None] | None = None) -> None:
    """Read ``source``'s tensors in file order, one at a time, into ``model``'s parameters and buffers.

    Each tensor is converted to the dtype of the model's tensor it replaces (scaled fp8 is de-quantised in fp32
    first; casts to fp8 saturate). ``assign``: replace the parameter by the converted tensor (ComfyUI's dynamic
    patcher) instead of copying into the existing storage. ``should_abort`` is called before each tensor; what it
    raises (the host's interrupt) stops the load.
    """
    targets: Mapping[str, torch.Tensor] = model.state_dict(keep_vars=True)
    by_file = {file_key: key for key, file_key in source.keys.items()}
    with SafetensorsReader(source.header.path) as reader:
        for file_key in sorted(by_file, key=lambda k: source.header.tensors[k].start):
            if should_abort is not None:
                should_abort()
            key = by_file[file_key]
            value = reader.read(file_key)
            scale = _scale_key(source, file_key) if value.dtype in FP8_DTYPES else None
            if scale is not None:
                value = value.to(torch.float32) * reader.read(scale).to(torch.float32)
            value = to_storage(value, targets[key].dtype)
            assign_tensor(model, key, value, assign=assign)
            del value
