"""Worker-side setups and jobs of the worker-pool tests (module-level so that worker processes can unpickle them)."""

from __future__ import annotations

import os
import time

import torch
import torch.distributed as dist

from ltx_model.distributed import JobControl, PassState, Rank, SequenceParallel, host_decode
from ltx_model.transformer import Modality


def no_state(rank: Rank) -> dict:
    """A setup that loads nothing (records its pid)."""
    return {"pid": os.getpid()}


def identity(rank: Rank, state: object, control: JobControl) -> tuple[int, int]:
    """Rank 0's pid and the id of its state (unchanged while the pool keeps its weights)."""
    return os.getpid(), id(state)


def transformer_pass(rank: Rank, state: PassState, control: JobControl, video: Modality,
                     audio: Modality) -> tuple:
    """One sequence-parallel pass of the loaded transformer."""
    control.check()
    with torch.no_grad():
        return SequenceParallel(state.model, rank)(video, audio)


def crash(rank: Rank, state: object, control: JobControl) -> None:
    """Rank 1 dies abruptly (as on a GPU fault or an OOM kill)."""
    if rank.rank == 1:
        os._exit(3)


def fail(rank: Rank, state: object, control: JobControl) -> None:
    """Rank 1 raises."""
    if rank.rank == 1:
        raise ValueError("bad tile size on this rank")


def hang(rank: Rank, state: object, control: JobControl) -> None:
    """Rank 1 never answers."""
    if rank.rank == 1:
        time.sleep(120)


def steps(rank: Rank, state: object, control: JobControl, total: int) -> int:
    """``total`` steps of a collective each; checks the interrupt before every step, reports progress."""
    for step in range(total):
        control.check()
        value = torch.ones(1)
        dist.all_reduce(value)
        control.progress(step + 1, total)
        time.sleep(0.05)
    return total


class _PausedProgress:
    """A job's control whose progress report is followed by a pause on rank 0 (so that the driver's Cancel lands in
    the middle of a decode); ``check`` is the real collective check."""

    def __init__(self, control: JobControl, pause_s: float) -> None:
        self.control, self.pause_s = control, pause_s

    def check(self) -> None:
        self.control.check()

    def progress(self, done: int, total: int) -> None:
        self.control.progress(done, total)
        time.sleep(self.pause_s)


def paused_decode(rank: Rank, state: PassState, control: JobControl, latent: torch.Tensor, tiling: object,
                  pause_s: float) -> torch.Tensor | None:
    """The production decode job (``host_decode``), pausing ``pause_s`` after each tile's progress report."""
    return host_decode(rank, state, _PausedProgress(control, pause_s), latent, tiling)
