"""Configuration of the text path: Gemma feature extractor ("text projection") and embeddings connectors.

Built from the checkpoint metadata ``config["transformer"]`` section, which the transformer config reads as well.
:meth:`TextConfig.from_dict` therefore only looks at the keys listed in :data:`TEXT_KEYS` and validates that
subset; every other key of the section is left to the transformer owner.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..configbase import ConfigError, require, validate_section

SECTION = "transformer"

# The four keys whose presence selects the V2 (LTX-2.3, 22B) feature extractor, with their only supported values.
V2_SELECTOR_VALUES: dict[str, bool] = {
    "caption_proj_before_connector": True,
    "caption_projection_first_linear": False,
    "caption_proj_input_norm": False,
    "caption_projection_second_linear": False,
}

# Keys read by TextConfig (a subset of the transformer section).
_CONNECTOR_KEYS = (
    "connector_num_layers",
    "connector_num_attention_heads",
    "connector_attention_head_dim",
    "connector_num_learnable_registers",
    "connector_positional_embedding_max_pos",
    "connector_apply_gated_attention",
    "connector_ff_bias",
    "audio_connector_num_attention_heads",
    "audio_connector_attention_head_dim",
    "audio_connector_num_layers",
)
_OTHER_KEYS = (
    "rope_type",
    "frequencies_precision",
    "caption_channels",
    "num_attention_heads",
    "attention_head_dim",
    "audio_num_attention_heads",
    "audio_attention_head_dim",
)
_FIXED: dict[str, Any] = {
    "use_embeddings_connector": True,
    "connector_norm_output": True,  # ltx-core always applies the output RMS norm
    "text_encoder_norm_type": "per_token_rms",  # only meaningful (and only allowed) with V2
}
_IGNORED = ("connector_learnable_registers_std",)  # initialisation only
TEXT_KEYS: frozenset[str] = frozenset((*_CONNECTOR_KEYS, *_OTHER_KEYS, *V2_SELECTOR_VALUES, *_FIXED, *_IGNORED))

GEMMA3_12B_HIDDEN_STATES = 49  # token embeddings + 48 decoder layers


class ExtractorKind(str, Enum):
    """Which Gemma feature extractor the checkpoint uses."""

    V1 = "v1"  # 19B: per-prompt mean/range norm, one bias-free aggregate_embed to the Gemma width
    V2 = "v2"  # 22B: per-token RMS norm, separate video/audio aggregate embeds (with bias)


class ConnectorLayout(str, Enum):
    """Which connectors exist and how they are named in the file."""

    AUDIO_VIDEO = "audio_video"  # video_embeddings_connector.* + audio_embeddings_connector.*
    VIDEO_ONLY = "video_only"  # embeddings_connector.*


class RopeLayout(str, Enum):
    """How RoPE rotates channel pairs: ``split`` (first half/second half per head) or ``interleaved`` (adjacent)."""

    SPLIT = "split"
    INTERLEAVED = "interleaved"


@dataclass(frozen=True)
class ConnectorConfig:
    """Shape of one embeddings connector (1D transformer)."""

    num_heads: int
    head_dim: int
    num_layers: int

    @property
    def width(self) -> int:
        """Token width D = heads * head_dim."""
        return self.num_heads * self.head_dim


@dataclass(frozen=True)
class TextConfig:
    """Text path configuration (feature extractor + embeddings connectors).

    Attributes:
        extractor: V1 (19B) or V2 (22B) feature extractor.
        layout: audio+video connectors or the video-only variant.
        video: video connector shape.
        audio: audio connector shape (None for the video-only layout).
        gemma_width: Gemma hidden size D_g (``caption_channels``; 3840 for Gemma 3 12B).
        gemma_hidden_states: number L of stacked Gemma hidden states (49 = embeddings + 48 layers).
        num_registers: learnable registers per connector (0 disables register substitution).
        rope_max_pos: connector RoPE max position (``connector_positional_embedding_max_pos[0]``).
        rope_layout: split or interleaved RoPE.
        rope_double_precision: frequency grid computed in float64 (``frequencies_precision == "float64"``).
        gated_attention: per-head attention gates (``to_gate_logits``) in the connector blocks.
        ff_bias: biases in the connector feed-forward layers (HEAD ``connector_ff_bias``, default true).
        rope_theta: RoPE base; ltx-core does not read it from the config (always 10000).
        norm_eps: epsilon of all RMS norms in the connectors.
    """

    extractor: ExtractorKind
    layout: ConnectorLayout
    video: ConnectorConfig
    audio: ConnectorConfig | None
    gemma_width: int = 3840
    gemma_hidden_states: int = GEMMA3_12B_HIDDEN_STATES
    num_registers: int = 128
    rope_max_pos: int = 4096
    rope_layout: RopeLayout = RopeLayout.SPLIT
    rope_double_precision: bool = True
    gated_attention: bool = False
    ff_bias: bool = True
    rope_theta: float = 10000.0
    norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        if (self.audio is None) != (self.layout is ConnectorLayout.VIDEO_ONLY):
            raise ConfigError("text config: the audio connector must exist exactly for the audio_video layout")
        if self.extractor is ExtractorKind.V1:
            for name, conn in (("video", self.video), ("audio", self.audio)):
                if conn is not None and conn.width != self.gemma_width:
                    raise ConfigError(
                        f"{SECTION} config: V1 {name} connector width {conn.width} must equal "
                        f"{SECTION}.caption_channels {self.gemma_width}"
                    )

    @property
    def feature_dim(self) -> int:
        """Flattened Gemma feature width D_g * L fed to the aggregate embeds (188160 for Gemma 3 12B)."""
        return self.gemma_width * self.gemma_hidden_states

    @classmethod
    def from_dict(
        cls, section: Mapping[str, Any], *, layout: ConnectorLayout = ConnectorLayout.AUDIO_VIDEO
    ) -> TextConfig:
        """Build from the checkpoint metadata ``config["transformer"]`` section.

        Only the keys in :data:`TEXT_KEYS` are read and validated; the rest of the section belongs to the
        transformer config. Defaults for missing keys follow ltx-core, except ``rope_type`` (HEAD default
        ``split``; ltx-core 1.0.0 defaulted to ``interleaved``; the real files set ``split``).
        Raises:
            ConfigError: naming the key on an unsupported value or an incomplete V2 key set.
        """
        subset = {k: v for k, v in section.items() if k in TEXT_KEYS}
        validate_section(subset, name=SECTION, known=TEXT_KEYS, fixed=_FIXED)
        extractor = _extractor_kind(subset)
        video = ConnectorConfig(
            num_heads=_positive_int(subset, "connector_num_attention_heads", 30),
            head_dim=_positive_int(subset, "connector_attention_head_dim", 128),
            num_layers=_positive_int(subset, "connector_num_layers", 2),
        )
        audio = None
        if layout is ConnectorLayout.AUDIO_VIDEO:
            audio = ConnectorConfig(
                num_heads=_positive_int(subset, "audio_connector_num_attention_heads", video.num_heads),
                head_dim=_positive_int(subset, "audio_connector_attention_head_dim", video.head_dim),
                num_layers=_positive_int(subset, "audio_connector_num_layers", video.num_layers),
            )
        if extractor is ExtractorKind.V2:
            _check_v2_widths(subset, video, audio)
        return cls(
            extractor=extractor,
            layout=layout,
            video=video,
            audio=audio,
            gemma_width=_positive_int(subset, "caption_channels", 3840),
            num_registers=_registers(subset),
            rope_max_pos=_max_pos(subset),
            rope_layout=_enum_value(subset, "rope_type", RopeLayout, RopeLayout.SPLIT),
            rope_double_precision=_precision(subset),
            gated_attention=_bool(subset, "connector_apply_gated_attention", False),
            ff_bias=_bool(subset, "connector_ff_bias", True),
        )

    @classmethod
    def tiny(
        cls, extractor: ExtractorKind = ExtractorKind.V2, *, layout: ConnectorLayout = ConnectorLayout.AUDIO_VIDEO
    ) -> TextConfig:
        """A few-kB config for tests: Gemma width 16, 3 hidden states, 4 registers, 2-layer connectors.

        V1 connectors are 16 wide (the Gemma width, as in 19B); V2 uses 24 (video) / 12 (audio) and gated attention
        like 22B.
        """
        v1 = extractor is ExtractorKind.V1
        video = ConnectorConfig(num_heads=2, head_dim=8, num_layers=2) if v1 else ConnectorConfig(3, 8, 2)
        audio = ConnectorConfig(num_heads=2, head_dim=8, num_layers=2) if v1 else ConnectorConfig(2, 6, 2)
        return cls(
            extractor=extractor,
            layout=layout,
            video=video,
            audio=None if layout is ConnectorLayout.VIDEO_ONLY else audio,
            gemma_width=16,
            gemma_hidden_states=3,
            num_registers=4,
            rope_max_pos=64,
            gated_attention=not v1,
        )

    def replace(self, **changes: Any) -> TextConfig:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _extractor_kind(subset: Mapping[str, Any]) -> ExtractorKind:
    present = [k for k in V2_SELECTOR_VALUES if k in subset]
    if not present:
        if "text_encoder_norm_type" in subset:
            raise ConfigError(f"{SECTION} config: {SECTION}.text_encoder_norm_type is only supported with the V2 keys")
        return ExtractorKind.V1
    missing = [k for k in V2_SELECTOR_VALUES if k not in subset]
    if missing:
        raise ConfigError(f"{SECTION} config: incomplete V2 text projection keys, missing {SECTION}.{missing[0]}")
    for key, expected in V2_SELECTOR_VALUES.items():
        if subset[key] is not expected:
            raise ConfigError(
                f"{SECTION} config: unsupported value {subset[key]!r} for {SECTION}.{key} (supported: {expected!r})"
            )
    return ExtractorKind.V2


def _check_v2_widths(subset: Mapping[str, Any], video: ConnectorConfig, audio: ConnectorConfig | None) -> None:
    """V2 aggregate embeds project to the transformer widths, which must equal the connector widths."""
    pairs = [("num_attention_heads", "attention_head_dim", video, "connector")]
    if audio is not None:
        pairs.append(("audio_num_attention_heads", "audio_attention_head_dim", audio, "audio_connector"))
    for heads_key, dim_key, conn, name in pairs:
        width = int(require(subset, heads_key, name=SECTION)) * int(require(subset, dim_key, name=SECTION))
        if width != conn.width:
            raise ConfigError(
                f"{SECTION} config: {SECTION}.{heads_key} x {SECTION}.{dim_key} = {width} must equal the "
                f"{name} width {conn.width}"
            )


def _positive_int(subset: Mapping[str, Any], key: str, default: int) -> int:
    value = subset.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{SECTION} config: unsupported value {value!r} for {SECTION}.{key} (a positive int)")
    return value


def _bool(subset: Mapping[str, Any], key: str, default: bool) -> bool:
    value = subset.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{SECTION} config: unsupported value {value!r} for {SECTION}.{key} (true or false)")
    return value


def _registers(subset: Mapping[str, Any]) -> int:
    value = subset.get("connector_num_learnable_registers", 128)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"{SECTION} config: unsupported value {value!r} for {SECTION}.connector_num_learnable_registers"
        )
    return value


def _max_pos(subset: Mapping[str, Any]) -> int:
    value = subset.get("connector_positional_embedding_max_pos", [1])
    if not isinstance(value, (list, tuple)) or len(value) != 1 or not isinstance(value[0], (int, float)):
        raise ConfigError(
            f"{SECTION} config: unsupported value {value!r} for {SECTION}.connector_positional_embedding_max_pos "
            "(a one-element list)"
        )
    return int(value[0])


def _precision(subset: Mapping[str, Any]) -> bool:
    value = subset.get("frequencies_precision", "float32")
    if value not in ("float32", "float64"):
        raise ConfigError(
            f"{SECTION} config: unsupported value {value!r} for {SECTION}.frequencies_precision "
            "(supported: 'float32', 'float64')"
        )
    return value == "float64"


def _enum_value(subset: Mapping[str, Any], key: str, enum: type[Enum], default: Enum) -> Any:
    value = subset.get(key, default.value)
    try:
        return enum(value)
    except ValueError:
        supported = ", ".join(repr(m.value) for m in enum)
        raise ConfigError(
            f"{SECTION} config: unsupported value {value!r} for {SECTION}.{key} (supported: {supported})"
        ) from None
