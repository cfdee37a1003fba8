"""LTX-2.5 split files a workflow references: which ComfyUI folder and part a published name is, and tiny stand-ins.

LTX-2.5 ships one file per part (Lightricks/LTX-2.5 on Hugging Face: ``diffusion_models/``, ``text_encoders/``,
``vae/``, ``latent_upscale_models/``, ``loras/``, ``model_patches/``). Unlike the single-file 2.3 checkpoint, the
folder of a 2.5 file follows from its name, not from the node input that names it (Load LTX-2 Model lists both
``checkpoints`` and ``diffusion_models``; a VAE loader lists ``vae``). :func:`ltx25_part` classifies a name;
:func:`write_ltx25_file` writes the tiny demo file of that part (``ltx_model.demo``: random weights in the official
key format and metadata, all sized to fit one another) under exactly that name.

This module does not import ``scripts.workflow_models`` (which uses it).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Ltx25Part:
    """One kind of 2.5 file: the ComfyUI folder key it lives in and the part of the demo set that stands in."""

    folder: str
    part: str  # a key of ltx_model.demo.ltx25_set.LTX25_SET_FILES, or "ic_lora" / "conv_video_vae"


LTX25_PARTS: tuple[tuple[re.Pattern[str], Ltx25Part], ...] = (
    (re.compile(r"ltx-2\.5-.*-transformer.*\.safetensors$"), Ltx25Part("diffusion_models", "transformer")),
    (re.compile(r"gemma4-.*ltx-2\.5.*\.safetensors$"), Ltx25Part("text_encoders", "text_encoder")),
    (re.compile(r"ltx-2\.5-video-vae-conv.*\.safetensors$"), Ltx25Part("vae", "conv_video_vae")),
    (re.compile(r"ltx-2\.5-video-vae.*\.safetensors$"), Ltx25Part("vae", "video_vae")),
    (re.compile(r"ltx-2\.5-audio-vae.*\.safetensors$"), Ltx25Part("vae", "audio_vae")),
    (re.compile(r"ltx-2\.5-latent-spatial-upscaler.*\.safetensors$"),
     Ltx25Part("latent_upscale_models", "spatial_upscaler")),
    (re.compile(r"ltx-2\.5-latent-temporal-upscaler.*\.safetensors$"),
     Ltx25Part("latent_upscale_models", "temporal_upscaler")),
    (re.compile(r"ltx-2\.5-.*ic-lora.*\.safetensors$"), Ltx25Part("loras", "ic_lora")),
    (re.compile(r"ltx-2\.5-.*lora.*\.safetensors$"), Ltx25Part("loras", "distilled_lora")),
    (re.compile(r"ltx-2\.5-duration-head.*\.safetensors$"), Ltx25Part("model_patches", "duration_head")),
)
"""Published-name pattern -> folder and part (first match wins; names as Lightricks/LTX-2.5 spells them, searched
anywhere in the base name so a prefixed copy, e.g. a demo stand-in ``ltx2n-demo-ltx-2.5-…``, is the same part)."""

IC_LORA_DOWNSCALE = 2
"""``reference_downscale_factor`` of the demo 2.5 IC-LoRA: the x2 pixel-spatial detailing LoRA (ltx-pipelines'
DFR pipeline defaults to 2 for it when the metadata says nothing)."""

DEMO_SET_FOLDER = "ltx25-demo-set"
"""Folder (next to the model folders) where the complete demo set is written once and parts are copied from."""


def ltx25_part(name: str) -> Ltx25Part | None:
    """The 2.5 part a referenced file name is (its base name decides), or None for any other file."""
    base = Path(name).name.lower()
    return next((part for pattern, part in LTX25_PARTS if pattern.search(base)), None)


def demo_set(root: Path, *, seed: int = 0) -> dict[str, Path]:
    """The complete tiny 2.5 set (``write_demo_ltx25_model_set``) under ``root / DEMO_SET_FOLDER-<seed>``, written on
    first use; returns ``{part: path}``. Every part is sized for the demo transformer (text projection widths,
    128 latent channels, duration-head widths), so any combination of copies fits together."""
    from ltx_model.demo.ltx25_set import LTX25_SET_FILES, write_demo_ltx25_model_set

    folder = root / f"{DEMO_SET_FOLDER}-{seed}"
    paths = {name: folder / relative for name, relative in LTX25_SET_FILES.items()}
    if not all(p.is_file() for p in paths.values()):
        staging = folder.with_name(folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        write_demo_ltx25_model_set(staging, seed=seed)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    return paths


def write_ltx25_file(path: Path, *, seed: int = 0) -> Path:
    """Write the tiny demo file of the 2.5 part ``path``'s name is (:func:`ltx25_part`) at ``path``; existing files
    are kept. ``path.parent`` is a model folder; the demo set is cached next to it (``path.parent.parent``)."""
    part = ltx25_part(path.name)
    if part is None:
        raise ValueError(f"{path.name} is not an LTX-2.5 file name (e.g. ltx-2.5-22b-distilled-transformer-bf16"
                         ".safetensors)")
    if path.exists():
        return path
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    if part.part == "transformer":  # fp32 like the demo text encoder's projection that feeds its connectors
        from ltx_model.demo.ltx25 import write_demo_ltx25_transformer

        return write_demo_ltx25_transformer(path, seed=seed, dtype=torch.float32)
    if part.part == "ic_lora":
        return _write_ic_lora(path, seed=seed)
    if part.part == "conv_video_vae":
        raise ValueError(f"{path.name}: no demo stand-in for the conv-decoder video VAE (the workflows use "
                         "ltx-2.5-video-vae-bf16.safetensors, the diffusion decoder)")
    shutil.copyfile(demo_set(path.parent.parent, seed=seed)[part.part], path)
    return path


def _write_ic_lora(path: Path, *, seed: int) -> Path:
    """The demo distilled-LoRA tensors with an IC-LoRA's ``reference_downscale_factor`` metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from ltx_model.loading import write_safetensors

    source = demo_set(path.parent.parent, seed=seed)["distilled_lora"]
    with safe_open(str(source), framework="pt") as handle:
        metadata = dict(handle.metadata() or {})
    metadata["reference_downscale_factor"] = str(IC_LORA_DOWNSCALE)
    write_safetensors(path, load_file(str(source)), metadata=metadata)
    return path

