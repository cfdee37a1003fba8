"""Tokenizer padding, local Gemma loading (folder / single file, all key layouts) and encode_prompts end to end.

Everything is built in-test: a word-level tokenizer (``tokenizers``) and a random tiny Gemma 3 text model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from ltx_model.demo import TINY_GEMMA_TEXT_CONFIG, random_gemma_text_model, save_word_tokenizer
from ltx_model.loading import CheckpointError
from ltx_model.text import (
    EmbeddingsConnectors,
    ExtractorKind,
    GemmaTextEncoder,
    TextConfig,
    TextProjection,
    encode_hidden_states,
    encode_prompts,
    gemma_hidden_states,
    load_gemma_text_model,
    load_tokenizer,
    tokenize_prompts,
)
from ltx_model.text.gemma import gemma_text_key, gemma_text_state_dict, gemma_weight_files

WORDS = ["a", "cat", "walks", "on", "the", "beach", "at", "sunset", "dog", "runs"]
T = 16


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return load_tokenizer(save_word_tokenizer(tmp_path_factory.mktemp("tok"), WORDS))


def test_text_tokenizer_left_pads_with_bos_and_mask(tokenizer) -> None:  # noqa: ANN001
    batch = tokenize_prompts(tokenizer, ["  a cat walks  ", "dog"], max_length=8)
    assert batch.input_ids.tolist() == [[0, 0, 0, 0, 2, 4, 5, 6], [0, 0, 0, 0, 0, 0, 2, 12]]
    assert batch.attention_mask.tolist() == [[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 1, 1]]
    assert batch.input_ids.dtype == batch.attention_mask.dtype == torch.int64


def test_text_tokenizer_truncates_keeping_bos_and_handles_empty(tokenizer) -> None:  # noqa: ANN001
    batch = tokenize_prompts(tokenizer, [" ".join(WORDS * 3), ""], max_length=6)
    assert batch.input_ids[0].tolist() == [2, 4, 5, 6, 7, 8]
    assert batch.attention_mask[0].tolist() == [1] * 6
    assert batch.input_ids[1].tolist() == [0] * 5 + [2] and batch.attention_mask[1].sum() == 1
    with pytest.raises(TypeError):
        tokenize_prompts(tokenizer, "a cat")


def test_text_tokenizer_adds_missing_bos_and_pads_with_eos(tmp_path: Path) -> None:
    tok = load_tokenizer(save_word_tokenizer(tmp_path, WORDS, add_bos=False, with_pad=False))
    batch = tokenize_prompts(tok, ["cat"], max_length=4)
    assert batch.input_ids.tolist() == [[1, 1, 2, 5]]  # EOS (1) pads when there is no pad token
    assert batch.attention_mask.tolist() == [[0, 0, 1, 1]]
    with pytest.raises(FileNotFoundError):
        load_tokenizer(tmp_path / "missing")


def test_text_gemma_key_layouts() -> None:
    for key in (
        "language_model.model.layers.0.mlp.up_proj.weight",
        "model.language_model.layers.0.mlp.up_proj.weight",
        "model.layers.0.mlp.up_proj.weight",
        "layers.0.mlp.up_proj.weight",
    ):
        assert gemma_text_key(key) == "layers.0.mlp.up_proj.weight"
    for key in (
        "vision_tower.vision_model.post_layernorm.weight",
        "model.vision_tower.encoder.x",
        "lm_head.weight",
        "multi_modal_projector.mm_input_projection_weight",
        "spiece_model",
    ):
        assert gemma_text_key(key) is None


@pytest.mark.parametrize("layout", ["language_model.model.", "model.language_model.", "model."])
def test_text_gemma_loads_folder_and_single_file(tmp_path: Path, layout: str) -> None:
    ref = random_gemma_text_model(seed=1)
    weights = {layout + k: v for k, v in ref.state_dict().items()}
    weights["vision_tower.vision_model.post_layernorm.weight"] = torch.ones(4)  # ignored
    folder = tmp_path / "gemma"
    folder.mkdir()
    save_file(weights, str(folder / "model-00001-of-00001.safetensors"))
    (folder / "config.json").write_text(json.dumps({"model_type": "gemma3", "text_config": TINY_GEMMA_TEXT_CONFIG}))
    single = tmp_path / "gemma.safetensors"
    save_file(weights, str(single), metadata={"gemma_config": json.dumps(TINY_GEMMA_TEXT_CONFIG)})
    ids = torch.randint(4, 14, (2, T))
    mask = torch.ones(2, T, dtype=torch.int64)
    mask[0, :7] = 0
    with torch.no_grad():
        expected = ref(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    for source in (folder, single):
        model = load_gemma_text_model(source, dtype=torch.float32)
        got = gemma_hidden_states(model, ids, mask)
        assert len(got) == TINY_GEMMA_TEXT_CONFIG["num_hidden_layers"] + 1
        for a, b in zip(got, expected, strict=True):
            torch.testing.assert_close(a, b, atol=0, rtol=0)
        assert model.embed_tokens.embed_scale.dtype == torch.float32


def test_text_gemma_strict_load_rejects_missing_weights(tmp_path: Path) -> None:
    state = random_gemma_text_model().state_dict()
    del state["norm.weight"]
    save_file(state, str(tmp_path / "g.safetensors"))
    with pytest.raises(RuntimeError, match="norm.weight"):
        load_gemma_text_model(tmp_path / "g.safetensors", config=TINY_GEMMA_TEXT_CONFIG)


def test_text_gemma_truncated_shard_named_before_any_tensor_is_read(tmp_path: Path) -> None:
    state = random_gemma_text_model().state_dict()
    keys = sorted(state)
    save_file({k: state[k] for k in keys[:2]}, str(tmp_path / "model-00001-of-00002.safetensors"))
    save_file({k: state[k] for k in keys[2:]}, str(tmp_path / "model-00002-of-00002.safetensors"))
    shard = tmp_path / "model-00002-of-00002.safetensors"
    shard.write_bytes(shard.read_bytes()[:-100])
    read: list[int] = []
    with pytest.raises(CheckpointError, match="model-00002-of-00002.safetensors: truncated"):
        gemma_text_state_dict(gemma_weight_files(tmp_path), should_abort=lambda: read.append(1))
    assert not read  # the header check of every shard comes first


def test_text_gemma_load_stops_when_should_abort_raises(tmp_path: Path) -> None:
    save_file(random_gemma_text_model().state_dict(), str(tmp_path / "g.safetensors"))
    calls: list[int] = []

    def abort_at_third() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise InterruptedError("stop")

    with pytest.raises(InterruptedError):
        load_gemma_text_model(tmp_path / "g.safetensors", config=TINY_GEMMA_TEXT_CONFIG, should_abort=abort_at_third)
    assert len(calls) == 3


@pytest.mark.parametrize("extractor", list(ExtractorKind))
def test_text_encode_prompts_end_to_end(tmp_path: Path, extractor: ExtractorKind) -> None:
    save_word_tokenizer(tmp_path / "tok", WORDS)
    save_file(random_gemma_text_model(seed=2).state_dict(), str(tmp_path / "gemma.safetensors"))
    with pytest.raises(FileNotFoundError, match="tokenizer"):
        GemmaTextEncoder.from_pretrained(tmp_path / "gemma.safetensors")
    encoder = GemmaTextEncoder.from_pretrained(
        tmp_path / "gemma.safetensors",
        tokenizer_path=tmp_path / "tok",
        dtype=torch.float32,
        config=TINY_GEMMA_TEXT_CONFIG,
        max_length=T,
    )
    cfg = TextConfig.tiny(extractor)
    projection, connectors = TextProjection(cfg).eval(), EmbeddingsConnectors(cfg).eval()
    prompts = ["a cat walks on the beach", "dog runs at sunset"]
    out = encode_prompts(prompts, text_encoder=encoder, projection=projection, connectors=connectors)
    assert out.video_context.shape == (2, T, cfg.video.width) and out.audio_context.shape == (2, T, cfg.audio.width)
    assert out.context_mask.tolist() == [[1] * T] * 2
    hidden, mask = encoder.hidden_states(prompts[1:])
    assert mask[0].tolist() == [0] * 11 + [1] * 5
    single = encode_hidden_states(torch.stack(hidden, dim=-1), mask, projection=projection, connectors=connectors)
    torch.testing.assert_close(single.video_context, out.video_context[1:], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(single.audio_context, out.audio_context[1:], atol=1e-5, rtol=1e-5)


def test_text_tokenizer_embedded_sentencepiece_model(tmp_path: Path) -> None:
    """ComfyUI-style single file: the SentencePiece model travels as a uint8 ``spiece_model`` tensor."""
    import io

    import sentencepiece

    proto = io.BytesIO()
    sentences = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))] * 4
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=proto, vocab_size=40, model_type="bpe",
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, add_dummy_prefix=False, minloglevel=2,
    )
    blob = torch.frombuffer(bytearray(proto.getvalue()), dtype=torch.uint8)
    save_file({"spiece_model": blob, "model.norm.weight": torch.ones(16)}, str(tmp_path / "te.safetensors"))
    tok = load_tokenizer(tmp_path / "te.safetensors")
    reference = sentencepiece.SentencePieceProcessor(model_proto=proto.getvalue())
    batch = tokenize_prompts(tok, [" a cat walks "], max_length=12)
    ids = [2, *reference.encode("a cat walks")]
    assert batch.input_ids[0].tolist() == [0] * (12 - len(ids)) + ids
    assert batch.attention_mask[0].tolist() == [0] * (12 - len(ids)) + [1] * len(ids)
    assert tokenize_prompts(tok, [" ".join(WORDS)], max_length=3).input_ids[0, 0].item() == 2
