"""The library's default layer namespace (the ``operations`` argument of every module) and its cheap CPU fusions.

Every module is built from an ``operations`` namespace (``operations.Linear``, ``operations.RMSNorm``, ...) so a
host can substitute its own layers (ComfyUI passes ``comfy.ops``). Standalone, the library uses this module: the
``torch.nn`` classes, except that on a CPU in float32

* :class:`Linear` adds the bias after the matrix product instead of through ``addmm`` (whose CPU kernel first
  copies the broadcast bias into the whole output, a full extra pass over it), and
* :func:`rms_norm` / :class:`RMSNorm` take the mean square from one vectorised norm reduction instead of the
  composite ``pow`` / ``mean`` chain, and
* :func:`linear_gelu_tanh` (the feed-forward's first half) runs one oneDNN GEMM with the bias and the tanh-GELU
  fused into it (PyTorch's ``mkldnn._linear_pointwise``, the kernel its own CPU compiler uses for this pattern),
  where that op exists and passes a one-time self-check against the plain ops.

All three differ from the plain ops by float32 rounding only (|diff| ~1e-7 relative) and are taken for inference
only (no autograd recording: they work in place); every other device and dtype (CUDA's fused bias GEMM and RMSNorm
kernels, bf16 / fp16 on a CPU) and autograd stay on the plain ops, bit for bit.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "GroupNorm", "LayerNorm", "Linear", "RMSNorm",
           "cpu_fast_path", "linear_gelu_tanh", "norm_fresh", "rms_norm"]

Conv1d, Conv2d, Conv3d, ConvTranspose1d = nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d
GroupNorm, LayerNorm = nn.GroupNorm, nn.LayerNorm


def cpu_fast_path(x: torch.Tensor) -> bool:
    """Whether ``x`` takes the CPU float32 inference paths: float32 on a CPU, no autograd recording, not being
    traced by ``torch.compile`` (the compiler fuses the plain ops itself; the fast paths' cached self-checks would
    break its graph)."""
    return x.is_cpu and x.dtype == torch.float32 and not torch.is_grad_enabled() and not torch.compiler.is_compiling()


def rms_norm(
    x: torch.Tensor, eps: float, weight: torch.Tensor | None = None, *, in_place: bool = False
) -> torch.Tensor:
    """RMS normalisation over the last axis, ``x / sqrt(mean(x²) + eps) (· weight)``. x: (..., D); weight: (D,).

    ``in_place``: on the CPU fast path, write into ``x`` (a fresh tensor nobody else holds; same values)."""
    if not cpu_fast_path(x):
        return F.rms_norm(x, (x.shape[-1],), weight, eps)
    norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True)  # (..., 1)
    inverse = torch.addcmul(_scalar(eps, x.device), norm, norm, value=1.0 / x.shape[-1]).rsqrt_()  # (..., 1)
    out = x.mul_(inverse) if in_place else x * inverse
    return out if weight is None else out.mul_(weight)


def norm_fresh(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``norm(x)`` for ``x`` a fresh layer output that nobody else holds (q or k after its projection): this
    module's :class:`RMSNorm` normalises it in place on the CPU fast path (same values, no new tensor)."""
    return norm.normalise(x, in_place=True) if isinstance(norm, RMSNorm) else norm(x)


@functools.lru_cache(maxsize=16)
def _scalar(value: float, device: torch.device) -> torch.Tensor:
    """A 0-d float32 tensor of ``value`` on ``device`` (made once; never modified)."""
    return torch.tensor(value, dtype=torch.float32, device=device)


class Linear(nn.Linear):
    """``torch.nn.Linear``; in float32 on a CPU the bias is added in place after the product."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., in_features)`` -> ``(..., out_features)``."""
        if self.bias is None or not cpu_fast_path(x) or x.dim() < 2:
            return super().forward(x)
        return F.linear(x, self.weight).add_(self.bias)


class RMSNorm(nn.RMSNorm):
    """``torch.nn.RMSNorm`` over the last axis through :func:`rms_norm`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., D)`` -> ``(..., D)``."""
        return self.normalise(x)

    def normalise(self, x: torch.Tensor, *, in_place: bool = False) -> torch.Tensor:
        """:meth:`forward`, optionally in ``x``'s storage (see :func:`rms_norm`)."""
        if len(self.normalized_shape) != 1:
            return super().forward(x)
        eps = torch.finfo(x.dtype).eps if self.eps is None else self.eps
        return rms_norm(x, eps, self.weight, in_place=in_place)


def linear_gelu_tanh(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``gelu(layer(x), approximate="tanh")``. For this module's :class:`Linear` on the CPU fast path: one oneDNN
    GEMM with bias and GELU fused (float32 rounding apart). x: (..., in_features) -> (..., out_features)."""
    fused = isinstance(layer, Linear) and cpu_fast_path(x) and layer.weight.dtype == x.dtype
    if fused and _onednn_linear_gelu_works():
        return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, "gelu", [], "tanh")
    return F.gelu(layer(x), approximate="tanh")


@functools.lru_cache(maxsize=1)
def _onednn_linear_gelu_works() -> bool:
    """Whether PyTorch's oneDNN fused linear + GELU op exists here and matches the plain ops (checked once)."""
    if not torch.backends.mkldnn.is_available() or not hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        return False
    gen = torch.Generator().manual_seed(0)
    x, weight, bias = (torch.randn(shape, generator=gen) for shape in ((2, 3, 16), (24, 16), (24,)))
    try:
        with torch.inference_mode():
            fused = torch.ops.mkldnn._linear_pointwise(x, weight, bias, "gelu", [], "tanh")
    except RuntimeError:
        return False
    plain = F.gelu(F.linear(x, weight, bias), approximate="tanh")
    return fused.shape == plain.shape and bool(torch.allclose(fused, plain, atol=1e-5, rtol=1e-5))
