"""The audio waveform strip (js/previews.js) in ComfyUI's frontend: an "executed" message carrying the decode node's
waveform summary (nodes/previews.py waveform_ui) draws a strip on Decode Audio (LTX-2); the strip is UI only."""

from __future__ import annotations

import pytest
from browser_harness import save_screenshot
from browser_page import APP, add_node, to_page

pytestmark = pytest.mark.browser

PEAKS = [0.0] * 40 + [1.0] * 20 + [0.1] * 60  # silence, a loud burst, quiet tail
SUMMARY = {"peaks": PEAKS, "seconds": 2.5, "sample_rate": 24000}


def _dispatch_executed(page, node_id: int, output: dict) -> None:
    """Send the page an "executed" event as the server does after a node ran (same path as a real run)."""
    page.evaluate("""([id, output]) => {
        const api = window.comfyAPI.api.api;
        api.dispatchCustomEvent("executed", {node: String(id), display_node: String(id), output, prompt_id: "t"});
    }""", [node_id, output])


def _strip(page, node_id: int) -> dict | None:
    return page.evaluate(f"""(id) => {{
        const app = {APP};
        app.canvas.draw(true, true);
        const node = app.graph.getNodeById(id);
        const w = node.widgets?.find((w) => w.name === "ltx2_waveform");
        if (!w) return null;
        return {{peaks: w.summary.peaks, seconds: w.summary.seconds, box: w.stripBox(node),
                 saved: node.serialize().widgets_values ?? []}};
    }}""", node_id)


def _pixel(page, x: float, y: float) -> list[int]:
    """RGBA of the graph canvas at page position (x, y)."""
    return page.evaluate(f"""([x, y]) => {{
        const canvas = {APP}.canvas.canvas;
        const rect = canvas.getBoundingClientRect();
        const scale = canvas.width / rect.width;
        const data = canvas.getContext("2d").getImageData((x - rect.left) * scale, (y - rect.top) * scale, 1, 1);
        return Array.from(data.data);
    }}""", [x, y])


def test_browser_previews_waveform_strip_on_decode_audio(page, console):
    mark = console.mark()
    node = add_node(page, "LTX2NDecodeAudio", pos=(120, 80), width=360)
    assert _strip(page, node) is None  # nothing before the node ran
    saved_before = page.evaluate(f"(id) => {APP}.graph.getNodeById(id).serialize().widgets_values ?? []", node)
    _dispatch_executed(page, node, {"ltx2_waveform": [SUMMARY]})
    strip = _strip(page, node)
    save_screenshot(page, "previews-waveform-decode-audio")
    assert strip is not None and strip["peaks"] == PEAKS and strip["seconds"] == 2.5
    assert strip["saved"] == saved_before  # UI only: not in the saved workflow
    x, y, width, height = strip["box"]
    loud = _pixel(page, *to_page(page, node, [x + width * 50 / 120, y + height * 0.2]))  # inside the burst
    silent = _pixel(page, *to_page(page, node, [x + width * 20 / 120, y + height * 0.2]))  # above silence
    # the wave colour #5c9 (blended by the node's drawing alpha) where it is loud, the dark strip where it is silent
    assert loud[1] - loud[0] > 60 and loud[1] - loud[2] > 20, loud
    assert max(silent[:3]) - min(silent[:3]) < 10 and max(silent[:3]) < 60, silent
    _dispatch_executed(page, node, {"ltx2_waveform": [{**SUMMARY, "peaks": [0.5] * 10}]})  # a new run replaces it
    assert _strip(page, node)["peaks"] == [0.5] * 10
    assert console.errors(mark) == []


def test_browser_previews_no_strip_without_waveform_output(page, console):
    mark = console.mark()
    node = add_node(page, "LTX2NDecodeAudio", pos=(120, 80))
    _dispatch_executed(page, node, {"text": ["no waveform here"]})
    assert _strip(page, node) is None
    assert console.errors(mark) == []
