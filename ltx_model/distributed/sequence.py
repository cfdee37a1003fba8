"""Sequence parallel (Ulysses-style) for :class:`~ltx_model.transformer.LTXTransformer`.

The video tokens are split across the W ranks of a group (padded to a uniform split ``Tl = ceil(T / W)`` by
repeating the last token); each rank runs every block on its ``Tl`` tokens. Only the attentions whose keys are video
tokens need the other ranks' tokens; they get their kernels through
:attr:`~ltx_model.transformer.TransformerOptions.site_attention`:

* video self-attention: q/k/v all-to-all from token shards to head shards (every token, ``H/W`` heads), the host's
  kernel on the real ``T`` tokens (the padded ones are cut off, so nothing needs masking and the kernel sees
  exactly the single-process sequence), all-to-all back;
* video -> audio cross-attention: the audio queries are replicated, so each rank takes its heads of q, gathers its
  heads of the video k/v by all-to-all, and the head outputs are all-gathered.

Everything else is per token or reads replicated inputs and needs no communication: text cross-attention, the
audio stream (replicated on every rank, as in Lightricks' reference), audio -> video cross-attention (local video
queries, replicated audio keys), feed-forward, AdaLN and the output projection. After the last block the video
outputs are all-gathered and the padding dropped, so every rank returns the full single-process result.

What scales: the per-rank activations and attention FLOPs of the video stream (about 1/W each), hence latency;
the weights are replicated (sequence parallel does not save weight memory). Reference: Lightricks/LTX-2
``ltx_core/multigpu/transformer`` (read, not copied; this version cuts the padded keys instead of masking them,
which also keeps them out of the video->audio attention, and splits heads unevenly when ``W`` does not divide H).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from ..transformer import AttentionFn, LTXTransformer, Modality, Perturbations, SkipAttention, TransformerOptions
from ..transformer.options import DEFAULT_OPTIONS
from .exchange import gather_heads, gather_tokens, head_range, heads_to_tokens, tokens_to_heads
from .groups import Rank


def shard_length(tokens: int, world_size: int) -> int:
    """Tokens per rank after padding ``tokens`` up to a multiple of ``world_size``."""
    return -(-tokens // world_size)


def shard_modality(modality: Modality, rank: Rank) -> Modality:
    """This rank's ``Tl`` tokens of the video input (latent, per-token timesteps, positions, keyframe marks).

    Padding tokens repeat the last real token. ``sigma``, the text context and the ``(B, T, T)`` attention mask stay
    whole (the mask is applied after the all-to-all, where every rank sees all ``T`` query and key tokens).
    """
    tokens = modality.latent.shape[1]
    local = shard_length(tokens, rank.world_size)
    index = torch.arange(rank.rank * local, (rank.rank + 1) * local, device=modality.latent.device)
    index = index.clamp(max=tokens - 1)

    def take(tensor: torch.Tensor | None, dim: int) -> torch.Tensor | None:
        if tensor is None or tensor.shape[dim] != tokens:  # (B, 1) timesteps broadcast over every token
            return tensor
        return tensor.index_select(dim, index.to(tensor.device))

    return replace(modality, latent=take(modality.latent, 1), timesteps=take(modality.timesteps, 1),
                   positions=take(modality.positions, 2), keyframes_mask=take(modality.keyframes_mask, 1))


def _head_mask(mask: torch.Tensor | None, heads: int, rank: Rank) -> torch.Tensor | None:
    """This rank's heads of a per-head ``(B, H, Tq, Tk)`` mask; head-broadcast masks pass unchanged."""
    if mask is None or mask.ndim != 4 or mask.shape[1] != heads or heads == 1:
        return mask
    start, end = head_range(heads, rank)
    return mask[:, start:end]


@dataclass(frozen=True)
class ShardedSelfAttention:
    """:data:`AttentionFn` of the video self-attention: q/k/v ``(B, Tl, H·Dh)`` token shards -> ``(B, Tl, H·Dh)``.

    ``tokens`` is the real (unpadded) video length T; ``base`` the host's kernel.
    """

    base: AttentionFn
    rank: Rank
    tokens: int

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = (tokens_to_heads(t, heads, self.rank) for t in (q, k, v))  # (B, W·Tl, h·Dh)
        padded, real = q.shape[1], self.tokens
        start, end = head_range(heads, self.rank)
        out = self.base(q[:, :real], k[:, :real], v[:, :real], end - start, mask=_head_mask(mask, heads, self.rank))
        out = F.pad(out, (0, 0, 0, padded - real))  # (B, W·Tl, h·Dh); padded rows are dropped at the end
        return heads_to_tokens(out, heads, self.rank)


@dataclass(frozen=True)
class ShardedKeysAttention:
    """:data:`AttentionFn` of the video -> audio cross-attention: replicated audio queries ``(B, Ta, H·Dh)``,
    video key/value token shards ``(B, Tl, H·Dh)`` -> ``(B, Ta, H·Dh)`` on every rank."""

    base: AttentionFn
    rank: Rank
    tokens: int

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
        batch, queries, width = q.shape
        head_dim = width // heads
        start, end = head_range(heads, self.rank)
        q_mine = q.view(batch, queries, heads, head_dim)[:, :, start:end].reshape(batch, queries, -1)
        k, v = (tokens_to_heads(t, heads, self.rank)[:, : self.tokens] for t in (k, v))  # (B, T, h·Dh)
        out = self.base(q_mine, k, v, end - start, mask=_head_mask(mask, heads, self.rank))
        return gather_heads(out, heads, self.rank)


class SequenceParallel:
    """An :class:`LTXTransformer` run sequence-parallel over a group; called like the model itself.

    Every rank of ``rank``'s group calls it with the same full inputs and gets the same full outputs
    ``(video (B, T, C) | None, audio (B, Ta, C) | None)``, equal to one process's (fp32: within rounding).
    A video shorter than the world size runs unsplit on every rank.
    """

    def __init__(self, model: LTXTransformer, rank: Rank) -> None:
        self.model = model
        self.rank = rank
        self.config = model.config

    def __call__(self, video: Modality | None, audio: Modality | None, perturbations: Perturbations | None = None,
                 *, options: TransformerOptions | None = None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        options = options or DEFAULT_OPTIONS
        if video is None or self.rank.world_size == 1 or video.latent.shape[1] < self.rank.world_size:
            return self.model(video, audio, perturbations, options=options)
        tokens = video.latent.shape[1]
        kernels = (
            (SkipAttention.VIDEO_SELF, ShardedSelfAttention(options.attention_fn, self.rank, tokens)),
            (SkipAttention.VIDEO_TO_AUDIO, ShardedKeysAttention(options.attention_fn, self.rank, tokens)),
        )
        sharded = replace(options, site_attention=kernels + options.site_attention)
        video_out, audio_out = self.model(shard_modality(video, self.rank), audio, perturbations, options=sharded)
        return gather_tokens(video_out, self.rank)[:, :tokens], audio_out
