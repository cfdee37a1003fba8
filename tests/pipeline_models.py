"""Tiny demo model sets loaded through the library's pipeline loader, for the pipeline unit tests.

``"ltx23"`` is the LTX-2.3 single-file demo checkpoint, ``"ltx25"`` the complete LTX-2.5 demo set of split files
(both written by :mod:`ltx_model.demo`, random weights at tiny sizes), loaded in fp32.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ltx_model.demo import DemoFamily, write_demo_checkpoint
from ltx_model.demo.ltx25_set import write_demo_ltx25_model_set
from ltx_model.pipelines import PipelineModels, TextContexts, load_pipeline_models

FAMILIES = ("ltx23", "ltx25")


def load_demo_models(folder: Path, family: str) -> PipelineModels:
    """Write the demo files of ``family`` (one of :data:`FAMILIES`) under ``folder`` and load them (fp32)."""
    if family == "ltx25":
        write_demo_ltx25_model_set(folder / "models")
        return load_pipeline_models(folder / "models", dtype=torch.float32)
    path = write_demo_checkpoint(folder / "ltx-2.3-demo.safetensors", DemoFamily.LTX23)
    return load_pipeline_models(path, dtype=torch.float32)


def random_contexts(models: PipelineModels, tokens: int = 16, seed: int = 0) -> TextContexts:
    """Random video / audio text contexts ``(1, tokens, width)`` of the widths the models' connectors give."""
    gen = torch.Generator().manual_seed(seed)
    cfg = models.connectors.config
    return TextContexts(torch.randn(1, tokens, cfg.video.width, generator=gen),
                        torch.randn(1, tokens, cfg.audio.width, generator=gen))
