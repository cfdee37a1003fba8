"""The pair of embeddings connectors (video, audio) that turn projected Gemma features into transformer context.

Caption projection placement (ltx2-model.md section 3.5): in 19B (V1) the connectors output Gemma-width (3840)
tokens and the ``caption_projection`` / ``audio_caption_projection`` MLPs that map them to 4096 / 2048 live in the
transformer (not here). In 22B (V2) the projection to 4096 / 2048 happens before the connectors, in
:class:`~ltx_model.text.projection.TextProjection`, and the transformer has no caption projection.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .. import layers
from .config import ConnectorLayout, TextConfig
from .connector_transformer import EmbeddingsConnector


class ConnectorOutput(NamedTuple):
    """Connector outputs.

    Attributes:
        video: (B, S, D_video) video context (3840 wide in 19B, 4096 in 22B).
        audio: (B, S, D_audio) audio context (3840 in 19B, 2048 in 22B), None for the video-only layout.
        mask: (B, S) int64 binary mask of the context; all ones when registers are used (always, in real models).
    """

    video: torch.Tensor
    audio: torch.Tensor | None
    mask: torch.Tensor


def valid_first_order(attention_mask: torch.Tensor) -> torch.Tensor:
    """Stable permutation putting valid tokens first, order preserved (HEAD ``_compute_right_pad_order``).

    Args:
        attention_mask: (B, S) binary.
    Returns:
        (B, S) int64 indices; ``gather(x, 1, idx)`` turns left padding into right padding.
    """
    return torch.argsort(attention_mask.to(torch.int32), dim=-1, descending=True, stable=True)


def _reorder(x: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Apply a (B, S) token permutation to (B, S, D)."""
    return torch.gather(x, 1, order.unsqueeze(-1).expand_as(x))


class EmbeddingsConnectors(nn.Module):
    """Video and audio embeddings connectors (keys = file keys minus ``model.diffusion_model.``).

    Audio+video layout: ``video_embeddings_connector.*`` and ``audio_embeddings_connector.*``; video-only layout:
    ``embeddings_connector.*``.
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
        kw = {"dtype": dtype, "device": device, "operations": operations}
        if config.layout is ConnectorLayout.VIDEO_ONLY:
            self.embeddings_connector = EmbeddingsConnector(config.video, config, **kw)
        else:
            self.video_embeddings_connector = EmbeddingsConnector(config.video, config, **kw)
            self.audio_embeddings_connector = EmbeddingsConnector(config.audio, config, **kw)

    @property
    def video_connector(self) -> EmbeddingsConnector:
        """The video connector, whatever its checkpoint name."""
        if self.config.layout is ConnectorLayout.VIDEO_ONLY:
            return self.embeddings_connector
        return self.video_embeddings_connector

    def forward(
        self, video_features: torch.Tensor, audio_features: torch.Tensor | None, attention_mask: torch.Tensor
    ) -> ConnectorOutput:
        """Run the connectors on projected features.

        Valid tokens are first moved to the front (stable, per prompt; left padding becomes right padding), then each
        connector fills the padded tail with its learnable registers and attends over all S tokens.

        Args:
            video_features: (B, S, D_video) from :class:`TextProjection`.
            audio_features: (B, S, D_audio), required for the audio+video layout, None for video-only.
            attention_mask: (B, S) binary tokenizer mask (1 = valid).
        Returns:
            :class:`ConnectorOutput`; the video context is multiplied by the output mask (a no-op with registers),
            the audio context is not (as in ltx-core).
        """
        has_audio = self.config.layout is ConnectorLayout.AUDIO_VIDEO
        if has_audio != (audio_features is not None):
            raise ValueError(f"audio features must be given exactly for the audio+video layout ({self.config.layout})")
        order = valid_first_order(attention_mask)
        valid = torch.gather(attention_mask.bool(), 1, order)
        video, valid_out = self.video_connector(_reorder(video_features, order), valid)
        out_mask = valid_out.to(torch.int64)
        video = video * out_mask.unsqueeze(-1)
        audio = None
        if has_audio:
            audio, _ = self.audio_embeddings_connector(_reorder(audio_features, order), valid)
        return ConnectorOutput(video, audio, out_mask)
