"""Gemma feature extractors ("text embedding projection"): stacked Gemma hidden states -> connector inputs.

V1 (19B): per prompt and per layer, normalise by the masked mean and the masked value range, flatten, and project
with one bias-free ``aggregate_embed`` to the Gemma width (the same features feed the video and the audio connector).
V2 (22B): per token and per layer RMS normalisation, flatten, and project with ``video_aggregate_embed`` /
``audio_aggregate_embed`` (with bias) straight to the transformer's video / audio context widths.

Padding is recognised from the binary attention mask itself (HEAD behaviour); ltx-core 1.0.0 derived it from the
number of valid tokens assuming left padding, which is identical for the left-padded tokenizer output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .. import layers
from .config import ConnectorLayout, ExtractorKind, TextConfig

_EPS = 1e-6


def stack_hidden_states(hidden_states: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack a sequence of L Gemma hidden states ``(B, T, D)`` into ``(B, T, D, L)`` (pass a stacked tensor through)."""
    if isinstance(hidden_states, torch.Tensor):
        return hidden_states
    return torch.stack(tuple(hidden_states), dim=-1)


def norm_mean_range(encoded: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """V1 normalisation: ``8 * (x - mean) / (max - min + 1e-6)`` per (prompt, layer) over valid tokens.

    Args:
        encoded: stacked hidden states, shape (B, T, D, L).
        attention_mask: (B, T), 1 for valid tokens, 0 for padding.
    Returns:
        (B, T, D * L) features, layer index fastest (feature ``d * L + l``), padded tokens zeroed. The mean is
        computed in float32 (as ltx-core's type promotion does), so the result is float32 for half inputs.
    """
    b, t, d, n_layers = encoded.shape
    valid = attention_mask.bool().view(b, t, 1, 1)
    count = attention_mask.sum(dim=-1).view(b, 1, 1, 1) * d  # (B, 1, 1, 1), int
    total = encoded.masked_fill(~valid, 0.0).sum(dim=(1, 2), keepdim=True)  # (B, 1, 1, L)
    mean = total / (count.to(torch.float32) + _EPS)
    x_min = encoded.masked_fill(~valid, float("inf")).amin(dim=(1, 2), keepdim=True)
    x_max = encoded.masked_fill(~valid, float("-inf")).amax(dim=(1, 2), keepdim=True)
    normed = 8 * (encoded - mean) / (x_max - x_min + _EPS)
    normed = normed.reshape(b, t, d * n_layers)
    return normed.masked_fill(~valid.view(b, t, 1), 0.0)


def norm_per_token_rms(encoded: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """V2 normalisation: ``x / sqrt(mean_d(x^2) + 1e-6)`` per (token, layer).

    Args:
        encoded: stacked hidden states, shape (B, T, D, L).
        attention_mask: (B, T), 1 for valid tokens, 0 for padding.
    Returns:
        (B, T, D * L) features in the input dtype, layer index fastest, padded tokens zeroed.
    """
    b, t, d, n_layers = encoded.shape
    variance = torch.mean(encoded**2, dim=2, keepdim=True)  # (B, T, 1, L)
    normed = (encoded * torch.rsqrt(variance + _EPS)).reshape(b, t, d * n_layers)
    valid = attention_mask.bool().unsqueeze(-1)  # (B, T, 1)
    return torch.where(valid, normed, torch.zeros_like(normed))


class TextProjection(nn.Module):
    """Feature extractor V1 or V2 (keys = file keys minus ``text_embedding_projection.``).

    V1 parameters: ``aggregate_embed.weight`` (D_g, D_g * L). V2: ``video_aggregate_embed.{weight,bias}``
    (D_video, D_g * L) and, for the audio+video layout, ``audio_aggregate_embed.{weight,bias}`` (D_audio, D_g * L).
    """

    def __init__(
        self,
        config: TextConfig,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        operations: object = layers,
    ) -> None:
        super().__init__()
        self.config = config
        with_audio = config.layout is ConnectorLayout.AUDIO_VIDEO
        if config.extractor is ExtractorKind.V1:
            self.aggregate_embed = operations.Linear(
                config.feature_dim, config.gemma_width, bias=False, dtype=dtype, device=device
            )
            return
        self.video_aggregate_embed = operations.Linear(
            config.feature_dim, config.video.width, bias=True, dtype=dtype, device=device
        )
        if with_audio:
            self.audio_aggregate_embed = operations.Linear(
                config.feature_dim, config.audio.width, bias=True, dtype=dtype, device=device
            )

    def forward(
        self, hidden_states: torch.Tensor | Sequence[torch.Tensor], attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Project Gemma hidden states to connector inputs.

        Args:
            hidden_states: L tensors (B, T, D_g) or one stacked (B, T, D_g, L) tensor (L = gemma_hidden_states).
            attention_mask: (B, T) binary mask, 1 for valid tokens.
        Returns:
            (video_features (B, T, D_video), audio_features (B, T, D_audio) or None for the video-only layout).
            V1 returns the same tensor for video and audio (both D_g wide).
        """
        encoded = stack_hidden_states(hidden_states)
        dtype = encoded.dtype
        if self.config.extractor is ExtractorKind.V1:
            features = self.aggregate_embed(norm_mean_range(encoded, attention_mask).to(dtype))
            with_audio = self.config.layout is ConnectorLayout.AUDIO_VIDEO
            return features, (features if with_audio else None)
        normed = norm_per_token_rms(encoded, attention_mask).to(dtype)
        source = self.config.gemma_width
        video = self._rescaled(self.video_aggregate_embed, normed, source)
        audio = None
        if hasattr(self, "audio_aggregate_embed"):
            audio = self._rescaled(self.audio_aggregate_embed, normed, source)
        return video, audio

    @staticmethod
    def _rescaled(linear: nn.Module, normed: torch.Tensor, source_dim: int) -> torch.Tensor:
        """Apply ``linear(normed * sqrt(out_features / source_dim))`` (V2 width rescaling)."""
        return linear(normed * math.sqrt(linear.out_features / source_dim))
