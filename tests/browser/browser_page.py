"""Helpers that drive ComfyUI's frontend in the test page: add nodes, type into widgets, drag, read values.

Everything goes through the app object the frontend itself uses (``window.comfyAPI.app.app``) and real mouse and
keyboard events on the graph canvas; node-local positions are mapped to page pixels with the canvas transform.
"""

from __future__ import annotations

from typing import Any

from browser_harness import save_screenshot

APP = "window.comfyAPI.app.app"

# Node definitions (``/object_info`` form) registered only inside the page: a clip node whose size widgets have
# step 1 (so snapping can only come from the pack's js, not from ComfyUI's own step rounding), with a keyframe
# marker and a time window bound to the timeline; and a node that takes its clip length from upstream.
TEST_CLIP_NODE = "LTX2NBrowserTestClip"
TEST_UPSTREAM_NODE = "LTX2NBrowserTestUpstream"
TEST_NODE_DEFS = {
    TEST_CLIP_NODE: {
        "required": {
            "width": ["INT", {"default": 768, "min": 1, "max": 8192, "step": 1}],
            "height": ["INT", {"default": 512, "min": 1, "max": 8192, "step": 1}],
            "frames": ["INT", {"default": 97, "min": 1, "max": 1001, "step": 1}],
            "fps": ["FLOAT", {"default": 24.0, "min": 1.0, "max": 120.0, "step": 1.0}],
            "frame_idx": ["INT", {"default": 0, "min": -1000, "max": 1000, "step": 1}],
            "start_time": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 100.0, "step": 0.01}],
            "end_time": ["FLOAT", {"default": 2.0, "min": 0.0, "max": 100.0, "step": 0.01}],
        },
        "optional": {
            "stages": [["one stage", "two stages (x2 upscale)"], {"default": "one stage"}],
        },
    },
    TEST_UPSTREAM_NODE: {
        "required": {
            "latent": ["LATENT", {}],
            "frame_idx": ["INT", {"default": 0, "min": -1000, "max": 1000, "step": 1}],
        },
    },
}
TEST_TIMELINE_BINDINGS = {
    TEST_CLIP_NODE: {"markers": ["frame_idx"], "windows": [["start_time", "end_time"]]},
    TEST_UPSTREAM_NODE: {"markers": ["frame_idx"]},
}


def register_test_nodes(page: Any) -> None:
    """Register the test node definitions and their timeline bindings in the page (idempotent)."""
    page.evaluate(f"""async ({{defs, bindings}}) => {{
        const app = {APP};
        const timeline = app.extensions.find((e) => e.name === "LTX2Native.Timeline");
        for (const [name, input] of Object.entries(defs)) {{
            if (LiteGraph.registered_node_types[name]) continue;
            timeline.registerTimelineNode(name, bindings[name]);
            await app.registerNodeDef(name, {{
                name, display_name: name, category: "testing", description: "", python_module: "browser_tests",
                input, output: [], output_name: [], output_is_list: [], output_node: false,
            }});
        }}
    }}""", {"defs": TEST_NODE_DEFS, "bindings": TEST_TIMELINE_BINDINGS})


def add_node(page: Any, node_type: str, pos: tuple[float, float] = (120, 120), width: float = 420) -> int:
    """Create a node of ``node_type`` at graph position ``pos``; returns its id."""
    return page.evaluate(f"""([type, pos, width]) => {{
        const app = {APP};
        const node = LiteGraph.createNode(type);
        node.pos = pos;
        app.graph.add(node);
        node.setSize([Math.max(width, node.size[0]), node.size[1]]);
        app.canvas.setDirty(true, true);
        return node.id;
    }}""", [node_type, list(pos), width])


def connect(page: Any, source_id: int, source_slot: int, target_id: int, target_slot: int) -> None:
    """Link output ``source_slot`` of one node to input ``target_slot`` of another."""
    page.evaluate(f"""([a, i, b, j]) => {{
        const graph = {APP}.graph;
        graph.getNodeById(a).connect(i, graph.getNodeById(b), j);
    }}""", [source_id, source_slot, target_id, target_slot])


def widget_values(page: Any, node_id: int) -> dict[str, Any]:
    """{widget name: value} of a node, UI-only widgets included."""
    return page.evaluate(f"""(id) => Object.fromEntries(
        {APP}.graph.getNodeById(id).widgets.map((w) => [w.name, w.value]))""", node_id)


def set_widget(page: Any, node_id: int, name: str, value: Any) -> None:
    """Set a widget value directly (no callback): a value as stored in a saved workflow."""
    page.evaluate(f"""([id, name, value]) => {{
        const node = {APP}.graph.getNodeById(id);
        node.widgets.find((w) => w.name === name).value = value;
        node.setDirtyCanvas(true, true);
    }}""", [node_id, name, value])


def to_page(page: Any, node_id: int, local: list[float]) -> tuple[float, float]:
    """Page pixel position of a node-local point (graph canvas transform + canvas element offset)."""
    x, y = page.evaluate(f"""([id, local]) => {{
        const app = {APP};
        const node = app.graph.getNodeById(id);
        const [cx, cy] = app.canvas.ds.convertOffsetToCanvas([node.pos[0] + local[0], node.pos[1] + local[1]]);
        const rect = app.canvas.canvas.getBoundingClientRect();
        return [rect.left + cx, rect.top + cy];
    }}""", [node_id, local])
    return x, y


def widget_center(page: Any, node_id: int, name: str) -> tuple[float, float]:
    """Page position of the middle of a widget row."""
    local = page.evaluate(f"""([id, name]) => {{
        const node = {APP}.graph.getNodeById(id);
        const w = node.widgets.find((w) => w.name === name);
        return [node.size[0] / 2, (w.last_y ?? w.y) + LiteGraph.NODE_WIDGET_HEIGHT / 2];
    }}""", [node_id, name])
    return to_page(page, node_id, local)


def type_into_widget(page: Any, node_id: int, name: str, text: str) -> None:
    """Click a number widget's value (ComfyUI opens its value prompt), type ``text`` and press Enter."""
    page.evaluate(f"() => {APP}.canvas.draw(true, true)")  # lay widgets out before reading their positions
    page.mouse.click(*widget_center(page, node_id, name))
    field = page.locator(".graphdialog input").last
    try:
        field.wait_for(state="visible", timeout=5000)
    except Exception:
        save_screenshot(page, f"failed-prompt-{name}")
        raise
    field.fill(text)
    field.press("Enter")
    page.wait_for_function("() => !document.querySelector('.graphdialog input')", timeout=5000)


def timeline_point(page: Any, node_id: int, name: str, part: str = "marker") -> tuple[float, float]:
    """Page position of a timeline marker (its widget name) or window edge (start name, part start/end)."""
    page.evaluate(f"() => {APP}.canvas.draw(true, true)")
    local = page.evaluate(f"""([id, name, part]) => {{
        const node = {APP}.graph.getNodeById(id);
        return node.widgets.find((w) => w.name === "ltx2_timeline").locate(node, name, part);
    }}""", [node_id, name, part])
    assert local is not None, f"timeline of node {node_id} shows no {part} for {name}"
    return to_page(page, node_id, local)


def timeline_x_for_time(page: Any, node_id: int, seconds: float) -> float:
    """Page x of time ``seconds`` on a node's timeline."""
    local = page.evaluate(f"""([id, t]) => {{
        const node = {APP}.graph.getNodeById(id);
        return node.widgets.find((w) => w.name === "ltx2_timeline").locateTime(node, t);
    }}""", [node_id, seconds])
    return to_page(page, node_id, local)[0]


def drag(page: Any, start: tuple[float, float], end_x: float, steps: int = 8) -> None:
    """Press at ``start``, move horizontally to ``end_x`` in ``steps`` moves, release."""
    x0, y0 = start
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(x0 + (end_x - x0) * i / steps, y0)
    page.mouse.up()


def timeline_call(page: Any, node_id: int, method: str) -> Any:
    """``method(node, binding)`` of the timeline extension (js/timeline.js) for the node's timeline widget."""
    return page.evaluate(f"""(id) => {{
        const app = {APP};
        const node = app.graph.getNodeById(id);
        const timeline = app.extensions.find((e) => e.name === "LTX2Native.Timeline");
        return timeline.{method}(node, node.widgets.find((w) => w.name === "ltx2_timeline").binding);
    }}""", node_id)


def clip_of(page: Any, node_id: int) -> dict:
    """The clip length the node's timeline uses: {frames, fps, source}."""
    return timeline_call(page, node_id, "clipOf")
