"""Timestep embedding, AdaLN-single, the feed-forward network and the 19B in-model caption projection."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .. import layers

TIMESTEP_CHANNELS = 256


def timestep_sinusoid(timesteps: torch.Tensor, channels: int = TIMESTEP_CHANNELS) -> torch.Tensor:
    """Sinusoidal embedding ``[cos(t·f_j), sin(t·f_j)]``, f_j = exp(−ln(10000)·j/(channels/2)), in float32.

    Args:
        timesteps: ``(N,)`` timesteps (sigma·1000), any float dtype (converted to float32).
    Returns:
        ``(N, channels)`` float32.
    """
    angles = timesteps[:, None].float() * _sinusoid_frequencies(channels, timesteps.device)  # (N, channels/2)
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


@functools.lru_cache(maxsize=8)
def _sinusoid_frequencies(channels: int, device: torch.device) -> torch.Tensor:
    """``(1, channels/2)`` float32 frequencies f_j of :func:`timestep_sinusoid` (made once per device; never
    modified in place)."""
    half = channels // 2
    exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32, device=device) / half
    return torch.exp(exponent)[None, :]


class TimestepEmbedder(nn.Module):
    """``linear_1`` (256 -> D) -> SiLU -> ``linear_2`` (D -> D)."""

    def __init__(
        self, dim: int, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None,
        operations: Any = layers,
    ) -> None:
        super().__init__()
        self.linear_1 = operations.Linear(TIMESTEP_CHANNELS, dim, bias=True, dtype=dtype, device=device)
        self.linear_2 = operations.Linear(dim, dim, bias=True, dtype=dtype, device=device)

    def forward(self, sinusoid: torch.Tensor) -> torch.Tensor:
        """``(N, 256)`` -> ``(N, D)``."""
        return self.linear_2(torch.nn.functional.silu(self.linear_1(sinusoid)))


class _CombinedEmbedding(nn.Module):
    """Holds ``timestep_embedder`` so parameter names read ``emb.timestep_embedder.linear_1`` (PixArt naming)."""

    def __init__(self, dim: int, **layer_kwargs: Any) -> None:
        super().__init__()
        self.timestep_embedder = TimestepEmbedder(dim, **layer_kwargs)


class AdaLayerNormSingle(nn.Module):
    """AdaLN-single: timestep -> (``coefficient``·D modulation values, D-wide embedded timestep).

    Parameters: ``emb.timestep_embedder.linear_{1,2}`` and ``linear`` (D -> coefficient·D).
    """

    def __init__(
        self, dim: int, coefficient: int, *, dtype: torch.dtype | None = None,
        device: torch.device | str | None = None, operations: Any = layers,
    ) -> None:
        super().__init__()
        self.emb = _CombinedEmbedding(dim, dtype=dtype, device=device, operations=operations)
        self.linear = operations.Linear(dim, coefficient * dim, bias=True, dtype=dtype, device=device)

    def forward(self, timesteps: torch.Tensor, *, hidden_dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """Embed ``(N,)`` timesteps (already scaled by 1000).

        The float32 sinusoid is cast to ``hidden_dtype`` (the latent dtype) before the MLP, as in the reference.
        Returns:
            ``(N, coefficient·D)`` modulation values and ``(N, D)`` embedded timestep.
        """
        embedded = self.emb.timestep_embedder(timestep_sinusoid(timesteps).to(hidden_dtype))
        return self.linear(torch.nn.functional.silu(embedded)), embedded


@dataclass(frozen=True)
class TimestepValues:
    """AdaLN outputs stored once per distinct timestep and addressed per token.

    Per-token timesteps take few distinct values (e.g. clean conditioning tokens at 0, the rest at sigma), so the
    AdaLN MLP runs once per distinct value and the (B, T, W) per-token tensor is never built; blocks gather only
    the rows they need, when they need them.

    Attributes:
        values: ``(U, W)``, one row per distinct timestep.
        index: ``(B, T')`` int64, the row of ``values`` of each token (T' = T for per-token timesteps, else 1).
        per_sample: the rows are the samples themselves (U = B, ``index`` = ``arange(B)[:, None]``), so
            :meth:`gather` is a view.
    """

    values: torch.Tensor
    index: torch.Tensor
    per_sample: bool = False

    def gather(self, per_value: torch.Tensor) -> torch.Tensor:
        """Expand ``(U, ...)`` (something computed once per distinct timestep) to ``(B, T', ...)`` (a view of
        ``per_value`` when ``per_sample``: read it, never write into it)."""
        return per_value.unsqueeze(1) if self.per_sample else per_value[self.index]


def embed_timesteps(
    adaln: AdaLayerNormSingle, timesteps: torch.Tensor, *, batch_size: int, hidden_dtype: torch.dtype,
    levels: torch.Tensor | None = None,
) -> tuple[TimestepValues, TimestepValues]:
    """Run ``adaln`` on the distinct values of ``timesteps`` (``(B,)``, ``(B, T)`` or ``(B, T, 1)``, already
    scaled): returns the ``coefficient·D`` modulation values and the ``D``-wide embedded timestep, each as
    :class:`TimestepValues` with a ``(B, T')`` index (T' = T or 1).

    ``levels``: optional ``(B, U)`` (or ``(B, U, 1)``) ascending values that contain every per-token timestep of
    their sample exactly (e.g. the denoise mask's distinct values · sigma, scaled by the same multiplications as
    ``timesteps``). With them the rows are found by ``searchsorted`` and nothing is read back to the host; without
    them ``torch.unique`` finds the distinct values (one host sync per sample). Both give the same rows when the
    levels are exactly the distinct values.
    """
    per_sample = timesteps.reshape(batch_size, -1)  # (B, T')
    if per_sample.shape[1] == 1:  # one timestep per sample: no de-duplication (and no device sync)
        values, embedded = adaln(per_sample[:, 0], hidden_dtype=hidden_dtype)
        index = torch.arange(batch_size, device=timesteps.device).unsqueeze(1)  # (B, 1)
        return TimestepValues(values, index, per_sample=True), TimestepValues(embedded, index, per_sample=True)
    if levels is not None:
        levels = levels.reshape(batch_size, -1)  # (B, U)
        rows = [(distinct, torch.searchsorted(distinct, sample)) for distinct, sample in zip(levels, per_sample,
                                                                                               strict=True)]
    else:
        rows = [torch.unique(sample, return_inverse=True) for sample in per_sample]  # (U_b,), (T,) each
    # Per-token timesteps: embedded sample by sample (a loop over the batch, not over tokens), so a sample's values
    # never depend on another sample's timesteps (not even through the row count of the MLP's matmuls).
    values, embedded, index, offset = [], [], [], 0
    for distinct, inverse in rows:
        sample_values, sample_embedded = adaln(distinct, hidden_dtype=hidden_dtype)
        values.append(sample_values)
        embedded.append(sample_embedded)
        index.append(inverse + offset)
        offset += distinct.shape[0]
    index = torch.stack(index)  # (B, T)
    return TimestepValues(torch.cat(values), index), TimestepValues(torch.cat(embedded), index)


class GeluProjection(nn.Module):
    """``proj`` Linear followed by tanh-approximated GELU (the first half of the feed-forward)."""

    def __init__(
        self, dim_in: int, dim_out: int, *, bias: bool = True, dtype: torch.dtype | None = None,
        device: torch.device | str | None = None, operations: Any = layers,
    ) -> None:
        super().__init__()
        self.proj = operations.Linear(dim_in, dim_out, bias=bias, dtype=dtype, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., dim_in)`` -> ``(..., dim_out)``."""
        return layers.linear_gelu_tanh(self.proj, x)


class FeedForward(nn.Module):
    """``net.0.proj`` (D -> 4D) -> GELU(tanh) -> ``net.2`` (4D -> D); ``bias=False`` drops both biases (the
    LTX-2.5 video feed-forward)."""

    def __init__(
        self, dim: int, *, mult: int = 4, bias: bool = True, dtype: torch.dtype | None = None,
        device: torch.device | str | None = None, operations: Any = layers,
    ) -> None:
        super().__init__()
        factory = {"dtype": dtype, "device": device}
        self.net = nn.Sequential(
            GeluProjection(dim, dim * mult, bias=bias, operations=operations, **factory),
            nn.Identity(),
            operations.Linear(dim * mult, dim, bias=bias, **factory),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, D)`` -> ``(B, T, D)``."""
        return self.net(x)


class CaptionProjection(nn.Module):
    """19B in-model text projection: ``linear_1`` (caption_channels -> D) -> GELU(tanh) -> ``linear_2`` (D -> D)."""

    def __init__(
        self, in_features: int, dim: int, *, dtype: torch.dtype | None = None,
        device: torch.device | str | None = None, operations: Any = layers,
    ) -> None:
        super().__init__()
        self.linear_1 = operations.Linear(in_features, dim, bias=True, dtype=dtype, device=device)
        self.linear_2 = operations.Linear(dim, dim, bias=True, dtype=dtype, device=device)

    def forward(self, caption: torch.Tensor) -> torch.Tensor:
        """``(B, S, caption_channels)`` -> ``(B, S, D)``."""
        return self.linear_2(torch.nn.functional.gelu(self.linear_1(caption), approximate="tanh"))
