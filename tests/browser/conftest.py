"""Fixtures of the real-browser tests: one ComfyUI server and one Chromium page for the whole session.

Without Chromium, Playwright or ComfyUI the tests are skipped, except with ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import CHROMIUM, CHROMIUM_ARGS, ComfyServer, ConsoleLog, start_server

# The app object exists early; packs' extensions are imported after it, and the start-up workflow is loaded last
# (the graph's placeholder id is all zeros until then). Tests start only after that load.
APP_READY = """() => {
    const app = window.comfyAPI?.app?.app;
    return !!(app?.canvas && app.graph && app.graph.id !== "00000000-0000-0000-0000-000000000000");
}"""
EMPTY_WORKFLOW = {"last_node_id": 0, "last_link_id": 0, "nodes": [], "links": [], "groups": [], "config": {},
                  "extra": {}, "version": 0.4}


def _missing(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _comfy_root() -> Path:
    root = Path(os.environ.get("COMFYUI_PATH") or Path.home() / "comfy" / "ComfyUI").expanduser()
    if not (root / "main.py").is_file():
        _missing(f"ComfyUI not found at {root}: set COMFYUI_PATH or install it at ~/comfy/ComfyUI")
    return root


@pytest.fixture(scope="session")
def comfy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComfyServer]:
    """``main.py`` with this pack loaded, on a free port, for the whole session."""
    server = start_server(_comfy_root(), tmp_path_factory.mktemp("browser_host"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser_session(request: pytest.FixtureRequest) -> Iterator[tuple[Any, ConsoleLog]]:
    """(page, console log): ComfyUI's frontend opened once in headless Chromium, the app fully started."""
    if not CHROMIUM.is_file():
        _missing(f"{CHROMIUM} not found: run scripts/install_browser.sh")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (Python) is not installed: pip install -r tests/requirements.txt")
    comfy_server: ComfyServer = request.getfixturevalue("comfy_server")  # only once the browser side is there
    log = ConsoleLog()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS[1:])
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.on("console", lambda m: log.add(m.type, m.text, (m.location or {}).get("url", "")))
            page.on("pageerror", lambda e: log.add("pageerror", str(e)))
            page.goto(comfy_server.url + "/")
            page.wait_for_function(APP_READY, timeout=120_000)
            page.wait_for_load_state("networkidle")
            yield page, log
        finally:
            browser.close()


@pytest.fixture()
def page(browser_session: tuple[Any, ConsoleLog]) -> Any:
    """The shared page with an empty graph at zoom 1, scrolled to the origin."""
    page, _ = browser_session
    page.evaluate("""async (empty) => {
        const app = window.comfyAPI.app.app;
        document.querySelectorAll('.graphdialog').forEach((d) => d.close?.() ?? d.remove());
        // An empty workflow is loaded rather than graph.clear() called: widget values live in a store keyed by
        // graph id, node id and widget name, and clear() leaves the graph with the all-zeros id. Frontend 1.43
        // overwrites a store entry when a widget registers; 1.49 reuses an existing one, so after a second clear()
        // new nodes would take the values of the previous test's nodes with the same ids. Loading a workflow gives
        // the graph a new id.
        await app.loadGraphData(empty, true, false, null);
        app.canvas.ds.scale = 1;
        app.canvas.ds.offset = [0, 0];
        app.canvas.setDirty(true, true);
    }""", EMPTY_WORKFLOW)
    return page


@pytest.fixture()
def console(browser_session: tuple[Any, ConsoleLog]) -> ConsoleLog:
    """The page's console log (shared by the session; use ``mark()`` / ``errors(since=...)``)."""
    return browser_session[1]
