"""fp8 (e4m3) matmul with per-tensor scales: ``torch._scaled_mm`` on GPUs with fp8 tensor cores, the same math
emulated elsewhere.

Scales follow the official fp8 checkpoints (ltx-core ``fp8-scaled-mm``, ComfyUI "scaled fp8"): one float32
``weight_scale`` per matrix with ``weight ≈ weight_fp8 · weight_scale``, and an ``input_scale`` for the activations
(static when the file has one; otherwise computed per call as ``amax(|x|) / 448`` on the device, no host sync).

The product of a :class:`Fp8Linear` is ``(q(x / s_x) · s_x) @ (W_fp8 · s_w)ᵀ + b`` with ``q`` = round to e4m3
(saturated at ±448), accumulated in float32 and returned in the activation dtype:

* ``scaled_mm`` (CUDA, compute capability >= 8.9: Ada, Hopper, Blackwell): ``torch._scaled_mm`` — fp8 tensor-core
  GEMM, both scales applied in its epilogue;
* ``emulated`` (everywhere else, CPU included): quantise the input to e4m3 with the same scale, up-cast both
  operands to float32, multiply, scale — the identical math, at float32 speed (tested equal to ``scaled_mm``).

Which parameters become fp8 is the one table of :mod:`ltx_model.precision` (:func:`quantize_linears`).
Pure PyTorch: no host imports.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import torch
from torch import nn

from ..precision import fp8_eligible

E4M3 = torch.float8_e4m3fn
E4M3_MAX = float(torch.finfo(E4M3).max)  # 448
MIN_SCALE = 1e-12  # an all-zero tensor gets this scale instead of 0 (no division by zero)


class Fp8Path(Enum):
    """How :func:`fp8_linear` computes: fp8 tensor cores or the float32 emulation of the same math."""

    SCALED_MM = "scaled_mm"
    EMULATED = "emulated"


def fp8_path(device: torch.device | str) -> Fp8Path:
    """``SCALED_MM`` on a CUDA device of compute capability >= 8.9 with ``torch._scaled_mm``, else ``EMULATED``."""
    device = torch.device(device)
    if device.type != "cuda" or not hasattr(torch, "_scaled_mm") or not torch.cuda.is_available():
        return Fp8Path.EMULATED
    return Fp8Path.SCALED_MM if torch.cuda.get_device_capability(device) >= (8, 9) else Fp8Path.EMULATED


def tensor_scale(x: torch.Tensor) -> torch.Tensor:
    """Per-tensor e4m3 scale ``amax(|x|) / 448`` as a float32 0-d tensor on ``x``'s device (no host sync)."""
    return (x.detach().abs().amax().float() / E4M3_MAX).clamp(min=MIN_SCALE)


def quantize_fp8(x: torch.Tensor, scale: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` -> (e4m3 tensor ``round(x / scale)`` saturated at ±448, float32 0-d ``scale``).

    ``scale`` None = :func:`tensor_scale` (the whole range used). Division in float32."""
    scale = tensor_scale(x) if scale is None else scale.float()
    quantized = (x.float() / scale).clamp(-E4M3_MAX, E4M3_MAX).to(E4M3)
    return quantized, scale


def dequantize_fp8(quantized: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``quantized · scale`` (float32 product) in ``dtype``."""
    return (quantized.float() * scale.float()).to(dtype)


def fp8_linear(
    x: torch.Tensor, weight: torch.Tensor, weight_scale: torch.Tensor, bias: torch.Tensor | None = None, *,
    input_scale: torch.Tensor | None = None, path: Fp8Path | None = None,
) -> torch.Tensor:
    """fp8 ``linear``: x ``(..., in)`` (any float dtype), weight ``(out, in)`` e4m3, scales float32 0-d, bias
    ``(out,)`` -> ``(..., out)`` in ``x.dtype``. ``path`` None = :func:`fp8_path` of ``x``'s device."""
    path = fp8_path(x.device) if path is None else path
    q_x, s_x = quantize_fp8(x.reshape(-1, x.shape[-1]), input_scale)  # (M, in)
    if path is Fp8Path.SCALED_MM:
        out = _scaled_mm(q_x, weight, s_x, weight_scale.float(), bias, x.dtype)
    else:
        out = (q_x.float() * s_x) @ (weight.float() * weight_scale.float()).t()  # (M, out), float32 accumulate
        out = (out if bias is None else out + bias.float()).to(x.dtype)
    return out.reshape(*x.shape[:-1], weight.shape[0])


def _scaled_mm(q_x: torch.Tensor, weight: torch.Tensor, s_x: torch.Tensor, s_w: torch.Tensor,
               bias: torch.Tensor | None, out_dtype: torch.dtype) -> torch.Tensor:
    """``torch._scaled_mm`` (row-major A, column-major B = the transposed row-major weight); float32 results get
    the bias added after (the kernel takes a bias only for 16-bit outputs). (M, in) x (out, in) -> (M, out)."""
    fused_bias = bias is not None and out_dtype in (torch.bfloat16, torch.float16)
    out = torch._scaled_mm(q_x, weight.t(), scale_a=s_x, scale_b=s_w, bias=bias.to(out_dtype) if fused_bias else None,
                           out_dtype=out_dtype)
    return out if bias is None or fused_bias else out + bias.to(out_dtype)


class Fp8Linear(nn.Module):
    """A linear layer stored in e4m3 with the official checkpoints' side tensors.

    State dict: ``weight`` (out, in) e4m3, ``weight_scale`` () float32, ``bias`` (out,) (high precision) when
    present, ``input_scale`` () float32 when static. ``path`` None = chosen per call from the input's device.
    """

    def __init__(self, weight: torch.Tensor, weight_scale: torch.Tensor, bias: torch.Tensor | None = None,
                 input_scale: torch.Tensor | None = None, path: Fp8Path | None = None) -> None:
        super().__init__()
        self.in_features, self.out_features = weight.shape[1], weight.shape[0]
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.register_buffer("weight_scale", weight_scale.float().reshape(()))
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)
        self.register_buffer("input_scale", None if input_scale is None else input_scale.float().reshape(()))
        self.path = path

    @classmethod
    def from_linear(cls, layer: nn.Linear, *, input_scale: torch.Tensor | None = None,
                    path: Fp8Path | None = None) -> Fp8Linear:
        """Quantise ``layer``'s weight per tensor (on its own device); the bias is kept as is."""
        weight, scale = quantize_fp8(layer.weight.detach())
        bias = None if layer.bias is None else layer.bias.detach()
        return cls(weight, scale, bias, input_scale, path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., in_features)`` -> ``(..., out_features)`` in ``x.dtype``."""
        return fp8_linear(x, self.weight, self.weight_scale, self.bias, input_scale=self.input_scale, path=self.path)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, path={self.path}"


def quantize_linears(model: nn.Module, *, eligible: Callable[[str], bool] = fp8_eligible,
                     path: Fp8Path | None = None) -> list[str]:
    """Replace every ``nn.Linear`` of ``model`` whose ``<name>.weight`` is ``eligible`` (default: the transformer
    table of :mod:`ltx_model.precision`) by an :class:`Fp8Linear`, in place. Returns the replaced module names."""
    names = [name for name, module in model.named_modules()
             if isinstance(module, nn.Linear) and eligible(f"{name}.weight")]
    for name in names:
        parent_name, _, leaf = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, leaf, Fp8Linear.from_linear(getattr(parent, leaf), path=path))
    return names


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    """``||got - want|| / ||want||`` (float32 L2), the tolerance measure of the fp8 tests and the GPU check."""
    want = want.float()
    return float(torch.linalg.vector_norm(got.float() - want) / torch.linalg.vector_norm(want).clamp(min=1e-30))


__all__ = ["E4M3", "E4M3_MAX", "Fp8Linear", "Fp8Path", "dequantize_fp8", "fp8_linear", "fp8_path",
           "quantize_fp8", "quantize_linears", "relative_error", "tensor_scale"]
