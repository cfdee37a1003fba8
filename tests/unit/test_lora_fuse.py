"""LoRA reading and fusion: W + s * B @ A, key normalisation, IC-LoRA metadata, family mismatch errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from ltx_model.loading.safetensors_io import CheckpointError, write_safetensors
from ltx_model.lora import (
    LoraMismatchError,
    fuse_loras,
    fuse_loras_into_module,
    lora_from_state_dict,
    open_lora,
)

Q = "transformer_blocks.0.attn1.to_q"
K = "transformer_blocks.0.attn1.to_k"


def _pair(out: int, inp: int, rank: int, seed: int, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rank, inp, generator=g).to(dtype), torch.randn(out, rank, generator=g).to(dtype)


def test_lora_fuse_equals_w_plus_s_b_a_fp32() -> None:
    a, b = _pair(6, 5, 2, seed=1)
    weights = {f"{Q}.weight": torch.randn(6, 5), f"{Q}.bias": torch.randn(6), f"{K}.weight": torch.randn(6, 5)}
    lora = lora_from_state_dict({f"diffusion_model.{Q}.lora_A.weight": a, f"diffusion_model.{Q}.lora_B.weight": b})
    fused, report = fuse_loras(weights, [(lora, 0.7)])
    assert report.fused == (f"{Q}.weight",) and report.unmatched == ()
    torch.testing.assert_close(fused[f"{Q}.weight"], weights[f"{Q}.weight"] + 0.7 * (b @ a), atol=1e-6, rtol=1e-6)
    assert set(fused) == {f"{Q}.weight"}  # bias and untouched weights are not returned / adapted


def test_lora_two_loras_sum_and_bf16_order_matches_reference_formula() -> None:
    a1, b1 = _pair(8, 4, 2, seed=2, dtype=torch.bfloat16)
    a2, b2 = _pair(8, 4, 3, seed=3, dtype=torch.bfloat16)
    weight = torch.randn(8, 4).to(torch.bfloat16)
    one = lora_from_state_dict({f"{Q}.lora_A.weight": a1, f"{Q}.lora_B.weight": b1})
    two = lora_from_state_dict({f"base_model.model.{Q}.lora_down.weight": a2, f"{Q}.lora_up.weight": b2})
    fused, _ = fuse_loras({f"{Q}.weight": weight}, [(one, 0.5), (two, -1.25)])
    # ltx-core order: per-LoRA (B * s) @ A in bf16, stacked sum, then + W, all in bf16
    deltas = torch.stack([torch.matmul(b1 * 0.5, a1), torch.matmul(b2 * -1.25, a2)]).sum(0)
    assert fused[f"{Q}.weight"].dtype == torch.bfloat16
    assert torch.equal(fused[f"{Q}.weight"], deltas + weight)


def test_lora_alpha_scales_by_alpha_over_rank() -> None:
    a, b = _pair(3, 3, 4, seed=4)
    lora = lora_from_state_dict({f"{Q}.lora_A.weight": a, f"{Q}.lora_B.weight": b, f"{Q}.alpha": torch.tensor(2.0)})
    fused, _ = fuse_loras({f"{Q}.weight": torch.zeros(3, 3)}, [(lora, 1.0)])
    torch.testing.assert_close(fused[f"{Q}.weight"], 0.5 * (b @ a))


def test_lora_fuse_into_module_in_place_and_fp8() -> None:
    module = nn.Sequential()
    module.add_module("to_q", nn.Linear(5, 6))
    original = module.to_q.weight.detach().clone()
    a, b = _pair(6, 5, 2, seed=5)
    lora = lora_from_state_dict({"to_q.lora_A.weight": a, "to_q.lora_B.weight": b})
    report = fuse_loras_into_module(module, [(lora, 2.0)])
    assert report.fused == ("to_q.weight",)
    torch.testing.assert_close(module.to_q.weight.detach(), original + 2.0 * (b @ a))
    fp8 = {"to_q.weight": original.to(torch.float8_e4m3fn)}
    fused, _ = fuse_loras(fp8, [(lora, 1.0)])
    expected = ((b @ a).to(torch.bfloat16) + fp8["to_q.weight"].to(torch.bfloat16)).to(torch.float8_e4m3fn)
    assert fused["to_q.weight"].dtype == torch.float8_e4m3fn
    assert torch.equal(fused["to_q.weight"].view(torch.uint8), expected.view(torch.uint8))


def test_lora_of_another_family_is_a_clear_error() -> None:
    a, b = _pair(2048, 2048, 2, seed=6)
    lora = lora_from_state_dict({f"{Q}.lora_A.weight": a, f"{Q}.lora_B.weight": b})
    weights = {f"{Q}.weight": torch.zeros(4096, 4096)}
    with pytest.raises(LoraMismatchError, match=r"another family.*gives \[2048, 2048\] for weight \[4096, 4096\]"):
        fuse_loras(weights, [(lora, 1.0)])
    stranger = lora_from_state_dict(
        {"caption_projection.linear_1.lora_A.weight": a, "caption_projection.linear_1.lora_B.weight": b}
    )
    with pytest.raises(LoraMismatchError, match="matches none"):
        fuse_loras(weights, [(stranger, 1.0)])


def test_lora_file_reading_with_metadata(tmp_path: Path) -> None:
    a, b = _pair(6, 5, 2, seed=7, dtype=torch.bfloat16)
    path = tmp_path / "ic.safetensors"
    write_safetensors(
        path,
        {f"diffusion_model.{Q}.lora_A.weight": a, f"diffusion_model.{Q}.lora_B.weight": b},
        metadata={"reference_downscale_factor": "2", "model_version": "2.3.0"},
    )
    with open_lora(path) as lora:
        assert lora.reference_downscale_factor == 2 and list(lora.layers) == [Q]
        fused, _ = fuse_loras({f"{Q}.weight": torch.zeros(6, 5, dtype=torch.bfloat16)}, [(lora, 1.0)])
    assert torch.equal(fused[f"{Q}.weight"], torch.matmul(b * 1.0, a))
    write_safetensors(path, {f"diffusion_model.{Q}.lora_A.weight": a})
    with pytest.raises(CheckpointError, match="without both A and B"):
        open_lora(path)
    write_safetensors(
        path, {f"{Q}.lora_A.weight": a, f"{Q}.lora_B.weight": b}, metadata={"reference_downscale_factor": "x"}
    )
    with pytest.raises(CheckpointError, match="not an integer"):
        open_lora(path)
