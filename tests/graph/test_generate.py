"""The main job (scripts/generate.py): model resolution in the in-process host, and one headless demo run.

The end-to-end run is a subprocess (its own in-process ComfyUI) forced to demo weights (``--demo``), so it does not
depend on what the machine's model folders hold; the real-weights detection is tested in-process with files
under the official names.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from graph_support import ExpectedVideo, check_mp4
from harness import REPO_ROOT

from scripts import generate
from scripts.model_resolution import DEMO_PREFIX, resolve_models
from scripts.workflow_api import load_workflow
from scripts.workflow_models import ModelKind, model_refs
from scripts.workflow_specs import CKPT_DISTILLED, GEMMA
from scripts.workflow_specs_ltx25 import TEXT_ENCODER, TRANSFORMER_DISTILLED

pytestmark = pytest.mark.graph

T2V = sorted((REPO_ROOT / "workflows").glob("t2v-distilled*.json"))[0]
T2V_25 = REPO_ROOT / "workflows" / "ltx25-t2v-distilled.json"


@pytest.fixture
def t2v_prompt(graph_host, model_store) -> dict:
    prompt = graph_host.ui_to_api(load_workflow(T2V))
    model_store.ensure(prompt)  # the official names, present in the host's folders
    return prompt


def _checkpoint_names(prompt: dict) -> set[str]:
    return {r.name for r in model_refs(prompt) if r.kind is ModelKind.CHECKPOINT}


def test_generate_uses_real_files_under_the_workflow_names(t2v_prompt):
    resolution = resolve_models(t2v_prompt)
    assert not resolution.demo
    assert _checkpoint_names(t2v_prompt) == {CKPT_DISTILLED}
    assert f"using text_encoders/{GEMMA}" in resolution.report


def test_generate_substitutes_another_ltx2_checkpoint(t2v_prompt):
    import folder_paths

    for node in t2v_prompt.values():
        for name, value in node["inputs"].items():
            if value == CKPT_DISTILLED:
                node["inputs"][name] = "ltx-2.3-22b-distilled-9.9.safetensors"  # not on disk
    resolution = resolve_models(t2v_prompt)
    assert not resolution.demo
    (chosen,) = _checkpoint_names(t2v_prompt)
    assert chosen in folder_paths.get_filename_list("checkpoints")
    assert re.search(r"ltx-?2.*distilled", chosen, re.IGNORECASE) and not chosen.startswith(DEMO_PREFIX)


def test_generate_demo_files_under_prefixed_names(t2v_prompt, tmp_path):
    import folder_paths

    resolution = resolve_models(t2v_prompt, force_demo=True, cache=tmp_path)
    assert resolution.demo
    (chosen,) = _checkpoint_names(t2v_prompt)
    assert chosen == DEMO_PREFIX + CKPT_DISTILLED
    assert folder_paths.get_full_path("checkpoints", chosen) == str(tmp_path / "checkpoints" / chosen)
    assert (tmp_path / "text_encoders" / (DEMO_PREFIX + GEMMA) / "config.json").is_file()


@pytest.fixture
def both_models(graph_host, model_store, t2v_prompt) -> None:
    """The LTX-2.3 files of t2v-distilled and the LTX-2.5 split files of ltx25-t2v-distilled, under their names."""
    model_store.ensure(graph_host.ui_to_api(load_workflow(T2V_25)))


def _choose(graph_host, *options: str, cache=None):
    args = generate.parse_args(["a prompt", *options])
    return generate.choose_workflow(graph_host, generate.candidate_workflows(args), force_demo=args.demo,
                                    cache=cache)


def test_generate_prefers_ltx25_when_both_are_present(graph_host, both_models):
    path, prompt, resolution = _choose(graph_host)
    assert path == T2V_25 and not resolution.demo
    assert f"using diffusion_models/{TRANSFORMER_DISTILLED}" in resolution.report
    assert f"using text_encoders/{TEXT_ENCODER}" in resolution.report
    assert {r.folder for r in model_refs(prompt)} == {"diffusion_models", "text_encoders", "vae"}


def test_generate_model_option_picks_ltx23(graph_host, both_models):
    path, prompt, resolution = _choose(graph_host, "--model", "ltx-2.3")
    assert path == T2V and not resolution.demo
    assert _checkpoint_names(prompt) == {CKPT_DISTILLED}


def test_generate_ltx25_parts_found_under_other_names(graph_host, both_models):
    prompt = graph_host.ui_to_api(load_workflow(T2V_25))
    for node in prompt.values():  # the published names of another precision, not on disk
        for name, value in node["inputs"].items():
            if isinstance(value, str) and value.endswith("-bf16.safetensors"):
                node["inputs"][name] = value.replace("-bf16", "-fp8")
    resolution = resolve_models(prompt)
    assert not resolution.demo
    assert f"using diffusion_models/{TRANSFORMER_DISTILLED}" in resolution.report


def test_generate_ltx25_demo_files_are_25_parts(graph_host, tmp_path):
    import folder_paths

    path, prompt, resolution = _choose(graph_host, "--model", "ltx-2.5", "--demo", cache=tmp_path)
    assert path == T2V_25 and resolution.demo
    refs = model_refs(prompt)
    assert refs and all(r.kind is ModelKind.LTX25 and r.name.startswith(DEMO_PREFIX) for r in refs)
    name = DEMO_PREFIX + TRANSFORMER_DISTILLED
    assert folder_paths.get_full_path("diffusion_models", name) == str(tmp_path / "diffusion_models" / name)


@pytest.mark.parametrize(("model", "workflow"), [([], "t2v-distilled.json"),
                                               (["--model", "ltx-2.5"], "ltx25-t2v-distilled.json")])
def test_generate_headless_demo_run_writes_mp4(tmp_path, model, workflow):
    command = [sys.executable, str(REPO_ROOT / "scripts" / "generate.py"), "a small test clip", "--demo", *model,
               "--device", "cpu", "--width", "64", "--height", "64", "--frames", "9", "--output", str(tmp_path)]
    env = {**os.environ, "LTX2_DEMO_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("NOTICE: ") == 2 and "RANDOM demo weights" in run.stdout
    assert f"workflow: {workflow}" in run.stdout
    written = [Path(line.removeprefix("wrote ")) for line in run.stdout.splitlines() if line.startswith("wrote ")]
    assert len(written) == 1 and written[0].parent.parent == tmp_path
    check_mp4(written[0], ExpectedVideo(64, 64, 9, 24.0))


def test_generate_rejected_prompt_prints_pack_message_once(tmp_path):
    workflow = json.loads(T2V.read_text())
    (latent,) = [n for n in workflow["nodes"] if n["type"] == "LTX2NEmptyAVLatent"]
    latent["widgets_values"][3] = 300.0  # fps above the node's max (240): refused by its validate_inputs; the
    bad = tmp_path / "bad-fps.json"       # sizes are not used, as demo runs replace them
    bad.write_text(json.dumps(workflow))
    command = [sys.executable, str(REPO_ROOT / "scripts" / "generate.py"), "x", "--demo", "--device", "cpu",
               "--workflow", str(bad), "--output", str(tmp_path)]
    env = {**os.environ, "LTX2_DEMO_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1", "LTX2_PROG": "demo.sh"}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Traceback" not in run.stderr and "ERROR:root" not in run.stderr and "{" not in run.stderr, run.stderr
    refused = [line for line in run.stderr.splitlines() if line.startswith("demo.sh: error: ")]
    assert len(refused) == 1 and "300" in refused[0], run.stderr
    assert refused[0].startswith(f"demo.sh: error: LTX2NEmptyAVLatent (node {latent['id']}): fps "), refused
    assert "size: 384x256, 49 frames at 300 fps (the demo's small default" in run.stdout
