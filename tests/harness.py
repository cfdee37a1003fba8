"""Headless ComfyUI host for node and graph tests (comfyui-integration.md §6.2), booted once per test session.

The boot code itself lives in ``scripts/comfy_headless.py`` (shared with the main job, ``scripts/generate.py``);
this module adds the pytest side: with ``CI=true`` a missing host fails the tests instead of skipping them, and the
session fixtures ``comfy_host`` / ``pack_nodes``. Test runs use isolated temporary model folders
(``ComfyHost.model_dir(kind)``).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest

from scripts import comfy_headless
from scripts.comfy_headless import (  # noqa: F401  (re-exported for the tests)
    MODEL_FOLDERS,
    PACK_NAME,
    REPO_ROOT,
    ComfyHost,
    PromptRejected,
    RunResult,
    comfy_root,
    node_info,
)


def require_comfy_root() -> Path:
    """The ComfyUI tree; skips the test without one, or fails it when ``CI=true``."""
    root = comfy_root()
    if root is None:
        message = "ComfyUI not found: set COMFYUI_PATH or install it at ~/comfy/ComfyUI"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return root


def boot(workdir: Path) -> ComfyHost:
    """Import ComfyUI in-process (CPU), load core nodes and this pack; idempotent within one process."""
    require_comfy_root()
    return comfy_headless.boot(workdir, isolated_models=True)


@pytest.fixture(scope="session")
def comfy_host(tmp_path_factory: pytest.TempPathFactory) -> ComfyHost:
    """The booted in-process ComfyUI with this pack loaded (one per test session)."""
    return boot(tmp_path_factory.mktemp("comfy_host"))


@pytest.fixture(scope="session")
def pack_nodes(comfy_host: ComfyHost) -> ModuleType:
    """The pack's ``nodes`` package as ComfyUI loaded it."""
    return comfy_host.pack_nodes
