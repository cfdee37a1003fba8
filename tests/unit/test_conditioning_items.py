"""Unit tests for conditioning items: new state returned, mask = 1 - strength, positions, errors, clearing."""

from __future__ import annotations

import math

import pytest
import torch

from ltx_model.conditioning import (
    ConditioningError,
    FrozenAudio,
    ImageAtLatentIndex,
    KeyframeAtFrame,
    ReferenceVideo,
    TemporalRegionMask,
    WithAttentionStrength,
    attention_bias,
    clear_conditioning,
    pixel_mask_to_latent,
)
from ltx_model.sampling.positions import AudioGrid, VideoGrid
from ltx_model.sampling.state import LatentState, initial_state

GRID = VideoGrid(frames=3, height=2, width=2, fps=24.0, channels=4)  # 12 tokens, 4 per latent frame


def _state(dtype: torch.dtype = torch.float32) -> LatentState:
    return initial_state(GRID, dtype=dtype, latent=torch.randn(1, 4, 3, 2, 2).to(dtype))


def test_conditioning_image_replaces_frame_tokens() -> None:
    state = _state()
    before = state.latent.clone()
    image = torch.randn(1, 4, 1, 2, 2)
    new = ImageAtLatentIndex(image, strength=0.8, latent_index=1).apply_to(state)
    assert new is not state and torch.equal(state.latent, before)  # input untouched
    tokens = image.permute(0, 2, 3, 4, 1).reshape(1, 4, 4)
    assert torch.equal(new.latent[:, 4:8], tokens) and torch.equal(new.clean_latent[:, 4:8], tokens)
    assert torch.equal(new.latent[:, :4], before[:, :4])
    torch.testing.assert_close(new.denoise_mask[0, :, 0], torch.tensor([1.0] * 4 + [0.2] * 4 + [1.0] * 4))
    assert new.num_tokens == 12


def test_conditioning_image_errors() -> None:
    state = _state()
    with pytest.raises(ConditioningError, match="outside the clip"):
        ImageAtLatentIndex(torch.zeros(1, 4, 1, 2, 2), latent_index=3).apply_to(state)
    with pytest.raises(ConditioningError, match="resolution"):
        ImageAtLatentIndex(torch.zeros(1, 4, 1, 4, 2)).apply_to(state)
    with pytest.raises(ConditioningError, match="channels"):
        ImageAtLatentIndex(torch.zeros(1, 8, 1, 2, 2)).apply_to(state)
    with pytest.raises(ConditioningError, match="video"):
        ImageAtLatentIndex(torch.zeros(1, 4, 1, 2, 2)).apply_to(initial_state(AudioGrid(frames=3)))


def test_conditioning_keyframe_appends_tokens_with_positions() -> None:
    state = _state(torch.bfloat16)
    key = torch.randn(1, 4, 1, 2, 2).bfloat16()
    new = KeyframeAtFrame(key, frame_index=16, strength=0.7).apply_to(state)
    assert new.num_tokens == 16 and new.positions.shape == (1, 3, 16, 2)
    assert new.positions.dtype == torch.float32  # cat promotes bf16 target positions
    torch.testing.assert_close(new.positions[0, 0, 12], torch.tensor([16.0, 24.0]) / 24.0)
    assert new.positions[0, 1, 13].tolist() == [0.0, 32.0] and new.positions[0, 2, 13].tolist() == [32.0, 64.0]
    assert new.denoise_mask[0, 12:, 0].tolist() == [torch.tensor(0.3).bfloat16().item()] * 4
    assert torch.equal(new.clean_latent[:, 12:], new.latent[:, 12:]) and new.attention_mask is None
    first = KeyframeAtFrame(key, frame_index=0).apply_to(state)  # causal fix at frame 0
    torch.testing.assert_close(first.positions[0, 0, 12], torch.tensor([0.0, 1.0]) / 24.0)
    with pytest.raises(ConditioningError, match="outside the clip"):
        KeyframeAtFrame(key, frame_index=17).apply_to(state)


def test_conditioning_reference_video_scaled_positions_and_clear() -> None:
    state = _state()
    ref = torch.randn(1, 4, 3, 1, 1)
    new = ReferenceVideo(ref, downscale_factor=2, strength=1.0).apply_to(state)
    assert new.num_tokens == 15 and torch.all(new.denoise_mask[:, 12:] == 0)
    assert new.positions[0, 1, 12].tolist() == [0.0, 64.0] and new.positions[0, 2, 14].tolist() == [0.0, 64.0]
    torch.testing.assert_close(new.positions[0, 0, 13], torch.tensor([1.0, 9.0]) / 24.0)
    cleared = clear_conditioning(new)
    assert cleared.num_tokens == 12 and cleared.attention_mask is None
    assert torch.equal(cleared.latent, new.latent[:, :12]) and torch.all(cleared.denoise_mask == 1)
    assert torch.equal(cleared.positions, new.positions[:, :, :12])


def test_conditioning_attention_strength_mask_blocks() -> None:
    state = _state()
    ref = torch.randn(1, 4, 1, 1, 2)
    a = WithAttentionStrength(ReferenceVideo(ref), 0.5).apply_to(state)
    m = a.attention_mask
    assert m.shape == (1, 14, 14)
    assert torch.all(m[:, :12, :12] == 1) and torch.all(m[:, :12, 12:] == 0.5) and torch.all(m[:, 12:, 12:] == 1)
    b = KeyframeAtFrame(torch.randn(1, 4, 1, 2, 2), frame_index=8).apply_to(a)  # grows with weight 1
    assert b.attention_mask.shape == (1, 18, 18)
    assert torch.all(b.attention_mask[:, :12, 14:] == 1) and torch.all(b.attention_mask[:, 12:14, 14:] == 0)
    per_token = WithAttentionStrength(ReferenceVideo(ref), torch.tensor([0.25, 0.0])).apply_to(state)
    assert per_token.attention_mask[0, 3, 12:].tolist() == [0.25, 0.0]
    with pytest.raises(ConditioningError):
        WithAttentionStrength(ReferenceVideo(ref), torch.ones(3)).apply_to(state)


def test_conditioning_attention_bias_values() -> None:
    bias = attention_bias(torch.tensor([[[1.0, 0.5], [0.0, 1.0]]]), torch.float32)
    assert bias.shape == (1, 1, 2, 2)
    assert bias[0, 0, 0, 0] == 0.0 and bias[0, 0, 0, 1].item() == pytest.approx(math.log(0.5))
    assert bias[0, 0, 1, 0] == torch.finfo(torch.float32).min
    assert attention_bias(None, torch.float32) is None


def test_conditioning_pixel_mask_to_latent() -> None:
    mask = torch.zeros(1, 1, 17, 64, 64)
    mask[:, :, 0] = 1.0
    mask[:, :, 9:, :32] = 1.0
    out = pixel_mask_to_latent(mask, frames=3, height=2, width=2)
    assert out.shape == (1, 12)
    assert out[0, :4].tolist() == [1.0] * 4 and out[0, 4:8].tolist() == [0.0] * 4
    assert out[0, 8:].tolist() == [1.0, 1.0, 0.0, 0.0]
    with pytest.raises(ConditioningError):
        pixel_mask_to_latent(torch.zeros(1, 1, 16, 8, 8), frames=3, height=2, width=2)


def test_conditioning_frozen_audio() -> None:
    grid = AudioGrid(frames=4, channels=2, mel_bins=3)
    state = initial_state(grid, dtype=torch.bfloat16)
    audio = torch.randn(1, 2, 6, 3)
    new = FrozenAudio(audio).apply_to(state)
    assert new.frozen and not state.frozen and torch.all(new.denoise_mask == 0)
    assert new.latent.dtype == torch.bfloat16 and new.latent.shape == (1, 4, 6)
    assert torch.equal(new.latent, audio[:, :, :4].permute(0, 2, 1, 3).reshape(1, 4, 6).bfloat16())
    with pytest.raises(ConditioningError, match="frames"):
        FrozenAudio(torch.randn(1, 2, 3, 3)).apply_to(state)
    with pytest.raises(ConditioningError):
        FrozenAudio(torch.randn(1, 2, 6, 4)).apply_to(state)


def test_conditioning_temporal_region_mask_video_and_audio() -> None:
    state = _state()  # latent frames cover [0,1], [1,9], [9,17] pixel frames at 24 fps
    new = TemporalRegionMask(start_time=0.1, end_time=0.5).apply_to(state)
    assert new.denoise_mask[0, :, 0].tolist() == [0.0] * 4 + [1.0] * 8
    audio = initial_state(AudioGrid(frames=4))  # [0,.01], [.01,.05], [.05,.09], [.09,.13]
    a = TemporalRegionMask(start_time=0.05, end_time=0.09).apply_to(audio)
    assert a.denoise_mask[0, :, 0].tolist() == [0.0, 0.0, 1.0, 0.0]
    with pytest.raises(ConditioningError):
        TemporalRegionMask(start_time=1.0, end_time=1.0).apply_to(state)
