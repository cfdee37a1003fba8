"""Prepare the folder ``scripts/gpu_check.sh`` takes everything beyond PyTorch/transformers/safetensors/einops/
accelerate from (run on a machine with the packages; the GPU machine is offline). See ``gpu_bundle.sh``.

Contents (``MANIFEST.txt`` lists every entry with its size):

* ``ComfyUI/``: the ComfyUI source tree (``$COMFYUI_PATH`` or ``~/comfy/ComfyUI``) without its top-level ``.git``,
  tests, models, custom nodes, inputs/outputs, and without caches — for the core comparison (never committed:
  built at run time);
* ``site/``: small Python distributions copied from this interpreter's installation by their file records
  (``DISTRIBUTIONS``: ComfyUI's memory manager ``comfy_aimdo``, ``ltx-core``, ``gguf``, ``torchsde``,
  ``trampoline``), put on ``PYTHONPATH`` by ``gpu_check.sh`` — works offline, the versions tested here;
* ``manifests/ltx-2.3-22b.json``: the real checkpoint's header (config and tensor list, ~0.5 MiB) the check
  builds the real-size model from (``$LTX2_BENCH_MANIFEST``);
* ``wheels/``: optional extra wheels (``--wheel SPEC``, downloaded with ``pip download``; needs the network),
  installed by nothing automatically (listed for the operator).

The whole folder must stay under ``--max-mib`` (60 MiB: the device runner carries at most 64 MiB).
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

# comfy-kitchen (ComfyUI's optional kernel package, ~190 MiB of CUDA binaries) is left out: ComfyUI runs without it
# (it logs that its own quantised-op backends are unavailable; ``--fast`` fp8 matmul goes through torch._scaled_mm).
DISTRIBUTIONS = ("comfy-aimdo", "ltx-core", "gguf", "torchsde", "trampoline")
COMFY_EXCLUDE = (".git", ".github", "tests", "tests-unit", "models", "custom_nodes", "input", "output",
                 "script_examples", "user", "temp")  # top-level entries of the ComfyUI tree
MAX_MIB = 60.0
MANIFEST_NAME = "ltx-2.3-22b.json"
REPO = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="the bundle folder (emptied first)")
    parser.add_argument("--comfyui", default=os.environ.get("COMFYUI_PATH") or str(Path.home() / "comfy" / "ComfyUI"))
    parser.add_argument("--dist", action="append", default=None, help="installed distribution to copy (repeatable)")
    parser.add_argument("--wheel", action="append", default=[], help="extra wheel spec for pip download")
    parser.add_argument("--manifest", default=str(REPO.parent / "shared" / "reference" / "manifests" / MANIFEST_NAME),
                        help="the LTX-2.3 22B checkpoint header the check builds its real-size config from")
    parser.add_argument("--max-mib", type=float, default=MAX_MIB)
    return parser.parse_args(argv)


def copy_comfyui(source: Path, target: Path) -> None:
    """The ComfyUI tree minus the top-level entries :data:`COMFY_EXCLUDE` and, anywhere, caches and compiled files
    (``comfy/ldm/models`` is code and stays)."""
    if not (source / "comfy" / "model_management.py").is_file():
        raise SystemExit(f"not a ComfyUI tree: {source} (set COMFYUI_PATH)")
    anywhere = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".ruff_cache", ".git", "*.pyc", "*.pyo")

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set(anywhere(folder, names))
        return skipped | (set(names) & set(COMFY_EXCLUDE) if Path(folder) == source else set())

    shutil.copytree(source, target, ignore=ignore, symlinks=False)


def copy_distribution(name: str, site: Path) -> list[str]:
    """Copy the installed files of distribution ``name`` (its RECORD) into ``site``; returns the top-level names."""
    dist = metadata.distribution(name)
    tops = set()
    for entry in dist.files or ():
        parts = entry.parts
        if not parts or parts[0].startswith("..") or parts[0].endswith((".dist-info", ".data")) \
                or "__pycache__" in parts or entry.suffix in (".pyc", ".pyo"):
            continue
        source = Path(dist.locate_file(entry))
        if source.is_file():
            destination = site / entry
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
            tops.add(parts[0])
    return sorted(tops)


def download_wheels(specs: list[str], folder: Path) -> list[str]:
    """``pip download --no-deps`` each spec into ``folder``; failures are listed, not fatal."""
    notes = []
    for spec in specs:
        folder.mkdir(exist_ok=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(folder), spec],
                              capture_output=True, text=True)
        notes.append(f"wheel {spec}: {'ok' if proc.returncode == 0 else 'FAILED ' + proc.stderr[-200:]}")
    return notes


def folder_bytes(folder: Path) -> int:
    """Total size of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def manifest(out: Path, notes: list[str]) -> str:
    """MANIFEST.txt: total (without the manifest), each top-level entry (and each ``site`` package) with its size,
    and the notes."""
    lines = [f"total_bytes {folder_bytes(out)}"]
    for entry in sorted(out.iterdir()):
        if entry.name == "MANIFEST.txt":
            continue
        size = folder_bytes(entry) if entry.is_dir() else entry.stat().st_size
        lines.append(f"{entry.name}/ {size}" if entry.is_dir() else f"{entry.name} {size}")
        if entry.name in ("site", "wheels"):
            lines += [f"  {sub.name} {folder_bytes(sub) if sub.is_dir() else sub.stat().st_size}"
                      for sub in sorted(entry.iterdir())]
    return "\n".join(lines + notes) + "\n"


def build(args: argparse.Namespace) -> Path:
    """Make the bundle; raises SystemExit when it ends up over ``--max-mib``."""
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    copy_comfyui(Path(args.comfyui).expanduser(), out / "ComfyUI")
    notes = [f"comfyui_source {Path(args.comfyui).expanduser()}", f"python {sys.version.split()[0]}"]
    for name in args.dist or DISTRIBUTIONS:
        try:
            version = metadata.version(name)
            notes.append(f"dist {name}=={version}: {', '.join(copy_distribution(name, out / 'site'))}")
        except metadata.PackageNotFoundError:
            notes.append(f"dist {name}: NOT INSTALLED here, left out")
    manifest_source = Path(args.manifest)
    if manifest_source.is_file():
        (out / "manifests").mkdir()
        shutil.copy2(manifest_source, out / "manifests" / MANIFEST_NAME)
        notes.append(f"manifest {manifest_source}")
    else:
        notes.append(f"manifest {manifest_source}: NOT FOUND, left out")
    notes += download_wheels(args.wheel, out / "wheels")
    text = manifest(out, notes)
    (out / "MANIFEST.txt").write_text(text)
    mib = folder_bytes(out) / 2**20
    if mib >= args.max_mib:
        raise SystemExit(f"bundle is {mib:.1f} MiB, over the {args.max_mib:.0f} MiB bound")
    print(text, end="")
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    build(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
