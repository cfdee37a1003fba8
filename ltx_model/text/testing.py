"""Tiny stand-ins for tests: a random few-kB Gemma 3 text config and a word-level tokenizer built offline.

Nothing here is used at inference time; it exists so that tests (ours and the host integration tests) can exercise
the real Gemma / tokenizer code paths without downloading anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    import torch
    from transformers import Gemma3TextModel

    from .gemma import gemma_text_config

    torch.manual_seed(seed)
    model = Gemma3TextModel(gemma_text_config(config or TINY_GEMMA_TEXT_CONFIG)).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * scale)
    return model
