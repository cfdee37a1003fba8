"""Tiny random-weight model files in the official single-file format, for node and graph tests.

Key names come from the model's own ``state_dict()`` (which equals the official names, checked against the
manifests by the library's key-map tests) under the official ``model.diffusion_model.`` prefix; the metadata
``config`` JSON is the real LTX-2 19B section with only the sizes shrunk. Latent widths stay real (128 video
channels, 8 x 16 audio features) so the pack's real latents fit.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ltx_model.loading import write_safetensors
from ltx_model.transformer import LTXTransformer, TransformerConfig

TINY_TRANSFORMER = {
    "num_layers": 2, "num_attention_heads": 2, "attention_head_dim": 8, "cross_attention_dim": 16,
    "caption_channels": 12, "audio_num_attention_heads": 2, "audio_attention_head_dim": 4,
    "audio_cross_attention_dim": 8, "connector_num_layers": 1, "connector_num_attention_heads": 2,
    "connector_attention_head_dim": 6, "connector_num_learnable_registers": 4,
}


def tiny_transformer_section(manifest: dict) -> dict:
    """The manifest's ``transformer`` config section with the tiny sizes."""
    return {**manifest["config"]["transformer"], **TINY_TRANSFORMER}


def write_tiny_checkpoint(path: Path, manifest: dict, *, seed: int = 0, scale: float = 0.05) -> Path:
    """Write a transformer-only LTX-2 checkpoint with N(0, scale) weights; returns ``path``."""
    section = tiny_transformer_section(manifest)
    model = LTXTransformer(TransformerConfig.from_dict(section), dtype=torch.float32, device="cpu")
    generator = torch.Generator().manual_seed(seed)
    tensors = {f"model.diffusion_model.{k}": torch.randn(v.shape, generator=generator) * scale
               for k, v in model.state_dict().items()}
    write_safetensors(path, tensors, metadata={"config": json.dumps({"transformer": section})})
    return path
