"""Import boundaries, checked statically with ``ast`` (no imports executed).

* ``ltx_model/`` is a pure PyTorch library: never ComfyUI (comfy, comfy_*, folder_paths, server, nodes, execution,
  latent_preview, node_helpers), never the reference implementations (ltx_core, ltx_pipelines) or diffusers.
* Runtime code (``__init__.py``, ``nodes/``, ``ltx_model/``) is native: never core's LTX code
  (``comfy.ldm.lightricks``, ``comfy_extras.nodes_lt*``).
* No import circles among the modules of ``ltx_model/``, ``nodes/`` and ``scripts/`` (late imports included).
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
    assert REPO / "nodes" / "model_loader.py" in files
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


# --- Import circles ---------------------------------------------------------------------------------------------
# The graph has one node per file: ``ltx_model.text.encode`` for ``ltx_model/text/encode.py``, ``ltx_model.text`` for
# its ``__init__.py`` and ``""`` for the repository root's ``__init__.py`` (the root is the pack's package, so
# ``from ..ltx_model import x`` in ``nodes/`` resolves to ``ltx_model.x``). Every import statement counts, including
# the ones inside functions and ``try`` blocks, and ``import_module`` calls with a literal name: a late import is still
# a dependency. ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``.
# Importing ``a.b.c`` first runs ``a/__init__.py`` and ``a/b/__init__.py``, so those are edges too, except for the
# packages the importer lives in (they are already being initialised): a package ``__init__`` re-exporting its
# submodules and ``from . import sibling`` make no circle, but a submodule that takes a name from its own package's
# ``__init__`` (``from . import NAME``), or one whose import runs a package ``__init__`` that leads back to it, does.

CIRCLE_DIRS = ("ltx_model", "nodes", "scripts")
ABSOLUTE_ROOTS = ("ltx_model", "scripts")  # `import nodes` is ComfyUI's nodes.py; the pack's nodes/ is only relative
SCRIPT_DIRS = ("scripts",)  # run as scripts, their folder is sys.path[0]: `import x` there finds scripts/x.py first


def module_files(root: Path, dirs: tuple[str, ...] = CIRCLE_DIRS) -> dict[str, Path]:
    """``{module name: file}`` for the root ``__init__.py`` and every .py file under ``dirs``."""
    files = {"": root / "__init__.py"} if (root / "__init__.py").is_file() else {}
    for directory in dirs:
        for path in sorted((root / directory).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The module ``name`` lives in: itself, else its nearest parent that is a module (``None`` outside the tree)."""
    while name not in modules:
        if "." not in name:
            return None
        name = name.rpartition(".")[0]
    return name


def _absolute(name: str, importer: str, modules: dict[str, Path]) -> str | None:
    """Repository name of an absolute import from ``importer``, or None for anything outside the repository."""
    top, script_dir = name.split(".")[0], importer.split(".")[0]
    if script_dir in SCRIPT_DIRS and any(m == f"{script_dir}.{top}" or m.startswith(f"{script_dir}.{top}.")
                                         for m in modules):
        return f"{script_dir}.{name}"
    return name if top in ABSOLUTE_ROOTS else None


def _relative(level: int, module: str | None, importer: str, is_package: bool) -> str | None:
    """Absolute name of ``from <level dots><module> import ...`` in ``importer``; None when it climbs out."""
    parts = importer.split(".") if importer else []
    package = parts if is_package else parts[:-1]
    if level - 1 > len(package):
        return None
    base = ".".join(package[:len(package) - (level - 1)])
    return ".".join(p for p in (base, module) if p)


def _statement_targets(node: ast.AST, importer: str, is_package: bool, modules: dict[str, Path]) -> list[str]:
    """Repository modules one AST node imports directly."""
    if isinstance(node, ast.Import):
        names = [_absolute(alias.name, importer, modules) for alias in node.names]
        return [t for t in (_known(n, modules) for n in names if n) if t is not None]
    if isinstance(node, ast.Call) and _is_dynamic_import(node) and isinstance(node.args[0], ast.Constant):
        name = str(node.args[0].value)
        resolved = (_relative(len(name) - len(name.lstrip(".")), name.lstrip(".") or None, importer, is_package)
                    if name.startswith(".") else _absolute(name, importer, modules))
        target = _known(resolved, modules) if resolved is not None else None
        return [target] if target is not None else []
    if not isinstance(node, ast.ImportFrom):
        return []
    base = (_relative(node.level, node.module, importer, is_package) if node.level
            else _absolute(node.module or "", importer, modules))
    if base is None:
        return []
    full = [".".join(p for p in (base, alias.name) if p) for alias in node.names]
    targets = [name if name in modules else _known(base, modules) for name in full]
    return [t for t in targets if t is not None]


def _inside(importer: str, package: str) -> bool:
    return importer == package or importer.startswith(package + ".")


def import_graph(root: Path, dirs: tuple[str, ...] = CIRCLE_DIRS) -> dict[str, dict[str, str]]:
    """``{importer: {imported module: "file:line imports ..." for the first statement making the edge}}``."""
    modules = module_files(root, dirs)
    graph: dict[str, dict[str, str]] = {name: {} for name in modules}
    for importer, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            for target in _statement_targets(node, importer, is_package, modules):
                where = f"{path.relative_to(root)}:{node.lineno} imports {target or '<pack root>'}"
                if target != importer:
                    graph[importer].setdefault(target, where)
                for depth in range(1, target.count(".") + 1):
                    package = ".".join(target.split(".")[:depth])
                    if package in modules and not _inside(importer, package):
                        graph[importer].setdefault(package, f"{where}, which first runs the __init__ of {package}")
    return graph


def _strongly_connected(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _shortest_cycle(graph: dict[str, dict[str, str]], start: str, component: set[str]) -> list[str]:
    """Shortest path start -> ... -> start inside one component (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for succ in sorted(graph[node]):
                if succ == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if succ in component and succ not in previous:
                    previous[succ] = node
                    following.append(succ)
        frontier = following
    raise AssertionError(f"{start} is on no cycle")  # cannot happen inside a strongly connected component


def import_circles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """Circles as module paths ``[a, b, ..., a]``: per strongly connected component, the shortest circle through each
    module not yet on a reported one (so every module in a circle shows up at least once)."""
    circles: list[list[str]] = []
    for component in _strongly_connected(graph):
        covered: set[str] = set()
        for start in component:
            if start not in covered:
                circles.append(_shortest_cycle(graph, start, set(component)))
                covered.update(circles[-1])
    return circles


def describe_circle(graph: dict[str, dict[str, str]], circle: list[str]) -> str:
    """``a -> b -> a`` followed by the import statement behind each step."""
    steps = [f"\n    {graph[a][b]}" for a, b in zip(circle[:-1], circle[1:], strict=True)]
    return " -> ".join(m or "<pack root>" for m in circle) + "".join(steps)


def test_boundaries_no_import_circles():
    graph = import_graph(REPO)
    assert "ltx_model.text.encode" in graph and "nodes.model_loader" in graph
    circles = import_circles(graph)
    assert circles == [], "import circles:\n" + "\n".join(describe_circle(graph, c) for c in circles)


CIRCLE_TREE = {
    "__init__.py": "from .nodes import ENTRY\n",
    # A package __init__ re-exporting its submodules, `from . import sibling`, relative imports from the root: fine.
    "ltx_model/__init__.py": "",
    "ltx_model/ok/__init__.py": "from .a import A\nfrom .b import B\n",
    "ltx_model/ok/a.py": "from . import b\nA = b.B\n",
    "ltx_model/ok/b.py": "import torch\nfrom ..leaf import LEAF as B\n",
    "ltx_model/leaf.py": "LEAF = 1\n",
    "nodes/__init__.py": "from ..ltx_model.ok import A as ENTRY\nfrom . import host\n",
    "nodes/host.py": "import nodes\nimport comfy.ops\nfrom ..ltx_model import leaf\n",
    # A late import closing a circle between two modules.
    "ltx_model/late/__init__.py": "",
    "ltx_model/late/x.py": "from .y import Y\nX = 1\n",
    "ltx_model/late/y.py": "Y = 2\n\ndef f():\n    from ..late.x import X\n    return X\n",
    # A submodule taking a name from its own package's __init__, which imports it.
    "ltx_model/selfish/__init__.py": "from .m import M\nNAME = 1\n",
    "ltx_model/selfish/m.py": "from . import NAME\nM = NAME\n",
    # Two packages whose __init__ files lead into each other: q.w -> p (runs p/__init__) -> p.m -> q (__init__).
    "ltx_model/p/__init__.py": "from .m import M\n",
    "ltx_model/p/m.py": "from ..q.z import Z as M\n",
    "ltx_model/p/k.py": "K = 1\n",
    "ltx_model/q/__init__.py": "from .w import W\n",
    "ltx_model/q/w.py": "from ltx_model.p.k import K as W\n",
    "ltx_model/q/z.py": "Z = 1\n",
    # Scripts importing each other by bare name, `from scripts import`, and import_module.
    "scripts/one.py": "import ltx_model.leaf\n\ndef main():\n    import two\n",
    "scripts/two.py": "from scripts import three\n",
    "scripts/three.py": "import importlib\nimportlib.import_module('one')\n",
}


def test_boundaries_circle_detector(tmp_path):
    for name, source in CIRCLE_TREE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    graph = import_graph(tmp_path)
    assert graph["nodes.host"] == {  # neither ComfyUI's `nodes` nor `comfy`
        "ltx_model.leaf": "nodes/host.py:3 imports ltx_model.leaf",
        "ltx_model": "nodes/host.py:3 imports ltx_model.leaf, which first runs the __init__ of ltx_model",
    }
    assert set(graph["nodes"]) == {"ltx_model", "ltx_model.ok", "nodes.host"}
    assert graph["ltx_model.late.y"] == {"ltx_model.late.x": "ltx_model/late/y.py:4 imports ltx_model.late.x"}
    assert graph["ltx_model.q.w"]["ltx_model.p"] == (
        "ltx_model/q/w.py:1 imports ltx_model.p.k, which first runs the __init__ of ltx_model.p")
    assert import_circles(graph) == [
        ["ltx_model.late.x", "ltx_model.late.y", "ltx_model.late.x"],
        ["ltx_model.p", "ltx_model.p.m", "ltx_model.q", "ltx_model.q.w", "ltx_model.p"],
        ["ltx_model.selfish", "ltx_model.selfish.m", "ltx_model.selfish"],
        ["scripts.one", "scripts.two", "scripts.three", "scripts.one"],
    ]
    message = describe_circle(graph, import_circles(graph)[0])
    assert "ltx_model/late/y.py:4 imports ltx_model.late.x" in message


def test_boundaries_demo_fixtures_are_a_leaf():
    """No runtime module imports ``ltx_model.demo`` (the demo / test weight writers); only the CLI entry point."""
    graph = import_graph(REPO)
    runtime = [m for m in graph if m.startswith(("ltx_model", "nodes")) and not m.startswith("ltx_model.demo")
               and m != "ltx_model.pipelines.cli"]
    users = sorted(m for m in runtime for target in graph[m] if target.startswith("ltx_model.demo"))
    assert users == []


MODE_ARITHMETIC = ("- 1) % 8", "- 1) // 8", "% 32", "% 64", "* 8 +", "1 + 8 *", "(f - 1) *", "* SCALE.time",
                   "// SCALE.time", "% SCALE.time", "token_time_bounds(")


def test_boundaries_mode_rules_live_once_in_modes():
    """The frame / size / window rules are ``ltx_model.modes``': the nodes and pipelines carry no copy."""
    files = _py_files("nodes", "ltx_model/pipelines")
    found = [f"{f.relative_to(REPO)}:{n}: {line.strip()}" for f in files
             for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1)
             if any(p in line for p in MODE_ARITHMETIC) and not line.lstrip().startswith("#")]
    assert found == []
