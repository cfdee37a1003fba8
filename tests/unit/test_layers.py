"""Unit tests of ltx_model.layers: the CPU float32 inference paths agree with the plain torch.nn ops, and every other
case (autograd, bf16) runs the plain ops bit for bit; the whole transformer agrees with a torch.nn-built twin."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_transformer import inputs, tiny_model
from torch import nn

from ltx_model import layers
from ltx_model.transformer import LTXTransformer, TransformerConfig


def _linear_pair(bias: bool = True) -> tuple[layers.Linear, nn.Linear]:
    torch.manual_seed(0)
    ours = layers.Linear(48, 80, bias=bias)
    plain = nn.Linear(48, 80, bias=bias)
    plain.load_state_dict(ours.state_dict())
    return ours, plain


@pytest.mark.parametrize("bias", [True, False])
def test_layers_linear_cpu_inference_matches_nn(bias: bool) -> None:
    ours, plain = _linear_pair(bias)
    x = torch.randn(2, 7, 48)
    with torch.inference_mode():
        got, want = ours(x), plain(x)
    assert got.shape == (2, 7, 80)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6)


def test_layers_rms_norm_cpu_inference_matches_torch() -> None:
    x = torch.randn(3, 11, 64) * 5
    weight = torch.randn(64)
    with torch.no_grad():
        assert layers.cpu_fast_path(x)
        torch.testing.assert_close(layers.rms_norm(x, 1e-6), F.rms_norm(x, (64,), eps=1e-6), atol=1e-6, rtol=1e-6)
        got = layers.rms_norm(x, 1e-6, weight)
        torch.testing.assert_close(got, F.rms_norm(x, (64,), weight, 1e-6), atol=1e-6, rtol=1e-6)
        norm = layers.RMSNorm(64, eps=1e-6)
        norm.weight.copy_(weight)
        assert torch.equal(norm(x), got)
    tiny = torch.zeros(1, 2, 64)  # eps keeps an all-zero token finite
    with torch.no_grad():
        assert torch.equal(layers.rms_norm(tiny, 1e-6), tiny)


def test_layers_plain_ops_under_autograd_and_bf16() -> None:
    """With autograd recording, or in bf16, the outputs are bit-identical to torch.nn and gradients flow."""
    ours, plain = _linear_pair()
    x = torch.randn(2, 7, 48, requires_grad=True)
    assert not layers.cpu_fast_path(x)  # grad mode is on
    out = ours(x)
    assert torch.equal(out, plain(x))
    out.square().sum().backward()
    assert x.grad is not None and ours.weight.grad is not None
    norm = layers.RMSNorm(48, eps=1e-6)
    assert torch.equal(norm(x), F.rms_norm(x, (48,), norm.weight, 1e-6))
    bf16 = torch.randn(2, 7, 48).to(torch.bfloat16)
    with torch.no_grad():
        assert not layers.cpu_fast_path(bf16)
        assert torch.equal(ours.to(torch.bfloat16)(bf16), plain.to(torch.bfloat16)(bf16))
        assert torch.equal(layers.rms_norm(bf16, 1e-6), F.rms_norm(bf16, (48,), eps=1e-6))


@pytest.mark.parametrize("form", [TransformerConfig.tiny, TransformerConfig.tiny_22b])
def test_layers_transformer_fast_path_matches_torch_nn_build(form) -> None:  # noqa: ANN001
    """The library default (``layers``) and a ``torch.nn`` build of the same weights agree in float32 inference
    to rounding; under autograd the two are bit-identical (no fast path is taken)."""
    config = form()
    ours = tiny_model(config)
    plain = LTXTransformer(config, operations=nn).eval()
    plain.load_state_dict(ours.state_dict())
    assert any(isinstance(m, layers.Linear) for m in ours.modules())
    assert not any(isinstance(m, layers.Linear) for m in plain.modules())
    video, audio = inputs(config)
    with torch.inference_mode():
        fast, reference = ours(video, audio), plain(video, audio)
    for got, want in zip(fast, reference, strict=True):
        torch.testing.assert_close(got, want, atol=2e-5, rtol=1e-5)
    with torch.enable_grad():
        recorded, plain_recorded = ours(video, audio), plain(video, audio)
    for got, want in zip(recorded, plain_recorded, strict=True):
        assert torch.equal(got, want)


def test_layers_linear_gelu_fused_matches_plain_and_falls_back() -> None:
    """The fused oneDNN linear + bias + tanh-GELU (where this PyTorch has it) equals the plain two ops to float32
    rounding; under autograd, in bf16 or for a layer that is not ours, the plain ops run, bit for bit."""
    if torch.backends.mkldnn.is_available():  # x86 PyTorch wheels: the fused path must really be the one tested
        assert layers._onednn_linear_gelu_works()
    ours, plain = _linear_pair()
    x = torch.randn(3, 40, 48)
    want = F.gelu(plain(x), approximate="tanh")
    with torch.inference_mode():
        got = layers.linear_gelu_tanh(ours, x)
        assert torch.equal(layers.linear_gelu_tanh(plain, x), F.gelu(plain(x), approximate="tanh"))
    assert got.shape == (3, 40, 80)
    torch.testing.assert_close(got, want.detach(), atol=2e-5, rtol=1e-5)
    assert torch.equal(layers.linear_gelu_tanh(ours, x), want)  # grad mode on: plain ops
    with torch.no_grad():
        bf16 = x.to(torch.bfloat16)
        ours_bf16, plain_bf16 = ours.to(torch.bfloat16), plain.to(torch.bfloat16)
        assert torch.equal(layers.linear_gelu_tanh(ours_bf16, bf16), F.gelu(plain_bf16(bf16), approximate="tanh"))


def test_layers_norm_fresh_in_place_same_values() -> None:
    """q/k normalised in their own storage on the CPU fast path: the same values as the RMSNorm layer; any other
    norm module (e.g. a host's) is simply called."""
    norm = layers.RMSNorm(32, eps=1e-6)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(32))
        x = torch.randn(2, 9, 32)
        want = norm(x)
        fresh = x.clone()
        got = layers.norm_fresh(norm, fresh)
        assert got.data_ptr() == fresh.data_ptr() and torch.equal(got, want)
        plain = nn.RMSNorm(32, eps=1e-6)
        plain.weight.copy_(norm.weight)
        other = x.clone()
        assert torch.equal(layers.norm_fresh(plain, other), plain(x)) and torch.equal(other, x)
