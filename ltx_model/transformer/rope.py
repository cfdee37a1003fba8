"""Rotary position embeddings of LTX-2: fractional positions, the frequency grid, split / interleaved tables.

Conventions (ltx2-model.md §2.5): with N position axes and inner width ``dim``, K = dim // (2N) frequencies
ω_k = (π/2)·θ^(k/(K-1)), k = 0..K-1 (float64 or float32 grid, stored as float32). For a token with (midpoint)
position p_d on axis d the angle is ω_k·(2·p_d/max_pos_d − 1); the fractional part is computed in the positions'
dtype (bf16 for video latents in the reference pipelines), the product in float32. Angles are flattened
frequency-major, axis-minor (index k·N + d) and front-padded with identity rotations (cos 1, sin 0).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from .config import RopeType


@dataclass(frozen=True)
class RopeSpec:
    """What one RoPE table is built for.

    Attributes:
        dim: inner width of the rotated q/k vectors (heads * head_dim).
        heads: head count used to lay out the SPLIT table ([B, heads, T, dim/(2·heads)]).
        max_pos: per-axis normalisers; len(max_pos) == number of position axes N.
        theta: frequency base (10000).
        layout: SPLIT or INTERLEAVED.
        double_precision: build the frequency grid in float64 (then cast to float32).
        midpoint: positions carry [start, end) bounds in a last axis of size 2 and the midpoint is used.
    """

    dim: int
    heads: int
    max_pos: tuple[int, ...]
    theta: float = 10000.0
    layout: RopeType = RopeType.SPLIT
    double_precision: bool = True
    midpoint: bool = True


@dataclass(frozen=True)
class RopeTable:
    """Precomputed cos/sin of one RoPE table, ready to rotate q or k.

    Shapes: SPLIT ``(B, H, T, Dh/2)``; INTERLEAVED ``(B, T, dim)``. dtype = the activation dtype.
    """

    cos: torch.Tensor
    sin: torch.Tensor
    layout: RopeType

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Rotate ``x`` of shape ``(B, T, H*Dh)`` (q or k after its norm) and return the same shape."""
        if self.layout is RopeType.SPLIT:
            # Traced by torch.compile: the views inline (a cached_property's lock would break the graph).
            views = self._views() if torch.compiler.is_compiling() else self._split_views
            return _apply_split(x, *views)
        return _apply_interleaved(x, self.cos, self.sin)

    @functools.cached_property
    def _split_views(self) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`_views`, made once per table (every attention of every block rotates with them)."""
        return self._views()

    def _views(self) -> tuple[torch.Tensor, torch.Tensor]:
        """SPLIT tables as views in q/k's own layout: cos ``(B, T, H, 1, Dh/2)``, sin ``(B, T, H, Dh/2)``."""
        return self.cos.transpose(1, 2).unsqueeze(3), self.sin.transpose(1, 2)


@functools.lru_cache(maxsize=16)
def frequency_grid(theta: float, n_axes: int, dim: int, double_precision: bool) -> torch.Tensor:
    """The K = dim // (2·n_axes) angular frequencies (π/2)·θ^(k/(K-1)), float32 on CPU, shape ``(K,)``.

    Cached: callers move it to their device (it is never modified in place).
    """
    count = dim // (2 * n_axes)
    if double_precision:
        exponents = torch.linspace(0.0, 1.0, count, dtype=torch.float64)
        return (torch.pow(float(theta), exponents) * math.pi / 2).to(torch.float32)
    exponents = torch.linspace(math.log(1, theta), math.log(theta, theta), count, dtype=torch.float32)
    return (theta**exponents).to(torch.float32) * math.pi / 2


def rope_angles(positions: torch.Tensor, spec: RopeSpec) -> torch.Tensor:
    """Rotation angles, shape ``(B, T, K·N)``, index k·N + d.

    Args:
        positions: ``(B, N, T, 2)`` [start, end) bounds when ``spec.midpoint`` (else ``(B, N, T)`` or
            ``(B, N, T, 2)`` of which the start is used). Time in seconds, space in pixels; any float dtype —
            the fractional part is computed in this dtype, as in the reference.
        spec: table description; ``len(spec.max_pos)`` must equal N.
    """
    n_axes = positions.shape[1]
    if n_axes != len(spec.max_pos):
        raise ValueError(f"positions have {n_axes} axes but max_pos has {len(spec.max_pos)} entries")
    if spec.midpoint:
        if positions.ndim != 4 or positions.shape[-1] != 2:
            raise ValueError(f"positions must be (B, N, T, 2) [start, end) bounds, got {tuple(positions.shape)}")
        points = (positions[..., 0] + positions[..., 1]) / 2.0  # (B, N, T)
    else:
        points = positions[..., 0] if positions.ndim == 4 else positions
    # One division per axis by the Python number, exactly as the reference rounds it (N <= 3, not a token loop).
    fractional = torch.stack([points[:, axis] / spec.max_pos[axis] for axis in range(n_axes)], dim=-1)  # (B, T, N)
    grid = frequency_grid(spec.theta, n_axes, spec.dim, spec.double_precision).to(points.device)
    angles = grid * (fractional.unsqueeze(-1) * 2 - 1)  # (B, T, N, K)
    return angles.transpose(-1, -2).flatten(2)  # (B, T, K*N)


def rope_table(positions: torch.Tensor, spec: RopeSpec, *, out_dtype: torch.dtype) -> RopeTable:
    """cos/sin table for ``positions`` (see :func:`rope_angles`), cast to ``out_dtype`` (the activation dtype)."""
    angles = rope_angles(positions, spec)
    cos, sin = angles.cos(), angles.sin()
    batch, tokens, count = angles.shape
    if spec.layout is RopeType.SPLIT:
        pad = spec.dim // 2 - count
        cos, sin = _pad_front(cos, sin, pad)
        # (B, T, dim/2) -> (B, H, T, Dh/2): head h owns slots h·Dh/2 .. (h+1)·Dh/2 - 1 (pad slots go to head 0).
        cos = cos.reshape(batch, tokens, spec.heads, -1).transpose(1, 2)
        sin = sin.reshape(batch, tokens, spec.heads, -1).transpose(1, 2)
    else:
        cos, sin = cos.repeat_interleave(2, dim=-1), sin.repeat_interleave(2, dim=-1)
        cos, sin = _pad_front(cos, sin, spec.dim % (2 * len(spec.max_pos)))
    return RopeTable(cos=cos.to(out_dtype), sin=sin.to(out_dtype), layout=spec.layout)


def _pad_front(cos: torch.Tensor, sin: torch.Tensor, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Prepend ``pad`` identity rotations (cos 1, sin 0) along the last axis."""
    if pad <= 0:
        return cos, sin
    shape = (*cos.shape[:-1], pad)
    cos = torch.cat([torch.ones(shape, dtype=cos.dtype, device=cos.device), cos], dim=-1)
    sin = torch.cat([torch.zeros(shape, dtype=sin.dtype, device=sin.device), sin], dim=-1)
    return cos, sin


def _apply_split(x: torch.Tensor, cos_t: torch.Tensor, sin_t: torch.Tensor) -> torch.Tensor:
    """Half-split rotation per head: (x1, x2) -> (x1·cos − x2·sin, x2·cos + x1·sin). x: (B, T, H*Dh).

    Works in x's own (B, T, H, 2, Dh/2) layout (``cos_t`` (B, T, H, 1, Dh/2) and ``sin_t`` (B, T, H, Dh/2) are
    transposed views of the tables) and updates the halves of one product in place: no transpose copies or
    stack; bit-identical to the out-of-place formula.
    """
    batch, tokens, heads, half = sin_t.shape
    halves = x.reshape(batch, tokens, heads, 2, half)  # (B, T, H, 2, Dh/2), a view of a contiguous x
    out = halves * cos_t  # (B, T, H, 2, Dh/2)
    first, second = halves.unbind(3)  # (B, T, H, Dh/2) views, read only
    out.select(3, 0).addcmul_(second, sin_t, value=-1.0)  # select, not unbind: autograd allows these in place
    out.select(3, 1).addcmul_(first, sin_t)
    return out.view(batch, tokens, -1)


def _apply_interleaved(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Adjacent-pair rotation: (x0, x1) -> (x0·cos − x1·sin, x1·cos + x0·sin). x: (B, T, dim)."""
    pairs = x.unflatten(-1, (-1, 2))  # (B, T, dim/2, 2)
    rotated = torch.stack([-pairs[..., 1], pairs[..., 0]], dim=-1).flatten(-2)  # (B, T, dim)
    return x * cos + rotated * sin
