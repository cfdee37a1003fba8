"""Config metadata of the demo checkpoints: the released sections with only widths and layer counts shrunk.

The transformer sections start from the released ones (:mod:`ltx_model.loading.released`); the VAE, audio VAE and
vocoder sections are the real ones at narrow width. Latent widths stay real (video 128 channels, audio 8 channels x
16 mel bins, real sample rates), so demo files drive the real pipelines at real latent geometry.
"""

from __future__ import annotations

import copy
from enum import Enum
from typing import Any

from ..loading.detect import Family
from ..loading.released import RELEASED_MODEL_VERSIONS, RELEASED_SCHEDULER_23, released_transformer


class DemoFamily(str, Enum):
    """Which checkpoint form to imitate."""

    LTX2 = "ltx-2-19b"  # 19B form: V1 text projection, caption projection in the transformer, HiFi-GAN vocoder
    LTX23 = "ltx-2.3-22b"  # 2.3 form: gated attention, cross-attention AdaLN, V2 projection, BigVGAN + BWE


RELEASED_FAMILY: dict[DemoFamily, Family] = {DemoFamily.LTX2: Family.LTX2_19B, DemoFamily.LTX23: Family.LTX23_22B}
"""The released model family each demo form imitates."""

MODEL_VERSIONS: dict[DemoFamily, str | None] = {f: RELEASED_MODEL_VERSIONS[RELEASED_FAMILY[f]] for f in DemoFamily}
"""``model_version`` metadata per demo form: the released files' (none for 19B, ``"2.3.0"`` for 2.3)."""

# ---------------------------------------------------------------------------------------------- config sections
# Shrunk widths: video 2 heads x 8 (Dv 16), audio 2 heads x 4 (Da 8), Gemma width 16, 2 blocks.
_TRANSFORMER_TINY: dict[str, Any] = {
    "num_layers": 2, "num_attention_heads": 2, "attention_head_dim": 8, "cross_attention_dim": 16,
    "audio_num_attention_heads": 2, "audio_attention_head_dim": 4, "audio_cross_attention_dim": 8,
    "caption_channels": 16, "connector_num_layers": 1, "connector_num_attention_heads": 2,
    "connector_attention_head_dim": 8, "connector_num_learnable_registers": 8,
}
_TRANSFORMER_23_TINY: dict[str, Any] = {
    "connector_num_layers": 2, "audio_connector_num_attention_heads": 2, "audio_connector_attention_head_dim": 4,
}

_RES = "res_x"
_VAE_COMMON: dict[str, Any] = {
    "_class_name": "CausalVideoAutoencoder", "dims": 3, "in_channels": 3, "out_channels": 3, "latent_channels": 128,
    "scaling_factor": 1.0, "norm_layer": "pixel_norm", "patch_size": 4, "latent_log_var": "uniform",
    "use_quant_conv": False, "causal_decoder": False, "timestep_conditioning": False,
}
# The encoder width starts at latent_channels (128); multipliers of 1 keep it there (the 2.3 VAE uses x1 too).
_ENCODER_TINY = [
    [_RES, {"num_layers": 1}], ["compress_space_res", {"multiplier": 1}], [_RES, {"num_layers": 1}],
    ["compress_time_res", {"multiplier": 1}], [_RES, {"num_layers": 1}], ["compress_all_res", {"multiplier": 1}],
    [_RES, {"num_layers": 1}], ["compress_all_res", {"multiplier": 1}], [_RES, {"num_layers": 1}],
]
_DECODER_19B_TINY = [
    [_RES, {"num_layers": 1, "inject_noise": False}], ["compress_all", {"residual": True, "multiplier": 2}],
    [_RES, {"num_layers": 1, "inject_noise": False}], ["compress_all", {"residual": True, "multiplier": 2}],
    [_RES, {"num_layers": 1, "inject_noise": False}], ["compress_all", {"residual": True, "multiplier": 2}],
    [_RES, {"num_layers": 1, "inject_noise": False}],
]
_DECODER_23_TINY = [
    [_RES, {"num_layers": 1}], ["compress_space", {"multiplier": 2}], [_RES, {"num_layers": 1}],
    ["compress_time", {"multiplier": 2}], [_RES, {"num_layers": 1}], ["compress_all", {"multiplier": 1}],
    [_RES, {"num_layers": 1}], ["compress_all", {"multiplier": 2}], [_RES, {"num_layers": 1}],
]
_VAE_23_EXTRA: dict[str, Any] = {
    "normalize_latent_channels": False, "encoder_base_channels": 128, "spatial_padding_mode": "zeros",
}
_DECODER_BASE_CHANNELS = 8


def _audio_vae_section() -> dict[str, Any]:
    """Real ``audio_vae`` section (16 kHz, hop 160, 64 mel bins, 8 latent channels) shrunk to ch_mult [1, 1, 1]
    and one block per level. ``ch`` stays 128: ltx-core sizes the latent statistics by ``ch`` (= 8 x 16)."""
    ddconfig = {
        "double_z": True, "mel_bins": 64, "z_channels": 8, "resolution": 256, "downsample_time": False,
        "in_channels": 2, "out_ch": 2, "ch": 128, "ch_mult": [1, 1, 1], "num_res_blocks": 1, "attn_resolutions": [],
        "dropout": 0.0, "mid_block_add_attention": False, "norm_type": "pixel", "causality_axis": "height",
    }
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
        }
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
    }


def tiny_transformer_section(family: Family) -> dict[str, Any]:
    """The released ``transformer`` section of ``family`` (19B, 2.3 or 2.5) with the demo sizes (2 blocks,
    video 2 x 8, audio 2 x 4, Gemma width 16; the 22B connector layout for 2.3 and 2.5)."""
    section = {**released_transformer(family), **_TRANSFORMER_TINY}
    if family is not Family.LTX2_19B:
        section.update(_TRANSFORMER_23_TINY)
    return copy.deepcopy(section)


def audio_sections() -> dict[str, Any]:
    """The demo ``audio_vae`` and ``vocoder`` (2.3 form: BigVGAN + bandwidth extension) sections, as a dict with
    those two keys (the LTX-2.5 audio VAE + vocoder file keeps the 2.3 architecture)."""
    return copy.deepcopy({"audio_vae": _audio_vae_section(), "vocoder": _vocoder_section(DemoFamily.LTX23)})


def demo_config(family: DemoFamily) -> dict[str, Any]:
    """The metadata ``config`` dict of a demo checkpoint: the real sections of ``family`` with sizes shrunk."""
    family = DemoFamily(family)
    transformer = tiny_transformer_section(RELEASED_FAMILY[family])
    vae = {**_VAE_COMMON, "encoder_blocks": _ENCODER_TINY, "decoder_base_channels": _DECODER_BASE_CHANNELS}
    if family is DemoFamily.LTX2:
        vae["decoder_blocks"] = _DECODER_19B_TINY
    else:
        vae.update({**_VAE_23_EXTRA, "decoder_blocks": _DECODER_23_TINY})
    config = {
        "transformer": transformer,
        "vae": vae,
        "audio_vae": _audio_vae_section(),
        "vocoder": _vocoder_section(family),
    }
    if family is DemoFamily.LTX23:
        config["scheduler"] = dict(RELEASED_SCHEDULER_23)
    return copy.deepcopy(config)


UPSAMPLER_CONFIG: dict[str, Any] = {
    "_class_name": "LatentUpsampler", "in_channels": 128, "mid_channels": 32, "num_blocks_per_stage": 1, "dims": 3,
    "spatial_upsample": True, "temporal_upsample": False, "spatial_scale": 2.0, "rational_resampler": False,
}
"""Flat ``config`` of the demo spatial x2 upsampler (real: mid_channels 1024, 4 blocks per stage)."""

TEMPORAL_UPSAMPLER_CONFIG: dict[str, Any] = {
    **UPSAMPLER_CONFIG, "spatial_upsample": False, "temporal_upsample": True, "spatial_scale": 1.0,
    "rational_resampler": True,
}
"""Flat ``config`` of the demo temporal x2 upsampler (the LTX-2.5 file's keys with mid_channels 32, 1 block per
stage; real: mid_channels 512, 4 blocks per stage)."""

