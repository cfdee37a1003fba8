"""Fixtures of the reliability suite: one real ``main.py --cpu`` server per session (killed in teardown), its tiny
model folders, the prompt factory over its live ``/object_info``, and the in-process host (tests/harness.py)."""

from __future__ import annotations

import uuid

import pytest
from harness import comfy_host, pack_nodes, require_comfy_root  # noqa: F401  (fixtures)
from rel_models import RelModels, write_rel_models
from rel_prompts import PromptFactory
from rel_server import RelServer


@pytest.fixture(scope="session")
def rel_models(tmp_path_factory: pytest.TempPathFactory) -> RelModels:
    return write_rel_models(tmp_path_factory.mktemp("rel_models"))


@pytest.fixture(scope="session")
def rel_server(rel_models: RelModels, tmp_path_factory: pytest.TempPathFactory):
    """One ``main.py --cpu`` server for the whole session; always stopped in teardown."""
    root = require_comfy_root()
    server = RelServer(root, tmp_path_factory.mktemp("rel_server"), rel_models.root, rel_models.folder("input"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def factory(rel_server: RelServer) -> PromptFactory:
    info = rel_server.get("/object_info")
    assert any(n.startswith("LTX2N") for n in info), f"the server did not load the pack:\n{rel_server.log()}"
    return PromptFactory(info)


def good_prompt(prefix: str | None = None) -> dict:
    """A tiny valid prompt (pack empty AV latent -> core separate -> core SaveLatent of the video part; a new file
    name each time so it really runs)."""
    return {
        "latent": {"class_type": "LTX2NEmptyAVLatent",
                   "inputs": {"width": 64, "height": 64, "frames": 9, "fps": 25.0, "batch_size": 1}},
        "split": {"class_type": "LTXVSeparateAVLatent", "inputs": {"av_latent": ["latent", 0]}},
        "save": {"class_type": "SaveLatent",
                 "inputs": {"samples": ["split", 0], "filename_prefix": prefix or f"rel/ok_{uuid.uuid4().hex[:8]}"}},
    }


@pytest.fixture(scope="session")
def assert_server_healthy(rel_server: RelServer):
    """Callable: the server is alive and runs a good prompt to success (after a bad one)."""

    def check(after: str = "") -> None:
        assert rel_server.alive(), f"server died after {after}:\n{rel_server.log()}"
        outcome = rel_server.run(good_prompt())
        assert outcome.status == "success", f"good prompt failed after {after}: {outcome.messages()}"

    return check
