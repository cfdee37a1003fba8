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

The configs are the real ones with only widths and layer counts shrunk. Latent widths stay real (video 128
channels, audio 8 channels x 16 mel bins, 25 audio latents/s, real sample rates), so the files drive the real
pipelines (ours and ltx-pipelines) at real latent geometry. Weights are stored BF16 with every
``*scale_shift_table*`` in F32, like the released files; parameters are random, buffers keep meaningful values
(VAE statistics with positive stds, the 2.3 vocoder's STFT / mel bases, anti-aliasing filters).
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .loading.keymaps import KEYMAPS, Component
from .loading.registry import make_config, make_module
from .loading.safetensors_io import write_safetensors


class DemoFamily(str, Enum):
    """Which checkpoint form to imitate."""

    LTX2 = "ltx-2-19b"  # 19B form: V1 text projection, caption projection in the transformer, HiFi-GAN vocoder
    LTX23 = "ltx-2.3-22b"  # 2.3 form: gated attention, cross-attention AdaLN, V2 projection, BigVGAN + BWE


MODEL_VERSIONS: dict[DemoFamily, str | None] = {
    # The released 19B files' model_version value is unknown (ltx2-model.md §1.2); only "not 2.3*" matters.
    DemoFamily.LTX2: None,
    DemoFamily.LTX23: "2.3.0",
}

# ---------------------------------------------------------------------------------------------- config sections
_TRANSFORMER_19B: dict[str, Any] = {
    "_class_name": "AVTransformer3DModel", "_diffusers_version": "0.25.1", "activation_fn": "gelu-approximate",
    "attention_bias": True, "attention_head_dim": 128, "attention_type": "default", "audio_attention_head_dim": 64,
    "audio_cross_attention_dim": 2048, "audio_num_attention_heads": 32, "audio_out_channels": 128,
    "audio_positional_embedding_max_pos": [20], "av_ca_timestep_scale_multiplier": 1000.0,
    "av_cross_ada_norm": True, "caption_channels": 3840, "causal_temporal_positioning": True,
    "connector_attention_head_dim": 128, "connector_norm_output": True, "connector_num_attention_heads": 30,
    "connector_num_layers": 2, "connector_num_learnable_registers": 128,
    "connector_positional_embedding_max_pos": [4096], "cross_attention_dim": 4096, "cross_attention_norm": True,
    "double_self_attention": False, "dropout": 0.0, "frequencies_precision": "float64", "in_channels": 128,
    "norm_elementwise_affine": False, "norm_eps": 1e-06, "norm_num_groups": 32, "num_attention_heads": 32,
    "num_embeds_ada_norm": 1000, "num_layers": 48, "num_vector_embeds": None, "only_cross_attention": False,
    "out_channels": 128, "positional_embedding_max_pos": [20, 2048, 2048], "positional_embedding_theta": 10000.0,
    "positional_embedding_type": "rope", "qk_norm": "rms_norm", "rope_type": "split", "share_ff": False,
    "standardization_norm": "rms_norm", "timestep_scale_multiplier": 1000, "upcast_attention": False,
    "use_audio_video_cross_attention": True, "use_embeddings_connector": True, "use_linear_projection": False,
    "use_middle_indices_grid": True,
}  # fmt: skip
_TRANSFORMER_23_EXTRA: dict[str, Any] = {
    "apply_gated_attention": True, "cross_attention_adaln": True, "caption_proj_before_connector": True,
    "caption_proj_input_norm": False, "caption_projection_first_linear": False,
    "caption_projection_second_linear": False, "text_encoder_norm_type": "per_token_rms",
    "connector_apply_gated_attention": True, "connector_learnable_registers_std": 1, "connector_num_layers": 8,
    "connector_num_attention_heads": 32, "audio_connector_attention_head_dim": 64,
    "audio_connector_num_attention_heads": 32,
}  # fmt: skip
# Shrunk widths: video 2 heads x 8 (Dv 16), audio 2 heads x 4 (Da 8), Gemma width 16, 2 blocks.
_TRANSFORMER_TINY: dict[str, Any] = {
    "num_layers": 2, "num_attention_heads": 2, "attention_head_dim": 8, "cross_attention_dim": 16,
    "audio_num_attention_heads": 2, "audio_attention_head_dim": 4, "audio_cross_attention_dim": 8,
    "caption_channels": 16, "connector_num_layers": 1, "connector_num_attention_heads": 2,
    "connector_attention_head_dim": 8, "connector_num_learnable_registers": 8,
}  # fmt: skip
_TRANSFORMER_23_TINY: dict[str, Any] = {
    "connector_num_layers": 2, "audio_connector_num_attention_heads": 2, "audio_connector_attention_head_dim": 4,
}  # fmt: skip

_RES = "res_x"
_VAE_COMMON: dict[str, Any] = {
    "_class_name": "CausalVideoAutoencoder", "dims": 3, "in_channels": 3, "out_channels": 3, "latent_channels": 128,
    "scaling_factor": 1.0, "norm_layer": "pixel_norm", "patch_size": 4, "latent_log_var": "uniform",
    "use_quant_conv": False, "causal_decoder": False, "timestep_conditioning": False,
}  # fmt: skip
# The encoder width starts at latent_channels (128); multipliers of 1 keep it there (the 2.3 VAE uses x1 too).
_ENCODER_TINY = [
    [_RES, {"num_layers": 1}], ["compress_space_res", {"multiplier": 1}], [_RES, {"num_layers": 1}],
    ["compress_time_res", {"multiplier": 1}], [_RES, {"num_layers": 1}], ["compress_all_res", {"multiplier": 1}],
    [_RES, {"num_layers": 1}], ["compress_all_res", {"multiplier": 1}], [_RES, {"num_layers": 1}],
]  # fmt: skip
_DECODER_19B_TINY = [
    [_RES, {"num_layers": 1, "inject_noise": False}], ["compress_all", {"residual": True, "multiplier": 2}],
    [_RES, {"num_layers": 1, "inject_noise": False}], ["compress_all", {"residual": True, "multiplier": 2}],
    [_RES, {"num_layers": 1, "inject_noise": False}], ["compress_all", {"residual": True, "multiplier": 2}],
    [_RES, {"num_layers": 1, "inject_noise": False}],
]  # fmt: skip
_DECODER_23_TINY = [
    [_RES, {"num_layers": 1}], ["compress_space", {"multiplier": 2}], [_RES, {"num_layers": 1}],
    ["compress_time", {"multiplier": 2}], [_RES, {"num_layers": 1}], ["compress_all", {"multiplier": 1}],
    [_RES, {"num_layers": 1}], ["compress_all", {"multiplier": 2}], [_RES, {"num_layers": 1}],
]  # fmt: skip
_VAE_23_EXTRA: dict[str, Any] = {
    "normalize_latent_channels": False, "encoder_base_channels": 128, "spatial_padding_mode": "zeros",
}  # fmt: skip
_DECODER_BASE_CHANNELS = 8


def _audio_vae_section() -> dict[str, Any]:
    """Real ``audio_vae`` section (16 kHz, hop 160, 64 mel bins, 8 latent channels) shrunk to ch_mult [1, 1, 1]
    and one block per level. ``ch`` stays 128: ltx-core sizes the latent statistics by ``ch`` (= 8 x 16)."""
    ddconfig = {
        "double_z": True, "mel_bins": 64, "z_channels": 8, "resolution": 256, "downsample_time": False,
        "in_channels": 2, "out_ch": 2, "ch": 128, "ch_mult": [1, 1, 1], "num_res_blocks": 1, "attn_resolutions": [],
        "dropout": 0.0, "mid_block_add_attention": False, "norm_type": "pixel", "causality_axis": "height",
    }  # fmt: skip
    return {
        "model": {"params": {"ddconfig": ddconfig, "sampling_rate": 16000}},
        "preprocessing": {
            "stft": {"filter_length": 1024, "hop_length": 160, "win_length": 1024, "causal": True},
            "mel": {"n_mel_channels": 64, "mel_fmin": 0, "mel_fmax": 8000},
        },
    }


_DILATIONS = [[1, 3, 5], [1, 3, 5], [1, 3, 5]]


def _vocoder_section(family: DemoFamily) -> dict[str, Any]:
    """Real vocoder sections (same rates, kernels and sample rates) with narrow channels."""
    if family is DemoFamily.LTX2:
        return {
            "upsample_initial_channel": 32, "resblock": "1", "upsample_rates": [6, 5, 2, 2, 2],
            "resblock_kernel_sizes": [3, 7, 11], "upsample_kernel_sizes": [16, 15, 8, 4, 4],
            "resblock_dilation_sizes": _DILATIONS, "stereo": True, "output_sampling_rate": 24000,
        }  # fmt: skip
    amp = {
        "resblock": "AMP1",
        "resblock_kernel_sizes": [3, 7, 11],
        "resblock_dilation_sizes": _DILATIONS,
        "stereo": True,
        "use_tanh_at_final": False,
        "activation": "snakebeta",
        "use_bias_at_final": False,
    }
    return {
        "vocoder": {**amp, "upsample_initial_channel": 64, "upsample_rates": [5, 2, 2, 2, 2, 2],
                    "upsample_kernel_sizes": [11, 4, 4, 4, 4, 4]},
        "bwe": {**amp, "upsample_initial_channel": 32, "upsample_rates": [6, 5, 2, 2, 2],
                "upsample_kernel_sizes": [12, 11, 4, 4, 4], "apply_final_activation": False,
                "input_sampling_rate": 16000, "output_sampling_rate": 48000, "hop_length": 80, "n_fft": 512,
                "win_size": 512, "num_mels": 64},
    }  # fmt: skip


def demo_config(family: DemoFamily) -> dict[str, Any]:
    """The metadata ``config`` dict of a demo checkpoint: the real sections of ``family`` with sizes shrunk."""
    family = DemoFamily(family)
    transformer = {**_TRANSFORMER_19B, **_TRANSFORMER_TINY}
    vae = {**_VAE_COMMON, "encoder_blocks": _ENCODER_TINY, "decoder_base_channels": _DECODER_BASE_CHANNELS}
    if family is DemoFamily.LTX2:
        vae["decoder_blocks"] = _DECODER_19B_TINY
    else:
        transformer.pop("_diffusers_version")
        transformer.update({**_TRANSFORMER_23_EXTRA, **_TRANSFORMER_TINY, **_TRANSFORMER_23_TINY})
        vae.update({**_VAE_23_EXTRA, "decoder_blocks": _DECODER_23_TINY})
    config = {
        "transformer": transformer,
        "vae": vae,
        "audio_vae": _audio_vae_section(),
        "vocoder": _vocoder_section(family),
    }
    if family is DemoFamily.LTX23:
        config["scheduler"] = {"_class_name": "RectifiedFlowScheduler", "_diffusers_version": "0.25.1",
                               "num_train_timesteps": 1000, "sampler": "LinearQuadratic"}  # fmt: skip
    return copy.deepcopy(config)


UPSAMPLER_CONFIG: dict[str, Any] = {
    "_class_name": "LatentUpsampler", "in_channels": 128, "mid_channels": 32, "num_blocks_per_stage": 1, "dims": 3,
    "spatial_upsample": True, "temporal_upsample": False, "spatial_scale": 2.0, "rational_resampler": False,
}  # fmt: skip
"""Flat ``config`` of the demo spatial x2 upsampler (real: mid_channels 1024, 4 blocks per stage)."""


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
        from .audio.mel import mel_filterbank

        bwe = config.bwe
        fb = mel_filterbank(n_freqs=value.shape[1], n_mels=value.shape[0], sample_rate=bwe.output_sample_rate)
        return fb.T.contiguous()
    return value.detach().float()


def _component_tensors(component: Component, config: dict[str, Any], seed: int) -> dict[str, torch.Tensor]:
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
_AV_KEYS = frozenset({"model.diffusion_model.patchify_proj.weight", "model.diffusion_model.audio_patchify_proj.weight"})


def _storage(tensors: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Cast for storage: ``dtype`` everywhere except the F32 scale/shift tables."""
    return {k: v.float() if any(s in k for s in _STORED_F32) else v.to(dtype) for k, v in tensors.items()}


# ---------------------------------------------------------------------------------------------- files
CHECKPOINT_COMPONENTS: tuple[Component, ...] = (
    Component.TRANSFORMER, Component.CONNECTORS, Component.TEXT_PROJECTION, Component.VIDEO_VAE,
    Component.AUDIO_VAE, Component.VOCODER,
)  # fmt: skip


def _ignored_vae_statistics(generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The two video-VAE statistics keys the released files carry and every loader ignores."""
    return {
        "vae.per_channel_statistics.channel": torch.arange(128, dtype=torch.float32),
        "vae.per_channel_statistics.mean-of-stds": 0.5 + torch.rand(128, generator=generator),
    }


def demo_checkpoint_tensors(family: DemoFamily, *, seed: int = 0) -> dict[str, torch.Tensor]:
    """All tensors of a demo checkpoint (fp32, file keys, sorted), deterministic for ``seed``."""
    config = demo_config(family)
    tensors: dict[str, torch.Tensor] = {}
    for index, component in enumerate(CHECKPOINT_COMPONENTS):
        tensors.update(_component_tensors(component, config, seed * 1000 + index))
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
    write_safetensors(path, _storage(demo_checkpoint_tensors(family, seed=seed), dtype), metadata=metadata)
    return path


def write_demo_upsampler(path: str | Path, *, seed: int = 0, dtype: torch.dtype = torch.bfloat16) -> Path:
    """Write a tiny spatial x2 latent upsampler file (keys without prefix, flat ``config`` metadata)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = _component_tensors(Component.UPSAMPLER, dict(UPSAMPLER_CONFIG), seed)
    metadata = {"config": json.dumps(UPSAMPLER_CONFIG)}
    write_safetensors(path, _storage(dict(sorted(tensors.items())), dtype), metadata=metadata)
    return path


# Gemma 3 text config with the 12B structure at toy width; 48 layers -> 49 hidden states (the text projection's
# input is caption_channels x 49) and hidden size = the demo checkpoints' caption_channels (16).
DEMO_GEMMA_TEXT_CONFIG: dict[str, Any] = {
    "model_type": "gemma3_text", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 48,
    "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "hidden_activation": "gelu_pytorch_tanh",
    "rms_norm_eps": 1e-6, "query_pre_attn_scalar": 8, "sliding_window": 512, "sliding_window_pattern": 6,
    "rope_theta": 1_000_000.0, "rope_local_base_freq": 10_000.0, "rope_scaling": {"rope_type": "linear", "factor": 8.0},
    "max_position_embeddings": 131072, "attn_logit_softcapping": None, "final_logit_softcapping": None,
}  # fmt: skip
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

    from .text.gemma import gemma_text_config
    from .text.testing import save_word_tokenizer

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
              "text_config": text_config, "torch_dtype": "bfloat16"}  # fmt: skip
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
