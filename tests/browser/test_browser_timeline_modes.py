"""The timeline (js/timeline.js) on the pack's real temporal-mode nodes (nodes/temporal_modes.py) in ComfyUI's
frontend: dragging a keyframe marker / the retake window changes the node's own widgets."""

from __future__ import annotations

import pytest
from browser_harness import save_screenshot
from browser_page import add_node, connect, drag, timeline_point, timeline_x_for_time, widget_values

pytestmark = pytest.mark.browser

LATENT_NODE = "LTX2NEmptyAVLatent"  # default clip: 121 frames at 25 fps


def test_browser_timeline_keyframes_node_marker_drag(page, console):
    mark = console.mark()
    source = add_node(page, LATENT_NODE, pos=(120, 80), width=300)
    node = add_node(page, "LTX2NKeyframes", pos=(500, 80))
    connect(page, source, 0, node, 3)  # the latent input: clip length from the upstream latent
    assert widget_values(page, node)["frame_idx_3"] == 60
    drag(page, timeline_point(page, node, "frame_idx_3"), timeline_x_for_time(page, node, 2.0))
    save_screenshot(page, "timeline-keyframes-node")
    assert widget_values(page, node)["frame_idx_3"] == 50  # 2 s at 25 fps
    last = timeline_point(page, node, "frame_idx_2")  # -1 = the last frame, stays counted from the end
    assert last[0] == pytest.approx(timeline_x_for_time(page, node, 120 / 25))
    drag(page, last, timeline_x_for_time(page, node, 4.0))
    assert widget_values(page, node)["frame_idx_2"] == 100 - 121
    assert console.errors(mark) == []


def test_browser_timeline_retake_node_window_drag(page, console):
    mark = console.mark()
    node = add_node(page, "LTX2NRetake", pos=(120, 80))
    end_edge = timeline_point(page, node, "start_time", "end")
    drag(page, end_edge, timeline_x_for_time(page, node, 3.0))
    assert widget_values(page, node)["end_time"] == 3.0
    drag(page, timeline_point(page, node, "start_time", "start"), timeline_x_for_time(page, node, 0.8))
    save_screenshot(page, "timeline-retake-node")
    assert widget_values(page, node)["start_time"] == 0.8
    assert console.errors(mark) == []


def test_browser_timeline_extend_node_keyframe_marker(page, console):
    mark = console.mark()
    node = add_node(page, "LTX2NExtend", pos=(120, 80))
    drag(page, timeline_point(page, node, "frame_idx"), timeline_x_for_time(page, node, 1.0))
    assert widget_values(page, node)["frame_idx"] == 25 - 121  # was -1: still counted from the end
    assert console.errors(mark) == []
