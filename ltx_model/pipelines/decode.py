"""Latents → outputs: video frames (whole or tiled VAE decode) → uint8, audio latent → mel → waveform."""

from __future__ import annotations

import torch

from ..audio import AudioVAE, Vocoder
from ..video_vae import TilingConfig, VideoVAE, decode_layout
from ..video_vae.diffusion_tiling import DiffusionTiling
from ..video_vae.ltx25 import LTX25VideoVAE
from .request import Callbacks, TilingMode


def to_uint8_frames(pixels: torch.Tensor) -> torch.Tensor:
    """Decoded ``(1, 3, F, H, W)`` in [-1, 1] → ``uint8 (F, H, W, 3)``: ((x + 1) / 2).clamp(0, 1) · 255, truncated."""
    frames = (((pixels.float() + 1.0) / 2.0).clamp(0.0, 1.0) * 255.0).to(torch.uint8)
    return frames[0].permute(1, 2, 3, 0).contiguous()


def needs_tiling(video_vae: VideoVAE, latent: torch.Tensor, tiling: TilingConfig) -> bool:
    """True when ``tiling`` splits this latent into more than one tile."""
    cfg = video_vae.config
    layout = decode_layout(tuple(latent.shape[2:]), tiling, time_scale=cfg.time_scale, space_scale=cfg.space_scale)
    return len(layout) > 1


def decode_video(
    video_vae: VideoVAE | LTX25VideoVAE,
    latent: torch.Tensor,
    *,
    mode: TilingMode = TilingMode.AUTO,
    tiling: TilingConfig | None = None,
    callbacks: Callbacks | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Normalised latent ``(1, 128, F', h, w)`` → ``uint8 (1 + 8(F'-1), 32h, 32w, 3)``.

    ``mode`` AUTO tiles (``tiling``, default :meth:`TilingConfig.default`: 512 px / 64 frames) only when the clip
    does not fit one tile; the interrupt is checked after each tile. The LTX-2.5 diffusion decoder draws its noise
    from ``generator`` (the reference passes the generation's generator, after the latent noise was drawn) and
    tiles with :class:`~ltx_model.video_vae.diffusion_tiling.DiffusionTiling` (AUTO / ALWAYS: one tile when the
    clip fits it).
    """
    return to_uint8_frames(decode_any_pixels(video_vae, latent, mode=mode, tiling=tiling, callbacks=callbacks,
                                             generator=generator))


def decode_any_pixels(video_vae: VideoVAE | LTX25VideoVAE, latent: torch.Tensor, *, mode: TilingMode = TilingMode.AUTO,
                      tiling: TilingConfig | None = None, callbacks: Callbacks | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """:func:`decode_video` without the uint8 rounding: pixels ``(1, 3, 1 + 8(F'-1), 32h, 32w)`` in about [-1, 1]
    from either VAE (the LTX-2.5 diffusion decoder with ``generator``'s noise, as :func:`decode_video` says)."""
    callbacks = callbacks or Callbacks()
    if isinstance(video_vae, LTX25VideoVAE):
        with torch.no_grad():
            pixels = video_vae.decode(latent, generator=generator,
                                      tiling=None if mode is TilingMode.NEVER else DiffusionTiling())
        callbacks.check()
        return pixels
    return decode_pixels(video_vae, latent, mode=mode, tiling=tiling, callbacks=callbacks)


def decode_pixels(video_vae: VideoVAE, latent: torch.Tensor, *, mode: TilingMode = TilingMode.AUTO,
                  tiling: TilingConfig | None = None, callbacks: Callbacks | None = None) -> torch.Tensor:
    """LTX-2 / 2.3 VAE decode of a latent ``(1, 128, F', h, w)`` (already on the VAE's device and dtype) →
    pixels ``(1, 3, 1 + 8(F'-1), 32h, 32w)`` in about [-1, 1], unrounded; tiled as :func:`decode_video` tiles."""
    callbacks = callbacks or Callbacks()
    tiling = tiling or TilingConfig.default()
    tiled = mode is TilingMode.ALWAYS or (mode is TilingMode.AUTO and needs_tiling(video_vae, latent, tiling))
    with torch.no_grad():
        if tiled:
            return video_vae.decode_tiled(latent, tiling, progress=lambda done, total: callbacks.check())
        return video_vae.decode(latent)


def decode_audio(audio_vae: AudioVAE, vocoder: Vocoder, latent: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Audio latent ``(1, 8, T, 16)`` → (float32 ``(2, S)`` waveform, sample rate): audio VAE decoder → vocoder."""
    with torch.no_grad():
        mel = audio_vae.decode(latent)  # (1, 2, 4T - 3, 64)
        waveform = vocoder(mel)  # (1, 2, S)
    return waveform[0].float(), int(vocoder.sample_rate)
