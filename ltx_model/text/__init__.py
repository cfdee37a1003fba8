"""Text path: Gemma 3 hidden states -> feature extractor (``TextProjection``) -> ``EmbeddingsConnectors``.

``TextConfig`` is read from the checkpoint's ``transformer`` metadata section (connector / caption keys only).
"""

from ltx_model.text.config import (
    ConnectorConfig,
    ConnectorLayout,
    ExtractorKind,
    RopeLayout,
    TextConfig,
)
from ltx_model.text.connector import EmbeddingsConnector
from ltx_model.text.connectors import ConnectorOutput, EmbeddingsConnectors
from ltx_model.text.projection import TextProjection

__all__ = [
    "ConnectorConfig",
    "ConnectorLayout",
    "ConnectorOutput",
    "EmbeddingsConnector",
    "EmbeddingsConnectors",
    "ExtractorKind",
    "RopeLayout",
    "TextConfig",
    "TextProjection",
]
