"""The one-command GPU check and its bundle, as CI can run them: ``bash scripts/gpu_check.sh --dry-run --out DIR``
(the same code path at a tiny size on the CPU, against the real ComfyUI tree) writes the JSON lines and the summary;
``scripts/gpu_bundle.sh`` builds the offline folder under 60 MiB from what is installed here (no network).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMFYUI = Path(os.environ.get("COMFYUI_PATH") or Path.home() / "comfy" / "ComfyUI").expanduser()
REQUIRED = ("metric", "ours", "comfy_core", "device", "shape", "dtype")
MEASURED = ("matmul_peak_tflops", "transformer_pass_s", "transformer_pass_fp8_s", "pass_peak_vram_bytes",
            "vae_tiled_decode_peak_vram_bytes", "transformer_pass_compiled_s", "consumer_card_step_s",
            "consumer_card_gguf_q4_k_m_step_s", "gemma3_12b_encode_s")

pytestmark = pytest.mark.slow


def run_script(script: str, *args: str, timeout: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "COMFYUI_PATH": str(COMFYUI)}
    return subprocess.run(["bash", str(REPO / "scripts" / script), *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=REPO)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "gpu_bundle"
    proc = run_script("gpu_bundle.sh", "--out", str(out), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_gpu_bundle_is_offline_complete_and_under_60_mib(bundle):
    total = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    assert 5 * 2**20 < total < 60 * 2**20
    manifest = (bundle / "MANIFEST.txt").read_text()
    assert manifest.startswith(f"total_bytes {total - len(manifest)}\n")  # everything but the manifest itself
    assert "ComfyUI/ " in manifest and "site/ " in manifest and "NOT INSTALLED" not in manifest
    for needed in ("comfy/model_management.py", "comfy/ldm/lightricks/av_model.py", "comfy/ldm/models/autoencoder.py",
                   "comfy/sd.py", "nodes.py"):
        assert (bundle / "ComfyUI" / needed).is_file(), needed
    for left_out in (".git", "custom_nodes", "models", "tests"):
        assert not (bundle / "ComfyUI" / left_out).exists(), left_out
    assert not list(bundle.rglob("__pycache__"))
    assert json.loads((bundle / "manifests" / "ltx-2.3-22b.json").read_text())["config"]["transformer"]
    for package in ("comfy_aimdo", "ltx_core", "gguf", "torchsde", "trampoline"):
        assert (bundle / "site" / package).is_dir(), package
        assert f"  {package} " in manifest


def test_gpu_bundle_refuses_to_grow_over_the_bound(tmp_path):
    proc = run_script("gpu_bundle.sh", "--out", str(tmp_path / "b"), "--max-mib", "1", timeout=300)
    assert proc.returncode != 0 and "over the 1 MiB bound" in proc.stderr


def test_gpu_check_dry_run_writes_every_measurement(bundle, tmp_path):
    out = tmp_path / "check"
    proc = run_script("gpu_check.sh", "--dry-run", "--out", str(out), "--bundle", str(bundle), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert lines and all(set(REQUIRED) <= set(line) for line in lines)
    by_metric = {line["metric"]: line for line in lines}
    assert [m for m in MEASURED if m not in by_metric] == []
    assert [line for line in lines if line["status"] == "error"] == []
    for metric in MEASURED:
        line = by_metric[metric]
        assert line["status"] == "ok" and line["device"].startswith("cpu") and line["dtype"] == "float32"
        assert isinstance(line["ours"], (int, float)) and line["ours"] > 0, metric
    for metric in ("transformer_pass_s", "transformer_pass_fp8_s", "pass_peak_vram_bytes",
                   "vae_tiled_decode_peak_vram_bytes", "transformer_pass_compiled_s", "consumer_card_step_s",
                   "gemma3_12b_encode_s"):
        assert isinstance(by_metric[metric]["comfy_core"], (int, float)), (metric, by_metric[metric]["config"])
    assert by_metric["transformer_pass_s"]["shape"] == "128x64x9"
    assert by_metric["transformer_pass_s"]["config"]["max_abs_diff_vs_ltx_core"] <= 1e-4  # same computation
    assert by_metric["transformer_pass_compiled_s"]["config"]["compiled_max_abs_diff"] <= 1e-5
    assert [line["status"] for line in lines if line["status"] != "ok"] == []  # nothing skipped or left out
    check_consumer_cards_and_gemma(by_metric)
    env = json.loads((out / "env.json").read_text())
    assert env["manifest"] == str(bundle / "manifests" / "ltx-2.3-22b.json")  # the bundle's copy was used
    assert env["dry_run"] is True and env["ltx_core"] and env["wall_s"] > 0
    summary = (out / "summary.md").read_text()
    assert "DRY RUN" in summary and all(f"| {m} |" in summary for m in MEASURED)


def check_consumer_cards_and_gemma(by_metric: dict) -> None:
    """The dry run's consumer-card, GGUF and Gemma lines ran the real code paths: core's ModelPatcher placed only
    part of the model (lowvram casting per call), the GGUF model held Q4_K blocks, core's Gemma agrees with ours."""
    cards = by_metric["consumer_card_step_s"]
    assert cards["shape"] == "128x64x9@dry-run" and cards["config"]["card_gb"] is None
    config = cards["config"]
    assert config["core_partial"] is True and 0 < config["core_loaded_bytes"] < config["core_model_bytes"]
    assert config["core_cast_per_call_modules"] > 0
    gguf = by_metric["consumer_card_gguf_q4_k_m_step_s"]
    assert isinstance(gguf["ours"], float) and gguf["ours"] > 0 and gguf["comfy_core"] is None
    assert "no GGUF loader" in gguf["config"]["comfy_core_null_reason"]
    assert gguf["config"]["ours_matrices"]["Q4_K"] >= 1  # the 256-wide feed-forward output matrices
    gemma = by_metric["gemma3_12b_encode_s"]["config"]
    assert gemma["shape"] == gemma["core_shape"] == [1, 3, 24, 256]  # embeddings + 2 layers, 24 tokens
    assert gemma["max_abs_diff"] <= 1e-4


def test_gpu_check_without_a_gpu_refuses_the_real_run(tmp_path):
    proc = run_script("gpu_check.sh", "--out", str(tmp_path / "x"), timeout=300)
    assert proc.returncode == 2 and "--dry-run" in proc.stderr
