"""Per-modality input bundle of the transformer (mirrors ltx-core's ``Modality``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Modality:
    """Input of one stream (video or audio) for :meth:`LTXTransformer.forward`.

    Attributes:
        latent: patchified latent tokens ``(B, T, C_in)``; T counts the generated tokens followed by any appended
            conditioning tokens. Its dtype is the compute ("hidden") dtype.
        sigma: current noise level, ``()`` or ``(B,)``. Feeds the prompt AdaLN (22B) and, for the OTHER stream,
            the audio<->video cross-attention gate AdaLN.
        timesteps: per-token noise level = denoise_mask · sigma, ``(B, T)`` or ``(B, T, 1)`` (``(B, 1)``
            broadcasts one value over all tokens). 0 marks clean conditioning tokens.
        positions: RoPE coordinates with ``[start, end)`` bounds: ``(B, 3, T, 2)`` for video (time in seconds,
            height and width in pixels), ``(B, 1, T, 2)`` for audio (time in seconds). The fractional position is
            computed in this tensor's dtype (the reference pipelines store video positions in the latent dtype).
        context: text embeddings ``(B, S, caption_channels)`` for the 19B form (projected inside the model) or
            ``(B, S, D)`` (D = the stream's width) for the 22B form.
        enabled: when False the stream's tokens are not updated by the blocks (they still serve as keys/values of
            the other stream's cross-attention) and the output is still computed.
        context_mask: optional text mask ``(B, S)``: integer/bool 1 = keep, 0 = drop (converted to an additive
            mask), or an already additive float mask. ``None`` in all reference pipelines.
        attention_mask: optional self-attention strength ``(B, T, T)`` in ``[0, 1]``: 1 = full attention,
            0 = none, values between scale the attention weights (added as log(value) to the logits).
        keyframes_mask: optional ``(B, T, 1)`` (or ``(B, T)``) marker, non-zero on the video tokens whose latent
            encodes one standalone pixel frame (the first latent frame and generated keyframe slots). Those tokens
            get the model's ``keyframes_abs_pos_embedding`` (LTX-2.5); ignored by models without it and by audio.
        timestep_levels: optional ``(B, U)`` or ``(B, U, 1)`` ascending values containing every per-token timestep
            of the sample exactly (the denoise mask's distinct values · sigma, computed by the same multiplication
            as ``timesteps``): the AdaLN then finds its rows without reading ``timesteps`` back to the host (no
            ``torch.unique`` sync per pass). ``None``: found from ``timesteps``.
    """

    latent: torch.Tensor
    sigma: torch.Tensor
    timesteps: torch.Tensor
    positions: torch.Tensor
    context: torch.Tensor
    enabled: bool = True
    context_mask: torch.Tensor | None = None
    attention_mask: torch.Tensor | None = None
    keyframes_mask: torch.Tensor | None = None
    timestep_levels: torch.Tensor | None = None
