"""The GPU check's guards: bad command lines end with a clear message (no empty results, no shell traceback), the
time budget gates every step and size (``skipped_budget`` lines), the hard time limit ends the process and still
writes the summary, and the scipy stand-in answers only where no real scipy exists and keeps dunders absent.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from scripts import gpu_check, gpu_check_deps, gpu_check_measure

REPO = Path(__file__).resolve().parents[2]
COMFYUI = Path(os.environ.get("COMFYUI_PATH") or Path.home() / "comfy" / "ComfyUI").expanduser()


def run_check(*args: str, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHON": sys.executable, "COMFYUI_PATH": str(COMFYUI), **env}
    return subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=REPO)


# ----------------------------------------------------------------------------------------------- command line
def test_gpu_check_unknown_step_is_a_usage_error_not_an_empty_run(tmp_path):
    proc = run_check("--dry-run", "--out", str(tmp_path / "x"), "--only", "bogus")
    assert proc.returncode == 2 and "unknown step(s) ['bogus']" in proc.stderr and "transformer_pass" in proc.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("args", [("--bundle",), ("--bundle", "--dry-run"), ("--bundle=",)])
def test_gpu_check_bundle_without_a_folder_says_how_to_call_it(tmp_path, args):
    proc = run_check("--out", str(tmp_path / "x"), *args, timeout=60)
    assert proc.returncode == 2 and "--bundle needs a folder" in proc.stderr and "usage:" in proc.stderr
    assert "unbound variable" not in proc.stderr


def test_gpu_check_missing_bundle_folder_is_named(tmp_path):
    proc = run_check("--out", str(tmp_path / "x"), "--bundle", str(tmp_path / "nowhere"), timeout=60)
    assert proc.returncode == 2 and f"bundle folder not found: {tmp_path / 'nowhere'}" in proc.stderr


def test_gpu_check_parser_rejects_an_empty_only_and_a_non_positive_budget(capsys):
    for argv in (["--out", "x", "--only", ","], ["--out", "x", "--budget-s", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            gpu_check.parse_args(argv)
        assert exit_info.value.code == 2
    assert "(none given)" in capsys.readouterr().err
    assert gpu_check.parse_args(["--out", "x", "--only", " compiled , fp8_pass"]).only == "compiled,fp8_pass"


# ----------------------------------------------------------------------------------------------- time budget
def test_gpu_check_steps_that_do_not_fit_the_budget_are_skipped_with_a_line(tmp_path):
    out = tmp_path / "budget"
    proc = run_check("--dry-run", "--out", str(out), "--budget-s", "0.5", "--only", "matmul_peak,compiled",
                     LTX2_GPU_CHECK_HARD_LIMIT_S="300")  # start-up on a loaded CI runner alone can pass 20 s
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    skipped = [(line["metric"], line["status"]) for line in lines if line["metric"] != "comfyui_import"]
    assert skipped == [("matmul_peak", "skipped_budget"), ("compiled", "skipped_budget")]
    assert "estimated 1 s" in lines[-1]["error"] and lines[-1]["config"]["estimate_s"] == 1.0
    assert "skipped_budget" in (out / "summary.md").read_text()


def _fake_ctx(left_s: float, reserve_s: float = 0.0, quick: bool = False, bf16: dict | None = None):
    lines = []
    recorder = SimpleNamespace(add=lambda metric, **kw: lines.append({"metric": metric, **kw}))
    quick_size = gpu_check_measure.PassShape(128, 64, 9, text_tokens=32)
    cfg = SimpleNamespace(quick=quick, dtype_name="bfloat16", passes=(quick_size,))
    ctx = gpu_check_measure.Context(cfg=cfg, recorder=recorder, started=time.perf_counter(), budget_s=left_s,
                                    bf16_s=bf16 or {})
    ctx.reserve_s = reserve_s
    return ctx, lines


def test_gpu_check_sizes_are_gated_by_their_estimates_and_1080p_leaves_the_later_steps_time():
    ctx, lines = _fake_ctx(left_s=200.0, reserve_s=100.0)
    ran = [s.label() for s in gpu_check_measure.gated_passes(ctx, "transformer_pass_s", ctx.passes())]
    assert ran == ["768x512x121", "1216x704x121"]  # 1080p (140 s) does not fit 200 - 100 s of later steps
    assert [(line["shape"], line["status"]) for line in lines] == [("1920x1088x121", "skipped_budget")]
    ctx, lines = _fake_ctx(left_s=30.0)
    ran = [s.label() for s in gpu_check_measure.gated_passes(ctx, "transformer_pass_fp8_s", ctx.passes(), 0.6)]
    assert ran == ["768x512x121"] and len(lines) == 2  # 25 x 0.6 fits 30 s, 55 x 0.6 does not
    ctx, lines = _fake_ctx(left_s=1000.0, reserve_s=100.0)
    assert len(list(gpu_check_measure.gated_passes(ctx, "x", ctx.passes()))) == 3 and lines == []


def test_gpu_check_fp8_runs_at_every_size_measured_in_bf16():
    sizes = {"768x512x121": 1.0, "1216x704x121": 2.0}
    ctx, _ = _fake_ctx(left_s=100.0, bf16=sizes)
    assert [s.label() for s in gpu_check_measure.fp8_shapes(ctx)] == list(sizes)
    ctx, _ = _fake_ctx(left_s=100.0)  # --only fp8_pass: every size (then gated)
    assert len(gpu_check_measure.fp8_shapes(ctx)) == 3
    ctx, _ = _fake_ctx(left_s=100.0, quick=True)
    assert [s.label() for s in gpu_check_measure.fp8_shapes(ctx)] == ["128x64x9"]


# ----------------------------------------------------------------------------------------------- hard limit
def test_gpu_check_hard_limit_ends_a_stuck_process(tmp_path):
    stuck = tmp_path / "python"
    stuck.write_text("#!/usr/bin/env bash\nexec sleep 60\n")
    stuck.chmod(0o755)
    started = time.perf_counter()
    proc = run_check("--dry-run", "--out", str(tmp_path / "x"), timeout=60, PYTHON=str(stuck),
                     LTX2_GPU_CHECK_HARD_LIMIT_S="2")
    assert proc.returncode == 124 and time.perf_counter() - started < 30


def test_gpu_check_sigterm_keeps_the_lines_and_writes_the_summary(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # prepare() appends the stand-in finder
    monkeypatch.delenv("LTX2_GPU_CHECK_BUNDLE", raising=False)

    def stuck_steps(args, recorder, wall):
        recorder.add("matmul_peak_tflops", ours=1.0, comfy_core=1.0)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # the handler interrupts this
        raise AssertionError("SIGTERM did not stop the run")

    monkeypatch.setattr(gpu_check, "run_steps", stuck_steps)
    before = signal.getsignal(signal.SIGTERM)
    assert gpu_check.main(["--dry-run", "--out", str(tmp_path)]) == 124
    assert signal.getsignal(signal.SIGTERM) == before
    lines = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [(line["metric"], line["status"]) for line in lines] == [("matmul_peak_tflops", "ok"),
                                                                    ("hard_time_limit", "timeout")]
    assert "| hard_time_limit |" in (tmp_path / "summary.md").read_text()
    assert json.loads((tmp_path / "env.json").read_text())["wall_s"] < 30


# ----------------------------------------------------------------------------------------------- core deps
def test_gpu_check_scipy_stand_in_only_answers_when_scipy_is_missing_and_raises_when_used(monkeypatch):
    finder = gpu_check_deps.StandInFinder(("ltx2_missing_pkg",))
    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, finder])
    for name in [m for m in sys.modules if m.startswith("ltx2_missing_pkg")]:
        monkeypatch.delitem(sys.modules, name)
    gaussian_filter = importlib.import_module("ltx2_missing_pkg.ndimage").gaussian_filter  # the stand-in answers
    stats = importlib.import_module("ltx2_missing_pkg.stats")
    with pytest.raises(ModuleNotFoundError, match="ltx2_missing_pkg.ndimage.gaussian_filter"):
        gaussian_filter(1.0)
    with pytest.raises(ModuleNotFoundError, match="stats.beta.ppf"):
        stats.beta.ppf(0.5, 1, 1)
    assert getattr(stats, "__file__", None) is None  # tools scanning sys.modules see no file
    assert finder.used == {"ltx2_missing_pkg"}
    real = gpu_check_deps.StandInFinder(("json",))
    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, real])
    monkeypatch.delitem(sys.modules, "json")
    real_json = importlib.import_module("json")  # the real module is found first
    assert real_json.dumps([1]) == "[1]" and real.used == set()


def test_gpu_check_unpacks_only_wheels_that_fit_this_python(tmp_path, monkeypatch):
    here = f"cp{sys.version_info.major}{sys.version_info.minor}"
    for name, module in ((f"good-1.0-{here}-{here}-manylinux_2_28_x86_64.whl", "good_mod"),
                         ("old-1.0-cp27-cp27mu-manylinux1_x86_64.whl", "old_mod")):
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr(f"{module}/__init__.py", "VALUE = 7\n")
    monkeypatch.setenv("LTX2_GPU_CHECK_DEPS", str(tmp_path / "deps"))
    folder, notes = gpu_check_deps.unpack_wheels(tmp_path)
    assert folder == tmp_path / "deps" and (folder / "good_mod" / "__init__.py").is_file()
    assert not (folder / "old_mod").exists() and any("does not fit" in note for note in notes)
    assert gpu_check_deps.unpack_wheels(tmp_path)[0] == folder  # reused, not unpacked again
