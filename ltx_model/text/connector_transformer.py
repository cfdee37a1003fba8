"""One embeddings connector: a small pre-norm 1D transformer over the 1024 text tokens.

Block: ``h += attn1(rms_norm(h), rope)``; ``h += ff(rms_norm(h))``; after the last block an RMS norm without weight.
Padded tokens are replaced by learnable registers before the blocks (see :meth:`EmbeddingsConnector.forward`).
Parameter names follow the checkpoint: ``learnable_registers``, ``transformer_1d_blocks.{i}.attn1.{to_q,to_k,to_v,
to_out.0,q_norm,k_norm[,to_gate_logits]}``, ``transformer_1d_blocks.{i}.ff.net.{0.proj,2}``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import layers
from .config import ConnectorConfig, RopeLayout, TextConfig


def rope_1d(
    seq_len: int, config: TextConfig, conn: ConnectorConfig, *, device: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cos/sin tables for token positions 0..seq_len-1 (fractional position p / rope_max_pos).

    The frequency grid is ``theta ** linspace(0, 1, width // 2) * pi / 2`` (computed in float64 when
    ``rope_double_precision``, then float32, as ltx-core does); angles are ``grid * (2 * p / max_pos - 1)``.
    Returns:
        split layout: (cos, sin) each (1, H, S, head_dim // 2); interleaved: each (1, S, width).
    """
    n_freqs = conn.width // 2
    grid_dtype = torch.float64 if config.rope_double_precision else torch.float32
    grid = config.rope_theta ** torch.linspace(0.0, 1.0, n_freqs, dtype=grid_dtype)
    grid = (grid * math.pi / 2).to(torch.float32).to(device)
    positions = torch.arange(seq_len, dtype=torch.float32, device=device) / config.rope_max_pos
    angles = grid * (positions[:, None] * 2 - 1)  # (S, width // 2)
    if config.rope_layout is RopeLayout.SPLIT:
        angles = angles.reshape(1, seq_len, conn.num_heads, conn.head_dim // 2).transpose(1, 2)
        return angles.cos().to(dtype), angles.sin().to(dtype)
    cos = angles.cos().repeat_interleave(2, dim=-1)[None]
    sin = angles.sin().repeat_interleave(2, dim=-1)[None]
    return cos.to(dtype), sin.to(dtype)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, layout: RopeLayout, heads: int) -> torch.Tensor:
    """Rotate ``x`` (B, S, H * Dh) with tables from :func:`rope_1d`; returns the same shape."""
    if layout is RopeLayout.INTERLEAVED:
        pairs = x.unflatten(-1, (-1, 2))  # (B, S, W/2, 2)
        rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
        return x * cos + rotated * sin
    b, s, _ = x.shape
    halves = x.reshape(b, s, heads, 2, -1).transpose(1, 2)  # (B, H, S, 2, Dh/2)
    first, second = halves[..., 0, :], halves[..., 1, :]
    out_first = torch.addcmul(first * cos, -sin, second)  # addcmul (one rounding) as ltx-core, for bf16 parity
    out_second = torch.addcmul(second * cos, sin, first)
    out = torch.stack((out_first, out_second), dim=-2)  # (B, H, S, 2, Dh/2)
    return out.transpose(1, 2).reshape(b, s, -1)


class ConnectorAttention(nn.Module):
    """Self-attention with q/k RMS norms over the full width, RoPE and optional per-head gates ``2*sigmoid``."""

    def __init__(
        self,
        conn: ConnectorConfig,
        config: TextConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: object = layers,
    ) -> None:
        super().__init__()
        width, self.heads, self.rope_layout = conn.width, conn.num_heads, config.rope_layout
        kw = {"dtype": dtype, "device": device}
        self.q_norm = operations.RMSNorm(width, eps=config.norm_eps, **kw)
        self.k_norm = operations.RMSNorm(width, eps=config.norm_eps, **kw)
        self.to_q = operations.Linear(width, width, bias=True, **kw)
        self.to_k = operations.Linear(width, width, bias=True, **kw)
        self.to_v = operations.Linear(width, width, bias=True, **kw)
        self.to_gate_logits = (
            operations.Linear(width, conn.num_heads, bias=True, **kw) if config.gated_attention else None
        )
        self.to_out = nn.Sequential(operations.Linear(width, width, bias=True, **kw), nn.Identity())

    def forward(
        self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor | None
    ) -> torch.Tensor:
        """x: (B, S, W); rope: tables from :func:`rope_1d`; mask: additive (B, 1, 1, S) or None. Returns (B, S, W)."""
        b, s, width = x.shape
        q = apply_rope(self.q_norm(self.to_q(x)), *rope, self.rope_layout, self.heads)
        k = apply_rope(self.k_norm(self.to_k(x)), *rope, self.rope_layout, self.heads)
        v = self.to_v(x)
        q, k, v = (t.view(b, s, self.heads, -1).transpose(1, 2) for t in (q, k, v))  # (B, H, S, Dh)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2)  # (B, S, H, Dh)
        if self.to_gate_logits is not None:
            gates = 2.0 * torch.sigmoid(self.to_gate_logits(x))  # (B, S, H)
            out = out * gates.unsqueeze(-1)
        return self.to_out(out.reshape(b, s, width))


class GELUProjection(nn.Module):
    """``gelu_tanh(proj(x))`` (checkpoint name ``ff.net.0.proj``)."""

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        *,
        bias: bool,
        dtype: torch.dtype | None,
        device: torch.device | str | None,
        operations: object,
    ) -> None:
        super().__init__()
        self.proj = operations.Linear(dim_in, dim_out, bias=bias, dtype=dtype, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., dim_in) -> (..., dim_out)."""
        return F.gelu(self.proj(x), approximate="tanh")


class ConnectorFeedForward(nn.Module):
    """Width -> 4 * width (GELU tanh) -> width; keys ``net.0.proj``, ``net.2``."""

    def __init__(
        self,
        width: int,
        *,
        bias: bool,
        dtype: torch.dtype | None,
        device: torch.device | str | None,
        operations: object,
    ) -> None:
        super().__init__()
        kw = {"bias": bias, "dtype": dtype, "device": device}
        self.net = nn.Sequential(
            GELUProjection(width, 4 * width, operations=operations, **kw),
            nn.Identity(),
            operations.Linear(4 * width, width, **kw),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, S, W) -> (B, S, W)."""
        return self.net(x)


class ConnectorBlock(nn.Module):
    """Pre-norm block without AdaLN: ``h += attn1(rms(h)); h += ff(rms(h))``."""

    def __init__(
        self,
        conn: ConnectorConfig,
        config: TextConfig,
        *,
        dtype: torch.dtype | None,
        device: torch.device | str | None,
        operations: object,
    ) -> None:
        super().__init__()
        self.eps = config.norm_eps
        self.attn1 = ConnectorAttention(conn, config, dtype=dtype, device=device, operations=operations)
        self.ff = ConnectorFeedForward(
            conn.width, bias=config.ff_bias, dtype=dtype, device=device, operations=operations
        )

    def forward(
        self, h: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor | None
    ) -> torch.Tensor:
        """(B, S, W) -> (B, S, W)."""
        h = h + self.attn1(F.rms_norm(h, (h.shape[-1],), eps=self.eps), rope, mask)
        return h + self.ff(F.rms_norm(h, (h.shape[-1],), eps=self.eps))


class EmbeddingsConnector(nn.Module):
    """One connector (video or audio): register substitution, RoPE, N blocks, output RMS norm."""

    def __init__(
        self,
        conn: ConnectorConfig,
        config: TextConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: object = layers,
    ) -> None:
        super().__init__()
        self.conn, self.config = conn, config
        self.transformer_1d_blocks = nn.ModuleList(
            ConnectorBlock(conn, config, dtype=dtype, device=device, operations=operations)
            for _ in range(conn.num_layers)
        )
        if config.num_registers:
            self.learnable_registers = nn.Parameter(
                torch.empty(config.num_registers, conn.width, dtype=dtype, device=device)
            )
            if not self.learnable_registers.is_meta:
                with torch.no_grad():
                    self.learnable_registers.uniform_(-1.0, 1.0)

    def substitute_registers(self, features: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Replace padded positions by ``learnable_registers[p mod R]``.

        Args:
            features: (B, S, W), valid tokens first (right padding, see ``EmbeddingsConnectors``).
            valid: (B, S) bool.
        Returns:
            (B, S, W) with position p of a padded token holding register ``p % R``.
        """
        seq_len = features.shape[1]
        if seq_len % self.config.num_registers:
            raise ValueError(
                f"text sequence length {seq_len} is not a multiple of the {self.config.num_registers} registers"
            )
        registers = self.learnable_registers.to(features.dtype).repeat(seq_len // self.config.num_registers, 1)
        keep = valid.unsqueeze(-1).to(features.dtype)  # (B, S, 1)
        return keep * features + (1 - keep) * registers

    def forward(self, features: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the connector.

        Args:
            features: (B, S, W) connector input, valid tokens first (right padding).
            valid: (B, S) bool, True for valid tokens.
        Returns:
            (out (B, S, W), valid_out (B, S) bool). With registers every position becomes valid (all True) and
            attention is unmasked; without registers padded keys are masked with ``-finfo(dtype).max``.
        """
        if self.config.num_registers:
            features = self.substitute_registers(features, valid)
            valid = torch.ones_like(valid)
            mask = None
        else:
            mask = (valid.to(features.dtype) - 1)[:, None, None, :] * torch.finfo(features.dtype).max
        rope = rope_1d(features.shape[1], self.config, self.conn, device=features.device, dtype=features.dtype)
        h = features
        for block in self.transformer_1d_blocks:
            h = block(h, rope, mask)
        return F.rms_norm(h, (h.shape[-1],), eps=self.config.norm_eps), valid
