"""Per-forward preparation of one stream: token embedding, AdaLN values, text context, masks and RoPE tables.

Everything a block needs that does not change from block to block is computed once here (RoPE tables included).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from .adaln import AdaLayerNormSingle, CaptionProjection, TimestepValues, embed_timesteps
from .modality import Modality
from .rope import RopeSpec, RopeTable, rope_table


@dataclass(frozen=True)
class StreamState:
    """Block input of one stream.

    Attributes:
        x: hidden tokens ``(B, T, D)``.
        ada: main AdaLN values, ``(U, coef·D)`` per distinct timestep with a ``(B, T')`` index (T' = T for
            per-token timesteps, else 1); see :class:`TimestepValues`.
        embedded_timestep: ``(U, D)`` (same index), used by the output modulation.
        context: text context ``(B, S, D_ctx)`` (after the 19B caption projection).
        context_mask: additive text mask or ``None``.
        self_attention_mask: additive self-attention bias ``(B, 1, T, T)`` or ``None``.
        pe: self-attention RoPE table.
        enabled: whether the blocks update this stream.
        prompt_ada: prompt AdaLN values ``(B, 2·D)`` per sample (22B) or ``None``.
        cross_pe: temporal RoPE table of the audio<->video cross-attention, or ``None`` (single stream).
        cross_scale_shift: cross-attention AdaLN values ``(U, 4·D)`` per distinct timestep or ``None``.
        cross_gate: cross-attention gate AdaLN values ``(B, D)`` per sample or ``None``.
    """

    x: torch.Tensor
    ada: TimestepValues
    embedded_timestep: TimestepValues
    context: torch.Tensor
    context_mask: torch.Tensor | None
    self_attention_mask: torch.Tensor | None
    pe: RopeTable
    enabled: bool
    prompt_ada: TimestepValues | None = None
    cross_pe: RopeTable | None = None
    cross_scale_shift: TimestepValues | None = None
    cross_gate: TimestepValues | None = None


@dataclass(frozen=True)
class StreamParts:
    """The model's modules and RoPE specs for one stream (references, built per call; holds no state).

    ``timestep_multiplier`` is the config's timestep_scale_multiplier, ``cross_gate_multiplier`` its
    av_ca_timestep_scale_multiplier; ``keyframes_embedding`` the ``(1, D)`` LTX-2.5 keyframe marker (or None).
    """

    patchify_proj: nn.Module
    adaln: AdaLayerNormSingle
    rope: RopeSpec
    timestep_multiplier: float
    prompt_adaln: AdaLayerNormSingle | None = None
    caption_projection: CaptionProjection | None = None
    cross_scale_shift_adaln: AdaLayerNormSingle | None = None
    cross_gate_adaln: AdaLayerNormSingle | None = None
    cross_rope: RopeSpec | None = None
    cross_gate_multiplier: float = 1.0
    keyframes_embedding: torch.Tensor | None = None


def batch_sigma(sigma: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Return sigma as ``(B,)``: a single value is broadcast, a ``(B,)`` vector is kept."""
    flat = sigma.reshape(-1)
    if flat.numel() == 1:
        return flat.expand(batch_size)
    if flat.numel() != batch_size or sigma.ndim != 1:
        raise ValueError(f"sigma must be a scalar or of shape ({batch_size},), got {tuple(sigma.shape)}")
    return flat


def self_attention_bias(strength: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """``(B, T, T)`` attention strength in [0, 1] -> additive bias ``(B, 1, T, T)`` in ``dtype``.

    1 -> 0 (full attention), s in (0, 1) -> log(s) (clamped at the dtype's smallest normal), <= 0 -> dtype min.
    """
    if strength is None:
        return None
    finfo = torch.finfo(dtype)
    log_strength = torch.log(strength.clamp(min=finfo.tiny)).to(dtype)
    bias = torch.where(strength > 0, log_strength, torch.full_like(log_strength, finfo.min))
    return bias.unsqueeze(1)


def context_bias(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Text mask -> additive mask: a float mask is used as is; a binary ``(B, S)`` mask becomes
    ``(mask - 1)·finfo.max`` shaped ``(B, 1, 1, S)``."""
    if mask is None or torch.is_floating_point(mask):
        return mask
    return (mask - 1).to(dtype).reshape(mask.shape[0], 1, -1, mask.shape[-1]) * torch.finfo(dtype).max


def prepare_stream(parts: StreamParts, modality: Modality, other: Modality | None) -> StreamState:
    """Build the :class:`StreamState` of ``modality``; ``other`` is the other stream's input (A/V models) or None."""
    latent = modality.latent  # (B, T, C_in)
    batch, dtype = latent.shape[0], latent.dtype
    ada, embedded = embed_timesteps(
        parts.adaln, modality.timesteps * parts.timestep_multiplier, batch_size=batch, hidden_dtype=dtype,
        levels=_scaled_levels(modality, parts.timestep_multiplier),
    )
    prompt_ada = None
    if parts.prompt_adaln is not None:
        # The prompt AdaLN sees the stream's scalar sigma, not the per-token timesteps.
        sigma = batch_sigma(modality.sigma, batch) * parts.timestep_multiplier
        prompt_ada, _ = embed_timesteps(parts.prompt_adaln, sigma, batch_size=batch, hidden_dtype=dtype)
    context = modality.context
    if parts.caption_projection is not None:
        context = parts.caption_projection(context)  # (B, S, D)
    state = StreamState(
        x=_embed_tokens(parts, modality),
        ada=ada,
        embedded_timestep=embedded,
        context=context,
        context_mask=context_bias(modality.context_mask, dtype),
        self_attention_mask=self_attention_bias(modality.attention_mask, dtype),
        pe=rope_table(modality.positions, parts.rope, out_dtype=dtype),
        enabled=modality.enabled,
        prompt_ada=prompt_ada,
    )
    if other is None or parts.cross_rope is None:
        return state
    return _with_cross_modal(state, parts, modality, other)


def _scaled_levels(modality: Modality, multiplier: float) -> torch.Tensor | None:
    """``modality.timestep_levels`` scaled like its timesteps (same multiplication, so the values stay exact)."""
    return None if modality.timestep_levels is None else modality.timestep_levels * multiplier


def _embed_tokens(parts: StreamParts, modality: Modality) -> torch.Tensor:
    """``patchify_proj(latent)`` ``(B, T, D)``, plus the keyframe embedding on the tokens ``keyframes_mask`` flags
    (mask > 0, cast to the hidden dtype as in ltx-core HEAD); a no-op without the embedding or the mask."""
    x = parts.patchify_proj(modality.latent)
    if parts.keyframes_embedding is None or modality.keyframes_mask is None:
        return x
    mask = modality.keyframes_mask
    mask = (mask.reshape(*mask.shape[:2], 1) > 0).to(dtype=x.dtype)  # (B, T, 1)
    return x + mask * parts.keyframes_embedding.to(dtype=x.dtype)


def _with_cross_modal(state: StreamState, parts: StreamParts, modality: Modality, other: Modality) -> StreamState:
    """Add the audio<->video cross-attention inputs (temporal RoPE and the cross AdaLN values)."""
    batch, dtype = modality.latent.shape[0], modality.latent.dtype
    multiplier = parts.timestep_multiplier
    # ltx-core HEAD (>= 1.1.4) behaviour, deliberately differing from 1.0.0 (ltx2-model.md §2.7): the
    # cross-attention scale/shift AdaLN sees this stream's OWN per-token timesteps (1.0.0: the other stream's
    # scalar sigma); the gate AdaLN keeps the other stream's sigma. Both agree when every token of both streams
    # is at the same sigma.
    scale_shift, _ = embed_timesteps(
        parts.cross_scale_shift_adaln, modality.timesteps * multiplier, batch_size=batch, hidden_dtype=dtype,
        levels=_scaled_levels(modality, multiplier),
    )
    gate_timestep = batch_sigma(other.sigma, batch) * multiplier * (parts.cross_gate_multiplier / multiplier)
    gate, _ = embed_timesteps(parts.cross_gate_adaln, gate_timestep, batch_size=batch, hidden_dtype=dtype)
    cross_pe = rope_table(modality.positions[:, 0:1], parts.cross_rope, out_dtype=dtype)
    return replace(state, cross_pe=cross_pe, cross_scale_shift=scale_shift, cross_gate=gate)
