"""Gemma 3 text model through ``transformers``: local loading (never downloads) and hidden-state extraction.

Only the language model (``Gemma3TextModel``: embeddings, 48 decoder layers, final norm) is built; the SigLIP
vision tower, the multimodal projector and the LM head are only needed for prompt enhancement and are skipped.
ltx-core calls ``Gemma3ForConditionalGeneration.model`` with text only, which runs exactly this language model.

Weights come from a Hugging Face folder (``config.json`` + ``*.safetensors``) or a single ``.safetensors`` file.
Accepted key layouts (vision / projector / lm_head keys are ignored):
``language_model.model.*`` (google/gemma-3 checkpoints), ``model.language_model.*`` (transformers 5 saves),
``model.*`` (Gemma3ForCausalLM and ComfyUI's flat text-encoder files) and bare ``embed_tokens|layers|norm.*``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from ..loading.safetensors_io import read_header

# Gemma 3 12B text config as hard-coded by ltx-core (text_encoders/gemma/config.py), in transformers' legacy keys.
GEMMA3_12B_TEXT_CONFIG: dict[str, Any] = {
    "model_type": "gemma3_text",
    "hidden_size": 3840,
    "intermediate_size": 15360,
    "num_hidden_layers": 48,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 256,
    "hidden_activation": "gelu_pytorch_tanh",
    "rms_norm_eps": 1e-6,
    "query_pre_attn_scalar": 256,
    "sliding_window": 1024,
    "sliding_window_pattern": 6,
    "rope_theta": 1_000_000.0,
    "rope_local_base_freq": 10_000.0,
    "rope_scaling": {"rope_type": "linear", "factor": 8.0},
    "vocab_size": 262208,
    "max_position_embeddings": 131072,
    "attn_logit_softcapping": None,
    "final_logit_softcapping": None,
}

_TEXT_PREFIXES = ("language_model.model.", "model.language_model.", "model.")
_TEXT_ROOTS = ("embed_tokens.", "layers.", "norm.")


def gemma_text_config(config: Mapping[str, Any] | None = None) -> Any:
    """Build a ``transformers`` ``Gemma3TextConfig``.

    Args:
        config: a Gemma 3 ``config.json`` dict (multimodal ``gemma3`` with ``text_config`` or ``gemma3_text``);
            None gives the Gemma 3 12B config LTX-2 uses (:data:`GEMMA3_12B_TEXT_CONFIG`).
    """
    from transformers import Gemma3TextConfig

    data = dict(GEMMA3_12B_TEXT_CONFIG if config is None else config)
    if "text_config" in data:
        data = dict(data["text_config"])
    data.pop("model_type", None)
    return Gemma3TextConfig(**data)


def gemma_text_key(key: str) -> str | None:
    """Map a checkpoint key to a ``Gemma3TextModel`` key, or None for keys of other parts (vision, lm_head...)."""
    for prefix in _TEXT_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    return key if key.startswith(_TEXT_ROOTS) else None


def gemma_weight_files(path: str | Path) -> tuple[Path, ...]:
    """The ``.safetensors`` files of a Gemma folder (searched recursively), or the single file itself."""
    path = Path(path)
    if path.is_file():
        return (path,)
    files = tuple(sorted(path.rglob("*.safetensors")))
    if not files:
        raise FileNotFoundError(f"no .safetensors weights under {path}")
    return files


def read_gemma_config(path: str | Path) -> dict[str, Any] | None:
    """``config.json`` of a Gemma folder, a single file's ``gemma_config`` metadata, or None if neither exists."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.rglob("config.json"))
        return json.loads(found[0].read_text()) if found else None
    raw = read_header(path).metadata.get("gemma_config")  # checked header: a corrupt file's error names it
    return json.loads(raw) if raw else None


def gemma_text_state_dict(
    files: Iterable[Path],
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str = "cpu",
    should_abort: Callable[[], None] | None = None,
    key_map: Callable[[str], str | None] = gemma_text_key,
) -> dict[str, torch.Tensor]:
    """Read the language-model tensors of Gemma safetensors files under ``Gemma3TextModel`` names.

    ``key_map`` maps a file key to the model's name, or None for a tensor to skip (default
    :func:`gemma_text_key`; Gemma 4 passes :func:`~ltx_model.text.gemma4.gemma4_text_key`).

    Each tensor is moved to ``device`` and cast to ``dtype`` as it is read (so host memory holds one tensor at a time
    when the device is an accelerator); other parts' tensors are never read. Every file's header is checked first
    (:func:`~ltx_model.loading.read_header`: a truncated or corrupt shard raises ``CheckpointError`` naming it
    before any tensor is read); ``should_abort`` is called before each tensor and may raise to stop the load.
    """
    from safetensors import safe_open

    files = list(files)
    for file in files:
        read_header(file)
    state: dict[str, torch.Tensor] = {}
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 - safe_open is not a Mapping
                name = key_map(key)
                if name is None:
                    continue
                if should_abort is not None:
                    should_abort()
                if name in state:
                    raise ValueError(f"Gemma weight {name!r} appears twice (last in {file})")
                tensor = handle.get_tensor(key).to(device)
                state[name] = tensor.to(dtype) if dtype is not None and tensor.is_floating_point() else tensor
    return state


def load_gemma_text_model(
    path: str | Path,
    *,
    dtype: torch.dtype = torch.bfloat16,
    device: torch.device | str = "cpu",
    config: Mapping[str, Any] | None = None,
    should_abort: Callable[[], None] | None = None,
) -> torch.nn.Module:
    """Load a Gemma 3 ``Gemma3TextModel`` from local files only (strict: every weight must be present).

    Args:
        path: Gemma folder or single ``.safetensors`` file.
        dtype: weight dtype (bf16 is the reference inference dtype); RoPE tables and the embedding scale stay fp32.
        device: target device.
        config: Gemma config dict; defaults to the folder's ``config.json`` / the file's ``gemma_config`` metadata /
            the Gemma 3 12B config.
        should_abort: called before each tensor is read; what it raises stops the load.
    Returns:
        the model in eval mode.
    """
    from transformers import Gemma3TextModel

    hf_config = gemma_text_config(config if config is not None else read_gemma_config(path))
    hf_config._attn_implementation = "sdpa"
    with torch.device("meta"):
        model = Gemma3TextModel(hf_config)
    state = gemma_text_state_dict(gemma_weight_files(path), dtype=dtype, device=device, should_abort=should_abort)
    model.load_state_dict(state, strict=True, assign=True)
    materialise_buffers(model, hf_config, device=torch.device(device))
    return model.to(device).eval()


def materialise_buffers(model: torch.nn.Module, hf_config: Any, *, device: torch.device) -> None:
    """Recreate the non-persistent buffers (embedding scale, RoPE inverse frequencies) in fp32 after a meta build."""
    from transformers.models.gemma3.modeling_gemma3 import Gemma3RotaryEmbedding

    model.rotary_emb = Gemma3RotaryEmbedding(hf_config, device=device)
    scale = torch.tensor(hf_config.hidden_size**0.5, dtype=torch.float32, device=device)
    model.embed_tokens.register_buffer("embed_scale", scale, persistent=False)
    left = [name for name, t in (*model.named_parameters(), *model.named_buffers()) if t.is_meta]
    if left:
        raise RuntimeError(f"Gemma tensors left uninitialised after loading: {left[:5]}")


def gemma_hidden_states(
    model: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """Run the Gemma language model and return all hidden states.

    Args:
        model: a ``Gemma3TextModel`` (or ``Gemma3ForConditionalGeneration.model``, which accepts the same inputs).
        input_ids: (B, T) int64 token ids (left padded).
        attention_mask: (B, T) binary mask. No position ids are passed, so positions are 0..T-1 including the
            padding, as in ltx-core.
    Returns:
        L = num_hidden_layers + 1 tensors (B, T, D_g): index 0 = scaled token embeddings, 1..L-2 = residual stream
        after each layer, L-1 = final-norm output of the last layer.
    """
    device = next(model.parameters()).device
    with torch.no_grad():
        out = model(
            input_ids=input_ids.to(device),
            attention_mask=attention_mask.to(device),
            output_hidden_states=True,
            use_cache=False,
        )
    return tuple(out.hidden_states)
