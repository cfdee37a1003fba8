"""Motion-track renderer: JSON parsing and validation errors, per-frame interpolation, discs, colours and trails."""

from __future__ import annotations

import pytest
import torch

pytestmark = pytest.mark.comfy


def test_motion_tracks_parse_errors(pack_nodes):
    tracks = pack_nodes.motion_tracks
    assert tracks.LTX2NMotionTracks.validate_inputs(tracks="[[[1, 2]]]", frames=9) is True
    assert "not valid JSON" in tracks.LTX2NMotionTracks.validate_inputs(tracks="[[1, 2", frames=9)
    assert "track 0 must be" in tracks.LTX2NMotionTracks.validate_inputs(tracks="[[[1, 2, 3]]]", frames=9)
    assert "1 + 8k" in tracks.LTX2NMotionTracks.validate_inputs(tracks="[]", frames=10)


def test_motion_tracks_interpolate_over_the_clip(pack_nodes):
    per_frame = pack_nodes.motion_tracks.per_frame
    path = per_frame(torch.tensor([[0.0, 0.0], [8.0, 16.0]]), 9)
    assert path[:, 0].tolist() == list(range(9)) and path[4].tolist() == [4.0, 8.0]
    assert per_frame(torch.tensor([[3.0, 4.0]]), 5).tolist() == [[3.0, 4.0]] * 5
    exact = torch.arange(18.0).view(9, 2)
    assert torch.equal(per_frame(exact, 9), exact)


def test_motion_tracks_draw_discs_with_colours_and_trail(pack_nodes):
    node = pack_nodes.motion_tracks.LTX2NMotionTracks
    video = node.execute("[[[0.25, 0.25], [0.75, 0.25]], [[0.5, 0.75]]]", 32, 32, 9, 2.0, 2).result[0]
    assert tuple(video.shape) == (9, 32, 32, 3)
    assert video[0, 8, 8].tolist() == pytest.approx([1.0, 0.2, 0.2])  # track 0: red at its start
    assert video[8, 8, 24].tolist() == pytest.approx([1.0, 0.2, 0.2])  # ... and at its end
    assert video[4, 24, 16].tolist() == pytest.approx([0.2, 1.0, 0.2])  # track 1: green, stationary
    assert 0 < video[8, 8, 20].max() < 1.0  # trail: dimmer behind the point
    assert video[8, 30, 2].max() == 0  # background black
