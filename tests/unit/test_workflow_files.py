"""Static checks of the shipped workflows (no ComfyUI needed): format, node ids, Note, links, mp4 output, slugs.

Node ids must be the pack's own (``LTX2N*`` classes defined in ``nodes/``) or ComfyUI core ids from the stored
list ``tests/data/core_node_ids.json`` (core + comfy_extras of the host version named there; no API nodes, no
third-party packs).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from scripts.workflow_api import VIDEO_ONLY_NODES

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = REPO_ROOT / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS_DIR.glob("*.json"))
REQUIRED_SLUGS = ("t2v-distilled", "t2v-two-stage", "t2v-full", "i2v", "flf")
UI_ONLY = frozenset({"Note", "MarkdownNote"})
FILE_VALUE = re.compile(r"\.(safetensors|png|jpg|jpeg|webp)$", re.IGNORECASE)


def _pack_node_ids() -> set[str]:
    ids: set[str] = set()
    for path in (REPO_ROOT / "nodes").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        ids |= {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name.startswith("LTX2N")}
    return ids


def _core_node_ids() -> set[str]:
    return set(json.loads((REPO_ROOT / "tests" / "data" / "core_node_ids.json").read_text())["node_ids"])


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _note_text(workflow: dict) -> str:
    return "\n".join(str(v) for n in workflow["nodes"] if n["type"] in UI_ONLY for v in n.get("widgets_values", []))


@pytest.fixture(params=WORKFLOW_FILES, ids=[p.stem for p in WORKFLOW_FILES])
def workflow(request) -> dict:
    return _load(request.param)


def test_workflow_required_slugs_present_and_folder_flat():
    stems = [p.stem for p in WORKFLOW_FILES]
    missing = [slug for slug in REQUIRED_SLUGS if not any(stem.startswith(slug) for stem in stems)]
    assert missing == [], f"no workflow file for {missing}"
    assert [p.name for p in WORKFLOWS_DIR.iterdir() if p.is_dir()] == [], "workflows/ must stay flat"
    assert all(p.suffix == ".json" for p in WORKFLOWS_DIR.iterdir()), "only .json workflows in workflows/"


def test_workflow_is_flat_ui_format(workflow):
    assert isinstance(workflow["nodes"], list) and isinstance(workflow["links"], list)
    assert not workflow.get("definitions", {}).get("subgraphs"), "no subgraphs: every node at the top level"
    assert not workflow.get("extra", {}).get("groupNodes"), "no legacy group nodes"
    ids = [n["id"] for n in workflow["nodes"]]
    assert len(ids) == len(set(ids))
    assert workflow["last_node_id"] == max(ids)
    assert workflow["last_link_id"] == max((link[0] for link in workflow["links"]), default=0)
    assert all(n.get("mode", 0) == 0 for n in workflow["nodes"]), "no muted or bypassed nodes"


def test_workflow_uses_only_pack_and_core_nodes(workflow):
    allowed = _pack_node_ids() | _core_node_ids() | UI_ONLY
    assert sorted({n["type"] for n in workflow["nodes"]} - allowed) == []


def test_workflow_links_are_consistent(workflow):
    nodes = {n["id"]: n for n in workflow["nodes"]}
    for link_id, src, src_slot, dst, dst_slot, link_type in workflow["links"]:
        assert link_id in nodes[src]["outputs"][src_slot]["links"]
        target = nodes[dst]["inputs"][dst_slot]
        assert target["link"] == link_id and target["type"] == link_type
    linked = {link[0] for link in workflow["links"]}
    for node in workflow["nodes"]:
        for slot in node.get("inputs", []):
            assert slot.get("link") is None or slot["link"] in linked
            if slot.get("widget") is None:  # a socket-only input must be connected (nothing optional left open)
                assert slot.get("link") is not None or slot.get("shape") == 7, f"{node['type']}.{slot['name']}"


def test_workflow_note_names_every_file(workflow):
    note = _note_text(workflow)
    assert note, "a Note node says which model files the workflow needs and where"
    files = {v for n in workflow["nodes"] if n["type"] not in UI_ONLY for v in n.get("widgets_values", [])
             if isinstance(v, str) and FILE_VALUE.search(v)}
    assert files, "the workflow references its model files by name"
    assert sorted(f for f in files if f not in note) == []
    assert ("models/checkpoints" in note or "models/diffusion_models" in note) and "models/text_encoders" in note


AUDIO_SAVES = ("SaveAudio", "SaveAudioMP3", "SaveAudioOpus")


def test_workflow_ends_in_mp4_with_audio(workflow):
    nodes = {n["id"]: n for n in workflow["nodes"]}
    audio_saves = [n for n in workflow["nodes"] if n["type"] in AUDIO_SAVES]
    if audio_saves and not any(n["type"] in ("CreateVideo", "SaveVideo") for n in workflow["nodes"]):
        # text-to-audio: no video exists; it ends in one core audio save node fed by Decode Audio (LTX-2)
        (save,) = audio_saves
        source = nodes[next(link[1] for link in workflow["links"] if link[0] == save["inputs"][0]["link"])]
        assert source["type"] == "LTX2NDecodeAudio"
        return
    saves = [n for n in workflow["nodes"] if n["type"] == "SaveVideo"]
    assert len(saves) == 1
    assert saves[0]["widgets_values"][1:] == ["mp4", "h264"]
    link = {link[0]: link for link in workflow["links"]}
    source = nodes[link[saves[0]["inputs"][0]["link"]][1]]
    assert source["type"] == "CreateVideo"
    slots = {s["name"]: s for s in source["inputs"]}
    video_only = any(n["type"] in VIDEO_ONLY_NODES for n in workflow["nodes"])  # HDR IC-LoRA: no audio stream
    assert slots["images"]["link"] is not None and (slots["audio"]["link"] is None) == video_only
