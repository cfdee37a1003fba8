"""Collectives of sequence parallel: tokens <-> heads all-to-all, head and token gathers.

Every rank holds ``Tl`` consecutive tokens of a sequence of ``W·Tl`` tokens (W = world size, padded to a uniform
split). Attention needs every token, so before the kernel the q/k/v shards are exchanged all-to-all so that each
rank holds the WHOLE sequence for a subset of the heads (:func:`tokens_to_heads`), and after it the reverse
(:func:`heads_to_tokens`). Heads are split as evenly as possible (:func:`head_split`: 32 heads on 3 ranks ->
11, 11, 10), so any head count >= W works. Everything uses ``all_to_all_single`` / ``all_gather`` (both in gloo and
NCCL) on flat buffers with explicit split sizes.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from .groups import Rank


def head_split(heads: int, world_size: int) -> list[int]:
    """Heads per rank: as even as possible, the first ranks take one more (sum = ``heads``)."""
    if heads < world_size:
        raise ValueError(f"sequence parallel needs at least one attention head per rank: {heads} heads, "
                         f"{world_size} ranks")
    base, extra = divmod(heads, world_size)
    return [base + (index < extra) for index in range(world_size)]


def head_range(heads: int, rank: Rank) -> tuple[int, int]:
    """``[start, end)`` of this rank's heads in :func:`head_split` order."""
    split = head_split(heads, rank.world_size)
    start = sum(split[: rank.rank])
    return start, start + split[rank.rank]


def tokens_to_heads(x: torch.Tensor, heads: int, rank: Rank) -> torch.Tensor:
    """``(B, Tl, H·Dh)`` token shard, all heads -> ``(B, W·Tl, h·Dh)``: every token, this rank's ``h`` heads."""
    batch, local, width = x.shape
    head_dim = width // heads
    split = head_split(heads, rank.world_size)
    mine = split[rank.rank]
    chunks = x.view(batch, local, heads, head_dim).split(split, dim=2)  # to rank r: (B, Tl, h_r, Dh)
    send = torch.cat([chunk.reshape(-1) for chunk in chunks])
    rank.count((heads - mine) * batch * local * head_dim * x.element_size())
    recv = x.new_empty(rank.world_size * batch * local * mine * head_dim)
    dist.all_to_all_single(recv, send, [batch * local * mine * head_dim] * rank.world_size,
                           [batch * local * h * head_dim for h in split], group=rank.group)
    recv = recv.view(rank.world_size, batch, local, mine * head_dim)  # from rank s: its tokens
    return recv.transpose(0, 1).reshape(batch, rank.world_size * local, mine * head_dim)


def heads_to_tokens(y: torch.Tensor, heads: int, rank: Rank) -> torch.Tensor:
    """Inverse of :func:`tokens_to_heads`: ``(B, W·Tl, h·Dh)`` -> ``(B, Tl, H·Dh)``."""
    batch, total, width = y.shape
    split = head_split(heads, rank.world_size)
    head_dim = width // split[rank.rank]
    local = total // rank.world_size
    send = y.view(batch, rank.world_size, local, width).transpose(0, 1).reshape(-1)  # to rank s: its tokens
    sizes = [batch * local * h * head_dim for h in split]
    rank.count((rank.world_size - 1) * batch * local * width * y.element_size())
    recv = y.new_empty(sum(sizes))
    dist.all_to_all_single(recv, send, sizes, [batch * local * width] * rank.world_size, group=rank.group)
    parts = [part.view(batch, local, h * head_dim) for part, h in zip(recv.split(sizes), split, strict=True)]
    return torch.cat(parts, dim=2)


def gather_heads(y: torch.Tensor, heads: int, rank: Rank) -> torch.Tensor:
    """``(B, Tq, h·Dh)`` (this rank's heads of replicated queries) -> ``(B, Tq, H·Dh)`` on every rank."""
    batch, queries, width = y.shape
    split = head_split(heads, rank.world_size)
    head_dim = width // split[rank.rank]
    widest = max(split) * head_dim
    padded = torch.nn.functional.pad(y, (0, widest - width)).contiguous()  # all_gather needs equal shapes
    gathered = [torch.empty_like(padded) for _ in range(rank.world_size)]
    rank.count((rank.world_size - 1) * padded.numel() * padded.element_size())  # ring all-gather
    dist.all_gather(gathered, padded, group=rank.group)
    return torch.cat([part[..., : h * head_dim] for part, h in zip(gathered, split, strict=True)], dim=2)


def gather_tokens(x: torch.Tensor, rank: Rank) -> torch.Tensor:
    """``(B, Tl, D)`` token shards (uniform Tl) -> ``(B, W·Tl, D)`` on every rank, in rank order."""
    x = x.contiguous()
    gathered = [torch.empty_like(x) for _ in range(rank.world_size)]
    rank.count((rank.world_size - 1) * x.numel() * x.element_size())  # ring all-gather
    dist.all_gather(gathered, x, group=rank.group)
    return torch.cat(gathered, dim=1)
