"""Unit tests of the transformer's per-call inputs: per-token timesteps, conditioning masks, perturbations."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ltx_model.transformer import (
    LTXTransformer,
    Modality,
    ModelKind,
    Perturbation,
    Perturbations,
    SkipAttention,
    TransformerConfig,
)
from ltx_model.transformer.stream import context_bias, self_attention_bias

# fp32 outputs are O(1-10); equal maths on differently shaped batches rounds differently by a few 1e-6.
ATOL = 2e-5


def tiny_model(config: TransformerConfig, seed: int = 0) -> LTXTransformer:
    model = LTXTransformer(config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(0.3 * torch.randn(param.shape, generator=gen))
    return model.eval()


def modality(config: TransformerConfig, *, audio: bool, tokens: int, batch: int = 2, seed: int = 0) -> Modality:
    gen = torch.Generator().manual_seed(seed)
    axes, channels = (1, config.audio_in_channels) if audio else (3, config.in_channels)
    width = config.audio_inner_dim if audio else config.video_inner_dim
    start = torch.rand(batch, axes, tokens, generator=gen).cumsum(2)
    return Modality(
        latent=torch.randn(batch, tokens, channels, generator=gen),
        sigma=torch.full((batch,), 0.6),
        timesteps=torch.full((batch, tokens), 0.6),
        positions=torch.stack([start, start + 1], dim=-1),
        context=torch.randn(batch, 4, config.caption_channels if config.caption_projection else width,
                            generator=gen),
    )


def forward(model: LTXTransformer, video: Modality | None, audio: Modality | None, perturbations=None) -> tuple:
    with torch.no_grad():
        return model(video, audio, perturbations)


# --- timesteps ----------------------------------------------------------------------------------------------------

def test_transformer_timestep_layouts_are_equivalent() -> None:
    config = TransformerConfig.tiny_22b()
    model = tiny_model(config)
    video = modality(config, audio=False, tokens=5)
    audio = modality(config, audio=True, tokens=4, seed=1)
    base = forward(model, video, audio)
    as_column = forward(model, dataclasses.replace(video, timesteps=video.timesteps[..., None]),
                        dataclasses.replace(audio, timesteps=audio.timesteps[..., None]))
    as_single = forward(model, dataclasses.replace(video, timesteps=video.timesteps[:, :1], sigma=torch.tensor(0.6)),
                        dataclasses.replace(audio, timesteps=audio.timesteps[:, :1]))
    for a, b, c in zip(base, as_column, as_single, strict=True):
        torch.testing.assert_close(a, b, atol=ATOL, rtol=0)
        torch.testing.assert_close(a, c, atol=ATOL, rtol=0)


@pytest.mark.parametrize("kind", list(ModelKind), ids=lambda k: k.value)
def test_transformer_per_token_timesteps_change_only_what_they_should(kind: ModelKind) -> None:
    """Zeroing sample 1's first-token timestep changes sample 1's output, never sample 0's."""
    config = TransformerConfig.tiny(kind)
    model = tiny_model(config)
    streams = [modality(config, audio=False, tokens=5) if kind.has_video else None,
               modality(config, audio=True, tokens=4, seed=1) if kind.has_audio else None]
    base = forward(model, *streams)
    masked = []
    for item in streams:
        if item is not None:
            steps = item.timesteps.clone()
            steps[1, 0] = 0.0
            item = dataclasses.replace(item, timesteps=steps)
        masked.append(item)
    changed = forward(model, *masked)
    for a, b in zip(base, changed, strict=True):
        if a is not None:
            assert torch.equal(a[0], b[0]) and not torch.allclose(a[1], b[1])


def test_transformer_sigma_shape_is_checked() -> None:
    config = TransformerConfig.tiny()
    video = modality(config, audio=False, tokens=3)
    audio = dataclasses.replace(modality(config, audio=True, tokens=3), sigma=torch.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="sigma"):
        forward(tiny_model(config), video, audio)


# --- conditioning tokens and masks --------------------------------------------------------------------------------

def test_transformer_masked_conditioning_tokens_do_not_reach_generated_tokens() -> None:
    """With attention strength 0 from generated to appended tokens (video-only model, so no cross-modal path),
    the generated tokens' outputs equal a run without the appended tokens."""
    config = TransformerConfig.tiny(ModelKind.VIDEO_ONLY)
    model = tiny_model(config)
    full = modality(config, audio=False, tokens=7)
    generated = 5
    strength = torch.ones(2, 7, 7)
    strength[:, :generated, generated:] = 0.0
    strength[:, generated:, :generated] = 0.3
    steps = full.timesteps.clone()
    steps[:, generated:] = 0.0
    with_cond = dataclasses.replace(full, attention_mask=strength, timesteps=steps)
    without = dataclasses.replace(full, latent=full.latent[:, :generated], timesteps=full.timesteps[:, :generated],
                                  positions=full.positions[:, :, :generated])
    out_cond, _ = forward(model, with_cond, None)
    out_plain, _ = forward(model, without, None)
    torch.testing.assert_close(out_cond[:, :generated], out_plain, atol=ATOL, rtol=0)
    unmasked, _ = forward(model, dataclasses.replace(with_cond, attention_mask=None), None)
    assert not torch.allclose(unmasked[:, :generated], out_plain)


def test_transformer_attention_bias_values() -> None:
    strength = torch.tensor([[[1.0, 0.5, 0.0]]])
    bias = self_attention_bias(strength, torch.float32)
    assert bias.shape == (1, 1, 1, 3)
    assert bias[0, 0, 0, 0] == 0 and torch.isclose(bias[0, 0, 0, 1], torch.log(torch.tensor(0.5)))
    assert bias[0, 0, 0, 2] == torch.finfo(torch.float32).min
    assert self_attention_bias(None, torch.float32) is None
    text = context_bias(torch.tensor([[1, 0]]), torch.float32)
    assert text.shape == (1, 1, 1, 2) and text[0, 0, 0, 0] == 0 and text[0, 0, 0, 1] == -torch.finfo(torch.float32).max
    additive = torch.zeros(1, 1, 1, 2)
    assert context_bias(additive, torch.float32) is additive


def test_transformer_full_strength_mask_equals_no_mask() -> None:
    config = TransformerConfig.tiny_22b(ModelKind.AUDIO_ONLY)
    model = tiny_model(config)
    audio = modality(config, audio=True, tokens=4)
    ones = dataclasses.replace(audio, attention_mask=torch.ones(2, 4, 4))
    torch.testing.assert_close(forward(model, None, ones)[1], forward(model, None, audio)[1], atol=ATOL, rtol=0)


def test_transformer_disabled_stream_is_not_updated_but_still_read() -> None:
    config = TransformerConfig.tiny()
    model = tiny_model(config)
    video, audio = modality(config, audio=False, tokens=4), modality(config, audio=True, tokens=3, seed=1)
    off = dataclasses.replace(video, enabled=False)
    out_v_off, out_a_off = forward(model, off, audio)
    out_v_on, out_a_on = forward(model, video, audio)
    _, out_a_without_video = forward(model, None, audio)
    assert out_v_off.shape == out_v_on.shape and not torch.allclose(out_v_off, out_v_on)
    assert not torch.allclose(out_a_off, out_a_without_video)  # disabled video still feeds v2a


# --- perturbations ------------------------------------------------------------------------------------------------

def test_transformer_perturbation_keep_flags() -> None:
    perturbations = Perturbations((Perturbation(SkipAttention.VIDEO_SELF, blocks=(1,), samples=(0,)),
                                   Perturbation(SkipAttention.AUDIO_TO_VIDEO)))
    assert perturbations.keep(SkipAttention.VIDEO_SELF, 1, 2) == (False, True)
    assert perturbations.keep(SkipAttention.VIDEO_SELF, 0, 2) == (True, True)
    assert perturbations.keep(SkipAttention.AUDIO_TO_VIDEO, 5, 3) == (False, False, False)
    ref = torch.zeros(2, 1, 1)
    assert perturbations.keep_switch(SkipAttention.AUDIO_SELF, 0, ref) is True
    assert perturbations.keep_switch(SkipAttention.AUDIO_TO_VIDEO, 0, ref) is False
    assert perturbations.keep_switch(SkipAttention.VIDEO_SELF, 1, ref).flatten().tolist() == [0.0, 1.0]


@pytest.mark.parametrize("skip", list(SkipAttention), ids=lambda s: s.value)
def test_transformer_perturbation_of_one_sample_matches_whole_batch(skip: SkipAttention) -> None:
    """Perturbing only sample 1 leaves sample 0 as unperturbed and gives sample 1 the whole-batch result."""
    config = TransformerConfig.tiny_22b()
    model = tiny_model(config)
    video, audio = modality(config, audio=False, tokens=4), modality(config, audio=True, tokens=3, seed=1)
    plain = forward(model, video, audio)
    everyone = forward(model, video, audio, Perturbations((Perturbation(skip),)))
    one = forward(model, video, audio, Perturbations((Perturbation(skip, samples=(1,)),)))
    changed = False
    for p, e, o in zip(plain, everyone, one, strict=True):
        torch.testing.assert_close(o[0], p[0], atol=ATOL, rtol=0)
        torch.testing.assert_close(o[1], e[1], atol=ATOL, rtol=0)
        changed |= not torch.allclose(p[1], e[1])
    assert changed


def test_transformer_stg_block_selection_matters() -> None:
    config = dataclasses.replace(TransformerConfig.tiny(ModelKind.VIDEO_ONLY), num_layers=3)
    model = tiny_model(config)
    video = modality(config, audio=False, tokens=4)
    outs = [forward(model, video, None, Perturbations((Perturbation(SkipAttention.VIDEO_SELF, blocks=(b,)),)))[0]
            for b in range(3)]
    plain = forward(model, video, None)[0]
    assert all(not torch.allclose(out, plain) for out in outs)
    assert not torch.allclose(outs[0], outs[2])
    skip_audio = forward(model, video, None, Perturbations((Perturbation(SkipAttention.AUDIO_SELF),)))[0]
    assert torch.equal(skip_audio, plain)  # no audio stream: nothing to skip
