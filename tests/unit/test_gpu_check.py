"""The one-command GPU check and its bundle, as CI can run them, on a BARE interpreter like the GPU machine's.

``scripts/gpu_bundle.sh`` builds the offline folder under 60 MiB from what is installed here (no network). The dry
run (``bash scripts/gpu_check.sh --dry-run --out DIR``: the same code path at a tiny size on the CPU, against the
bundle's ComfyUI tree) runs in a virtual environment that holds ONLY the dependency closure of the five packages the
issue grants the GPU machine (torch, transformers, safetensors, einops, accelerate; symlinked from this venv, no
system site-packages): ComfyUI core's other import-time needs (Pillow, torchvision, torchaudio, scipy) must come
from the bundle (wheels; scipy's labelled stand-in), and every measurement must still have both columns.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
COMFYUI = Path(os.environ.get("COMFYUI_PATH") or Path.home() / "comfy" / "ComfyUI").expanduser()
REQUIRED = ("metric", "ours", "comfy_core", "device", "shape", "dtype")
MEASURED = ("matmul_peak_tflops", "transformer_pass_s", "transformer_pass_fp8_s", "pass_peak_vram_bytes",
            "vae_tiled_decode_peak_vram_bytes", "transformer_pass_compiled_s", "consumer_card_step_s",
            "consumer_card_gguf_q4_k_m_step_s", "gemma3_12b_encode_s")
BARE_MACHINE = ("torch", "transformers", "safetensors", "einops", "accelerate")
CORE_EXTRAS = ("PIL", "torchvision", "torchaudio", "scipy")

pytestmark = pytest.mark.slow


def run_script(script: str, *args: str, timeout: int, python: str = sys.executable, **extra_env: str
               ) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": python, "COMFYUI_PATH": str(COMFYUI), **extra_env}
    return subprocess.run(["bash", str(REPO / "scripts" / script), *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=REPO)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(names: tuple[str, ...]) -> dict[str, metadata.Distribution]:
    """The installed distributions ``names`` need (requirements with their extras and markers, recursively)."""
    found: dict[str, metadata.Distribution] = {}
    todo, done = [(name, frozenset()) for name in names], set()
    while todo:
        name, extras = todo.pop()
        if (_norm(name), extras) in done:
            continue
        done.add((_norm(name), extras))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found[_norm(name)] = dist
        for text in dist.requires or ():
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
                todo.append((req.name, frozenset(req.extras)))
    return found


def _tops(dist: metadata.Distribution) -> set[str]:
    return {f.parts[0] for f in dist.files or () if f.parts and not f.parts[0].startswith("..")
            and f.parts[0] != "__pycache__"}


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> str:
    """A venv (no system site-packages, no pip) whose site-packages links only the closure of :data:`BARE_MACHINE`."""
    target = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(target)],
                   check=True, timeout=120)
    site = next(target.glob("lib/python*/site-packages"))
    closure = dependency_closure(BARE_MACHINE)
    links = {top: Path(dist.locate_file(top)) for dist in closure.values() for top in _tops(dist)}
    shared = {top for dist in metadata.distributions() if _norm(dist.metadata["Name"]) not in closure
              for top in _tops(dist)} & set(links)
    assert not shared, f"top-level names shared with packages outside the closure: {sorted(shared)}"
    for top, source in links.items():
        (site / top).symlink_to(source)
    python = str(target / "bin" / "python")
    probe = "import importlib.util as u; print([m for m in {mods!r} if u.find_spec(m)])"
    for mods, expected in ((BARE_MACHINE, list(BARE_MACHINE)), (CORE_EXTRAS + ("pytest",), [])):
        proc = subprocess.run([python, "-c", probe.format(mods=mods)], capture_output=True, text=True, timeout=120)
        assert proc.stdout.strip() == repr(expected), (proc.stdout, proc.stderr[-1000:])
    return python


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
    assert "ComfyUI/ " in manifest and "site/ " in manifest and "wheels/ " in manifest
    assert "NOT INSTALLED" not in manifest and "scipy: not carried" in manifest
    for needed in ("comfy/model_management.py", "comfy/ldm/lightricks/av_model.py", "comfy/ldm/models/autoencoder.py",
                   "comfy/sd.py", "nodes.py"):
        assert (bundle / "ComfyUI" / needed).is_file(), needed
    for left_out in (".git", "custom_nodes", "models", "tests", "requirements.txt"):  # no import-time pip installs
        assert not (bundle / "ComfyUI" / left_out).exists(), left_out
    assert not list(bundle.rglob("__pycache__"))
    assert json.loads((bundle / "manifests" / "ltx-2.3-22b.json").read_text())["config"]["transformer"]
    for package in ("comfy_aimdo", "ltx_core", "gguf", "torchsde", "trampoline", "comfy_kitchen"):
        assert (bundle / "site" / package).is_dir(), package
        assert f"  {package} " in manifest
    assert (bundle / "site" / "comfy_kitchen" / "backends" / "eager" / "__init__.py").is_file()
    assert not list((bundle / "site" / "comfy_kitchen").rglob("*.so"))  # Python only: no CUDA/HIP binaries
    wheels = sorted(p.name for p in (bundle / "wheels").glob("*.whl"))
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    assert [w.split("-")[0] for w in wheels] == ["pillow", "torchaudio", "torchvision"]
    assert all(f"-{tag}-" in w for w in wheels) and all(f"  {w} " in manifest for w in wheels)
    assert any(w.startswith(f"torchvision-{metadata.version('torchvision')}-") for w in wheels)


def test_gpu_bundle_refuses_to_grow_over_the_bound_and_honours_out_equals(tmp_path):
    out = tmp_path / "b"
    proc = run_script("gpu_bundle.sh", f"--out={out}", "--max-mib", "1", "--core-wheels", "none", timeout=300)
    assert proc.returncode != 0 and "over the 1 MiB bound" in proc.stderr
    assert (out / "MANIFEST.txt").is_file()  # the --out=DIR form was the folder used


def test_gpu_bundle_refuses_to_empty_a_folder_that_is_not_a_bundle(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    proc = run_script("gpu_bundle.sh", "--out", str(tmp_path), timeout=120)
    assert proc.returncode != 0 and "refusing to replace" in proc.stderr and "MANIFEST.txt" in proc.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine" and [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_gpu_check_dry_run_on_a_bare_interpreter_writes_every_measurement(bundle, bare_python, tmp_path):
    out = tmp_path / "check"
    proc = run_script("gpu_check.sh", "--dry-run", "--out", str(out), "--bundle", str(bundle), timeout=600,
                      python=bare_python, LTX2_GPU_CHECK_DEPS=str(tmp_path / "deps"))  # wheels unpacked here
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert lines and all(set(REQUIRED) <= set(line) for line in lines)
    by_metric = {line["metric"]: line for line in lines}
    assert [m for m in MEASURED if m not in by_metric] == []
    assert [line for line in lines if line["status"] == "error"] == []
    for metric in MEASURED:
        line = by_metric[metric]
        assert line["status"] == "ok" and line["device"].startswith("cpu") and line["dtype"] == "float32"
        assert isinstance(line["ours"], (int, float)) and line["ours"] > 0, (metric, line["config"])
    for metric in ("transformer_pass_s", "transformer_pass_fp8_s", "pass_peak_vram_bytes",
                   "vae_tiled_decode_peak_vram_bytes", "transformer_pass_compiled_s", "consumer_card_step_s",
                   "gemma3_12b_encode_s"):
        assert isinstance(by_metric[metric]["comfy_core"], (int, float)), (metric, by_metric[metric]["config"])
    assert by_metric["transformer_pass_s"]["shape"] == "128x64x9"
    assert by_metric["transformer_pass_s"]["config"]["max_abs_diff_vs_ltx_core"] <= 1e-4  # same computation
    assert by_metric["transformer_pass_compiled_s"]["config"]["compiled_max_abs_diff"] <= 1e-5
    assert [line["status"] for line in lines if line["status"] != "ok"] == []  # nothing skipped or left out
    assert all(line["config"]["core_stand_ins"] == ["scipy"] for line in lines)  # labelled on every line
    check_consumer_cards_and_gemma(by_metric)
    env = json.loads((out / "env.json").read_text())
    assert env["manifest"] == str(bundle / "manifests" / "ltx-2.3-22b.json")  # the bundle's copy was used
    assert env["dry_run"] is True and env["ltx_core"] and env["wall_s"] > 0
    assert set(env["step_wall_s"]) == {"matmul_peak", "transformer_pass", "fp8_pass", "peak_vram", "consumer_cards",
                                       "gemma_encode", "compiled"}
    deps = env["core_dependencies"]
    assert [deps[m].split(" (")[0] for m in CORE_EXTRAS] == ["bundle wheel"] * 3 + ["STAND-IN"], deps
    assert deps["PIL"].startswith(f"bundle wheel ({tmp_path / 'deps'}")
    assert env["core_stand_ins"] == ["scipy"]
    summary = (out / "summary.md").read_text()
    assert "DRY RUN" in summary and all(f"| {m} |" in summary for m in MEASURED)
    assert "scipy: STAND-IN" in summary


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
