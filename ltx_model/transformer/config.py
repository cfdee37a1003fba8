"""Configuration of the LTX-2 / LTX-2.3 diffusion transformer, read from the checkpoint's ``transformer`` section."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..configbase import ConfigError, validate_section

SECTION = "transformer"


class ModelKind(Enum):
    """Which streams the transformer carries (ltx-core ``LTXModelType``)."""

    AUDIO_VIDEO = "audio_video"
    VIDEO_ONLY = "video_only"
    AUDIO_ONLY = "audio_only"

    @property
    def has_video(self) -> bool:
        """True when the video stream (``patchify_proj``, ``attn1`` ...) exists."""
        return self in (ModelKind.AUDIO_VIDEO, ModelKind.VIDEO_ONLY)

    @property
    def has_audio(self) -> bool:
        """True when the audio stream (``audio_patchify_proj``, ``audio_attn1`` ...) exists."""
        return self in (ModelKind.AUDIO_VIDEO, ModelKind.AUDIO_ONLY)


class RopeType(Enum):
    """Rotary-embedding layout. SPLIT (half-split per head) is used by every released LTX-2 / 2.3 checkpoint."""

    INTERLEAVED = "interleaved"
    SPLIT = "split"


# Keys whose value must be the (only) supported setting; ltx-core's ``check_config_value`` list.
_FIXED: dict[str, Any] = {
    "dropout": 0.0,
    "attention_bias": True,
    "num_vector_embeds": None,
    "activation_fn": "gelu-approximate",
    "num_embeds_ada_norm": 1000,
    "use_linear_projection": False,
    "only_cross_attention": False,
    "cross_attention_norm": True,
    "double_self_attention": False,
    "upcast_attention": False,
    "standardization_norm": "rms_norm",
    "norm_elementwise_affine": False,
    "qk_norm": "rms_norm",
    "positional_embedding_type": "rope",
    "use_audio_video_cross_attention": True,
    "share_ff": False,
    "av_cross_ada_norm": True,
    "use_middle_indices_grid": True,
}

# Keys accepted and not read here. Descriptive metadata, the attention backend choice (we take the attention
# function from the host at call time), and the text-path keys that live in this section but configure the text
# projection / embeddings connectors (read by ``ltx_model.text``).
IGNORED_METADATA_KEYS = ("_class_name", "_diffusers_version", "causal_temporal_positioning", "norm_num_groups",
                         "attention_type")
TEXT_PATH_KEYS = (
    "use_embeddings_connector",
    "connector_num_layers",
    "connector_num_attention_heads",
    "connector_attention_head_dim",
    "connector_num_learnable_registers",
    "connector_positional_embedding_max_pos",
    "connector_norm_output",
    "connector_apply_gated_attention",
    "connector_learnable_registers_std",
    "connector_ff_bias",
    "audio_connector_num_attention_heads",
    "audio_connector_attention_head_dim",
    "caption_projection_first_linear",
    "caption_projection_second_linear",
    "caption_proj_input_norm",
    "text_encoder_norm_type",
    "gemma_version",
)

# Keys read by ``from_dict`` with the value used when the key is missing. These are ltx-core's defaults for a
# missing key, except ``rope_type``: ltx-core 1.0.0 falls back to "interleaved", HEAD (1.2.0) to "split"; we
# follow HEAD. Every released file sets rope_type / frequencies_precision / av_ca_timestep_scale_multiplier.
_READ_DEFAULTS: dict[str, Any] = {
    "num_layers": 48,
    "num_attention_heads": 32,
    "attention_head_dim": 128,
    "in_channels": 128,
    "out_channels": 128,
    "cross_attention_dim": 4096,
    "caption_channels": 3840,
    "audio_num_attention_heads": 32,
    "audio_attention_head_dim": 64,
    "audio_in_channels": 128,
    "audio_out_channels": 128,
    "audio_cross_attention_dim": 2048,
    "positional_embedding_theta": 10000.0,
    "positional_embedding_max_pos": [20, 2048, 2048],
    "audio_positional_embedding_max_pos": [20],
    "rope_type": "split",
    "frequencies_precision": "float32",
    "timestep_scale_multiplier": 1000,
    "av_ca_timestep_scale_multiplier": 1,
    "norm_eps": 1e-6,
    "apply_gated_attention": False,
    "cross_attention_adaln": False,
    "caption_proj_before_connector": False,
    # LTX-2.5 switches (ltx-core HEAD's configurator); the defaults keep every pre-2.5 file as it was.
    "use_prompt_adaln_single": True,
    "ff_bias": True,
    "audio_ff_bias": True,
    "use_keyframes_abs_pos_embedding": False,
}


@dataclass(frozen=True)
class TransformerConfig:
    """Hyper-parameters of :class:`~ltx_model.transformer.LTXTransformer`.

    Defaults are the published 19B (LTX-2) values. The 22B (LTX-2.3) form is ``gated_attention=True``,
    ``cross_attention_adaln=True`` (9 AdaLN rows per block, prompt AdaLN) and ``caption_projection=False``
    (the caption projection lives in the text path). The LTX-2.5 form adds ``ff_bias=False`` (video FF only),
    ``prompt_adaln=False`` and ``keyframes_embedding=True`` (see :meth:`tiny_25`).

    Attributes:
        kind: which streams exist.
        num_layers: number of transformer blocks.
        num_attention_heads / attention_head_dim: video attention geometry (inner dim Dv = heads * head_dim).
        in_channels / out_channels: video token width in/out (patchified latent channels).
        cross_attention_dim: width of the video text context seen by ``attn2`` (== Dv).
        caption_channels: width of the text features fed to the in-model caption projection (19B only).
        audio_*: the same for the audio stream (Da = audio heads * audio head_dim).
        positional_embedding_theta: RoPE base.
        positional_embedding_max_pos / audio_positional_embedding_max_pos: per-axis position normalisers.
        rope_type: SPLIT or INTERLEAVED rotation layout.
        rope_double_precision: frequency grid computed in float64 ("frequencies_precision": "float64").
        timestep_scale_multiplier: sigma -> AdaLN timestep factor (1000).
        av_ca_timestep_scale_multiplier: audio/video cross-attention gate timestep factor (1000 in real files).
        norm_eps: epsilon of every RMS/LayerNorm.
        gated_attention: per-head output gates ``to_gate_logits`` in every attention (22B).
        cross_attention_adaln: AdaLN on the text cross-attention, prompt AdaLN (22B).
        caption_projection: the model owns ``caption_projection`` / ``audio_caption_projection`` (19B).
        ff_bias / audio_ff_bias: the video / audio feed-forward Linears carry biases (LTX-2.5: video False).
        prompt_adaln: with ``cross_attention_adaln``, the ``prompt_adaln_single`` MLPs exist
            (``use_prompt_adaln_single``; LTX-2.5 False: the per-block prompt tables alone modulate the text
            context, so its K/V do not depend on the timestep).
        keyframes_embedding: a learned ``keyframes_abs_pos_embedding`` ``(1, Dv)`` is added right after
            ``patchify_proj`` to the video tokens flagged by ``Modality.keyframes_mask``
            (``use_keyframes_abs_pos_embedding``, LTX-2.5).
    """

    kind: ModelKind = ModelKind.AUDIO_VIDEO
    num_layers: int = 48
    num_attention_heads: int = 32
    attention_head_dim: int = 128
    in_channels: int = 128
    out_channels: int = 128
    cross_attention_dim: int = 4096
    caption_channels: int = 3840
    audio_num_attention_heads: int = 32
    audio_attention_head_dim: int = 64
    audio_in_channels: int = 128
    audio_out_channels: int = 128
    audio_cross_attention_dim: int = 2048
    positional_embedding_theta: float = 10000.0
    positional_embedding_max_pos: tuple[int, ...] = (20, 2048, 2048)
    audio_positional_embedding_max_pos: tuple[int, ...] = (20,)
    rope_type: RopeType = RopeType.SPLIT
    rope_double_precision: bool = True
    timestep_scale_multiplier: float = 1000
    av_ca_timestep_scale_multiplier: float = 1000.0
    norm_eps: float = 1e-6
    gated_attention: bool = False
    cross_attention_adaln: bool = False
    caption_projection: bool = True
    ff_bias: bool = True
    audio_ff_bias: bool = True
    prompt_adaln: bool = True
    keyframes_embedding: bool = False

    def __post_init__(self) -> None:
        if self.kind.has_video and self.kind.has_audio:
            # ltx-core HEAD's configurator checks this too: the cross-modal RoPE tables are laid out with the
            # stream's own head count while the A/V attentions use the audio head count.
            if self.num_attention_heads != self.audio_num_attention_heads:
                raise ConfigError(
                    f"{SECTION} config: num_attention_heads ({self.num_attention_heads}) must equal "
                    f"audio_num_attention_heads ({self.audio_num_attention_heads}) for an audio+video model"
                )
            if self.audio_cross_attention_dim != self.audio_inner_dim:
                raise ConfigError(
                    f"{SECTION} config: audio_cross_attention_dim ({self.audio_cross_attention_dim}) must equal "
                    f"audio_num_attention_heads * audio_attention_head_dim ({self.audio_inner_dim})"
                )

    @property
    def video_inner_dim(self) -> int:
        """Dv, the video hidden width."""
        return self.num_attention_heads * self.attention_head_dim

    @property
    def audio_inner_dim(self) -> int:
        """Da, the audio hidden width."""
        return self.audio_num_attention_heads * self.audio_attention_head_dim

    @property
    def adaln_coefficient(self) -> int:
        """AdaLN rows per block: 6 (shift/scale/gate for self-attn and FF), +3 with cross-attention AdaLN."""
        return 9 if self.cross_attention_adaln else 6

    @property
    def cross_pe_max_pos(self) -> int:
        """Temporal normaliser of the audio<->video cross-attention RoPE: max of both temporal max_pos."""
        return max(self.positional_embedding_max_pos[0], self.audio_positional_embedding_max_pos[0])

    @classmethod
    def from_dict(cls, section: Mapping[str, Any], *, kind: ModelKind = ModelKind.AUDIO_VIDEO) -> TransformerConfig:
        """Build from the checkpoint metadata ``config["transformer"]`` section.

        Raises:
            ConfigError: for an unknown key, an unsupported value, or inconsistent widths.
        """
        validate_section(section, name=SECTION, known=_READ_DEFAULTS, fixed=_FIXED,
                         ignored=IGNORED_METADATA_KEYS + TEXT_PATH_KEYS)
        get = {key: section.get(key, default) for key, default in _READ_DEFAULTS.items()}
        precision = get["frequencies_precision"]
        if precision not in ("float32", "float64"):
            raise ConfigError(f"{SECTION} config: unsupported value {precision!r} for {SECTION}.frequencies_precision")
        try:
            rope_type = RopeType(get["rope_type"])
        except ValueError:
            raise ConfigError(f"{SECTION} config: unsupported value {get['rope_type']!r} for {SECTION}.rope_type") \
                from None
        return cls(
            kind=kind,
            **{key: get[key] for key in _SAME_NAME},
            positional_embedding_max_pos=tuple(get["positional_embedding_max_pos"]),
            audio_positional_embedding_max_pos=tuple(get["audio_positional_embedding_max_pos"]),
            rope_type=rope_type,
            rope_double_precision=precision == "float64",
            gated_attention=bool(get["apply_gated_attention"]),
            cross_attention_adaln=bool(get["cross_attention_adaln"]),
            caption_projection=not get["caption_proj_before_connector"],
            prompt_adaln=bool(get["use_prompt_adaln_single"]),
            keyframes_embedding=bool(get["use_keyframes_abs_pos_embedding"]),
        )

    @classmethod
    def tiny(cls, kind: ModelKind = ModelKind.AUDIO_VIDEO) -> TransformerConfig:
        """A 2-layer 19B-form config for tests: video 2 heads x 8, audio 2 heads x 4, 8 latent channels."""
        return cls(
            kind=kind,
            num_layers=2,
            num_attention_heads=2,
            attention_head_dim=8,
            in_channels=8,
            out_channels=8,
            cross_attention_dim=16,
            caption_channels=12,
            audio_num_attention_heads=2,
            audio_attention_head_dim=4,
            audio_in_channels=8,
            audio_out_channels=8,
            audio_cross_attention_dim=8,
        )

    @classmethod
    def tiny_22b(cls, kind: ModelKind = ModelKind.AUDIO_VIDEO) -> TransformerConfig:
        """The 22B (LTX-2.3) form of :meth:`tiny`: gated attention, cross-attention AdaLN, no caption projection."""
        return dataclasses.replace(
            cls.tiny(kind), gated_attention=True, cross_attention_adaln=True, caption_projection=False
        )

    @classmethod
    def tiny_25(cls, kind: ModelKind = ModelKind.AUDIO_VIDEO) -> TransformerConfig:
        """The LTX-2.5 form of :meth:`tiny_22b`: video FF without bias, no prompt AdaLN MLP, keyframe embedding."""
        return dataclasses.replace(cls.tiny_22b(kind), ff_bias=False, prompt_adaln=False, keyframes_embedding=True)


_CONVERTED = ("positional_embedding_max_pos", "audio_positional_embedding_max_pos", "rope_type",
              "cross_attention_adaln")
# (ff_bias / audio_ff_bias are read under their own names; prompt_adaln / keyframes_embedding are renamed above.)
# ``from_dict`` keys whose dataclass field has the same name and needs no conversion.
_SAME_NAME = tuple(
    field.name for field in dataclasses.fields(TransformerConfig)
    if field.name in _READ_DEFAULTS
    and field.name not in _CONVERTED
)
