"""Shared pytest configuration: deterministic seeds, the manifests folder, test order.

The repository root (``scripts``, ``ltx_model``) and the shared test helpers are on the import path through
``pythonpath`` in ``pyproject.toml``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_REFERENCE = Path(os.environ.get("LTX2_SHARED", REPO_ROOT.parent / "shared")) / "reference"
MANIFESTS = SHARED_REFERENCE / "manifests"


def pytest_report_header(config: pytest.Config) -> str:
    """The ComfyUI host this run tests (scripts/test.sh runs the suite once per host)."""
    path = os.environ.get("COMFYUI_PATH") or str(Path.home() / "comfy" / "ComfyUI")
    version_file = Path(path) / "comfyui_version.py"
    version = version_file.read_text(encoding="utf-8").split('"')[1] if version_file.is_file() else "not found"
    return f"ComfyUI host: {version} at {path}"


@pytest.fixture(autouse=True)
def _seed() -> None:
    import torch

    torch.manual_seed(0)


@pytest.fixture(scope="session")
def manifests_dir() -> Path:
    """Folder holding the real-size checkpoint key/shape manifests (shared/reference/manifests)."""
    if not MANIFESTS.is_dir():
        pytest.fail(f"manifests not found at {MANIFESTS}; set LTX2_SHARED to the shared/ folder")
    return MANIFESTS


BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect empty parametrisations and run the real-browser tests last.

    A parametrisation that is empty on this host (e.g. no workflow files, no not-yet-supported core template) yields
    no test instead of pytest's skipped ``[NOTSET]`` item: nothing is skipped. Playwright's sync API keeps an asyncio
    loop running in the main thread until its session fixture is torn down (at the end of the run), and the
    in-process ComfyUI host needs to run its own loop in that thread.
    """
    empty = [item for item in items
             if any("empty parameter set" in str(mark.kwargs.get("reason", "")) for mark in item.iter_markers("skip"))]
    if empty:
        config.hook.pytest_deselected(items=empty)
    items[:] = sorted((item for item in items if item not in empty),
                      key=lambda item: BROWSER_TESTS in Path(str(item.path)).parents)
