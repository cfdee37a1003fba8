"""The reliability suite's ``main.py --cpu`` server: the graph tests' :class:`ComfyServer` plus raw HTTP answers,
fast polling, interrupts, a websocket event reader and the process's resident memory.

One server per test session (fixture ``rel_server`` in ``conftest.py``); its teardown always kills it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comfy_server import ComfyServer  # tests/graph (on pytest's pythonpath, pyproject.toml)

POLL_S = 0.02
RUN_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Answer:
    """HTTP status and decoded JSON body of one request."""

    status: int
    body: Any


@dataclass(frozen=True)
class Outcome:
    """How a submitted prompt ended: ``rejected`` (HTTP 400 + node_errors), or its history entry."""

    answer: Answer
    entry: dict | None = None
    overran_s: float | None = None  # the run was still going after this many seconds and was interrupted

    @property
    def rejected(self) -> bool:
        return self.answer.status == 400

    @property
    def status(self) -> str:
        """``rejected``, ``success``, ``error`` (incl. interrupted)."""
        return "rejected" if self.rejected else self.entry["status"]["status_str"]

    def messages(self) -> list[tuple[str, dict]]:
        """The run's status messages (``execution_error``, ``execution_interrupted``, ...)."""
        return [] if self.entry is None else [tuple(m) for m in self.entry["status"].get("messages", [])]

    def execution_error(self) -> dict | None:
        """The ``execution_error`` message data (exception_type, exception_message, node_type, ...) or None."""
        return next((data for event, data in self.messages() if event == "execution_error"), None)

    def interrupted(self) -> bool:
        return any(event == "execution_interrupted" for event, _ in self.messages())


class RelServer(ComfyServer):
    """:class:`ComfyServer` with raw answers (400s included), a 20 ms history poll and helpers."""

    def request(self, route: str, body: dict | None = None, *, timeout: float = 60) -> Answer:
        """GET (``body`` None) or POST JSON; HTTP errors are returned, not raised."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + route, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                return Answer(response.status, json.loads(raw) if raw.strip() else None)
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return Answer(exc.code, json.loads(raw))
            except json.JSONDecodeError:
                return Answer(exc.code, raw.decode(errors="replace"))

    def submit(self, prompt: dict, *, client_id: str | None = None) -> Answer:
        """POST /prompt; the answer holds ``prompt_id`` or (HTTP 400) ``error`` + ``node_errors``."""
        return self.request("/prompt", {"prompt": prompt, "client_id": client_id or str(uuid.uuid4())})

    def wait_fast(self, prompt_id: str, timeout_s: float = RUN_TIMEOUT_S) -> dict:
        """Poll ``/history/<id>`` every 20 ms until the run ends; returns its history entry."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            entry = self.get(f"/history/{prompt_id}").get(prompt_id)
            if entry and entry.get("status", {}).get("status_str") in ("success", "error"):
                return entry
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI died while running:\n{self.log()}")
            time.sleep(POLL_S)
        raise TimeoutError(f"prompt {prompt_id} did not finish within {timeout_s} s:\n{self.log()}")

    def run(self, prompt: dict, *, client_id: str | None = None, timeout_s: float = RUN_TIMEOUT_S,
            interrupt_after_s: float | None = None) -> Outcome:
        """Submit and, unless rejected, wait for the end of the run. With ``interrupt_after_s`` a run still going
        after that long is interrupted (the outcome says so) instead of raising TimeoutError."""
        answer = self.submit(prompt, client_id=client_id)
        if answer.status != 200:
            return Outcome(answer)
        prompt_id = answer.body["prompt_id"]
        if interrupt_after_s is None:
            return Outcome(answer, self.wait_fast(prompt_id, timeout_s))
        try:
            return Outcome(answer, self.wait_fast(prompt_id, interrupt_after_s))
        except TimeoutError:
            self.interrupt()
            return Outcome(answer, self.wait_fast(prompt_id, timeout_s), overran_s=interrupt_after_s)

    def interrupt(self) -> None:
        """POST /interrupt (global, as the UI's Cancel button)."""
        answer = self.request("/interrupt", {})
        assert answer.status == 200, answer

    def alive(self) -> bool:
        """The process runs and answers ``/system_stats``."""
        return self.process is not None and self.process.poll() is None and \
            self.request("/system_stats").status == 200

    def rss_kib(self) -> int:
        """Resident memory of the server process (``VmRSS`` of ``/proc/<pid>/status``) in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS line")

    def events(self, client_id: str) -> EventReader:
        """A websocket reader of the events sent to ``client_id`` (progress, executing, ...)."""
        return EventReader(self.url.replace("http://", "ws://") + f"/ws?clientId={client_id}")


class EventReader:
    """Blocking websocket reader (``websocket-client``) of ComfyUI's JSON events; binary previews are skipped."""

    def __init__(self, url: str) -> None:
        import websocket

        self._ws = websocket.create_connection(url, timeout=RUN_TIMEOUT_S)

    def next(self) -> tuple[str, dict]:
        """The next JSON event as ``(type, data)``."""
        while True:
            message = self._ws.recv()
            if isinstance(message, str):
                event = json.loads(message)
                return event["type"], event.get("data", {})

    def close(self) -> None:
        self._ws.close()

    def __enter__(self) -> EventReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
