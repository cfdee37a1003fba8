"""GGUF-quantised transformers in the host: ``comfy.ops`` layers that de-quantise per layer at compute time, a
patcher that applies LoRA patches to the de-quantised weight (never merged into the blocks), and the loader.

* :class:`GGUFOps` (``custom_operations`` of the model config) is ``comfy.ops.manual_cast`` whose ``Linear`` can
  hold a quantised weight: the raw GGML blocks as a uint8 parameter ``(out, row_bytes)`` plus ``gguf_qtype`` /
  ``gguf_shape``. Its forward moves the blocks to the input's device, de-quantises them to the input dtype
  (``ltx_model.quant.dequantize``), applies ComfyUI's ``weight_function`` list (LoRA as ``LowVramPatch``) and runs
  the matmul; the full-precision weight exists only during that layer's call. Every other layer and every
  non-quantised tensor behaves exactly as ``manual_cast``; lowvram partial loading works as for any comfy.ops model.
* :class:`GGUFModelPatcher`: a ``ModelPatcher`` whose ``patch_weight_to_device`` attaches the LoRA patches of a
  quantised weight as a ``LowVramPatch`` weight function instead of merging them (merging would need a full-size
  weight), and removes them on unpatch. It is a plain ``ModelPatcher``, so Dynamic VRAM (comfy-aimdo) is not used
  for GGUF models (city96's ComfyUI-GGUF has the same limit, ComfyUI#13953).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import comfy.lora
import comfy.model_management
import comfy.model_patcher
import comfy.ops
import torch

from ..ltx_model.loading import Component, Variant
from ..ltx_model.loading.gguf import GGUFFile, file_config, model_keys, prefixed_keys
from ..ltx_model.loading.registry import make_config
from ..ltx_model.precision import to_storage
from ..ltx_model.quant import GGMLType, assign_tensor, dequantize
from .base_model import LTX2ModelConfig
from .model_loader import ModelFacts, attention_function


class GGUFOps(comfy.ops.manual_cast):
    """``comfy.ops.manual_cast`` with a ``Linear`` that accepts GGML-quantised weights."""

    class Linear(comfy.ops.manual_cast.Linear):
        gguf_qtype: GGMLType | None = None
        gguf_shape: tuple[int, ...] | None = None

        def set_quantized_weight(self, raw: torch.Tensor, qtype: GGMLType, shape: tuple[int, ...]) -> None:
            """Hold ``raw`` GGML blocks ``(out, row_bytes)`` as the weight of logical ``shape``."""
            if tuple(shape) != (self.out_features, self.in_features):
                raise ValueError(f"quantised weight of shape {list(shape)} for a Linear "
                                 f"[{self.out_features}, {self.in_features}]")
            self.weight = torch.nn.Parameter(raw, requires_grad=False)
            self.gguf_qtype, self.gguf_shape = GGMLType(qtype), tuple(shape)

        def forward_comfy_cast_weights(self, input: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
            if self.gguf_qtype is None:
                return super().forward_comfy_cast_weights(input, *args, **kwargs)
            raw = self.weight.to(input.device, non_blocking=True)
            weight = dequantize(raw, self.gguf_qtype, self.gguf_shape, dtype=input.dtype)  # (out, in)
            for fn in self.weight_function:
                weight = fn(weight)
            bias = None
            if self.bias is not None:
                bias = comfy.model_management.cast_to(self.bias, input.dtype, input.device)
                for fn in self.bias_function:
                    bias = fn(bias)
            return torch.nn.functional.linear(input, weight, bias)


def _quantized_layer(model: torch.nn.Module, key: str) -> GGUFOps.Linear | None:
    """The GGUF Linear whose quantised weight is ``key`` (``diffusion_model.<...>.weight``), else None."""
    owner, _, leaf = key.rpartition(".")
    try:
        module = model.get_submodule(owner)
    except AttributeError:
        return None
    if leaf == "weight" and isinstance(module, GGUFOps.Linear) and module.gguf_qtype is not None:
        return module
    return None


class GGUFModelPatcher(comfy.model_patcher.ModelPatcher):
    """``ModelPatcher`` that applies LoRA patches of quantised weights at compute time (see module docstring)."""

    def patch_weight_to_device(self, key: str, device_to: Any = None, *args: Any, **kwargs: Any) -> Any:
        layer = _quantized_layer(self.model, key)
        if layer is None or key not in self.patches:
            return super().patch_weight_to_device(key, device_to, *args, **kwargs)
        if kwargs.get("return_weight"):  # a merged full-precision copy (model saving / merging)
            weight = dequantize(layer.weight, layer.gguf_qtype, layer.gguf_shape)
            return comfy.lora.calculate_weight(self.patches[key], weight, key)
        patch = comfy.model_patcher.LowVramPatch(key, self.patches)
        layer.weight_function = [f for f in layer.weight_function if getattr(f, "key", None) != key] + [patch]
        return None

    def unpatch_model(self, device_to: Any = None, unpatch_weights: bool = True) -> None:
        super().unpatch_model(device_to=device_to, unpatch_weights=unpatch_weights)
        if unpatch_weights:
            for module in self.model.modules():
                if isinstance(module, GGUFOps.Linear) and module.gguf_qtype is not None:
                    module.weight_function = [f for f in module.weight_function
                                              if not isinstance(f, comfy.model_patcher.LowVramPatch)]


def _check_shapes(path: str, model: torch.nn.Module, file: GGUFFile, keys: dict[str, str]) -> None:
    """The file's keys and logical shapes must equal the model's state dict (one error listing up to 10 each)."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = [k for k in expected if k not in keys]
    unexpected = [keys[k] for k in keys if k not in expected]
    shapes = [f"{keys[k]} {list(file.tensors[keys[k]].shape)} vs model {list(s)}"
              for k, s in expected.items() if k in keys and file.tensors[keys[k]].shape != s]
    parts = [f"{len(v)} {what}: {', '.join(v[:10])}" for what, v in
             (("missing key(s)", missing), ("unexpected key(s)", unexpected), ("shape mismatch(es)", shapes)) if v]
    if parts:
        raise ValueError(f"{os.path.basename(path)} does not match the model built from its config: "
                         + "; ".join(parts))


def _stream(model: torch.nn.Module, file: GGUFFile, keys: dict[str, str],
            should_abort: Callable[[], None] | None) -> None:
    """Read the file's tensors one at a time: quantised Linear weights are kept as blocks, everything else is
    de-quantised / cast to its parameter's dtype. ``should_abort()`` runs before each read (it raises to stop)."""
    targets = model.state_dict(keep_vars=True)
    for key, file_key in keys.items():
        if should_abort is not None:
            should_abort()
        info = file.tensors[file_key]
        data = file.read(file_key)
        owner, _, leaf = key.rpartition(".")
        layer = model.get_submodule(owner) if owner else model
        if info.quantized and leaf == "weight" and isinstance(layer, GGUFOps.Linear):
            layer.set_quantized_weight(data, info.qtype, info.shape)
            continue
        value = dequantize(data, info.qtype, info.shape, dtype=torch.float32)
        assign_tensor(model, key, to_storage(value, targets[key].dtype), assign=False)


def load_gguf_transformer(path: str, family: Any = None, *,
                          should_abort: Callable[[], None] | None = None) -> GGUFModelPatcher:
    """A GGUF transformer (+ text connectors when present) as a MODEL patcher; ``family``: preset used when the
    file has no ``ltx2.config`` (None: detected from the keys). Quantised matrices stay quantised in memory.
    ``should_abort`` is called before each tensor is read; what it raises stops the load (the partly filled
    model is dropped)."""
    file = GGUFFile(path)
    file.check_data()  # a truncated file is refused before anything is built or read
    keys = model_keys(file)
    config, version, family = file_config(file, family)
    file_keys = prefixed_keys(keys)
    try:
        transformer = make_config(Component.TRANSFORMER, config, file_keys)
        has_text = any("embeddings_connector." in k for k in keys)
        text = make_config(Component.CONNECTORS, config, file_keys) if has_text else None
    except KeyError as exc:
        raise ValueError(str(exc.args[0])) from None
    variant = Variant.DISTILLED if "distill" in os.path.basename(path).lower() else Variant.DEV
    facts = ModelFacts(family, variant, version, transformer.num_layers)
    model_config = LTX2ModelConfig({"image_model": "ltx2_native", "transformer": transformer, "text": text,
                                    "attention_fn": attention_function(), "ltx2_facts": facts})
    mm = comfy.model_management
    params = sum(math.prod(t.shape) for t in file.tensors.values())
    dtype = mm.unet_dtype(model_params=params, supported_dtypes=model_config.supported_inference_dtypes,
                          weight_dtype=torch.bfloat16)
    model_config.set_inference_dtype(dtype, None)
    model_config.custom_operations = GGUFOps
    model = model_config.get_model(device=torch.device("cpu"))
    _check_shapes(path, model.diffusion_model, file, keys)
    _stream(model.diffusion_model, file, keys, should_abort)
    return GGUFModelPatcher(model, load_device=mm.get_torch_device(), offload_device=mm.unet_offload_device())
