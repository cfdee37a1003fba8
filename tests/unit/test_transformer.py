"""Unit tests of ltx_model.transformer: config parsing, real-size key/shape coverage, shapes, options, switches."""

from __future__ import annotations

import dataclasses
import json
import types
from pathlib import Path

import pytest
import torch

from ltx_model.configbase import ConfigError
from ltx_model.transformer import (
    LTXTransformer,
    Modality,
    ModelKind,
    RopeType,
    TransformerConfig,
    TransformerOptions,
    sdpa_attention,
)
from ltx_model.transformer import stream as stream_module

PREFIX = "model.diffusion_model."
MANIFESTS = {"19b": "ltx-2-19b.json", "22b": "ltx-2.3-22b.json"}
FORMS = {"19b": TransformerConfig.tiny, "22b": TransformerConfig.tiny_22b}


def manifest(manifests_dir: Path, form: str) -> dict:
    return json.loads((manifests_dir / MANIFESTS[form]).read_text())


def tiny_model(config: TransformerConfig, seed: int = 0) -> LTXTransformer:
    """Tiny model with seeded random weights (the tables start uninitialised)."""
    model = LTXTransformer(config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(0.3 * torch.randn(param.shape, generator=gen))
    return model.eval()


def inputs(config: TransformerConfig, *, batch: int = 2, video_tokens: int = 6, audio_tokens: int = 5,
           seed: int = 0) -> tuple[Modality | None, Modality | None]:
    """Random video/audio inputs with increasing [start, end) positions."""
    gen = torch.Generator().manual_seed(seed)

    def one(tokens: int, channels: int, axes: int, width: int) -> Modality:
        start = torch.rand(batch, axes, tokens, generator=gen).cumsum(2)
        ctx = config.caption_channels if config.caption_projection else width
        return Modality(
            latent=torch.randn(batch, tokens, channels, generator=gen),
            sigma=torch.full((batch,), 0.5),
            timesteps=torch.full((batch, tokens, 1), 0.5),
            positions=torch.stack([start, start + 1], dim=-1),
            context=torch.randn(batch, 4, ctx, generator=gen),
        )

    video = one(video_tokens, config.in_channels, 3, config.video_inner_dim) if config.kind.has_video else None
    audio = one(audio_tokens, config.audio_in_channels, 1, config.audio_inner_dim) if config.kind.has_audio else None
    return video, audio


def run(model: LTXTransformer, video: Modality | None, audio: Modality | None, **kw: object) -> tuple:
    with torch.no_grad():
        return model(video, audio, **kw)


# --- config -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", MANIFESTS)
def test_transformer_config_from_real_sections(manifests_dir: Path, form: str) -> None:
    config = TransformerConfig.from_dict(manifest(manifests_dir, form)["config"]["transformer"])
    is_22b = form == "22b"
    assert (config.num_layers, config.video_inner_dim, config.audio_inner_dim) == (48, 4096, 2048)
    assert config.rope_type is RopeType.SPLIT and config.rope_double_precision
    assert config.av_ca_timestep_scale_multiplier == 1000.0
    assert (config.gated_attention, config.cross_attention_adaln, config.caption_projection) == (is_22b,) * 2 + (
        not is_22b,)
    assert config.adaln_coefficient == (9 if is_22b else 6)


def test_transformer_config_rejects_bad_sections(manifests_dir: Path) -> None:
    section = manifest(manifests_dir, "19b")["config"]["transformer"]
    with pytest.raises(ConfigError, match="transformer.bogus_key"):
        TransformerConfig.from_dict({**section, "bogus_key": 1})
    with pytest.raises(ConfigError, match="transformer.dropout"):
        TransformerConfig.from_dict({**section, "dropout": 0.1})
    with pytest.raises(ConfigError, match="transformer.rope_type"):
        TransformerConfig.from_dict({**section, "rope_type": "spiral"})
    with pytest.raises(ConfigError, match="transformer.frequencies_precision"):
        TransformerConfig.from_dict({**section, "frequencies_precision": "float16"})
    with pytest.raises(ConfigError, match="audio_num_attention_heads"):
        TransformerConfig.from_dict({**section, "audio_num_attention_heads": 16})


def test_transformer_config_missing_keys_use_reference_defaults() -> None:
    config = TransformerConfig.from_dict({}, kind=ModelKind.VIDEO_ONLY)
    assert config.kind is ModelKind.VIDEO_ONLY
    assert config.rope_type is RopeType.SPLIT  # ltx-core HEAD default (1.0.0: interleaved)
    assert not config.rope_double_precision and config.av_ca_timestep_scale_multiplier == 1
    assert config.caption_projection and not config.cross_attention_adaln


# --- real-size key / shape coverage on the meta device ----------------------------------------------------------

@pytest.mark.parametrize("form", MANIFESTS)
def test_transformer_meta_build_matches_manifest(manifests_dir: Path, form: str) -> None:
    data = manifest(manifests_dir, form)
    config = TransformerConfig.from_dict(data["config"]["transformer"])
    model = LTXTransformer(config, dtype=torch.bfloat16, device="meta")
    ours = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    expected = {key[len(PREFIX):]: tuple(shape) for key, shape in data["tensors"].items()
                if key.startswith(PREFIX) and "embeddings_connector." not in key}
    assert sorted(set(expected) - set(ours))[:20] == []
    assert sorted(set(ours) - set(expected))[:20] == []
    assert [name for name in ours if ours[name] != expected[name]] == []
    assert len(ours) == data["summary"]["components"]["transformer"]["tensors"]
    assert all(t.is_meta and t.dtype == torch.bfloat16 for t in model.state_dict().values())


# --- shapes, kinds, dtype, determinism --------------------------------------------------------------------------

@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", list(ModelKind), ids=lambda k: k.value)
def test_transformer_output_shapes(form: str, kind: ModelKind) -> None:
    config = FORMS[form](kind)
    video, audio = inputs(config)
    out_v, out_a = run(tiny_model(config), video, audio)
    assert (out_v is None) == (video is None) and (out_a is None) == (audio is None)
    if out_v is not None:
        assert out_v.shape == (2, 6, config.out_channels) and torch.isfinite(out_v).all()
    if out_a is not None:
        assert out_a.shape == (2, 5, config.audio_out_channels) and torch.isfinite(out_a).all()


def test_transformer_rejects_missing_stream_inputs() -> None:
    video, audio = inputs(TransformerConfig.tiny())
    with pytest.raises(ValueError, match="no audio stream"):
        run(tiny_model(TransformerConfig.tiny(ModelKind.VIDEO_ONLY)), video, audio)
    with pytest.raises(ValueError, match="no video stream"):
        run(tiny_model(TransformerConfig.tiny(ModelKind.AUDIO_ONLY)), video, None)
    with pytest.raises(ValueError, match="at least one"):
        run(tiny_model(TransformerConfig.tiny()), None, None)


def test_transformer_audio_video_model_runs_one_stream() -> None:
    config = TransformerConfig.tiny_22b()
    video, audio = inputs(config)
    model = tiny_model(config)
    only_v, none_a = run(model, video, None)
    both_v, _ = run(model, video, audio)
    assert none_a is None and only_v.shape == both_v.shape
    assert not torch.allclose(only_v, both_v)  # audio reaches video through a2v


def test_transformer_deterministic_and_seeded() -> None:
    config = TransformerConfig.tiny_22b()
    video, audio = inputs(config)
    first = run(tiny_model(config, seed=3), video, audio)
    second = run(tiny_model(config, seed=3), video, audio)
    other = run(tiny_model(config, seed=4), video, audio)
    for a, b, c in zip(first, second, other, strict=True):
        assert torch.equal(a, b) and not torch.allclose(a, c)


def test_transformer_bf16_build_and_forward() -> None:
    config = TransformerConfig.tiny()
    model = tiny_model(config).to(torch.bfloat16)
    fresh = LTXTransformer(config, dtype=torch.bfloat16)
    assert all(p.dtype == torch.bfloat16 for p in fresh.parameters())
    video, audio = inputs(config)
    cast = [dataclasses.replace(m, latent=m.latent.bfloat16(), context=m.context.bfloat16()) for m in (video, audio)]
    out_v, out_a = run(model, *cast)
    assert out_v.dtype == out_a.dtype == torch.bfloat16
    ref_v, _ = run(tiny_model(config), video, audio)
    assert (out_v.float() - ref_v).norm() / ref_v.norm() < 0.03  # bf16 rounding only


def test_transformer_uses_injected_operations() -> None:
    created = []

    class CountingLinear(torch.nn.Linear):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

    ops = types.SimpleNamespace(Linear=CountingLinear, RMSNorm=torch.nn.RMSNorm, LayerNorm=torch.nn.LayerNorm)
    model = LTXTransformer(TransformerConfig.tiny_22b(), operations=ops, device="meta")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == len(created) > 0 and all(isinstance(m, CountingLinear) for m in linears)


# --- host options -----------------------------------------------------------------------------------------------

def test_transformer_attention_fn_option_is_used_everywhere() -> None:
    config = TransformerConfig.tiny()
    calls = []

    def counting(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, mask: torch.Tensor | None = None):
        calls.append(heads)
        return sdpa_attention(q, k, v, heads, mask=mask)

    video, audio = inputs(config)
    model = tiny_model(config)
    expected = run(model, video, audio)
    got = run(model, video, audio, options=TransformerOptions(attention_fn=counting))
    # Per block: video self + text, audio self + text, a2v, v2a.
    assert len(calls) == 6 * config.num_layers
    for a, b in zip(expected, got, strict=True):
        assert torch.equal(a, b)


def test_transformer_rope_tables_built_once_per_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = stream_module.rope_table
    monkeypatch.setattr(stream_module, "rope_table", lambda *a, **k: calls.append(1) or original(*a, **k))
    config = dataclasses.replace(TransformerConfig.tiny(), num_layers=3)
    run(tiny_model(config), *inputs(config))
    assert len(calls) == 4  # video, audio, video cross-modal, audio cross-modal — independent of the block count


def test_transformer_adaln_runs_once_per_distinct_timestep() -> None:
    """Per-token timesteps: the AdaLN MLP sees each sample's distinct values once; gathered back per token they
    equal the MLP applied token by token (fp32, atol 1e-6: only the matmul row count differs)."""
    from ltx_model.transformer.adaln import AdaLayerNormSingle, embed_timesteps

    torch.manual_seed(0)
    adaln = AdaLayerNormSingle(16, 6)
    steps = torch.tensor([[0.0, 700.0, 700.0, 0.0, 700.0], [300.0, 300.0, 300.0, 300.0, 300.0]])  # (B, T)
    rows = []
    adaln.linear.register_forward_hook(lambda module, args, out: rows.append(args[0].shape[0]))
    values, embedded = embed_timesteps(adaln, steps.unsqueeze(-1), batch_size=2, hidden_dtype=torch.float32)
    assert rows == [2, 1] and values.values.shape == (3, 96) and values.index.shape == (2, 5)
    want_values, want_embedded = adaln(steps.flatten(), hidden_dtype=torch.float32)
    torch.testing.assert_close(values.gather(values.values), want_values.view(2, 5, 96), atol=1e-6, rtol=0)
    torch.testing.assert_close(embedded.gather(embedded.values), want_embedded.view(2, 5, 16), atol=1e-6, rtol=0)
