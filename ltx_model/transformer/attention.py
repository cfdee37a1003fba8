"""Multi-head attention of the LTX-2 transformer and the replaceable attention kernel.

Every attention in the model calls one function with the signature of :data:`AttentionFn` — by default
:func:`sdpa_attention` (PyTorch ``scaled_dot_product_attention``). A host passes its own through
:class:`~ltx_model.transformer.options.TransformerOptions` (ComfyUI: ``optimized_attention``, which has the same
``(q, k, v, heads, mask=None)`` calling convention).
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from .. import layers
from .rope import RopeTable


class AttentionFn(Protocol):
    """Attention kernel: q ``(B, Tq, H*Dh)``, k/v ``(B, Tk, H*Dh)``, ``heads`` = H, optional additive float
    ``mask`` broadcastable to ``(B, H, Tq, Tk)`` (e.g. ``(B, 1, Tq, Tk)``) -> ``(B, Tq, H*Dh)``.
    Scale 1/sqrt(Dh), no dropout, not causal."""

    def __call__(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, mask: torch.Tensor | None = None
    ) -> torch.Tensor: ...


def sdpa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Default :data:`AttentionFn`: PyTorch SDPA over ``heads`` heads. Shapes as in :class:`AttentionFn`."""
    batch, _, width = q.shape
    head_dim = width // heads
    q, k, v = (t.view(batch, -1, heads, head_dim).transpose(1, 2) for t in (q, k, v))  # (B, H, T, Dh)
    if mask is not None and mask.ndim == 2:  # (T, S) -> (1, T, S)
        mask = mask.unsqueeze(0)
    if mask is not None and mask.ndim == 3:  # (B, T, S) -> (B, 1, T, S)
        mask = mask.unsqueeze(1)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0, is_causal=False)
    return out.transpose(1, 2).reshape(batch, -1, heads * head_dim)


class Attention(nn.Module):
    """q/k-normalised multi-head attention with optional RoPE, STG value pass-through and per-head gates.

    Parameters: ``to_q`` (query_dim -> H*Dh), ``to_k``/``to_v`` (context_dim -> H*Dh), ``q_norm``/``k_norm``
    (RMSNorm over the full H*Dh vector, learnable weight), ``to_out.0`` (H*Dh -> query_dim) and, when gated,
    ``to_gate_logits`` (query_dim -> H).
    """

    def __init__(
        self,
        query_dim: int,
        context_dim: int | None = None,
        *,
        heads: int,
        head_dim: int,
        norm_eps: float = 1e-6,
        gated: bool = False,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: Any = layers,
    ) -> None:
        super().__init__()
        inner = heads * head_dim
        context_dim = query_dim if context_dim is None else context_dim
        self.heads = heads
        self.head_dim = head_dim
        factory = {"dtype": dtype, "device": device}
        self.q_norm = operations.RMSNorm(inner, eps=norm_eps, **factory)
        self.k_norm = operations.RMSNorm(inner, eps=norm_eps, **factory)
        self.to_q = operations.Linear(query_dim, inner, bias=True, **factory)
        self.to_k = operations.Linear(context_dim, inner, bias=True, **factory)
        self.to_v = operations.Linear(context_dim, inner, bias=True, **factory)
        self.to_gate_logits = operations.Linear(query_dim, heads, bias=True, **factory) if gated else None
        self.to_out = nn.Sequential(operations.Linear(inner, query_dim, bias=True, **factory))

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        *,
        attention_fn: AttentionFn = sdpa_attention,
        mask: torch.Tensor | None = None,
        pe: RopeTable | None = None,
        k_pe: RopeTable | None = None,
        keep: torch.Tensor | bool = True,
    ) -> torch.Tensor:
        """Attend from ``x`` ``(B, T, query_dim)`` to ``context`` ``(B, S, context_dim)`` (``x`` if None).

        Args:
            attention_fn: the kernel (see :class:`AttentionFn`).
            mask: additive float mask for the kernel, e.g. ``(B, 1, T, S)``.
            pe: RoPE table for q (and for k unless ``k_pe`` is given).
            k_pe: separate RoPE table for k (audio<->video cross-attention).
            keep: STG switch. ``True`` = normal attention; ``False`` = skip it for the whole batch (the value
                projection passes through, q/k are not computed); a ``(B, 1, 1)`` 0/1 tensor blends per sample:
                ``attn * keep + v * (1 - keep)``.
        Returns:
            ``(B, T, query_dim)``.
        """
        context = x if context is None else context
        v = self.to_v(context)  # (B, S, H*Dh)
        if keep is False:
            out = v
        else:
            q = layers.norm_fresh(self.q_norm, self.to_q(x))
            k = layers.norm_fresh(self.k_norm, self.to_k(context))
            if pe is not None:
                q = pe.apply(q)
                k = (pe if k_pe is None else k_pe).apply(k)
            out = attention_fn(q, k, v, self.heads, mask=mask)  # (B, T, H*Dh)
            if isinstance(keep, torch.Tensor):
                out = out * keep + v * (1 - keep)
        if self.to_gate_logits is not None:
            # 22B per-head gates: 2·sigmoid(logits) of the query input, so zero logits are the identity.
            gates = 2.0 * torch.sigmoid(self.to_gate_logits(x))  # (B, T, H)
            batch, tokens, _ = out.shape
            per_head = out.view(batch, tokens, self.heads, self.head_dim)
            # In place where nothing is recorded for autograd (the kernel's output is fresh, nobody else holds it).
            per_head = per_head * gates.unsqueeze(-1) if torch.is_grad_enabled() else per_head.mul_(gates.unsqueeze(-1))
            out = per_head.view(batch, tokens, -1)
        return self.to_out(out)
