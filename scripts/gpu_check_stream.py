"""Block streaming for the consumer-card emulation of ``scripts/gpu_check.py`` (on the CPU of a dry run the host
copies are plain, not pinned, and the "device" is the CPU itself: the same code runs).

Our transformer with fp8 block matrices (``ltx_model.quant.fp8``) whose blocks live in pinned host memory and are
copied to the GPU just before they run (and dropped after): the resident part is the small non-block modules plus
one block at a time. Weights come from the shared real-size state on the GPU, quantised there block by block and
moved to the host, so the GPU copy can be freed before the memory fraction is lowered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from bench_common import BenchConfig, PassShape
from bench_impls import ADAPTERS, make_pass_inputs
from torch import nn

from ltx_model.quant.fp8 import quantize_linears


class HostBlocks:
    """Keeps every block's tensors in pinned host memory and swaps them onto the GPU around the block's call."""

    def __init__(self, blocks: nn.ModuleList, device: torch.device) -> None:
        self.device = device
        self.host: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        for index, block in enumerate(blocks):
            tensors = [*block.parameters(), *block.buffers()]
            host = [t.detach().to("cpu") for t in tensors]
            if device.type == "cuda":
                host = [h.pin_memory() for h in host]
            self.host[index] = list(zip(tensors, host, strict=True))
            for tensor, pinned in self.host[index]:
                tensor.data = pinned
            block.register_forward_pre_hook(lambda m, a, i=index: self._load(i))
            block.register_forward_hook(lambda m, a, out, i=index: self._drop(i))

    def _load(self, index: int) -> None:
        for tensor, pinned in self.host[index]:
            tensor.data = pinned.to(self.device, non_blocking=True)

    def _drop(self, index: int) -> None:
        for tensor, pinned in self.host[index]:
            tensor.data = pinned


def streamed_model(cfg: BenchConfig, state: dict[str, torch.Tensor]) -> nn.Module:
    """Ours with fp8 block matrices, blocks on the host (pinned), the rest on the GPU. Empties ``state``."""
    model = ADAPTERS["ours"].transformer(cfg.section, state)
    quantize_linears(model)
    state.clear()  # the bf16 GPU copy goes; fp8 blocks move to the host below
    HostBlocks(model.transformer_blocks, torch.device(cfg.device))
    if cfg.device.startswith("cuda"):
        torch.cuda.empty_cache()
    return model


def timed_step(fn: Callable[[], Any], device: str) -> tuple[float, int | None]:
    """(seconds of one call of ``fn`` after a warm-up call, peak allocated bytes on CUDA, else None)."""
    cuda = device.startswith("cuda")
    with torch.inference_mode():
        fn()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
    return time.perf_counter() - start, (torch.cuda.max_memory_allocated() if cuda else None)


def streamed_pass(cfg: BenchConfig, state: dict[str, torch.Tensor], shape: PassShape, model: Any = None
                  ) -> tuple[float, int | None]:
    """(seconds of one pass after a warm-up, peak allocated bytes or None) of the streamed model at ``shape``."""
    model = model or streamed_model(cfg, state)
    inputs = make_pass_inputs(cfg.section, shape, dtype=cfg.dtype, device=cfg.device)
    return timed_step(ADAPTERS["ours"].pass_fn(model, inputs), cfg.device)
