"""LTX-2.5 duration head: a suggested clip length (frames on the ``1 + 8k`` grid) from the prompt's text context."""

from .frames import (
    DEFAULT_MAX_SECONDS,
    DEFAULT_MIN_SECONDS,
    DURATION_RANGE_FAMILIES,
    predict_frame_count,
    seconds_to_frame_count,
)
from .load import DURATION_HEAD_PREFIX, duration_head_config, has_duration_head, load_duration_head
from .model import AttentionPooler, DurationHead, DurationHeadConfig, PoolerAttention

__all__ = [
    "DEFAULT_MAX_SECONDS",
    "DEFAULT_MIN_SECONDS",
    "DURATION_HEAD_PREFIX",
    "DURATION_RANGE_FAMILIES",
    "AttentionPooler",
    "DurationHead",
    "DurationHeadConfig",
    "PoolerAttention",
    "duration_head_config",
    "has_duration_head",
    "load_duration_head",
    "predict_frame_count",
    "seconds_to_frame_count",
]
