"""Tiny model files of the reliability suite (demo weights in the official formats; nothing is downloaded)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scripts.comfy_headless import MODEL_FOLDERS


@dataclass(frozen=True)
class RelModels:
    """The server's model folders (``root/<folder>``) and the names of the tiny files in them."""

    root: Path
    checkpoint: str = "ltx-2.3-22b-dev-rel.safetensors"
    checkpoint_19b: str = "ltx-2-19b-distilled-rel.safetensors"  # HiFi-GAN vocoder: the fastest audio decode
    lora: str = "ltx-2.3-rel-lora.safetensors"
    upscaler: str = "ltx-2-spatial-upscaler-x2-rel.safetensors"
    gemma: str = "gemma-rel/"
    video: str = "rel-source.mp4"  # input folder: 17 frames 64x64 at 25 fps with stereo sound

    def folder(self, kind: str) -> Path:
        return self.root / kind


def write_rel_models(root: Path) -> RelModels:
    """Tiny demo files (2.3 dev and 19B distilled checkpoints fp32, a 2.3 LoRA, x2 upscaler, Gemma folder) in fresh
    model folders."""
    import torch

    from ltx_model.demo import DemoFamily, write_demo_checkpoint, write_demo_gemma, write_demo_upsampler
    from scripts.workflow_models import write_demo_lora

    models = RelModels(root)
    for kind in (*MODEL_FOLDERS, "input"):
        models.folder(kind).mkdir(parents=True, exist_ok=True)
    write_demo_checkpoint(models.folder("checkpoints") / models.checkpoint, DemoFamily.LTX23, dtype=torch.float32)
    write_demo_checkpoint(models.folder("checkpoints") / models.checkpoint_19b, DemoFamily.LTX2, seed=1,
                          dtype=torch.float32)
    write_demo_lora(models.folder("loras") / models.lora, DemoFamily.LTX23)
    write_demo_upsampler(models.folder("latent_upscale_models") / models.upscaler, dtype=torch.float32)
    write_demo_gemma(models.folder("text_encoders") / models.gemma.rstrip("/"))
    write_source_video(models.folder("input") / models.video)
    return models


def write_source_video(path: Path, *, frames: int = 17, size: int = 64, fps: float = 25.0) -> Path:
    """A small mp4 with a moving gradient and a 440 Hz stereo tone (a source clip for video-input nodes)."""
    import math

    import torch

    from ltx_model.media import write_mp4

    t = torch.arange(frames).view(-1, 1, 1, 1).float()
    y, x = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    pixels = torch.stack([(x + 4 * t[..., 0]) % size, y.expand(frames, -1, -1), torch.full_like(y, 96).expand(
        frames, -1, -1)], dim=-1) * (255 / size)
    rate = 44100
    tone = torch.sin(2 * math.pi * 440 * torch.arange(int(rate * frames / fps)) / rate) * 0.3
    write_mp4(path, pixels.clamp(0, 255).to(torch.uint8).numpy(), fps=fps, waveform=torch.stack([tone, tone]),
              sample_rate=rate)
    return path
