"""Shared builders for the loading / inspect tests: a tiny real checkpoint of every available component."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ltx_model.loading.keymaps import KEYMAPS, MODEL_COMPONENTS, Component
from ltx_model.loading.registry import is_available, make_config, make_module


def tiny_transformer_section(manifest_dir: Path) -> dict[str, Any]:
    """The real 22B ``transformer`` section with every width shrunk (1 layer, 2 heads)."""
    section = dict(json.loads((manifest_dir / "ltx-2.3-22b.json").read_text())["config"]["transformer"])
    section.update(
        num_layers=1, num_attention_heads=2, attention_head_dim=8, in_channels=8, out_channels=8,
        cross_attention_dim=16, caption_channels=16, audio_num_attention_heads=2, audio_attention_head_dim=4,
        audio_out_channels=8, audio_cross_attention_dim=8, connector_num_attention_heads=2,
        connector_attention_head_dim=8, connector_num_layers=1, audio_connector_num_attention_heads=2,
        audio_connector_attention_head_dim=4, connector_num_learnable_registers=4,
    )
    return section


def tiny_config(manifest_dir: Path) -> dict[str, Any]:
    """Metadata ``config`` of a tiny single-file checkpoint (sections of the components that exist)."""
    config: dict[str, Any] = {"transformer": tiny_transformer_section(manifest_dir)}
    if is_available(Component.VIDEO_VAE):
        from ltx_model.video_vae import tiny_section

        config["vae"] = tiny_section()
    if is_available(Component.AUDIO_VAE):
        from ltx_model.audio import tiny_audio_vae_section, tiny_vocoder_section

        config["audio_vae"] = tiny_audio_vae_section()
        config["vocoder"] = tiny_vocoder_section(bwe=True)
    return config


def available_components() -> list[Component]:
    """Single-file components whose implementation exists."""
    return [c for c in MODEL_COMPONENTS if is_available(c)]


def tiny_state(config: dict[str, Any], seed: int = 0) -> dict[str, torch.Tensor]:
    """``{file key: tensor}`` for every available component, random values, bf16 (f32 for scale_shift tables)."""
    gen = torch.Generator().manual_seed(seed)
    keys = {"model.diffusion_model.patchify_proj.weight", "model.diffusion_model.audio_patchify_proj.weight"}
    state: dict[str, torch.Tensor] = {}
    for component in available_components():
        module = make_module(component, make_config(component, config, keys), dtype=torch.float32, device="cpu")
        for key, value in module.state_dict().items():
            dtype = torch.float32 if "scale_shift_table" in key else torch.bfloat16
            rand = torch.randn(value.shape, generator=gen) if value.is_floating_point() else value
            state[KEYMAPS[component].to_file_key(key)] = rand.to(dtype) if value.is_floating_point() else rand
    return state
