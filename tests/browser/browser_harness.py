"""Real-browser harness: ComfyUI's ``main.py`` server with this pack loaded, driven by headless Debian Chromium.

One server and one browser page per test session (see conftest.py). The server runs the real ComfyUI tree
(``COMFYUI_PATH`` or ``~/comfy/ComfyUI``) on the CPU with every other custom node disabled; the pack is reached
through ``--extra-model-paths-config`` (a ``custom_nodes:`` folder holding one symlink, ``ltx2_native`` -> this
repository). Chromium is ``/usr/bin/chromium`` (``scripts/install_browser.sh``), launched by Playwright through
``executable_path``; Playwright's own browser download is never used.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PACK_NAME = "ltx2_native"
CHROMIUM = Path(os.environ.get("LTX2_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
SERVER_START_TIMEOUT_S = 240.0
MODEL_FOLDERS = ("checkpoints", "diffusion_models")
"""Model folders of the server, under its work folder (``models/<folder>``; empty until a test writes a file)."""

# Console errors that ComfyUI's own frontend logs on every boot of a fresh user folder, whatever packs are loaded:
# 404s for optional user files (user.css, saved workflows/subgraphs/templates folders, favicon) and one internal
# notice; from frontend 1.49 also the blocked model-size look-ups of the start-up workflow (its default graph lists
# huggingface.co model URLs, which the missing-model check fetches; --disable-api-nodes makes the server send a CSP
# that allows only its own origin). They are reported, never counted. Anything under /extensions/ (a pack script)
# is never ignored.
HOST_NOISE = (
    re.compile(r"^Failed to load resource: the server responded with a status of 404"),
    re.compile(r"^ComfyApp graph accessed before initialization$"),
    re.compile(r"^Connecting to 'https://huggingface\.co/[^']*' violates the following Content Security Policy"),
    re.compile(r"^Fetch API cannot load https://huggingface\.co/\S+\. Refused to connect because it violates"),
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ComfyServer:
    """A running ``main.py`` subprocess and the temporary folders it writes into."""

    root: Path
    workdir: Path
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.loads(response.read())

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        """Terminate the server process this harness started (by its pid), then wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)


def _write_paths_yaml(workdir: Path) -> Path:
    custom_nodes = workdir / "custom_nodes"
    custom_nodes.mkdir(parents=True, exist_ok=True)
    link = custom_nodes / PACK_NAME
    if not link.exists():
        link.symlink_to(REPO_ROOT, target_is_directory=True)
    for folder in MODEL_FOLDERS:  # created now: ComfyUI's file-list cache notices new files by the folder's mtime
        (workdir / "models" / folder).mkdir(parents=True, exist_ok=True)
    folders = "".join(f"  {folder}: models/{folder}\n" for folder in MODEL_FOLDERS)
    yaml = workdir / "extra_model_paths.yaml"
    yaml.write_text(f"ltx2_browser_tests:\n  base_path: {workdir}\n  custom_nodes: custom_nodes\n{folders}")
    return yaml


def _write_user_settings(user_dir: Path) -> None:
    """Settings of a returning user: a fresh one gets the template browser over the canvas at start-up."""
    settings = user_dir / "default" / "comfy.settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"Comfy.TutorialCompleted": True}))


def start_server(root: Path, workdir: Path) -> ComfyServer:
    """Start ``main.py`` on a free port and wait until ``/system_stats`` answers (RuntimeError with the log if not)."""
    folders = {name: workdir / name for name in ("output", "input", "temp", "user")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    yaml = _write_paths_yaml(workdir)
    _write_user_settings(folders["user"])
    port = free_port()
    command = [
        sys.executable, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port),
        "--disable-auto-launch", "--disable-api-nodes",
        "--output-directory", str(folders["output"]), "--extra-model-paths-config", str(yaml),
        # Keep the ComfyUI tree untouched and other packs out of the test.
        "--input-directory", str(folders["input"]), "--temp-directory", str(folders["temp"]),
        "--user-directory", str(folders["user"]), "--database-url", "sqlite:///:memory:",
        "--disable-all-custom-nodes", "--whitelist-custom-nodes", PACK_NAME,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = ComfyServer(root, workdir, port, process, log_path)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ComfyUI exited with {process.returncode}:\n{server.log_tail()}")
        try:
            server.get_json("/system_stats")
            return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"ComfyUI did not answer within {SERVER_START_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


@dataclass
class ConsoleLog:
    """Console messages and uncaught page errors of the browser page, in order."""

    entries: list[dict] = field(default_factory=list)

    def add(self, kind: str, text: str, url: str = "") -> None:
        self.entries.append({"kind": kind, "text": text, "url": url})

    def mark(self) -> int:
        """A position; ``errors(since=mark)`` then returns only what came after it."""
        return len(self.entries)

    def errors(self, since: int = 0, *, allow_host_noise: bool = True) -> list[dict]:
        """Console errors and page errors after ``since``; ComfyUI's boot noise is left out when allowed."""
        found = []
        for entry in self.entries[since:]:
            if entry["kind"] not in ("error", "pageerror"):
                continue
            pack_related = "/extensions/" in entry["url"] or "/extensions/" in entry["text"]
            if allow_host_noise and not pack_related and entry["kind"] == "error" and any(
                    pattern.search(entry["text"]) for pattern in HOST_NOISE):
                continue
            found.append(entry)
        return found


def save_screenshot(page: Any, name: str) -> Path:
    """Save a PNG of the page under artifacts/browser/ (the test artifacts)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path))
    return path
