"""LTX-2 / LTX-2.3 audio+video diffusion transformer (pure PyTorch).

Public API: :class:`LTXTransformer` (the model), :class:`TransformerConfig` (from the checkpoint's ``transformer``
config section), :class:`Modality` (per-stream input), :class:`Perturbations` / :class:`Perturbation` /
:class:`SkipAttention` (STG and cross-modal isolation), :class:`TransformerOptions` (host attention kernel),
and the RoPE helpers (:class:`RopeSpec`, :func:`rope_table`) reused by the text connectors.
"""

from .attention import AttentionFn, sdpa_attention
from .config import ModelKind, RopeType, TransformerConfig
from .modality import Modality
from .model import LTXTransformer
from .options import Perturbation, Perturbations, SkipAttention, TransformerOptions
from .rope import RopeSpec, RopeTable, frequency_grid, rope_table

__all__ = [
    "AttentionFn",
    "LTXTransformer",
    "ModelKind",
    "Modality",
    "Perturbation",
    "Perturbations",
    "RopeSpec",
    "RopeTable",
    "RopeType",
    "SkipAttention",
    "TransformerConfig",
    "TransformerOptions",
    "frequency_grid",
    "rope_table",
    "sdpa_attention",
]
