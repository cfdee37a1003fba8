"""Gemma tokenizer handling: strip, tokenize, ensure a leading BOS, truncate and LEFT-pad to 1024 tokens.

Matches ltx-core (``padding_side="left"``, pad = ``<pad>`` or EOS when missing, ``max_length`` 1024, truncation)
with HEAD's extra guarantee of a leading BOS (Gemma 3's post-processor already adds it, so the result is the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch

MAX_TOKENS = 1024


class TokenBatch(NamedTuple):
    """Tokenized prompts.

    Attributes:
        input_ids: (B, T) int64, left padded with the pad id.
        attention_mask: (B, T) int64, 1 for real tokens (at the end of each row), 0 for padding.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor


def load_tokenizer(path: str | Path) -> Any:
    """Load a Hugging Face tokenizer from a local folder (``tokenizer.json`` / ``tokenizer.model`` + configs).

    ``path`` may be the Gemma folder itself or a folder containing it somewhere below; never downloads.
    """
    from transformers import AutoTokenizer

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"tokenizer folder {path} does not exist")
    candidates = sorted({p.parent for name in ("tokenizer.json", "tokenizer.model") for p in path.rglob(name)})
    if not candidates:
        raise FileNotFoundError(f"no tokenizer.json or tokenizer.model under {path}")
    return AutoTokenizer.from_pretrained(str(candidates[0]), local_files_only=True)


def _pad_id(tokenizer: Any) -> int:
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad is None:
        raise ValueError("tokenizer has neither a pad nor an EOS token")
    return int(pad)


def tokenize_prompt(tokenizer: Any, prompt: str, *, max_length: int = MAX_TOKENS) -> list[int]:
    """Token ids of one prompt (no padding): stripped text, leading BOS, at most ``max_length`` ids."""
    ids = list(tokenizer(prompt.strip(), padding=False, truncation=True, max_length=max_length)["input_ids"])
    bos = tokenizer.bos_token_id
    if bos is None:
        raise ValueError("tokenizer has no BOS token; the Gemma encode path requires a leading BOS")
    if not ids or ids[0] != bos:
        ids = [bos, *ids][:max_length]
    return ids


def tokenize_prompts(tokenizer: Any, prompts: Sequence[str], *, max_length: int = MAX_TOKENS) -> TokenBatch:
    """Tokenize and left-pad prompts to exactly ``max_length`` tokens.

    Args:
        tokenizer: a Hugging Face tokenizer (see :func:`load_tokenizer`).
        prompts: B strings.
        max_length: T (1024 for LTX-2).
    Returns:
        :class:`TokenBatch` with (B, T) ids and mask.
    """
    if isinstance(prompts, str):
        raise TypeError("prompts must be a sequence of strings, not one string")
    pad = _pad_id(tokenizer)
    input_ids = torch.full((len(prompts), max_length), pad, dtype=torch.int64)
    mask = torch.zeros((len(prompts), max_length), dtype=torch.int64)
    for row, prompt in enumerate(prompts):
        ids = tokenize_prompt(tokenizer, prompt, max_length=max_length)
        input_ids[row, max_length - len(ids) :] = torch.tensor(ids, dtype=torch.int64)
        mask[row, max_length - len(ids) :] = 1
    return TokenBatch(input_ids, mask)
