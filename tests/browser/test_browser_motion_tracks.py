"""Motion-track editor (js/motion_tracks.js) on the pack's Motion Tracks (LTX-2) node in ComfyUI's real frontend,
driven with real mouse events: drawing a track, moving a point and deleting one (a click on it) update the
node's ``tracks`` widget (the source of truth); the editor itself is never saved."""

from __future__ import annotations

import json

import pytest
from browser_harness import save_screenshot
from browser_page import APP, add_node, set_widget, to_page, widget_values

pytestmark = pytest.mark.browser

NODE = "LTX2NMotionTracks"
EDITOR = "ltx2_track_editor"
TOLERANCE = 0.03  # fraction of the frame: mouse positions are whole page pixels


def editor_point(page, node_id: int, fx: float, fy: float) -> tuple[float, float]:
    """Page position of the editor point at fractions (fx, fy) of the frame."""
    page.evaluate(f"() => {APP}.canvas.draw(true, true)")
    local = page.evaluate(f"""([id, f]) => {{
        const node = {APP}.graph.getNodeById(id);
        return node.widgets.find((w) => w.name === "{EDITOR}").locate(node, f);
    }}""", [node_id, [fx, fy]])
    return to_page(page, node_id, local)


def stroke(page, points: list[tuple[float, float]]) -> None:
    """Press at the first point, move through the others (in small steps), release."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        for i in range(1, 7):
            page.mouse.move(x0 + (x1 - x0) * i / 6, y0 + (y1 - y0) * i / 6)
    page.mouse.up()


def tracks_of(page, node_id: int) -> list:
    return json.loads(widget_values(page, node_id)["tracks"])


@pytest.fixture()
def track_node(page):
    node = add_node(page, NODE, width=460)
    set_widget(page, node, "tracks", "[]")
    return node


def test_browser_motion_tracks_drawing_a_track_updates_the_widget(page, track_node):
    start, end = editor_point(page, track_node, 0.2, 0.5), editor_point(page, track_node, 0.8, 0.6)
    stroke(page, [start, editor_point(page, track_node, 0.5, 0.4), end])
    save_screenshot(page, "browser-motion-tracks-drawn")
    (track,) = tracks_of(page, track_node)
    assert len(track) >= 3
    assert track[0] == pytest.approx([0.2, 0.5], abs=TOLERANCE)
    assert track[-1] == pytest.approx([0.8, 0.6], abs=TOLERANCE)
    assert min(y for _, y in track) < 0.45  # the stroke went through (0.5, 0.4)


def test_browser_motion_tracks_move_and_delete_points(page, track_node):
    set_widget(page, track_node, "tracks", "[[[0.25, 0.25], [0.75, 0.25]], [[0.5, 0.75]]]")
    stroke(page, [editor_point(page, track_node, 0.75, 0.25), editor_point(page, track_node, 0.6, 0.5)])
    tracks = tracks_of(page, track_node)
    assert tracks[0][1] == pytest.approx([0.6, 0.5], abs=TOLERANCE) and tracks[0][0] == [0.25, 0.25]
    stroke(page, [editor_point(page, track_node, 0.5, 0.75)])  # a click deletes the stationary track's only point
    assert len(tracks_of(page, track_node)) == 1
    saved = page.evaluate(f"(id) => {APP}.graph.getNodeById(id).serialize().widgets_values", track_node)
    assert saved[0] == widget_values(page, track_node)["tracks"] and len(saved) == 6  # the editor is not saved
