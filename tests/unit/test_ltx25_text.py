"""LTX-2.5 text side: Gemma 4 text-encoder file loading, the gemma_version check, bad files, and the CRF rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltx_model.demo import write_demo_gemma
from ltx_model.demo.ltx25_text import (
    TINY_TEXT_SECTION,
    comfy_flat_key,
    ltx25_text_metadata,
    tiny_gemma4_config,
    write_connector_file,
    write_gemma4_text_encoder,
)
from ltx_model.loading import CheckpointError, read_header, write_safetensors
from ltx_model.modes import default_image_crf
from ltx_model.sampling.guidance import version_numbers
from ltx_model.text import (
    LTX25_GEMMA_VERSION,
    GemmaTextEncoder,
    GemmaVersionError,
    TextConfig,
    check_gemma_files,
    check_gemma_version,
    gemma_feature_dims,
    load_text_projection,
    load_tokenizer,
    text_config_for_gemma,
    tokenize_prompts,
)
from ltx_model.text.gemma import read_gemma_config
from ltx_model.text.gemma4 import gemma4_text_config, gemma4_text_key

GEMMA3 = {"model_type": "gemma3"}


@pytest.fixture(scope="module")
def te_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_gemma4_text_encoder(tmp_path_factory.mktemp("te") / "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors")


def _truncated(src: Path, dst: Path, keep: float = 0.6) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def test_ltx25_te_file_key_layout(te_file: Path) -> None:
    keys = set(read_header(te_file).keys())
    assert {"model.embed_tokens.weight", "model.layers.1.self_attn.k_proj.weight", "model.norm.weight",
            "text_embedding_projection.video_aggregate_embed.bias", "tokenizer_json",
            "hf_asset__tokenizer_config.json", "multi_modal_projector.embedding_projection.weight",
            "vision_model.patch_dense.weight", "audio_projector.embedding_projection.weight"} <= keys
    assert not any(k.startswith(("model.language_model.", "lm_head.")) for k in keys)
    assert json.loads(read_header(te_file).metadata["gemma_config"])["gemma_version"] == LTX25_GEMMA_VERSION
    assert comfy_flat_key("model.embed_vision.multimodal_embedder.embedding_projection.weight") == \
        "multi_modal_projector.embedding_projection.weight"
    assert gemma4_text_key("model.layers.0.mlp.up_proj.weight") == "layers.0.mlp.up_proj.weight"
    assert gemma4_text_key("model.language_model.norm.weight") == "norm.weight"
    assert gemma4_text_key("vision_model.patch_dense.weight") is None
    assert gemma4_text_key("text_embedding_projection.video_aggregate_embed.weight") is None


def test_ltx25_gemma4_config_dims_and_dense_refused() -> None:
    config = tiny_gemma4_config()
    assert gemma_feature_dims(config) == (16, 3)
    assert text_config_for_gemma(TextConfig.from_dict(TINY_TEXT_SECTION), config).feature_dim == 48
    assert gemma4_text_config(config).num_hidden_layers == 2
    with pytest.raises(ValueError, match="prompt enhancement"):
        gemma4_text_config({"model_type": "gemma4", "text_config": {}})


def test_ltx25_embedded_tokenizer_gets_explicit_bos(te_file: Path) -> None:
    tokenizer = load_tokenizer(te_file)
    raw = tokenizer("a red fox")["input_ids"]
    assert raw[0] != tokenizer.bos_token_id  # Gemma 4's tokenizer adds no BOS itself
    batch = tokenize_prompts(tokenizer, [" a red fox "], max_length=8)
    assert batch.input_ids[0].tolist() == [0, 0, 0, 0, tokenizer.bos_token_id, *raw]
    assert batch.attention_mask[0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_ltx25_text_encoder_loads_gemma4(te_file: Path) -> None:
    encoder = GemmaTextEncoder.from_pretrained(te_file, dtype=torch.float32, max_length=16)
    assert type(encoder.model).__name__ == "Gemma4UnifiedTextModel"
    hidden, mask = encoder.hidden_states(["snow"])
    assert len(hidden) == 3 and hidden[0].shape == (1, 16, 16) and mask.sum() == 2


def test_ltx25_projection_strict(te_file: Path) -> None:
    config = text_config_for_gemma(TextConfig.from_dict(TINY_TEXT_SECTION), read_gemma_config(te_file))
    assert load_text_projection(te_file, config, dtype=torch.float32).video_aggregate_embed.out_features == 24
    wider = config.replace(gemma_hidden_states=4)  # e.g. a Gemma with one more layer than the projection
    with pytest.raises(CheckpointError, match=f"{te_file.name}.*shape"):
        load_text_projection(te_file, wider)


def test_ltx25_gemma_version_rule() -> None:
    meta25, meta23 = ltx25_text_metadata(), {"model_version": "2.3.0"}
    gemma4 = tiny_gemma4_config()
    check_gemma_version(meta25, gemma4, checkpoint="t.safetensors", gemma="g.safetensors")
    check_gemma_version(meta23, GEMMA3, checkpoint="t.safetensors", gemma="g")
    check_gemma_version(meta23, None, checkpoint="t.safetensors", gemma="g")  # config-less Gemma = Gemma 3
    with pytest.raises(GemmaVersionError, match=r"ltx25\.st.*gemma4-12b-ltx-v1.*gemma-3\.st.*Gemma 3"):
        check_gemma_version(meta25, GEMMA3, checkpoint="ltx25.st", gemma="gemma-3.st")
    with pytest.raises(GemmaVersionError, match=r"ltx23\.st.*Gemma 3.*g4\.st.*Gemma 4"):
        check_gemma_version(meta23, gemma4, checkpoint="ltx23.st", gemma="g4.st")
    with pytest.raises(GemmaVersionError, match="'gemma4-other'"):
        check_gemma_version(meta25, {**gemma4, "gemma_version": "gemma4-other"}, checkpoint="a", gemma="b")
    with pytest.raises(GemmaVersionError, match="declares no gemma_source_checkpoint"):
        check_gemma_version({"model_version": "2.5.0"}, gemma4, checkpoint="a", gemma="b")
    check_gemma_version({"model_version": "2.5.0"}, {"model_type": "gemma4_unified"}, checkpoint="a", gemma="b")
    with pytest.raises(GemmaVersionError, match="not valid JSON"):
        check_gemma_version({"gemma_source_checkpoint": "{"}, gemma4, checkpoint="a", gemma="b")


def test_ltx25_gemma_version_files(tmp_path: Path, te_file: Path) -> None:
    """Bad input: a Gemma 3 folder for a 2.5 model, a wrong gemma_version, a 2.3 checkpoint with the Gemma 4 file."""
    transformer = write_connector_file(tmp_path / "ltx-2.5-22b-dev-transformer.safetensors")
    check_gemma_files(transformer, te_file)
    gemma3 = write_demo_gemma(tmp_path / "gemma-3-12b-it")
    with pytest.raises(GemmaVersionError, match=r"ltx-2\.5-22b-dev-transformer\.safetensors.*gemma-3-12b-it"):
        check_gemma_files(transformer, gemma3)
    other = write_gemma4_text_encoder(tmp_path / "other-gemma4.safetensors", gemma_version="gemma4-12b-ltx-v0")
    with pytest.raises(GemmaVersionError, match=r"other-gemma4\.safetensors.*'gemma4-12b-ltx-v0'"):
        check_gemma_files(transformer, other)
    old = tmp_path / "ltx-2.3-22b-dev.safetensors"
    write_safetensors(old, {"x": torch.zeros(1)}, metadata={"model_version": "2.3.0"})
    with pytest.raises(GemmaVersionError, match=rf"ltx-2\.3-22b-dev\.safetensors.*{te_file.name}"):
        check_gemma_files(old, te_file)


def test_ltx25_truncated_te_file_names_the_file(tmp_path: Path, te_file: Path) -> None:
    bad = _truncated(te_file, tmp_path / "gemma4-truncated.safetensors")
    with pytest.raises(CheckpointError, match="gemma4-truncated.safetensors.*truncated"):
        GemmaTextEncoder.from_pretrained(bad, dtype=torch.float32)
    config = text_config_for_gemma(TextConfig.from_dict(TINY_TEXT_SECTION), tiny_gemma4_config())
    with pytest.raises(CheckpointError, match="gemma4-truncated.safetensors.*truncated"):
        load_text_projection(bad, config)
    transformer = write_connector_file(tmp_path / "t.safetensors")
    with pytest.raises(CheckpointError, match="gemma4-truncated.safetensors"):
        check_gemma_files(transformer, bad)


def test_ltx25_image_crf_default_by_version() -> None:
    assert [default_image_crf(v) for v in (None, "", "2.0", "2.3.0", "2.3.rc1", "2.4-rc2", "2.4.0", "2.5.0")] == \
        [33, 33, 33, 33, 33, 18, 18, 18]
    assert version_numbers("2.5.0") == (2, 5, 0) and version_numbers("x") == ()


def test_ltx25_dense_gemma4_enhancer_loads_and_generates(tmp_path: Path, te_file: Path) -> None:
    from transformers import Gemma4Config, Gemma4ForConditionalGeneration

    from ltx_model.demo import save_word_tokenizer
    from ltx_model.text.gemma4 import GEMMA4_ENHANCE_GENERATION, load_gemma4_enhancer

    text = {"vocab_size": 64, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
            "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "global_head_dim": 16,
            "sliding_window": 4, "layer_types": ["sliding_attention", "full_attention"],
            "max_position_embeddings": 128, "hidden_size_per_layer_input": 4, "vocab_size_per_layer_input": 64}
    Gemma4ForConditionalGeneration(Gemma4Config(text_config=text, vision_config=None, audio_config=None)) \
        .save_pretrained(tmp_path / "gemma-4-tiny-it")
    save_word_tokenizer(tmp_path / "gemma-4-tiny-it", ["a", "red", "fox"])
    model, processor = load_gemma4_enhancer(tmp_path / "gemma-4-tiny-it", dtype=torch.float32)
    assert processor is None  # no processor files: text-only enhancement with the tokenizer
    out = model.generate(input_ids=torch.tensor([[2, 4, 5]]), **{**GEMMA4_ENHANCE_GENERATION, "max_new_tokens": 3})
    assert out.shape == (1, 6)
    with pytest.raises(ValueError, match="encodes only"):
        load_gemma4_enhancer(te_file)


def test_ltx25_split_text_encoder(tmp_path: Path, te_file: Path) -> None:
    from ltx_model.text import load_split_text_encoder

    transformer = write_connector_file(tmp_path / "ltx-2.5-22b-distilled-transformer.safetensors")
    encoder, projection = load_split_text_encoder(transformer, te_file, dtype=torch.float32, max_length=8)
    assert type(encoder.model).__name__ == "Gemma4UnifiedTextModel"
    assert projection.config.gemma_hidden_states == 3 and projection.config.video.width == 24
    gemma3 = write_demo_gemma(tmp_path / "gemma-3")
    with pytest.raises(GemmaVersionError, match="ltx-2.5-22b-distilled-transformer.safetensors"):
        load_split_text_encoder(transformer, gemma3)
