"""Parity of the Gemma feature extractors (V1 19B, V2 22B) against ltx-core 1.0.0, fp32, tiny random weights.

Tolerance: atol 1e-5 / rtol 1e-5 (fp32; same weights copied into both implementations).
"""

from __future__ import annotations

import pytest
import torch
from ltx_core.text_encoders.gemma.feature_extractor import FeatureExtractorV1, FeatureExtractorV2

from ltx_model.text import ConnectorLayout, ExtractorKind, TextConfig, TextProjection

pytestmark = pytest.mark.parity

ATOL = RTOL = 1e-5
SEQ = 16


def _left_padded_mask(valid_counts: list[int], seq: int = SEQ) -> torch.Tensor:
    """(B, seq) int64 mask with the last ``n`` positions valid per row."""
    mask = torch.zeros(len(valid_counts), seq, dtype=torch.int64)
    for row, n in enumerate(valid_counts):
        mask[row, seq - n :] = 1
    return mask


def _hidden_states(cfg: TextConfig, batch: int) -> tuple[torch.Tensor, ...]:
    """L random hidden states (B, SEQ, D_g) with layer-dependent scale, like a residual stream."""
    return tuple(torch.randn(batch, SEQ, cfg.gemma_width) * (1 + 3 * i) for i in range(cfg.gemma_hidden_states))


def _reference_extractor(ours: TextProjection) -> torch.nn.Module:
    cfg = ours.config
    if cfg.extractor is ExtractorKind.V1:
        ref = FeatureExtractorV1(torch.nn.Linear(cfg.feature_dim, cfg.gemma_width, bias=False), is_av=True)
    else:
        ref = FeatureExtractorV2(
            torch.nn.Linear(cfg.feature_dim, cfg.video.width),
            embedding_dim=cfg.gemma_width,
            audio_aggregate_embed=torch.nn.Linear(cfg.feature_dim, cfg.audio.width),
        )
    ref.load_state_dict(ours.state_dict(), strict=True)
    return ref


@pytest.mark.parametrize("extractor", [ExtractorKind.V1, ExtractorKind.V2])
@pytest.mark.parametrize("valid_counts", [[5], [SEQ], [1], [3, 11]])
def test_text_projection_matches_ltx_core(extractor: ExtractorKind, valid_counts: list[int]) -> None:
    cfg = TextConfig.tiny(extractor)
    ours = TextProjection(cfg).eval()
    ref = _reference_extractor(ours).eval()
    hidden = _hidden_states(cfg, len(valid_counts))
    mask = _left_padded_mask(valid_counts)
    with torch.no_grad():
        ours_v, ours_a = ours(hidden, mask)
        ref_v, ref_a = ref(hidden, mask, "left")
    assert ours_v.shape == (len(valid_counts), SEQ, cfg.video.width)
    torch.testing.assert_close(ours_v, ref_v, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(ours_a, ref_a, atol=ATOL, rtol=RTOL)
    # padded tokens carry only the bias (V2) or zero (V1)
    pad = mask == 0
    if pad.any() and extractor is ExtractorKind.V1:
        assert torch.count_nonzero(ours_v[pad]) == 0


def test_text_projection_v1_bf16_dtype_promotion_matches_ltx_core() -> None:
    """In bf16 the V1 mean is computed in float32 by type promotion; ours must follow bit for bit."""
    cfg = TextConfig.tiny(ExtractorKind.V1)
    ours = TextProjection(cfg, dtype=torch.bfloat16).eval()
    ref = _reference_extractor(ours).to(torch.bfloat16).eval()
    hidden = tuple(h.to(torch.bfloat16) for h in _hidden_states(cfg, 2))
    mask = _left_padded_mask([7, 13])
    with torch.no_grad():
        ours_v, _ = ours(hidden, mask)
        ref_v, _ = ref(hidden, mask, "left")
    assert ours_v.dtype == torch.bfloat16
    torch.testing.assert_close(ours_v, ref_v, atol=0, rtol=0)


def test_text_projection_v2_video_only_matches_ltx_core() -> None:
    cfg = TextConfig.tiny(ExtractorKind.V2, layout=ConnectorLayout.VIDEO_ONLY)
    ours = TextProjection(cfg).eval()
    assert sorted(ours.state_dict()) == ["video_aggregate_embed.bias", "video_aggregate_embed.weight"]
    ref = FeatureExtractorV2(torch.nn.Linear(cfg.feature_dim, cfg.video.width), embedding_dim=cfg.gemma_width)
    ref.load_state_dict(ours.state_dict(), strict=True)
    hidden, mask = _hidden_states(cfg, 1), _left_padded_mask([9])
    with torch.no_grad():
        ours_v, ours_a = ours(hidden, mask)
        ref_v, ref_a = ref(hidden, mask)
    assert ours_a is None and ref_a is None
    torch.testing.assert_close(ours_v, ref_v, atol=ATOL, rtol=RTOL)
