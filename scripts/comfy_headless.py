"""Headless ComfyUI in-process (comfyui-integration.md §6.2): boot once, convert UI workflows, execute API prompts.

Shared by the test harness (``tests/harness.py`` wraps it in pytest fixtures) and the main job (``generate.py``).
The real ComfyUI tree (``COMFYUI_PATH`` or comfy-cli's default ``~/comfy/ComfyUI``) is imported on the CPU (unless
``cpu=False``). Its custom-node search path gets a folder holding one symlink, ``ltx2_native`` -> this repository,
and every other custom node is disabled (whitelist), so the pack loads under a stable name whatever the checkout
is called.

Note: this repository has a ``nodes/`` package while ComfyUI has a top-level ``nodes`` module; the ComfyUI root is
therefore put first on ``sys.path`` and the pack is only ever imported through ComfyUI's loader (relative imports).
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import os
import re
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PACK_NAME = "ltx2_native"
if str(REPO_ROOT) not in sys.path:
    # `ltx_model` as a plain library for the scripts. Appended, so ComfyUI's root (put first by boot) still wins
    # for `nodes`; the pack's own `nodes/` package is only imported through ComfyUI's loader.
    sys.path.append(str(REPO_ROOT))
MODEL_FOLDERS = ("checkpoints", "diffusion_models", "vae", "text_encoders", "loras", "latent_upscale_models")


CACHE_ARGS_LITERAL = re.compile(r"cache_args\s*=\s*\{([^}]*)\}")
"""The dict literal ComfyUI's ``main.py`` passes to ``PromptExecutor``."""
CACHE_ARGS_READ = re.compile(r"cache_args\[\s*[\"'](\w+)[\"']\s*\]")
"""A ``cache_args["key"]`` read in ComfyUI's ``execution.py`` (a key the executor needs)."""


def executor_cache_args(root: Path) -> dict[str, float]:
    """The ``cache_args`` the host's ``PromptExecutor`` takes (ComfyUI 0.3.68, #10454, replaced ``cache_size`` by
    it), every limit 0 (off): the keys of the dict literal the host's own ``main.py`` passes, plus each key its
    ``execution.py`` subscripts (v0.20.1: ``lru``, ``ram``; ComfyUI 0.23.0, #13802, added ``ram_inactive``, which
    ``execute_async`` reads unconditionally). Raises when neither file names a key: a host layout this driver
    does not know, where guessed keys would fail later with a bare ``KeyError``."""
    def source(name: str) -> str:
        return (root / name).read_text(encoding="utf-8") if (root / name).is_file() else ""

    literal = CACHE_ARGS_LITERAL.search(source("main.py"))
    keys = re.findall(r"[\"'](\w+)[\"']\s*:", literal.group(1)) if literal else []
    keys += CACHE_ARGS_READ.findall(source("execution.py"))
    if not keys:
        raise RuntimeError(f"ComfyUI at {root}: neither main.py nor execution.py names the PromptExecutor "
                           "cache_args keys, so the headless driver cannot build an executor for this version "
                           "(tested: v0.20.1, v0.33.0); set COMFYUI_PATH to a tested ComfyUI")
    return dict.fromkeys(keys, 0)


class HostNotFound(RuntimeError):
    """No ComfyUI tree at ``COMFYUI_PATH`` / ``~/comfy/ComfyUI``."""


def comfy_root() -> Path | None:
    """The ComfyUI tree to run in, or None when there is none."""
    root = Path(os.environ.get("COMFYUI_PATH") or Path.home() / "comfy" / "ComfyUI").expanduser()
    return root if (root / "main.py").is_file() and (root / "comfy").is_dir() else None


@dataclass
class RunResult:
    """Outcome of one executed API prompt."""

    success: bool
    messages: list[tuple[str, dict]]
    ui_outputs: dict[str, Any]
    node_outputs: dict[str, list[Any]] = field(default_factory=dict)

    def error(self) -> str:
        """The execution error as one readable string ('' when there was none)."""
        for event, data in self.messages:
            if event == "execution_error":
                return f"{data['node_type']} (node {data['node_id']}): {data['exception_message']}\n" + "".join(
                    data.get("traceback", []))
        return ""


class PromptRejected(AssertionError):
    """``validate_prompt`` refused the prompt; ``node_errors`` holds ComfyUI's per-node details."""

    def __init__(self, error: dict, node_errors: dict):
        super().__init__(f"{error}\n{node_errors}")
        self.error = error
        self.node_errors = node_errors

    def problems(self) -> list[str]:
        """The refusal as readable lines, each once: ``ClassType (node N): message``.

        ComfyUI reports a failed ``validate_inputs`` once per validated input (``details`` = ``"input - message"``);
        the shared message is kept once. Other errors read ``message: details``.
        """
        lines: list[str] = []
        for node_id, entry in self.node_errors.items():
            for reason in entry.get("errors", []):
                details = str(reason.get("details", ""))
                name = (reason.get("extra_info") or {}).get("input_name")
                if reason.get("type") == "custom_validation_failed" and name and details.startswith(f"{name} - "):
                    text = details.removeprefix(f"{name} - ")
                else:
                    text = f"{reason.get('message', '')}: {details}" if details else str(reason.get("message", ""))
                line = f"{entry.get('class_type', '?')} (node {node_id}): {text}"
                if line not in lines:
                    lines.append(line)
        if not lines:
            details = self.error.get("details")
            lines.append(f"{self.error.get('message', 'prompt rejected')}" + (f": {details}" if details else ""))
        return lines


@dataclass
class ComfyHost:
    """A booted ComfyUI: its modules, the loaded pack module and the folders it writes into."""

    root: Path
    workdir: Path
    loop: asyncio.AbstractEventLoop
    server: Any
    pack: ModuleType
    core_node_ids: frozenset[str]

    @property
    def version(self) -> str:
        """The host's ComfyUI version (``comfyui_version.py``)."""
        import comfyui_version

        return comfyui_version.__version__

    @property
    def nodes(self) -> ModuleType:
        """ComfyUI's ``nodes`` module (the registry)."""
        import nodes

        return nodes

    @property
    def pack_nodes(self) -> ModuleType:
        """The pack's ``nodes`` package as ComfyUI loaded it."""
        return sys.modules[self.pack.__name__ + ".nodes"]

    @property
    def output_dir(self) -> Path:
        """ComfyUI's output folder (where Save* nodes write)."""
        import folder_paths

        return Path(folder_paths.get_output_directory())

    @property
    def input_dir(self) -> Path:
        """ComfyUI's input folder (where Load Image looks)."""
        import folder_paths

        return Path(folder_paths.get_input_directory())

    def node_class(self, node_id: str) -> type:
        """The registered class for ``node_id`` (core or pack)."""
        return self.nodes.NODE_CLASS_MAPPINGS[node_id]

    def model_dir(self, kind: str) -> Path:
        """Temporary default folder for model files of ``kind`` (e.g. ``checkpoints``)."""
        return self.workdir / "models" / kind

    def validate(self, prompt: dict) -> list[str]:
        """Validate an API prompt; returns the output node ids or raises :class:`PromptRejected`."""
        import execution

        ok, error, outputs, node_errors = self.loop.run_until_complete(
            execution.validate_prompt(str(uuid.uuid4()), prompt, None))
        if not ok:
            raise PromptRejected(error, node_errors)
        return list(outputs)

    def run(self, prompt: dict, *, keep: tuple[str, ...] = ()) -> RunResult:
        """Validate and execute an API prompt with a fresh executor; ``keep`` lists node ids whose outputs to return."""
        import execution

        outputs = self.validate(prompt)
        executor = execution.PromptExecutor(self.server, cache_type=execution.CacheType.CLASSIC,
                                            cache_args=executor_cache_args(self.root))
        self.loop.run_until_complete(executor.execute_async(prompt, str(uuid.uuid4()), {"client_id": None}, outputs))
        kept = {nid: self._cached_outputs(executor, nid) for nid in keep}
        history = getattr(executor, "history_result", {}) or {}  # not set when the run failed (any host)
        return RunResult(executor.success, list(executor.status_messages), history.get("outputs", {}), kept)

    def _cached_outputs(self, executor: Any, node_id: str) -> list[Any]:
        entry = executor.caches.outputs.get(node_id)
        if inspect.isawaitable(entry):  # ComfyUI 0.17.0 (#12056, CacheProvider API) made the cache's get async
            entry = self.loop.run_until_complete(entry)
        if entry is None:
            return []
        return [slot[0] if isinstance(slot, list) and len(slot) == 1 else slot for slot in entry.outputs]

    def ui_to_api(self, workflow: dict) -> dict:
        """Convert a UI-format workflow to an API prompt with comfy-cli's converter against the live schemas.

        The converter skips a node it cannot convert with only a log line; here that is an error instead.
        """
        from comfy_cli.workflow_to_api import convert_ui_to_api

        prompt = convert_ui_to_api(workflow, self.object_info())
        expected = {str(n["id"]) for n in workflow["nodes"]
                    if n.get("mode", 0) == 0 and n.get("type") in self.nodes.NODE_CLASS_MAPPINGS}
        missing = sorted(expected - set(prompt))
        if missing:
            raise AssertionError(f"converter dropped nodes {missing}")
        return prompt

    def workflow_templates(self) -> dict[str, list[str]]:
        """ComfyUI's own ``/workflow_templates`` listing ({custom node folder: [workflow stems]})."""
        from aiohttp import web
        from app.custom_node_manager import CustomNodeManager

        routes = web.RouteTableDef()
        CustomNodeManager().add_routes(routes, web.Application(), [])
        handler = next(r.handler for r in routes if getattr(r, "path", "") == "/workflow_templates")
        return json.loads(self.loop.run_until_complete(handler(None)).text)

    def object_info(self) -> dict[str, dict]:
        """``/object_info`` for every registered node, built the way ComfyUI's server builds it."""
        return {node_id: node_info(self.nodes, node_id) for node_id in self.nodes.NODE_CLASS_MAPPINGS}


def node_info(nodes_module: ModuleType, node_id: str) -> dict:
    """One ``/object_info`` entry (mirrors ``server.PromptServer.node_info``: V3 via ``GET_NODE_INFO_V1``)."""
    cls = nodes_module.NODE_CLASS_MAPPINGS[node_id]
    if hasattr(cls, "GET_NODE_INFO_V1"):
        return cls.GET_NODE_INFO_V1()
    inputs = cls.INPUT_TYPES()
    outputs = cls.RETURN_TYPES
    return {
        "input": inputs,
        "input_order": {key: list(value.keys()) for key, value in inputs.items()},
        "is_input_list": getattr(cls, "INPUT_IS_LIST", False),
        "output": outputs,
        "output_is_list": getattr(cls, "OUTPUT_IS_LIST", [False] * len(outputs)),
        "output_name": getattr(cls, "RETURN_NAMES", outputs),
        "name": node_id,
        "display_name": nodes_module.NODE_DISPLAY_NAME_MAPPINGS.get(node_id, node_id),
        "description": getattr(cls, "DESCRIPTION", ""),
        "python_module": getattr(cls, "RELATIVE_PYTHON_MODULE", "nodes"),
        "category": getattr(cls, "CATEGORY", "sd"),
        "output_node": getattr(cls, "OUTPUT_NODE", False) is True,
    }


_HOST: ComfyHost | None = None


def boot(workdir: Path, *, isolated_models: bool = True, output_dir: Path | None = None, cpu: bool = True,
         extra_model_paths: tuple[Path, ...] = ()) -> ComfyHost:
    """Import ComfyUI in-process, load core nodes and this pack; idempotent within one process.

    Args:
        workdir: folder for ComfyUI's input/temp/user folders and the custom-node symlink.
        isolated_models: True (tests): empty ``workdir/models/<kind>`` folders become the default model folders.
            False (main job): ComfyUI's own model folders plus its ``extra_model_paths.yaml``, as ``main.py`` does.
        output_dir: where Save* nodes write (default ``workdir/output``).
        cpu: run on the CPU (``--cpu``); False lets ComfyUI pick the device.
        extra_model_paths: more ``extra_model_paths.yaml`` files to load (like ``--extra-model-paths-config``).
    """
    global _HOST
    if _HOST is not None:
        return _HOST
    root = comfy_root()
    if root is None:
        raise HostNotFound("ComfyUI not found: set COMFYUI_PATH or install it at ~/comfy/ComfyUI")
    _put_comfy_first_on_path(root)
    from comfy.cli_args import args

    args.cpu = cpu  # before comfy.model_management is imported
    args.disable_all_custom_nodes = True
    args.whitelist_custom_nodes = [PACK_NAME]
    import folder_paths
    import utils.extra_config  # binds ComfyUI's top-level `utils` before nodes.py shadows it

    custom_nodes = _prepare_folders(folder_paths, workdir, output_dir or workdir / "output")
    if isolated_models:
        _isolated_model_folders(folder_paths, workdir)
    defaults = [root / "extra_model_paths.yaml"] if not isolated_models else []
    for yaml_path in [p for p in defaults if p.is_file()] + list(extra_model_paths):
        utils.extra_config.load_extra_path_config(str(yaml_path))
    import server

    import nodes

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    prompt_server = server.PromptServer(loop)
    loop.run_until_complete(nodes.init_extra_nodes(init_custom_nodes=False, init_api_nodes=False))
    core_ids = frozenset(nodes.NODE_CLASS_MAPPINGS)  # core + comfy_extras, before any custom node
    loop.run_until_complete(nodes.init_external_custom_nodes())
    pack_path = str(custom_nodes / PACK_NAME)
    pack = sys.modules.get(pack_path.replace(".", "_x_"))
    if pack is None or PACK_NAME not in nodes.LOADED_MODULE_DIRS:
        _raise_import_error(pack_path)
    _HOST = ComfyHost(root, workdir, loop, prompt_server, pack, core_ids)
    return _HOST


def _put_comfy_first_on_path(root: Path) -> None:
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != root.resolve()]
    sys.path.insert(0, str(root))
    imported = sys.modules.get("nodes")
    if imported is not None and Path(getattr(imported, "__file__", "") or "").resolve().parent.parent == REPO_ROOT:
        raise RuntimeError("this repository's nodes/ package was imported as top-level `nodes`, which hides "
                           "ComfyUI's; use the `pack_nodes` fixture instead")


def _prepare_folders(folder_paths: ModuleType, workdir: Path, output_dir: Path) -> Path:
    for sub in ("input", "temp", "user"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    folder_paths.set_output_directory(str(output_dir))
    folder_paths.set_input_directory(str(workdir / "input"))
    folder_paths.set_temp_directory(str(workdir / "temp"))
    folder_paths.set_user_directory(str(workdir / "user"))
    custom_nodes = workdir / "custom_nodes"
    custom_nodes.mkdir(exist_ok=True)
    link = custom_nodes / PACK_NAME
    if not link.exists():
        link.symlink_to(REPO_ROOT, target_is_directory=True)
    folder_paths.add_model_folder_path("custom_nodes", str(custom_nodes))
    return custom_nodes


def _isolated_model_folders(folder_paths: ModuleType, workdir: Path) -> None:
    for kind in MODEL_FOLDERS:
        (workdir / "models" / kind).mkdir(parents=True, exist_ok=True)
        folder_paths.add_model_folder_path(kind, str(workdir / "models" / kind), is_default=True)


def _raise_import_error(pack_path: str) -> None:
    """Re-import the pack under a throwaway name so the real exception reaches the caller."""
    spec = importlib.util.spec_from_file_location(PACK_NAME + "_import_check", os.path.join(pack_path, "__init__.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    raise RuntimeError(f"ComfyUI did not register the pack at {pack_path} (see the log above)")
