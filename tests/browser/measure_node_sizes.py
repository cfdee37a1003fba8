"""Measure, once, the sizes ComfyUI's real frontend gives the nodes of the shipped workflows; write
``scripts/node_sizes.json`` (read by ``scripts/workflow_layout.py`` to place nodes without overlaps).

Run from the repository root with the venv of ``scripts/env.sh`` (needs Chromium and ComfyUI, like the browser
tests)::

    python tests/browser/measure_node_sizes.py

For every node type the workflows use, a node is created the way the frontend creates one (``LiteGraph.createNode``
with the pack's extensions: size helper rows, timeline strip, motion-track editor) and its ``computeSize()`` is
recorded. The widths of the printable ASCII characters in the frontend's widget font and title font are recorded
too, so the layout can make each node wide enough that no widget label, value or title is truncated.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from browser_harness import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, start_server

sys.path.insert(0, str(REPO_ROOT))

from scripts.build_workflows import node_types  # noqa: E402
from scripts.workflow_layout import NODE_SIZES  # noqa: E402

MEASURE = """async (types) => {
    const app = window.comfyAPI.app.app;
    const canvas = document.createElement("canvas").getContext("2d");
    const probe = LiteGraph.createNode(types[0]);
    const fonts = {widget: probe.innerFontStyle, title: probe.titleFontStyle};
    await Promise.all(Object.values(fonts).map((font) => document.fonts.load(font)));
    await document.fonts.ready;
    const chars = Array.from({length: 95}, (_, i) => String.fromCharCode(32 + i)).join("");
    const charWidths = {};
    for (const [role, font] of Object.entries(fonts)) {
        canvas.font = font;
        charWidths[role] = Object.fromEntries([...chars].map((c) => [c, +canvas.measureText(c).width.toFixed(3)]));
    }
    const nodes = {};
    for (const type of types) {
        const node = LiteGraph.createNode(type);
        app.graph.add(node);
        const size = node.computeSize();
        nodes[type] = [Math.ceil(Math.max(size[0], node.size[0])), Math.ceil(Math.max(size[1], node.size[1]))];
        app.graph.remove(node);
    }
    return {
        frontend: window.__COMFYUI_FRONTEND_VERSION__ ?? null, fonts, char_widths: charWidths,
        title_height: LiteGraph.NODE_TITLE_HEIGHT, widget_height: LiteGraph.NODE_WIDGET_HEIGHT, nodes,
    };
}"""


def measure() -> dict:
    from playwright.sync_api import sync_playwright

    root = Path.home() / "comfy" / "ComfyUI"
    server = start_server(root, Path(tempfile.mkdtemp(prefix="ltx2n-measure-")))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                 args=CHROMIUM_ARGS[1:])
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.goto(server.url + "/")
            page.wait_for_function("() => !!window.comfyAPI?.app?.app?.graph", timeout=120_000)
            page.wait_for_load_state("networkidle")
            data = page.evaluate(MEASURE, sorted(node_types() - {"Note"}))
            browser.close()
        data["comfyui"] = server.get_json("/system_stats")["system"]["comfyui_version"]
        return data
    finally:
        server.stop()


if __name__ == "__main__":
    NODE_SIZES.write_text(json.dumps(measure(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {NODE_SIZES.relative_to(REPO_ROOT)}\n")
