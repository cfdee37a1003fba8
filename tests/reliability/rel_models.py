"""Tiny model files of the reliability suite (demo weights in the official formats; nothing is downloaded)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from comfy_headless import MODEL_FOLDERS


@dataclass(frozen=True)
class RelModels:
    """The server's model folders (``root/<folder>``) and the names of the tiny files in them."""

    root: Path
    checkpoint: str = "ltx-2.3-22b-dev-rel.safetensors"
    checkpoint_19b: str = "ltx-2-19b-distilled-rel.safetensors"  # HiFi-GAN vocoder: the fastest audio decode
    lora: str = "ltx-2.3-rel-lora.safetensors"
    upscaler: str = "ltx-2-spatial-upscaler-x2-rel.safetensors"
    gemma: str = "gemma-rel/"

    def folder(self, kind: str) -> Path:
        return self.root / kind


def write_rel_models(root: Path) -> RelModels:
    """Tiny demo files (2.3 dev and 19B distilled checkpoints fp32, a 2.3 LoRA, x2 upscaler, Gemma folder) in fresh
    model folders."""
    import torch
    from workflow_models import write_demo_lora

    from ltx_model.demo_weights import DemoFamily, write_demo_checkpoint, write_demo_gemma, write_demo_upsampler

    models = RelModels(root)
    for kind in (*MODEL_FOLDERS, "input"):
        models.folder(kind).mkdir(parents=True, exist_ok=True)
    write_demo_checkpoint(models.folder("checkpoints") / models.checkpoint, DemoFamily.LTX23, dtype=torch.float32)
    write_demo_checkpoint(models.folder("checkpoints") / models.checkpoint_19b, DemoFamily.LTX2, seed=1,
                          dtype=torch.float32)
    write_demo_lora(models.folder("loras") / models.lora, DemoFamily.LTX23)
    write_demo_upsampler(models.folder("latent_upscale_models") / models.upscaler, dtype=torch.float32)
    write_demo_gemma(models.folder("text_encoders") / models.gemma.rstrip("/"))
    return models
