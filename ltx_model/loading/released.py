"""The released checkpoints' config sections, as data: the LTX-2 (19B), LTX-2.3 (22B) and LTX-2.5 ``transformer``
sections and the 2.3 ``scheduler`` section, exactly as in the ``config`` metadata of the official checkpoints.

GGUF files carry no LTX metadata, so the GGUF loader falls back to these sections; the demo weights
(``ltx_model.demo``) start from them and shrink only widths and layer counts. The tables are read-only; the
functions return fresh (deep) copies a caller may change.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .detect import Family

RELEASED_TRANSFORMER_19B: Mapping[str, Any] = MappingProxyType({
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
})
"""``transformer`` section of the released LTX-2 (19B) checkpoints."""

RELEASED_TRANSFORMER_23_EXTRA: Mapping[str, Any] = MappingProxyType({
    "apply_gated_attention": True, "cross_attention_adaln": True, "caption_proj_before_connector": True,
    "caption_proj_input_norm": False, "caption_projection_first_linear": False,
    "caption_projection_second_linear": False, "text_encoder_norm_type": "per_token_rms",
    "connector_apply_gated_attention": True, "connector_learnable_registers_std": 1, "connector_num_layers": 8,
    "connector_num_attention_heads": 32, "audio_connector_attention_head_dim": 64,
    "audio_connector_num_attention_heads": 32,
})
"""What the LTX-2.3 (22B) ``transformer`` section adds to / changes in the 19B one (it also has no
``_diffusers_version``); :func:`released_transformer_23` applies it."""

RELEASED_TRANSFORMER_25_EXTRA: Mapping[str, Any] = MappingProxyType({
    "ff_bias": False, "audio_ff_bias": True, "use_prompt_adaln_single": False, "use_keyframes_abs_pos_embedding": True,
})
"""What the LTX-2.5 ``transformer`` section adds to the 2.3 one: the four switches of ltx-core HEAD's
``LTXModelConfigurator`` at their 2.5 values (ltx2-model.md §11). Confidence M: the switch values follow HEAD's
comments ("LTX 2.5 (gemma4) sets ff_bias=false") and diffusers 0.42.1's docs; the widths and ``num_layers`` (48)
follow third-party transcriptions and are unconfirmed, which is why every loader reads them from the file."""

RELEASED_SCHEDULER_23: Mapping[str, Any] = MappingProxyType({
    "_class_name": "RectifiedFlowScheduler", "_diffusers_version": "0.25.1", "num_train_timesteps": 1000,
    "sampler": "LinearQuadratic",
})
"""``scheduler`` section of the released LTX-2.3 checkpoints (the 19B files have none)."""

RELEASED_MODEL_VERSIONS: Mapping[Family, str | None] = MappingProxyType({
    # The released 19B files' model_version value is unknown (ltx2-model.md §1.2); only "not 2.3*" matters.
    Family.LTX2_19B: None,
    Family.LTX23_22B: "2.3.0",
    Family.LTX25: "2.5.0",  # [M] third-party transcriptions; detection only needs the "2.5" prefix
})
"""``__metadata__["model_version"]`` of the released files per family (None: absent or unknown)."""


def released_transformer_19b() -> dict[str, Any]:
    """A fresh copy of the released 19B ``transformer`` section."""
    return copy.deepcopy(dict(RELEASED_TRANSFORMER_19B))


def released_transformer_23() -> dict[str, Any]:
    """A fresh copy of the released 2.3 (22B) ``transformer`` section: the 19B one without ``_diffusers_version``,
    updated with :data:`RELEASED_TRANSFORMER_23_EXTRA` (19B key order first, then the new keys)."""
    section = {**RELEASED_TRANSFORMER_19B, **RELEASED_TRANSFORMER_23_EXTRA}
    section.pop("_diffusers_version")
    return copy.deepcopy(section)


def released_transformer_25() -> dict[str, Any]:
    """A fresh copy of the LTX-2.5 ``transformer`` section: the 2.3 one updated with
    :data:`RELEASED_TRANSFORMER_25_EXTRA`."""
    return {**released_transformer_23(), **copy.deepcopy(dict(RELEASED_TRANSFORMER_25_EXTRA))}


def released_transformer(family: Family) -> dict[str, Any]:
    """A fresh copy of the released ``transformer`` section of ``family``.

    Raises:
        KeyError: ``family`` has no released section (LTX2_19B, LTX23_22B and LTX25 do).
    """
    sections = {Family.LTX2_19B: released_transformer_19b, Family.LTX23_22B: released_transformer_23,
                Family.LTX25: released_transformer_25}
    return sections[Family(family)]()
