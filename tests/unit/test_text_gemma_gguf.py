"""Gemma 3 from llama.cpp GGUF files: tiny files written in llama.cpp's layout (``blk.N.*`` names, norms stored as
``w + 1`` in F32, ``gemma3.*`` metadata, no q/k permutation) from the same random weights as a Hugging Face model.

Tolerances: F32 files equal the HF model to 1e-5 (the ``+1 / -1`` norm round trip), F16 / BF16 within a relative
(Frobenius) error of 5e-3 / 3e-2 per hidden state; quantised files (Q8_0 within 5e-2 of HF) equal EXACTLY a dense
model holding the de-quantised weights (the only difference is when the weight is de-quantised).
"""

from __future__ import annotations

import io
import sys
from dataclasses import replace
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch
from transformers import Gemma3TextModel

from ltx_model.demo import TINY_GEMMA_TEXT_CONFIG, random_gemma_text_model, write_gemma_gguf
from ltx_model.loading.gguf import GGUFFile
from ltx_model.quant import GGMLType, dequantize
from ltx_model.text import GemmaGGUFError, GemmaTextEncoder, TextConfig, check_gemma_fits, gemma_hidden_states
from ltx_model.text.gemma import GEMMA3_12B_TEXT_CONFIG, gemma_text_config
from ltx_model.text.gemma_gguf import GGMLEmbedding, GGMLLinear, load_gemma_gguf, read_gemma_gguf_config
from ltx_model.text.tokenizer import load_tokenizer

# 6 layers with llama.cpp's fixed gemma3 pattern (every 6th layer global), widths that fill Q8_0 / Q4_0 blocks
CONFIG = {**TINY_GEMMA_TEXT_CONFIG, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 6,
          "num_attention_heads": 4, "num_key_value_heads": 2, "sliding_window_pattern": 6}
# K-quant blocks hold 256 values: every matrix row is 256 wide
WIDE = {**CONFIG, "hidden_size": 256, "intermediate_size": 256, "num_hidden_layers": 2, "head_dim": 128,
        "num_attention_heads": 2, "num_key_value_heads": 1, "query_pre_attn_scalar": 128, "vocab_size": 32}
T = 12
LTX_TEXT = replace(TextConfig.tiny(), gemma_width=3840, gemma_hidden_states=49)  # the real projections' input


def _inputs(vocab: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(4, vocab, (2, T), generator=torch.Generator().manual_seed(3))
    mask = torch.ones(2, T, dtype=torch.int64)
    mask[0, :5] = 0
    return ids, mask


def _reference(model: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states


def _relative(got: tuple[torch.Tensor, ...], want: tuple[torch.Tensor, ...]) -> float:
    return max(float((a.float() - b).norm() / b.norm()) for a, b in zip(got, want, strict=True))


@pytest.fixture(scope="module")
def hf_model() -> torch.nn.Module:
    return random_gemma_text_model(CONFIG, seed=1)


@pytest.mark.parametrize(("qtype", "tolerance"), [(GGMLType.F16, 5e-3), (GGMLType.BF16, 3e-2)])
def test_text_gguf_plain_files_equal_hf_model(tmp_path: Path, hf_model, qtype: GGMLType, tolerance: float) -> None:
    ids, mask = _inputs()
    want = _reference(hf_model, ids, mask)
    exact = load_gemma_gguf(write_gemma_gguf(tmp_path / "f32.gguf", hf_model), dtype=torch.float32)
    got = gemma_hidden_states(exact, ids, mask)
    assert len(got) == CONFIG["num_hidden_layers"] + 1
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    half = load_gemma_gguf(write_gemma_gguf(tmp_path / "half.gguf", hf_model, qtype=qtype), dtype=torch.float32)
    assert 1e-6 < _relative(gemma_hidden_states(half, ids, mask), want) < tolerance
    assert isinstance(half.layers[0].mlp.up_proj, torch.nn.Linear)  # plain matrices: ordinary layers


def _dequantized_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A stock ``Gemma3TextModel`` holding ``model``'s weights, GGML ones de-quantised upfront (float32)."""
    state = {}
    for name, module in model.named_modules():
        if isinstance(module, GGMLLinear | GGMLEmbedding):
            shape = (module.weight.shape[0], getattr(module, "in_features", getattr(module, "embedding_dim", 0)))
            state[f"{name}.weight"] = dequantize(module.weight, module.qtype, shape)
    state = {**{k: v for k, v in model.state_dict().items() if k not in state}, **state}
    dense = Gemma3TextModel(model.config).eval()
    dense.load_state_dict(state)
    return dense


def test_text_gguf_q8_0_close_to_hf_and_exact_vs_dequantized(tmp_path: Path, hf_model) -> None:
    ids, mask = _inputs()
    model = load_gemma_gguf(write_gemma_gguf(tmp_path / "q8.gguf", hf_model, qtype=GGMLType.Q8_0),
                            dtype=torch.float32)
    assert isinstance(model.layers[5].self_attn.o_proj, GGMLLinear) and isinstance(model.embed_tokens, GGMLEmbedding)
    got = gemma_hidden_states(model, ids, mask)
    assert 1e-4 < _relative(got, _reference(hf_model, ids, mask)) < 5e-2  # Q8_0 quantisation error
    for a, b in zip(got, _reference(_dequantized_copy(model), ids, mask), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


@pytest.mark.parametrize(("qtype", "embed"), [(GGMLType.Q4_0, GGMLType.Q8_0), (GGMLType.Q4_K, GGMLType.Q6_K),
                                              (GGMLType.Q5_K, GGMLType.Q4_K)])
def test_text_gguf_quant_types_exact_vs_dequantized(tmp_path: Path, qtype: GGMLType, embed: GGMLType) -> None:
    wide = random_gemma_text_model(WIDE, seed=2, scale=0.05)
    path = write_gemma_gguf(tmp_path / "q.gguf", wide, qtype=qtype, embed_qtype=embed)
    model = load_gemma_gguf(path, dtype=torch.float32)
    assert model.layers[1].mlp.down_proj.qtype is qtype and model.embed_tokens.qtype is embed
    ids, mask = _inputs(vocab=32)
    got = gemma_hidden_states(model, ids, mask)
    assert all(torch.isfinite(h).all() for h in got)
    for a, b in zip(got, _reference(_dequantized_copy(model), ids, mask), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_text_gguf_holds_quantized_bytes(tmp_path: Path, hf_model) -> None:
    path = write_gemma_gguf(tmp_path / "q8.gguf", hf_model, qtype=GGMLType.Q8_0)
    model = load_gemma_gguf(path, dtype=torch.bfloat16)
    reader = gguf.GGUFReader(path)
    quantized = sum(int(t.n_bytes) for t in reader.tensors if t.tensor_type == gguf.GGMLQuantizationType.Q8_0)
    plain = sum(int(t.n_elements) * 2 for t in reader.tensors if t.tensor_type != gguf.GGMLQuantizationType.Q8_0)
    held = sum(t.nbytes for t in model.state_dict().values())
    assert held == quantized + plain  # GGML blocks as stored, the F32 norms as bf16
    dense_bf16 = sum(p.numel() * 2 for p in hf_model.parameters())
    assert held < 0.6 * dense_bf16
    assert model.layers[0].mlp.gate_proj.weight.dtype == torch.uint8
    model(input_ids=torch.tensor([[2, 5, 7]]))  # compute leaves the blocks as they were
    assert model.layers[0].mlp.gate_proj.weight.dtype == torch.uint8


def _write_header_only(path: Path, config: dict, *, architecture: str = "gemma3", rows: int = 8) -> Path:
    """A GGUF with llama.cpp's gemma3 metadata for ``config`` and only a small ``token_embd`` tensor."""
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_head_count_kv(config["num_key_value_heads"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_key_length(config["head_dim"])
    writer.add_value_length(config["head_dim"])
    writer.add_rope_freq_base(config["rope_theta"])
    writer.add_sliding_window(config["sliding_window"])
    writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
    writer.add_rope_scaling_factor(config["rope_scaling"]["factor"])
    writer.add_tensor("token_embd.weight", np.zeros((rows, config["hidden_size"]), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_text_gguf_12b_metadata_gives_ltx_gemma_config(tmp_path: Path) -> None:
    config = read_gemma_gguf_config(_write_header_only(tmp_path / "12b.gguf", GEMMA3_12B_TEXT_CONFIG))
    assert config == {**GEMMA3_12B_TEXT_CONFIG, "vocab_size": 8}  # vocab: the file's embedding rows
    check_gemma_fits(config, LTX_TEXT, name="12b.gguf")  # 49 x 3840, as the real projections
    with pytest.raises(GemmaGGUFError, match=r"12b.gguf is not a complete Gemma 3 GGUF: \d+ missing tensor"):
        load_gemma_gguf(tmp_path / "12b.gguf")


def test_text_gguf_wrong_gemma_size_is_named() -> None:
    four_b = {"hidden_size": 2560, "num_hidden_layers": 34}
    with pytest.raises(ValueError, match=r"g4.gguf is Gemma 3 4B .*takes 49 x 3840 \(Gemma 3 12B\)"):
        check_gemma_fits(four_b, LTX_TEXT, name="g4.gguf")
    check_gemma_fits(TINY_GEMMA_TEXT_CONFIG, TextConfig.tiny(), name="tiny")


def test_text_gguf_bad_files_clear_errors(tmp_path: Path, hf_model, monkeypatch: pytest.MonkeyPatch) -> None:
    small = random_gemma_text_model(seed=4)
    for arch, message in (("clip", "vision projector \\(mmproj\\)"), ("llama", "architecture 'llama', not Gemma 3"),
                          ("ltxv", "LTX-2 transformer GGUF")):
        path = write_gemma_gguf(tmp_path / f"{arch}.gguf", small, architecture=arch)
        with pytest.raises(GemmaGGUFError, match=f"{arch}.gguf is .*{message}"):
            load_gemma_gguf(path)
    (tmp_path / "junk.gguf").write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(GemmaGGUFError, match="junk.gguf: not a readable GGUF file"):
        load_gemma_gguf(tmp_path / "junk.gguf")
    gemma = write_gemma_gguf(tmp_path / "gemma.gguf", small)
    monkeypatch.setitem(sys.modules, "gguf", None)  # reading needs no gguf package (our own header parser)
    assert load_gemma_gguf(gemma).layers[1].mlp.down_proj.weight.shape == (16, 32)


def test_text_gguf_wrong_size_refused_from_metadata_before_any_tensor(tmp_path: Path, hf_model,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A Gemma that does not fit the projection is refused from the metadata: a file whose tensor data are cut
    short gives the size error (a complete load would give the truncation error), and no tensor is read."""
    path = write_gemma_gguf(tmp_path / "gemma-6l.gguf", hf_model)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    size = r"gemma-6l.gguf is a Gemma \(6 layers of width 32: 7 x 32 features\), but the checkpoint's text projection"
    with pytest.raises(GemmaGGUFError, match="gemma-6l.gguf: truncated: its tensor data end at byte"):
        load_gemma_gguf(path)

    def no_reads(*args, **kwargs):
        raise AssertionError("a tensor was read")

    monkeypatch.setattr(GGUFFile, "read", no_reads)
    with pytest.raises(ValueError, match=size):
        load_gemma_gguf(path, text_config=LTX_TEXT)
    with pytest.raises(ValueError, match=size):  # checked before the tokenizer (none here) and the weights
        GemmaTextEncoder.from_pretrained(path, text_config=LTX_TEXT)
    fits = replace(LTX_TEXT, gemma_width=32, gemma_hidden_states=7)
    with pytest.raises(GemmaGGUFError, match="truncated"):
        load_gemma_gguf(path, text_config=fits)  # a fitting Gemma gets past the check to the truncation error


def test_text_gguf_unsupported_quant_type_named(tmp_path: Path) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "q5.gguf"), "gemma3")
    data = gguf.quants.quantize(np.zeros((2, 32), dtype=np.float32), gguf.GGMLQuantizationType.Q5_0)
    writer.add_tensor("blk.0.ffn_up.weight", data, raw_dtype=gguf.GGMLQuantizationType.Q5_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(GemmaGGUFError, match="blk.0.ffn_up.weight has GGML type Q5_0.*supported: F32, F16, Q4_0"):
        load_gemma_gguf(tmp_path / "q5.gguf")


def _sentencepiece_model() -> bytes:
    import sentencepiece

    words = ["a", "cat", "walks", "on", "the", "beach", "dog", "sleeps", "sun", "wave", "at", "sunset"]
    proto = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter([" ".join(words[i:] + words[:i]) for i in range(len(words))] * 4),
        model_writer=proto, vocab_size=48, model_type="bpe", pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>", add_dummy_prefix=False,
        minloglevel=2,
    )
    return proto.getvalue()


def test_text_gguf_tokenizer_from_metadata_or_beside(tmp_path: Path, hf_model) -> None:
    import sentencepiece

    proto = _sentencepiece_model()
    path = write_gemma_gguf(tmp_path / "gemma.gguf", hf_model, sentencepiece_model=proto)
    tokenizer = load_tokenizer(path)
    sp = sentencepiece.SentencePieceProcessor(model_proto=proto)
    for text in ("a cat walks on the beach", "dog sleeps at sunset", "the wave"):
        assert tokenizer(text)["input_ids"] == [2, *sp.encode(text)]
    encoder = GemmaTextEncoder.from_pretrained(path, dtype=torch.float32, max_length=16)
    hidden, mask = encoder.hidden_states(["a cat walks", "the sun"])
    assert mask[:, -3:].all() and not mask[:, :8].any()
    ids = encoder.tokenize(["a cat walks", "the sun"]).input_ids
    for a, b in zip(hidden, _reference(hf_model, ids, mask), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    bare = write_gemma_gguf(tmp_path / "bare.gguf", hf_model)
    with pytest.raises(FileNotFoundError, match="bare.gguf embeds no usable tokenizer.*tokenizer.json"):
        GemmaTextEncoder.from_pretrained(bare, dtype=torch.float32)


def test_text_gguf_config_is_hf_config(tmp_path: Path, hf_model) -> None:
    config = read_gemma_gguf_config(write_gemma_gguf(tmp_path / "g.gguf", hf_model))
    built, want = gemma_text_config(config).to_dict(), hf_model.config.to_dict()
    keys = ("hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
            "intermediate_size", "layer_types", "rope_parameters", "sliding_window", "query_pre_attn_scalar",
            "rms_norm_eps", "vocab_size")
    assert {k: built[k] for k in keys} == {k: want[k] for k in keys}
