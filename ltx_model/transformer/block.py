"""One audio+video transformer block (ltx-core ``BasicAVTransformerBlock``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .. import layers
from ..layers import cpu_fast_path, rms_norm
from .adaln import FeedForward, TimestepValues
from .attention import Attention, AttentionFn
from .config import TransformerConfig
from .options import Perturbations, SkipAttention, TransformerOptions
from .stream import StreamState

# Rows of the per-block AdaLN table: 0 shift_msa, 1 scale_msa, 2 gate_msa, 3 shift_mlp, 4 scale_mlp, 5 gate_mlp,
# (22B) 6 shift_q_ca, 7 scale_q_ca, 8 gate_ca. Cross-modal tables (5 rows): 0 scale_a2v, 1 shift_a2v,
# 2 scale_v2a, 3 shift_v2a (note: scale before shift), 4 gate.
_SELF_ROWS, _FF_ROWS, _TEXT_ROWS = slice(0, 3), slice(3, 6), slice(6, 9)
_A2V_ROWS, _V2A_ROWS = slice(0, 2), slice(2, 4)
# The scale rows, stored as 1 + scale: rows 1, 4, 7 of the main table and row 1 of the prompt table (shift, scale),
# rows 0 and 2 of the cross-modal scale/shift table.
_MAIN_SCALES, _CROSS_SCALES = slice(1, None, 3), slice(0, None, 2)


@dataclass(frozen=True)
class Modulation:
    """A block's AdaLN table plus the AdaLN values, every row added once per distinct timestep (one add per
    table and block, then 1 added to the scale rows once: the reference's ``1 + scale`` with the same roundings);
    rows are gathered per token only when asked for (a group at a time, so per-token timesteps never hold every
    row's ``(B, T, D)`` at once).

    Attributes:
        summed: ``(U, R, D)`` = learned ``(R, D)`` table + the ``(U, R·D)`` AdaLN values (scale rows + 1).
        ada: the AdaLN values (for their ``(B, T')`` index).
        each: with one timestep per sample, every row as a ``(B, 1, D)`` view (split once); else None.
    """

    summed: torch.Tensor
    ada: TimestepValues
    each: tuple[torch.Tensor, ...] | None = None

    @classmethod
    def of(cls, table: torch.Tensor, ada: TimestepValues, scales: slice | None = None) -> Modulation:
        """``table`` ``(R, D)`` + ``ada.values`` ``(U, R·D)``, plus 1 on the rows ``scales``."""
        per_row = ada.values.unflatten(-1, (table.shape[0], -1))  # (U, R, D)
        if table.dtype != per_row.dtype or table.device != per_row.device:
            table = table.to(device=per_row.device, dtype=per_row.dtype)
        summed = table + per_row
        if scales is not None:
            summed[:, scales].add_(1)
        # One row per sample: every row is a (B, 1, D) view, split once.
        return cls(summed, ada, ada.gather(summed).unbind(dim=2) if ada.per_sample else None)

    def rows(self, rows: slice) -> tuple[torch.Tensor, ...]:
        """One ``(B, T', D)`` tensor per selected row."""
        if self.each is not None:
            return self.each[rows]
        return self.ada.gather(self.summed[:, rows]).unbind(dim=2)  # (B, T', r, D) -> r x (B, T', D)


# One side of an audio<->video cross-attention: (rms-normed tokens, stream state, its 5-row cross table's
# (scale_a2v, shift_a2v, scale_v2a, shift_v2a) modulation, its gate row (B, T', D)).
_CrossSide = tuple[torch.Tensor, StreamState, Modulation, torch.Tensor]


@dataclass(frozen=True)
class _StreamModules:
    """The block's modules of one stream (video names or ``audio_`` names)."""

    attn1: Attention
    attn2: Attention
    ff: FeedForward
    table: torch.Tensor
    prompt_table: torch.Tensor | None
    self_skip: SkipAttention

    def modulation(self, state: StreamState) -> Modulation:
        """The main table's :class:`Modulation` for this forward."""
        return Modulation.of(self.table, state.ada, _MAIN_SCALES)


class TransformerBlock(nn.Module):
    """Video and/or audio self-attention, text cross-attention, audio<->video cross-attention and feed-forward.

    Parameter names follow the checkpoint: ``attn1``/``attn2``/``ff``/``scale_shift_table`` (video),
    ``audio_*`` (audio), ``audio_to_video_attn``/``video_to_audio_attn``/``scale_shift_table_a2v_ca_{video,audio}``
    (both), ``prompt_scale_shift_table``/``audio_prompt_scale_shift_table`` (22B).
    """

    def __init__(
        self, config: TransformerConfig, index: int, *, dtype: torch.dtype | None = None,
        device: torch.device | str | None = None, operations: Any = layers,
    ) -> None:
        super().__init__()
        self.index = index
        self.norm_eps = config.norm_eps
        self.cross_attention_adaln = config.cross_attention_adaln
        layer = {"dtype": dtype, "device": device, "operations": operations}
        attn = {"norm_eps": config.norm_eps, "gated": config.gated_attention, **layer}
        if config.kind.has_video:
            self._init_stream(config, "", (config.num_attention_heads, config.attention_head_dim),
                              config.cross_attention_dim, {**layer, "bias": config.ff_bias})
        if config.kind.has_audio:
            self._init_stream(config, "audio_", (config.audio_num_attention_heads, config.audio_attention_head_dim),
                              config.audio_cross_attention_dim, {**layer, "bias": config.audio_ff_bias})
        if config.kind.has_video and config.kind.has_audio:
            dv, da = config.video_inner_dim, config.audio_inner_dim
            cross = {"heads": config.audio_num_attention_heads, "head_dim": config.audio_attention_head_dim, **attn}
            self.audio_to_video_attn = Attention(dv, da, **cross)  # Q video, K/V audio
            self.video_to_audio_attn = Attention(da, dv, **cross)  # Q audio, K/V video
            self.scale_shift_table_a2v_ca_video = _table(5, dv, dtype, device)
            self.scale_shift_table_a2v_ca_audio = _table(5, da, dtype, device)

    def _init_stream(
        self, config: TransformerConfig, prefix: str, geometry: tuple[int, int], context_dim: int,
        layer: dict[str, Any],
    ) -> None:
        """Create one stream's ``{prefix}attn1``, ``attn2``, ``ff`` and AdaLN tables. geometry = (heads, head_dim);
        ``layer["bias"]`` is the stream's feed-forward bias switch."""
        heads, head_dim = geometry
        dim = heads * head_dim
        layer = dict(layer)
        ff_bias = layer.pop("bias")
        attn = {"heads": heads, "head_dim": head_dim, "norm_eps": config.norm_eps, "gated": config.gated_attention,
                **layer}
        self.add_module(prefix + "attn1", Attention(dim, **attn))
        self.add_module(prefix + "attn2", Attention(dim, context_dim, **attn))
        self.add_module(prefix + "ff", FeedForward(dim, bias=ff_bias, **layer))
        factory = (layer["dtype"], layer["device"])
        self.register_parameter(prefix + "scale_shift_table", _table(config.adaln_coefficient, dim, *factory))
        if config.cross_attention_adaln:
            self.register_parameter(prefix + "prompt_scale_shift_table", _table(2, dim, *factory))

    def forward(
        self, video: StreamState | None, audio: StreamState | None, *, perturbations: Perturbations,
        options: TransformerOptions,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Run the block; returns the updated ``(B, Tv, Dv)`` video and ``(B, Ta, Da)`` audio tokens (or None).
        ``options`` gives each attention its kernel (:meth:`TransformerOptions.kernel`)."""
        vx = video.x if video is not None else None
        ax = audio.x if audio is not None else None
        run_v = video is not None and video.enabled and vx.numel() > 0
        run_a = audio is not None and audio.enabled and ax.numel() > 0
        run_a2v = run_v and audio is not None and ax.numel() > 0
        run_v2a = run_a and video is not None and vx.numel() > 0
        streams = {}
        if run_v:
            mods = self._stream_modules(audio=False)
            streams["v"] = (mods, mods.modulation(video))
            vx = self._attention_part(vx, video, streams["v"], perturbations, options)
        if run_a:
            mods = self._stream_modules(audio=True)
            streams["a"] = (mods, mods.modulation(audio))
            ax = self._attention_part(ax, audio, streams["a"], perturbations, options)
        if run_a2v or run_v2a:
            vx, ax = self._cross_modal(vx, ax, video, audio, (run_a2v, run_v2a), perturbations, options)
        if run_v:
            vx = self._feed_forward(vx, streams["v"])
        if run_a:
            ax = self._feed_forward(ax, streams["a"])
        return vx, ax

    def _stream_modules(self, *, audio: bool) -> _StreamModules:
        prefix = "audio_" if audio else ""
        return _StreamModules(
            attn1=getattr(self, prefix + "attn1"),
            attn2=getattr(self, prefix + "attn2"),
            ff=getattr(self, prefix + "ff"),
            table=getattr(self, prefix + "scale_shift_table"),
            prompt_table=getattr(self, prefix + "prompt_scale_shift_table", None),
            self_skip=SkipAttention.AUDIO_SELF if audio else SkipAttention.VIDEO_SELF,
        )

    def _attention_part(
        self, x: torch.Tensor, state: StreamState, stream: tuple[_StreamModules, Modulation],
        perturbations: Perturbations, options: TransformerOptions,
    ) -> torch.Tensor:
        """Modulated self-attention (with its STG switch), then the text cross-attention. x: (B, T, D)."""
        mods, ada = stream
        shift, scale1, gate = ada.rows(_SELF_ROWS)
        hidden = _modulate_(rms_norm(x, self.norm_eps), scale1, shift)
        keep = perturbations.keep_switch(mods.self_skip, self.index, x)
        out = mods.attn1(hidden, attention_fn=options.kernel(mods.self_skip), mask=state.self_attention_mask,
                         pe=state.pe, keep=keep)
        x = _gated_residual(x, out, gate)
        return self._text_attention(x, state, stream, options.attention_fn)

    def _text_attention(
        self, x: torch.Tensor, state: StreamState, stream: tuple[_StreamModules, Modulation],
        attention_fn: AttentionFn,
    ) -> torch.Tensor:
        """``x`` + its text cross-attention, x: (B, T, D). 19B: plain pre-norm. 22B: AdaLN on the query (rows 6-8)
        and the prompt AdaLN scale/shift on the (un-normalised) context."""
        mods, ada = stream
        normed = rms_norm(x, self.norm_eps)
        if not self.cross_attention_adaln:
            out = mods.attn2(normed, state.context, attention_fn=attention_fn, mask=state.context_mask)
            return out.add_(x)
        shift_q, scale1_q, gate = ada.rows(_TEXT_ROWS)
        shift_kv, scale1_kv = _prompt_rows(mods.prompt_table, state.prompt_ada, normed)
        context = _modulate(state.context, scale1_kv, shift_kv)  # (B, S, D); state.context stays untouched
        out = mods.attn2(_modulate_(normed, scale1_q, shift_q), context, attention_fn=attention_fn,
                         mask=state.context_mask)
        return _gated_residual(x, out, gate)

    def _cross_modal(
        self, vx: torch.Tensor, ax: torch.Tensor, video: StreamState, audio: StreamState, run: tuple[bool, bool],
        perturbations: Perturbations, options: TransformerOptions,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio->video and video->audio cross-attention. Both read the norms of the tokens as they were
        before either update."""
        v_side = _cross_side(rms_norm(vx, self.norm_eps), video, self.scale_shift_table_a2v_ca_video)
        a_side = _cross_side(rms_norm(ax, self.norm_eps), audio, self.scale_shift_table_a2v_ca_audio)
        new_vx, new_ax = vx, ax
        keep_a2v = perturbations.keep_switch(SkipAttention.AUDIO_TO_VIDEO, self.index, vx) if run[0] else False
        if keep_a2v is not False:
            update = self._cross_direction(self.audio_to_video_attn, v_side, a_side, _A2V_ROWS,
                                           options.kernel(SkipAttention.AUDIO_TO_VIDEO))
            new_vx = vx + _keep(update, keep_a2v)
        keep_v2a = perturbations.keep_switch(SkipAttention.VIDEO_TO_AUDIO, self.index, ax) if run[1] else False
        if keep_v2a is not False:
            update = self._cross_direction(self.video_to_audio_attn, a_side, v_side, _V2A_ROWS,
                                           options.kernel(SkipAttention.VIDEO_TO_AUDIO))
            new_ax = ax + _keep(update, keep_v2a)
        return new_vx, new_ax

    @staticmethod
    def _cross_direction(
        attn: Attention, query: _CrossSide, key: _CrossSide, rows: slice, attention_fn: AttentionFn
    ) -> torch.Tensor:
        """Gated cross-attention update of the query stream. Each side is a :data:`_CrossSide`; rows 0:2 (a2v)
        or 2:4 (v2a) modulate both sides, the query side's gate row scales the output."""
        q_normed, q_state, q_ada, q_gate = query
        k_normed, k_state, k_ada, _ = key
        q_scale1, q_shift = q_ada.rows(rows)
        k_scale1, k_shift = k_ada.rows(rows)
        # The normed tokens are shared by both directions: modulate copies, not in place.
        out = attn(_modulate(q_normed, q_scale1, q_shift), _modulate(k_normed, k_scale1, k_shift),
                   attention_fn=attention_fn, pe=q_state.cross_pe, k_pe=k_state.cross_pe)
        return out.mul_(q_gate)

    def _feed_forward(self, x: torch.Tensor, stream: tuple[_StreamModules, Modulation]) -> torch.Tensor:
        """Modulated feed-forward residual. x: (B, T, D)."""
        mods, ada = stream
        shift, scale1, gate = ada.rows(_FF_ROWS)
        return _gated_residual(x, mods.ff(_modulate_(rms_norm(x, self.norm_eps), scale1, shift)), gate)


def _cross_side(normed: torch.Tensor, state: StreamState, table: torch.Tensor) -> _CrossSide:
    """One side of the audio<->video cross-attention from its 5-row table: rows 0-3 modulated by the stream's
    cross scale/shift AdaLN, row 4 (the gate) by its cross gate AdaLN."""
    (gate,) = Modulation.of(table[4:], state.cross_gate).rows(slice(None))
    return normed, state, Modulation.of(table[:4], state.cross_scale_shift, _CROSS_SCALES), gate


def _prompt_rows(
    table: torch.Tensor, prompt_ada: TimestepValues | None, like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(shift, 1 + scale) of the text context: the block's ``(2, D)`` prompt table plus the prompt AdaLN values,
    or (``use_prompt_adaln_single`` false, LTX-2.5) the table alone as ``(1, 1, D)`` rows in ``like``'s dtype, so
    the context's K/V do not depend on the timestep."""
    if prompt_ada is not None:
        return Modulation.of(table, prompt_ada, _MAIN_SCALES).rows(slice(0, 2))
    rows = table.to(device=like.device, dtype=like.dtype)[None, None]  # (1, 1, 2, D)
    return rows[:, :, 0], 1 + rows[:, :, 1]


def _gated_residual(x: torch.Tensor, out: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """``x + out·gate``, reusing ``out``'s (a fresh layer output's) storage: the reference's two roundings in its
    order (bit-identical to the expression), or on :func:`~ltx_model.layers.cpu_fast_path` one fused ``addcmul``
    pass (float32 rounding apart). x, out: (B, T, D); gate: (B, T', D)."""
    if cpu_fast_path(out):
        return torch.addcmul(x, out, gate, out=out)
    return out.mul_(gate).add_(x)


def _modulate(y: torch.Tensor, scale1: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """AdaLN ``y·scale1 + shift`` (``scale1`` = 1 + scale) into a new tensor (``y`` is kept).
    y: (B, T, D); scale1, shift: (B, T', D)."""
    if cpu_fast_path(y):
        return torch.addcmul(shift, y, scale1)
    return (y * scale1).add_(shift)


def _modulate_(y: torch.Tensor, scale1: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """:func:`_modulate` in ``y``'s storage (a fresh norm output)."""
    if cpu_fast_path(y):
        return torch.addcmul(shift, y, scale1, out=y)
    return y.mul_(scale1).add_(shift)


def _keep(update: torch.Tensor, keep: torch.Tensor | bool) -> torch.Tensor:
    """Zero the update of perturbed samples (``keep`` a (B, 1, 1) 0/1 tensor) or pass it (``True``)."""
    return update if keep is True else update * keep


def _table(rows: int, dim: int, dtype: torch.dtype | None, device: torch.device | str | None) -> nn.Parameter:
    """An uninitialised learned ``(rows, dim)`` modulation table (filled by the checkpoint)."""
    return nn.Parameter(torch.empty(rows, dim, dtype=dtype, device=device))
