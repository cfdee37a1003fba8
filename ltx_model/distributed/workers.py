"""Persistent worker processes driven from the host process (ComfyUI), which stays the driver.

A :class:`WorkerPool` starts ``W`` processes (``torch.multiprocessing``, spawn by default). Each joins one process
group (:func:`~ltx_model.distributed.groups.init_group`) and runs ``setup(rank)`` once, e.g.
:class:`~ltx_model.distributed.service.TransformerSetup`,
which reads only the transformer's tensors from the checkpoint by byte range on that rank's device; the state stays
loaded between jobs (prompts). The driver sends small jobs (a picklable function plus latents/contexts) through one
pipe per worker and receives rank 0's result; weights never travel through a pipe. Each worker starts on
:mod:`~ltx_model.distributed.boot` (run as a script), so it imports only this library, never the host's package.

Failure handling: a worker that raises, dies or does not answer within ``timeout_s`` ends the job with a
:class:`WorkerError` naming the rank and the cause; the pool is then torn down (every process killed) and restarted
on the next job. Interrupt: jobs call :meth:`JobControl.check` once per step (a distributed decode: once per round
of tiles) on every rank; it agrees on the driver's stop flag over the group, so all ranks stop at the same step and
the pool stays up; a job asked for after the interrupt is not sent at all. Shutdown: :meth:`close`
(also registered with ``atexit``) ends every process; workers also exit when the driver process disappears.
"""

from __future__ import annotations

import atexit
import contextlib
import pickle
import runpy
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from .groups import Rank, close_group, free_port, init_group

# The package prefix of this library in the driver ("" when imported as ``ltx_model``, e.g. "LTX2Native." inside
# ComfyUI); workers alias it to the top-level name (see boot.py).
_PREFIX = __name__[: -len("ltx_model.distributed.workers")]
Job = Callable[..., Any]  # job(rank: Rank, state, control: JobControl, *args) -> result (rank 0's is returned)


class WorkerError(RuntimeError):
    """A worker raised, died or hung; the message names the rank(s) and the cause."""


class WorkerInterrupted(RuntimeError):
    """The job was interrupted by the driver; ``steps`` maps each rank to the step it stopped at."""

    def __init__(self, steps: dict[int, int]) -> None:
        super().__init__(f"interrupted at step {max(steps.values())}" if steps
                         else "interrupted before the job started")
        self.steps = steps


class _Stop(Exception):
    """Raised inside a worker when the group agreed to stop."""


class JobControl:
    """What a job sees of the driver: an interrupt check and a progress report (rank 0)."""

    def __init__(self, rank: Rank, stop: Any, conn: Any) -> None:
        self.rank, self._stop, self._conn = rank, stop, conn
        self.step = 0

    def check(self) -> None:
        """Collective, once per step on every rank: stop everyone at this step if the driver asked any rank."""
        # on the rank's device: an NCCL group (CUDA) reduces CUDA tensors only
        flag = torch.tensor([1.0 if self._stop.is_set() else 0.0], device=self.rank.device)
        if self.rank.world_size > 1:
            dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self.rank.group)
        if flag.item():
            raise _Stop
        self.step += 1

    def progress(self, done: int, total: int) -> None:
        """Report progress to the driver (rank 0 only; other ranks' calls are ignored)."""
        if self.rank.is_driver:
            self._conn.send(("progress", (done, total)))


def worker_main(rank: int, world_size: int, port: int, device: str, setup: Callable[[Rank], Any], conn: Any,
                stop: Any, threads: int) -> None:
    """Body of one worker: join, set up once, then serve jobs until told to stop or the driver is gone (its end
    of the pipe closes when the driver process exits, however it exits)."""
    if threads:
        torch.set_num_threads(threads)
    try:
        info = init_group(rank, world_size, port, device)
        state = setup(info)
        conn.send(("ready", None))
    except BaseException:  # noqa: BLE001 - reported to the driver, which raises it there
        conn.send(("error", traceback.format_exc(limit=3)))
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            break
        if message[0] == "stop":
            break
        _serve(info, state, message[1], message[2], stop, conn)
    close_group()


def _serve(info: Rank, state: Any, job: Job, args: tuple, stop: Any, conn: Any) -> None:
    control = JobControl(info, stop, conn)
    try:
        result = job(info, state, control, *args)
        conn.send(("done", result if info.is_driver else None))
    except _Stop:
        conn.send(("interrupted", control.step))
    except BaseException:  # noqa: BLE001 - reported to the driver
        conn.send(("error", traceback.format_exc(limit=4)))


@dataclass(frozen=True)
class PoolSpec:
    """What a pool runs: one device per rank, the per-rank ``setup``, the start method, the job timeout and the
    start (setup: weight loading) timeout."""

    devices: tuple[str, ...]
    setup: Callable[[Rank], Any]
    start_method: str = "spawn"
    timeout_s: float = 600.0
    start_timeout_s: float = 1800.0
    threads: int = 0  # torch threads per worker (0 = torch's default)

    @property
    def world_size(self) -> int:
        """Number of ranks."""
        return len(self.devices)


class WorkerPool:
    """Persistent workers (see the module docstring). ``run`` starts them on first use and after a failure."""

    def __init__(self, spec: PoolSpec) -> None:
        self.spec = spec
        self._procs: list[Any] = []
        self._conns: list[Any] = []
        self._stop: Any = None
        atexit.register(self.close)

    @property
    def running(self) -> bool:
        """Whether the workers are up."""
        return bool(self._procs) and all(proc.is_alive() for proc in self._procs)

    def pids(self) -> list[int]:
        """Process ids of the workers (empty when not running)."""
        return [proc.pid for proc in self._procs]

    def start(self) -> None:
        """Start the workers and wait until every rank has loaded its state."""
        self.close()
        context = mp.get_context(self.spec.start_method)
        port, self._stop = free_port(), context.Event()
        payload = pickle.dumps(self.spec.setup)
        for rank, device in enumerate(self.spec.devices):
            parent_end, child_end = context.Pipe()
            kwargs = {"rank": rank, "world_size": self.spec.world_size, "port": port, "device": device,
                      "conn": child_end, "stop": self._stop, "threads": self.spec.threads}
            boot = {"root": str(Path(__file__).resolve().parents[2]), "prefix": _PREFIX, "payload": payload,
                    "kwargs": kwargs}
            proc = context.Process(target=runpy.run_path, daemon=True, name=f"ltx-worker-{rank}", kwargs={
                "path_name": str(Path(__file__).with_name("boot.py")), "init_globals": {"BOOT": boot},
                "run_name": "__ltx_worker__"})
            proc.start()
            child_end.close()  # the worker holds it now; the driver's copy would hide the driver's exit from it
            self._procs.append(proc)
            self._conns.append(parent_end)
        self._collect({"ready"}, None, None, self.spec.start_timeout_s)

    def run(self, job: Job, *args: Any, progress: Callable[[int, int], None] | None = None,
            interrupted: Callable[[], bool] | None = None) -> Any:
        """Run ``job(rank, state, control, *args)`` on every rank; return rank 0's result.

        Raises :class:`WorkerError` (pool torn down, restarted by the next call) or :class:`WorkerInterrupted`
        (pool kept; with no steps when ``interrupted()`` was already true, so the job was never sent)."""
        if interrupted is not None and interrupted():
            raise WorkerInterrupted({})
        if not self.running:
            self.start()
        self._stop.clear()
        for conn in self._conns:
            conn.send(("job", job, args))
        return self._collect({"done", "interrupted"}, progress, interrupted, self.spec.timeout_s)

    def _collect(self, finals: set[str], progress: Any, interrupted: Any, timeout_s: float) -> Any:
        """Wait for every rank's final message; raise on an error, a death or the timeout."""
        pending, finished, deadline = set(range(self.spec.world_size)), {}, time.monotonic() + timeout_s
        while pending:
            if interrupted is not None and interrupted():
                self._stop.set()
            for rank in sorted(pending):
                self._poll_rank(rank, pending, finished, finals, progress)
            if pending and time.monotonic() > deadline:
                self._fail(f"rank(s) {sorted(pending)} did not answer within {timeout_s:g} s (hung)")
            wait([self._conns[rank] for rank in pending], timeout=0.05)
        if any(kind == "interrupted" for kind, _ in finished.values()):
            raise WorkerInterrupted({rank: payload for rank, (_, payload) in finished.items()})
        return finished[0][1]

    def _poll_rank(self, rank: int, pending: set[int], finished: dict, finals: set[str], progress: Any) -> None:
        conn, proc = self._conns[rank], self._procs[rank]
        while conn.poll():
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):  # the worker's end closed: it is exiting
                proc.join(timeout=5.0)
                self._fail(f"rank {rank} died (exit code {proc.exitcode})")
            if kind == "error":
                self._fail(f"rank {rank} failed: {payload.strip().splitlines()[-1]}\n{payload}")
            if kind == "progress" and progress is not None:
                progress(*payload)
            if kind in finals:
                finished[rank] = (kind, payload)
                pending.discard(rank)
                return
        if not proc.is_alive():
            self._fail(f"rank {rank} died (exit code {proc.exitcode})")

    def _fail(self, message: str) -> None:
        self.close(graceful=False)
        raise WorkerError(f"multi-GPU worker pool: {message}; the pool restarts on the next run")

    def close(self, *, graceful: bool = True) -> None:
        """End every worker: ask and wait briefly (``graceful``), then terminate and kill what is left."""
        for conn in self._conns if graceful else ():
            with contextlib.suppress(OSError, ValueError):  # a dead worker's pipe
                conn.send(("stop", None))
        for proc in self._procs:
            proc.join(timeout=2.0 if graceful else 0.0)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=2.0)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self._conns:
            conn.close()
        self._procs, self._conns = [], []
