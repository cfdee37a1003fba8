"""Per-stream stage setup (HEAD ltx-pipelines ``ModalitySpec``): how the video and the audio latent of a stage start.

Every generation mode is one or more stages of: start latent (zeros, an encoded clip, an upsampled latent) →
conditioning items → optional freeze → noise (video first, then audio, from ONE generator) → Euler loop. A stream
given as ``None`` is left out entirely (text-to-audio has no video tokens at all).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch

from ..conditioning import ConditioningItem
from ..sampling import AudioGrid, LatentState, VideoGrid, initial_state, noise_state
from .denoise import DenoiseFn, euler_loop
from .request import Callbacks


@dataclass(frozen=True)
class StreamSpec:
    """How one stream starts in a stage.

    Attributes:
        conditionings: items applied to the patchified state, in order (keyframes, references, region masks...).
        initial_latent: unpatchified start latent (video ``(1, 128, F, h, w)``, audio ``(1, 8, T, 16)``); None = zeros.
        noise_scale: ``s`` in ``x = noise · m·s + x · (1 - m·s)`` (1 = pure noise where the mask is 1).
        frozen: hold the whole stream fixed: denoise mask 0 everywhere and, following HEAD ltx-pipelines
            (``ModalitySpec.frozen``), the transformer sees sigma 0 for it (A2V audio, V2A video, retake of one
            stream only). ltx-pipelines 1.0.0 kept the global sigma; we follow HEAD.
    """

    conditionings: tuple[ConditioningItem, ...] = ()
    initial_latent: torch.Tensor | None = None
    noise_scale: float | torch.Tensor = 1.0
    frozen: bool = False


def freeze(state: LatentState) -> LatentState:
    """The state with every target token kept clean (mask 0) and marked ``frozen`` (sigma 0 for the transformer)."""
    return replace(state, denoise_mask=torch.zeros_like(state.denoise_mask), frozen=True)


def stream_state(
    grid: VideoGrid | AudioGrid,
    spec: StreamSpec,
    generator: torch.Generator,
    *,
    dtype: torch.dtype,
    device: torch.device,
) -> LatentState:
    """Start latent → conditionings → freeze → noise (always drawn, so the shared generator advances as the
    reference's). Returns the patchified, noised state."""
    latent = None if spec.initial_latent is None else spec.initial_latent.to(device=device, dtype=dtype)
    state = initial_state(grid, latent=latent, dtype=dtype, device=device)
    for item in spec.conditionings:
        state = item.apply_to(state)
    if spec.frozen:
        state = freeze(state)
    return noise_state(state, generator, spec.noise_scale)


@dataclass(frozen=True)
class StreamGrids:
    """The target grids of a stage (None = that stream is left out)."""

    video: VideoGrid | None
    audio: AudioGrid | None


def denoise_streams(
    grids: StreamGrids,
    specs: tuple[StreamSpec | None, StreamSpec | None],
    sigmas: Sequence[float],
    denoise: DenoiseFn,
    generator: torch.Generator,
    *,
    dtype: torch.dtype,
    device: torch.device,
    callbacks: Callbacks | None = None,
    loop: Callable[..., tuple[LatentState | None, LatentState | None]] = euler_loop,
) -> tuple[LatentState | None, LatentState | None]:
    """Build both streams (video noise drawn first) and run the Euler loop (or ``loop``, e.g. the ancestral one of
    :mod:`~ltx_model.pipelines.samplers`) over ``sigmas``.

    Args:
        grids: target geometry per stream.
        specs: ``(video_spec, audio_spec)``; a None spec (or grid) leaves that stream out.
        sigmas: schedule, first = start noise level, last = 0.
        denoise: x0 predictor (:func:`~ltx_model.pipelines.simple_denoiser` or a guided one).
    Returns:
        Final patchified ``(video_state | None, audio_state | None)`` (appended tokens still present).
    """
    kw = {"dtype": dtype, "device": device}
    video_spec, audio_spec = specs
    video = None
    if grids.video is not None and video_spec is not None:
        video = stream_state(grids.video, video_spec, generator, **kw)
    audio = None
    if grids.audio is not None and audio_spec is not None:
        audio = stream_state(grids.audio, audio_spec, generator, **kw)
    sigma_tensor = torch.tensor(tuple(float(s) for s in sigmas), dtype=torch.float32, device=device)
    return loop(sigma_tensor, video, audio, denoise, callbacks=callbacks)
