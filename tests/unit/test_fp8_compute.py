"""fp8 compute of the standalone library (``ltx_model.quant.fp8``): per-tensor e4m3 quantisation, the two paths
(``torch._scaled_mm`` / its float32 emulation) and their dispatch, and a tiny transformer with fp8 block matrices
against its full-precision twin.

Tolerances (e4m3 has 3 mantissa bits: relative rounding error <= 2^-4 per value): per value <= 1/16 of its
magnitude (+ half the smallest subnormal step); a product of two independently rounded operands, relative L2
<= 0.05 (measured 0.027); the whole tiny transformer (velocity), relative L2 <= 0.05 (measured 0.019 / 0.012).
PyTorch 2.11 runs ``torch._scaled_mm`` on the CPU too, so both paths are compared here: with a float32 output they
agree to float32 rounding (the same quantised operands, the same float32 accumulation).
"""

from __future__ import annotations

import pytest
import torch

from ltx_model.precision import fp8_eligible
from ltx_model.quant.fp8 import (
    E4M3,
    E4M3_MAX,
    Fp8Linear,
    Fp8Path,
    dequantize_fp8,
    fp8_linear,
    fp8_path,
    quantize_fp8,
    quantize_linears,
    relative_error,
)
from ltx_model.transformer import LTXTransformer, Modality, TransformerConfig


def randn(*shape: int, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def test_fp8_quantize_uses_the_full_range_and_rounds_within_e4m3_precision():
    x = randn(64, 96, scale=0.05)
    q, scale = quantize_fp8(x)
    assert q.dtype == E4M3 and scale.dtype == torch.float32 and scale.ndim == 0
    assert torch.equal(scale, x.abs().max() / E4M3_MAX)
    assert q.float().abs().max().item() == E4M3_MAX  # the largest value lands on the top of the range
    back = dequantize_fp8(q, scale)
    subnormal_step = 2.0**-9 * scale.item()
    assert ((back - x).abs() <= x.abs() / 16 + subnormal_step / 2 + 1e-12).all()
    # a static scale saturates instead of overflowing to NaN
    q_small, _ = quantize_fp8(x, torch.tensor(x.abs().max().item() / 1000.0))
    assert not q_small.float().isnan().any() and q_small.float().abs().max().item() == E4M3_MAX


def test_fp8_quantize_of_zeros_is_finite():
    q, scale = quantize_fp8(torch.zeros(4, 16))
    assert scale.item() > 0 and torch.equal(q.float(), torch.zeros(4, 16))


@pytest.mark.parametrize("path", list(Fp8Path))
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fp8_linear_matches_the_upcast_reference_at_fp8_tolerance(path, dtype):
    x, weight, bias = randn(2, 7, 64, seed=1).to(dtype), randn(48, 64, seed=2, scale=0.1), randn(48, seed=3)
    reference = torch.nn.functional.linear(x.float(), weight, bias)
    q_w, s_w = quantize_fp8(weight)
    out = fp8_linear(x, q_w, s_w, bias.to(dtype), path=path)
    assert out.shape == (2, 7, 48) and out.dtype == dtype
    assert relative_error(out, reference) <= 0.05


def test_fp8_scaled_mm_and_emulated_paths_are_the_same_math():
    """float32 output: the two paths multiply the same e4m3 operands with the same scales, accumulate in float32."""
    x, weight, bias = randn(16, 64, seed=4), randn(32, 64, seed=5, scale=0.2), randn(32, seed=6)
    q_w, s_w = quantize_fp8(weight)
    input_scale = torch.tensor(0.01)
    emulated = fp8_linear(x, q_w, s_w, bias, input_scale=input_scale, path=Fp8Path.EMULATED)
    fast = fp8_linear(x, q_w, s_w, bias, input_scale=input_scale, path=Fp8Path.SCALED_MM)
    explicit = dequantize_fp8(*quantize_fp8(x, input_scale)) @ dequantize_fp8(q_w, s_w).t() + bias
    assert torch.allclose(emulated, explicit, rtol=1e-6, atol=1e-6)
    assert torch.allclose(fast, emulated, rtol=1e-5, atol=1e-5)
    # the static input scale is really used: another one gives another (saturated) result
    assert not torch.allclose(fp8_linear(x, q_w, s_w, bias, input_scale=torch.tensor(1e-4),
                                         path=Fp8Path.EMULATED), emulated, atol=1e-3)


def test_fp8_path_dispatch(monkeypatch):
    assert fp8_path("cpu") is Fp8Path.EMULATED
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for capability, expected in (((8, 0), Fp8Path.EMULATED), ((8, 6), Fp8Path.EMULATED),
                                 ((8, 9), Fp8Path.SCALED_MM), ((9, 0), Fp8Path.SCALED_MM),
                                 ((12, 0), Fp8Path.SCALED_MM)):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None, c=capability: c)
        assert fp8_path("cuda:0") is expected, capability
    calls = []
    monkeypatch.setattr(torch, "_scaled_mm", lambda *a, **k: calls.append(k) or torch.zeros(a[0].shape[0], 8))
    layer = Fp8Linear.from_linear(torch.nn.Linear(16, 8))
    layer(torch.ones(3, 16))  # CPU input: emulated, the fp8 kernel is not called
    assert calls == []
    layer.path = Fp8Path.SCALED_MM
    layer(torch.ones(3, 16))
    assert len(calls) == 1 and calls[0]["out_dtype"] == torch.float32


def test_fp8_linear_state_dict_uses_the_official_side_tensor_names():
    layer = Fp8Linear.from_linear(torch.nn.Linear(16, 8), input_scale=torch.tensor(0.5))
    state = layer.state_dict()
    assert set(state) == {"weight", "weight_scale", "bias", "input_scale"}
    assert state["weight"].dtype == E4M3 and state["weight_scale"].shape == ()


def tiny_22b(seed: int = 0) -> LTXTransformer:
    model = LTXTransformer(TransformerConfig.tiny_22b())
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            scale = 0.8 / param[0].numel() ** 0.5 if param.ndim >= 2 and "table" not in name else 0.2
            param.copy_(scale * torch.randn(param.shape, generator=gen))
    return model.eval()


def test_fp8_quantize_linears_follows_the_precision_table_and_keeps_the_output():
    model, reference_model = tiny_22b(), tiny_22b()
    replaced = quantize_linears(model)
    assert replaced and all(fp8_eligible(f"{name}.weight") for name in replaced)
    kept = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    assert kept and not any(fp8_eligible(f"{name}.weight") for name in kept)  # adaln, patchify, proj_out, gates
    assert model.transformer_blocks[0].attn1.to_q.weight.dtype == E4M3
    gen = torch.Generator().manual_seed(7)
    cfg = model.config

    def modality(tokens: int, channels: int, axes: int, width: int) -> Modality:
        start = torch.rand(1, axes, tokens, generator=gen).cumsum(2)
        return Modality(latent=torch.randn(1, tokens, channels, generator=gen), sigma=torch.full((1,), 0.7),
                        timesteps=torch.full((1, 1), 0.7), positions=torch.stack([start, start + 1], dim=-1),
                        context=torch.randn(1, 4, width, generator=gen))

    video = modality(12, cfg.in_channels, 3, cfg.video_inner_dim)
    audio = modality(5, cfg.audio_in_channels, 1, cfg.audio_inner_dim)
    with torch.no_grad():
        got, want = model(video, audio), reference_model(video, audio)
    for g, w in zip(got, want, strict=True):
        assert 0 < relative_error(g, w) <= 0.05
