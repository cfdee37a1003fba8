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
