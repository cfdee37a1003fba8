"""Generated keyframe slots (LTX-2.5) in the library: the slots' RoPE bounds and the frame rule
(``ltx_model.modes.keyframes_mask``: ``slot_pixel_bounds``, ``generated_slot_frames``).

Golden bounds: ``tests/data/ltx25_keyframe_slot_golden.json``, ``VideoGeneratedKeyframeSlots._slot_positions`` of
Lightricks' latest ltx-core (main @400fd31), written by ``tests/data/golden/ltx25_keyframe_slot_golden.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltx_model.modes import keyframes_mask
from ltx_model.modes.keyframes_mask import generated_slot_frames, slot_pixel_bounds
from ltx_model.sampling import VideoGrid, latent_bounds_to_pixels, video_latent_bounds

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "data" / "ltx25_keyframe_slot_golden.json").read_text())


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: f"frame{c['pixel_frame']}")
def test_slot_pixel_bounds_equal_lightricks_latest(case: dict) -> None:
    _, height, width, _ = case["grid"]
    got = slot_pixel_bounds(height, width, case["pixel_frame"])
    assert got.dtype == torch.float32 and got.shape == (1, 3, height * width, 2)
    torch.testing.assert_close(got, torch.tensor(case["bounds"]), atol=1e-5, rtol=0)


def test_slot_spans_one_pixel_frame_unlike_a_latent_frame() -> None:
    slot = slot_pixel_bounds(2, 3, 9)
    scale = VideoGrid(2, 2, 3, 24.0).scale
    frame = latent_bounds_to_pixels(video_latent_bounds(2, 2, 3), scale, causal_fix=False)[:, :, 6:]  # 2nd frame
    assert (slot[:, 0, :, 1] - slot[:, 0, :, 0]).eq(1).all() and (frame[:, 0, :, 1] - frame[:, 0, :, 0]).eq(8).all()
    assert torch.equal(slot[:, 1:], frame[:, 1:].float())  # same spatial grid as a latent frame


def test_generated_slot_frames_sorted_unique_and_in_range() -> None:
    assert generated_slot_frames([40, 8, 40], 121) == (8, 40)
    assert generated_slot_frames([], 121) == ()
    for bad in ([121], [-1]):
        with pytest.raises(ValueError, match=r"generated keyframe frames must lie in \[0, 121\)"):
            generated_slot_frames(bad, 121)


def test_slots_of_a_state_are_flagged_by_the_one_mask_rule() -> None:
    grid = VideoGrid(frames=3, height=2, width=3, fps=24.0)
    mask = keyframes_mask(grid, 30, slots=((24, 6),))
    assert mask[0, :, 0].tolist() == [1.0] * 6 + [0.0] * 18 + [1.0] * 6
    with pytest.raises(ValueError, match="do not fit"):
        keyframes_mask(grid, 30, slots=((24, 5),))
