"""What ComfyUI core needs to import on a bare GPU machine, for ``scripts/gpu_check.py`` (issue 20).

The machine has PyTorch 2.11 + CUDA, transformers, safetensors, einops and accelerate (and their dependencies:
numpy, psutil, ...). ComfyUI core also imports, at import time of the modules the check uses, Pillow
(``comfy/utils.py``), torchvision (``comfy/ldm/cosmos``), torchaudio (``comfy/ldm/lightricks/vae/audio_vae.py``) and
scipy (``comfy/samplers.py``, ``comfy/k_diffusion/sampling.py``, ``comfy/ldm/modules/sdpose.py``). None of them is
called by what the check measures (transformer passes, the video VAE decode, the Gemma).

* Pillow, torchvision, torchaudio: real wheels in ``<bundle>/wheels/`` (``gpu_bundle.sh``), unpacked (zip, no pip
  needed) into a private folder and APPENDED to ``sys.path``: the interpreter's own copy wins where it has one.
* comfy-kitchen (v0.33 imports it unconditionally): its Python code in ``<bundle>/site/`` (``gpu_bundle.sh``),
  without its compiled CUDA/HIP extensions, on ``PYTHONPATH`` like the bundle's other small distributions.
* scipy (a ~35 MB wheel, too large for the 60 MiB bundle): an import-time STAND-IN, a meta-path finder placed
  LAST, so it only answers when no real scipy is importable. Its modules resolve any name to a placeholder that
  raises ``ModuleNotFoundError`` when used. Where it is in force, every result line says so
  (``config.core_stand_ins``) and ``env.json`` lists it; ``MANIFEST.txt`` of the bundle says scipy is not carried.

Only scipy gets a stand-in: transformers probes torchvision (and Pillow, torchaudio) with ``find_spec`` and then
parses its version, so a torchvision stand-in breaks transformers (tried: ``InvalidVersion: 'N/A'`` in the Gemma
step). Where the bundle's wheels do not fit this Python (their tag names another one), they are skipped with a
note in ``env.json``, core's import fails with its reason in a ``comfyui_import`` line and the core columns stay
null; rebuild the bundle with ``--core-wheels download --python-version X.Y`` for the GPU machine's Python.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import os
import shutil
import sys
import tempfile
import types
import zipfile
from functools import partial
from pathlib import Path
from typing import Any

STAND_IN_PACKAGES = ("scipy",)  # top-level names the stand-in answers for (only when no real one is importable)
CORE_IMPORTS = ("PIL", "torchvision", "torchaudio", "scipy")  # what core needs beyond the bare machine


class _Placeholder:
    """Any attribute of a stand-in module: further attributes are placeholders too, calling one raises."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> _Placeholder:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Placeholder(f"{self._name}.{attr}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ModuleNotFoundError(f"{self._name}: scipy is not installed; the GPU check's import-time stand-in "
                                  f"(scripts/gpu_check_deps.py) cannot run it")


def _module_attribute(module: str, attr: str) -> _Placeholder:
    """A stand-in module's missing attribute: a placeholder, except dunders (``__file__`` ...), which stay absent so
    that tools scanning ``sys.modules`` (Dynamo, inspect) see a module without them."""
    if attr.startswith("__"):
        raise AttributeError(f"stand-in module {module!r} has no attribute {attr!r}")
    return _Placeholder(f"{module}.{attr}")


class StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers imports of :data:`STAND_IN_PACKAGES` (and their submodules) with placeholder packages; records which
    names it answered in :attr:`used`."""

    def __init__(self, packages: tuple[str, ...] = STAND_IN_PACKAGES) -> None:
        self.packages = packages
        self.used: set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] not in self.packages:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = types.ModuleType(spec.name, f"GPU-check stand-in for {spec.name} (not the real package)")
        module.__path__ = []
        module.__getattr__ = partial(_module_attribute, spec.name)  # PEP 562
        module.GPU_CHECK_STAND_IN = True
        self.used.add(spec.name.split(".")[0])
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def wheel_compatible(name: str) -> bool:
    """Whether a wheel file name's python tag fits this interpreter (``cp311`` / ``py3`` ...)."""
    parts = name[:-len(".whl")].split("-")
    tags = parts[-3].split(".") if len(parts) >= 5 else []
    here = f"cp{sys.version_info.major}{sys.version_info.minor}"
    return any(tag in (here, "py3", f"py{sys.version_info.major}") for tag in tags)


def unpack_wheels(wheels: Path) -> tuple[Path | None, list[str]]:
    """Unpack every compatible ``*.whl`` of ``wheels`` into one private folder (reused while the wheel set is the
    same); returns (folder or None, notes)."""
    found = sorted(wheels.glob("*.whl")) if wheels.is_dir() else []
    usable = [w for w in found if wheel_compatible(w.name)]
    notes = [f"{w.name}: python tag does not fit {sys.version.split()[0]}, not used" for w in found if w not in usable]
    if not usable:
        return None, notes
    key = hashlib.sha256("".join(f"{w.name}:{w.stat().st_size}" for w in usable).encode()).hexdigest()[:12]
    target = Path(os.environ.get("LTX2_GPU_CHECK_DEPS") or Path(tempfile.gettempdir()) / f"ltx2-gpu-check-deps-{key}")
    if not (target / ".complete").is_file():
        staging = target.with_name(f"{target.name}.part-{os.getpid()}")  # never a half-unpacked target
        for wheel in usable:
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(staging)
        (staging / ".complete").write_text("\n".join(w.name for w in usable) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:  # another run put it there meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    return target, notes + [f"{w.name}: unpacked" for w in usable]


def prepare(bundle: str | None) -> dict[str, Any]:
    """Append the bundle's unpacked wheels to ``sys.path`` and, for each of :data:`STAND_IN_PACKAGES` with no real
    copy on ``sys.path``, the stand-in to ``sys.meta_path`` (both after everything real). Returns what was done, for
    ``env.json``: ``["stand_ins"]`` the stand-ins in force, ``["finder"]`` the :class:`StandInFinder`."""
    info: dict[str, Any] = {"bundle": bundle, "wheels_dir": None, "notes": []}
    if bundle:
        folder, info["notes"] = unpack_wheels(Path(bundle) / "wheels")
        if folder is not None:
            sys.path.append(str(folder))
            info["wheels_dir"] = str(folder)
    missing = tuple(name for name in STAND_IN_PACKAGES if importlib.machinery.PathFinder.find_spec(name) is None)
    finder = StandInFinder(missing)
    sys.meta_path.append(finder)
    info.update(finder=finder, stand_ins=list(missing))
    return info


def provenance(info: dict[str, Any]) -> dict[str, str]:
    """Where each of :data:`CORE_IMPORTS` comes from: ``interpreter``, ``bundle wheel``, ``STAND-IN`` or
    ``missing`` (looked up on ``sys.path`` without importing)."""
    wheels_dir = info.get("wheels_dir")
    finder = info["finder"]
    result: dict[str, str] = {}
    for name in CORE_IMPORTS:
        if name in info["stand_ins"]:
            used = "answered imports" if name in finder.used else "not imported yet"
            result[name] = f"STAND-IN (no real package; calls raise; {used})"
            continue
        spec = importlib.machinery.PathFinder.find_spec(name)  # sys.path only: never the stand-in
        origin = (spec.origin or "") if spec else ""
        if not spec:
            result[name] = "missing"
        elif wheels_dir and origin.startswith(wheels_dir):
            result[name] = f"bundle wheel ({origin})"
        else:
            result[name] = f"interpreter ({origin})"
    return result


def stand_ins(info: dict[str, Any]) -> list[str]:
    """The stand-ins in force (packages with no real copy here): every result line of the run names them."""
    return list(info["stand_ins"])


__all__ = ["CORE_IMPORTS", "STAND_IN_PACKAGES", "StandInFinder", "prepare", "provenance", "stand_ins",
           "unpack_wheels", "wheel_compatible"]
