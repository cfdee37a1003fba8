"""Model files for the core nodes a rewired template keeps (``test_core_templates.py``): random stand-ins written
under exactly the names the template references, in the folders its core loaders read.

* LTX files on a core loader (``LTXVAudioVAELoader`` on the 2.3 checkpoint, ``LatentUpscaleModelLoader``, the 2.5
  audio VAE on ``VAELoader``): the pack's tiny demo files (``scripts.workflow_models``).
* The Gemma LoRA on core's ``LoraLoader`` (the prompt enhancer's abliterated Gemma 3): a tiny LoRA for the demo Gemma.
* Other models core builds itself (:data:`CORE_MODELS`): Lotus-D depth UNet and its SD VAE (core's own modules,
  shrunk, random weights), MoGe v2 (:mod:`moge_tiny`, in the layout MoGe ships).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from moge_tiny import write_tiny_moge

from scripts.workflow_models import ModelKind, ModelRef, write_demo_file
from scripts.workflow_models_ltx25 import ltx25_part

GEMMA_LORA_FILES = re.compile(r"^gemma-3-12b-it", re.IGNORECASE)
"""``LoraLoader`` files that are Gemma LoRAs (the prompt enhancer's abliterated Gemma); a tiny one is written."""
CORE_LOADER_INPUTS = {("LTXVAudioVAELoader", "ckpt_name"): ("checkpoints", ModelKind.CHECKPOINT),
                      ("LatentUpscaleModelLoader", "model_name"): ("latent_upscale_models", ModelKind.UPSAMPLER),
                      ("UNETLoader", "unet_name"): ("diffusion_models", None), ("VAELoader", "vae_name"): ("vae", None),
                      ("LoadMoGeModel", "model_name"): ("geometry_estimation", None)}
"""Core loaders left in the templates: (node, input) -> folder and the kind of demo file (None: a core model of
:data:`CORE_MODELS`, by name)."""
LOTUS_UNET = {"image_size": 32, "in_channels": 4, "out_channels": 4, "model_channels": 320, "num_res_blocks": [1],
              "channel_mult": [1], "transformer_depth": [1], "transformer_depth_output": [1, 1],
              "transformer_depth_middle": -2, "context_dim": 1024, "num_head_channels": 64, "adm_in_channels": 4,
              "use_linear_in_transformer": True, "num_classes": "sequential", "use_spatial_transformer": True,
              "legacy": False, "use_temporal_attention": False}
"""Core's Lotus-D UNet (the SD2 layout core detects as ``LotusD``: 320 channels, 1024 context, 4 ADM inputs) with
one level, one block and no middle block: 21 M parameters instead of 865 M."""
SD_VAE = {"double_z": True, "z_channels": 4, "resolution": 256, "in_channels": 3, "out_ch": 3, "ch": 128,
          "ch_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_resolutions": [], "dropout": 0.0}
"""Core's SD VAE (its encoder width is fixed; the decoder's is read from the file: 32 channels here)."""


def _lotus_unet() -> Any:
    import comfy.ops
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel

    return UNetModel(**LOTUS_UNET, operations=comfy.ops.disable_weight_init, device="meta")


def _sd_vae() -> Any:
    import torch
    from comfy.ldm.models.autoencoder import AutoencoderKL

    with torch.device("meta"):
        return AutoencoderKL(ddconfig=SD_VAE, embed_dim=4, decoder_ddconfig={**SD_VAE, "ch": 32})


CORE_MODELS = {"lotus-depth-d-": lambda path: write_core_model(path, _lotus_unet()),
               "vae-ft-mse-": lambda path: write_core_model(path, _sd_vae()), "moge_2_": write_tiny_moge}
"""File name prefix -> the writer of a random stand-in at a path (core's own module for Lotus and the SD VAE; the
MoGe v2 file in its shipped layout, :mod:`moge_tiny`)."""


def write_core_model(path: Path, module: Any, *, seed: int = 0) -> Path:
    """Random fp16 weights for every tensor of ``module``: N(0, 1 / fan-in) matrices, unit norm scales, zero
    biases."""
    import torch

    from ltx_model.loading import write_safetensors

    generator = torch.Generator().manual_seed(seed)
    tensors = {name: (torch.randn(value.shape, generator=generator) / value[0].numel() ** 0.5 if value.dim() >= 2
                      else torch.full(value.shape, float(name.endswith("weight")))).to(torch.float16)
               for name, value in module.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_safetensors(path, tensors)
    return path


def write_core_loader_files(prompt: dict[str, Any], store: Any) -> list[Path]:
    """Write the files the template's remaining core loaders (:data:`CORE_LOADER_INPUTS`) name, each folder
    registered with the host (``geometry_estimation`` is not one of the harness's model folders); a core model no
    stand-in is known for is left out (core's validation then names it)."""
    import folder_paths

    written = []
    for node in prompt.values():
        for name, value in node["inputs"].items():
            folder, kind = CORE_LOADER_INPUTS.get((node["class_type"], name), (None, None))
            part = ltx25_part(value) if folder is not None and isinstance(value, str) else None
            if part is not None:  # a 2.5 split part left on a core loader (the audio VAE)
                folder, kind = part.folder, ModelKind.LTX25
            if (node["class_type"], name) == ("LoraLoader", "lora_name") and GEMMA_LORA_FILES.search(str(value)):
                folder, kind = "loras", ModelKind.GEMMA_LORA
            if folder is None or not isinstance(value, str):
                continue
            folder_paths.add_model_folder_path(folder, str(store.folder(folder)))
            path = store.folder(folder) / value
            if kind is not None:
                written.append(write_demo_file(ModelRef(folder, value, kind), store.folder(folder)))
                continue
            write = next((w for prefix, w in CORE_MODELS.items() if value.startswith(prefix)), None)
            if write is not None:
                written.append(path if path.exists() else write(path))
    return written
