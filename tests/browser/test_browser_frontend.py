"""The pack in ComfyUI's real frontend: its js extensions load cleanly and every shipped workflow opens.

``test_browser_workflow_loads`` is parametrized by the file stem of every ``workflows/*.json``; an empty folder yields
no test. Screenshots land in artifacts/browser/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_harness import PACK_NAME, REPO_ROOT, save_screenshot

pytestmark = pytest.mark.browser

JS_DIR = REPO_ROOT / "js"
JS_FILES = sorted(p.relative_to(JS_DIR).as_posix() for p in JS_DIR.rglob("*.js"))
EXTENSIONS = ("LTX2Native.SizeHelper", "LTX2Native.Timeline")
WORKFLOW_FILES = sorted((REPO_ROOT / "workflows").glob("*.json"))

LOAD_WORKFLOW = """async ({workflow, name}) => {
    const app = window.comfyAPI.app.app;
    const subgraphs = new Set((workflow.definitions?.subgraphs ?? []).map((s) => s.id));
    const known = (type) => subgraphs.has(type) || !!LiteGraph.registered_node_types[type];
    const declared = [workflow, ...(workflow.definitions?.subgraphs ?? [])].flatMap((g) => g.nodes ?? []);
    const missing = new Set(declared.map((n) => n.type).filter((t) => !known(t)));
    await app.loadGraphData(workflow, true, true, name);
    for (const node of app.graph.nodes) if (!known(node.type)) missing.add(node.type);
    if (app.graph.nodes.length) {  // frame the whole graph for the screenshot
        const rects = app.graph.nodes.map((n) => n.boundingRect);
        const x = Math.min(...rects.map((r) => r[0]));
        const y = Math.min(...rects.map((r) => r[1]));
        const w = Math.max(...rects.map((r) => r[0] + r[2])) - x;
        const h = Math.max(...rects.map((r) => r[1] + r[3])) - y;
        app.canvas.ds.fitToBounds?.([x, y, w, h], {zoom: 0.9});
    }
    app.canvas.setDirty(true, true);
    return {missing: [...missing].sort(), loaded: app.graph.nodes.length};
}"""


def test_browser_pack_extensions_load_without_errors(browser_session, comfy_server):
    page, console = browser_session
    listed = comfy_server.get_json("/extensions")
    prefix = f"/extensions/{PACK_NAME}/"
    assert sorted(url[len(prefix):] for url in listed if url.startswith(prefix)) == JS_FILES
    names = page.evaluate("() => window.comfyAPI.app.app.extensions.map((e) => e.name)")
    assert {name: names.count(name) for name in EXTENSIONS} == dict.fromkeys(EXTENSIONS, 1)
    pack_nodes = sorted(k for k in comfy_server.get_json("/object_info") if k.startswith("LTX2N"))
    assert pack_nodes, "the server registered no pack node (see the server log)"
    registered = page.evaluate("(ids) => ids.filter((id) => !!LiteGraph.registered_node_types[id])", pack_nodes)
    assert registered == pack_nodes
    save_screenshot(page, "browser-boot")
    assert console.errors() == [], "console errors while ComfyUI started with the pack"


@pytest.mark.parametrize("workflow_file", WORKFLOW_FILES, ids=[p.stem for p in WORKFLOW_FILES])
def test_browser_workflow_loads(page, console, workflow_file: Path):
    workflow = json.loads(workflow_file.read_text())
    mark = console.mark()
    result = page.evaluate(LOAD_WORKFLOW, {"workflow": workflow, "name": workflow_file.stem})
    page.wait_for_timeout(500)  # let asynchronous work triggered by the load report its errors
    save_screenshot(page, f"workflow-{workflow_file.stem}")
    assert result["missing"] == [], f"{workflow_file.name}: node types unknown to the frontend"
    assert result["loaded"] == len(workflow["nodes"])
    assert console.errors(mark) == [], f"console errors while loading {workflow_file.name}"
