"""Long video beyond the model's window: sliding temporal windows with overlap, latent blending and carried audio.

Window ``i > 0`` starts from the last ``overlap`` latent frames of window ``i - 1`` (video) and the audio latents of
the same time span: they replace the first tokens of the new window with denoise mask ``1 - overlap_strength``
(1 = kept exactly, so the windows agree on the overlap). Each window may have its own prompt (contexts) and uses
seed ``seed + i``. The windows are stitched in latent space — linear cross-fade over the overlap — and decoded once
(tiled when large), so there is no per-window decode seam. Reported seam difference: the largest absolute latent
difference between the two windows over their shared frames (0.0 with ``overlap_strength = 1``); the stitched
latent is a convex blend of the two, so it never leaves the range they span.
Note: window ``i``'s first latent slot holds a carried 8-frame latent while the model treats slot 0 as one causal
frame (positions ``[0, 1)`` frames); the final decode uses it in its original 8-frame place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from ..conditioning import ImageAtLatentIndex
from ..modes import (
    GenerationError,
    WindowPlan,
    blend_overlap,
    fixed_windows,
    fixed_windows_problem,
    latent_frames,
)
from ..sampling import AudioGrid, LatentState, patchify_audio, unpatchify_state_latent
from .decode import decode_audio, decode_video
from .generate import Stage, run_stage
from .models import PipelineModels
from .request import Callbacks, GenerationRequest, TextContexts


@dataclass(frozen=True)
class AudioPrefix:
    """Replace the first audio tokens by ``latent`` ``(1, 8, n, 16)`` with denoise mask ``1 - strength``."""

    latent: torch.Tensor
    strength: float = 1.0

    def apply_to(self, state: LatentState) -> LatentState:
        """Return the state with its first ``n`` tokens (latent and clean latent) replaced."""
        if not isinstance(state.grid, AudioGrid) or self.latent.shape[2] > state.grid.frames:
            raise GenerationError("the carried audio does not fit the window's audio latent")
        tokens = patchify_audio(self.latent).to(state.latent.dtype)
        new = state.clone()
        n = tokens.shape[1]
        new.latent[:, :n] = tokens
        new.clean_latent[:, :n] = tokens
        new.denoise_mask[:, :n] = 1.0 - self.strength
        return new


@dataclass(frozen=True)
class LongVideoRequest:
    """A clip made of ``windows`` overlapping generations.

    Attributes:
        window: one window's request (size, ``num_frames`` = window length ``1 + 8k``, fps, seed, sigmas...).
        windows: number of windows (>= 1).
        overlap_latent_frames: latent frames shared by consecutive windows (1 .. window latent frames - 1; one latent
            frame = 8 pixel frames).
        overlap_strength: how strictly a window keeps the carried overlap (1 = exactly; lower lets it be revised).
    """

    window: GenerationRequest
    windows: int = 2
    overlap_latent_frames: int = 1
    overlap_strength: float = 1.0

    @property
    def window_latent_frames(self) -> int:
        """Latent frames per window."""
        return latent_frames(self.window.num_frames)

    @property
    def plan(self) -> WindowPlan:
        """Where each window starts in the stitched clip (``modes.fixed_windows``)."""
        return fixed_windows(self.windows, self.window.num_frames, self.overlap_latent_frames)

    @property
    def num_frames(self) -> int:
        """Pixel frames of the stitched clip."""
        return self.plan.frames


@dataclass(frozen=True)
class LongVideoResult:
    """Stitched clip: ``uint8 (F, H, W, 3)`` frames, float32 ``(2, S)`` waveform, latents and per-seam differences
    (``video_seams`` / ``audio_seams``: max |window_i - window_{i-1}| over each overlap, latent units)."""

    frames: torch.Tensor
    waveform: torch.Tensor
    sample_rate: int
    fps: float
    video_latent: torch.Tensor
    audio_latent: torch.Tensor
    video_seams: tuple[float, ...]
    audio_seams: tuple[float, ...]


def _check(request: LongVideoRequest, contexts: Sequence[TextContexts]) -> None:
    problem = fixed_windows_problem(request.windows, request.window.num_frames, request.overlap_latent_frames)
    if problem:
        raise GenerationError(problem)
    if len(contexts) not in (1, request.windows):
        raise GenerationError(f"give 1 or {request.windows} text contexts (one per window), got {len(contexts)}")


def generate_long_video(
    models: PipelineModels,
    request: LongVideoRequest,
    contexts: Sequence[TextContexts],
    *,
    callbacks: Callbacks | None = None,
) -> LongVideoResult:
    """Generate ``request.windows`` overlapping windows (per-window contexts), stitch and decode.

    Returns:
        :class:`LongVideoResult` of ``request.num_frames`` frames with the audio of the whole duration.
    """
    _check(request, contexts)
    callbacks = callbacks or Callbacks()
    per_second = models.audio_vae.config.latents_per_second
    plan = request.plan
    video_seams, audio_seams = [], []
    video_all = audio_all = None
    for index in range(request.windows):
        stage = Stage(replace(request.window, seed=request.window.seed + index))
        audio_start = plan.audio_start(index, request.window.fps, per_second)
        if index:
            stage = _carry(stage, request, video_all, audio_all, audio_start)
        context = contexts[index if len(contexts) > 1 else 0]
        generator = torch.Generator(device=models.device).manual_seed(stage.request.seed)
        video, audio = run_stage(models, stage, context, generator, callbacks=callbacks)
        v, a = unpatchify_state_latent(video), unpatchify_state_latent(audio)
        if index == 0:
            video_all, audio_all = v, a
            continue
        video_all, v_seam = blend_overlap(video_all, v, request.overlap_latent_frames, dim=2)
        shared = audio_all.shape[2] - audio_start
        audio_all, a_seam = blend_overlap(audio_all, a, shared, dim=2)
        video_seams.append(v_seam)
        audio_seams.append(a_seam)
    callbacks.check()
    frames = decode_video(models.video_vae, video_all, mode=request.window.tiling, callbacks=callbacks)
    waveform, rate = decode_audio(models.audio_vae, models.vocoder, audio_all)
    return LongVideoResult(frames, waveform, rate, request.window.fps, video_all, audio_all, tuple(video_seams),
                           tuple(audio_seams))


def _carry(stage: Stage, request: LongVideoRequest, video: torch.Tensor, audio: torch.Tensor, start: int) -> Stage:
    """Window conditioning: the stitched clip's last overlap latent frames and the audio from ``start`` on."""
    overlap = request.overlap_latent_frames
    strength = request.overlap_strength
    video_item = ImageAtLatentIndex(video[:, :, -overlap:], strength=strength, latent_index=0)
    if audio.shape[2] - start <= 0:
        raise GenerationError("the windows do not overlap in audio; increase overlap_latent_frames")
    audio_item = AudioPrefix(audio[:, :, start:], strength=strength)
    return dataclasses.replace(stage, video_items=(video_item,), audio_items=(audio_item,))
