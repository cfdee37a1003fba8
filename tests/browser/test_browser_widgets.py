"""The pack's widgets in ComfyUI's real frontend, used with real mouse and keyboard events.

Size helper (js/size_helper.js) on the pack's Empty Audio+Video Latent node and on a test node whose widgets have
step 1 (so any snapping there comes from the pack, not from ComfyUI's own step rounding); timeline (js/timeline.js)
on test nodes registered in the page, as no pack node has keyframe/window widgets yet.
"""

from __future__ import annotations

import pytest
from browser_harness import save_screenshot
from browser_page import (
    TEST_CLIP_NODE,
    TEST_UPSTREAM_NODE,
    add_node,
    clip_of,
    connect,
    drag,
    register_test_nodes,
    set_widget,
    timeline_point,
    timeline_x_for_time,
    type_into_widget,
    widget_values,
)

pytestmark = pytest.mark.browser

LATENT_NODE = "LTX2NEmptyAVLatent"
SIZE_ONLY = ("width", "height", "frames", "fps", "batch_size")
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


@pytest.fixture()
def test_nodes(page):
    register_test_nodes(page)
    return page


def info_lines(values: dict) -> list[str]:
    return values["ltx2_size_info"].splitlines()


def node_size_and_needed(page, node_id: int) -> tuple[list[float], list[float]]:
    """A node's current size and the size its widgets need (LiteGraph's computeSize)."""
    return page.evaluate("""(id) => {
        const node = window.comfyAPI.app.app.graph.getNodeById(id);
        return [node.size, node.computeSize()];
    }""", node_id)


def new_node_typed(page, node_type: str, name: str, text: str, *, before: dict | None = None) -> tuple[int, dict]:
    """Add a node, optionally preset widget values, type ``text`` into widget ``name``; (node id, widget values)."""
    node = add_node(page, node_type)
    for key, value in (before or {}).items():
        set_widget(page, node, key, value)
    type_into_widget(page, node, name, text)
    return node, widget_values(page, node)


def test_browser_size_helper_typed_frames_100_snap_to_97(page, console):
    mark = console.mark()
    _, values = new_node_typed(page, LATENT_NODE, "frames", "100")
    save_screenshot(page, "size-helper-frames-100")
    assert values["frames"] == 97
    assert values["seconds"] == 3.88  # 97 / 25
    assert info_lines(values)[:2] == ["3.88 s at 25 fps (97 frames)", "latent 13x16x24 (FxHxW), audio 97"]
    assert console.errors(mark) == []


def test_browser_size_helper_typed_width_1000_snaps_to_992(page, console):
    mark = console.mark()
    _, values = new_node_typed(page, LATENT_NODE, "width", "1000")
    assert values["width"] == 992
    assert info_lines(values)[1] == "latent 16x16x31 (FxHxW), audio 121"
    assert console.errors(mark) == []


@pytest.mark.parametrize(("name", "typed", "snapped"), [
    ("frames", "100", 97), ("frames", "101", 105), ("frames", "5", 9), ("frames", "2", 1),
    ("width", "1000", 992), ("width", "1008", 1024), ("height", "10", 32),
])
def test_browser_size_helper_snaps_step1_widgets(test_nodes, console, name, typed, snapped):
    mark = console.mark()
    assert new_node_typed(test_nodes, TEST_CLIP_NODE, name, typed)[1][name] == snapped
    assert console.errors(mark) == []


def test_browser_size_helper_two_stages_snap_to_64(test_nodes, console):
    mark = console.mark()
    node, values = new_node_typed(test_nodes, TEST_CLIP_NODE, "width", "1000",
                                  before={"stages": "two stages (x2 upscale)"})
    assert values["width"] == 1024
    assert info_lines(values)[1] == "latent 13x8x16 -> x2 13x16x32 (FxHxW), audio 101"
    set_widget(test_nodes, node, "width", 992)  # a multiple of 32 only
    test_nodes.evaluate("(id) => window.comfyAPI.app.app.graph.getNodeById(id).ltx2SizeHelper.refresh()", node)
    assert info_lines(widget_values(test_nodes, node))[-1] == "! width/height not multiples of 64"
    assert console.errors(mark) == []


def test_browser_size_helper_seconds_edit_sets_frames(page, console):
    mark = console.mark()
    node, values = new_node_typed(page, LATENT_NODE, "seconds", "5")
    assert values["frames"] == 129  # 5 s x 25 fps = 125 frames, halfway between 121 and 129: rounds up
    assert values["seconds"] == 5.16
    type_into_widget(page, node, "fps", "24")
    assert widget_values(page, node)["seconds"] == 5.38  # frames stay the source of truth: 129 / 24
    assert console.errors(mark) == []


def schema_widget_inputs(comfy_server, node_type: str) -> list[str]:
    """Names of the widget inputs (not links) a node declares, in order, from the server's /object_info."""
    info = comfy_server.get_json(f"/object_info/{node_type}")[node_type]["input"]
    declared = {**info.get("required", {}), **info.get("optional", {})}
    return [name for name, (kind, *_) in declared.items() if isinstance(kind, list) or kind in WIDGET_TYPES]


def test_browser_size_helper_widgets_stay_out_of_saved_workflow_and_api_prompt(comfy_server, page, console):
    mark = console.mark()
    node, _ = new_node_typed(page, LATENT_NODE, "frames", "100")
    # Compared as strings: a live node's id is a number on frontend 1.43 and a string on 1.49 (serialized: a number).
    saved = page.evaluate(
        "(id) => window.comfyAPI.app.app.graph.serialize().nodes.find((n) => String(n.id) === String(id))", node)
    declared = schema_widget_inputs(comfy_server, LATENT_NODE)
    assert len(saved["widgets_values"]) == len(declared)
    assert saved["widgets_values"][:5] == [768, 512, 97, 25, 1]
    prompt = page.evaluate("async (id) => (await window.comfyAPI.app.app.graphToPrompt()).output[String(id)]", node)
    assert prompt["class_type"] == LATENT_NODE
    assert sorted(prompt["inputs"]) == sorted(declared)
    assert [prompt["inputs"][k] for k in SIZE_ONLY] == [768, 512, 97, 25, 1]
    assert console.errors(mark) == []


def test_browser_size_helper_reflects_loaded_workflow_values(page, console):
    mark = console.mark()
    workflow = {"last_node_id": 1, "last_link_id": 0, "version": 0.4, "links": [], "groups": [], "extra": {},
                "nodes": [{"id": 1, "type": LATENT_NODE, "pos": [100, 100], "size": [300, 120], "flags": {},
                           "order": 0, "mode": 0, "inputs": [], "properties": {},
                           "outputs": [{"name": "av_latent", "type": "LATENT", "links": []}],
                           "widgets_values": [640, 384, 97, 24, 2]}]}
    page.evaluate("async (wf) => window.comfyAPI.app.app.loadGraphData(wf, true, true, 'size-helper')", workflow)
    values = widget_values(page, 1)
    assert [values[k] for k in SIZE_ONLY] == [640, 384, 97, 24, 2]
    assert values["seconds"] == 4.04
    assert info_lines(values) == ["4.04 s at 24 fps (97 frames)", "latent 13x12x20 (FxHxW), audio 101",
                                  "~1.2 GB activations/pass (bf16, batch 2)"]
    size, needed = node_size_and_needed(page, 1)
    assert size[1] >= needed[1] > 120, "the saved size was not grown to fit the helper's rows"
    assert console.errors(mark) == []


def test_browser_size_helper_flags_invalid_loaded_values(page):
    node = add_node(page, LATENT_NODE)
    set_widget(page, node, "frames", 100)  # as a hand-edited workflow may carry it; nothing rewrites it silently
    page.evaluate("(id) => window.comfyAPI.app.app.graph.getNodeById(id).ltx2SizeHelper.refresh()", node)
    assert info_lines(widget_values(page, node))[-1] == "! frames not 1+8k (nearest 97)"


def test_browser_timeline_drag_marker_changes_frame_widget(test_nodes, console):
    mark = console.mark()
    node = add_node(test_nodes, TEST_CLIP_NODE)
    assert widget_values(test_nodes, node)["frame_idx"] == 0
    drag(test_nodes, timeline_point(test_nodes, node, "frame_idx"), timeline_x_for_time(test_nodes, node, 2.0))
    save_screenshot(test_nodes, "timeline-marker-drag")
    assert widget_values(test_nodes, node)["frame_idx"] == 48  # 2 s at 24 fps
    assert console.errors(mark) == []


def test_browser_timeline_negative_marker_stays_counted_from_end(test_nodes):
    node = add_node(test_nodes, TEST_CLIP_NODE)
    set_widget(test_nodes, node, "frame_idx", -1)  # last frame: 96 of 97, at 4.0 s
    start = timeline_point(test_nodes, node, "frame_idx")
    assert start[0] == pytest.approx(timeline_x_for_time(test_nodes, node, 4.0))
    drag(test_nodes, start, timeline_x_for_time(test_nodes, node, 2.0))
    assert widget_values(test_nodes, node)["frame_idx"] == 48 - 97


def test_browser_timeline_drag_window_edges_and_body(test_nodes, console):
    mark = console.mark()
    node = add_node(test_nodes, TEST_CLIP_NODE)
    end_edge = timeline_point(test_nodes, node, "start_time", "end")
    drag(test_nodes, end_edge, timeline_x_for_time(test_nodes, node, 3.0))
    assert widget_values(test_nodes, node)["end_time"] == 3.0
    start_edge = timeline_point(test_nodes, node, "start_time", "start")
    drag(test_nodes, start_edge, timeline_x_for_time(test_nodes, node, 0.5))
    assert widget_values(test_nodes, node)["start_time"] == 0.5
    body = timeline_x_for_time(test_nodes, node, 1.5)
    drag(test_nodes, (body, start_edge[1]), timeline_x_for_time(test_nodes, node, 2.0))
    values = widget_values(test_nodes, node)
    save_screenshot(test_nodes, "timeline-window-drag")
    assert (values["start_time"], values["end_time"]) == (1.0, 3.5)  # moved by 0.5 s, length kept
    assert console.errors(mark) == []


def test_browser_timeline_clip_length_from_upstream_latent_node(test_nodes, console):
    mark = console.mark()
    source = add_node(test_nodes, LATENT_NODE, pos=(120, 80), width=300)
    node = add_node(test_nodes, TEST_UPSTREAM_NODE, pos=(500, 80))
    connect(test_nodes, source, 0, node, 0)
    assert clip_of(test_nodes, node) == {"frames": 121, "fps": 25, "source": "Empty Audio+Video Latent (LTX-2)"}
    drag(test_nodes, timeline_point(test_nodes, node, "frame_idx"), timeline_x_for_time(test_nodes, node, 2.0))
    save_screenshot(test_nodes, "timeline-upstream-clip")
    assert widget_values(test_nodes, node)["frame_idx"] == 50  # 2 s at 25 fps
    assert console.errors(mark) == []


def test_browser_timeline_on_loaded_workflow_without_clip_source(test_nodes, console):
    mark = console.mark()
    workflow = {"last_node_id": 1, "last_link_id": 0, "version": 0.4, "links": [], "groups": [], "extra": {},
                "nodes": [{"id": 1, "type": TEST_UPSTREAM_NODE, "pos": [120, 120], "size": [400, 60], "flags": {},
                           "order": 0, "mode": 0, "properties": {}, "outputs": [],
                           "inputs": [{"name": "latent", "type": "LATENT", "link": None}],
                           "widgets_values": [36]}]}
    test_nodes.evaluate("async (wf) => window.comfyAPI.app.app.loadGraphData(wf, true, true, 'timeline')", workflow)
    assert clip_of(test_nodes, 1) == {"frames": 121, "fps": 25, "source": "default"}
    assert timeline_point(test_nodes, 1, "frame_idx")[0] == pytest.approx(timeline_x_for_time(test_nodes, 1, 1.44))
    size, needed = node_size_and_needed(test_nodes, 1)
    assert size[1] >= needed[1] > 60, "the saved size was not grown to fit the timeline"
    assert console.errors(mark) == []
