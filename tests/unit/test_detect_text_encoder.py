"""Family detection of a lone text-encoder file: the LTX-2.5 Gemma 4 file (bundled V2 projection, whose keys alone
look like LTX-2.3's) is LTX-2.5 from its ``gemma_config`` metadata; a 2.3-style projection without it stays LTX-2.3.
Headers only, written with the exact key names (sparse specs: no tensor data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ltx_model.loading import read_header, write_safetensors
from ltx_model.loading.detect import Family, FilePart, detect

PROJECTION = {"text_embedding_projection.video_aggregate_embed.weight": ("BF16", (32, 48)),
              "text_embedding_projection.video_aggregate_embed.bias": ("BF16", (32,)),
              "text_embedding_projection.audio_aggregate_embed.weight": ("BF16", (16, 48)),
              "text_embedding_projection.audio_aggregate_embed.bias": ("BF16", (16,)),
              "model.embed_tokens.weight": ("BF16", (64, 16))}


def _info(path: Path, metadata: dict[str, str] | None):
    write_safetensors(path, PROJECTION, metadata=metadata)
    return detect(read_header(path))


@pytest.mark.parametrize("model_type", ["gemma4_unified", "gemma4"])
def test_detect_lone_gemma4_text_encoder_is_ltx25(tmp_path: Path, model_type: str) -> None:
    config = {"model_type": model_type, "gemma_version": "gemma4-12b-ltx-v1"}
    info = _info(tmp_path / "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors", {"gemma_config": json.dumps(config)})
    assert info.family is Family.LTX25 and info.part is FilePart.TEXT_ENCODER
    assert info.evidence == f"metadata gemma_config model_type {model_type}" and info.warnings == ()


@pytest.mark.parametrize("metadata", [None, {"gemma_config": json.dumps({"model_type": "gemma3"})},
                                      {"gemma_config": "not json"}, {"gemma_config": "[1, 2]"}])
def test_detect_text_encoder_without_gemma4_config_stays_ltx23(tmp_path: Path, metadata) -> None:
    info = _info(tmp_path / "te.safetensors", metadata)
    assert info.family is Family.LTX23_22B and info.evidence == "module video_aggregate_embed"


def test_detect_model_version_outranks_gemma_config(tmp_path: Path) -> None:
    meta = {"format": "pt", "model_version": "2.3.0", "gemma_config": json.dumps({"model_type": "gemma4_unified"})}
    info = _info(tmp_path / "te.safetensors", meta)
    assert info.family is Family.LTX23_22B and info.evidence == "metadata model_version 2.3.0"
    assert any("gemma_config model_type gemma4_unified suggests LTX-2.5" in w for w in info.warnings)
