"""TextConfig: built from the real 19B / 22B transformer sections, subset validation, V1/V2 selection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ltx_model.configbase import ConfigError
from ltx_model.text import ConnectorConfig, ConnectorLayout, ExtractorKind, RopeLayout, TextConfig
from ltx_model.text.config import V2_SELECTOR_VALUES


def _section(manifests_dir: Path, name: str) -> dict:
    return json.loads((manifests_dir / f"{name}.json").read_text())["config"]["transformer"]


def test_text_config_19b_from_manifest(manifests_dir: Path) -> None:
    cfg = TextConfig.from_dict(_section(manifests_dir, "ltx-2-19b"))
    assert cfg.extractor is ExtractorKind.V1
    assert cfg.video == cfg.audio == ConnectorConfig(num_heads=30, head_dim=128, num_layers=2)
    assert (cfg.gemma_width, cfg.feature_dim, cfg.num_registers, cfg.rope_max_pos) == (3840, 188160, 128, 4096)
    assert cfg.rope_layout is RopeLayout.SPLIT and cfg.rope_double_precision and not cfg.gated_attention


def test_text_config_22b_from_manifest(manifests_dir: Path) -> None:
    cfg = TextConfig.from_dict(_section(manifests_dir, "ltx-2.3-22b"))
    assert cfg.extractor is ExtractorKind.V2
    assert cfg.video == ConnectorConfig(num_heads=32, head_dim=128, num_layers=8)
    assert cfg.audio == ConnectorConfig(num_heads=32, head_dim=64, num_layers=8)
    assert cfg.gated_attention and cfg.rope_double_precision and cfg.layout is ConnectorLayout.AUDIO_VIDEO


def test_text_config_ignores_transformer_keys_it_does_not_read(manifests_dir: Path) -> None:
    section = {**_section(manifests_dir, "ltx-2.3-22b"), "some_future_transformer_key": 1, "num_layers": 99}
    assert TextConfig.from_dict(section).video.num_layers == 8


@pytest.mark.parametrize("missing", sorted(V2_SELECTOR_VALUES))
def test_text_config_rejects_partial_v2_keys(manifests_dir: Path, missing: str) -> None:
    section = _section(manifests_dir, "ltx-2.3-22b")
    del section[missing]
    with pytest.raises(ConfigError, match=missing):
        TextConfig.from_dict(section)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("caption_proj_input_norm", True),
        ("text_encoder_norm_type", "per_layer"),
        ("rope_type", "spiral"),
        ("frequencies_precision", "float16"),
        ("connector_norm_output", False),
        ("use_embeddings_connector", False),
        ("connector_num_layers", 0),
        ("connector_positional_embedding_max_pos", [20, 2048]),
        ("connector_apply_gated_attention", "yes"),
        ("audio_attention_head_dim", 128),  # V2 audio projection width must equal the audio connector width
    ],
)
def test_text_config_rejects_unsupported_values(manifests_dir: Path, key: str, value: object) -> None:
    section = {**_section(manifests_dir, "ltx-2.3-22b"), key: value}
    with pytest.raises(ConfigError, match=key):
        TextConfig.from_dict(section)


def test_text_config_v1_rejects_norm_type_and_width_mismatch(manifests_dir: Path) -> None:
    section = _section(manifests_dir, "ltx-2-19b")
    with pytest.raises(ConfigError, match="text_encoder_norm_type"):
        TextConfig.from_dict({**section, "text_encoder_norm_type": "per_token_rms"})
    with pytest.raises(ConfigError, match="caption_channels"):
        TextConfig.from_dict({**section, "connector_num_attention_heads": 32})


def test_text_config_defaults_for_missing_keys() -> None:
    """ltx-core defaults (30x128, 2 layers, 128 registers, float32 grid); rope_type defaults to HEAD's split."""
    cfg = TextConfig.from_dict({})
    assert cfg.extractor is ExtractorKind.V1 and cfg.video.width == 3840 and cfg.num_registers == 128
    assert cfg.rope_layout is RopeLayout.SPLIT and not cfg.rope_double_precision and cfg.rope_max_pos == 1


def test_text_config_video_only_layout(manifests_dir: Path) -> None:
    cfg = TextConfig.from_dict(_section(manifests_dir, "ltx-2.3-22b"), layout=ConnectorLayout.VIDEO_ONLY)
    assert cfg.audio is None
    with pytest.raises(ConfigError):
        cfg.replace(audio=cfg.video)


def test_text_config_tiny_variants() -> None:
    for extractor in ExtractorKind:
        cfg = TextConfig.tiny(extractor)
        assert cfg.feature_dim == 48 and cfg.num_registers == 4
        assert cfg.gated_attention == (extractor is ExtractorKind.V2)
