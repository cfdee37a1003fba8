"""``ltx_model.modes``: the rules every generation mode shares (frame counts, sizes, conforming, time windows,
long-video plans, keyframe slots, IC-LoRA references), tested directly on small numbers and tensors."""

from __future__ import annotations

import pytest
import torch

from ltx_model import modes
from ltx_model.conditioning import TemporalRegionMask
from ltx_model.sampling import VideoGrid, initial_state


@pytest.mark.parametrize(("frames", "ok", "nearest"), [(1, True, 1), (9, True, 9), (121, True, 121), (10, False, 9),
                                                       (13, False, 17), (101, False, 105), (0, False, 1)])
def test_modes_frame_rule(frames, ok, nearest):
    assert modes.is_frame_count(frames) is ok
    assert modes.nearest_frame_count(frames) == nearest
    problem = modes.frames_problem(frames)
    assert (problem is None) is ok
    if not ok:
        assert "1 + 8k" in problem and f"got {frames}" in problem and f"nearest valid: {nearest}" in problem


def test_modes_frame_arithmetic():
    assert [modes.latent_frames(f) for f in (1, 9, 17, 121)] == [1, 2, 3, 16]
    assert [modes.pixel_frames(n) for n in (1, 2, 16)] == [1, 9, 121]
    assert [modes.floor_frame_count(n) for n in (1, 8, 9, 20, 121)] == [1, 1, 9, 17, 121]
    assert modes.latent_frames(10, 4) == 3 and modes.pixel_frames(3, 4) == 9  # another VAE's time scale


def test_modes_size_rule():
    assert modes.size_problem(768, 512) is None
    assert "multiples of 32" in modes.size_problem(100, 64)
    assert "at least 32" in modes.size_problem(0, 64)
    assert modes.size_problem(0, 0, source_size=True) is None  # 0 = the source's size
    assert "multiples of 64 for a two-stage" in modes.size_problem(96, 64, two_stage=True)


def test_modes_clip_geometry():
    geometry = modes.ClipGeometry(768, 512, 121, 24.0)
    assert geometry.problem() is None
    assert geometry.video_shape(2) == (2, 128, 16, 16, 24)
    assert geometry.audio_shape(1) == (1, 8, 126, 16)  # round(121 / 24 * 25)
    assert modes.ClipGeometry(768, 512, 121, 24.0, two_stage=True).first_stage() == modes.ClipGeometry(384, 256,
                                                                                                          121, 24.0)
    assert "fps" in modes.ClipGeometry(64, 64, 9, 0.0).problem()


def test_modes_extend_rules():
    assert modes.new_frames_problem(16) is None and "multiple of 8" in modes.new_frames_problem(12)
    assert modes.extend_source_frames(25, 17) == 9  # keep 1 + 8k frames leaving at least 8 new ones
    assert modes.extend_source_frames(9, 25) == 9
    assert modes.extend_window(9, 16, 24.0, forward=True) == (9 / 24, 25 / 24)
    assert modes.extend_window(9, 16, 24.0, forward=False) == (0.0, 16 / 24)
    frames = torch.arange(2 * 2 * 2 * 3, dtype=torch.float32).view(2, 2, 2, 3)
    forward = modes.pad_frames(frames, 3, forward=True)
    assert forward.shape[0] == 5 and torch.equal(forward[:2], frames) and torch.equal(forward[4], frames[1])
    backward = modes.pad_frames(frames, 3, forward=False)
    assert torch.equal(backward[3:], frames) and torch.equal(backward[0], frames[0])
    audio = modes.pad_waveform(torch.ones(2, 100), 100, source_s=1.0, new_s=0.5, forward=True)
    assert audio.shape == (2, 150) and audio[:, :100].eq(1).all() and audio[:, 100:].eq(0).all()


def test_modes_fit_waveform_trims_and_pads():
    trimmed, notes = modes.fit_waveform(torch.ones(300), 100, 2.0)
    assert trimmed.shape == (1, 200) and "trimmed" in notes[0]
    padded, notes = modes.fit_waveform(torch.ones(2, 50), 100, 1.0)
    assert padded.shape == (2, 100) and padded[:, 50:].eq(0).all() and "padded with silence" in notes[0]
    with pytest.raises(modes.GenerationError, match="empty"):
        modes.fit_waveform(torch.ones(1, 0), 100, 1.0)


def test_modes_window_masks_match_the_region_mask_of_the_sampler():
    """The latent-shaped masks of the nodes select exactly the tokens ``TemporalRegionMask`` regenerates."""
    fps, start, end = 24.0, 0.2, 0.45
    mask = modes.video_window_mask(torch.Size((1, 128, 3, 2, 2)), fps, start, end)
    grid = VideoGrid.from_pixels(frames=17, height=64, width=64, fps=fps)
    state = TemporalRegionMask(start, end).apply_to(initial_state(grid, latent=torch.zeros(1, 128, 3, 2, 2)))
    assert mask[0, 0, :, 0, 0].tolist() == [0.0, 1.0, 1.0]
    assert torch.equal(state.denoise_mask.view(3, 4)[:, 0], mask[0, 0, :, 0, 0])
    audio = modes.audio_window_mask(torch.Size((1, 8, 18, 16)), start, end)[0, 0, :, 0]
    assert 0 < audio.sum() < audio.numel()
    assert "start_time < end_time" in modes.window_problem(1.0, 1.0)
    assert "outside the clip [0, 0.708) s" in modes.window_problem(0.5, 0.9, 17 / 24)


def test_modes_window_plans():
    plan = modes.plan_windows(481, 121, 24)
    assert plan.starts == (0, 13, 26, 39, 52) and plan.lengths == (16, 16, 16, 16, 9) and plan.frames == 481
    assert plan.audio_span(4, 24.0)[1] == round(481 / 24 * 25)
    assert plan.audio_start(1, 24.0) == round(8 * 13 / 24 * 25)
    fixed = modes.fixed_windows(3, 17, 1)
    assert fixed.starts == (0, 2, 4) and fixed.frames == 1 + 8 * 6
    assert "overlap_latent_frames" in modes.fixed_windows_problem(2, 17, 3)
    assert "overlap_frames" in modes.long_video_problem(121, 121, 12)
    assert modes.window_count_note(2, 3).endswith("the last prompt is used for the rest")


def test_modes_blend_overlap_is_a_linear_cross_fade():
    previous, new = torch.zeros(1, 1, 4), torch.ones(1, 1, 4)
    stitched, seam = modes.blend_overlap(previous, new, 3, dim=2)
    assert stitched.shape == (1, 1, 5) and seam == 1.0
    assert stitched[0, 0].tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]


def test_modes_keyframe_slots():
    plan = modes.plan_keyframes([("a", 0, 1.0), None, ("c", -1, 0.5)], 17)
    assert plan == [("a", 0, 1.0), ("c", 16, 0.5)]
    with pytest.raises(modes.GenerationError, match="keyframe 2: frame_idx 17 is beyond the clip of 17 frames"):
        modes.plan_keyframes([None, ("b", 17, 1.0)], 17)
    with pytest.raises(modes.GenerationError, match="strength"):
        modes.plan_keyframes([("a", 0, 1.5)], 17)
    with pytest.raises(modes.GenerationError, match="at least one image"):
        modes.plan_keyframes([None], 17)
    assert modes.guide_free_frames(5, 2 * 4, 4) == 17  # 5 latent frames, 2 of them appended guides of 2x2 cells


def test_modes_reference_rules():
    assert modes.reference_size(512, 768, 2) == (256, 384)
    with pytest.raises(modes.GenerationError, match="divisible by 64"):
        modes.reference_size(96, 64, 2)
    assert modes.reference_frames(30, 17) == 17 and modes.reference_frames(12, 121) == 9
    assert modes.reference_notes((20, 50, 40), (17, 32, 32)) == (
        "reference video 50x40 resized to 32x32", "reference video trimmed from 20 to 17 frames")
    mask = modes.conform_reference_mask(torch.ones(1, 40, 60), frames=9, height=32, width=32)
    assert mask.shape == (1, 1, 9, 32, 32)
