"""Model download metadata and stage groups of the shipped workflows (no ComfyUI needed).

ComfyUI's frontend (1.43: ``getSelectedModelsMetadata`` / ``isModelDownloadable``) reads a node's
``properties.models`` entries ``{name, url, directory}`` whose ``name`` is one of the node's widget values, and offers
a download for a Hugging Face / Civitai URL of a ``.safetensors`` (.sft, .ckpt, .pth, .pt) file; core's templates
carry the same entries. Every model file and the Gemma folder a workflow names must have one, with the official URL.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scripts.workflow_downloads import DOWNLOADS
from scripts.workflow_layout import STAGE_COLORS, Stage
from scripts.workflow_models import MODEL_INPUTS
from scripts.workflow_models_ltx25 import LTX25_PARTS

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_FILES = sorted((REPO_ROOT / "workflows").glob("*.json"))
MODEL_NODE_TYPES = {t for (t, _), spec in MODEL_INPUTS.items() if spec.folder != "input"}
MODEL_VALUE = re.compile(r"(\.safetensors|/)$")
FRONTEND_SOURCES = ("https://civitai.com/", "https://huggingface.co/")
FRONTEND_SUFFIXES = (".safetensors", ".sft", ".ckpt", ".pth", ".pt")
OFFICIAL_REPOS = re.compile(r"^https://huggingface\.co/(Lightricks/LTX-2[\w.-]*|google/gemma-3-12b-it-qat-q4_0-unquantized)"
                            r"(/resolve/main/([\w.-]+/)?[\w.-]+)?$")  # LTX-2.5 keeps each part in a subfolder
GEMMA3_ENTRY = {"name": "gemma-3-12b-it-qat-q4_0-unquantized/", "directory": "text_encoders",
                "url": "https://huggingface.co/google/gemma-3-12b-it-qat-q4_0-unquantized"}
GEMMA4_ENTRY = {"name": "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors", "directory": "text_encoders",
                "url": "https://huggingface.co/Lightricks/LTX-2.5/resolve/main/text_encoders/"
                       "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors"}


@pytest.fixture(params=WORKFLOW_FILES, ids=[p.stem for p in WORKFLOW_FILES])
def workflow(request) -> dict:
    return json.loads(request.param.read_text(encoding="utf-8"))


def _model_values(node: dict) -> set[str]:
    return {v for v in node.get("widgets_values") or [] if isinstance(v, str) and MODEL_VALUE.search(v)}


def test_workflow_every_model_has_download_metadata(workflow):
    folders = {spec.folder for spec in MODEL_INPUTS.values()} | {part.folder for _, part in LTX25_PARTS}
    for node in workflow["nodes"]:
        if node["type"] not in MODEL_NODE_TYPES:
            continue
        entries = {e["name"]: e for e in node["properties"].get("models", [])}
        assert sorted(_model_values(node) - entries.keys()) == [], f"{node['type']} (node {node['id']})"
        for name, entry in entries.items():
            assert set(entry) == {"name", "url", "directory"} and entry["directory"] in folders, entry
            assert OFFICIAL_REPOS.match(entry["url"]), entry["url"]
            if name.endswith("/"):  # a Hugging Face folder: its repository page, to follow by hand
                assert "/resolve/" not in entry["url"]
                continue
            assert entry["url"].endswith(("/resolve/main/" + name, f"/resolve/main/{entry['directory']}/{name}"))
            assert entry["url"].startswith(FRONTEND_SOURCES) and name.endswith(FRONTEND_SUFFIXES)  # a download button


def test_workflow_gemma_folder_is_listed_for_the_missing_models_dialog(workflow):
    loaders = [n for n in workflow["nodes"] if n["type"] == "LTX2NTextEncoderLoader"]
    assert loaders
    for node in loaders:
        gemma = [e for e in node["properties"]["models"] if e["directory"] == "text_encoders"]
        assert gemma in ([GEMMA3_ENTRY], [GEMMA4_ENTRY])  # LTX-2 / 2.3: the Gemma 3 folder; LTX-2.5: one file


def test_workflow_note_gives_each_file_folder_and_size(workflow):
    (note,) = [n["widgets_values"][0] for n in workflow["nodes"] if n["type"] == "Note"]
    names = set().union(*(_model_values(n) for n in workflow["nodes"] if n["type"] in MODEL_NODE_TYPES))
    for name in names:
        (line,) = [line for line in note.splitlines() if line.strip().startswith(name)]
        size = DOWNLOADS[name].size
        assert "ComfyUI/models/" in line and line.endswith(f", {size}" if size else ", size: see its download page")


def test_workflow_stage_groups_hold_every_node(workflow):
    titles = [g["title"] for g in workflow["groups"]]
    assert titles == [s.value for s in Stage if s.value in titles] and {"Models", "Prompt", "Decode & Save"} <= set(
        titles)
    assert [g["color"] for g in workflow["groups"]] == [STAGE_COLORS[Stage(t)] for t in titles]
    lefts = [g["bounding"][0] for g in workflow["groups"]]
    assert lefts == sorted(lefts)  # left to right in data-flow order
    for node in workflow["nodes"]:
        x, y = node["pos"]
        w, h = node["size"]
        homes = [g for g in workflow["groups"] if g["bounding"][0] <= x and x + w <= sum(g["bounding"][0::2])
                 and g["bounding"][1] <= y - 30 and y + h <= sum(g["bounding"][1::2])]
        assert len(homes) == (0 if node["type"] == "Note" else 1), (node["type"], node["id"])
