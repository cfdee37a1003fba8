"""Communication model of sequence parallel: the bytes one rank sends in one transformer pass.

Per block, with ``Tl = ceil(T / W)`` video tokens per rank, ``h_r`` = this rank's share of the heads
(:func:`~ltx_model.distributed.exchange.head_split`) and ``e`` bytes per element:

* video self-attention: q, k, v to head shards ``3·(H - h_r)·B·Tl·Dh·e``, the output back ``(W-1)·B·Tl·h_r·Dh·e``;
* video -> audio attention (A/V models): video k, v to head shards ``2·(Ha - h_r)·B·Tl·Dha·e``, the audio head
  outputs all-gathered (ring) ``(W-1)·B·Ta·max(h)·Dha·e``;

plus the final all-gather of the video outputs ``(W-1)·B·Tl·C_out·e``. For W ranks and even heads that is about
``(4·Dv + 2·Da)·B·T·e·L·(W-1)/W²`` per rank: it shrinks per rank as ``1/W`` while the per-rank compute shrinks as
``1/W`` too, so the achievable speed-up is bounded by the interconnect (see README: multi-GPU). The counts are
exactly those of :mod:`~ltx_model.distributed.exchange` (which counts what it sends into ``Rank.traffic``).
"""

from __future__ import annotations

from ..transformer import TransformerConfig
from .exchange import head_split
from .sequence import shard_length


def sequence_pass_bytes(config: TransformerConfig, *, batch: int, video_tokens: int, audio_tokens: int,
                        world_size: int, rank: int = 0, element_size: int = 2) -> int:
    """Bytes ``rank`` sends in one plain (unperturbed) sequence-parallel pass."""
    if world_size == 1 or video_tokens < world_size or not config.kind.has_video:
        return 0
    local = shard_length(video_tokens, world_size)
    heads, head_dim = config.num_attention_heads, config.attention_head_dim
    mine = head_split(heads, world_size)[rank]
    per_block = 3 * (heads - mine) * batch * local * head_dim + (world_size - 1) * batch * local * mine * head_dim
    if config.kind.has_audio and audio_tokens > 0:
        a_heads, a_dim = config.audio_num_attention_heads, config.audio_attention_head_dim
        a_split = head_split(a_heads, world_size)
        per_block += 2 * (a_heads - a_split[rank]) * batch * local * a_dim
        per_block += (world_size - 1) * batch * audio_tokens * max(a_split) * a_dim
    final = (world_size - 1) * batch * local * config.out_channels
    return (config.num_layers * per_block + final) * element_size
