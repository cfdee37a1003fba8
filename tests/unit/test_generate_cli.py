"""The headless demo's command line (scripts/generate.py, run by scripts/demo.sh): bad sizes are refused before
ComfyUI starts, one line each, exit 2; a prompt ComfyUI refuses is reported with the pack's message once; the run
says which size it uses and why."""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

import pytest

from scripts import generate
from scripts.comfy_headless import PromptRejected

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_boot(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("ComfyUI was started")

    monkeypatch.setattr(generate, "boot", refuse)
    monkeypatch.setenv(generate.PROG_ENV, "demo.sh")


@pytest.mark.parametrize(("options", "expected"), [
    (["--frames", "10"], ["demo.sh: error: --frames must be 1 + 8k frames (1, 9, 17, ..., 97, 121); got 10, "
                          "nearest valid: 9"]),
    (["--width", "100"], ["demo.sh: error: --width must be a multiple of 32; got 100, nearest valid: 96"]),
    (["--width", "100", "--height", "8", "--frames", "0", "--fps", "0"], [
        "demo.sh: error: --width must be a multiple of 32; got 100, nearest valid: 96",
        "demo.sh: error: --height must be a multiple of 32; got 8, nearest valid: 32",
        "demo.sh: error: --frames must be at least 1 (1 + 8k: 1, 9, 17, ..., 121); got 0",
        "demo.sh: error: --fps must be > 0 (got 0.0)"]),
])
def test_generate_bad_sizes_one_line_each_before_comfyui(no_boot, capsys, options, expected):
    assert generate.main(["x", *options]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == expected and captured.out == ""


def test_generate_two_stage_workflow_needs_multiples_of_64(no_boot, capsys):
    two_stage = sorted((REPO / "workflows").glob("t2v-two-stage*.json"))[0]
    assert generate.main(["x", "--workflow", str(two_stage), "--width", "800"]) == 2
    assert "--width must be a multiple of 64 for this two-stage workflow; got 800" in capsys.readouterr().err


def test_demo_sh_help_names_demo_sh():
    env = {**os.environ, "LTX2_PROG": ""}  # demo.sh sets it itself
    run = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh"), "--help"], capture_output=True, text=True,
                         env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: demo.sh ") and "generate.py" not in run.stdout


def test_prompt_rejected_problems_each_once():
    message = "frames must be 1 + 8k frames (1, 9, 17, ..., 97, 121); got 10, nearest valid: 9"
    errors = [{"type": "custom_validation_failed", "message": "Custom validation failed for node",
               "details": f"{name} - {message}", "extra_info": {"input_name": name}}
              for name in ("width", "height", "frames", "fps", "stages")]
    errors.append({"type": "value_bigger_than_max", "message": "Value bigger than max", "details": "seed: 5 > 4",
                   "extra_info": {"input_name": "seed"}})
    refusal = {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": ""}
    rejected = PromptRejected(refusal, {"8": {"errors": errors, "class_type": "LTX2NEmptyAVLatent"}})
    assert rejected.problems() == [f"LTX2NEmptyAVLatent (node 8): {message}",
                                   "LTX2NEmptyAVLatent (node 8): Value bigger than max: seed: 5 > 4"]
    no_nodes = PromptRejected({"type": "prompt_no_outputs", "message": "Prompt has no outputs", "details": ""}, {})
    assert no_nodes.problems() == ["Prompt has no outputs"]


def _args(**sizes) -> argparse.Namespace:
    base = {"width": None, "height": None, "frames": None, "fps": None, "workflow_name": "t2v-distilled.json"}
    return argparse.Namespace(**{**base, **sizes})


def test_generate_size_report_says_why():
    prompt = {"8": {"class_type": "LTX2NEmptyAVLatent",
                    "inputs": {"width": 384, "height": 256, "frames": 49, "fps": 24.0}}}
    demo_line = generate.size_report(prompt, _args(), demo=True)
    assert demo_line == ("size: 384x256, 49 frames at 24 fps (the demo's small default 384x256x49 (random weights "
                         "make noise; --width/--height/--frames change it))")
    assert generate.size_report(prompt, _args(), demo=False).endswith("(the defaults of t2v-distilled.json)")
    given = generate.size_report(prompt, _args(width=384), demo=False)
    assert "(--width from the command line, the rest the defaults of t2v-distilled.json)" in given


@pytest.mark.parametrize(("options", "stems"), [
    ([], ["ltx25-t2v-distilled", "t2v-distilled"]),  # auto: LTX-2.5 first; demo weights go with the last
    (["--model", "ltx-2.5"], ["ltx25-t2v-distilled"]),
    (["--model", "ltx-2.3"], ["t2v-distilled"]),
    (["--model", "ltx-2.5", "--workflow", str(REPO / "workflows" / "t2v-full.json")], ["t2v-full"]),
])
def test_generate_model_option_orders_the_workflows(options, stems):
    candidates = generate.candidate_workflows(generate.parse_args(["x", *options]))
    assert [p.stem for p in candidates] == stems and all(p.is_file() for p in candidates)


def test_generate_bad_model_choice_refused_before_comfyui(no_boot, capsys):
    with pytest.raises(SystemExit) as info:
        generate.main(["x", "--model", "ltx-9"])
    assert info.value.code == 2 and "--model: invalid choice: 'ltx-9'" in capsys.readouterr().err
