"""Gemma tokenizer handling: strip, tokenize, ensure a leading BOS, truncate and LEFT-pad to 1024 tokens.

Matches ltx-core (``padding_side="left"``, pad = ``<pad>`` or EOS when missing, ``max_length`` 1024, truncation)
with HEAD's explicit leading BOS: Gemma 3's post-processor already adds it (same result); Gemma 4's tokenizer (LTX-2.5)
does not, so the BOS is prepended here (ltx-core HEAD ``LTXGemmaTokenizer.tokenize_with_weights``).
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


class SentencePieceTokenizer:
    """Minimal tokenizer over a serialized SentencePiece model (ComfyUI stores Gemma's as a ``spiece_model`` tensor).

    Implements the part of the Hugging Face tokenizer interface :func:`tokenize_prompts` uses; like Gemma 3's
    tokenizer it prepends BOS and never appends EOS.
    """

    def __init__(self, model_proto: bytes) -> None:
        import sentencepiece

        self.sp = sentencepiece.SentencePieceProcessor(model_proto=model_proto)
        self.bos_token_id, self.eos_token_id, self.pad_token_id = (
            (i if i >= 0 else None) for i in (self.sp.bos_id(), self.sp.eos_id(), self.sp.pad_id())
        )

    def __call__(
        self, text: str, *, padding: bool = False, truncation: bool = True, max_length: int | None = None
    ) -> dict[str, list[int]]:
        """``{"input_ids": [BOS, ...]}`` for one text, cut to ``max_length`` when ``truncation`` (no padding)."""
        if padding:
            raise ValueError("SentencePieceTokenizer does not pad; use tokenize_prompts")
        ids = [self.bos_token_id, *self.sp.encode(text)] if self.bos_token_id is not None else self.sp.encode(text)
        return {"input_ids": ids[:max_length] if truncation and max_length else ids}


def load_tokenizer(path: str | Path) -> Any:
    """Load a tokenizer from local files only (never downloads).

    Args:
        path: a folder with a Hugging Face tokenizer (``tokenizer.json`` / ``tokenizer.model`` + configs), possibly
            somewhere below it; or a ``.safetensors`` file embedding a ``tokenizer_json`` uint8 tensor (the LTX-2.5
            Gemma 4 text encoder) or a SentencePiece model as a ``spiece_model`` uint8 tensor (ComfyUI's single-file
            Gemma text encoder); or a llama.cpp ``.gguf`` file, whose
            vocabulary metadata ``transformers`` turns into a Gemma tokenizer (``gguf_file=``).
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".gguf":
        return _gguf_tokenizer(path)
    if path.is_file():
        return _embedded_sentencepiece(path)
    from transformers import AutoTokenizer

    if not path.is_dir():
        raise FileNotFoundError(f"tokenizer folder {path} does not exist")
    candidates = sorted({p.parent for name in ("tokenizer.json", "tokenizer.model") for p in path.rglob(name)})
    if not candidates:
        raise FileNotFoundError(f"no tokenizer.json or tokenizer.model under {path}")
    return AutoTokenizer.from_pretrained(str(candidates[0]), local_files_only=True)


def pad_id(tokenizer: Any) -> int:
    """The id prompts are padded with: the tokenizer's pad token, else its EOS token."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad is None:
        raise ValueError("tokenizer has neither a pad nor an EOS token")
    return int(pad)


def left_pad(rows: Sequence[Sequence[int]], pad: int, *, max_length: int = MAX_TOKENS) -> TokenBatch:
    """Token-id rows (each at most ``max_length``) -> (B, T) ids left-padded with ``pad`` and their mask."""
    input_ids = torch.full((len(rows), max_length), pad, dtype=torch.int64)
    mask = torch.zeros((len(rows), max_length), dtype=torch.int64)
    for row, ids in enumerate(rows):
        if len(ids) > max_length:
            raise ValueError(f"{len(ids)} tokens do not fit the {max_length}-token text context")
        input_ids[row, max_length - len(ids) :] = torch.tensor(list(ids), dtype=torch.int64)
        mask[row, max_length - len(ids) :] = 1
    return TokenBatch(input_ids, mask)


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
    rows = [tokenize_prompt(tokenizer, prompt, max_length=max_length) for prompt in prompts]
    return left_pad(rows, pad_id(tokenizer), max_length=max_length)


TOKENIZER_JSON_KEY = "tokenizer_json"
"""uint8 tensor holding ``tokenizer.json`` in single-file Gemma text encoders (ltx-core HEAD / LTX-2.5 files)."""
TOKENIZER_CONFIG_ASSET = "hf_asset__tokenizer_config.json"
_SPECIAL_TOKEN_KEYS = ("bos_token", "eos_token", "pad_token", "unk_token")


def _embedded_sentencepiece(path: Path) -> Any:
    """The tokenizer embedded in a single ``.safetensors`` file: ``tokenizer_json`` (+ ``tokenizer_config.json``
    as an ``hf_asset__`` tensor or a metadata string) or ComfyUI's ``spiece_model``."""
    from ..loading.safetensors_io import SafetensorsReader

    with SafetensorsReader(path) as reader:
        keys = set(reader.keys())
        if TOKENIZER_JSON_KEY in keys:
            return _tokenizer_from_json(reader, keys)
        if "spiece_model" not in keys:
            raise FileNotFoundError(f"{path} embeds no tokenizer (no 'tokenizer_json' or 'spiece_model' tensor); "
                                    "pass a tokenizer folder")
        data = reader.read("spiece_model")
    return SentencePieceTokenizer(data.to(torch.uint8).numpy().tobytes())


def _tokenizer_from_json(reader: Any, keys: set[str]) -> Any:
    """A fast tokenizer from the ``tokenizer_json`` bytes; special tokens from the embedded tokenizer config."""
    import json

    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    raw = reader.read(TOKENIZER_JSON_KEY).to(torch.uint8).numpy().tobytes()
    if TOKENIZER_CONFIG_ASSET in keys:
        config = json.loads(reader.read(TOKENIZER_CONFIG_ASSET).to(torch.uint8).numpy().tobytes())
    else:
        config = json.loads(reader.metadata.get("tokenizer_config.json", "{}"))
    special = {k: v for k, v in config.items() if k in _SPECIAL_TOKEN_KEYS and isinstance(v, str)}
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_buffer(raw), model_max_length=MAX_TOKENS, **special)


def _gguf_tokenizer(path: Path) -> Any:
    """The Gemma tokenizer rebuilt by ``transformers`` from a GGUF file's ``tokenizer.ggml.*`` metadata.

    The Gemma class is named directly: ``AutoTokenizer`` would first read the file's whole metadata with the
    ``gguf`` package's reader to pick the class (~30 s for Gemma 3's 262k-entry vocabulary). transformers >= 5
    then reads the vocabulary with its own parser; older versions need the ``gguf`` package for it.
    """
    from transformers import GemmaTokenizerFast  # transformers 5: an alias of GemmaTokenizer

    try:
        return GemmaTokenizerFast.from_pretrained(str(path.parent), gguf_file=path.name, local_files_only=True)
    except ImportError as exc:  # transformers < 5 without the gguf package
        raise ImportError(f"rebuilding the tokenizer of {path.name} from its vocabulary needs the 'gguf' package "
                          f"with this transformers version (pip install gguf); or put Gemma 3's tokenizer.json or "
                          f"tokenizer.model next to it ({exc})") from None
    except (KeyError, ValueError, OSError) as exc:  # no / unusable vocabulary metadata
        raise FileNotFoundError(f"{path.name} embeds no usable tokenizer ({type(exc).__name__}: {exc}); put "
                                f"Gemma 3's tokenizer.json or tokenizer.model next to it") from None
