"""Tiny LTX-2.5 text-side files in the official key layout: the Gemma 4 text encoder with its bundled projection,
and the duration head.

* :func:`write_gemma4_text_encoder` — ``gemma4-12b-with-proj-ltx-2.5-*``-style file: the language model under
  ComfyUI's flat ``model.*`` names (or HF ``model.language_model.*``), the image / audio embedders under
  ``vision_model.*`` / ``multi_modal_projector.*`` / ``audio_projector.*``, ``text_embedding_projection.*``,
  ``tokenizer_json`` and ``hf_asset__*`` uint8 tensors, metadata ``gemma_config`` with ``gemma_version``
  (ltx-core HEAD ``gemma_assets.build_text_encoder_tensors_from_gemma_root``).
* :func:`write_duration_head` — ``duration_head.*`` tensors (``nn.MultiheadAttention`` pooler layout) with the
  ``config`` metadata (``transformer`` widths + ``duration_head`` section) and ``model_version``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from ..duration.load import DURATION_HEAD_PREFIX
from ..duration.model import DurationHead, DurationHeadConfig
from ..loading.keymaps import DIFFUSION_PREFIX, TEXT_PROJECTION_PREFIX
from ..loading.safetensors_io import write_safetensors
from ..text.config import V2_SELECTOR_VALUES, TextConfig
from ..text.connector_pair import EmbeddingsConnectors
from ..text.gemma4 import LTX25_GEMMA_VERSION
from ..text.gemma_version import SOURCE_KEY, VERSION_KEY
from ..text.projection import TextProjection
from ..text.te_file import text_config_for_gemma
from ..text.tokenizer import TOKENIZER_CONFIG_ASSET, TOKENIZER_JSON_KEY
from .text import save_word_tokenizer

LTX25_MODEL_VERSION = "2.5.0"
PROCESSOR_CONFIG_ASSET = "hf_asset__processor_config.json"  # required by ltx-core's GemmaAssets (enhancement only)
TINY_WORDS = ("a", "red", "fox", "jumps", "over", "the", "lazy", "dog", "in", "snow")

# Gemma 4 unified text config with the 12B structure (sliding + full layers, proportional global RoPE with a wider
# global head, K = V on global layers) at toy size: 2 layers -> 3 hidden states of width 16 (TextConfig.tiny()).
TINY_GEMMA4_TEXT_CONFIG: dict[str, Any] = {
    "vocab_size": 64,
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "head_dim": 8,
    "global_head_dim": 16,
    "num_global_key_value_heads": 1,
    "attention_k_eq_v": True,
    "sliding_window": 4,
    "layer_types": ["sliding_attention", "full_attention"],
    "max_position_embeddings": 256,
    "use_bidirectional_attention": "vision",
    "rope_parameters": {
        "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
        "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1_000_000.0},
    },
}
_TINY_VISION = {"patch_size": 2, "pooling_kernel_size": 1, "mm_embed_dim": 8, "mm_posemb_size": 8,
                "output_proj_dims": 16}
_TINY_TOKENS = {"image_token_id": 60, "boi_token_id": 61, "eoi_token_id": 62, "boa_token_id": 59,
                "eoa_token_index": 58, "audio_token_id": 57, "video_token_id": 56}


def tiny_gemma4_config(gemma_version: str | None = LTX25_GEMMA_VERSION) -> dict[str, Any]:
    """The full ``gemma4_unified`` config dict (text + tiny image / audio embedders) as stored in ``gemma_config``."""
    from transformers import Gemma4UnifiedConfig

    config = Gemma4UnifiedConfig(
        text_config=dict(TINY_GEMMA4_TEXT_CONFIG), vision_config=dict(_TINY_VISION), audio_config={}, **_TINY_TOKENS
    ).to_dict()
    if gemma_version is not None:
        config["gemma_version"] = gemma_version
    return config


def random_gemma4_model(config: Mapping[str, Any] | None = None, *, seed: int = 0, scale: float = 0.2) -> Any:
    """A ``Gemma4UnifiedForConditionalGeneration`` (fp32, eval) with N(0, scale^2) weights for ``config``."""
    from transformers import Gemma4UnifiedConfig, Gemma4UnifiedForConditionalGeneration

    torch.manual_seed(seed)
    model = Gemma4UnifiedForConditionalGeneration(Gemma4UnifiedConfig.from_dict(dict(config or tiny_gemma4_config())))
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * scale)
    return model.eval()


def comfy_flat_key(key: str) -> str:
    """``Gemma4UnifiedForConditionalGeneration`` state-dict key (transformers 5.x) -> the text-encoder file's key.

    The released layout (ltx-core HEAD ``_flatten_gemma4_unified_keys_for_comfy`` applied to the HF checkpoint,
    whose image patch embedder is ``model.vision_embedder.*`` and its projection ``model.embed_vision.
    embedding_projection``): language model ``model.*``, image patch embedder ``vision_model.*``, image projection
    ``multi_modal_projector.embedding_projection.*``, audio projection ``audio_projector.*``.
    """
    rules = (("model.language_model.", "model."),
             ("model.embed_vision.multimodal_embedder.", "multi_modal_projector."),
             ("model.embed_vision.", "vision_model."),
             ("model.embed_audio.", "audio_projector."))
    for hf, flat in rules:
        if key.startswith(hf):
            return flat + key[len(hf):]
    return key


def _bytes_tensor(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).clone()


def random_text_projection(text_config: TextConfig, *, seed: int = 0, scale: float = 0.05) -> TextProjection:
    """A :class:`TextProjection` with N(0, scale^2) weights (fp32)."""
    generator = torch.Generator().manual_seed(seed)
    projection = TextProjection(text_config)
    with torch.no_grad():
        for param in projection.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * scale)
    return projection.eval()


def write_gemma4_text_encoder(
    path: str | Path,
    *,
    model: Any = None,
    projection: TextProjection | None = None,
    words: Sequence[str] = TINY_WORDS,
    gemma_version: str | None = LTX25_GEMMA_VERSION,
    comfy_flat: bool = True,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
) -> Path:
    """Write a tiny Gemma 4 text-encoder file with the bundled projection (see the module docstring).

    Args:
        model: a ``Gemma4UnifiedForConditionalGeneration`` (default: :func:`random_gemma4_model`).
        projection: the V2 projection (default: random, dims from ``TextConfig.tiny()`` and the Gemma config).
        words: vocabulary of the word-level tokenizer (no BOS post-processor, like Gemma 4's).
        gemma_version: stored in ``gemma_config`` (None leaves it out).
        comfy_flat: ComfyUI's flat language-model keys (the released layout) or HF ``model.language_model.*``.
    """
    model = model if model is not None else random_gemma4_model(seed=seed)
    config = model.config.to_dict()
    config.pop("gemma_version", None)
    if gemma_version is not None:
        config["gemma_version"] = gemma_version
    if projection is None:
        projection = random_text_projection(text_config_for_gemma(TextConfig.tiny(), config), seed=seed + 1)
    tensors = {(comfy_flat_key(k) if comfy_flat else k): v.detach().to(dtype).contiguous()
               for k, v in model.state_dict().items() if not k.startswith("lm_head.")}
    tensors.update({TEXT_PROJECTION_PREFIX + k: v.detach().to(dtype) for k, v in projection.state_dict().items()})
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer_dir = save_word_tokenizer(tmp, words, add_bos=False)
        tensors[TOKENIZER_JSON_KEY] = _bytes_tensor((tokenizer_dir / "tokenizer.json").read_bytes())
        tensors[TOKENIZER_CONFIG_ASSET] = _bytes_tensor((tokenizer_dir / "tokenizer_config.json").read_bytes())
    tensors[PROCESSOR_CONFIG_ASSET] = _bytes_tensor(json.dumps({"processor_class": "Gemma4UnifiedProcessor"}).encode())
    write_safetensors(path, tensors, metadata={"format": "pt", "gemma_config": json.dumps(config)})
    return Path(path)


def write_duration_head(
    path: str | Path,
    config: DurationHeadConfig | None = None,
    *,
    seed: int = 0,
    scale: float = 0.2,
    model_version: str = LTX25_MODEL_VERSION,
) -> Path:
    """Write a duration-head file (``duration_head.*`` fp32 tensors, ``config`` + ``model_version`` metadata)."""
    config = config or DurationHeadConfig.tiny()
    generator = torch.Generator().manual_seed(seed)
    head = DurationHead(config)
    tensors = {DURATION_HEAD_PREFIX + k: torch.randn(v.shape, generator=generator) * scale
               for k, v in head.state_dict().items()}
    meta_config = {
        "transformer": {"cross_attention_dim": config.video_dim, "audio_cross_attention_dim": config.audio_dim},
        "duration_head": {"pooler_hidden_dim": config.pooler_dim, "num_queries": config.num_queries,
                          "num_pooler_heads": config.num_heads, "mlp_hidden": config.mlp_hidden},
    }
    write_safetensors(path, tensors, metadata={"config": json.dumps(meta_config), "model_version": model_version})
    return Path(path)


# ``config.transformer`` text keys of a 2.5 transformer file at the size of ``TextConfig.tiny()`` (V2, gated), with
# the real 128 registers (texts of a multiple of 128 tokens).
TINY_TEXT_SECTION: dict[str, Any] = {
    **V2_SELECTOR_VALUES,
    "caption_channels": 16,
    "connector_num_layers": 2,
    "connector_num_attention_heads": 3,
    "connector_attention_head_dim": 8,
    "connector_num_learnable_registers": 128,  # ltx-core HEAD ignores this key and always builds 128
    "connector_positional_embedding_max_pos": [64],
    "connector_apply_gated_attention": True,
    "audio_connector_num_attention_heads": 2,
    "audio_connector_attention_head_dim": 6,
    "audio_connector_num_layers": 2,
    "num_attention_heads": 3,
    "attention_head_dim": 8,
    "audio_num_attention_heads": 2,
    "audio_attention_head_dim": 6,
    "cross_attention_dim": 24,
    "audio_cross_attention_dim": 12,
    "rope_type": "split",
    "frequencies_precision": "float64",
}


def ltx25_text_metadata(gemma_version: str | None = LTX25_GEMMA_VERSION) -> dict[str, str]:
    """The text-related ``__metadata__`` of a tiny 2.5 transformer file: ``config`` (``transformer`` section =
    :data:`TINY_TEXT_SECTION`), ``model_version`` and ``gemma_source_checkpoint`` (left out for None)."""
    meta = {"config": json.dumps({"transformer": TINY_TEXT_SECTION}), "model_version": LTX25_MODEL_VERSION}
    if gemma_version is not None:
        meta[SOURCE_KEY] = json.dumps({VERSION_KEY: gemma_version})
    return meta


def write_connector_file(
    path: str | Path, *, seed: int = 0, scale: float = 0.2, gemma_version: str | None = LTX25_GEMMA_VERSION
) -> Path:
    """Stand-in for the text part of a split 2.5 transformer file: ``model.diffusion_model.{video,audio}_embeddings_
    connector.*`` (fp32, random) with :func:`ltx25_text_metadata`."""
    generator = torch.Generator().manual_seed(seed)
    connectors = EmbeddingsConnectors(TextConfig.from_dict(TINY_TEXT_SECTION))
    tensors = {DIFFUSION_PREFIX + k: torch.randn(v.shape, generator=generator) * scale
               for k, v in connectors.state_dict().items()}
    write_safetensors(path, tensors, metadata=ltx25_text_metadata(gemma_version))
    return Path(path)
