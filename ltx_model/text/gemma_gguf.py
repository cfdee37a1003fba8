"""Gemma 3 language model from a llama.cpp GGUF file (``gemma-3-12b-it-Q4_K_M.gguf``, ``-Q8_0``, ``-BF16`` ...).

The file is read through :class:`~ltx_model.loading.gguf.GGUFFile` (our own header parser: no ``gguf`` package,
the tokenizer arrays are not decoded; the config and the size check below need only the metadata, so a wrong
model is refused before any weight is read). llama.cpp's converter (``convert_hf_to_gguf.py``, ``Gemma3Model``):

* names tensors ``token_embd``, ``output_norm`` and ``blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output,
  attn_q_norm, attn_k_norm, post_attention_norm, ffn_norm, ffn_gate, ffn_up, ffn_down, post_ffw_norm}``
  (:data:`LAYER_NAMES`); there is no ``output`` tensor (Gemma ties it to the embedding);
* stores every ``*norm.weight`` as ``w + 1`` in F32 (Gemma's RMSNorm scales by ``1 + w``): undone here;
* does NOT permute q / k (only the LLaMA family is permuted; Gemma's RoPE is the NeoX / HF layout);
* drops the embedding rows past the tokenizer's vocabulary (262144 of 262208 for Gemma 3): the model is built
  with ``vocab_size`` = the file's row count;
* writes ``gemma3.*`` metadata; llama.cpp itself hard-codes the sliding-window pattern (6) and the local RoPE base
  (10000) for ``gemma3``, and the query scale (``head_dim``, ``hidden / heads`` for the 62-layer 27B).

Quantised matrices (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K) stay as their GGML blocks: ``q/k/v/o`` and ``gate/up/down``
become :class:`GGMLLinear`, a quantised embedding :class:`GGMLEmbedding` (only the looked-up rows are
de-quantised). Both de-quantise to the activation dtype at compute time with ``ltx_model.quant.dequantize``.
Norms and plain (F32 / F16 / BF16) tensors are converted to ``dtype`` on load.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..loading.gguf import GGUFFile
from ..quant.ggml import GGMLType, dequantize
from .gemma import gemma_text_config, materialise_buffers

ARCHITECTURE = "gemma3"
SLIDING_WINDOW_PATTERN = 6  # llama.cpp: hparams.set_swa_pattern(6) for LLM_ARCH_GEMMA3
LOCAL_ROPE_BASE = 10_000.0  # llama.cpp: rope_freq_base_train_swa for LLM_ARCH_GEMMA3
LAYER_NAMES: dict[str, str] = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "attn_q_norm": "self_attn.q_norm",
    "attn_k_norm": "self_attn.k_norm",
    "post_attention_norm": "post_attention_layernorm",
    "ffn_norm": "pre_feedforward_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "post_ffw_norm": "post_feedforward_layernorm",
}
"""``blk.N.<llama.cpp name>`` -> ``layers.N.<Gemma3TextModel module>``."""
GLOBAL_NAMES = {"token_embd": "embed_tokens", "output_norm": "norm"}
OTHER_ARCHITECTURES = {
    "clip": "a vision projector (mmproj) file, not the Gemma language model",
    "ltxv": "an LTX-2 transformer GGUF (it belongs in models/diffusion_models)",
}


class GemmaGGUFError(ValueError):
    """The file is not a usable Gemma 3 GGUF (message names the file and the reason)."""


class GGMLLinear(nn.Module):
    """Bias-free linear layer over GGML blocks, de-quantised at each call.

    ``weight``: uint8 parameter ``(out_features, row_bytes)`` (the file's bytes; moved with the module), logical
    shape ``(out_features, in_features)``; forward: ``x (..., in) -> (..., out)`` in ``x``'s dtype.
    """

    def __init__(self, raw: torch.Tensor, qtype: GGMLType, shape: tuple[int, int]) -> None:
        super().__init__()
        self.qtype = GGMLType(qtype)
        self.out_features, self.in_features = int(shape[0]), int(shape[1])
        self.weight = nn.Parameter(raw.reshape(self.out_features, -1), requires_grad=False)

    def dequantized(self, dtype: torch.dtype) -> torch.Tensor:
        """The full weight ``(out, in)`` in ``dtype`` on the weight's device."""
        return dequantize(self.weight, self.qtype, (self.out_features, self.in_features), dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.dequantized(x.dtype))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, qtype={self.qtype.name}"


class GGMLEmbedding(nn.Module):
    """Gemma's scaled token embedding over GGML blocks: only the looked-up rows are de-quantised.

    ``weight``: uint8 parameter ``(vocab, row_bytes)``; ``embed_scale``: fp32 scalar buffer (``sqrt(hidden)``,
    set by the loader); forward: ids ``(B, T)`` -> ``(B, T, hidden)`` in ``dtype``, equal to
    ``Gemma3TextScaledWordEmbedding`` over the de-quantised table.
    """

    def __init__(self, raw: torch.Tensor, qtype: GGMLType, shape: tuple[int, int], *, dtype: torch.dtype) -> None:
        super().__init__()
        self.qtype = GGMLType(qtype)
        self.num_embeddings, self.embedding_dim = int(shape[0]), int(shape[1])
        self.dtype = dtype
        self.weight = nn.Parameter(raw.reshape(self.num_embeddings, -1), requires_grad=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        rows = self.weight[input_ids.reshape(-1)]  # (B*T, row_bytes)
        values = dequantize(rows, self.qtype, (rows.shape[0], self.embedding_dim), dtype=self.dtype)
        return values.reshape(*input_ids.shape, self.embedding_dim) * self.embed_scale.to(self.dtype)


def open_gemma_gguf(path: str | os.PathLike[str]) -> GGUFFile:
    """Open a GGUF file and check it is a llama.cpp ``gemma3`` language model (raises :class:`GemmaGGUFError`)."""
    from ..loading.safetensors_io import CheckpointError

    name = os.path.basename(os.fspath(path))
    try:
        file = GGUFFile(path)
    except CheckpointError as exc:
        raise GemmaGGUFError(str(exc)) from None
    arch = file.field("general.architecture")
    if isinstance(arch, str) and arch.startswith("gemma4"):
        raise GemmaGGUFError(f"{name} is a Gemma 4 GGUF ({arch!r}), which this pack cannot load: use the LTX-2.5 "
                             "Gemma 4 text encoder as its .safetensors file "
                             "(gemma4-12b-with-proj-ltx-2.5-*.safetensors) or a Hugging Face folder in "
                             "models/text_encoders; GGUF works for Gemma 3 (LTX-2 / LTX-2.3) only")
    if arch != ARCHITECTURE:
        what = OTHER_ARCHITECTURES.get(arch, f"architecture {arch!r}, not Gemma 3 ({ARCHITECTURE!r})")
        raise GemmaGGUFError(f"{name} is {what}; pick the Gemma 3 12B language-model GGUF "
                             f"(e.g. gemma-3-12b-it-Q4_K_M.gguf)")
    return file


def _meta(file: GGUFFile, key: str, default: Any = None) -> Any:
    value = file.field(f"{ARCHITECTURE}.{key}", default)
    if value is None:
        raise GemmaGGUFError(f"{os.path.basename(file.path)} lacks the metadata field {ARCHITECTURE}.{key}")
    return value


def _decimal(value: Any) -> float:
    """A float32 metadata value as the decimal it was written from (``1e-6`` is stored as ``9.9999999747e-07``)."""
    return float(f"{float(value):.7g}")


def gemma_gguf_config(file: GGUFFile) -> dict[str, Any]:
    """The ``Gemma3TextConfig`` dict (transformers' legacy keys, as :func:`gemma_text_config` takes) of the file.

    ``vocab_size`` is the embedding's row count; keys llama.cpp does not write take its hard-coded gemma3 values.
    """
    if "token_embd.weight" not in file.tensors:
        raise GemmaGGUFError(f"{os.path.basename(file.path)} has no token_embd.weight tensor")
    hidden, layers = int(_meta(file, "embedding_length")), int(_meta(file, "block_count"))
    heads = int(_meta(file, "attention.head_count"))
    head_dim = int(_meta(file, "attention.key_length", hidden // heads))
    scaling = None
    if file.field(f"{ARCHITECTURE}.rope.scaling.type") == "linear":
        scaling = {"rope_type": "linear", "factor": _decimal(_meta(file, "rope.scaling.factor"))}
    return {
        "model_type": "gemma3_text",
        "hidden_size": hidden,
        "intermediate_size": int(_meta(file, "feed_forward_length")),
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": int(_meta(file, "attention.head_count_kv", heads)),
        "head_dim": head_dim,
        "hidden_activation": "gelu_pytorch_tanh",
        "rms_norm_eps": _decimal(_meta(file, "attention.layer_norm_rms_epsilon", 1e-6)),
        "query_pre_attn_scalar": hidden // heads if layers == 62 else head_dim,  # llama.cpp: the 27B differs
        "sliding_window": int(_meta(file, "attention.sliding_window")),
        "sliding_window_pattern": int(_meta(file, "attention.sliding_window_pattern", SLIDING_WINDOW_PATTERN)),
        "rope_theta": _decimal(_meta(file, "rope.freq_base", 1_000_000.0)),
        "rope_local_base_freq": _decimal(_meta(file, "rope.freq_base_swa", LOCAL_ROPE_BASE)),
        "rope_scaling": scaling,
        "vocab_size": int(file.tensors["token_embd.weight"].shape[0]),
        "max_position_embeddings": int(_meta(file, "context_length", 131072)),
        "attn_logit_softcapping": None,
        "final_logit_softcapping": None,
    }


def read_gemma_gguf_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """:func:`gemma_gguf_config` of the file at ``path`` (opened and checked with :func:`open_gemma_gguf`)."""
    return gemma_gguf_config(open_gemma_gguf(path))


def gemma_gguf_names(num_layers: int) -> dict[str, str]:
    """``{Gemma3TextModel parameter: GGUF tensor key}`` for ``num_layers`` decoder layers."""
    names = {f"{hf}.weight": f"{key}.weight" for key, hf in GLOBAL_NAMES.items()}
    for i in range(num_layers):
        names.update({f"layers.{i}.{hf}.weight": f"blk.{i}.{key}.weight" for key, hf in LAYER_NAMES.items()})
    return names


def _check_tensors(file: GGUFFile, model: nn.Module, names: Mapping[str, str]) -> None:
    """Every expected tensor is in the file with the model's shape (one error listing up to 8 of each)."""
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = [key for key in names.values() if key not in file.tensors]
    wrong = [f"{key} {list(file.tensors[key].shape)} vs {list(shapes[hf])}" for hf, key in names.items()
             if key in file.tensors and file.tensors[key].shape != shapes[hf]]
    parts = [f"{len(v)} {what}: {', '.join(v[:8])}" for what, v in
             (("missing tensor(s)", missing), ("shape mismatch(es) with its metadata", wrong)) if v]
    if parts:
        raise GemmaGGUFError(f"{os.path.basename(file.path)} is not a complete Gemma 3 GGUF: " + "; ".join(parts))


def _load_tensor(model: nn.Module, name: str, file: GGUFFile, key: str, *, dtype: torch.dtype,
                 device: torch.device) -> None:
    """Put file tensor ``key`` into ``model`` as parameter ``name``: quantised matrices as GGML modules, the rest
    de-quantised (norms minus llama.cpp's +1) and cast to ``dtype``."""
    info = file.tensors[key]
    data = file.read(key).to(device)
    owner_name = name.rpartition(".")[0]
    owner = model.get_submodule(owner_name)
    if info.quantized and isinstance(owner, nn.Linear):
        model.set_submodule(owner_name, GGMLLinear(data, info.qtype, info.shape))
    elif info.quantized and isinstance(owner, nn.Embedding):
        model.set_submodule(owner_name, GGMLEmbedding(data, info.qtype, info.shape, dtype=dtype))
    else:
        value = dequantize(data, info.qtype, info.shape, dtype=torch.float32)
        if name.endswith("norm.weight"):
            value = value - 1.0  # llama.cpp stores Gemma norms as w + 1
        owner.weight = nn.Parameter(value.to(dtype), requires_grad=False)


def _open_checked(path: str | os.PathLike[str], text_config: Any) -> tuple[GGUFFile, dict[str, Any]]:
    """The opened file and its Gemma config, refused (metadata only, no tensor read) when it does not fit
    ``text_config`` (if given) or is shorter than its tensor infos say."""
    from ..loading.safetensors_io import CheckpointError

    file = open_gemma_gguf(path)
    config = gemma_gguf_config(file)
    if text_config is not None:
        check_gemma_fits(config, text_config, name=os.path.basename(file.path))
    try:
        file.check_data()
    except CheckpointError as exc:
        raise GemmaGGUFError(str(exc)) from None
    return file, config


def load_gemma_gguf(
    path: str | os.PathLike[str],
    *,
    dtype: torch.dtype = torch.bfloat16,
    device: torch.device | str = "cpu",
    should_abort: Callable[[], None] | None = None,
    text_config: Any = None,
) -> nn.Module:
    """Load the ``Gemma3TextModel`` of a llama.cpp ``gemma3`` GGUF file, quantised matrices kept quantised.

    Args:
        path: the ``.gguf`` file (not an ``mmproj`` vision file).
        dtype: compute dtype: activations, norms, plain (F32 / F16 / BF16) weights; quantised weights are
            de-quantised to the activation dtype per layer at each call.
        device: where the weights (GGML blocks included) are put.
        should_abort: called before each tensor is read; what it raises stops the load.
        text_config: the checkpoint projection's :class:`~ltx_model.text.TextConfig`, or None: when given, the
            file's Gemma must fit it (:func:`check_gemma_fits`, from the metadata, before any weight is read).
    Returns:
        the model in eval mode; :func:`~ltx_model.text.gemma.gemma_hidden_states` runs it.
    Raises:
        GemmaGGUFError: not a gemma3 GGUF, missing metadata / tensors, shapes that contradict the metadata, or a
            file shorter than its tensor infos say.
        ValueError: the Gemma does not fit ``text_config`` (message from :func:`check_gemma_fits`).
    """
    from transformers import Gemma3TextModel

    file, config = _open_checked(path, text_config)
    hf_config = gemma_text_config(config)
    hf_config._attn_implementation = "sdpa"
    with torch.device("meta"):
        model = Gemma3TextModel(hf_config)
    names = gemma_gguf_names(hf_config.num_hidden_layers)
    _check_tensors(file, model, names)
    device = torch.device(device)
    for name, key in names.items():
        if should_abort is not None:
            should_abort()
        _load_tensor(model, name, file, key, dtype=dtype, device=device)
    materialise_buffers(model, hf_config, device=device)
    return model.eval()


def is_gguf(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a ``.gguf`` file (by its suffix)."""
    return Path(path).suffix.lower() == ".gguf"


GEMMA3_SIZES = {(640, 18): "Gemma 3 270M", (1152, 26): "Gemma 3 1B", (2560, 34): "Gemma 3 4B",
                (3840, 48): "Gemma 3 12B", (5376, 62): "Gemma 3 27B"}
"""``{(hidden_size, num_hidden_layers): name}`` of the released Gemma 3 models (for error messages)."""


def check_gemma_fits(gemma_config: Mapping[str, Any], text_config: Any, *, name: str) -> None:
    """Raise ``ValueError`` unless a Gemma's hidden states fit the checkpoint's text projection.

    Args:
        gemma_config: the Gemma text config dict (``hidden_size``, ``num_hidden_layers``).
        text_config: the projection's :class:`~ltx_model.text.TextConfig` (``gemma_width`` x
            ``gemma_hidden_states`` input features; 3840 x 49 = Gemma 3 12B for LTX-2 / LTX-2.3).
        name: the Gemma file / folder named in the message.
    """
    hidden, layers = int(gemma_config["hidden_size"]), int(gemma_config["num_hidden_layers"])
    want_width, want_states = text_config.gemma_width, text_config.gemma_hidden_states
    if (hidden, layers + 1) == (want_width, want_states):
        return
    what = GEMMA3_SIZES.get((hidden, layers), "a Gemma")
    wanted = GEMMA3_SIZES.get((want_width, want_states - 1), "a different Gemma")
    raise ValueError(f"{name} is {what} ({layers} layers of width {hidden}: {layers + 1} x {hidden} features), but "
                     f"the checkpoint's text projection takes {want_states} x {want_width} ({wanted}); use "
                     f"{wanted}" + (" (e.g. gemma-3-12b-it)" if wanted == "Gemma 3 12B" else ""))
