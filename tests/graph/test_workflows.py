"""Workflows through the real host: UI format -> API format (comfy-cli's converter against live schemas) -> run.

``test_workflow_file`` is parametrized over every ``workflows/*.json`` file stem, so each shipped workflow runs: tiny
demo model files are written under exactly the names it references, sizes are shrunk (64x64, 9 frames, 2 steps),
and the saved mp4 must hold one h264 and one aac stream with the expected frames, size, fps and duration.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graph_support import check_mp4, is_video_only, shrink
from harness import PromptRejected
from modes_audio_support import is_audio_only, run_audio_only
from modes_temporal_support import tiny_overrides
from safetensors.torch import load_file

from scripts.workflow_api import load_workflow, saved_files

pytestmark = pytest.mark.graph

WORKFLOWS_DIR = Path(__file__).resolve().parents[2] / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS_DIR.glob("*.json"))


def _ui_node(node_id: int, node_type: str, widgets: list, inputs: list, outputs: list) -> dict:
    return {"id": node_id, "type": node_type, "mode": 0, "widgets_values": widgets, "inputs": inputs,
            "outputs": outputs}


def _latent_in(name: str, link: int) -> dict:
    return {"name": name, "type": "LATENT", "link": link}


def _latent_out(name: str, links: list[int]) -> dict:
    return {"name": name, "type": "LATENT", "links": links}


def av_split_ui_workflow(width: int, height: int, frames: int, fps: float) -> dict:
    """UI-format graph: Empty Audio+Video Latent -> core LTXVSeparateAVLatent -> two core SaveLatent nodes."""
    return {
        "nodes": [
            _ui_node(1, "LTX2NEmptyAVLatent", [width, height, frames, fps, 1, "one stage"], [],
                     [_latent_out("av_latent", [1])]),
            _ui_node(2, "LTXVSeparateAVLatent", [], [_latent_in("av_latent", 1)],
                     [_latent_out("video_latent", [2]), _latent_out("audio_latent", [3])]),
            _ui_node(3, "SaveLatent", ["ltx2n/video"], [_latent_in("samples", 2)], []),
            _ui_node(4, "SaveLatent", ["ltx2n/audio"], [_latent_in("samples", 3)], []),
        ],
        "links": [[1, 1, 0, 2, 0, "LATENT"], [2, 2, 0, 3, 0, "LATENT"], [3, 2, 1, 4, 0, "LATENT"]],
        "groups": [], "extra": {}, "version": 0.4,
    }


def test_workflow_folder_listing_matches_host(comfy_host):
    assert WORKFLOWS_DIR.is_dir()
    assert [p for p in WORKFLOWS_DIR.iterdir() if p.is_dir()] == [], "workflows/ must stay flat"
    listed = comfy_host.workflow_templates().get("ltx2_native", [])
    assert sorted(listed) == sorted(p.stem for p in WORKFLOW_FILES)


def test_workflow_files_match_generator(comfy_host):
    """The committed files are exactly what scripts/build_workflows.py makes from the reference schemas, and every
    description builds against this host's live schemas (inputs, combo values and links valid here)."""
    from scripts.build_workflows import expected_files, host_problems
    from scripts.workflow_schemas import load_snapshot

    expected = expected_files(load_snapshot()["nodes"])
    assert sorted(p.name for p in expected) == sorted(p.name for p in WORKFLOW_FILES)
    stale = [p.name for p, text in expected.items() if p.read_text(encoding="utf-8") != text]
    assert stale == [], "regenerate with: python scripts/build_workflows.py (on the reference host)"
    assert host_problems(comfy_host.object_info()) == []


def test_workflow_reference_schemas_are_the_reference_hosts(comfy_host):
    """On the host the snapshot was taken from, the snapshot equals its live schemas (it cannot rot); on any other
    host the snapshot names another version (the files are built on the oldest supported host)."""
    from scripts.build_workflows import node_types
    from scripts.workflow_schemas import load_snapshot, snapshot

    reference = load_snapshot()
    live = snapshot(comfy_host.object_info(), node_types(), comfy_host.version)
    if comfy_host.version == reference["comfyui_version"]:
        assert live == reference, "refresh with: python scripts/build_workflows.py"
    else:
        assert live["nodes"].keys() == reference["nodes"].keys()  # every node the workflows use exists here


def test_workflow_ui_to_api_conversion_runs(comfy_host):
    prompt = comfy_host.ui_to_api(av_split_ui_workflow(96, 64, 17, 24.0))
    assert prompt["1"] == {"class_type": "LTX2NEmptyAVLatent", "_meta": {"title": "Empty Audio+Video Latent (LTX-2)"},
                           "inputs": {"width": 96, "height": 64, "frames": 17, "fps": 24.0, "batch_size": 1,
                                      "stages": "one stage"}}
    assert prompt["2"]["inputs"] == {"av_latent": ["1", 0]}
    result = comfy_host.run(prompt)
    assert result.success, result.error()
    saved = {nid: result.ui_outputs[nid]["latents"][0] for nid in ("3", "4")}
    out = comfy_host.output_dir
    video = load_file(str(out / saved["3"]["subfolder"] / saved["3"]["filename"]))["latent_tensor"]
    audio = load_file(str(out / saved["4"]["subfolder"] / saved["4"]["filename"]))["latent_tensor"]
    assert tuple(video.shape) == (1, 128, 3, 2, 3)
    assert tuple(audio.shape) == (1, 8, round(17 / 24 * 25), 16)


def test_workflow_bad_frames_rejected_before_running(comfy_host):
    with pytest.raises(PromptRejected) as info:
        comfy_host.validate(comfy_host.ui_to_api(av_split_ui_workflow(96, 64, 20, 24.0)))
    assert "1 + 8k" in json.dumps(info.value.node_errors)


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=[p.stem for p in WORKFLOW_FILES])
def test_workflow_file(graph_host, model_store, path):
    prompt = graph_host.ui_to_api(load_workflow(path))
    ours = set(graph_host.pack.NODE_CLASS_MAPPINGS)
    foreign = sorted({n["class_type"] for n in prompt.values()} - ours - graph_host.core_node_ids)
    assert foreign == [], f"{path.name} uses nodes that are neither ours nor core"
    if is_audio_only(prompt):  # text-to-audio: no video exists; one audio file (stereo, the shrunk length)
        run_audio_only(graph_host, model_store, prompt, path.stem)
        return
    expected = shrink(prompt, tiny_overrides(prompt))
    written = model_store.ensure(prompt)
    assert written, f"{path.name} references no model files"
    result = graph_host.run(prompt)
    assert result.success, result.error()
    (video,) = saved_files(result.ui_outputs, graph_host.output_dir)
    assert video.parent.name == "LTX-2" and video.name.startswith(path.stem)
    check_mp4(video, expected, video_only=is_video_only(prompt))  # HDR IC-LoRA: no audio, as Lightricks'
