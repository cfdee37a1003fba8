"""Prompt → transformer text contexts through a local Gemma 3 folder and the checkpoint's text path."""

from __future__ import annotations

import gc
import os

from ..text import GemmaTextEncoder, encode_prompts
from .models import PipelineModels
from .request import TextContexts


def encode_text(
    models: PipelineModels,
    gemma: str | os.PathLike[str] | GemmaTextEncoder,
    prompt: str,
    *,
    negative_prompt: str | None = None,
) -> TextContexts:
    """Encode the prompt (and the negative prompt, for guided runs) one at a time, as the reference does.

    Args:
        models: loaded models with ``text_projection`` and ``connectors``.
        gemma: a Gemma 3 folder (loaded in the models' dtype on their device, freed afterwards) or a loaded encoder.
        prompt / negative_prompt: text.
    Returns:
        :class:`TextContexts` of batch 1 (``(1, 1024, D)`` each).
    """
    if models.text_projection is None or models.connectors is None:
        raise ValueError("these PipelineModels were loaded without the text path (with_text=False)")
    encoder = gemma
    if not isinstance(gemma, GemmaTextEncoder):
        encoder = GemmaTextEncoder.from_pretrained(gemma, dtype=models.dtype, device=models.device)
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
