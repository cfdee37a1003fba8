"""Prompt encoding end to end: tokens -> Gemma hidden states -> feature extractor -> connectors -> context.

Shapes for the real models (T = 1024 tokens, L = 49 hidden states, D_g = 3840):
Gemma hidden states L x (B, T, D_g) -> TextProjection -> video (B, T, 3840 | 4096), audio (B, T, 3840 | 2048)
-> EmbeddingsConnectors -> same widths (19B: 3840 both; the transformer's caption projections then map them to
4096 / 2048; 22B: 4096 / 2048 directly).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch

from .connector_pair import EmbeddingsConnectors
from .gemma import gemma_hidden_states, gemma_text_config, load_gemma_text_model, read_gemma_config
from .gemma4 import gemma4_text_config, is_gemma4_config, load_gemma4_text_model
from .gemma_gguf import check_gemma_fits, is_gguf, load_gemma_gguf, read_gemma_gguf_config
from .projection import TextProjection
from .tokenizer import MAX_TOKENS, TokenBatch, load_tokenizer, tokenize_prompts


class TextEncoding(NamedTuple):
    """Transformer text context for B prompts.

    Attributes:
        video_context: (B, T, D_video) video cross-attention context.
        audio_context: (B, T, D_audio) audio cross-attention context, None for a video-only model.
        context_mask: (B, T) int64 binary mask for both contexts (all ones: padding became learnable registers).
    """

    video_context: torch.Tensor
    audio_context: torch.Tensor | None
    context_mask: torch.Tensor


class GemmaTextEncoder:
    """A Gemma language model with its tokenizer; produces the hidden states the LTX text path consumes."""

    def __init__(self, model: torch.nn.Module, tokenizer: Any, *, max_length: int = MAX_TOKENS) -> None:
        """Args: model: a ``Gemma3TextModel`` or ``Gemma4UnifiedTextModel``; tokenizer: its Hugging Face tokenizer;
        max_length: T."""
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        tokenizer_path: str | Path | None = None,
        dtype: torch.dtype = torch.bfloat16,
        device: torch.device | str = "cpu",
        config: Mapping[str, Any] | None = None,
        max_length: int = MAX_TOKENS,
        should_abort: Callable[[], None] | None = None,
        text_config: Any = None,
    ) -> GemmaTextEncoder:
        """Load from a local Gemma folder, single ``.safetensors`` file or llama.cpp ``.gguf`` file.

        A Gemma 4 config (``model_type`` ``gemma4_unified``: the LTX-2.5 text encoder file's ``gemma_config``
        metadata, or a folder's ``config.json``) loads :func:`~ltx_model.text.gemma4.load_gemma4_text_model`;
        anything else is Gemma 3.

        The tokenizer comes from ``tokenizer_path`` or else from ``path`` itself (the folder, the single file's
        embedded ``spiece_model``, or the GGUF vocabulary; see :func:`~ltx_model.text.tokenizer.load_tokenizer`).
        A ``.gguf`` file is loaded by :func:`~ltx_model.text.gemma_gguf.load_gemma_gguf` (``config`` is unused).

        Never downloads; see :func:`~ltx_model.text.gemma.load_gemma_text_model` for the accepted layouts and the
        ``config`` fallbacks (folder ``config.json``, file ``gemma_config`` metadata, Gemma 3 12B).
        ``should_abort`` is called before each weight tensor is read and may raise to stop the load.
        ``text_config`` (the checkpoint projection's :class:`~ltx_model.text.TextConfig`), when given, is checked
        first against the Gemma's config (:func:`~ltx_model.text.gemma_gguf.check_gemma_fits`: ``ValueError``
        naming the sizes), before the tokenizer or any weight is read.
        """
        if text_config is not None:
            check_gemma_fits(gemma_file_config(path, config), text_config, name=Path(path).name)
        tokenizer = load_tokenizer(path if tokenizer_path is None else tokenizer_path)
        if is_gguf(path):  # config from the file's metadata; quantised matrices stay quantised
            model = load_gemma_gguf(path, dtype=dtype, device=device, should_abort=should_abort)
        elif is_gemma4_config(raw := config if config is not None else read_gemma_config(path)):
            model = load_gemma4_text_model(path, dtype=dtype, device=device, config=raw, should_abort=should_abort)
        else:
            model = load_gemma_text_model(path, dtype=dtype, device=device, config=config,
                                          should_abort=should_abort)
        return cls(model, tokenizer, max_length=max_length)

    def tokenize(self, prompts: Sequence[str]) -> TokenBatch:
        """(B, T) left-padded ids and mask, see :func:`~ltx_model.text.tokenizer.tokenize_prompts`."""
        return tokenize_prompts(self.tokenizer, prompts, max_length=self.max_length)

    def hidden_states(self, prompts: Sequence[str]) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Run Gemma on B prompts in one batch.

        Returns:
            (L hidden states (B, T, D_g) in the model dtype, attention mask (B, T) int64 on the model device).
        """
        tokens = self.tokenize(prompts)
        hidden = gemma_hidden_states(self.model, tokens.input_ids, tokens.attention_mask)
        return hidden, tokens.attention_mask.to(hidden[0].device)


def gemma_file_config(path: str | Path, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The Gemma text config dict of a folder / single file / GGUF (metadata only: no weight is read), as
    :meth:`GemmaTextEncoder.from_pretrained` would build the model (``config`` overrides a non-GGUF file's own)."""
    if is_gguf(path):
        return read_gemma_gguf_config(path)
    raw = config if config is not None else read_gemma_config(path)
    if is_gemma4_config(raw):
        return gemma4_text_config(raw).to_dict()
    return gemma_text_config(raw).to_dict()


def encode_hidden_states(
    hidden_states: Sequence[torch.Tensor] | torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    projection: TextProjection,
    connectors: EmbeddingsConnectors,
) -> TextEncoding:
    """Gemma hidden states -> transformer context.

    Args:
        hidden_states: L tensors (B, T, D_g) or a stacked (B, T, D_g, L) tensor; moved to the projection's device
            and dtype.
        attention_mask: (B, T) binary tokenizer mask (left padding).
        projection: the V1 / V2 feature extractor.
        connectors: the video / audio embeddings connectors.
    Returns:
        :class:`TextEncoding`.
    """
    weight = next(projection.parameters())
    if isinstance(hidden_states, torch.Tensor):
        hidden_states = hidden_states.to(weight.device, weight.dtype)
    else:
        hidden_states = tuple(h.to(weight.device, weight.dtype) for h in hidden_states)
    mask = attention_mask.to(weight.device)
    with torch.no_grad():
        video, audio = projection(hidden_states, mask)
        target = next(connectors.parameters()).dtype  # a projection file of another precision than the connectors'
        if target.itemsize > 1:  # (e.g. an fp32 Gemma 4 projection, bf16 transformer): compute in the connectors'
            video, audio = video.to(target), (None if audio is None else audio.to(target))
        out = connectors(video, audio, mask)
    return TextEncoding(out.video, out.audio, out.mask)


def encode_prompts(
    prompts: Sequence[str],
    *,
    text_encoder: GemmaTextEncoder,
    projection: TextProjection,
    connectors: EmbeddingsConnectors,
) -> TextEncoding:
    """Encode B prompts: tokenize (left pad to 1024) -> Gemma (all 49 hidden states) -> extractor -> connectors.

    Args:
        prompts: B strings (each is ``.strip()``-ed).
        text_encoder: Gemma model + tokenizer.
        projection: :class:`TextProjection` of the checkpoint (``text_embedding_projection.*``).
        connectors: :class:`EmbeddingsConnectors` of the checkpoint (``*embeddings_connector.*``).
    Returns:
        :class:`TextEncoding` with (B, 1024, D_video), (B, 1024, D_audio) contexts and a (B, 1024) mask.
    """
    hidden, mask = text_encoder.hidden_states(prompts)
    return encode_hidden_states(hidden, mask, projection=projection, connectors=connectors)
