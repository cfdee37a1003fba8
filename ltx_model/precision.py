"""Which transformer parameters may be stored in a low-precision weight dtype (fp8) and which stay high precision.

One table for every loader (ComfyUI's ``weight_dtype`` option, bf16 -> fp8 casting on load, scripts): only the
large matrices of the transformer blocks are fp8-eligible — the attention projections (``to_q``, ``to_k``,
``to_v``, ``to_out.0``) and the feed-forward matrices (``ff.net.0.proj``, ``ff.net.2``) of both streams and of the
cross-modal attentions, the same set ltx-core's ``fp8-cast`` downcasts (``quantization/fp8_cast.py``). They hold
about 99 % of the transformer's parameters. Everything else keeps the compute dtype (or the file's float dtype):

==========================================  =============================================================
parameters (module keys, no file prefix)     why they stay high precision
==========================================  =============================================================
``*scale_shift_table*``                      AdaLN modulation tables, added to the timestep embedding
``*norm*`` (``q_norm``, ``k_norm``)          RMSNorm scales (tiny; errors scale every activation)
``*adaln_single*``                           timestep embeddings and AdaLN projections
``patchify_proj``, ``audio_patchify_proj``    input embeddings of the latents
``proj_out``, ``audio_proj_out``              output projections to velocity
``caption_projection``, connectors,          text path (run once per sampling)
``learnable_registers``
``to_gate_logits``                           per-head attention gates (small, 22B only)
biases                                       tiny; kept exact (ltx-core downcasts them too; we do not)
==========================================  =============================================================

Pure PyTorch: no host imports. Keys are the module state-dict names (``LTXTransformer`` / ``HostTransformer``).
"""

from __future__ import annotations

import re

import torch

FP8_DTYPES: tuple[torch.dtype, ...] = (torch.float8_e4m3fn, torch.float8_e5m2)

_FP8_ELIGIBLE = re.compile(
    r"^transformer_blocks\.\d+\.[a-z_0-9]+\.(to_q|to_k|to_v|to_out\.0|net\.0\.proj|net\.2)\.weight$"
)
"""Block-level attention / feed-forward matrices (``attn1``, ``audio_ff``, ``audio_to_video_attn``, ...)."""

HIGH_PRECISION_MARKERS: tuple[str, ...] = (
    "scale_shift_table", "norm", "adaln_single", "patchify_proj", "proj_out", "caption_projection",
    "embeddings_connector", "learnable_registers", "to_gate_logits",
)
"""Substrings of the keys that never leave high precision (a safety net on top of :data:`_FP8_ELIGIBLE`)."""


def fp8_eligible(key: str) -> bool:
    """Whether transformer parameter ``key`` (module state-dict name) may be stored in fp8."""
    return bool(_FP8_ELIGIBLE.match(key)) and not any(m in key for m in HIGH_PRECISION_MARKERS)


def storage_dtype(key: str, weight_dtype: torch.dtype, compute_dtype: torch.dtype) -> torch.dtype:
    """The dtype parameter ``key`` is stored in when the model's weight dtype is ``weight_dtype``.

    Args:
        key: module state-dict name.
        weight_dtype: the requested weight storage dtype (fp8, bf16, fp32...).
        compute_dtype: the dtype activations are computed in (used for the high-precision parameters when
            ``weight_dtype`` is an fp8 dtype).
    """
    if weight_dtype in FP8_DTYPES and not fp8_eligible(key):
        return compute_dtype
    return weight_dtype


def to_storage(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Cast ``tensor`` to storage dtype ``dtype``; fp8 targets are saturated to the format's finite range first
    (a plain cast turns out-of-range values into NaN for ``float8_e4m3fn``)."""
    if tensor.dtype == dtype:
        return tensor
    if dtype in FP8_DTYPES and tensor.dtype not in FP8_DTYPES:
        limit = torch.finfo(dtype).max
        return tensor.clamp(-limit, limit).to(dtype)
    return tensor.to(dtype)


def fp8_fraction(named: dict[str, torch.Size] | list[tuple[str, torch.Size]]) -> float:
    """Fraction of elements that are fp8-eligible among ``{key: shape}`` (for memory estimates)."""
    items = named.items() if isinstance(named, dict) else named
    total = eligible = 0
    for key, shape in items:
        n = 1
        for s in shape:
            n *= int(s)
        total += n
        eligible += n if fp8_eligible(key) else 0
    return eligible / total if total else 0.0
