"""Process groups over ``torch.distributed``: NCCL on CUDA, gloo on CPU, one node.

A :class:`Rank` is what one process knows about its place in the group (rank, world size, device, group). The
launcher :func:`launch` starts ``world_size`` processes with ``torch.multiprocessing`` (each initialises the group
on a free local port, runs a function, tears the group down) and returns every rank's result; it is what tests and
``scripts/bench_mgpu.py`` use. The persistent worker pool (:mod:`ltx_model.distributed.workers`) initialises its
group the same way through :func:`init_group`.
"""

from __future__ import annotations

import datetime
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def backend_for(device: torch.device | str) -> str:
    """The ``torch.distributed`` backend of a device: ``"nccl"`` for CUDA, ``"gloo"`` otherwise."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def free_port() -> int:
    """A TCP port free on the loopback interface right now (for the rendezvous of one group)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Traffic:
    """Bytes this rank has sent to other ranks through the sequence-parallel collectives (for benchmarks)."""

    sent: int = 0


@dataclass(frozen=True)
class Rank:
    """One process's place in a group.

    Attributes:
        rank: 0..world_size-1.
        world_size: processes in the group.
        device: this rank's compute device (``cuda:<i>`` or ``cpu``).
        group: the process group (None = the default group).
        traffic: when set, the collectives of :mod:`ltx_model.distributed.exchange` add the bytes they send.
    """

    rank: int
    world_size: int
    device: torch.device
    group: Any = None
    traffic: Traffic | None = None

    def count(self, nbytes: int) -> None:
        """Add ``nbytes`` sent to other ranks to :attr:`traffic` (no-op without one)."""
        if self.traffic is not None:
            self.traffic.sent += int(nbytes)

    @property
    def is_driver(self) -> bool:
        """Rank 0 answers for the group (returns results, reports progress)."""
        return self.rank == 0


def init_group(rank: int, world_size: int, port: int, device: torch.device | str, *,
               timeout_s: float = 120.0) -> Rank:
    """Join the default group as ``rank`` on ``127.0.0.1:port`` with the device's backend; on CUDA the device
    becomes current. ``timeout_s`` bounds every collective (a missing peer raises instead of hanging forever)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend_for(device), init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
        timeout=datetime.timedelta(seconds=timeout_s),
    )
    return Rank(rank, world_size, device)


def close_group() -> None:
    """Leave the default group (no-op when none is initialised)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def rank_devices(world_size: int, devices: list[str] | None = None) -> list[str]:
    """One device per rank: the given list, else ``cuda:0..`` when enough GPUs are visible, else ``cpu``."""
    if devices:
        if len(devices) != world_size:
            raise ValueError(f"{world_size} ranks need {world_size} devices, got {devices}")
        return list(devices)
    if torch.cuda.is_available() and torch.cuda.device_count() >= world_size:
        return [f"cuda:{index}" for index in range(world_size)]
    return ["cpu"] * world_size


def _launched(rank: int, fn: Callable[..., Any], world_size: int, port: int, devices: list[str],
              args: tuple, results: Any) -> None:
    """Body of one launched process: join, run ``fn(Rank, *args)``, put ``(rank, result)``, leave."""
    torch.set_num_threads(1)
    info = init_group(rank, world_size, port, devices[rank])
    try:
        results.put((rank, fn(info, *args)))
    finally:
        close_group()


def launch(fn: Callable[..., Any], world_size: int, *args: Any, devices: list[str] | None = None,
           start_method: str = "spawn") -> list[Any]:
    """Run ``fn(rank: Rank, *args)`` in ``world_size`` new processes and return their results in rank order.

    ``fn`` and ``args`` must be picklable (a module-level function); results travel back through a queue, so keep
    them small. A failing rank raises ``torch.multiprocessing.ProcessRaisedException`` here naming the rank.
    """
    devices = rank_devices(world_size, devices)
    context = mp.get_context(start_method)
    results = context.SimpleQueue()
    port = free_port()
    mp.start_processes(_launched, args=(fn, world_size, port, devices, args, results), nprocs=world_size,
                       join=True, start_method=start_method)
    collected = dict(results.get() for _ in range(world_size))
    return [collected[rank] for rank in range(world_size)]
