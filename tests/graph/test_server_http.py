"""The t2v-distilled workflow through a real ``main.py --cpu`` server over HTTP (comfyui-integration.md §6.3).

The server loads the pack from a temporary ``custom_nodes`` folder (a symlink to this repository) named in an
``--extra-model-paths-config`` YAML, together with the tiny model folders. The workflow is converted against the
server's own ``/object_info``, shrunk, posted to ``/prompt`` and ``/history`` is polled until it ends; the mp4 it
reports must hold one h264 and one aac stream with the expected frames, size, fps and duration.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from comfy_server import ComfyServer
from graph_support import check_mp4, shrink
from harness import require_comfy_root

from scripts.workflow_api import load_workflow, saved_files

pytestmark = pytest.mark.graph

WORKFLOWS_DIR = Path(__file__).resolve().parents[2] / "workflows"


@pytest.fixture(scope="module")
def server(model_store, tmp_path_factory):
    root = require_comfy_root()
    comfy = ComfyServer(root, tmp_path_factory.mktemp("http_server"), model_store.root, model_store.folder("input"))
    try:
        comfy.start()
        yield comfy
    finally:
        comfy.stop()


def test_server_http_runs_t2v_distilled(server, model_store):
    from comfy_cli.workflow_to_api import convert_ui_to_api

    path = sorted(WORKFLOWS_DIR.glob("t2v-distilled*.json"))[0]
    object_info = server.get("/object_info")
    assert "LTX2NSampler" in object_info, "the server did not load the pack"
    prompt = convert_ui_to_api(load_workflow(path), object_info)
    expected = shrink(prompt)
    model_store.ensure(prompt)
    entry = server.wait(server.queue(prompt))
    assert entry["status"]["status_str"] == "success", entry["status"].get("messages")
    (video,) = saved_files(entry["outputs"], server.output_dir)
    check_mp4(video, expected)
    assert server.process.poll() is None, "the server is still up after the run"
