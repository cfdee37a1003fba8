"""The components a generation needs, loaded strictly from a single-file checkpoint via ``ltx_model.loading``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from .. import layers
from ..audio import AudioVAE, Vocoder
from ..loading import Component, load_component, read_header
from ..text import EmbeddingsConnectors, TextProjection
from ..transformer import LTXTransformer
from ..upsampler import LatentUpsampler
from ..video_vae import VideoVAE


@dataclass
class PipelineModels:
    """Loaded modules of one checkpoint (all on one device, one dtype).

    Attributes:
        transformer: the diffusion transformer (predicts velocities).
        video_vae: video encoder (image conditioning) + decoder.
        audio_vae: audio VAE (its decoder turns latents into log-mel spectrograms).
        vocoder: log-mel → waveform at ``vocoder.sample_rate``.
        text_projection, connectors: the text path after Gemma (None when only precomputed contexts are used).
        upsampler: optional spatial latent upsampler (separate file).
        model_version: the checkpoint's ``model_version`` metadata (None if absent).
    """

    transformer: LTXTransformer
    video_vae: VideoVAE
    audio_vae: AudioVAE
    vocoder: Vocoder
    text_projection: TextProjection | None = None
    connectors: EmbeddingsConnectors | None = None
    upsampler: LatentUpsampler | None = None
    model_version: str | None = None

    @property
    def dtype(self) -> torch.dtype:
        """Compute dtype of the transformer (latents are kept in it between steps)."""
        return next(self.transformer.parameters()).dtype

    @property
    def device(self) -> torch.device:
        """Device of the transformer."""
        return next(self.transformer.parameters()).device


def load_pipeline_models(
    checkpoint: str | os.PathLike[str],
    *,
    dtype: torch.dtype = torch.bfloat16,
    device: str | torch.device = "cpu",
    upsampler: str | os.PathLike[str] | None = None,
    with_text: bool = True,
    operations: Any = layers,  # noqa: ANN401
) -> PipelineModels:
    """Load every component of a single-file LTX-2 / LTX-2.3 checkpoint (strict key and shape checks).

    Args:
        checkpoint: the ``.safetensors`` file.
        dtype: compute dtype (the reference runs bf16; parity tests use float32).
        device: where the weights go.
        upsampler: optional latent upsampler file.
        with_text: also load the text projection and connectors (needed to encode prompts).
        operations: layer namespace forwarded to every module.
    """
    header = read_header(checkpoint)
    kw = {"dtype": dtype, "device": device, "operations": operations}

    def load(component: Component, source: Any = header) -> Any:  # noqa: ANN401
        return load_component(source, component, **kw)

    return PipelineModels(
        transformer=load(Component.TRANSFORMER),
        video_vae=load(Component.VIDEO_VAE),
        audio_vae=load(Component.AUDIO_VAE),
        vocoder=load(Component.VOCODER),
        text_projection=load(Component.TEXT_PROJECTION) if with_text else None,
        connectors=load(Component.CONNECTORS) if with_text else None,
        upsampler=load(Component.UPSAMPLER, upsampler) if upsampler is not None else None,
        model_version=header.metadata.get("model_version"),
    )
