"""Text path: prompts -> Gemma hidden states -> feature extractor (``TextProjection``) -> ``EmbeddingsConnectors``.

``TextConfig`` is read from the checkpoint's ``transformer`` metadata section (connector / caption keys only).
Gemma 3 (LTX-2 / LTX-2.3) or Gemma 4 (LTX-2.5, :mod:`.gemma4`; its text-encoder file also bundles the projection,
:mod:`.te_file`); :mod:`.gemma_version` checks that the Gemma matches the checkpoint.
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
from .gemma4 import LTX25_GEMMA_VERSION, gemma4_text_config, is_gemma4_config, load_gemma4_text_model
from .gemma_gguf import GemmaGGUFError, check_gemma_fits, load_gemma_gguf
from .gemma_version import GemmaVersionError, check_gemma_files, check_gemma_version, expected_gemma_version
from .projection import TextProjection
from .te_file import (
    check_split_text_encoder,
    check_text_projection,
    gemma_feature_dims,
    has_text_projection,
    load_split_text_encoder,
    load_split_text_projection,
    load_text_projection,
    split_text_config,
    text_config_for_gemma,
)
from .tokenizer import SentencePieceTokenizer, TokenBatch, load_tokenizer, tokenize_prompts

__all__ = [
    "LTX25_GEMMA_VERSION",
    "ConnectorConfig",
    "ConnectorLayout",
    "ConnectorOutput",
    "EmbeddingsConnector",
    "EmbeddingsConnectors",
    "ExtractorKind",
    "GemmaGGUFError",
    "GemmaTextEncoder",
    "GemmaVersionError",
    "RopeLayout",
    "SentencePieceTokenizer",
    "TextConfig",
    "TextEncoding",
    "TextProjection",
    "TokenBatch",
    "check_gemma_files",
    "check_gemma_fits",
    "check_gemma_version",
    "encode_hidden_states",
    "encode_prompts",
    "expected_gemma_version",
    "gemma4_text_config",
    "gemma_feature_dims",
    "gemma_hidden_states",
    "has_text_projection",
    "is_gemma4_config",
    "load_gemma4_text_model",
    "load_gemma_gguf",
    "load_gemma_text_model",
    "check_split_text_encoder",
    "check_text_projection",
    "load_split_text_encoder",
    "load_split_text_projection",
    "load_text_projection",
    "load_tokenizer",
    "split_text_config",
    "text_config_for_gemma",
    "tokenize_prompts",
]
