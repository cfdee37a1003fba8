"""Duration head (LTX-2.5): predicts the natural length of the shot a prompt describes from its text context.

Inputs are the embeddings-connector outputs (the transformer's cross-attention contexts): video ``(B, S, D_v)`` and /
or audio ``(B, S, D_a)``. Each stream is projected to the pooler width P and tagged with a learned modality vector;
the two token sets are concatenated, ``num_queries`` learned query tokens cross-attend over them (no mask: the
connectors already replaced padding by registers, so every token is valid), and a tanh-GELU MLP turns the pooled
vector into a log-duration, returned exponentiated (seconds).

Parameter names equal the file keys minus ``duration_head.`` (ltx-core HEAD ``duration_head/duration_head.py``; the
pooler is stored in ``torch.nn.MultiheadAttention`` layout: ``attention_pooler.cross_attn.in_proj_weight`` (3P, P),
``in_proj_bias`` (3P,), ``out_proj.{weight,bias}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import layers
from ..configbase import ConfigError, validate_section

SECTION = "duration_head"
_HEAD_KEYS = ("pooler_hidden_dim", "num_queries", "num_pooler_heads", "mlp_hidden")
_TRANSFORMER_KEYS = ("cross_attention_dim", "audio_cross_attention_dim")


@dataclass(frozen=True)
class DurationHeadConfig:
    """Widths of the duration head (ltx-core HEAD ``DurationHeadConfigurator`` defaults).

    Attributes:
        video_dim / audio_dim: connector output widths D_v / D_a (``config.transformer.cross_attention_dim`` /
            ``audio_cross_attention_dim``).
        pooler_dim: shared pooler width P; num_queries: learned pooling queries Q; num_heads: pooler heads;
        mlp_hidden: hidden width of the output MLP (``config.duration_head.*``).
    """

    video_dim: int = 4096
    audio_dim: int = 2048
    pooler_dim: int = 256
    num_queries: int = 1
    num_heads: int = 4
    mlp_hidden: int = 256

    def __post_init__(self) -> None:
        for name in ("video_dim", "audio_dim", "pooler_dim", "num_queries", "num_heads", "mlp_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{SECTION} config: {name} must be a positive int, got {value!r}")
        if self.pooler_dim % self.num_heads:
            raise ConfigError(
                f"{SECTION} config: pooler_hidden_dim {self.pooler_dim} is not divisible by num_pooler_heads "
                f"{self.num_heads}"
            )

    @classmethod
    def from_metadata(cls, config: Mapping[str, Any]) -> DurationHeadConfig:
        """Build from a file's parsed metadata ``config`` (sections ``transformer`` and ``duration_head``).

        Missing keys take the reference defaults; unknown ``duration_head`` keys are rejected. Only the two width
        keys of the ``transformer`` section are read (the rest belongs to the transformer config).
        """
        head = dict(config.get(SECTION) or {})
        validate_section(head, name=SECTION, known=_HEAD_KEYS)
        transformer = config.get("transformer") or {}
        return cls(
            video_dim=transformer.get("cross_attention_dim", 4096),
            audio_dim=transformer.get("audio_cross_attention_dim", 2048),
            pooler_dim=head.get("pooler_hidden_dim", 256),
            num_queries=head.get("num_queries", 1),
            num_heads=head.get("num_pooler_heads", 4),
            mlp_hidden=head.get("mlp_hidden", 256),
        )

    @classmethod
    def tiny(cls) -> DurationHeadConfig:
        """A few-kB config for tests and demo weights (widths of :meth:`~ltx_model.text.TextConfig.tiny` V2)."""
        return cls(video_dim=24, audio_dim=12, pooler_dim=16, num_queries=2, num_heads=4, mlp_hidden=8)


class PoolerAttention(nn.Module):
    """Multi-head cross-attention of learned queries over tokens, in ``nn.MultiheadAttention``'s parameter layout."""

    def __init__(self, dim: int, heads: int, *, dtype: torch.dtype | None, device: Any, operations: Any) -> None:
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim, dtype=dtype, device=device))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * dim, dtype=dtype, device=device))
        self.out_proj = operations.Linear(dim, dim, bias=True, dtype=dtype, device=device)

    def forward(self, queries: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """queries (B, Q, P), tokens (B, N, P) -> (B, Q, P)."""
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q, k, v = (
            F.linear(x, w, b).unflatten(-1, (self.heads, -1)).transpose(1, 2)  # (B, H, *, P / H)
            for x, w, b in ((queries, w_q, b_q), (tokens, w_k, b_k), (tokens, w_v, b_v))
        )
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2)  # (B, Q, P)
        return self.out_proj(out)


class AttentionPooler(nn.Module):
    """``num_queries`` learned tokens (``query_tokens`` (Q, P)) cross-attending over the input tokens."""

    def __init__(self, config: DurationHeadConfig, *, dtype: Any, device: Any, operations: Any) -> None:
        super().__init__()
        self.query_tokens = nn.Parameter(torch.empty(config.num_queries, config.pooler_dim, dtype=dtype, device=device))
        self.cross_attn = PoolerAttention(
            config.pooler_dim, config.num_heads, dtype=dtype, device=device, operations=operations
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, N, P) -> pooled (B, Q, P)."""
        queries = self.query_tokens.unsqueeze(0).expand(tokens.shape[0], -1, -1)
        return self.cross_attn(queries, tokens)


class DurationHead(nn.Module):
    """Predicts a clip duration in seconds from the video and / or audio text context."""

    def __init__(
        self,
        config: DurationHeadConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: Any = layers,
    ) -> None:
        super().__init__()
        self.config = config
        kw = {"dtype": dtype, "device": device}
        p = config.pooler_dim
        self.video_input_proj = operations.Linear(config.video_dim, p, bias=True, **kw)
        self.video_modality_emb = nn.Parameter(torch.empty(p, **kw))
        self.audio_input_proj = operations.Linear(config.audio_dim, p, bias=True, **kw)
        self.audio_modality_emb = nn.Parameter(torch.empty(p, **kw))
        self.attention_pooler = AttentionPooler(config, operations=operations, **kw)
        self.mlp_hidden = operations.Linear(p * config.num_queries, config.mlp_hidden, bias=True, **kw)
        self.mlp_out = operations.Linear(config.mlp_hidden, 1, bias=True, **kw)

    def forward(self, video: torch.Tensor | None = None, audio: torch.Tensor | None = None) -> torch.Tensor:
        """Predicted duration in seconds, shape (B,).

        Args:
            video: (B, S_v, D_v) video connector output, or None.
            audio: (B, S_a, D_a) audio connector output, or None (at least one of the two is required). Inputs are
                cast to the head's dtype.
        """
        if video is None and audio is None:
            raise ValueError("the duration head needs the video or the audio text context (or both)")
        dtype = self.video_modality_emb.dtype
        groups = []
        if video is not None:
            groups.append(self.video_input_proj(video.to(dtype)) + self.video_modality_emb)
        if audio is not None:
            groups.append(self.audio_input_proj(audio.to(dtype)) + self.audio_modality_emb)
        pooled = self.attention_pooler(torch.cat(groups, dim=1)).flatten(1)  # (B, Q * P)
        hidden = F.gelu(self.mlp_hidden(pooled), approximate="tanh")  # tanh GELU as the trained (JAX) head
        return self.mlp_out(hidden).squeeze(-1).exp()
