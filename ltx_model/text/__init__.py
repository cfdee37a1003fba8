"""Text path: prompts -> Gemma 3 hidden states -> feature extractor (``TextProjection``) -> ``EmbeddingsConnectors``.

``TextConfig`` is read from the checkpoint's ``transformer`` metadata section (connector / caption keys only).
"""

from .config import (
    ConnectorConfig,
    ConnectorLayout,
    ExtractorKind,
    RopeLayout,
    TextConfig,
)
from .connector_pair import ConnectorOutput, EmbeddingsConnectors
from .connector_transformer import EmbeddingsConnector
from .encode import GemmaTextEncoder, TextEncoding, encode_hidden_states, encode_prompts
from .gemma import gemma_hidden_states, load_gemma_text_model
from .gemma_gguf import GemmaGGUFError, check_gemma_fits, load_gemma_gguf
from .projection import TextProjection
from .tokenizer import SentencePieceTokenizer, TokenBatch, load_tokenizer, tokenize_prompts

__all__ = [
    "ConnectorConfig",
    "ConnectorLayout",
    "ConnectorOutput",
    "EmbeddingsConnector",
    "EmbeddingsConnectors",
    "ExtractorKind",
    "GemmaGGUFError",
    "GemmaTextEncoder",
    "RopeLayout",
    "SentencePieceTokenizer",
    "TextConfig",
    "TextEncoding",
    "TextProjection",
    "TokenBatch",
    "check_gemma_fits",
    "encode_hidden_states",
    "encode_prompts",
    "gemma_hidden_states",
    "load_gemma_gguf",
    "load_gemma_text_model",
    "load_tokenizer",
    "tokenize_prompts",
]
