"""Unit tests for video/audio position grids (ltx2-model.md §2.5) and the latent state builder."""

from __future__ import annotations

import pytest
import torch

from ltx_model.sampling.positions import AudioGrid, VideoGrid, audio_positions, rope_coordinates, video_positions
from ltx_model.sampling.state import initial_state, unpatchify_state_latent


def test_positions_video_bounds_causal_fix_and_fps() -> None:
    grid = VideoGrid(frames=3, height=2, width=2, fps=24.0)
    pos = video_positions(grid, batch=2)
    assert pos.shape == (2, 3, 12, 2) and pos.dtype == torch.float32
    # latent frame f covers [max(8f-7, 0), 8f+1] / fps
    torch.testing.assert_close(pos[0, 0, 0], torch.tensor([0.0, 1.0]) / 24.0)
    torch.testing.assert_close(pos[0, 0, 4], torch.tensor([1.0, 9.0]) / 24.0)
    torch.testing.assert_close(pos[0, 0, 8], torch.tensor([9.0, 17.0]) / 24.0)
    # token 3 = (f0, h1, w1): spatial pixel bounds [32, 64)
    assert pos[0, 1, 3].tolist() == [32.0, 64.0] and pos[0, 2, 3].tolist() == [32.0, 64.0]
    assert torch.equal(pos[0], pos[1])


def test_positions_video_cast_to_latent_dtype() -> None:
    pos = video_positions(VideoGrid(frames=2, height=1, width=1, fps=24.0), dtype=torch.bfloat16)
    assert pos.dtype == torch.bfloat16
    assert pos[0, 0, 0, 1].item() == pytest.approx(0.041748046875)  # bf16(1/24)


def test_positions_video_without_causal_fix() -> None:
    pos = video_positions(VideoGrid(frames=2, height=1, width=1, fps=8.0, causal_fix=False))
    assert pos[0, 0, :, 0].tolist() == [0.0, 1.0] and pos[0, 0, :, 1].tolist() == [1.0, 2.0]


def test_positions_audio_seconds() -> None:
    pos = audio_positions(AudioGrid(frames=4), batch=1)
    assert pos.shape == (1, 1, 4, 2) and pos.dtype == torch.float32
    expected = torch.tensor([[0.0, 0.01], [0.01, 0.05], [0.05, 0.09], [0.09, 0.13]])
    torch.testing.assert_close(pos[0, 0], expected)


def test_positions_grids_from_pixels_and_duration() -> None:
    g = VideoGrid.from_pixels(frames=121, height=512, width=768, fps=24.0)
    assert (g.frames, g.height, g.width, g.token_count) == (16, 16, 24, 16 * 16 * 24)
    assert AudioGrid.from_duration(121 / 24.0).frames == 126


def test_positions_rope_coordinates_midpoint_or_start() -> None:
    pos = video_positions(VideoGrid(frames=2, height=1, width=1, fps=1.0))
    mid = rope_coordinates(pos, use_middle_indices_grid=True)
    assert mid.shape == (1, 3, 2)
    assert mid[0, 0].tolist() == [0.5, 5.0] and mid[0, 1].tolist() == [16.0, 16.0]
    assert rope_coordinates(pos, use_middle_indices_grid=False)[0, 0].tolist() == [0.0, 1.0]


def test_positions_initial_state_video_and_audio() -> None:
    grid = VideoGrid(frames=2, height=2, width=3, fps=24.0, channels=4)
    latent = torch.randn(1, 4, 2, 2, 3)
    state = initial_state(grid, latent=latent)
    assert state.latent.shape == (1, 12, 4) and state.denoise_mask.shape == (1, 12, 1)
    assert state.positions.shape == (1, 3, 12, 2) and state.attention_mask is None and not state.frozen
    assert torch.equal(unpatchify_state_latent(state), latent) and torch.equal(state.clean_latent, state.latent)
    audio = initial_state(AudioGrid(frames=5), batch=2, dtype=torch.bfloat16)
    assert audio.latent.shape == (2, 5, 128) and audio.latent.dtype == torch.bfloat16
    assert audio.positions.dtype == torch.float32 and audio.denoise_mask.dtype == torch.float32
    with pytest.raises(ValueError):
        initial_state(grid, latent=torch.zeros(1, 4, 3, 2, 3))
