"""The LTX-2 (19B) / LTX-2.3 / LTX-2.5 (22B) audio+video diffusion transformer (ltx-core ``LTXModel``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import nn

from .. import layers
from .adaln import AdaLayerNormSingle, CaptionProjection
from .block import TransformerBlock
from .config import TransformerConfig
from .modality import Modality
from .options import DEFAULT_OPTIONS, NO_PERTURBATIONS, Perturbations, TransformerOptions
from .rope import RopeSpec
from .stream import StreamParts, StreamState, prepare_stream

# (scale/shift, gate) AdaLN module names of the audio<->video cross-attention, for the video (False) / audio stream.
_CROSS_ADALN = {
    False: ("av_ca_video_scale_shift_adaln_single", "av_ca_a2v_gate_adaln_single"),
    True: ("av_ca_audio_scale_shift_adaln_single", "av_ca_v2a_gate_adaln_single"),
}


class LTXTransformer(nn.Module):
    """Velocity-predicting audio+video DiT.

    ``state_dict()`` keys equal the checkpoint's ``model.diffusion_model.*`` keys minus that prefix (the text
    connectors ``*embeddings_connector.*`` excluded). Built on ``device="meta"`` without allocating; layers come
    from ``operations`` (``torch.nn`` or a host's drop-in namespace such as ``comfy.ops``).
    """

    def __init__(
        self, config: TransformerConfig, *, dtype: torch.dtype | None = None,
        device: torch.device | str | None = None, operations: Any = layers,
    ) -> None:
        super().__init__()
        self.config = config
        if config.kind.has_video:
            self._init_stream(config.video_inner_dim, config.in_channels, config.out_channels, prefix="",
                              dtype=dtype, device=device, operations=operations)
        if config.kind.has_audio:
            self._init_stream(config.audio_inner_dim, config.audio_in_channels, config.audio_out_channels,
                              prefix="audio_", dtype=dtype, device=device, operations=operations)
        if config.kind.has_video and config.kind.has_audio:
            layer = {"dtype": dtype, "device": device, "operations": operations}
            dv, da = config.video_inner_dim, config.audio_inner_dim
            self.av_ca_video_scale_shift_adaln_single = AdaLayerNormSingle(dv, 4, **layer)
            self.av_ca_audio_scale_shift_adaln_single = AdaLayerNormSingle(da, 4, **layer)
            self.av_ca_a2v_gate_adaln_single = AdaLayerNormSingle(dv, 1, **layer)
            self.av_ca_v2a_gate_adaln_single = AdaLayerNormSingle(da, 1, **layer)
        self.transformer_blocks = nn.ModuleList(
            TransformerBlock(config, index, dtype=dtype, device=device, operations=operations)
            for index in range(config.num_layers)
        )

    def _init_stream(
        self, dim: int, in_channels: int, out_channels: int, *, prefix: str, dtype: torch.dtype | None,
        device: torch.device | str | None, operations: Any,
    ) -> None:
        """Create one stream's top-level modules, named ``{prefix}patchify_proj`` etc."""
        config = self.config
        layer = {"dtype": dtype, "device": device, "operations": operations}
        modules: dict[str, nn.Module] = {
            "patchify_proj": operations.Linear(in_channels, dim, bias=True, dtype=dtype, device=device),
            "adaln_single": AdaLayerNormSingle(dim, config.adaln_coefficient, **layer),
            "norm_out": operations.LayerNorm(dim, elementwise_affine=False, eps=config.norm_eps, dtype=dtype,
                                             device=device),
            "proj_out": operations.Linear(dim, out_channels, bias=True, dtype=dtype, device=device),
        }
        if config.cross_attention_adaln and config.prompt_adaln:
            modules["prompt_adaln_single"] = AdaLayerNormSingle(dim, 2, **layer)
        if config.caption_projection:
            modules["caption_projection"] = CaptionProjection(config.caption_channels, dim, **layer)
        for name, module in modules.items():
            self.add_module(prefix + name, module)
        self.register_parameter(prefix + "scale_shift_table",
                                nn.Parameter(torch.empty(2, dim, dtype=dtype, device=device)))
        if config.keyframes_embedding and not prefix:  # video stream only (LTX-2.5)
            self.keyframes_abs_pos_embedding = nn.Parameter(torch.empty(1, dim, dtype=dtype, device=device))

    def _stream_parts(self, *, audio: bool) -> StreamParts:
        """Module references and RoPE specs of one stream."""
        config = self.config
        prefix = "audio_" if audio else ""
        heads = config.audio_num_attention_heads if audio else config.num_attention_heads
        rope = {"theta": config.positional_embedding_theta, "layout": config.rope_type,
                "double_precision": config.rope_double_precision}
        max_pos = config.audio_positional_embedding_max_pos if audio else config.positional_embedding_max_pos
        dim = config.audio_inner_dim if audio else config.video_inner_dim
        both = config.kind.has_video and config.kind.has_audio
        return StreamParts(
            patchify_proj=getattr(self, prefix + "patchify_proj"),
            keyframes_embedding=None if audio else getattr(self, "keyframes_abs_pos_embedding", None),
            adaln=getattr(self, prefix + "adaln_single"),
            rope=RopeSpec(dim=dim, heads=heads, max_pos=tuple(max_pos), **rope),
            timestep_multiplier=config.timestep_scale_multiplier,
            prompt_adaln=getattr(self, prefix + "prompt_adaln_single", None),
            caption_projection=getattr(self, prefix + "caption_projection", None),
            cross_scale_shift_adaln=getattr(self, _CROSS_ADALN[audio][0], None),
            cross_gate_adaln=getattr(self, _CROSS_ADALN[audio][1], None),
            # Cross-modal RoPE: time axis only, width = the A/V attention width, the stream's own head count.
            cross_rope=RopeSpec(dim=config.audio_cross_attention_dim, heads=heads,
                                max_pos=(config.cross_pe_max_pos,), **rope) if both else None,
            cross_gate_multiplier=config.av_ca_timestep_scale_multiplier,
        )

    def forward(
        self,
        video: Modality | None,
        audio: Modality | None,
        perturbations: Perturbations | None = None,
        *,
        options: TransformerOptions | None = None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Predict velocities.

        Args:
            video: video stream input (None to leave the stream out); see :class:`Modality` for shapes.
            audio: audio stream input (None to leave it out).
            perturbations: attentions to skip (STG, a2v / v2a isolation); None = none.
            options: host options (attention kernel); None = defaults.
        Returns:
            ``(video_velocity (B, Tv, out_channels) | None, audio_velocity (B, Ta, audio_out_channels) | None)``,
            one output token per input token (appended conditioning tokens included).
        """
        kind = self.config.kind
        if video is not None and not kind.has_video:
            raise ValueError("this transformer has no video stream but a video Modality was given")
        if audio is not None and not kind.has_audio:
            raise ValueError("this transformer has no audio stream but an audio Modality was given")
        if video is None and audio is None:
            raise ValueError("at least one of video or audio must be given")
        perturbations = NO_PERTURBATIONS if perturbations is None else perturbations
        options = options or DEFAULT_OPTIONS
        # Everything block-independent (AdaLN values, context, masks, RoPE tables) is computed once here.
        v_state = prepare_stream(self._stream_parts(audio=False), video, audio) if video is not None else None
        a_state = prepare_stream(self._stream_parts(audio=True), audio, video) if audio is not None else None
        for block in self.transformer_blocks:
            vx, ax = block(v_state, a_state, perturbations=perturbations, options=options)
            v_state = replace(v_state, x=vx) if v_state is not None else None
            a_state = replace(a_state, x=ax) if a_state is not None else None
        video_out = self._output(v_state, audio=False) if v_state is not None else None
        audio_out = self._output(a_state, audio=True) if a_state is not None else None
        return video_out, audio_out

    def _output(self, state: StreamState, *, audio: bool) -> torch.Tensor:
        """Final modulation: LayerNorm(x)·(1+scale)+shift with (shift, scale) = table + embedded timestep,
        then ``proj_out``. (B, T, D) -> (B, T, out_channels)."""
        prefix = "audio_" if audio else ""
        table = getattr(self, prefix + "scale_shift_table")
        x = state.x
        embedded = state.embedded_timestep  # (U, D) per distinct timestep
        values = table[None].to(device=x.device, dtype=x.dtype) + embedded.values[:, None]  # (U, 2, D)
        shift, scale = embedded.gather(values).unbind(dim=2)  # (B, T', D) each
        x = getattr(self, prefix + "norm_out")(x).mul_(1 + scale).add_(shift)
        return getattr(self, prefix + "proj_out")(x)
