"""Fixtures of the in-process ComfyUI host (see tests/harness.py) and the tiny demo models of the node tests."""

import pytest
from harness import comfy_host, pack_nodes  # noqa: F401  (pytest fixtures)
from node_support import DemoFiles, write_demo_files


@pytest.fixture(scope="session")
def demo_files(comfy_host) -> DemoFiles:  # noqa: F811
    """Tiny demo checkpoints (2.3 dev, 19B distilled) and upscaler in the host's model folders."""
    return write_demo_files(comfy_host)


@pytest.fixture(scope="session")
def demo_models(pack_nodes, demo_files) -> dict:  # noqa: F811
    """``{"2.3-dev": MODEL, "19b-distilled": MODEL}`` loaded once by the pack's checkpoint loader."""
    load = pack_nodes.loaders.LTX2NCheckpointLoader.execute
    return {"2.3-dev": load(ckpt_name=demo_files.ltx23_dev).result[0],
            "19b-distilled": load(ckpt_name=demo_files.ltx2_distilled).result[0]}


@pytest.fixture
def progress_calls(monkeypatch):
    """Every ``ProgressBar.update_absolute`` call as (value, total) (the UI hook itself is rate-limited)."""
    import comfy.utils

    calls = []

    class Recorder(comfy.utils.ProgressBar):
        def update_absolute(self, value, total=None, preview=None):
            calls.append((value, total))
            super().update_absolute(value, total, preview)

    monkeypatch.setattr(comfy.utils, "ProgressBar", Recorder)
    return calls
