"""``torch.compile`` of the transformer, one block at a time (what the reference's ``--compile`` does).

Every :class:`~ltx_model.transformer.block.TransformerBlock` traces into ONE graph (``fullgraph=True``: no graph
breaks; the CPU fast paths of :mod:`ltx_model.layers` step aside while tracing, the compiler fuses the plain ops
itself). The 48 blocks share one compiled artefact (PyTorch inlines module parameters as graph inputs), so the cost
is one compile, not 48. The per-forward preparation (AdaLN, RoPE tables, the de-duplication of per-token timesteps)
stays eager: it runs once per pass and holds the only data-dependent op (``torch.unique`` for per-token timesteps).

Shapes: with the default ``dynamic=None`` (PyTorch's automatic dynamic) the first new resolution or frame count
recompiles once, marking the token counts (video ``Tv``, audio ``Ta``) symbolic; after that no size and no step
recompiles (tested with a counting backend over sizes and steps). ``dynamic=True`` (everything symbolic from the
first compile, the batch size included) is NOT the default: with torch 2.11 a symbolic batch size silently drops
per-sample STG perturbations in the traced graph when the video has per-token timesteps (the compiled block then
equals the unperturbed one; found by ``tests/unit/test_compile.py``'s equality check).

Blocks are compiled in place (``nn.Module.compile``): module names, parameters and state-dict keys are unchanged,
and the eager module is still reachable (``block.forward``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["compile_blocks", "compiled_block_count", "reset"]


def compile_blocks(
    model: nn.Module, *, backend: Any = "inductor", mode: str | None = None, dynamic: bool | None = None,
    fullgraph: bool = True,
) -> nn.Module:
    """Compile each of ``model.transformer_blocks`` in place and return ``model``.

    Args:
        model: an ``LTXTransformer`` (or anything with a ``transformer_blocks`` ``ModuleList``).
        backend: ``torch.compile`` backend (``"inductor"``; ``"aot_eager"`` / ``"eager"`` for tracing checks).
        mode: ``torch.compile`` mode (``None`` = default; ``"max-autotune-no-cudagraphs"`` on GPUs).
        dynamic: automatic (None: symbolic token counts after the first new size), everything symbolic (True; see
            the module docstring) or static (False).
        fullgraph: refuse graph breaks (True: a break is an error, not a silent slow path).
    """
    blocks = model.transformer_blocks
    # Perturbed passes (STG in some blocks) specialise per block: room for every block, plain and perturbed.
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 2 * len(blocks) + 8)
    for block in blocks:
        block.compile(backend=backend, mode=mode, dynamic=dynamic, fullgraph=fullgraph)
    return model


def compiled_block_count(model: nn.Module) -> int:
    """How many of ``model.transformer_blocks`` are compiled (``nn.Module.compile`` sets ``_compiled_call_impl``)."""
    return sum(getattr(block, "_compiled_call_impl", None) is not None for block in model.transformer_blocks)


def reset() -> None:
    """Forget every compiled artefact (tests, or after changing ``torch._dynamo`` settings)."""
    torch._dynamo.reset()
