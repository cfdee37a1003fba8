"""Prepare the folder ``scripts/gpu_check.sh`` takes everything beyond PyTorch/transformers/safetensors/einops/
accelerate from (run on a machine with the packages; the GPU machine is offline). See ``gpu_bundle.sh``.

Contents (``MANIFEST.txt`` lists every entry with its size):

* ``ComfyUI/``: the ComfyUI source tree (``$COMFYUI_PATH`` or ``~/comfy/ComfyUI``) without its top-level ``.git``,
  tests, models, custom nodes, inputs/outputs, and without caches — for the core comparison (never committed:
  built at run time);
* ``site/``: small Python distributions copied from this interpreter's installation by their file records
  (``DISTRIBUTIONS``: ComfyUI's memory manager ``comfy_aimdo``, ``ltx-core``, ``gguf``, ``torchsde``,
  ``trampoline``, and ComfyUI's kernel package ``comfy_kitchen`` without its compiled CUDA/HIP extensions:
  :data:`PYTHON_ONLY`), put on ``PYTHONPATH`` by ``gpu_check.sh`` — works offline, the versions tested here;
* ``manifests/ltx-2.3-22b.json``: the real checkpoint's header (config and tensor list, ~0.5 MiB) the check
  builds the real-size model from (``$LTX2_BENCH_MANIFEST``);
* ``wheels/``: real wheels of what ComfyUI core imports beyond the bare GPU machine (:data:`CORE_WHEELS`: Pillow,
  torchvision, torchaudio, ~16 MiB together). ``--core-wheels installed`` (default, offline): repacked from this
  interpreter's installation by their file records (the torch 2.11 pairing tested here, torchvision 0.26.0 /
  torchaudio 2.11.0, with the installed builds' wheel tags); ``download``: ``pip download --only-binary=:all:``
  of the same versions for ``--python-version`` (needs the network); ``none``: left out. Extra wheels:
  ``--wheel SPEC`` (downloaded). ``gpu_check.sh`` unpacks every wheel whose python tag fits into a private folder
  appended to ``sys.path`` (the interpreter's own packages win), no pip needed;
* not carried: scipy (a ~35 MB wheel): ``gpu_check`` answers core's import-time scipy imports with a labelled
  stand-in only where the interpreter has no scipy (``scripts/gpu_check_deps.py``).

The whole folder must stay under ``--max-mib`` (60 MiB: the device runner carries at most 64 MiB). ``--out`` is
emptied first only when it is a previous bundle (has ``MANIFEST.txt``) or empty; any other folder is refused.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

# comfy-kitchen (ComfyUI's kernel package) travels without its compiled CUDA/HIP extensions (~230 MiB): newer hosts
# (v0.33) import it unconditionally, and without ``_C`` it serves its eager and Triton backends.
DISTRIBUTIONS = ("comfy-aimdo", "ltx-core", "gguf", "torchsde", "trampoline", "comfy-kitchen")
PYTHON_ONLY = {"comfy-kitchen": (".so", ".pyd", ".dll")}  # distribution -> file suffixes not carried
# Top-level entries of the ComfyUI tree left out. ``requirements.txt`` is an install list, and the bundle installs
# its own wheels: a tree that pip-installs from it at import time (the ZLUDA fork's ``comfy/zluda.py`` checks the
# front-end and template packages and calls pip when they are missing) would reach for a network the GPU machine lacks.
COMFY_EXCLUDE = (".git", ".github", "tests", "tests-unit", "models", "custom_nodes", "input", "output",
                 "script_examples", "user", "temp", "requirements.txt")
# What ComfyUI core imports at import time beyond torch/transformers/safetensors/einops/accelerate (scipy aside),
# with the version the download mode pins when this interpreter has none (the torch 2.11 pairing).
CORE_WHEELS = {"pillow": "13.0.0", "torchvision": "0.26.0", "torchaudio": "2.11.0"}
NOT_CARRIED = "scipy: not carried (~35 MB wheel); gpu_check uses its import-time stand-in only where scipy is missing"
ZIP_DATE = (2026, 1, 1, 0, 0, 0)  # fixed member time stamps: the same installation gives the same wheel bytes
MAX_MIB = 60.0
MANIFEST_NAME = "ltx-2.3-22b.json"
REPO = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True,
                        help="the bundle folder (a previous bundle is replaced; a non-empty other folder is refused)")
    parser.add_argument("--comfyui", default=os.environ.get("COMFYUI_PATH") or str(Path.home() / "comfy" / "ComfyUI"))
    parser.add_argument("--dist", action="append", default=None, help="installed distribution to copy (repeatable)")
    parser.add_argument("--wheel", action="append", default=[], help="extra wheel spec for pip download")
    parser.add_argument("--core-wheels", choices=("installed", "download", "none"), default="installed",
                        help="Pillow/torchvision/torchaudio: repacked from this installation, downloaded, or left out")
    parser.add_argument("--python-version", default=f"{sys.version_info.major}.{sys.version_info.minor}",
                        help="the GPU machine's Python (download mode; repacked wheels are this interpreter's)")
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
                or "__pycache__" in parts or entry.suffix in (".pyc", ".pyo") + PYTHON_ONLY.get(name, ()):
            continue
        source = Path(dist.locate_file(entry))
        if source.is_file():
            destination = site / entry
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
            tops.add(parts[0])
    return sorted(tops)


def download_wheels(specs: list[str], folder: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """``pip download --no-deps`` each spec into ``folder`` (``extra`` pip options); failures are listed, not
    fatal."""
    notes = []
    for spec in specs:
        folder.mkdir(exist_ok=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", *extra, "-d", str(folder), spec],
                              capture_output=True, text=True)
        notes.append(f"wheel {spec}: {'ok' if proc.returncode == 0 else 'FAILED ' + proc.stderr[-200:]}")
    return notes


def wheel_name(dist: metadata.Distribution) -> str:
    """``name-version-py-abi-platform.whl`` from the installed ``WHEEL`` file's ``Tag`` lines (several platform
    tags joined by dots, as pip names such wheels)."""
    tags = [line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")]
    if not tags:
        raise SystemExit(f"{dist.metadata['Name']}: no wheel tag in its WHEEL file (not installed from a wheel)")
    parts = [t.split("-") for t in tags]
    fields = [".".join(dict.fromkeys(p[i] for p in parts)) for i in range(3)]
    name = dist.metadata["Name"].replace("-", "_").lower()
    return f"{name}-{dist.version}-{'-'.join(fields)}.whl"


def repack_wheel(name: str, folder: Path) -> str:
    """A wheel of installed distribution ``name`` from its file records (package files, ``*.libs``, dist-info;
    no caches, no scripts outside site-packages) into ``folder``; returns its file name."""
    dist = metadata.distribution(name)
    folder.mkdir(exist_ok=True)
    target = folder / wheel_name(dist)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in sorted(dist.files or (), key=str):
            source = Path(dist.locate_file(entry))
            if entry.parts[0].startswith("..") or "__pycache__" in entry.parts or entry.suffix in (".pyc", ".pyo") \
                    or not source.is_file():
                continue
            info = zipfile.ZipInfo(entry.as_posix(), ZIP_DATE)
            info.external_attr = (source.stat().st_mode & 0o777) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())
    return target.name


def core_wheels(mode: str, python_version: str, folder: Path) -> list[str]:
    """:data:`CORE_WHEELS` into ``folder`` by ``mode``; returns MANIFEST notes."""
    if mode == "none":
        return ["core wheels: left out (--core-wheels none): ComfyUI core imports only where the GPU machine has "
                "them", NOT_CARRIED]
    notes = []
    for name, pinned in CORE_WHEELS.items():
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = None
        if mode == "installed" and version is None:
            notes.append(f"core wheel {name}: NOT INSTALLED here, left out")
        elif mode == "installed":
            notes.append(f"core wheel {name}=={version}: repacked from this installation -> "
                         f"{repack_wheel(name, folder)}")
        else:
            notes += download_wheels([f"{name}=={version or pinned}"], folder, (
                "--only-binary=:all:", "--python-version", python_version, "--platform", "manylinux_2_28_x86_64"))
    return notes + [NOT_CARRIED]


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
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "MANIFEST.txt").is_file())):
        raise SystemExit(f"refusing to replace {out}: not empty and not a bundle (no MANIFEST.txt); "
                         "give a new or empty folder with --out")
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
    notes += core_wheels(args.core_wheels, args.python_version, out / "wheels")
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
