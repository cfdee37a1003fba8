"""Static security scan (ast) of the pack's runtime code: what a module imports and calls.

Rules (each finding is ``"path:line: message"``):

* no pickle-family modules (``pickle``, ``marshal``, ``shelve``, ``dill``, ``cloudpickle``, ``joblib``), no
  ``eval`` / ``exec`` / ``compile`` / ``__import__``, ``torch.load`` only with ``weights_only=True``, ComfyUI's
  ``load_torch_file`` only with ``safe_load=True``, ``numpy.load`` never with ``allow_pickle=True``, no ``torch.hub``;
* no network or process modules (``socket``, ``ssl``, ``urllib``, ``requests``, ``http``, ``httpx``, ``aiohttp``,
  ``huggingface_hub``, ``subprocess``, ...), no ``os.system`` / ``os.popen`` / ``os.exec*`` / ``os.spawn*``, and
  Hugging Face ``from_pretrained`` only with ``local_files_only=True`` (our own classes' ``from_pretrained`` are
  local by contract and scanned themselves);
* node code (``nodes/``) opens no file itself and uses only the listed ``folder_paths`` functions, so every file
  name from a node input is resolved inside ComfyUI's folders (``get_full_path_or_raise`` normalises ``..`` and
  absolute names into the folder).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

PICKLE_MODULES = frozenset({"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "joblib"})
NETWORK_MODULES = frozenset({"socket", "ssl", "urllib", "urllib3", "requests", "http", "httpx", "aiohttp",
                             "huggingface_hub", "ftplib", "smtplib", "telnetlib", "xmlrpc", "websocket",
                             "websockets", "paramiko", "subprocess", "pty", "webbrowser"})
CODE_BUILTINS = frozenset({"eval", "exec", "compile", "__import__"})
OS_PROCESS_PREFIXES = ("system", "popen", "exec", "spawn", "posix_spawn", "fork")
REVIEWED_IMPORTS: dict[tuple[str, str], str] = {
    ("ltx_model/distributed/boot.py", "pickle"):
        "a multi-GPU worker unpickles the setup its own driver process pickled in memory and handed over at spawn "
        "(multiprocessing pickles spawn arguments the same way); never bytes from a file or the network",
    ("ltx_model/distributed/workers.py", "pickle"): "pickles that worker setup for boot.py (see there)",
    ("ltx_model/distributed/groups.py", "socket"):
        "picks a free loopback (127.0.0.1) port for the torch.distributed rendezvous of the pack's own worker "
        "processes; nothing is reachable from outside the machine",
}
"""(file, imported module) pairs reviewed as safe, with why; every other import of a listed module is a finding,
and an entry no file needs any more is one too (see :func:`stale_reviews`)."""
NODE_FOLDER_PATHS_API = frozenset({
    "get_filename_list", "get_full_path_or_raise", "get_full_path", "models_dir", "folder_names_and_paths",
    "supported_pt_extensions", "get_input_directory", "get_output_directory", "get_temp_directory",
    "get_annotated_filepath", "exists_annotated_filepath", "get_save_image_path",
    "get_folder_paths",  # read-only: the folders ComfyUI already registered for a model kind
})


def dotted(node: ast.AST) -> str:
    """``a.b.c`` of a Name / Attribute chain ('' for anything else)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _keyword_is(call: ast.Call, name: str, value: object) -> bool:
    return any(k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is value for k in call.keywords)


def _import_findings(tree: ast.AST) -> Iterable[tuple[int, str]]:
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        for name in names:
            root = name.split(".")[0]
            if root in PICKLE_MODULES:
                yield node.lineno, f"imports {name} (pickle-family: can run code when loading)"
            if root in NETWORK_MODULES or name.startswith("torch.hub"):
                yield node.lineno, f"imports {name} (network / process access at run time)"


def _call_findings(call: ast.Call, local_classes: frozenset[str]) -> Iterable[str]:
    name = dotted(call.func)
    last = name.rsplit(".", 1)[-1]
    if name in CODE_BUILTINS:
        yield f"calls {name}() (runs arbitrary code)"
    if name == "torch.load" and not _keyword_is(call, "weights_only", True):
        yield "torch.load without weights_only=True (unpickles arbitrary objects)"
    if last == "load_torch_file" and not _keyword_is(call, "safe_load", True):
        yield "load_torch_file without safe_load=True"
    if name in ("np.load", "numpy.load") and _keyword_is(call, "allow_pickle", True):
        yield "numpy.load with allow_pickle=True"
    if name.startswith("os.") and last.startswith(OS_PROCESS_PREFIXES):
        yield f"calls {name} (starts processes)"
    if name.startswith("torch.hub"):
        yield f"calls {name} (downloads)"
    if last == "from_pretrained" and name.split(".")[0] not in local_classes and \
            not _keyword_is(call, "local_files_only", True):
        yield f"{name} without local_files_only=True (may download)"


def _node_findings(tree: ast.AST) -> Iterable[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and dotted(node.func) in ("open", "io.open", "os.open"):
            yield node.lineno, "node code opens a file itself (resolve names through folder_paths)"
        if isinstance(node, ast.Attribute) and dotted(node.value) == "folder_paths" and \
                node.attr not in NODE_FOLDER_PATHS_API:
            yield node.lineno, f"folder_paths.{node.attr} is not in the allowed folder_paths API"


def local_from_pretrained_classes(trees: Iterable[ast.AST]) -> frozenset[str]:
    """Classes of the scanned code that define ``from_pretrained`` themselves."""
    return frozenset(n.name for tree in trees for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and any(
        isinstance(f, ast.FunctionDef) and f.name == "from_pretrained" for f in n.body))


def scan_source(source: str, label: str, *, node_code: bool = False,
                local_classes: frozenset[str] = frozenset()) -> list[str]:
    """Findings of one module's source."""
    tree = ast.parse(source)
    found = list(_import_findings(tree))
    found += [(n.lineno, msg) for n in ast.walk(tree) if isinstance(n, ast.Call)
              for msg in _call_findings(n, local_classes)]
    if node_code:
        found += list(_node_findings(tree))
    return [f"{label}:{line}: {message}" for line, message in sorted(found)]


def runtime_files(repo: Path) -> list[Path]:
    """The pack's runtime Python code: the entry ``__init__.py``, ``nodes/`` and ``ltx_model/``."""
    return [repo / "__init__.py", *sorted((repo / "nodes").rglob("*.py")), *sorted((repo / "ltx_model").rglob("*.py"))]


def scan_repo(repo: Path) -> list[str]:
    """Findings in every runtime file."""
    files = runtime_files(repo)
    sources = {path: path.read_text(encoding="utf-8") for path in files}
    local = local_from_pretrained_classes(ast.parse(s) for s in sources.values())
    findings = []
    for path, source in sources.items():
        rel = path.relative_to(repo)
        findings += scan_source(source, str(rel), node_code=rel.parts[0] == "nodes", local_classes=local)
    return [f for f in findings if not _reviewed(f)]


def _reviewed(finding: str) -> bool:
    """Whether ``finding`` is an import of :data:`REVIEWED_IMPORTS`."""
    return any(finding.startswith(f"{path}:") and f": imports {module} (" in finding
               for path, module in REVIEWED_IMPORTS)


def stale_reviews(repo: Path) -> list[str]:
    """Entries of :data:`REVIEWED_IMPORTS` whose file no longer imports the module."""
    return [f"{path} no longer imports {module}" for path, module in REVIEWED_IMPORTS
            if not any(f": imports {module} (" in f for f in scan_source((repo / path).read_text(encoding="utf-8"),
                                                                          path))]
