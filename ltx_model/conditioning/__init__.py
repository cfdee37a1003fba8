"""Conditioning items acting on the patchified :class:`~ltx_model.sampling.state.LatentState`."""

from .attention import (
    attention_bias,
    build_attention_mask,
    extend_attention_mask,
    pixel_mask_to_latent,
    resolve_cross_mask,
)
from .errors import ConditioningError
from .items import (
    ConditioningItem,
    ImageAtLatentIndex,
    KeyframeAtFrame,
    ReferenceVideo,
    WithAttentionStrength,
)
from .reference_audio import ReferenceAudio, reference_audio_positions
from .regions import FrozenAudio, TemporalRegionMask, clear_conditioning, token_time_bounds, tokens_in_window

__all__ = [
    "ConditioningError",
    "ConditioningItem",
    "FrozenAudio",
    "ImageAtLatentIndex",
    "KeyframeAtFrame",
    "ReferenceAudio",
    "ReferenceVideo",
    "TemporalRegionMask",
    "WithAttentionStrength",
    "attention_bias",
    "build_attention_mask",
    "clear_conditioning",
    "extend_attention_mask",
    "pixel_mask_to_latent",
    "reference_audio_positions",
    "resolve_cross_mask",
    "token_time_bounds",
    "tokens_in_window",
]
