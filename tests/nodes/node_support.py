"""Shared helpers of the node tests: demo model files, prompt conditioning, a stand-in video VAE, pack modules."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

import torch

DEMO_23_DEV = "ltx2n-nodes-2.3-dev.safetensors"
DEMO_19B_DISTILLED = "ltx2n-nodes-19b-distilled.safetensors"
DEMO_UPSCALER = "ltx2n-nodes-upscaler-x2.safetensors"


@dataclass(frozen=True)
class DemoFiles:
    """File names (in the host's model folders) of the tiny demo models."""

    ltx23_dev: str = DEMO_23_DEV
    ltx2_distilled: str = DEMO_19B_DISTILLED
    upscaler: str = DEMO_UPSCALER


def write_demo_files(host) -> DemoFiles:
    """Tiny fp32 checkpoints (2.3 dev, 19B distilled; variant from the name) and a spatial x2 upscaler."""
    from ltx_model.demo import DemoFamily, write_demo_checkpoint, write_demo_upsampler

    checkpoints = host.model_dir("checkpoints")
    if not (checkpoints / DEMO_23_DEV).exists():
        write_demo_checkpoint(checkpoints / DEMO_23_DEV, DemoFamily.LTX23, dtype=torch.float32)
        write_demo_checkpoint(checkpoints / DEMO_19B_DISTILLED, DemoFamily.LTX2, seed=1, dtype=torch.float32)
        write_demo_upsampler(host.model_dir("latent_upscale_models") / DEMO_UPSCALER, dtype=torch.float32)
    return DemoFiles()


def pack_module(host, name: str) -> ModuleType:
    """A module of the pack's own copy of the library, e.g. ``pack_module(host, "ltx_model.transformer")``
    (enums and classes must come from the same copy the nodes use)."""
    return importlib.import_module(f"{host.pack.__name__}.{name}")


def prompt(model, seed: int, *, tokens: int = 5, frame_rate: float = 24.0) -> list:
    """A processed-context CONDITIONING ``[[(1, S, Wv + Wa), {"frame_rate": fps}]]`` for ``model``."""
    widths = model.model.diffusion_model.context_widths()
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, tokens, sum(widths), generator=g), {"frame_rate": frame_rate}]]


def _statistics() -> torch.nn.Module:
    """The library's per-channel statistics module (``normalize`` / ``un_normalize``) with random values."""
    from ltx_model.video_vae.layers import PerChannelStatistics

    stats = PerChannelStatistics(128)
    g = torch.Generator().manual_seed(3)
    stats.get_buffer("std-of-means").copy_(torch.rand(128, generator=g) + 0.5)
    stats.get_buffer("mean-of-means").copy_(torch.randn(128, generator=g) * 0.1)
    return stats


class StandInVAE:
    """The parts of an LTX video ``comfy.sd.VAE`` that conditioning nodes use: ``encode`` (IMAGE (N, H, W, 3) in
    [0, 1] -> (1, 128, 1 + (N-1)//8, H/32, W/32), a deterministic pooling), ``downscale_index_formula`` and the
    latent statistics."""

    downscale_index_formula = (8, 32, 32)

    def __init__(self) -> None:
        self.first_stage_model = torch.nn.Module()
        self.first_stage_model.per_channel_statistics = _statistics()

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        n, h, w, _ = pixels.shape
        frames = 1 + (n - 1) // 8
        x = pixels[: 1 + 8 * (frames - 1)].permute(3, 0, 1, 2)[None].float()  # (1, 3, N, H, W)
        pooled = torch.nn.functional.adaptive_avg_pool3d(x, (frames, h // 32, w // 32))
        weights = torch.linspace(-1.0, 1.0, 128 * 3).view(128, 3)
        return torch.einsum("oc,bcfhw->bofhw", weights, pooled * 2 - 1)


class RandomPromptNode:
    """Test-only V1 node: a random processed-context CONDITIONING for the connected model (no text encoder)."""

    NODE_ID = "TestOnly_LTX2N_RandomPrompt"
    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "make"
    CATEGORY = "testing"

    @classmethod
    def INPUT_TYPES(cls) -> dict:  # noqa: N802 (ComfyUI V1 API)
        return {"required": {"model": ("MODEL",), "seed": ("INT", {"default": 0})}}

    def make(self, model, seed: int) -> tuple:
        return (prompt(model, seed),)


def registered_test_node(host, cls):
    """Context manager registering a test-only node class in the host for the duration of a test module."""
    import contextlib

    @contextlib.contextmanager
    def scope():
        host.nodes.NODE_CLASS_MAPPINGS[cls.NODE_ID] = cls
        try:
            yield cls.NODE_ID
        finally:
            host.nodes.NODE_CLASS_MAPPINGS.pop(cls.NODE_ID, None)

    return scope()
