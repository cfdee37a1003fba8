"""Tiny LTX-2.5 video VAE files in the official format (demo runs and tests; nothing downloaded).

:func:`write_demo_ltx25_video_vae` writes ``vae/ltx-2.5-video-vae-*.safetensors``-style files: bare
``encoder.*`` / ``decoder.*`` / ``per_channel_statistics.*`` keys (optionally under ltx-core's ``vae.`` prefix), the
metadata ``config`` ``{"vae": ...}`` section and ``model_version``. The diffusion variant can also carry the static
gates ``decoder.diff_blocks.N.gate_*`` and a ``decoder.coarse_*`` preview head, which the loader folds / drops.
:data:`PUBLISHED_DIFFUSION_VAE` is the published 2.5 section (ltx-core 1.2's defaults, ltx2-model.md §11).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from ..loading.safetensors_io import write_safetensors
from ..video_vae.config import VAETopology, VideoVAEConfig, tiny_section
from ..video_vae.diffusion_config import CONV_CLASS_NAME, DIFFUSION_CLASS_NAME, DiffusionDecoderConfig
from ..video_vae.ltx25 import LTX25VideoVAE, encoder_config, metadata_for
from ..video_vae.model import VideoVAE

_ENCODER_23 = [
    ["res_x", {"num_layers": 4}], ["compress_space_res", {"multiplier": 2}], ["res_x", {"num_layers": 6}],
    ["compress_time_res", {"multiplier": 2}], ["res_x", {"num_layers": 4}], ["compress_all_res", {"multiplier": 2}],
    ["res_x", {"num_layers": 2}], ["compress_all_res", {"multiplier": 1}], ["res_x", {"num_layers": 2}],
]

PUBLISHED_DIFFUSION_VAE: dict[str, Any] = {
    "_class_name": DIFFUSION_CLASS_NAME, "dims": 3, "model_output_type": "v",
    "encoder": {"dims": 3, "in_channels": 3, "out_channels": 128, "blocks": _ENCODER_23, "patch_size": 4,
                "latent_log_var": "uniform", "norm_layer": "pixel_norm", "spatial_padding_mode": "zeros"},
    "decoder": DiffusionDecoderConfig().to_dict(),
}
"""The ``vae`` section of ``ltx-2.5-video-vae-bf16`` as published (stage widths 1024/512/256/256/128, depths
4/6/4/2 + 8, kernels (3,7,7)/(3,7,7)/(3,5,5)/(3,5,5), stage 5 (3,7,7), v-prediction, 2 steps)."""

TINY_DECODER = DiffusionDecoderConfig(
    in_channels=8, head_dim=16, t_emb_dim=32, stage_channels=(128, 64, 32, 32, 16), stage_depths=(1, 1, 1, 1, 2),
    stage_kernels=((3, 3, 3),) * 5, stage5_kernel=(3, 3, 3), stage5_channels=16,
)
"""Tiny decoder: the published block structure and upsamples, small widths and kernels."""


def tiny_diffusion_vae_section(decoder: DiffusionDecoderConfig = TINY_DECODER) -> dict[str, Any]:
    """A tiny ``vae`` section for the diffusion variant (2.3-shaped tiny encoder, ``decoder`` below)."""
    enc = tiny_section(VAETopology.LTX2_3)
    return {"_class_name": DIFFUSION_CLASS_NAME, "dims": 3, "model_output_type": decoder.model_output_type,
            "encoder": {"dims": 3, "in_channels": 3, "out_channels": decoder.in_channels,
                        "blocks": copy.deepcopy(enc["encoder_blocks"]), "patch_size": 4, "latent_log_var": "constant",
                        "norm_layer": "pixel_norm", "spatial_padding_mode": "zeros"},
            "decoder": decoder.to_dict()}


def tiny_conv_vae_section() -> dict[str, Any]:
    """A tiny ``vae`` section for the conv variant (the 2.3 architecture)."""
    return {**tiny_section(VAETopology.LTX2_3), "_class_name": CONV_CLASS_NAME}


def random_state(module: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Seeded random weights for every entry of ``module``'s state dict (statistics: std in [0.5, 1.5])."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for name, value in module.state_dict().items():
        rand = torch.randn(value.shape, generator=gen)
        if name.endswith("std-of-means"):
            rand = 0.5 + torch.rand(value.shape, generator=gen)
        elif "norm" in name.rsplit(".", 2)[-2]:
            rand = 1.0 + 0.1 * rand
        else:
            rand = rand * (0.3 / max(1, value.shape[-1]) ** 0.5 if value.ndim > 1 else 0.1)
        state[name] = rand
    return state


def _extras(state: dict[str, torch.Tensor], gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Static gates (folded by the loader: the stored Linears are divided by them) and a dropped preview head."""
    out = dict(state)
    for key in [k for k in state if k.endswith(".context_proj.bias")]:
        block = key.removesuffix(".context_proj.bias")
        for gate, target in (("gate_msa", "attn.proj"), ("gate_mlp", "mlp.w_down"), ("gate_ctx", "context_proj")):
            g = 0.5 + torch.rand(state[key].shape, generator=gen)
            out[f"{block}.{gate}"] = g
            for leaf in ("weight", "bias"):
                name = f"{block}.{target}.{leaf}"
                if name in out:
                    out[name] = out[name] / (g[:, None] if out[name].ndim == 2 else g)
    out["decoder.coarse_head.weight"] = torch.randn(3, 4, generator=gen)
    return out


def write_demo_ltx25_video_vae(
    path: str | Path, *, seed: int = 0, conv: bool = False, gates: bool = False, prefix: str = "",
    section: dict[str, Any] | None = None, dtype: torch.dtype = torch.float32,
) -> Path:
    """Write a tiny 2.5 video VAE file; returns its path.

    ``conv``: the conv-decoder variant; ``gates``: store the diffusion blocks' static gates (the weights are
    divided by them, so the folded file decodes like the gate-free one) and a preview head; ``prefix``: ``"vae."``
    for ltx-core's single-file form; ``section``: another ``vae`` section (default: the tiny one)."""
    section = section or (tiny_conv_vae_section() if conv else tiny_diffusion_vae_section())
    if conv:
        module: torch.nn.Module = VideoVAE(VideoVAEConfig.from_dict(section), device="meta")
    else:
        module = LTX25VideoVAE(encoder_config(section), DiffusionDecoderConfig.from_dict(section), device="meta")
    state = random_state(module, seed)
    if gates and not conv:
        state = _extras(state, torch.Generator().manual_seed(seed + 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_safetensors(path, {prefix + k: v.to(dtype) for k, v in state.items()}, metadata=metadata_for(section))
    return path
