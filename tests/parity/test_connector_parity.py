"""Parity of the embeddings connectors (and extractor + connectors end to end) against ltx-core 1.0.0.

fp32, tiny random weights copied into both implementations; tolerance atol 1e-5 / rtol 1e-5. ltx-core 1.0.0's
connector only supports batch 1, so batched runs of ours are compared with per-prompt reference runs (HEAD made the
connector batched with the same per-prompt result). A bf16 case checks bit-exactness (atol 0) on CPU.
"""

from __future__ import annotations

import pytest
import torch
from ltx_core.model.transformer.rope import LTXRopeType
from ltx_core.text_encoders.gemma.embeddings_connector import Embeddings1DConnector
from ltx_core.text_encoders.gemma.embeddings_processor import EmbeddingsProcessor, convert_to_additive_mask
from ltx_core.text_encoders.gemma.feature_extractor import FeatureExtractorV1, FeatureExtractorV2

from ltx_model.text import (
    ConnectorConfig,
    EmbeddingsConnector,
    EmbeddingsConnectors,
    ExtractorKind,
    RopeLayout,
    TextConfig,
    TextProjection,
)
from ltx_model.text.connector_pair import valid_first_order

pytestmark = pytest.mark.parity

ATOL = RTOL = 1e-5
SEQ = 16
_KEY_MAP = {
    "feature_extractor.": "",
    "video_connector.": "video_embeddings_connector.",
    "audio_connector.": "audio_embeddings_connector.",
}


def _reference_connector(cfg: TextConfig, conn: ConnectorConfig) -> Embeddings1DConnector:
    return Embeddings1DConnector(
        attention_head_dim=conn.head_dim,
        num_attention_heads=conn.num_heads,
        num_layers=conn.num_layers,
        positional_embedding_max_pos=[cfg.rope_max_pos],
        num_learnable_registers=cfg.num_registers or None,
        rope_type=LTXRopeType(cfg.rope_layout.value),
        double_precision_rope=cfg.rope_double_precision,
        apply_gated_attention=cfg.gated_attention,
    ).float()


def _reference_processor(cfg: TextConfig) -> EmbeddingsProcessor:
    if cfg.extractor is ExtractorKind.V1:
        extractor = FeatureExtractorV1(torch.nn.Linear(cfg.feature_dim, cfg.gemma_width, bias=False), is_av=True)
    else:
        extractor = FeatureExtractorV2(
            torch.nn.Linear(cfg.feature_dim, cfg.video.width),
            embedding_dim=cfg.gemma_width,
            audio_aggregate_embed=torch.nn.Linear(cfg.feature_dim, cfg.audio.width),
        )
    return EmbeddingsProcessor(
        feature_extractor=extractor,
        video_connector=_reference_connector(cfg, cfg.video),
        audio_connector=_reference_connector(cfg, cfg.audio),
    ).eval()


def _ours_to_reference(projection: TextProjection, connectors: EmbeddingsConnectors) -> dict[str, torch.Tensor]:
    """Our two state dicts under ltx-core's EmbeddingsProcessor names."""
    ours = {**projection.state_dict(), **connectors.state_dict()}
    out = {}
    for ref_prefix, our_prefix in _KEY_MAP.items():
        for key, value in ours.items():
            if our_prefix and key.startswith(our_prefix):
                out[ref_prefix + key[len(our_prefix) :]] = value
            elif not our_prefix and "embeddings_connector." not in key:
                out[ref_prefix + key] = value
    return out


def _randomise(module: torch.nn.Module) -> None:
    """Non-trivial values for every parameter (norm weights and gates away from their identity init)."""
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.randn_like(param) * (0.3 if param.ndim > 1 else 0.5))


def _pair(cfg: TextConfig) -> tuple[TextProjection, EmbeddingsConnectors, EmbeddingsProcessor]:
    projection, connectors = TextProjection(cfg).eval(), EmbeddingsConnectors(cfg).eval()
    _randomise(projection)
    _randomise(connectors)
    ref = _reference_processor(cfg)
    ref.load_state_dict(_ours_to_reference(projection, connectors), strict=True)
    return projection, connectors, ref


def _inputs(cfg: TextConfig, valid_counts: list[int]) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    hidden = tuple(torch.randn(len(valid_counts), SEQ, cfg.gemma_width) for _ in range(cfg.gemma_hidden_states))
    mask = torch.zeros(len(valid_counts), SEQ, dtype=torch.int64)
    for row, n in enumerate(valid_counts):
        mask[row, SEQ - n :] = 1
    return hidden, mask


@pytest.mark.parametrize("extractor", [ExtractorKind.V1, ExtractorKind.V2])
@pytest.mark.parametrize("valid_counts", [[6], [SEQ], [1], [3, 16, 9]])
def test_connector_pipeline_matches_ltx_core(extractor: ExtractorKind, valid_counts: list[int]) -> None:
    cfg = TextConfig.tiny(extractor)
    projection, connectors, ref = _pair(cfg)
    hidden, mask = _inputs(cfg, valid_counts)
    with torch.no_grad():
        video_in, audio_in = projection(hidden, mask)
        ours = connectors(video_in, audio_in, mask)
        for row in range(len(valid_counts)):
            expected = ref.process_hidden_states(tuple(h[row : row + 1] for h in hidden), mask[row : row + 1])
            torch.testing.assert_close(ours.video[row : row + 1], expected.video_encoding, atol=ATOL, rtol=RTOL)
            torch.testing.assert_close(ours.audio[row : row + 1], expected.audio_encoding, atol=ATOL, rtol=RTOL)
            assert torch.equal(ours.mask[row : row + 1], expected.attention_mask)
    assert ours.video.shape == (len(valid_counts), SEQ, cfg.video.width)
    assert ours.audio.shape == (len(valid_counts), SEQ, cfg.audio.width)


@pytest.mark.parametrize("rope_layout", [RopeLayout.SPLIT, RopeLayout.INTERLEAVED])
@pytest.mark.parametrize("double_precision", [True, False])
def test_connector_rope_variants_match_ltx_core(rope_layout: RopeLayout, double_precision: bool) -> None:
    cfg = TextConfig.tiny(ExtractorKind.V2).replace(
        rope_layout=rope_layout, rope_double_precision=double_precision, rope_max_pos=4096
    )
    ours = EmbeddingsConnector(cfg.video, cfg).eval()
    _randomise(ours)
    ref = _reference_connector(cfg, cfg.video).eval()
    ref.load_state_dict(ours.state_dict(), strict=True)
    features = torch.randn(1, SEQ, cfg.video.width)
    mask = torch.zeros(1, SEQ, dtype=torch.int64)
    mask[:, SEQ - 10 :] = 1  # left padding: ltx-core 1.0.0's connector moves valid tokens first itself
    order = valid_first_order(mask)  # ours expects valid tokens first (done by EmbeddingsConnectors)
    with torch.no_grad():
        out, valid = ours(features[:, order[0]], torch.gather(mask.bool(), 1, order))
        expected, expected_mask = ref(features, convert_to_additive_mask(mask, torch.float32))
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=RTOL)
    assert valid.all() and not expected_mask.any()


@pytest.mark.parametrize("extractor", [ExtractorKind.V1, ExtractorKind.V2])
def test_connector_pipeline_bf16_is_bit_exact_with_ltx_core_on_cpu(extractor: ExtractorKind) -> None:
    """bf16 (the inference dtype): same op order and dtype promotions as ltx-core, so CPU results are identical."""
    cfg = TextConfig.tiny(extractor)
    projection, connectors, ref = (m.to(torch.bfloat16) for m in _pair(cfg))
    hidden, mask = _inputs(cfg, [6])
    hidden = tuple(h.to(torch.bfloat16) for h in hidden)
    with torch.no_grad():
        ours = connectors(*projection(hidden, mask), mask)
        expected = ref.process_hidden_states(hidden, mask)
    assert ours.video.dtype == expected.video_encoding.dtype == torch.bfloat16
    torch.testing.assert_close(ours.video, expected.video_encoding, atol=0, rtol=0)
    torch.testing.assert_close(ours.audio, expected.audio_encoding, atol=0, rtol=0)
