"""GGML block formats (as stored in GGUF files) de-quantised with PyTorch ops, on any device.

Written from the GGML block layouts (``ggml-common.h`` / ``ggml-quants.c``); every formula uses the same float32
operations in the same order as the ``gguf`` package's numpy reference, so results are bit-identical to
``gguf.quants.dequantize`` (tested). A quantised tensor is stored as its raw bytes: ``(..., row_bytes)`` uint8 with
the logical last dimension ``row_bytes / type_size * block_size``.

==========  ==========  ==========  ===========================================================================
type        block size  bytes       layout of one block
==========  ==========  ==========  ===========================================================================
Q4_0        32          18          f16 d; 16 bytes: low nibbles = values 0-15, high = 16-31; v = (q - 8) * d
Q8_0        32          34          f16 d; 32 x int8 q; v = q * d
Q4_K        256         144         f16 d, f16 dmin; 12 bytes of 6-bit (scale, min) x 8; 128 bytes of nibbles;
                                    v = d * scale_j * q - dmin * min_j for sub-block j of 32
Q5_K        256         176         as Q4_K plus 32 bytes of high bits (bit j of byte i = 5th bit of value
                                    32 j + i)
Q6_K        256         210         128 bytes low nibbles, 64 bytes 2-bit highs, 16 x int8 scales, f16 d;
                                    v = d * scale_k * (q - 32) for sub-block k of 16
F32/F16/BF16 1          4/2/2       plain values
==========  ==========  ==========  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

import torch

QK_K = 256


class GGMLType(IntEnum):
    """GGML tensor type ids (the numbers stored in GGUF files) that this module reads."""

    F32 = 0
    F16 = 1
    Q4_0 = 2
    Q8_0 = 8
    Q4_K = 12
    Q5_K = 13
    Q6_K = 14
    BF16 = 30


BLOCK_SIZES: dict[GGMLType, tuple[int, int]] = {
    GGMLType.F32: (1, 4), GGMLType.F16: (1, 2), GGMLType.BF16: (1, 2),
    GGMLType.Q4_0: (32, 18), GGMLType.Q8_0: (32, 34),
    GGMLType.Q4_K: (QK_K, 144), GGMLType.Q5_K: (QK_K, 176), GGMLType.Q6_K: (QK_K, 210),
}
"""``{type: (values per block, bytes per block)}``."""
PLAIN_TYPES = {GGMLType.F32: torch.float32, GGMLType.F16: torch.float16, GGMLType.BF16: torch.bfloat16}


def quantized_nbytes(shape: tuple[int, ...] | torch.Size, qtype: GGMLType) -> int:
    """Bytes of a tensor of logical ``shape`` stored as ``qtype`` (the last dimension must fill whole blocks)."""
    block, size = BLOCK_SIZES[GGMLType(qtype)]
    if shape[-1] % block:
        raise ValueError(f"last dimension {shape[-1]} is not a multiple of the {GGMLType(qtype).name} block ({block})")
    rows = 1
    for s in shape[:-1]:
        rows *= int(s)
    return rows * shape[-1] // block * size


def _f16(blocks: torch.Tensor, start: int) -> torch.Tensor:
    """``(n, 1)`` float32 from the little-endian f16 at byte ``start`` of each block."""
    return blocks[:, start:start + 2].contiguous().view(torch.float16).to(torch.float32)


def _nibbles(qs: torch.Tensor, groups: int, width: int) -> torch.Tensor:
    """``(n, groups * width)`` bytes -> ``(n, 2 * groups, width)`` 4-bit values: per group, low then high nibbles."""
    shifts = torch.tensor([0, 4], dtype=torch.uint8, device=qs.device).view(1, 1, 2, 1)
    return ((qs.reshape(qs.shape[0], groups, 1, width) >> shifts) & 0x0F).reshape(qs.shape[0], 2 * groups, width)


def _q8_0(blocks: torch.Tensor) -> torch.Tensor:
    d = _f16(blocks, 0)
    return blocks[:, 2:].contiguous().view(torch.int8).to(torch.float32) * d


def _q4_0(blocks: torch.Tensor) -> torch.Tensor:
    d = _f16(blocks, 0)
    q = _nibbles(blocks[:, 2:], 1, 16).reshape(blocks.shape[0], 32).to(torch.int8) - 8
    return d * q.to(torch.float32)


def _k_scale_min(scales: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unpack the 12 bytes of 6-bit scales and mins of Q4_K / Q5_K -> two ``(n, 8)`` uint8."""
    s = scales.reshape(scales.shape[0], 3, 4)
    d, m, m_d = s[:, 0], s[:, 1], s[:, 2]
    sc = torch.cat([d & 0x3F, (m_d & 0x0F) | ((d >> 2) & 0x30)], dim=-1)
    mn = torch.cat([m & 0x3F, (m_d >> 4) | ((m >> 2) & 0x30)], dim=-1)
    return sc, mn


def _k_affine(blocks: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``d * scale_j * q - dmin * min_j`` for Q4_K / Q5_K; ``q``: ``(n, 8, 32)`` float32."""
    n = blocks.shape[0]
    sc, mn = _k_scale_min(blocks[:, 4:16])
    d = (_f16(blocks, 0) * sc.to(torch.float32)).reshape(n, 8, 1)
    dm = (_f16(blocks, 2) * mn.to(torch.float32)).reshape(n, 8, 1)
    return (d * q - dm).reshape(n, QK_K)


def _q4_k(blocks: torch.Tensor) -> torch.Tensor:
    return _k_affine(blocks, _nibbles(blocks[:, 16:], 4, 32).to(torch.float32))


def _q5_k(blocks: torch.Tensor) -> torch.Tensor:
    n = blocks.shape[0]
    qh, qs = blocks[:, 16:48], blocks[:, 48:]
    shifts = torch.arange(8, dtype=torch.uint8, device=blocks.device).view(1, 1, 8, 1)
    high = ((qh.reshape(n, 1, 1, 32) >> shifts) & 0x01).reshape(n, 8, 32)
    return _k_affine(blocks, (_nibbles(qs, 4, 32) | (high << 4)).to(torch.float32))


def _q6_k(blocks: torch.Tensor) -> torch.Tensor:
    n = blocks.shape[0]
    ql, qh, scales = blocks[:, :128], blocks[:, 128:192], blocks[:, 192:208]
    d = (_f16(blocks, 208) * scales.contiguous().view(torch.int8).to(torch.float32)).reshape(n, 16, 1)
    low = _nibbles(ql, 2, 64).reshape(n, 8, 32)
    shifts = torch.tensor([0, 2, 4, 6], dtype=torch.uint8, device=blocks.device).view(1, 1, 4, 1)
    high = ((qh.reshape(n, 2, 1, 32) >> shifts) & 0x03).reshape(n, 8, 32)
    q = ((low | (high << 4)).to(torch.int8) - 32).reshape(n, 16, 16).to(torch.float32)
    return (d * q).reshape(n, QK_K)


_BLOCK_DEQUANT: dict[GGMLType, Callable[[torch.Tensor], torch.Tensor]] = {
    GGMLType.Q4_0: _q4_0, GGMLType.Q8_0: _q8_0, GGMLType.Q4_K: _q4_k, GGMLType.Q5_K: _q5_k, GGMLType.Q6_K: _q6_k,
}


def dequantize(
    raw: torch.Tensor, qtype: GGMLType | int, shape: tuple[int, ...] | torch.Size, *, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """De-quantise GGML data to a ``shape`` tensor of ``dtype`` on ``raw``'s device.

    Args:
        raw: the stored bytes, uint8, any shape with ``numel == quantized_nbytes(shape, qtype)`` (a plain float
            tensor of ``shape`` is accepted for the F32 / F16 / BF16 types).
        qtype: the GGML type id.
        shape: logical shape (torch order, e.g. ``(out_features, in_features)``); blocks run along the last dim.
        dtype: output dtype (values are computed in float32 and cast once).
    """
    qtype = GGMLType(qtype)
    if qtype in PLAIN_TYPES:
        plain = raw if raw.dtype != torch.uint8 else raw.contiguous().view(PLAIN_TYPES[qtype])
        return plain.reshape(shape).to(dtype)
    expected = quantized_nbytes(shape, qtype)
    if raw.dtype != torch.uint8 or raw.numel() != expected:
        raise ValueError(f"{qtype.name} data for shape {tuple(shape)} must be {expected} uint8 bytes, "
                         f"got {raw.numel()} of {raw.dtype}")
    blocks = raw.reshape(-1, BLOCK_SIZES[qtype][1])
    return _BLOCK_DEQUANT[qtype](blocks).reshape(shape).to(dtype)


def quantize_q4_k(values: torch.Tensor) -> torch.Tensor:
    """Quantise ``values`` ``(..., K)`` (K a multiple of 256) to Q4_K blocks on its own device, in PyTorch.

    A plain min/max fit (not llama.cpp's iterative search, so its error is somewhat larger; the layout is exact):
    per sub-block j of 32, ``scale_j = (max - min(min, 0)) / 15`` and ``min_j = -min(min, 0)``; the block's ``d`` /
    ``dmin`` are the largest of these over 63; scales, mins and values are rounded to 6 and 4 bits.
    Returns uint8 ``(rows, K / 256 * 144)`` that :func:`dequantize` (and ``gguf.quants.dequantize``) read back.
    """
    shape = values.shape
    if shape[-1] % QK_K:
        raise ValueError(f"last dimension {shape[-1]} is not a multiple of the Q4_K block ({QK_K})")
    x = values.detach().reshape(-1, 8, 32).to(torch.float32)  # (n blocks, 8 sub-blocks, 32)
    low = x.amin(dim=-1).clamp(max=0.0)  # (n, 8)
    scale, minimum = (x.amax(dim=-1) - low) / 15.0, -low
    d = (scale.amax(dim=-1, keepdim=True) / 63.0).to(torch.float16)  # (n, 1)
    dmin = (minimum.amax(dim=-1, keepdim=True) / 63.0).to(torch.float16)
    sc = _round_6bit(scale, d)
    mn = _round_6bit(minimum, dmin)
    step = (d.float() * sc.float()).unsqueeze(-1)  # (n, 8, 1), what dequantize multiplies by
    offset = (dmin.float() * mn.float()).unsqueeze(-1)
    q = torch.where(step > 0, torch.round((x + offset) / step.clamp(min=1e-30)), 0.0).clamp(0, 15).to(torch.uint8)
    packed = torch.cat([sc[:, :4] | ((sc[:, 4:] >> 4) << 6), mn[:, :4] | ((mn[:, 4:] >> 4) << 6),
                        (sc[:, 4:] & 0x0F) | ((mn[:, 4:] & 0x0F) << 4)], dim=-1)  # (n, 12)
    pairs = q.reshape(-1, 4, 2, 32)  # sub-blocks (2g, 2g+1) share 32 bytes: low and high nibbles
    nibbles = (pairs[:, :, 0] | (pairs[:, :, 1] << 4)).reshape(-1, 128)
    raw = torch.cat([d.view(torch.uint8), dmin.view(torch.uint8), packed, nibbles], dim=-1)  # (n, 144)
    rows = 1
    for s in shape[:-1]:
        rows *= int(s)
    return raw.reshape(rows, -1)


def _round_6bit(value: torch.Tensor, unit: torch.Tensor) -> torch.Tensor:
    """``round(value / unit)`` in ``[0, 63]`` as uint8 (0 where the unit is 0)."""
    unit = unit.float()
    return torch.where(unit > 0, torch.round(value / unit.clamp(min=1e-30)), 0.0).clamp(0, 63).to(torch.uint8)
