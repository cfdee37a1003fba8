"""LTX-2.5 duration head: config, strict loading with one clear error, and the seconds -> ``1 + 8k`` frames rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ltx_model.configbase import ConfigError
from ltx_model.demo.ltx25_text import write_duration_head
from ltx_model.duration import (
    DurationHeadConfig,
    has_duration_head,
    load_duration_head,
    predict_frame_count,
    seconds_to_frame_count,
)
from ltx_model.loading import CheckpointError, read_header, write_safetensors
from ltx_model.modes.geometry import is_frame_count


@pytest.fixture(scope="module")
def head_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_duration_head(tmp_path_factory.mktemp("dh") / "ltx-2.5-duration-head.safetensors")


def test_ltx25_duration_config_from_metadata() -> None:
    assert DurationHeadConfig.from_metadata({}) == DurationHeadConfig()  # reference defaults (4096 / 2048, 256...)
    cfg = DurationHeadConfig.from_metadata({"transformer": {"cross_attention_dim": 8, "audio_cross_attention_dim": 4},
                                            "duration_head": {"pooler_hidden_dim": 12, "num_pooler_heads": 3}})
    assert (cfg.video_dim, cfg.audio_dim, cfg.pooler_dim, cfg.num_heads) == (8, 4, 12, 3)
    with pytest.raises(ConfigError, match="duration_head.dropout"):
        DurationHeadConfig.from_metadata({"duration_head": {"dropout": 0.1}})
    with pytest.raises(ConfigError, match="not divisible"):
        DurationHeadConfig(pooler_dim=10, num_heads=4)


def test_ltx25_duration_head_loads_and_predicts(head_file: Path) -> None:
    assert has_duration_head(read_header(head_file).keys())
    head = load_duration_head(head_file)
    cfg = head.config
    assert cfg == DurationHeadConfig.tiny()
    assert head.attention_pooler.cross_attn.in_proj_weight.shape == (3 * cfg.pooler_dim, cfg.pooler_dim)
    video, audio = torch.randn(1, 7, cfg.video_dim), torch.randn(1, 5, cfg.audio_dim)
    frames, seconds = predict_frame_count(head, video, audio, fps=25.0)
    assert seconds > 0 and is_frame_count(frames)
    with pytest.raises(ValueError, match="one prompt"):
        predict_frame_count(head, video.repeat(2, 1, 1), None, fps=25.0)
    with pytest.raises(ValueError, match="video or the audio"):
        head(None, None)


def test_ltx25_duration_head_bad_files(tmp_path: Path, head_file: Path) -> None:
    tensors = load_file(str(head_file))
    meta = dict(read_header(head_file).metadata)
    missing = tmp_path / "missing.safetensors"
    write_safetensors(missing, {k: v for k, v in tensors.items() if "mlp_out" not in k}, metadata=meta)
    with pytest.raises(CheckpointError, match=r"missing\.safetensors.*missing duration_head\.mlp_out"):
        load_duration_head(missing)
    wrong = tmp_path / "wrong.safetensors"
    config = json.loads(meta["config"])
    config["duration_head"]["mlp_hidden"] = 6
    write_safetensors(wrong, tensors, metadata={**meta, "config": json.dumps(config)})
    with pytest.raises(CheckpointError, match=r"wrong\.safetensors.*duration_head\.mlp_hidden\.weight has shape"):
        load_duration_head(wrong)
    other = tmp_path / "vae.safetensors"
    write_safetensors(other, {"vae.x": torch.zeros(2)})
    with pytest.raises(CheckpointError, match=r"vae\.safetensors: no duration head"):
        load_duration_head(other)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(head_file.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"truncated\.safetensors.*truncated"):
        load_duration_head(truncated)


@pytest.mark.parametrize(("seconds", "fps", "lo", "hi", "frames"), [
    (5.0, 24.0, 1.0, 20.0, 113),   # round(120) -> floor to grid
    (0.2, 24.0, 1.0, 20.0, 25),    # clamped up to 24 frames, floor gives 17 < 24 -> next grid point 25
    (42.0, 24.0, 1.0, 20.0, 473),  # clamped to 480 -> 473
    (1.01, 24.0, 1.0, 1.02, 25),   # [24, 24] has no grid point: nearest (Lightricks returns 24, off the grid)
    (3.0, 24.0, 0.0, 20.0, 65),
])
def test_ltx25_duration_frame_rule(seconds: float, fps: float, lo: float, hi: float, frames: int) -> None:
    assert seconds_to_frame_count(seconds, fps, min_seconds=lo, max_seconds=hi) == frames


def test_ltx25_duration_frame_rule_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError, match="fps"):
        seconds_to_frame_count(1.0, 0.0)
    with pytest.raises(ValueError, match="must not exceed"):
        seconds_to_frame_count(1.0, 24.0, min_seconds=3.0, max_seconds=2.0)


def test_ltx25_duration_widths_from_shapes_without_metadata(tmp_path: Path, head_file: Path) -> None:
    bare = tmp_path / "bare.safetensors"
    write_safetensors(bare, load_file(str(head_file)))  # no metadata at all: widths come from the shapes
    cfg = load_duration_head(bare).config
    assert (cfg.video_dim, cfg.audio_dim, cfg.pooler_dim, cfg.num_queries, cfg.mlp_hidden) == (24, 12, 16, 2, 8)
    assert cfg.num_heads == 4  # not readable from a shape: the reference default
