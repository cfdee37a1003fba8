"""Parity of the transformer RoPE tables with ltx-core 1.0.0 ``precompute_freqs_cis`` at real widths.

Tolerance: exact equality (same float operations), checked for the real video (4096 wide, 32 heads, 3 axes),
audio and cross-modal (2048, 1 axis) tables, both layouts, both grid precisions, fp32 and bf16 positions.
"""

from __future__ import annotations

import pytest
import torch
from ltx_core.model.transformer.rope import (
    LTXRopeType,
    generate_freq_grid_np,
    generate_freq_grid_pytorch,
    precompute_freqs_cis,
)

from ltx_model.transformer import RopeSpec, RopeType, rope_table

pytestmark = pytest.mark.parity

SPECS = {
    "video": RopeSpec(dim=4096, heads=32, max_pos=(20, 2048, 2048)),
    "audio": RopeSpec(dim=2048, heads=32, max_pos=(20,)),
    "connector": RopeSpec(dim=3840, heads=30, max_pos=(4096,)),
}


def positions(spec: RopeSpec, dtype: torch.dtype) -> torch.Tensor:
    """Pipeline-like [start, end) bounds: time in seconds (1/24 s steps), space in 32-pixel cells."""
    tokens = 7
    scale = torch.tensor([1 / 24, 32.0, 32.0][: len(spec.max_pos)])[None, :, None]
    start = torch.arange(tokens, dtype=torch.float32)[None, None, :] * scale
    start = start + torch.rand(2, len(spec.max_pos), tokens) * scale
    return torch.stack([start, start + scale.expand_as(start)], dim=-1).to(dtype)


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("layout", list(RopeType))
@pytest.mark.parametrize("double", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_transformer_rope_table_parity(name: str, layout: RopeType, double: bool, dtype: torch.dtype) -> None:
    spec = RopeSpec(dim=SPECS[name].dim, heads=SPECS[name].heads, max_pos=SPECS[name].max_pos, layout=layout,
                    double_precision=double)
    pos = positions(spec, dtype)
    ours = rope_table(pos, spec, out_dtype=torch.float32)
    want_cos, want_sin = precompute_freqs_cis(
        pos, dim=spec.dim, out_dtype=torch.float32, theta=10000.0, max_pos=list(spec.max_pos),
        use_middle_indices_grid=True, num_attention_heads=spec.heads, rope_type=LTXRopeType(layout.value),
        freq_grid_generator=generate_freq_grid_np if double else generate_freq_grid_pytorch,
    )
    assert torch.equal(ours.cos, want_cos) and torch.equal(ours.sin, want_sin)
