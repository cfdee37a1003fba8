"""A real ComfyUI ``main.py --cpu`` server in a subprocess (comfyui-integration.md §6.3), for the HTTP graph test.

The server gets its own ``--extra-model-paths-config`` YAML whose group points at a base folder holding
``custom_nodes/ltx2_native`` (a symlink to this repository) and the tiny model folders; every other custom node is
disabled, output/input/temp/user folders are temporary, and the database is in memory. :meth:`ComfyServer.stop`
kills the process group (always called by the fixture's teardown).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from scripts.comfy_headless import MODEL_FOLDERS, PACK_NAME, REPO_ROOT

BOOT_TIMEOUT_S = 180.0
RUN_TIMEOUT_S = 600.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_paths_yaml(path: Path, base: Path, models: Path) -> Path:
    """An ``extra_model_paths.yaml`` with ``custom_nodes`` under ``base`` and each model folder under ``models``."""
    lines = ["ltx2n_http_test:", f"  base_path: {base}", "  is_default: true", "  custom_nodes: custom_nodes"]
    lines += [f"  {kind}: {models / kind}" for kind in MODEL_FOLDERS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class ComfyServer:
    """One ``main.py`` process: start, wait for ``/system_stats``, submit prompts, poll ``/history``, stop."""

    def __init__(self, comfy_root: Path, base: Path, models: Path, input_dir: Path):
        self.base = base
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output_dir = base / "output"
        self.log_path = base / "server.log"
        (base / "custom_nodes").mkdir(parents=True, exist_ok=True)
        link = base / "custom_nodes" / PACK_NAME
        if not link.exists():
            link.symlink_to(REPO_ROOT, target_is_directory=True)
        for sub in ("output", "temp", "user"):
            (base / sub).mkdir(exist_ok=True)
        yaml = write_paths_yaml(base / "extra_model_paths.yaml", base, models)
        self.command = [
            sys.executable, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
            "--extra-model-paths-config", str(yaml), "--output-directory", str(self.output_dir),
            "--input-directory", str(input_dir), "--temp-directory", str(base / "temp"),
            "--user-directory", str(base / "user"), "--database-url", "sqlite:///:memory:",
            "--disable-auto-launch", "--disable-api-nodes", "--disable-all-custom-nodes",
            "--whitelist-custom-nodes", PACK_NAME,
        ]
        self.cwd = comfy_root
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Launch the process (own process group) and wait until ``/system_stats`` answers."""
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command, cwd=self.cwd, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.process.returncode}:\n{self.log()}")
            try:
                self.get("/system_stats")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        raise TimeoutError(f"ComfyUI did not answer within {BOOT_TIMEOUT_S} s:\n{self.log()}")

    def stop(self) -> None:
        """Terminate the server's process group (SIGTERM, then SIGKILL after 10 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log(self) -> str:
        """The server's combined stdout/stderr so far (last 6000 characters)."""
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    def get(self, route: str) -> Any:
        """GET ``route`` and decode the JSON answer."""
        with urllib.request.urlopen(self.url + route, timeout=30) as response:
            return json.loads(response.read())

    def post(self, route: str, body: dict) -> Any:
        """POST ``body`` as JSON to ``route`` and decode the JSON answer (HTTP errors carry the server's body)."""
        request = urllib.request.Request(self.url + route, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"POST {route} -> {exc.code}: {exc.read().decode(errors='replace')}") from None

    def queue(self, prompt: dict) -> str:
        """Submit an API prompt; returns its prompt id."""
        answer = self.post("/prompt", {"prompt": prompt, "client_id": str(uuid.uuid4())})
        assert not answer.get("node_errors"), answer
        return answer["prompt_id"]

    def wait(self, prompt_id: str, timeout_s: float = RUN_TIMEOUT_S) -> dict:
        """Poll ``/history/<id>`` until the run ends; returns its history entry."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            entry = self.get(f"/history/{prompt_id}").get(prompt_id)
            if entry and entry.get("status", {}).get("completed") is not None and (
                    entry["status"].get("status_str") in ("success", "error")):
                return entry
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI died while running:\n{self.log()}")
            time.sleep(0.5)
        raise TimeoutError(f"prompt {prompt_id} did not finish within {timeout_s} s:\n{self.log()}")
