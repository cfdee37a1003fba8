"""Tiny random-weight model files in the exact official formats (demo runs and tests; no downloads).

* :func:`write_demo_checkpoint` — a single-file LTX-2 checkpoint holding every component under its official prefix
  (``model.diffusion_model.*`` transformer + text connectors, ``text_embedding_projection.*``, ``vae.*`` incl. the
  ignored ``per_channel_statistics.channel`` / ``mean-of-stds`` keys, ``audio_vae.*``, ``vocoder.*``) with the
  ``config`` metadata JSON (sections ``transformer``, ``vae``, ``audio_vae``, ``vocoder``; ``scheduler`` for 2.3)
  and ``model_version``, in the 19B form or the 2.3 (22B) form. Key names come from our modules'
  ``state_dict()`` (checked against the real-size manifests by the key-map tests) plus the component prefix.
* :func:`write_demo_upsampler` — a spatial x2 latent upsampler file (flat config, no key prefix).
* :func:`write_demo_gemma` — a Gemma 3 folder (``config.json``, ``model.safetensors`` with google's
  ``language_model.model.*`` keys, tokenizer files) with 48 tiny layers (49 hidden states, as the text projection
  of the real models expects).

The configs (:mod:`ltx_model.demo.configs`) are the real ones with only widths and layer counts shrunk. Latent
widths stay real (video 128 channels, audio 8 channels x 16 mel bins, 25 audio latents/s, real sample rates), so the
files drive the real pipelines (ours and ltx-pipelines) at real latent geometry. Weights are stored BF16 with every
``*scale_shift_table*`` in F32, like the released files; parameters are random, buffers keep meaningful values
(VAE statistics with positive stds, the 2.3 vocoder's STFT / mel bases, anti-aliasing filters).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..audio.mel import mel_filterbank
from ..loading.keymaps import DIFFUSION_PREFIX, KEYMAPS, VIDEO_VAE_PREFIX, Component
from ..loading.registry import make_config, make_module
from ..loading.safetensors_io import write_safetensors
from ..text.gemma import gemma_text_config
from .configs import MODEL_VERSIONS, UPSAMPLER_CONFIG, DemoFamily, demo_config
from .text import save_word_tokenizer

# ---------------------------------------------------------------------------------------------- tensor values
_STORED_F32 = ("scale_shift_table",)  # kept F32 in the released files (ltx2-model.md §1.6)


# Matrix / kernel gain per component. The vocoders' stacked residual stages blow up (and clip) at gain 1.
_GAIN = {Component.VOCODER: 0.5}


def _random_parameter(name: str, shape: torch.Size, generator: torch.Generator, gain: float = 1.0) -> torch.Tensor:
    """Random value for a parameter: fan-in scaled normal (x ``gain``) for matrices and kernels, ~1 for norms."""
    noise = torch.randn(shape, generator=generator)
    if "scale_shift_table" in name:
        return noise * 0.1
    if "learnable_registers" in name:
        return noise
    if len(shape) >= 2:
        return noise * (gain / math.sqrt(max(1, math.prod(shape[1:]))))
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "weight":  # norm scales
        return 1.0 + 0.1 * noise
    return 0.02 * noise if leaf == "bias" else 0.1 * noise


def _stft_basis(n_fft: int) -> torch.Tensor:
    """Hann-windowed DFT basis (2F, 1, n_fft): real rows then imaginary rows (F = n_fft/2 + 1)."""
    n = torch.arange(n_fft, dtype=torch.float64)
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    angle = 2 * math.pi * k * n / n_fft
    basis = torch.cat([torch.cos(angle), -torch.sin(angle)]) * window
    return basis[:, None].float()


def _buffer_value(name: str, value: torch.Tensor, generator: torch.Generator, config: Any) -> torch.Tensor:
    """Meaningful values for buffers whose constructor leaves placeholders (statistics, STFT / mel bases)."""
    if name.endswith("std-of-means"):
        return 0.5 + torch.rand(value.shape, generator=generator)
    if name.endswith("mean-of-means"):
        return 0.1 * torch.randn(value.shape, generator=generator)
    if name.endswith(("stft_fn.forward_basis", "stft_fn.inverse_basis")):
        return _stft_basis(value.shape[-1])
    if name.endswith("mel_stft.mel_basis"):
        bwe = config.bwe
        fb = mel_filterbank(n_freqs=value.shape[1], n_mels=value.shape[0], sample_rate=bwe.output_sample_rate)
        return fb.T.contiguous()
    return value.detach().float()


def component_tensors(component: Component, config: dict[str, Any], seed: int) -> dict[str, torch.Tensor]:
    """``{file key: fp32 tensor}`` of one component built from ``config`` (parameters random, buffers filled)."""
    cfg = make_config(component, config, _AV_KEYS)
    module: nn.Module = make_module(component, cfg, dtype=torch.float32, device="cpu")
    params = {name for name, _ in module.named_parameters()}
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for name, tensor in module.state_dict().items():
        if name in params:
            value = _random_parameter(name, tensor.shape, generator, _GAIN.get(component, 1.0))
        else:
            value = _buffer_value(name, tensor, generator, cfg)
        out[KEYMAPS[component].to_file_key(name)] = value
    return out


# Key set that makes the registry build the audio+video transformer and both text connectors.
_AV_KEYS = frozenset({DIFFUSION_PREFIX + "patchify_proj.weight", DIFFUSION_PREFIX + "audio_patchify_proj.weight"})


def storage_cast(tensors: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Cast for storage: ``dtype`` everywhere except the F32 scale/shift tables."""
    return {k: v.float() if any(s in k for s in _STORED_F32) else v.to(dtype) for k, v in tensors.items()}


# ---------------------------------------------------------------------------------------------- files
CHECKPOINT_COMPONENTS: tuple[Component, ...] = (
    Component.TRANSFORMER, Component.CONNECTORS, Component.TEXT_PROJECTION, Component.VIDEO_VAE,
    Component.AUDIO_VAE, Component.VOCODER,
)


def _ignored_vae_statistics(generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The two video-VAE statistics keys the released files carry and every loader ignores."""
    return {
        VIDEO_VAE_PREFIX + "per_channel_statistics.channel": torch.arange(128, dtype=torch.float32),
        VIDEO_VAE_PREFIX + "per_channel_statistics.mean-of-stds": 0.5 + torch.rand(128, generator=generator),
    }


def demo_checkpoint_tensors(family: DemoFamily, *, seed: int = 0) -> dict[str, torch.Tensor]:
    """All tensors of a demo checkpoint (fp32, file keys, sorted), deterministic for ``seed``."""
    config = demo_config(family)
    tensors: dict[str, torch.Tensor] = {}
    for index, component in enumerate(CHECKPOINT_COMPONENTS):
        tensors.update(component_tensors(component, config, seed * 1000 + index))
    tensors.update(_ignored_vae_statistics(torch.Generator().manual_seed(seed * 1000 + 99)))
    return dict(sorted(tensors.items()))


def write_demo_checkpoint(
    path: str | Path,
    family: DemoFamily = DemoFamily.LTX23,
    *,
    seed: int = 0,
    dtype: torch.dtype = torch.bfloat16,
    model_version: str | None = "auto",
) -> Path:
    """Write a tiny single-file checkpoint of ``family`` to ``path`` (about 8 MB) and return the path.

    Args:
        path: output ``.safetensors`` file (parent folders are created). Name it like the real files
            (``...-distilled...`` / ``...-dev...``) when the variant should be detectable from the name.
        family: 19B form or 2.3 form.
        seed: weight seed.
        dtype: storage dtype of the weights (the ``*scale_shift_table*`` tensors are always F32).
        model_version: ``__metadata__["model_version"]``; "auto" = the family's (``"2.3.0"`` / none for 19B),
            None = leave it out.
    """
    family = DemoFamily(family)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"config": json.dumps(demo_config(family))}
    version = MODEL_VERSIONS[family] if model_version == "auto" else model_version
    if version is not None:
        metadata["model_version"] = version
    write_safetensors(path, storage_cast(demo_checkpoint_tensors(family, seed=seed), dtype), metadata=metadata)
    return path


def write_demo_upsampler(path: str | Path, *, seed: int = 0, dtype: torch.dtype = torch.bfloat16) -> Path:
    """Write a tiny spatial x2 latent upsampler file (keys without prefix, flat ``config`` metadata)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = component_tensors(Component.UPSAMPLER, dict(UPSAMPLER_CONFIG), seed)
    metadata = {"config": json.dumps(UPSAMPLER_CONFIG)}
    write_safetensors(path, storage_cast(dict(sorted(tensors.items())), dtype), metadata=metadata)
    return path


# Gemma 3 text config with the 12B structure at toy width; 48 layers -> 49 hidden states (the text projection's
# input is caption_channels x 49) and hidden size = the demo checkpoints' caption_channels (16).
DEMO_GEMMA_TEXT_CONFIG: dict[str, Any] = {
    "model_type": "gemma3_text", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 48,
    "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "hidden_activation": "gelu_pytorch_tanh",
    "rms_norm_eps": 1e-6, "query_pre_attn_scalar": 8, "sliding_window": 512, "sliding_window_pattern": 6,
    "rope_theta": 1_000_000.0, "rope_local_base_freq": 10_000.0, "rope_scaling": {"rope_type": "linear", "factor": 8.0},
    "max_position_embeddings": 131072, "attn_logit_softcapping": None, "final_logit_softcapping": None,
}
_DEMO_WORDS: tuple[str, ...] = tuple(
    " ".join(
        (
            "a an the and of in on at with to from by for is are was be it its this that as over under near into",
            "man woman person people child dog cat bird horse car boat train city street room house forest beach sea",
            "ocean river mountain sky sun moon rain snow wind fire light night day morning evening camera shot",
            "close up",
            "wide slow fast moving walks runs talks sings plays looks smiles dances flies drives swims sits stands",
            "red blue green yellow white black golden dark bright warm cold soft loud quiet music voice sound says",
            "speaks laughing water waves trees grass flowers table window door road bridge cinematic scene video",
        )
    ).split(" ")
) + tuple(".,!?'\":;-()0123456789")


@dataclass(frozen=True)
class DemoPaths:
    """Where :func:`write_demo_model_set` put the files."""

    checkpoint: Path
    upsampler: Path
    gemma: Path


def write_demo_gemma(folder: str | Path, *, seed: int = 0, dtype: torch.dtype = torch.bfloat16) -> Path:
    """Write a tiny Gemma 3 folder: ``config.json`` (``gemma3`` + ``text_config``), ``model.safetensors``
    (``language_model.model.*`` keys, as google's checkpoints), and a word-level ``tokenizer.json`` with its
    configs (BOS added, ``<pad>`` = 0). The vision tower is left out (LTX-2 text encoding never uses it)."""
    from transformers import Gemma3TextModel

    folder = Path(folder)
    save_word_tokenizer(folder, _DEMO_WORDS)
    text_config = {**DEMO_GEMMA_TEXT_CONFIG, "vocab_size": 8 * math.ceil((len(_DEMO_WORDS) + 4) / 8)}
    with torch.device("meta"):
        model = Gemma3TextModel(gemma_text_config(text_config))
    generator = torch.Generator().manual_seed(seed)
    tensors = {
        "language_model.model." + name: (torch.randn(p.shape, generator=generator) * 0.2).to(dtype)
        for name, p in sorted(model.named_parameters())
    }
    write_safetensors(folder / "model.safetensors", tensors, metadata={"format": "pt"})
    config = {"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
              "text_config": text_config, "torch_dtype": "bfloat16"}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return folder


def write_demo_model_set(folder: str | Path, family: DemoFamily = DemoFamily.LTX23, *, seed: int = 0) -> DemoPaths:
    """Write a distilled demo checkpoint, a spatial x2 upsampler and a Gemma folder under ``folder``."""
    family = DemoFamily(family)
    folder = Path(folder)
    return DemoPaths(
        checkpoint=write_demo_checkpoint(folder / f"{family.value}-distilled-demo.safetensors", family, seed=seed),
        upsampler=write_demo_upsampler(folder / f"{family.value}-spatial-upscaler-x2-demo.safetensors", seed=seed),
        gemma=write_demo_gemma(folder / "gemma-3-demo", seed=seed),
    )
