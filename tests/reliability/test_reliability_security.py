"""Security: a static scan of the runtime code (no pickle loading, no eval/exec, no network or process modules,
node code resolves every file name through folder_paths), traversal names refused by every path resolver of the
pack, and a full tiny text-to-video+audio prompt run in-process with the network blocked, recording every Python-level
file open: nothing reaches the network, nothing is opened outside ComfyUI's folders and the installed code, and
nothing is written outside the output / temp / user folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from rel_audit import watch
from rel_inprocess import extra_model_folder
from rel_models import write_rel_models
from rel_prompts import t2v_prompt
from rel_scan import scan_repo, scan_source, stale_reviews

from scripts.comfy_headless import REPO_ROOT, comfy_root

pytestmark = pytest.mark.reliability

TRAVERSALS = ("../outside/secret.safetensors", "../../outside/secret.safetensors", "/etc/passwd",
              "{outside}/secret.safetensors", "..\\outside\\secret.safetensors", "../outside/")


def test_reliability_security_static_scan_of_runtime_code_is_clean():
    findings = scan_repo(REPO_ROOT)
    assert not findings, "\n".join(findings)
    assert not stale_reviews(REPO_ROOT)  # every reviewed exception is still needed


BAD_SOURCE = '''
import pickle
from urllib.request import urlopen
import subprocess, torch, numpy as np, os
from huggingface_hub import hf_hub_download
torch.load("x.pt")
torch.load("x.pt", weights_only=False)
comfy.utils.load_torch_file("x.ckpt")
np.load("x.npy", allow_pickle=True)
eval("1 + 1")
exec("pass")
os.system("curl http://example.invalid")
AutoTokenizer.from_pretrained("google/gemma-3-12b-it")
torch.hub.load("repo", "model")
open(folder_paths.models_dir + "/x")
folder_paths.base_path
'''


def test_reliability_security_scanner_flags_each_rule():
    findings = scan_source(BAD_SOURCE, "bad.py", node_code=True)
    expected = ("imports pickle", "imports urllib.request", "imports subprocess", "imports huggingface_hub",
                "torch.load without", "load_torch_file without", "allow_pickle=True", "calls eval()",
                "calls exec()", "calls os.system", "from_pretrained without", "calls torch.hub.load",
                "opens a file itself", "folder_paths.base_path")
    missing = [e for e in expected if not any(e in f for f in findings)]
    assert not missing, f"not flagged: {missing}\n" + "\n".join(findings)
    assert sum("torch.load without" in f for f in findings) == 2
    clean = scan_source("import torch\ntorch.load('x', weights_only=True)\n", "ok.py", node_code=True)
    assert clean == []


@pytest.fixture(scope="module")
def security_files(comfy_host, tmp_path_factory):
    """Tiny models in extra folders of the in-process host, and a loadable checkpoint + Gemma folder right
    OUTSIDE them (what a traversal would reach)."""
    import shutil

    root = tmp_path_factory.mktemp("rel_security")
    models = write_rel_models(root / "models")
    outside = root / "models" / "outside"
    outside.mkdir()
    shutil.copy(models.folder("checkpoints") / models.checkpoint_19b, outside / "secret.safetensors")
    shutil.copytree(models.folder("text_encoders") / models.gemma.rstrip("/"), outside / "gemma")
    with extra_model_folder("checkpoints", models.folder("checkpoints")), \
            extra_model_folder("text_encoders", models.folder("text_encoders")), \
            extra_model_folder("vae", models.folder("checkpoints")), \
            extra_model_folder("loras", models.folder("loras")), \
            extra_model_folder("latent_upscale_models", models.folder("latent_upscale_models")):
        yield models, outside


def _resolvers(pack_nodes) -> dict:
    """Every function of the pack that turns a node input into a path."""
    vae, text = pack_nodes.vae, pack_nodes.text
    kinds = ("checkpoints", "vae", "loras", "text_encoders", "latent_upscale_models")
    folders = pack_nodes.model_folders
    found = {f"model_folders.model_path({kind!r})": (lambda name, kind=kind: folders.model_path(kind, name))
             for kind in kinds}
    found["vae_host.resolve_model_file"] = lambda name: pack_nodes.vae_host.resolve_model_file(name, vae.VAE_FOLDERS)
    found["text.resolve_gemma"] = text.resolve_gemma
    found["text.resolve_text_checkpoint"] = text.resolve_text_checkpoint
    return found


def test_reliability_security_traversal_names_rejected_by_every_resolver(pack_nodes, security_files):
    _, outside = security_files
    escaped = []
    for label, resolve in _resolvers(pack_nodes).items():
        for name in TRAVERSALS:
            name = name.format(outside=outside)
            try:
                path = Path(resolve(name)).resolve()
            except (FileNotFoundError, ValueError):
                continue
            if outside.resolve() in (path, *path.parents) or not path.exists():
                escaped.append(f"{label}({name!r}) -> {path}")
    assert not escaped, "\n".join(escaped)
    problem = pack_nodes.text.gemma_problem("../outside/gemma/")
    assert problem and "gemma" in problem.lower()


def _allowed_roots() -> tuple[list[Path], list[Path]]:
    """(roots every open may touch, roots a write may touch)."""
    import folder_paths

    writable = [Path(folder_paths.get_output_directory()), Path(folder_paths.get_temp_directory()),
                Path(folder_paths.get_user_directory()), Path("/dev/null"), Path("/dev/shm")]
    models = [Path(p) for paths, _ in folder_paths.folder_names_and_paths.values() for p in paths]
    code = [Path(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}] + [REPO_ROOT, comfy_root()]
    system = [Path(p) for p in ("/proc", "/sys", "/dev", "/etc", "/usr", "/lib", "/lib64")]
    inputs = [Path(folder_paths.get_input_directory())]
    return [*writable, *models, *code, *system, *inputs], writable


def _outside(path: str, roots: list[Path]) -> bool:
    resolved = Path(os.path.abspath(path))
    return not any(resolved == root or root in resolved.parents for root in (r.resolve() for r in roots))


def _files_under(roots) -> dict:
    """``{root: {relative path: (size, mtime_ns)}}`` of every file below each root (``roots`` or a previous result)."""
    out = {}
    for root in roots:
        out[root] = {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
                     for p in Path(root).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    return out


def test_reliability_security_full_prompt_offline_and_file_access_confined(comfy_host, security_files, monkeypatch):
    import folder_paths
    from graph_support import ExpectedVideo

    models, _ = security_files
    prompt = t2v_prompt(models.checkpoint_19b, models.gemma, ExpectedVideo(64, 64, 9, 25.0), seed=7,
                        prefix="rel/offline")
    untouched = _files_under([models.root, Path(folder_paths.get_input_directory()), REPO_ROOT / "nodes",
                              REPO_ROOT / "ltx_model"])
    with watch(monkeypatch) as seen:
        result = comfy_host.run(prompt)
    assert result.success, result.error()
    # native code (safetensors, PyAV) opens files without audit events: model, input and code folders are unchanged
    # and the only new output is the mp4
    assert _files_under(untouched) == untouched, "files changed in the model / input / code folders"
    (saved,) = [Path(folder_paths.get_output_directory()) / o["subfolder"] / o["filename"]
                for node in result.ui_outputs.values() for o in node.get("images", []) if isinstance(o, dict)]
    assert saved.suffix == ".mp4" and saved.stat().st_size > 0
    assert not seen.network, f"network access attempted: {seen.network}"
    readable, writable = _allowed_roots()
    strays = sorted({p for p, _ in seen.opens if _outside(p, readable)})
    assert not strays, "opened outside ComfyUI's folders and the installed code:\n" + "\n".join(strays)
    writes = sorted({p for p, w in seen.opens if w and _outside(p, writable)})
    assert not writes, "written outside output/temp/user:\n" + "\n".join(writes)
    assert any(p.endswith(".safetensors") for p, _ in seen.opens), "the audit saw no model file (hook inactive?)"


def test_reliability_security_network_guard_sees_and_blocks_attempts(monkeypatch):
    import socket

    with watch(monkeypatch) as seen:
        with pytest.raises(ConnectionRefusedError, match="blocked"):
            socket.create_connection(("192.0.2.1", 443), timeout=1)  # TEST-NET-1: never routed
        with pytest.raises(OSError):
            socket.getaddrinfo("huggingface.co.invalid", 443)
        with open(os.devnull, "w") as sink:
            sink.write("")
    events = [event for event, _ in seen.network]
    assert events.count("socket.connect") == 1 and events.count("socket.getaddrinfo") == 2, seen.network
    assert (os.devnull, True) in seen.opens
