"""Fixtures of the graph tests: the in-process ComfyUI host (tests/harness.py) and the shared tiny model store."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import comfy_host, pack_nodes  # noqa: F401  (pytest fixtures)

from scripts.comfy_headless import MODEL_FOLDERS, ComfyHost

from graph_support import ModelStore  # isort: skip


@pytest.fixture(scope="session")
def model_store(tmp_path_factory: pytest.TempPathFactory) -> ModelStore:
    """Tiny demo model files, written on demand under the names the workflows reference (one per session)."""
    return ModelStore(tmp_path_factory.mktemp("ltx2n_models"))


@pytest.fixture(scope="session")
def graph_host(comfy_host: ComfyHost, model_store: ModelStore) -> ComfyHost:  # noqa: F811
    """The in-process host with the model store's folders (and its input folder) registered."""
    import folder_paths

    for kind in MODEL_FOLDERS:
        folder_paths.add_model_folder_path(kind, str(model_store.folder(kind)))
    folder_paths.set_input_directory(str(model_store.folder("input")))
    return comfy_host


def workflow_files() -> list[Path]:
    """Every shipped workflow (parametrization source)."""
    return sorted((Path(__file__).resolve().parents[2] / "workflows").glob("*.json"))
