"""The adapter formulas: how each kind of layer changes a weight (``W`` is [out, in], all deltas [out, in]).

- LoRA: ``dW = (B * s * alpha / r) @ A`` (r = rows of A; no alpha -> scale 1, Lightricks' files), computed in the
  LoRA's dtype then cast (ltx-core ``fuse_loras`` order).
- LoHa (LyCORIS): ``dW = (w1_a @ w1_b) * (w2_a @ w2_b) * s * alpha / r`` (r = rows of w1_b).
- LoKr (LyCORIS): ``dW = kron(w1, w2) * s * alpha / r`` with ``w = w_a @ w_b`` when split (r = rows of w2_b, else of
  w1_b); both factors whole -> scale 1 (alpha ignored, as LyCORIS and core do).
- diff / diff_b (ComfyUI TrainLoRA): ``dW = s * diff``, ``db = s * diff_b``.
- DoRA (LyCORIS ``weight_decompose``, PEFT ``use_dora``): ``W1 = W + dW(s=1)``;
  ``D = W1 * m / ||W1||`` with the norm taken per output row when the magnitude ``m`` is [out, 1] (LyCORIS
  ``wd_on_out``, PEFT's ``lora_magnitude_vector`` [out]) and per input column when it is [1, in]; the result is
  ``W + s * (D - W)`` (ComfyUI core's strength rule; LyCORIS instead scales ``m / ||W1||`` towards 1, which agrees at
  s = 1). Core's own ``weight_decompose`` divides by the norm of ``W`` instead of ``W1`` on the output axis; this
  module is what the pack's loaders use there.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .layers import LoraLayer

Fetch = Callable[[str], torch.Tensor]


def _alpha_scale(layer: LoraLayer, fetch: Fetch, rank: int | None) -> float:
    """``alpha / rank`` (1 without alpha or rank)."""
    if rank is None or "alpha" not in layer.parts:
        return 1.0
    return float(fetch(layer.parts["alpha"]).float().item()) / rank


def _factor(layer: LoraLayer, fetch: Fetch, name: str) -> torch.Tensor:
    if name in layer.parts:
        return fetch(layer.parts[name])
    return torch.matmul(fetch(layer.parts[f"{name}_a"]), fetch(layer.parts[f"{name}_b"]))


def weight_delta(layer: LoraLayer, fetch: Fetch, strength: float, dtype: torch.dtype) -> torch.Tensor | None:
    """``dW`` of the layer's weight adapter at ``strength`` (DoRA magnitude not applied), cast to ``dtype``; None
    when the layer adapts only the bias. Shape [out, in] (the diff's own shape for ``diff``)."""
    kind = layer.kind
    if kind == "LoRA":
        a, b = fetch(layer.parts["A"]), fetch(layer.parts["B"])
        scale = float(strength) * _alpha_scale(layer, fetch, a.shape[0])
        return torch.matmul(b * scale, a).to(dtype)
    if kind == "LoHa":
        one = torch.matmul(fetch(layer.parts["hada_w1_a"]), fetch(layer.parts["hada_w1_b"]))
        two = torch.matmul(fetch(layer.parts["hada_w2_a"]), fetch(layer.parts["hada_w2_b"]))
        rank = fetch(layer.parts["hada_w1_b"]).shape[0]
        return (one * two * (float(strength) * _alpha_scale(layer, fetch, rank))).to(dtype)
    if kind == "LoKr":
        split = next((p for p in ("w2_b", "w1_b") if p in layer.parts), None)
        rank = fetch(layer.parts[split]).shape[0] if split else None
        kron = torch.kron(_factor(layer, fetch, "w1"), _factor(layer, fetch, "w2"))
        return (kron * (float(strength) * _alpha_scale(layer, fetch, rank))).to(dtype)
    if kind == "diff":
        return (fetch(layer.parts["diff"]) * float(strength)).to(dtype)
    return None


def bias_delta(layer: LoraLayer, fetch: Fetch, strength: float, dtype: torch.dtype) -> torch.Tensor | None:
    """``db = s * diff_b`` (shape [out]), or None."""
    if "diff_b" not in layer.parts:
        return None
    return (fetch(layer.parts["diff_b"]) * float(strength)).to(dtype)


def dora_magnitude(layer: LoraLayer, fetch: Fetch) -> torch.Tensor:
    """The DoRA magnitude as [out, 1] or [1, in] (PEFT's [out] vector becomes [out, 1])."""
    if "dora_scale" in layer.parts:
        return fetch(layer.parts["dora_scale"])
    return fetch(layer.parts["magnitude"]).reshape(-1, 1)


def dora_weight(weight: torch.Tensor, delta: torch.Tensor, magnitude: torch.Tensor, strength: float) -> torch.Tensor:
    """``W + s * (D - W)``, ``D = (W + dW) * m / ||W + dW||`` (module docstring), computed in at least float32.

    Args:
        weight: ``W`` [out, in]. delta: ``dW`` at strength 1 [out, in]. magnitude: [out, 1] or [1, in].
    Returns:
        The new weight in the compute dtype (float64 stays float64).
    """
    dtype = torch.promote_types(torch.promote_types(weight.dtype, delta.dtype), torch.float32)
    base = weight.to(dtype)
    merged = base + delta.to(dtype)
    axis = 1 if magnitude.shape[0] == merged.shape[0] and magnitude.shape[-1] == 1 else 0
    norm = merged.norm(dim=axis, keepdim=True) + torch.finfo(dtype).eps
    decomposed = merged * (magnitude.to(device=merged.device, dtype=dtype) / norm)
    return base + float(strength) * (decomposed - base)


def patched_weight(layer: LoraLayer, fetch: Fetch, weight: torch.Tensor, strength: float) -> torch.Tensor:
    """The layer's weight after this adapter alone (DoRA included), in the compute dtype of :func:`dora_weight`
    for DoRA layers and ``weight``'s dtype otherwise."""
    if layer.dora:
        delta = weight_delta(layer, fetch, 1.0, torch.promote_types(weight.dtype, torch.float32))
        return dora_weight(weight, delta.reshape(weight.shape), dora_magnitude(layer, fetch), strength)
    delta = weight_delta(layer, fetch, strength, weight.dtype)
    return weight if delta is None else weight + delta.reshape(weight.shape)
