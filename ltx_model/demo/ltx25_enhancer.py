"""A tiny dense Gemma 4 instruct folder (``model_type`` ``gemma4``, text only) for LTX-2.5 prompt enhancement.

LTX-2.5's unified Gemma 4 text encoder only encodes; ltx-core HEAD rewrites prompts with a separate dense Gemma 4
(e.g. gemma-4-E2B-it) loaded by :func:`ltx_model.text.gemma4.load_gemma4_enhancer`. :func:`write_demo_gemma4_enhancer`
writes such a folder at toy size (the layer structure of :data:`~ltx_model.demo.ltx25_text.TINY_GEMMA4_TEXT_CONFIG`
without the unified model's wide global heads, no vision / audio tower): ``config.json``, ``model.safetensors``
(random weights) and a word-level ``tokenizer.json``. Its rewrites are random words; it exists so the real loaders
and the enhancer can run end to end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .ltx25_text import TINY_GEMMA4_TEXT_CONFIG, TINY_WORDS
from .text import save_word_tokenizer

_UNIFIED_ONLY = ("use_bidirectional_attention", "global_head_dim", "num_global_key_value_heads", "attention_k_eq_v")
_TOKENS = {"image_token_id": 60, "boi_token_id": 61, "eoi_token_id": 62, "boa_token_id": 59, "eoa_token_index": 58,
           "audio_token_id": 57, "video_token_id": 56}


def tiny_gemma4_dense_config() -> Any:
    """``Gemma4Config`` of the toy dense Gemma 4 (2 layers, width 16, vocabulary 64, no per-layer inputs)."""
    from transformers import Gemma4Config

    text = {k: v for k, v in TINY_GEMMA4_TEXT_CONFIG.items() if k not in _UNIFIED_ONLY}
    text.update(hidden_size_per_layer_input=0, vocab_size_per_layer_input=text["vocab_size"])
    return Gemma4Config(text_config=text, vision_config=None, audio_config=None, **_TOKENS)


def write_demo_gemma4_enhancer(folder: str | Path, *, seed: int = 0, scale: float = 0.2) -> Path:
    """Write the toy dense Gemma 4 instruct folder (N(0, scale^2) weights, fp32) to ``folder``; returns it."""
    from transformers import AutoModelForImageTextToText

    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(tiny_gemma4_dense_config())
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * scale)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    save_word_tokenizer(folder, TINY_WORDS, add_bos=True)
    return folder
