"""LoRA fusion parity against ltx-core 1.0.0 ``apply_loras`` (bf16 weights, two LoRAs): bit-exact (atol 0)."""

from __future__ import annotations

import pytest
import torch
from ltx_core.loader.fuse_loras import apply_loras
from ltx_core.loader.primitives import LoraStateDictWithStrength, StateDict

from ltx_model.lora import fuse_loras, lora_from_state_dict

pytestmark = pytest.mark.parity


def _sd(tensors: dict[str, torch.Tensor]) -> StateDict:
    return StateDict(tensors, torch.device("cpu"), 0, {torch.bfloat16})


def test_lora_fusion_matches_ltx_core_bf16() -> None:
    g = torch.Generator().manual_seed(0)
    modules = {"transformer_blocks.0.attn1.to_q": (32, 16), "transformer_blocks.0.ff.net.2": (16, 48)}
    model = {f"{m}.weight": torch.randn(o, i, generator=g).to(torch.bfloat16) for m, (o, i) in modules.items()}
    model["transformer_blocks.0.attn1.to_q.bias"] = torch.randn(32, generator=g).to(torch.bfloat16)
    loras = []
    for rank, strength in ((4, 0.8), (8, -0.3)):
        tensors = {}
        for m, (o, i) in modules.items():
            tensors[f"{m}.lora_A.weight"] = torch.randn(rank, i, generator=g).to(torch.bfloat16)
            tensors[f"{m}.lora_B.weight"] = torch.randn(o, rank, generator=g).to(torch.bfloat16)
        loras.append((tensors, strength))
    reference = apply_loras(
        _sd(model), [LoraStateDictWithStrength(_sd(t), s) for t, s in loras], dtype=torch.bfloat16
    ).sd
    ours, _ = fuse_loras(model, [(lora_from_state_dict(t), s) for t, s in loras])
    for key, value in ours.items():
        assert value.dtype == reference[key].dtype
        torch.testing.assert_close(value, reference[key], atol=0, rtol=0)
