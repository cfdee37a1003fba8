"""Import boundaries, checked statically with ``ast`` (no imports executed).

* ``ltx_model/`` is a pure PyTorch library: never ComfyUI (comfy, comfy_*, folder_paths, server, nodes, execution,
  latent_preview, node_helpers), never the reference implementations (ltx_core, ltx_pipelines) or diffusers.
* Runtime code (``__init__.py``, ``nodes/``, ``ltx_model/``) is native: never core's LTX code
  (``comfy.ldm.lightricks``, ``comfy_extras.nodes_lt*``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIBRARY_FORBIDDEN = ("comfy", "comfy_*", "folder_paths", "server", "nodes", "execution", "latent_preview",
                     "node_helpers", "ltx_core", "ltx_pipelines", "diffusers")
RUNTIME_FORBIDDEN = ("comfy.ldm.lightricks", "comfy_extras.nodes_lt*")


def imported_modules(path: Path) -> list[str]:
    """Absolute module names imported by one file (relative imports are inside the pack and skipped)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.extend([node.module] + [f"{node.module}.{alias.name}" for alias in node.names])
        elif isinstance(node, ast.Call) and _is_dynamic_import(node) and isinstance(node.args[0], ast.Constant):
            names.append(str(node.args[0].value))
    return names


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ("import_module", "__import__") and bool(node.args)


def matches(module: str, pattern: str) -> bool:
    """``comfy`` matches ``comfy`` and ``comfy.x``; ``comfy_*`` matches ``comfy_api...``; ``a.b*`` matches ``a.bc``."""
    if pattern.endswith("*"):
        return module.startswith(pattern[:-1])
    return module == pattern or module.startswith(pattern + ".")


def violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{f.relative_to(REPO)}: {m}" for f in files for m in imported_modules(f)
            if any(matches(m, p) for p in forbidden)]


def _py_files(*roots: str) -> list[Path]:
    out: list[Path] = []
    for root in roots:
        path = REPO / root
        out.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return out


def test_boundaries_ltx_model_is_host_free():
    files = _py_files("ltx_model")
    assert files, "ltx_model/ has no Python files"
    assert violations(files, LIBRARY_FORBIDDEN) == []


def test_boundaries_runtime_never_uses_core_ltx():
    files = _py_files("__init__.py", "nodes", "ltx_model")
    assert REPO / "nodes" / "host.py" in files
    assert violations(files, RUNTIME_FORBIDDEN) == []


@pytest.mark.parametrize(("source", "pattern", "bad"), [
    ("import comfy.ops", "comfy", True),
    ("from comfy_api.latest import io", "comfy_*", True),
    ("from comfy.ldm.lightricks import av_model", "comfy.ldm.lightricks", True),
    ("from comfy.ldm import lightricks", "comfy.ldm.lightricks", True),
    ("import comfy_extras.nodes_lt_audio", "comfy_extras.nodes_lt*", True),
    ("importlib.import_module('comfy_extras.nodes_lt')", "comfy_extras.nodes_lt*", True),
    ("import comfyui_frontend", "comfy", False),
    ("from . import nodes", "nodes", False),
    ("import nodesmith", "nodes", False),
])
def test_boundaries_detector(tmp_path, source, pattern, bad):
    f = tmp_path / "probe.py"
    f.write_text(source + "\n")
    assert bool(any(matches(m, pattern) for m in imported_modules(f))) is bad


def absolute_self_imports(files: list[Path]) -> list[str]:
    """Imports of the pack's own packages by absolute name (``ltx_model.x``, ``nodes.x``)."""
    return violations(files, ("ltx_model", "nodes"))


def test_boundaries_pack_imports_itself_relatively():
    """Inside ComfyUI the pack is loaded under its folder name, where only relative imports resolve."""
    assert absolute_self_imports(_py_files("__init__.py", "nodes", "ltx_model")) == []


def test_boundaries_adapters_import_the_library_relatively():
    assert absolute_self_imports(_py_files("__init__.py", "nodes")) == []
