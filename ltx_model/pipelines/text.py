"""Prompt → transformer text contexts through a local Gemma (a Gemma 3 folder / file for LTX-2 and 2.3, the split
text-encoder file for LTX-2.5) and the checkpoint's text path."""

from __future__ import annotations

import gc
import os

from ..text import GemmaTextEncoder, check_gemma_files, encode_prompts
from .models import PipelineModels
from .request import TextContexts


def encode_text(
    models: PipelineModels,
    gemma: str | os.PathLike[str] | GemmaTextEncoder | None,
    prompt: str,
    *,
    negative_prompt: str | None = None,
) -> TextContexts:
    """Encode the prompt (and the negative prompt, for guided runs) one at a time, as the reference does.

    Args:
        models: loaded models with ``text_projection`` and ``connectors``.
        gemma: a Gemma folder / file (loaded in the models' dtype on their device, freed afterwards), a loaded
            encoder, or None for the split text-encoder file of an LTX-2.5 model (``models.files.text_encoder``).
            A path is first checked against the transformer file (``gemma_version``: a Gemma 3 for a 2.5 model, or
            the reverse, is one ``GemmaVersionError`` naming both files).
        prompt / negative_prompt: text.
    Returns:
        :class:`TextContexts` of batch 1 (``(1, 1024, D)`` each).
    """
    if models.text_projection is None or models.connectors is None:
        raise ValueError("these PipelineModels were loaded without the text path (with_text=False)")
    encoder = gemma = _gemma_source(models, gemma)
    if not isinstance(gemma, GemmaTextEncoder):
        if models.files is not None:
            check_gemma_files(models.files.transformer, gemma)
        encoder = GemmaTextEncoder.from_pretrained(gemma, dtype=models.dtype, device=models.device,
                                                   text_config=models.text_projection.config)
    prompts = [prompt] if negative_prompt is None else [prompt, negative_prompt]
    encoded = [
        encode_prompts([p], text_encoder=encoder, projection=models.text_projection, connectors=models.connectors)
        for p in prompts
    ]
    if encoder is not gemma:
        del encoder
        gc.collect()
    positive = encoded[0]
    negative = encoded[1] if len(encoded) > 1 else None
    return TextContexts(
        video=positive.video_context,
        audio=positive.audio_context,
        negative_video=None if negative is None else negative.video_context,
        negative_audio=None if negative is None else negative.audio_context,
    )


def _gemma_source(
    models: PipelineModels, gemma: str | os.PathLike[str] | GemmaTextEncoder | None
) -> str | os.PathLike[str] | GemmaTextEncoder:
    """The Gemma to use: ``gemma``, else the split model's text-encoder file."""
    if gemma is not None:
        return gemma
    if models.files is None or models.files.text_encoder is None:
        raise ValueError("no Gemma given: pass a Gemma folder / file (single-file checkpoints need one)")
    return models.files.text_encoder
