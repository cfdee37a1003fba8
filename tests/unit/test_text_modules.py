"""TextProjection / EmbeddingsConnectors: real-size key coverage, shapes, register placement, padding handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltx_model.text import (
    ConnectorLayout,
    EmbeddingsConnector,
    EmbeddingsConnectors,
    ExtractorKind,
    TextConfig,
    TextProjection,
    encode_hidden_states,
)

SEQ = 16


def _manifest(manifests_dir: Path, name: str) -> dict:
    return json.loads((manifests_dir / f"{name}.json").read_text())


def _shapes(module: torch.nn.Module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in module.state_dict().items()}


@pytest.mark.parametrize("name", ["ltx-2-19b", "ltx-2.3-22b"])
def test_text_projection_and_connector_keys_match_manifest(manifests_dir: Path, name: str) -> None:
    manifest = _manifest(manifests_dir, name)
    cfg = TextConfig.from_dict(manifest["config"]["transformer"])
    tensors = manifest["tensors"]
    projection = TextProjection(cfg, dtype=torch.bfloat16, device="meta")
    connectors = EmbeddingsConnectors(cfg, dtype=torch.bfloat16, device="meta")
    prefix = "text_embedding_projection."
    expected = {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
    assert _shapes(projection) == expected
    prefix = "model.diffusion_model."
    expected = {k.removeprefix(prefix): v for k, v in tensors.items() if "_embeddings_connector." in k}
    assert _shapes(connectors) == expected
    assert manifest["summary"]["components"]["text_connectors"]["tensors"] == len(expected)
    assert all(p.is_meta for p in (*projection.parameters(), *connectors.parameters()))


def test_connector_video_only_layout_uses_embeddings_connector_names() -> None:
    cfg = TextConfig.tiny(ExtractorKind.V2, layout=ConnectorLayout.VIDEO_ONLY)
    keys = EmbeddingsConnectors(cfg, device="meta").state_dict()
    assert keys and all(k.startswith("embeddings_connector.") for k in keys)
    assert "embeddings_connector.transformer_1d_blocks.1.attn1.to_gate_logits.weight" in keys


@pytest.mark.parametrize("extractor", list(ExtractorKind))
def test_text_projection_and_connector_shapes(extractor: ExtractorKind) -> None:
    cfg = TextConfig.tiny(extractor)
    hidden = [torch.randn(2, SEQ, cfg.gemma_width) for _ in range(cfg.gemma_hidden_states)]
    mask = torch.zeros(2, SEQ, dtype=torch.int64)
    mask[0, -5:], mask[1, :] = 1, 1
    with torch.no_grad():
        video_in, audio_in = TextProjection(cfg)(hidden, mask)
        out = EmbeddingsConnectors(cfg)(video_in, audio_in, mask)
    assert video_in.shape == (2, SEQ, cfg.video.width) and audio_in.shape == (2, SEQ, cfg.audio.width)
    assert out.video.shape == (2, SEQ, cfg.video.width) and out.audio.shape == (2, SEQ, cfg.audio.width)
    assert out.mask.dtype == torch.int64 and bool(out.mask.all())
    assert torch.isfinite(out.video).all() and torch.isfinite(out.audio).all()


def test_connector_register_placement() -> None:
    """Valid tokens move to the front in order; padded position p holds register p % R."""
    cfg = TextConfig.tiny(ExtractorKind.V2)
    connector = EmbeddingsConnector(cfg.video, cfg)
    features = torch.randn(1, SEQ, cfg.video.width)
    valid = torch.zeros(1, SEQ, dtype=torch.bool)
    valid[0, :6] = True
    out = connector.substitute_registers(features, valid)
    torch.testing.assert_close(out[0, :6], features[0, :6], atol=0, rtol=0)
    for p in range(6, SEQ):
        torch.testing.assert_close(out[0, p], connector.learnable_registers[p % cfg.num_registers], atol=0, rtol=0)
    with pytest.raises(ValueError, match="multiple"):
        connector.substitute_registers(features[:, :6], valid[:, :6])


def test_connector_ignores_padding_content_and_batches_like_single_prompts() -> None:
    cfg = TextConfig.tiny(ExtractorKind.V1)
    projection, connectors = TextProjection(cfg).eval(), EmbeddingsConnectors(cfg).eval()
    hidden = [torch.randn(2, SEQ, cfg.gemma_width) for _ in range(cfg.gemma_hidden_states)]
    mask = torch.ones(2, SEQ, dtype=torch.int64)
    mask[0, :9] = 0
    garbage = [h.clone() for h in hidden]
    for h in garbage:
        h[0, :9] = 1e3 * torch.randn(9, cfg.gemma_width)
    with torch.no_grad():
        batched = connectors(*projection(hidden, mask), mask)
        noisy = connectors(*projection(garbage, mask), mask)
        single = connectors(*projection([h[:1] for h in hidden], mask[:1]), mask[:1])
    torch.testing.assert_close(noisy.video, batched.video, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(single.video, batched.video[:1], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(single.audio, batched.audio[:1], atol=1e-6, rtol=1e-6)


def test_connector_without_registers_masks_padded_keys() -> None:
    cfg = TextConfig.tiny(ExtractorKind.V2).replace(num_registers=0)
    connectors = EmbeddingsConnectors(cfg).eval()
    assert not any("learnable_registers" in k for k in connectors.state_dict())
    mask = torch.zeros(1, SEQ, dtype=torch.int64)
    mask[0, -7:] = 1
    video, audio = torch.randn(1, SEQ, cfg.video.width), torch.randn(1, SEQ, cfg.audio.width)
    changed = video.clone()
    changed[0, :9] = 5.0  # padded tokens: must not influence the valid outputs
    with torch.no_grad():
        out, out2 = connectors(video, audio, mask), connectors(changed, audio, mask)
    assert out.mask[0].tolist() == [1] * 7 + [0] * 9
    assert torch.count_nonzero(out.video[0, 7:]) == 0
    torch.testing.assert_close(out.video[0, :7], out2.video[0, :7], atol=1e-6, rtol=1e-6)


def test_connector_rejects_missing_audio_features() -> None:
    cfg = TextConfig.tiny(ExtractorKind.V1)
    with pytest.raises(ValueError, match="audio"):
        EmbeddingsConnectors(cfg)(torch.randn(1, SEQ, 16), None, torch.ones(1, SEQ, dtype=torch.int64))


# HEAD golden values (Lightricks/LTX-2 400fd31, ltx-core 1.2.0 EmbeddingsProcessor.process_hidden_states, batched, fp32)
# for the setup in test_connector_matches_head_golden_for_batched_non_left_padding: channel 0 of each token.
# ltx-core 1.0.0 only handles batch 1 with left padding; HEAD (and ours) reorder valid tokens first per prompt.
_HEAD_VIDEO_CH0 = [
    [-0.3729, -0.32329, -0.2928, -0.07909, 0.3303, -0.38965, -0.63882, -0.04255,
     -0.94747, -0.38411, -0.63887, -0.0506, -0.96322, -0.40308, -0.64203, -0.03514],
    [-0.16274, -0.76651, -0.39969, 0.04187, -0.75588, 0.26748, 0.35338, 0.94713,
     -0.19121, -0.73511, -0.05439, 0.60132, -0.59379, 0.7067, -0.09272, 0.55749],
    [-0.69785, 0.62801, -1.42148, -0.18796, -0.84824, -0.03816, -0.23269, 0.29505,
     -0.862, -0.02196, -0.23354, 0.25205, -0.82562, -0.02773, -0.24525, 0.30498],
]
_HEAD_AUDIO_CH0 = [
    [0.37439, -1.16553, -0.6864, -1.81787, -0.07858, 0.2096, -1.34753, -0.47541,
     0.0371, 0.19766, -1.31467, -0.49338, 0.08634, 0.17406, -1.29456, -0.52325],
    [-1.2326, -1.03581, -1.44015, -0.64616, -1.60261, -0.83111, -0.82442, 0.5912,
     0.17097, -1.36623, -1.37317, -1.10569, -0.03231, -0.18436, -1.32333, -1.17782],
    [-1.25929, -0.64587, -0.51107, 0.37568, 0.50843, 0.57515, -0.78457, 0.14405,
     0.54009, 0.57765, -0.7741, 0.13515, 0.55343, 0.56758, -0.75715, 0.11284],
]


def test_connector_matches_head_golden_for_batched_non_left_padding() -> None:
    """Batch of 3: left padding, right padding with a hole, and a valid run in the middle (HEAD behaviour)."""
    cfg = TextConfig.tiny(ExtractorKind.V2)
    projection, connectors = TextProjection(cfg).eval(), EmbeddingsConnectors(cfg).eval()
    torch.manual_seed(1234)
    with torch.no_grad():
        for param in (*projection.parameters(), *connectors.parameters()):
            param.copy_(torch.randn_like(param) * 0.3)
    hidden = tuple(torch.randn(3, SEQ, cfg.gemma_width) for _ in range(cfg.gemma_hidden_states))
    mask = torch.zeros(3, SEQ, dtype=torch.int64)
    mask[0, -5:], mask[1, :9], mask[1, 12], mask[2, 2:6] = 1, 1, 1, 1
    with torch.no_grad():
        out = connectors(*projection(hidden, mask), mask)
    torch.testing.assert_close(out.video[:, :, 0], torch.tensor(_HEAD_VIDEO_CH0), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.audio[:, :, 0], torch.tensor(_HEAD_AUDIO_CH0), atol=1e-5, rtol=0)


@pytest.mark.parametrize("extractor", list(ExtractorKind))
def test_text_video_only_layout_runs_without_audio(extractor: ExtractorKind) -> None:
    cfg = TextConfig.tiny(extractor, layout=ConnectorLayout.VIDEO_ONLY)
    av_cfg = TextConfig.tiny(extractor)
    projection, connectors = TextProjection(cfg).eval(), EmbeddingsConnectors(cfg).eval()
    av_projection, av_connectors = TextProjection(av_cfg).eval(), EmbeddingsConnectors(av_cfg).eval()
    av_projection.load_state_dict(projection.state_dict(), strict=False)
    av_connectors.video_embeddings_connector.load_state_dict(connectors.embeddings_connector.state_dict())
    hidden = [torch.randn(1, SEQ, cfg.gemma_width) for _ in range(cfg.gemma_hidden_states)]
    mask = torch.zeros(1, SEQ, dtype=torch.int64)
    mask[0, -4:] = 1
    with torch.no_grad():
        video, audio = projection(hidden, mask)
        out = connectors(video, audio, mask)
        av_out = av_connectors(*av_projection(hidden, mask), mask)
    assert audio is None and out.audio is None
    torch.testing.assert_close(out.video, av_out.video, atol=0, rtol=0)


@pytest.mark.parametrize("layout", [ConnectorLayout.AUDIO_VIDEO, ConnectorLayout.VIDEO_ONLY])
def test_text_encode_runs_connectors_in_their_own_dtype(layout: ConnectorLayout) -> None:
    """A projection of another precision than the connectors (an fp32 Gemma 4 projection file beside a bf16
    transformer) feeds the connectors in their dtype, as if the projection output had been cast by hand."""
    cfg = TextConfig.tiny(ExtractorKind.V2, layout=layout)
    projection, connectors = TextProjection(cfg).eval(), EmbeddingsConnectors(cfg).eval().to(torch.bfloat16)
    hidden = [torch.randn(1, SEQ, cfg.gemma_width) for _ in range(cfg.gemma_hidden_states)]
    mask = torch.zeros(1, SEQ, dtype=torch.int64)
    mask[0, -6:] = 1
    got = encode_hidden_states(hidden, mask, projection=projection, connectors=connectors)
    with torch.no_grad():
        video, audio = projection(hidden, mask)
        want = connectors(video.bfloat16(), None if audio is None else audio.bfloat16(), mask)
    assert got.video_context.dtype == torch.bfloat16
    torch.testing.assert_close(got.video_context, want.video, atol=0, rtol=0)
    assert (got.audio_context is None) == (layout is ConnectorLayout.VIDEO_ONLY)
