"""The diffusion model as ComfyUI's ``BaseModel`` calls it: ``diffusion_model(x, timestep, context=..., **conds)``.

:class:`HostTransformer` IS ``ltx_model``'s :class:`LTXTransformer` (a subclass, so ``state_dict()`` keys stay the
official names and core LoRA loaders map them); only ``forward`` differs: it translates ComfyUI's calling
convention (latent grids, per-token timesteps, concatenated video|audio text context, ``frame_rate``) into
``Modality`` bundles, and the velocity tokens back into latent grids. No ComfyUI import here.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch

from ..ltx_model.sampling import (
    AudioGrid,
    VideoGrid,
    audio_positions,
    patchify_audio,
    patchify_video,
    unpatchify_audio,
    unpatchify_video,
    video_positions,
)
from ..ltx_model.transformer import LTXTransformer, Modality, TransformerConfig, TransformerOptions

# Conditioning that core LTX nodes can attach but this adapter does not implement yet (guides, reference audio).
_UNSUPPORTED_CONDS = ("keyframe_idxs", "guide_attention_entries", "ref_audio")


class HostTransformer(LTXTransformer):
    """:class:`LTXTransformer` with ComfyUI's constructor keywords and call contract.

    ``BaseModel`` builds it as ``HostTransformer(**unet_config, device=..., operations=...)`` where
    ``unet_config = {"image_model": ..., "transformer": TransformerConfig, "attention_fn": ..., "dtype": ...}``;
    ``attention_fn`` is the host's attention kernel (same calling convention as ``ltx_model``'s, optionally taking
    ``transformer_options``), None for PyTorch SDPA.
    """

    def __init__(self, *, transformer: TransformerConfig, image_model: str = "ltx2_native",
                 attention_fn: Any = None, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None, operations: Any = None, **_ignored: Any) -> None:
        super().__init__(transformer, dtype=dtype, device=device, operations=operations or torch.nn)
        self.dtype = dtype  # BaseModel.get_dtype() reads it
        self._attention_fn = attention_fn
        self._attention_takes_options = attention_fn is not None and (
            "transformer_options" in inspect.signature(attention_fn).parameters)

    def context_widths(self) -> tuple[int, int]:
        """Widths of the video and audio parts of the concatenated text context (19B: caption features each;
        22B: the streams' hidden widths), the layout core LTXAV also uses."""
        c = self.config
        if c.caption_projection:
            return c.caption_channels, c.caption_channels
        return c.video_inner_dim, c.audio_inner_dim

    def forward(self, x: torch.Tensor | list[torch.Tensor], timestep: Any, context: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, frame_rate: float = 25,
                transformer_options: dict | None = None, **_conds: Any) -> torch.Tensor | list[torch.Tensor]:
        """Velocity prediction in ComfyUI's layout.

        Args:
            x: ``[video (B, C, F, H, W), audio (B, C, T, M)]`` or a video grid alone.
            timestep: ``(video_t, audio_t, video_sigma, audio_sigma)`` from ``process_timestep``: per-token noise
                levels ``(B, T)`` (or ``(B,)``) and each stream's sigma ``(B,)``; a bare ``(B,)`` sigma also works.
            context: text context ``(B, S, Wv + Wa)``, video part first (:meth:`context_widths`).
            attention_mask: optional text mask ``(B, S)``.
            frame_rate: video frames per second (positions are in seconds).
        Returns:
            velocities shaped like ``x``.
        """
        unsupported = sorted(k for k in _UNSUPPORTED_CONDS if _conds.get(k) is not None)
        if unsupported:  # never ignore conditioning silently
            raise NotImplementedError(f"LTX-2 Native does not support {', '.join(unsupported)} yet")
        parts = list(x) if isinstance(x, (list, tuple)) else [x]
        video, audio = parts[0], (parts[1] if len(parts) > 1 else None)
        v_t, a_t, v_sigma, a_sigma = timestep if isinstance(timestep, (list, tuple)) else (timestep,) * 4
        transformer_options = transformer_options or {}
        v_ctx, a_ctx = torch.split(context, list(self.context_widths()), dim=-1)
        mask = attention_mask
        v_in = self._video_modality(video, v_t, v_sigma, v_ctx, float(frame_rate), mask)
        a_in = self._audio_modality(audio, a_t, a_sigma, a_ctx, mask) if audio is not None else None
        v_out, a_out = super().forward(v_in, a_in, options=self._options(transformer_options))
        b, _, f, h, w = video.shape
        out = [unpatchify_video(v_out, frames=f, height=h, width=w)]
        if audio is not None:
            out.append(unpatchify_audio(a_out, channels=audio.shape[1], mel_bins=audio.shape[3]))
        return out if len(parts) > 1 else out[0]

    def _options(self, transformer_options: dict) -> TransformerOptions:
        if self._attention_fn is None:
            return TransformerOptions()
        if self._attention_takes_options:
            return TransformerOptions(functools.partial(self._attention_fn, transformer_options=transformer_options))
        return TransformerOptions(self._attention_fn)

    def _video_modality(self, video: torch.Tensor, t: torch.Tensor, sigma: torch.Tensor, ctx: torch.Tensor,
                        fps: float, mask: torch.Tensor | None) -> Modality:
        b, _, f, h, w = video.shape
        positions = video_positions(VideoGrid(frames=f, height=h, width=w, fps=fps), batch=b, dtype=video.dtype,
                                    device=video.device)
        return Modality(latent=patchify_video(video), sigma=sigma, timesteps=_per_token(t, b), positions=positions,
                        context=ctx, context_mask=mask)

    def _audio_modality(self, audio: torch.Tensor, t: torch.Tensor, sigma: torch.Tensor, ctx: torch.Tensor,
                        mask: torch.Tensor | None) -> Modality:
        b, _, frames, _ = audio.shape
        positions = audio_positions(AudioGrid(frames=frames), batch=b, device=audio.device)
        return Modality(latent=patchify_audio(audio), sigma=sigma, timesteps=_per_token(t, b), positions=positions,
                        context=ctx, context_mask=mask)


def _per_token(t: torch.Tensor, batch: int) -> torch.Tensor:
    """``(B,)`` sigma -> ``(B, 1)`` (broadcast over tokens); per-token ``(B, T)`` passes through."""
    return t.reshape(batch, -1)
