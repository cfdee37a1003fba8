"""What to generate and what comes back: request, image conditions, text contexts, callbacks, result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np
import torch

from ..modes import ClipGeometry, GenerationError, default_image_crf, resolve_frame_index
from ..sampling import DISTILLED_SIGMAS, GuiderParams, SigmaBinnedGuiderParams

Guidance = GuiderParams | SigmaBinnedGuiderParams

class GenerationInterrupted(RuntimeError):  # noqa: N818 - reads better at the call site
    """The interrupt callable asked to stop; nothing is returned."""


class Sampler(Enum):
    """The step of the denoising loop: deterministic Euler, or Lightricks' ancestral (SDE) Euler
    (``EulerAncestralDiffusionStep``, eta 1, s_noise 1) that re-injects noise after every step but the last."""

    EULER = "euler"
    EULER_ANCESTRAL = "euler_ancestral"
    RES_2S = "res_2s"  # Lightricks' second-order res_2s (HQ pipeline; ltx_model.sampling.res2s_step)


class TilingMode(Enum):
    """How the video VAE decodes: tiled only when the default tiles do not cover the clip at once (AUTO)."""

    AUTO = "auto"
    NEVER = "never"
    ALWAYS = "always"


@dataclass(frozen=True)
class ImageCondition:
    """An image that pins a frame (I2V: frame 0 replaces the first latent frame; others become keyframe tokens).

    Attributes:
        image: ``uint8 (H, W, 3)`` RGB picture (any size; resized to cover the video and center-cropped).
        frame_index: pixel frame index in the output (0 = first frame; negative: from the end, -1 = last).
        strength: 1 keeps the frame exactly; the denoise mask there is ``1 - strength``.
        crf: H.264 CRF of the reference's single-frame round trip (0 = none); None = the model version's default
            (:func:`ltx_model.modes.default_image_crf`: 18 from LTX-2.4 on, else 33), resolved by the pipelines;
            a value you set always wins.
    """

    image: torch.Tensor | np.ndarray
    frame_index: int = 0
    strength: float = 1.0
    crf: int | None = None


@dataclass(frozen=True)
class GenerationRequest:
    """One text/image-to-video+audio generation.

    Attributes:
        height, width: output pixels (multiples of 32).
        num_frames: output frames, ``1 + 8k``.
        fps: frame rate (> 0); audio lasts ``num_frames / fps`` seconds.
        seed: seeds the one generator that draws the video noise, then the audio noise.
        sigmas: the schedule (first = start noise level, last = 0). Default: the distilled 8-step table.
        video_guidance, audio_guidance: None = one plain pass per step (distilled); otherwise multimodal guidance
            (CFG / STG / modality / rescale) with these params, as the reference's dev pipelines.
        images: image conditions.
        tiling: video decode tiling.
        sampler: the loop's step (:class:`Sampler`); the ancestral noise comes from its own generator seeded with
            ``seed + ANCESTRAL_NOISE_SEED_OFFSET`` (Lightricks' distilled pipeline).
    """

    height: int = 512
    width: int = 768
    num_frames: int = 121
    fps: float = 24.0
    seed: int = 10
    sigmas: tuple[float, ...] = DISTILLED_SIGMAS
    video_guidance: Guidance | None = None
    audio_guidance: Guidance | None = None
    images: tuple[ImageCondition, ...] = ()
    tiling: TilingMode = TilingMode.AUTO
    sampler: Sampler = Sampler.EULER

    @property
    def guided(self) -> bool:
        """Whether the guided denoiser is used."""
        return self.video_guidance is not None or self.audio_guidance is not None

    @property
    def duration_s(self) -> float:
        """Clip length in seconds."""
        return self.num_frames / self.fps

    @property
    def geometry(self) -> ClipGeometry:
        """The clip's sizes (``ltx_model.modes``' frame / size rules)."""
        return ClipGeometry(self.width, self.height, self.num_frames, self.fps)


def validate_request(request: GenerationRequest) -> None:
    """Raise :class:`GenerationError` for sizes, frame counts, fps or sigmas the model cannot generate."""
    problem = request.geometry.problem()
    if problem:
        raise GenerationError(problem)
    sigmas = request.sigmas
    if len(sigmas) < 2 or any(b > a for a, b in zip(sigmas[:-1], sigmas[1:], strict=True)) or sigmas[-2] <= 0:
        raise GenerationError(f"sigmas must be non-increasing, at least 2 values, only the last may be 0: {sigmas}")
    for image in request.images:
        resolve_frame_index(image.frame_index, request.num_frames, "image frame_index")


def with_version_crf(images: tuple[ImageCondition, ...], model_version: str | None) -> tuple[ImageCondition, ...]:
    """``images`` with every unset CRF (None) set to the model version's default (``default_image_crf``)."""
    crf = default_image_crf(model_version)
    return tuple(image if image.crf is not None else replace(image, crf=crf) for image in images)


@dataclass(frozen=True)
class TextContexts:
    """Transformer text contexts (outputs of the text projection + connectors), batch 1.

    Attributes:
        video, audio: positive contexts ``(1, S, D_v)`` / ``(1, S, D_a)`` (19B: D = Gemma width, projected inside
            the transformer; 2.3: the stream widths).
        negative_video, negative_audio: negative-prompt contexts; required when a CFG scale is not 1.
    """

    video: torch.Tensor
    audio: torch.Tensor
    negative_video: torch.Tensor | None = None
    negative_audio: torch.Tensor | None = None


ProgressFn = Callable[[int, int], None]
InterruptFn = Callable[[], bool]


def _no_progress(done: int, total: int) -> None:
    return None


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Callbacks:
    """Host hooks. ``progress(done, total)`` after every denoising step; ``interrupted()`` is checked before every
    step and every decode tile and raises :class:`GenerationInterrupted` when it returns True."""

    progress: ProgressFn = _no_progress
    interrupted: InterruptFn = _never

    def check(self) -> None:
        """Raise :class:`GenerationInterrupted` when the host asked to stop."""
        if self.interrupted():
            raise GenerationInterrupted("generation interrupted")


@dataclass(frozen=True)
class GenerationResult:
    """Decoded outputs plus the final latents.

    Attributes:
        frames: ``uint8 (F, H, W, 3)`` RGB video.
        waveform: float32 ``(2, S)`` stereo audio in [-1, 1].
        sample_rate: audio sample rate (Hz).
        fps: video frame rate.
        video_latent: ``(1, 128, F', H/32, W/32)`` final (normalised) video latent.
        audio_latent: ``(1, 8, T, 16)`` final audio latent.
        notes: remarks about adapted inputs (audio padded, reference resized...); empty when nothing was changed.
    """

    frames: torch.Tensor
    waveform: torch.Tensor
    sample_rate: int
    fps: float
    video_latent: torch.Tensor
    audio_latent: torch.Tensor
    notes: tuple[str, ...] = ()
