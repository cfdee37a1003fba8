"""GGML block de-quantisation (ltx_model.quant.ggml) against the gguf package's numpy reference: bit-exact."""

from __future__ import annotations

import gguf
import numpy as np
import pytest
import torch

from ltx_model.loading.gguf import synthetic_blocks
from ltx_model.quant import GGMLType, dequantize, quantized_nbytes
from ltx_model.quant.ggml import BLOCK_SIZES


def random_blocks(qtype: GGMLType, rows: int, blocks_per_row: int, seed: int) -> np.ndarray:
    """Random raw bytes ``(rows, row_bytes)`` of ``qtype`` with finite f16 scales (every bit pattern elsewhere)."""
    shape = (rows, blocks_per_row * BLOCK_SIZES[qtype][0])
    return synthetic_blocks(qtype, shape, scale=0.05, generator=torch.Generator().manual_seed(seed)).numpy()


@pytest.mark.parametrize("qtype", [GGMLType.Q4_0, GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K])
def test_gguf_dequant_random_blocks_bit_exact(qtype):
    raw = random_blocks(qtype, rows=6, blocks_per_row=3, seed=int(qtype))
    block = BLOCK_SIZES[qtype][0]
    reference = gguf.quants.dequantize(raw, gguf.GGMLQuantizationType(int(qtype)))
    ours = dequantize(torch.from_numpy(raw), qtype, (6, 3 * block))
    assert reference.shape == (6, 3 * block) and ours.dtype == torch.float32
    assert torch.equal(ours, torch.from_numpy(np.ascontiguousarray(reference)))


@pytest.mark.parametrize("qtype", [GGMLType.Q4_0, GGMLType.Q8_0])
def test_gguf_dequant_of_quantized_values_bit_exact_and_close(qtype):
    rng = np.random.default_rng(7)
    values = rng.standard_normal((4, 64)).astype(np.float32)
    raw = gguf.quants.quantize(values, gguf.GGMLQuantizationType(int(qtype)))
    ours = dequantize(torch.from_numpy(raw), qtype, (4, 64))
    reference = gguf.quants.dequantize(raw, gguf.GGMLQuantizationType(int(qtype)))
    assert torch.equal(ours, torch.from_numpy(np.ascontiguousarray(reference)))
    tolerance = 0.02 if qtype is GGMLType.Q8_0 else 0.35  # max error of 8-bit / 4-bit blocks of N(0, 1) values
    assert (ours - torch.from_numpy(values)).abs().max() < tolerance


@pytest.mark.parametrize("qtype", [GGMLType.F32, GGMLType.F16, GGMLType.BF16])
def test_gguf_dequant_plain_types_passthrough(qtype):
    values = torch.randn(3, 5, generator=torch.Generator().manual_seed(0))
    stored = values.to({GGMLType.F32: torch.float32, GGMLType.F16: torch.float16, GGMLType.BF16: torch.bfloat16}[qtype])
    raw = stored.contiguous().view(torch.uint8)
    assert torch.equal(dequantize(raw, qtype, (3, 5)), stored.float())
    assert dequantize(stored, qtype, (3, 5), dtype=torch.bfloat16).dtype == torch.bfloat16


def test_gguf_dequant_output_dtype_and_size_checks():
    raw = torch.from_numpy(random_blocks(GGMLType.Q8_0, rows=2, blocks_per_row=1, seed=1))
    full = dequantize(raw, GGMLType.Q8_0, (2, 32))
    assert torch.equal(dequantize(raw, GGMLType.Q8_0, (2, 32), dtype=torch.bfloat16), full.to(torch.bfloat16))
    assert quantized_nbytes((2, 32), GGMLType.Q8_0) == raw.numel() == 68
    with pytest.raises(ValueError, match="must be 136 uint8 bytes"):
        dequantize(raw, GGMLType.Q8_0, (2, 64))
    with pytest.raises(ValueError, match="multiple of the Q4_K block"):
        quantized_nbytes((2, 100), GGMLType.Q4_K)
