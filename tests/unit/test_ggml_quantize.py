"""The in-memory Q4_K quantiser and the GGML linear layer (``ltx_model.quant``), used by the GPU check's GGUF
Q4_K_M emulation: the blocks it writes are valid Q4_K (the ``gguf`` package reads them back to exactly what our
de-quantiser gives), the round trip is within the format's step, and a model whose block matrices are replaced
computes with the de-quantised weights.
"""

from __future__ import annotations

import gguf
import numpy as np
import pytest
import torch

from ltx_model.quant import GGMLBlockLinear, GGMLType, dequantize, q4_k_or, quantize_linears_ggml, quantize_q4_k
from ltx_model.quant.ggml import quantized_nbytes


@pytest.mark.parametrize("scale", [0.02, 3.0])
def test_ggml_q4_k_quantiser_writes_blocks_gguf_reads_identically(scale):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(48, 512, generator=gen) * scale
    x[0] = 0.0  # an all-zero block (d = dmin = 0) must not produce NaN
    x[1] = torch.rand(512, generator=gen) * scale  # all positive: min 0
    raw = quantize_q4_k(x)
    assert raw.dtype == torch.uint8 and raw.numel() == quantized_nbytes(x.shape, GGMLType.Q4_K)
    ours = dequantize(raw, GGMLType.Q4_K, x.shape)
    theirs = gguf.quants.dequantize(raw.numpy(), gguf.GGMLQuantizationType.Q4_K).reshape(x.shape)
    assert np.array_equal(ours.numpy(), theirs)
    assert torch.isfinite(ours).all() and torch.equal(ours[0], torch.zeros(512))
    sub = x.reshape(-1, 32)
    step = (sub.amax(1) - sub.amin(1).clamp(max=0)) / 15  # the ideal 4-bit step of each 32-value sub-block
    # rounding to 4 bits (half a step) plus 6-bit scales and f16 block scales (a few % of a step)
    assert ((ours - x).abs().reshape(-1, 32) <= 0.75 * step[:, None] + 1e-7).all()
    assert torch.linalg.vector_norm(ours - x) / torch.linalg.vector_norm(x) < 0.12


def test_ggml_q4_k_refuses_widths_that_are_not_whole_blocks():
    with pytest.raises(ValueError, match="multiple of the Q4_K block"):
        quantize_q4_k(torch.zeros(4, 200))
    with pytest.raises(ValueError, match="no fallback"):
        q4_k_or()(torch.zeros(4, 64))


def test_ggml_linears_replace_block_matrices_and_compute_with_dequantised_weights():
    gen = torch.Generator().manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(256, 64), torch.nn.Linear(64, 32, bias=False))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    dense = [layer.weight.detach().clone() for layer in model]

    def q8_0(weight):
        from ltx_model.loading.gguf import quantize_tensor

        return quantize_tensor(weight, GGMLType.Q8_0), GGMLType.Q8_0

    types = quantize_linears_ggml(model, q4_k_or(q8_0), eligible=lambda name: name.endswith(".weight"))
    assert types == {"0": GGMLType.Q4_K, "1": GGMLType.Q8_0}
    assert all(isinstance(layer, GGMLBlockLinear) for layer in model)
    x = torch.randn(3, 256, generator=gen)
    w0 = dequantize(model[0].weight, GGMLType.Q4_K, (64, 256))
    w1 = dequantize(model[1].weight, GGMLType.Q8_0, (32, 64))
    expected = torch.nn.functional.linear(torch.nn.functional.linear(x, w0, model[0].bias), w1)
    assert torch.equal(model(x), expected)
    assert (w0 - dense[0]).abs().max() < 0.05 and (w1 - dense[1]).abs().max() < 0.01
