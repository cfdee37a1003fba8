"""Tokens appended after a stream's own for one model call: IC-LoRA reference videos (:class:`VideoReferences`,
carried in CONDITIONING) and reference audio, through ``ltx_model.conditioning`` items; their outputs are dropped by
the caller (``nodes/diffusion.py``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ..ltx_model.conditioning import ConditioningItem
from ..ltx_model.sampling import AudioGrid, LatentState, VideoGrid
from ..ltx_model.transformer import Modality


class VideoReferences:
    """IC-LoRA reference items (``ltx_model.conditioning`` items that append tokens: ``ReferenceVideo``, optionally
    wrapped in ``WithAttentionStrength``) stored in CONDITIONING under :data:`REFERENCES_KEY`.

    Compared by identity, so a positive and a negative prompt holding the same object run in one batch.
    """

    def __init__(self, items: tuple[ConditioningItem, ...]) -> None:
        self.items = tuple(items)

    def append_to(self, video: Modality, grid: VideoGrid) -> Modality:
        """``video`` with the reference tokens appended (positions, per-token timesteps, attention mask).

        ``grid`` is the generated video (its tokens come first; keyframe guide tokens may follow them). A
        reference with strength 1 enters clean at timestep 0 (as in ltx-core). Below 1 (mask ``m``) it enters as
        ``(1 - m·σ)·ref + m·σ·ε`` with fixed noise ``ε`` at timestep ``m·σ``: ltx-core's trajectory when the model
        reproduces the reference (that pipeline keeps these tokens as denoising state, which a stateless model
        call cannot).
        """
        return append_items(video, self.items, grid)


def append_items(stream: Modality, items: tuple[ConditioningItem, ...], grid: VideoGrid | AudioGrid) -> Modality:
    """``stream`` with the tokens of appending conditioning items added after its own (positions, per-token
    timesteps ``mask * sigma``, attention mask); see :meth:`VideoReferences.append_to` for strengths below 1."""
    b, count, _ = stream.latent.shape
    state = LatentState(latent=stream.latent, denoise_mask=torch.ones(b, count, 1, device=stream.latent.device),
                        positions=stream.positions.float(), clean_latent=stream.latent, grid=grid,
                        attention_mask=stream.attention_mask)
    for item in items:
        state = on_device(item, stream.latent).apply_to(state)
    new = state.latent[:, count:]
    mask_sigma = state.denoise_mask[:, count:, 0].to(torch.float32) * stream.sigma.view(-1, 1).float()  # (B, M)
    if bool((mask_sigma > 0).any()):
        noise = torch.randn(new.shape[1:], generator=torch.Generator().manual_seed(0)).to(new)
        new = new * (1 - mask_sigma[..., None]).to(new) + noise * mask_sigma[..., None].to(new)
    timesteps = torch.cat([stream.timesteps.expand(b, count).to(mask_sigma), mask_sigma], dim=1)
    return dataclasses.replace(stream, latent=torch.cat([stream.latent, new], dim=1), timesteps=timesteps,
                               positions=state.positions.to(stream.positions.dtype),
                               attention_mask=state.attention_mask)


def on_device(item: Any, like: torch.Tensor) -> Any:
    """A copy of a (possibly wrapped) conditioning item with its tensors on ``like``'s device and dtype."""
    changes = {}
    for field in dataclasses.fields(item):
        value = getattr(item, field.name)
        if isinstance(value, torch.Tensor):
            changes[field.name] = value.to(device=like.device, dtype=like.dtype)
        elif dataclasses.is_dataclass(value):
            changes[field.name] = on_device(value, like)
    if "latent" in changes and changes["latent"].shape[0] != like.shape[0]:
        changes["latent"] = changes["latent"].expand(like.shape[0], -1, -1, -1, -1)
    return dataclasses.replace(item, **changes)
