"""Tiny LTX-2.5 split component files in the official formats (demo runs and tests; no downloads).

LTX-2.5 ships one file per part (ltx2-model.md §11). Written here, each with its official key prefixes, the
metadata ``config`` sections the part's loaders read and ``model_version``:

* transformer (``diffusion_models/``): the 2.5 transformer (video feed-forward without bias, no prompt AdaLN MLP,
  ``keyframes_abs_pos_embedding``) and the text connectors under ``model.diffusion_model.``; config ``transformer``
  (the released 2.5 section with demo sizes, ``configs.tiny_transformer_section``).
* audio VAE + vocoder (``vae/``): ``audio_vae.*`` + ``vocoder.*`` (the 2.3 architecture, unchanged in 2.5);
  config ``audio_vae`` + ``vocoder``.
* spatial and temporal x2 latent upscalers (``latent_upscale_models/``): no key prefix, flat config.
* distilled LoRA (``loras/``): rank-4 ``diffusion_model.<module>.lora_{A,B}.weight`` pairs on the transformer's
  attention and feed-forward Linears.

The text encoder (Gemma 4 + projection) and the video VAE (diffusion / conv decoder) files are written by their own
modules' demo helpers; :func:`write_demo_ltx25_parts` writes the parts above into a folder laid out like ComfyUI's
model folders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..loading.detect import Family
from ..loading.keymaps import Component
from ..loading.released import RELEASED_MODEL_VERSIONS
from ..loading.safetensors_io import write_safetensors
from ..text.gemma4 import LTX25_GEMMA_VERSION
from ..text.gemma_version import SOURCE_KEY, VERSION_KEY
from .configs import TEMPORAL_UPSAMPLER_CONFIG, UPSAMPLER_CONFIG, audio_sections, tiny_transformer_section
from .weights import component_tensors, storage_cast

LTX25_MODEL_VERSION: str = RELEASED_MODEL_VERSIONS[Family.LTX25] or "2.5.0"
"""``model_version`` metadata of the demo 2.5 files."""

LTX25_DEMO_FILES: dict[str, str] = {
    "transformer": "diffusion_models/ltx-2.5-22b-distilled-transformer-demo.safetensors",
    "audio_vae": "vae/ltx-2.5-audio-vae-demo.safetensors",
    "spatial_upscaler": "latent_upscale_models/ltx-2.5-latent-spatial-upscaler-x2-demo.safetensors",
    "temporal_upscaler": "latent_upscale_models/ltx-2.5-latent-temporal-upscaler-x2-demo.safetensors",
    "distilled_lora": "loras/ltx-2.5-22b-distilled-lora-demo.safetensors",
}
"""Relative paths :func:`write_demo_ltx25_parts` uses (named like the published files)."""

_LORA_TARGETS = ("attn1.to_q", "attn1.to_v", "attn2.to_k", "ff.net.0.proj", "ff.net.2", "audio_attn1.to_q")


def _write(path: str | Path, tensors: dict[str, torch.Tensor], config: dict[str, Any], dtype: torch.dtype,
           extra: dict[str, str] | None = None) -> Path:
    """Write sorted ``tensors`` (cast for storage) with ``config``, the 2.5 ``model_version`` and ``extra``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"config": json.dumps(config), "model_version": LTX25_MODEL_VERSION, **(extra or {})}
    write_safetensors(path, storage_cast(dict(sorted(tensors.items())), dtype), metadata=metadata)
    return path


def ltx25_transformer_config() -> dict[str, Any]:
    """Metadata ``config`` of the demo 2.5 transformer file: ``{"transformer": section}``."""
    return {"transformer": tiny_transformer_section(Family.LTX25)}


def write_demo_ltx25_transformer(path: str | Path, *, seed: int = 0, dtype: torch.dtype = torch.bfloat16) -> Path:
    """The 2.5 transformer file: transformer + text connectors under ``model.diffusion_model.`` (every
    ``*scale_shift_table*`` stored F32, the rest in ``dtype``); its metadata declares the Gemma it needs
    (``gemma_source_checkpoint.gemma_version``, as the released 2.5 transformers do)."""
    config = ltx25_transformer_config()
    tensors = component_tensors(Component.TRANSFORMER, config, seed * 1000)
    tensors.update(component_tensors(Component.CONNECTORS, config, seed * 1000 + 1))
    source = {SOURCE_KEY: json.dumps({VERSION_KEY: LTX25_GEMMA_VERSION})}
    return _write(path, tensors, config, dtype, source)


def write_demo_ltx25_audio_vae(path: str | Path, *, seed: int = 0, dtype: torch.dtype = torch.bfloat16) -> Path:
    """The 2.5 audio VAE + vocoder file (``audio_vae.*``, ``vocoder.*``; config ``audio_vae`` + ``vocoder``)."""
    config = audio_sections()
    tensors = component_tensors(Component.AUDIO_VAE, config, seed * 1000 + 4)
    tensors.update(component_tensors(Component.VOCODER, config, seed * 1000 + 5))
    return _write(path, tensors, config, dtype)


def write_demo_ltx25_upscaler(
    path: str | Path, *, temporal: bool = False, seed: int = 0, dtype: torch.dtype = torch.bfloat16
) -> Path:
    """A 2.5 latent upscaler file: spatial x2 (default) or temporal x2 (flat config, keys without prefix)."""
    config = dict(TEMPORAL_UPSAMPLER_CONFIG if temporal else UPSAMPLER_CONFIG)
    return _write(path, component_tensors(Component.UPSAMPLER, config, seed * 1000 + 6), config, dtype)


def write_demo_ltx25_lora(
    path: str | Path, *, rank: int = 4, seed: int = 0, dtype: torch.dtype = torch.bfloat16
) -> Path:
    """A distilled-LoRA file for the demo 2.5 transformer: ``diffusion_model.transformer_blocks.<i>.<layer>
    .lora_A.weight`` ``(rank, in)`` / ``.lora_B.weight`` ``(out, rank)`` for a few Linears of every block."""
    config = ltx25_transformer_config()
    shapes = {k: v.shape for k, v in component_tensors(Component.TRANSFORMER, config, 0).items()}
    generator = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    for key, shape in shapes.items():
        module = key.removeprefix("model.diffusion_model.").removesuffix(".weight")
        if len(shape) != 2 or not module.endswith(_LORA_TARGETS):
            continue
        out_features, in_features = shape
        tensors[f"diffusion_model.{module}.lora_A.weight"] = torch.randn(rank, in_features, generator=generator) * 0.1
        tensors[f"diffusion_model.{module}.lora_B.weight"] = torch.randn(out_features, rank, generator=generator) * 0.1
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_safetensors(path, {k: v.to(dtype) for k, v in sorted(tensors.items())},
                      metadata={"model_version": LTX25_MODEL_VERSION})
    return path


def write_demo_ltx25_parts(folder: str | Path, *, seed: int = 0) -> dict[str, Path]:
    """Write every part listed in :data:`LTX25_DEMO_FILES` under ``folder``; returns ``{name: path}``."""
    folder = Path(folder)
    writers = {
        "transformer": lambda p: write_demo_ltx25_transformer(p, seed=seed),
        "audio_vae": lambda p: write_demo_ltx25_audio_vae(p, seed=seed),
        "spatial_upscaler": lambda p: write_demo_ltx25_upscaler(p, seed=seed),
        "temporal_upscaler": lambda p: write_demo_ltx25_upscaler(p, temporal=True, seed=seed),
        "distilled_lora": lambda p: write_demo_ltx25_lora(p, seed=seed),
    }
    return {name: writers[name](folder / relative) for name, relative in LTX25_DEMO_FILES.items()}
