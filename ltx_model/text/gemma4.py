"""Gemma 4 (LTX-2.5) through ``transformers``: the encode-only unified language model and its local loading.

LTX-2.5 conditions on a Gemma 4 12B fine-tuned for LTX (``model_type`` ``gemma4_unified``: encoder-free, the image /
audio inputs go through small embedders and are not used for text encoding). ltx-core HEAD runs
``Gemma4UnifiedForConditionalGeneration.model`` with text only, which is exactly ``Gemma4UnifiedTextModel`` on the
token embeddings (same causal / sliding masks, positions 0..T-1 including the left padding; checked by
``tests/parity/test_ltx25_text_parity.py``), so only the language model is built here.

Weights come from the single text-encoder file ``gemma4-12b-with-proj-ltx-2.5-*.safetensors`` or a Hugging Face
folder. The single file (ltx-core HEAD ``gemma_assets.build_text_encoder_tensors_from_gemma_root``) holds

* the language model in ComfyUI's flat layout ``model.{embed_tokens,layers.N,norm}.*`` (an HF folder uses
  ``model.language_model.*``; both are accepted),
* the image / audio embedders as ``vision_model.*``, ``multi_modal_projector.*``, ``audio_projector.*`` (HF:
  ``model.vision_embedder.*``, ``model.embed_vision.*``, ``model.embed_audio.*``) — skipped for encoding,
* the bundled text projection ``text_embedding_projection.{video,audio}_aggregate_embed.{weight,bias}``
  (:func:`~ltx_model.text.te_file.load_text_projection`),
* the tokenizer as a uint8 tensor ``tokenizer_json`` and HF side files as ``hf_asset__<name>`` uint8 tensors,
* metadata ``gemma_config``: the HF config JSON, whose top-level ``gemma_version`` (``"gemma4-12b-ltx-v1"``) is
  checked against the transformer's ``gemma_source_checkpoint`` (:mod:`ltx_model.text.gemma_version`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from .gemma import gemma_text_state_dict, gemma_weight_files, read_gemma_config

GEMMA4_UNIFIED = "gemma4_unified"
GEMMA4_DENSE = "gemma4"
LTX25_GEMMA_VERSION = "gemma4-12b-ltx-v1"
"""``gemma_version`` of the Gemma 4 text encoder LTX-2.5 was trained with."""

_HF_TEXT_PREFIX = "model.language_model."
_FLAT_TEXT_PREFIXES = ("model.embed_tokens.", "model.layers.", "model.norm.")


def is_gemma4_config(config: Mapping[str, Any] | None) -> bool:
    """Whether a Gemma config dict (whole or text part) is a Gemma 4 one (``gemma4``, ``gemma4_unified``...)."""
    return bool(config) and str(config.get("model_type", "")).startswith(GEMMA4_DENSE)


def gemma4_text_config(config: Mapping[str, Any]) -> Any:
    """``Gemma4UnifiedTextConfig`` from a ``gemma4_unified`` config dict (its ``text_config``) or a text-only one.

    Raises:
        ValueError: a dense ``gemma4`` config (prompt enhancement only: ltx-core does not encode with it) or any
            other model type.
    """
    from transformers import Gemma4UnifiedTextConfig

    model_type = str(config.get("model_type", ""))
    if model_type == GEMMA4_DENSE:
        raise ValueError("a dense Gemma 4 (model_type 'gemma4') only serves prompt enhancement; LTX-2.5 encodes "
                         "prompts with the unified Gemma 4 text encoder (model_type 'gemma4_unified')")
    if model_type not in (GEMMA4_UNIFIED, GEMMA4_UNIFIED + "_text"):
        raise ValueError(f"not a unified Gemma 4 config (model_type {model_type!r})")
    data = dict(config.get("text_config", config))
    data.pop("model_type", None)
    return Gemma4UnifiedTextConfig(**data)


def gemma4_text_key(key: str) -> str | None:
    """File key -> ``Gemma4UnifiedTextModel`` key, or None for every other part (embedders, projection, assets)."""
    if key.startswith(_HF_TEXT_PREFIX):
        return key[len(_HF_TEXT_PREFIX):]
    if key.startswith(_FLAT_TEXT_PREFIXES):
        return key[len("model."):]
    return None


def load_gemma4_text_model(
    path: str | Path,
    *,
    dtype: torch.dtype = torch.bfloat16,
    device: torch.device | str = "cpu",
    config: Mapping[str, Any] | None = None,
    should_abort: Callable[[], None] | None = None,
) -> torch.nn.Module:
    """Load the ``Gemma4UnifiedTextModel`` of a Gemma 4 text-encoder file or folder (local files only, strict).

    Args:
        path: the single ``.safetensors`` text-encoder file or an HF folder.
        dtype: weight dtype (bf16 is the reference inference dtype); RoPE tables and the embedding scale stay fp32.
        device: target device.
        config: Gemma config dict; defaults to the file's ``gemma_config`` metadata / the folder's ``config.json``.
        should_abort: called before each tensor is read; what it raises stops the load.
    Returns:
        the model in eval mode; called with ``output_hidden_states=True`` it returns ``num_hidden_layers + 1``
        hidden states (index 0 = scaled embeddings, last = final-norm output).
    """
    from transformers import Gemma4UnifiedTextModel

    raw = config if config is not None else read_gemma_config(path)
    if raw is None:
        raise FileNotFoundError(f"{path}: no Gemma config (no 'gemma_config' metadata / config.json)")
    hf_config = gemma4_text_config(raw)
    hf_config._attn_implementation = "sdpa"
    with torch.device("meta"):
        model = Gemma4UnifiedTextModel(hf_config)
    state = gemma_text_state_dict(
        gemma_weight_files(path), dtype=dtype, device=device, should_abort=should_abort, key_map=gemma4_text_key
    )
    model.load_state_dict(state, strict=True, assign=True)
    materialise_gemma4_buffers(model, hf_config, device=torch.device(device))
    return model.to(device).eval()


def materialise_gemma4_buffers(model: torch.nn.Module, hf_config: Any, *, device: torch.device) -> None:
    """Recreate the non-persistent buffers (per-layer-type RoPE tables, embedding scale) in fp32 after a meta build.

    ``layer_scalar`` is a persistent buffer and comes from the file.
    """
    from transformers.models.gemma4_unified.modeling_gemma4_unified import Gemma4UnifiedTextRotaryEmbedding

    model.rotary_emb = Gemma4UnifiedTextRotaryEmbedding(hf_config, device=device)
    scale = torch.tensor(hf_config.hidden_size**0.5, dtype=torch.float32, device=device)
    model.embed_tokens.register_buffer("embed_scale", scale, persistent=False)
    left = [name for name, t in (*model.named_parameters(), *model.named_buffers()) if t.is_meta]
    if left:
        raise RuntimeError(f"Gemma 4 tensors left uninitialised after loading: {left[:5]}")


GEMMA4_ENHANCE_GENERATION: dict[str, Any] = {"do_sample": False, "no_repeat_ngram_size": 5, "max_new_tokens": 600}
"""Decoding of a dense Gemma 4 prompt enhancer (ltx-core HEAD ``GEMMA4_ENHANCE_GENERATION_KWARGS``: greedy, no
repeated 5-grams, at most 600 new tokens; Gemma 3 samples at temperature 0.7 with at most 512)."""


def load_gemma4_enhancer(
    folder: str | Path, *, dtype: torch.dtype = torch.bfloat16, device: torch.device | str = "cpu"
) -> tuple[torch.nn.Module, Any]:
    """Load a dense Gemma 4 instruct folder (``model_type`` ``gemma4``, e.g. gemma-4-E2B-it) for prompt enhancement.

    LTX-2.5's unified text encoder cannot generate (ltx-core HEAD enhances with a separate dense Gemma 4 or Gemma 3,
    ``--prompt-enhancer-gemma-root``). Local files only.

    Returns:
        ``(model, processor)``: ``AutoModelForImageTextToText`` in eval mode and the folder's ``AutoProcessor``
        (None when the folder has no processor files: text-only enhancement with the tokenizer).
    Raises:
        ValueError: the folder is not a dense Gemma 4.
    """
    from transformers import AutoModelForImageTextToText, AutoProcessor

    config = read_gemma_config(folder)
    if not config or config.get("model_type") != GEMMA4_DENSE:
        found = (config or {}).get("model_type")
        raise ValueError(f"{folder}: not a dense Gemma 4 instruct model (model_type {found!r}, expected 'gemma4'); "
                         "the LTX-2.5 text encoder (gemma4_unified) encodes only")
    model = AutoModelForImageTextToText.from_pretrained(str(folder), dtype=dtype, local_files_only=True)
    try:
        processor = AutoProcessor.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, TypeError):
        processor = None
    return model.to(device).eval(), processor
