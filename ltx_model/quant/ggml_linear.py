"""A linear layer over GGML blocks (GGUF weights kept quantised in memory), de-quantised at each call.

The library counterpart of the host's GGUF layer (``nodes/gguf_ops.GGUFOps.Linear``) for standalone use and the
GPU check: the raw blocks stay the parameter; each forward de-quantises them to the input's dtype with
:func:`ltx_model.quant.ggml.dequantize` and runs one ``linear`` (with the bias, kept in high precision).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..precision import fp8_eligible
from .ggml import QK_K, GGMLType, dequantize, quantize_q4_k


class GGMLBlockLinear(nn.Module):
    """``x (..., in) -> (..., out)`` over ``weight``: uint8 GGML blocks ``(out, row_bytes)`` of logical shape
    ``(out, in)`` and type ``qtype``; ``bias`` ``(out,)`` or None."""

    def __init__(self, raw: torch.Tensor, qtype: GGMLType, shape: tuple[int, int],
                 bias: torch.Tensor | None = None) -> None:
        super().__init__()
        self.qtype = GGMLType(qtype)
        self.out_features, self.in_features = int(shape[0]), int(shape[1])
        self.weight = nn.Parameter(raw.reshape(self.out_features, -1), requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = dequantize(self.weight, self.qtype, (self.out_features, self.in_features), dtype=x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return nn.functional.linear(x, weight, bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, qtype={self.qtype.name}"


Quantizer = Callable[[torch.Tensor], tuple[torch.Tensor, GGMLType]]
"""``weight (out, in) -> (raw blocks (out, row_bytes), GGML type)``."""


def q4_k_or(fallback: Quantizer | None = None) -> Quantizer:
    """Q4_K (:func:`quantize_q4_k`, on the weight's device) where the input width is a multiple of 256, else
    ``fallback`` (llama.cpp likewise falls back to a 32-wide type for such rows); without one such a width raises."""

    def quantize(weight: torch.Tensor) -> tuple[torch.Tensor, GGMLType]:
        if weight.shape[-1] % QK_K == 0:
            return quantize_q4_k(weight), GGMLType.Q4_K
        if fallback is None:
            raise ValueError(f"width {weight.shape[-1]} is not a multiple of {QK_K} and no fallback type is given")
        return fallback(weight)

    return quantize


def quantize_linears_ggml(model: nn.Module, quantize: Quantizer, *,
                          eligible: Callable[[str], bool] = fp8_eligible) -> dict[str, GGMLType]:
    """Replace every ``nn.Linear`` of ``model`` whose ``<name>.weight`` is ``eligible`` (default: the transformer
    block matrices of :mod:`ltx_model.precision`, the ones GGUF files quantise) by a :class:`GGMLBlockLinear`
    holding ``quantize(weight)``, in place. Returns ``{module name: GGML type}``."""
    names = [name for name, module in model.named_modules()
             if isinstance(module, nn.Linear) and eligible(f"{name}.weight")]
    types = {}
    for name in names:
        parent_name, _, leaf = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        layer = getattr(parent, leaf)
        raw, qtype = quantize(layer.weight.detach())
        bias = None if layer.bias is None else layer.bias.detach()
        setattr(parent, leaf, GGMLBlockLinear(raw, qtype, tuple(layer.weight.shape), bias))
        types[name] = qtype
    return types


__all__ = ["GGMLBlockLinear", "Quantizer", "q4_k_or", "quantize_linears_ggml"]
