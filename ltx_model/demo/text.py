"""Tiny stand-ins for tests: a random few-kB Gemma 3 text config and a word-level tokenizer built offline.

Nothing here is used at inference time; it exists so that tests (ours and the host integration tests) can exercise
the real Gemma / tokenizer code paths without downloading anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..loading.gguf import quantize_tensor, synthetic_blocks
from ..quant.ggml import BLOCK_SIZES, PLAIN_TYPES, GGMLType
from ..text.gemma import gemma_text_config
from ..text.gemma_gguf import gemma_gguf_names

# Gemma 3 text config with the 12B structure (sliding + full layers, linear-scaled global RoPE) at toy size:
# 2 layers -> 3 hidden states and width 16, matching TextConfig.tiny().
TINY_GEMMA_TEXT_CONFIG: dict[str, Any] = {
    "model_type": "gemma3_text",
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 8,
    "hidden_activation": "gelu_pytorch_tanh",
    "rms_norm_eps": 1e-6,
    "query_pre_attn_scalar": 8,
    "sliding_window": 8,
    "sliding_window_pattern": 2,
    "rope_theta": 1_000_000.0,
    "rope_local_base_freq": 10_000.0,
    "rope_scaling": {"rope_type": "linear", "factor": 8.0},
    "vocab_size": 64,
    "max_position_embeddings": 256,
}

SPECIAL_TOKENS = ("<pad>", "<eos>", "<bos>", "<unk>")  # ids 0..3, as in Gemma (pad 0, eos 1, bos 2, unk 3)


def save_word_tokenizer(
    folder: str | Path, words: Sequence[str], *, add_bos: bool = True, with_pad: bool = True
) -> Path:
    """Write a whitespace/word-level Hugging Face tokenizer (ids: specials 0..3, then ``words``) to ``folder``.

    Args:
        folder: output folder (created).
        words: vocabulary after the special tokens.
        add_bos: add ``<bos>`` through a post-processor, like Gemma 3's tokenizer.
        with_pad: declare ``<pad>`` as the pad token (otherwise the pipeline must fall back to EOS).
    Returns:
        the folder, loadable with ``AutoTokenizer.from_pretrained(folder, local_files_only=True)``.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate((*SPECIAL_TOKENS, *words))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if add_bos:
        tok.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", 2)])
    extra = {"pad_token": "<pad>"} if with_pad else {}
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", unk_token="<unk>", **extra
    )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(folder))
    return folder


def random_gemma_text_model(config: dict[str, Any] | None = None, *, seed: int = 0, scale: float = 0.2) -> Any:
    """A ``Gemma3TextModel`` (fp32, eval) with N(0, scale^2) weights (norm weights included) for ``config``."""
    from transformers import Gemma3TextModel

    torch.manual_seed(seed)
    model = Gemma3TextModel(gemma_text_config(config or TINY_GEMMA_TEXT_CONFIG)).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * scale)
    return model


def _llama_cpp_tensors(model: Any, qtype: Any, embed_qtype: Any, seed: int) -> dict[str, tuple[Any, Any]]:
    """``{llama.cpp key: (data, GGMLType)}`` of a ``Gemma3TextModel`` as ``convert_hf_to_gguf.py`` writes it."""
    generator = torch.Generator().manual_seed(seed)
    state = model.state_dict()
    out = {}
    for name, key in gemma_gguf_names(model.config.num_hidden_layers).items():
        value = state[name].detach().float()
        if name.endswith("norm.weight"):
            out[key] = (value + 1.0, GGMLType.F32)  # Gemma norms: w + 1, always F32
            continue
        want = GGMLType(embed_qtype if name == "embed_tokens.weight" else qtype)
        if value.shape[-1] % BLOCK_SIZES[want][0]:
            want = GGMLType.F16  # llama.cpp's fallback for rows that do not fill whole blocks
        if want in PLAIN_TYPES or want in (GGMLType.Q8_0, GGMLType.Q4_0):
            out[key] = (quantize_tensor(value, want), want)
        else:  # the gguf package cannot quantise K-types: random blocks of the right size
            out[key] = (synthetic_blocks(want, tuple(value.shape), scale=0.01, generator=generator), want)
    return out


def _raw_array(data: Any, kind: Any) -> Any:
    """numpy data for ``GGUFWriter.add_tensor``: F32 / F16 values, BF16 and quantised types as raw bytes."""
    if data.dtype == torch.uint8:
        return data.contiguous().numpy()
    value = data.to(PLAIN_TYPES[kind]).contiguous()
    return (value.view(torch.uint8) if value.dtype == torch.bfloat16 else value).numpy()


def _add_sentencepiece_vocab(writer: Any, proto: bytes) -> None:
    """Tokenizer metadata as llama.cpp's ``_set_vocab_sentencepiece`` writes it (Gemma: no space prefix)."""
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_proto=proto)
    n = sp.get_piece_size()
    kinds = [2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 5 if sp.is_unused(i) else
             6 if sp.is_byte(i) else 1 for i in range(n)]
    writer.add_tokenizer_model("llama")
    writer.add_token_list([sp.id_to_piece(i) for i in range(n)])
    writer.add_token_scores([sp.get_score(i) for i in range(n)])
    writer.add_token_types(kinds)
    for add, token_id in ((writer.add_bos_token_id, sp.bos_id()), (writer.add_eos_token_id, sp.eos_id()),
                          (writer.add_unk_token_id, sp.unk_id()), (writer.add_pad_token_id, sp.pad_id())):
        if token_id >= 0:
            add(token_id)
    writer.add_add_bos_token(True)
    writer.add_add_space_prefix(False)


def write_gemma_gguf(
    path: str | Path,
    model: Any,
    *,
    qtype: Any = 0,
    embed_qtype: Any = None,
    sentencepiece_model: bytes | None = None,
    architecture: str = "gemma3",
    seed: int = 0,
) -> Path:
    """Write a ``Gemma3TextModel`` as a llama.cpp ``gemma3`` GGUF (names, ``w + 1`` F32 norms, ``gemma3.*`` keys).

    Args:
        path: output file.
        model: the model (its ``config`` gives the metadata).
        qtype: GGML type of the matrices (F32 / F16 / BF16 / Q8_0 / Q4_0 from the weights; K-types are random
            blocks); a matrix whose rows do not fill whole blocks is written F16, as llama.cpp does.
        embed_qtype: type of ``token_embd`` (default ``qtype``).
        sentencepiece_model: a serialized SentencePiece model to embed as the GGUF vocabulary, or None.
        architecture: ``general.architecture`` (tests of wrong files change it).
        seed: seed of the random K-type blocks.
    """
    import gguf

    config, path = model.config, Path(path)
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_key_length(config.head_dim)
    writer.add_value_length(config.head_dim)
    writer.add_rope_freq_base(config.rope_parameters["full_attention"]["rope_theta"])
    writer.add_sliding_window(config.sliding_window)
    scaling = config.rope_parameters["full_attention"]
    if scaling.get("rope_type") == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(scaling["factor"])
    if sentencepiece_model is not None:
        _add_sentencepiece_vocab(writer, sentencepiece_model)
    tensors = _llama_cpp_tensors(model, qtype, qtype if embed_qtype is None else embed_qtype, seed)
    for key, (data, kind) in tensors.items():
        writer.add_tensor(key, _raw_array(data, kind), raw_dtype=gguf.GGMLQuantizationType(int(kind)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
