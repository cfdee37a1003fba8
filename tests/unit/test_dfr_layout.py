"""The DFR rules of ``ltx_model.modes.dfr`` beyond the reference layout parity: canvas checks, the keyframe bag
merge, slot seeds, the round geometry and the final trim / audio cut (``tests/parity/test_dfr_layout_parity.py``
compares the layout itself with Lightricks' code)."""

from __future__ import annotations

import pytest
import torch

from ltx_model.modes import GenerationError
from ltx_model.modes.dfr import (
    audio_latent_frames,
    audio_samples,
    conditioning_fps,
    final_frames,
    kept_latent_frames,
    merge_keyframes,
    pick_keyframes,
    resolve_canvas,
    round_frames,
    rounds_problem,
    slot_seed_indices,
    stitch_tiles,
    tile_ranges,
    tile_seed,
)


def labelled(values: list[float]) -> torch.Tensor:
    """``(1, 1, K, 1, 1)`` keyframes whose frame ``k`` holds ``values[k]``."""
    return torch.tensor(values, dtype=torch.float32).view(1, 1, -1, 1, 1)


def test_canvas_pads_to_the_segment_grid_and_puts_slots_on_segment_ends() -> None:
    canvas = resolve_canvas(121)  # 120 content frames: 24 pads 0
    assert (canvas.frames, canvas.segment, canvas.positions) == (121, 24, (24, 48, 72, 96, 120))
    canvas = resolve_canvas(57)  # 56: 24 pads 16, 32 pads 8
    assert (canvas.frames, canvas.segment, canvas.positions) == (65, 32, (32, 64))


@pytest.mark.parametrize("frames", [0, 1, 8, 10, 120])
def test_canvas_refuses_frame_counts_off_the_grid(frames: int) -> None:
    with pytest.raises(GenerationError, match="1 \\+ 8k"):
        resolve_canvas(frames)


def test_merge_keeps_the_first_slot_entry_and_sorts_by_position() -> None:
    positions, bag = merge_keyframes([48, 96], labelled([1.0, 2.0]), [24, 72, 72], labelled([3.0, 4.0, 5.0]))
    assert positions == (24, 48, 72, 96)
    assert bag.flatten().tolist() == [3.0, 1.0, 4.0, 2.0]


def test_merge_refuses_mismatched_or_empty_bags() -> None:
    with pytest.raises(GenerationError, match="2 anchor positions"):
        merge_keyframes([48, 96], labelled([1.0]), [], None)
    with pytest.raises(GenerationError, match="empty"):
        merge_keyframes([], None, [], None)


def test_pick_keyframes_selects_in_order_and_names_missing_seams() -> None:
    bag = labelled([1.0, 2.0, 3.0])
    assert pick_keyframes(bag, [24, 48, 72], [72, 24]).flatten().tolist() == [3.0, 1.0]
    with pytest.raises(GenerationError, match="\\[96\\]"):
        pick_keyframes(bag, [24, 48, 72], [96])


def test_slot_seeds_are_the_nearest_latent_frames_clamped() -> None:
    assert slot_seed_indices([12, 36, 4, 200], 7) == [2, 4, 0, 6]  # 4/8 rounds half to even: 0


def test_round_geometry() -> None:
    assert round_frames(25) == 49
    assert conditioning_fps(48.0) == 48.0 and conditioning_fps(96.0) == 60.0
    assert [tile_seed(10, 2, t) for t in range(4)] == [2010, 2011, 2012, 2013]


def test_rounds_problem_names_the_rule() -> None:
    assert rounds_problem(0, False) is None and rounds_problem(2, True) is None
    assert "0, 1 or 2" in rounds_problem(3, True)
    assert "temporal x2" in rounds_problem(1, False)


def test_final_trim_and_audio_cut() -> None:
    assert final_frames(57, 0) == 57 and final_frames(57, 1) == 113 and final_frames(57, 2) == 225
    assert kept_latent_frames(57, 1) == 15  # (113 - 1) / 8 + 1, within the 65 -> 129-frame canvas
    assert audio_samples(113, 48.0, 16000, 10**6) == round(113 / 48 * 16000)
    assert audio_samples(113, 48.0, 16000, 100) == 100
    assert audio_latent_frames(113, 48.0, 25.0, 1000) == 59  # ceil(58.85)


def test_stitch_refuses_a_tile_of_the_wrong_length() -> None:
    tiles = tile_ranges([48, 96], 97, 2)
    with pytest.raises(GenerationError, match="latent frames"):
        stitch_tiles([torch.zeros(1, 1, 7, 1, 1), torch.zeros(1, 1, 5, 1, 1)], tiles)
