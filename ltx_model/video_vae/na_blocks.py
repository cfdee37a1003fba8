"""Building blocks of the LTX-2.5 diffusion video decoder (ltx-core 1.2 ``model/video_vae/transformer``).

All tensors are channels-last ``(B, T, H, W, C)``. Parameter names equal the checkpoint's own names (fused
``attn.qkv``, ``mlp.w_up / w_gate / w_down``, ``t_embedder.mlp.{0,2}``, ``shared_adaln.proj``), so no key is
renamed on load; ltx-core splits the fused ``qkv`` into three linears at load time, which is the same product.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import layers
from ..transformer.adaln import TIMESTEP_CHANNELS, timestep_sinusoid
from .neighborhood import NA3DFunction, na3d_default

# Tokens per chunk of the SwiGLU MLP: bounds its three hidden-width temporaries (pointwise, so exact).
MLP_TOKEN_CHUNK = 16384
NUM_MODULATIONS = 7  # scale/shift/gate for attention and MLP + a context gate; the gates are unused (folded)


def rope_dim_split(head_dim: int) -> tuple[int, int, int]:
    """Split of ``head_dim`` over the (T, H, W) rotary chunks: a quarter (even) to T, the rest halved, all even."""
    if head_dim % 8:
        raise ValueError(f"head_dim must be a multiple of 8, got {head_dim}")
    d_t = (head_dim // 4) // 2 * 2
    d_hw = (head_dim - d_t) // 2
    if d_hw % 2:
        d_t -= 2
        d_hw = (head_dim - d_t) // 2
    return d_t, d_hw, d_hw


def rope_inverse_frequencies(dim: int, base: float = 10000.0) -> torch.Tensor:
    """``1 / base ** (i / dim)`` for even ``i < dim``, computed in float64 and rounded once to float32."""
    return torch.from_numpy(1.0 / np.power(base, np.arange(0, dim, 2, dtype=np.float64) / dim)).float()


def _rotate_axis(x: torch.Tensor, axis: int, inv_freq: torch.Tensor) -> torch.Tensor:
    """Interleaved-pair rotation of ``x (B, T, H, W, heads, d)`` by 0-based positions along ``axis`` (1..3)."""
    pairs = x.reshape(*x.shape[:-1], -1, 2).float()
    positions = torch.arange(x.shape[axis], dtype=torch.float32, device=x.device)
    shape = [1, 1, 1, 1, 1, inv_freq.shape[0]]
    shape[axis] = positions.shape[0]
    angles = (positions[:, None] * inv_freq.to(x.device)[None, :]).reshape(shape)
    cos, sin = angles.cos(), angles.sin()
    even, odd = pairs[..., 0], pairs[..., 1]
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).reshape(x.shape).to(x.dtype)


def apply_rope(x: torch.Tensor, split: tuple[int, int, int]) -> torch.Tensor:
    """Absolute 3-D RoPE on ``(B, T, H, W, heads, head_dim)``: the head dims are split (T, H, W) and each chunk is
    rotated by its own axis position (local 0-based positions: inside a window only relative offsets matter)."""
    d_t, d_h, _ = split
    chunks = (x[..., :d_t], x[..., d_t : d_t + d_h], x[..., d_t + d_h :])
    pairs = enumerate(zip(chunks, split, strict=True), 1)
    rotated = [_rotate_axis(c, axis, rope_inverse_frequencies(d)) for axis, (c, d) in pairs]
    return torch.cat(rotated, dim=-1)


class NeighborhoodAttention(nn.Module):
    """Fused ``qkv`` -> per-head RMSNorm (``q_norm``, ``k_norm``) -> q·head_dim^-0.5 -> RoPE -> NA -> ``proj``."""

    def __init__(self, dim: int, kernel: tuple[int, int, int], head_dim: int, **factory: Any) -> None:
        super().__init__()
        ops = factory.pop("operations")
        self.heads, self.head_dim, self.kernel = dim // head_dim, head_dim, tuple(kernel)
        self.split = rope_dim_split(head_dim)
        self.qkv = ops.Linear(dim, 3 * dim, bias=True, **factory)
        self.proj = ops.Linear(dim, dim, bias=True, **factory)
        self.q_norm = ops.RMSNorm(head_dim, eps=1e-6, **factory)
        self.k_norm = ops.RMSNorm(head_dim, eps=1e-6, **factory)
        self.na3d: NA3DFunction = na3d_default

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, H, W, C)`` -> same; every axis must be at least as long as its kernel (as in ltx-core)."""
        b, t, h, w, c = x.shape
        if t < self.kernel[0] or h < self.kernel[1] or w < self.kernel[2]:
            raise ValueError(f"neighbourhood attention needs a grid of at least {self.kernel}, got {(t, h, w)}")
        q, k, v = self.qkv(x).view(b, t, h, w, 3, self.heads, self.head_dim).unbind(4)
        q = apply_rope(self.q_norm(q) * self.head_dim**-0.5, self.split)
        k = apply_rope(self.k_norm(k), self.split)
        out = self.na3d(q.contiguous(), k.contiguous(), v.contiguous(), kernel_size=list(self.kernel), scale=1.0)
        return self.proj(out.reshape(b, t, h, w, c))


class SwiGLU(nn.Module):
    """``w_down(silu(w_gate(x)) * w_up(x))`` without biases, hidden = round_up(4·dim, 16); token-chunked."""

    def __init__(self, dim: int, **factory: Any) -> None:
        super().__init__()
        ops = factory.pop("operations")
        hidden = (int(dim * 4.0) + 15) // 16 * 16
        self.w_up = ops.Linear(dim, hidden, bias=False, **factory)
        self.w_gate = ops.Linear(dim, hidden, bias=False, **factory)
        self.w_down = ops.Linear(hidden, dim, bias=False, **factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        out = torch.empty_like(flat)
        for start in range(0, flat.shape[0], MLP_TOKEN_CHUNK):
            part = flat[start : start + MLP_TOKEN_CHUNK]
            out[start : start + MLP_TOKEN_CHUNK] = self.w_down(F.silu(self.w_gate(part)) * self.w_up(part))
        return out.view(x.shape)


class NABlock(nn.Module):
    """Deterministic-stage block: ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``."""

    def __init__(self, dim: int, kernel: tuple[int, int, int], head_dim: int, **factory: Any) -> None:
        super().__init__()
        ops = factory["operations"]
        plain = {k: v for k, v in factory.items() if k != "operations"}
        self.norm1 = ops.RMSNorm(dim, eps=1e-6, **plain)
        self.attn = NeighborhoodAttention(dim, kernel, head_dim, **factory)
        self.norm2 = ops.RMSNorm(dim, eps=1e-6, **plain)
        self.mlp = SwiGLU(dim, **factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class DiffusionNABlock(NABlock):
    """Stage-5 block: ``x += context_proj(context)``, then AdaLN-modulated (ungated) attention and MLP residuals.

    Modulation = shared AdaLN chunks + this block's ``scale_shift_table`` (7, C); chunks 0/1 scale/shift the
    attention input, 3/4 the MLP input; the gate chunks 2/5/6 are unused (static gates are folded into
    ``attn.proj`` / ``mlp.w_down`` / ``context_proj`` when a file carries them, see :mod:`.ltx25`).
    """

    def __init__(
        self, dim: int, kernel: tuple[int, int, int], head_dim: int, context_channels: int, **factory: Any
    ) -> None:
        super().__init__(dim, kernel, head_dim, **factory)
        plain = {k: v for k, v in factory.items() if k != "operations"}
        self.context_proj = factory["operations"].Linear(context_channels, dim, bias=True, **plain)
        self.scale_shift_table = nn.Parameter(torch.zeros(NUM_MODULATIONS, dim, **plain))

    def forward(self, x: torch.Tensor, context: torch.Tensor, modulation: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """x, context: ``(B, T, H, W, C)`` / ``(B, T, H, W, C_ctx)``; modulation: ``(B, 7, C)``."""
        mod = (modulation + self.scale_shift_table.to(modulation.dtype)[None])[:, :, None, None, None, :]
        scale_msa, shift_msa, scale_mlp, shift_mlp = mod[:, 0], mod[:, 1], mod[:, 3], mod[:, 4]
        x = x + self.context_proj(context)
        x = x + self.attn(self.norm1(x) * (1 + scale_msa) + shift_msa)
        return x + self.mlp(self.norm2(x) * (1 + scale_mlp) + shift_mlp)


class PixelShuffleUpsample(nn.Module):
    """``proj`` (C -> prod(stride)·C/r) then channels-last pixel shuffle ``(c p1 p2 p3)``; a temporal stride of 2
    duplicates the leading frame, which is dropped when the input holds the video's first frame."""

    def __init__(self, dim: int, stride: tuple[int, int, int], reduction: int, **factory: Any) -> None:
        super().__init__()
        ops = factory.pop("operations")
        self.stride = tuple(stride)
        self.out_channels = dim // reduction
        self.proj = ops.Linear(dim, math.prod(self.stride) * self.out_channels, bias=True, **factory)

    def forward(self, x: torch.Tensor, *, drop_leading_frame: bool = True) -> torch.Tensor:
        b, t, h, w, _ = x.shape
        st, sh, sw = self.stride
        y = self.proj(x).view(b, t, h, w, self.out_channels, st, sh, sw)
        y = y.permute(0, 1, 5, 2, 6, 3, 7, 4).reshape(b, t * st, h * sh, w * sw, self.out_channels)
        return y[:, 1:] if st == 2 and drop_leading_frame else y


class TimestepMLP(nn.Module):
    """PixArt timestep embedding: sinusoid(256, cos first) -> ``mlp.0`` -> SiLU -> ``mlp.2``."""

    def __init__(self, dim: int, **factory: Any) -> None:
        super().__init__()
        ops = factory.pop("operations")
        first = ops.Linear(TIMESTEP_CHANNELS, dim, bias=True, **factory)
        self.mlp = nn.Sequential(first, nn.SiLU(), ops.Linear(dim, dim, bias=True, **factory))

    def forward(self, timesteps: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """``(B,)`` scaled timesteps -> ``(B, dim)``."""
        return self.mlp(timestep_sinusoid(timesteps).to(dtype))


class AdaLNZero(nn.Module):
    """``proj(silu(t_emb))`` -> ``(B, 7, C)`` modulation chunks shared by all stage-5 blocks."""

    def __init__(self, dim: int, t_emb_dim: int, **factory: Any) -> None:
        super().__init__()
        ops = factory.pop("operations")
        self.dim = dim
        self.proj = ops.Linear(t_emb_dim, NUM_MODULATIONS * dim, bias=True, **factory)

    def forward(self, t_emb: torch.Tensor) -> torch.Tensor:
        return self.proj(F.silu(t_emb)).view(-1, NUM_MODULATIONS, self.dim)


def default_operations() -> Any:
    """The library's layer namespace (``ltx_model.layers``)."""
    return layers
