"""3-D neighbourhood attention (NATTEN ``na3d`` semantics, dilation 1, non-causal) in pure PyTorch.

Every query at grid position ``(t, h, w)`` attends exactly ``k_a`` positions per axis ``a``: the window
``[s, s + k_a)`` with ``s = clamp(i - k_a // 2, 0, L_a - k_a)``, i.e. centred where possible and **shifted inward**
at the grid border (never truncated). A kernel larger than its axis is clamped to the axis length (comfy-kitchen's
convention; ltx-core instead pads the latent so this never happens, see :mod:`.diffusion_decoder`).

The pure path gathers each query's window of keys and values (chunked so the gathered windows stay under
:data:`GATHER_BUDGET` elements) and runs an exact softmax over it: the result equals dense attention restricted to
each query's window (checked against a brute-force masked attention in the tests).

A faster kernel with the same signature can be passed to the decoder instead (ComfyUI's ``comfy_kitchen.na3d``,
whose eager / Triton / CUDA backends implement the same semantics): ``fn(q, k, v, kernel_size=[kt, kh, kw],
scale=1.0)``. The library never imports it itself; a host passes it in (see :class:`NA3DFunction`).
"""

from __future__ import annotations

import math
from typing import Protocol

import torch

# Elements of one chunk's gathered key (or value) windows: bounds the pure path's working memory.
GATHER_BUDGET = 2**24


class NA3DFunction(Protocol):
    """A neighbourhood-attention kernel: q, k, v ``(B, T, H, W, heads, head_dim)`` -> same shape."""

    def __call__(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, kernel_size: list[int], scale: float
    ) -> torch.Tensor: ...


def window_starts(length: int, kernel: int) -> list[int]:
    """First attended index of every query along one axis (window shifted inward at both borders)."""
    kernel = min(kernel, length)
    return [min(max(i - kernel // 2, 0), length - kernel) for i in range(length)]


def window_index(length: int, kernel: int, device: torch.device) -> torch.Tensor:
    """``(length, min(kernel, length))`` indices attended by every query along one axis."""
    kernel = min(kernel, length)
    starts = torch.tensor(window_starts(length, kernel), device=device)
    return starts[:, None] + torch.arange(kernel, device=device)[None, :]


def na3d_torch(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, kernel_size: list[int] | tuple[int, ...],
    scale: float | None = None,
) -> torch.Tensor:
    """Neighbourhood attention over ``(B, T, H, W, heads, head_dim)`` tensors (see the module docstring).

    Gathers every query's window of keys and values, chunk by chunk of (frame, row) query blocks so that one
    chunk's windows stay under :data:`GATHER_BUDGET` elements. ``scale`` defaults to ``head_dim ** -0.5``.
    """
    batch, t, h, w, heads, dim = q.shape
    index = [window_index(n, kk, q.device) for n, kk in zip((t, h, w), kernel_size, strict=True)]
    window = math.prod(i.shape[1] for i in index)
    scale = dim**-0.5 if scale is None else scale
    per_row = batch * w * window * heads * dim
    rows = max(1, GATHER_BUDGET // per_row)
    row_chunk = min(h, rows)
    frame_chunk = max(1, min(t, rows // h)) if row_chunk == h else 1
    out = torch.empty_like(v)
    for t0 in range(0, t, frame_chunk):
        for h0 in range(0, h, row_chunk):
            sl = (slice(t0, t0 + frame_chunk), slice(h0, h0 + row_chunk))
            out[:, sl[0], sl[1]] = _attend_chunk(q[:, sl[0], sl[1]], k, v, index, sl, scale)
    return out


def _gather(x: torch.Tensor, index: list[torch.Tensor], sl: tuple[slice, slice]) -> torch.Tensor:
    """Windows of ``x (B, T, H, W, n, d)`` for the queries of frames/rows ``sl``: ``(B, tq, hq, W, n, K, d)``."""
    it, ih, iw = index[0][sl[0]], index[1][sl[1]], index[2]
    g = x[:, it[:, :, None, None], ih[None, None, :, :]]  # (B, tq, kt, hq, kh, W, n, d)
    g = g[:, :, :, :, :, iw]  # (B, tq, kt, hq, kh, W, kw, n, d)
    b, tq, kt, hq, kh, w, kw, n, d = g.shape
    return g.permute(0, 1, 3, 5, 7, 2, 4, 6, 8).reshape(b, tq, hq, w, n, kt * kh * kw, d)


def _attend_chunk(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, index: list[torch.Tensor], sl: tuple[slice, slice],
    scale: float,
) -> torch.Tensor:
    """Softmax attention of the chunk's queries ``(B, tq, hq, W, n, d)`` over their gathered windows."""
    keys = _gather(k, index, sl)
    scores = torch.einsum("bthwnd,bthwnkd->bthwnk", q, keys) * scale
    del keys
    probs = torch.softmax(scores.float(), dim=-1).to(v.dtype)
    return torch.einsum("bthwnk,bthwnkd->bthwnd", probs, _gather(v, index, sl))


def na3d_default(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, kernel_size: list[int], scale: float
) -> torch.Tensor:
    """The library's default :class:`NA3DFunction` (the pure-PyTorch path)."""
    return na3d_torch(q, k, v, kernel_size=kernel_size, scale=scale)
