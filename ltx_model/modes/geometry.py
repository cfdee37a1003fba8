"""Frame and size rules of every generation mode, defined once.

The video VAE compresses time 8x (causally: the first pixel frame is its own latent frame) and space 32x, so a
clip has ``1 + 8k`` frames and sides that are multiples of 32 (64 when a first stage runs at half size). The audio
stream runs at ``AudioVAEConfig.latents_per_second`` latent frames per second of the clip
(``ltx_model.audio.geometry``). Each rule here is a plain function returning a user-facing message (``*_problem``,
None when fine) or a number; ``ltx_model.pipelines`` raise :class:`GenerationError` with the message and the
ComfyUI nodes return it from ``validate_inputs`` / raise it as ``ValueError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..audio import AudioVAEConfig
from ..audio.geometry import audio_latent_frames_for_video, audio_latent_shape
from ..sampling import VideoScaleFactors

SCALE = VideoScaleFactors()  # pixel frames / pixels per latent cell (time 8, height 32, width 32)
VIDEO_LATENT_CHANNELS = 128
FRAME_EXAMPLES = "1, 9, 17, ..., 97, 121"


class GenerationError(ValueError):
    """A request that cannot be generated (bad size, frame count, fps, missing negative prompt...)."""


def latent_frames(pixel_frames: int, scale: int = SCALE.time) -> int:
    """Latent frames of ``1 + 8k`` pixel frames (``1 + k``; ``ceil(F / 8)`` for any ``F >= 0``; ``scale`` = the
    VAE's time compression, 8 for the released VAEs)."""
    return 1 + (pixel_frames - 1) // scale


def pixel_frames(latent_count: int, scale: int = SCALE.time) -> int:
    """Pixel frames decoded from ``latent_count`` latent frames (``1 + 8 (n - 1)``)."""
    return 1 + scale * (latent_count - 1)


def is_frame_count(frames: int, scale: int = SCALE.time) -> bool:
    """Whether ``frames`` is ``1 + 8k`` (k >= 0; ``scale`` = the VAE's time compression, 8 for the released VAEs)."""
    return frames >= 1 and (frames - 1) % scale == 0


def floor_frame_count(count: int, scale: int = SCALE.time) -> int:
    """Largest ``1 + 8k`` not above ``count`` (``count >= 1``)."""
    return 1 + scale * ((count - 1) // scale)


def nearest_frame_count(frames: int, scale: int = SCALE.time) -> int:
    """The ``1 + 8k`` nearest ``frames``; ties round up, as the front-end snapping does (101 -> 105)."""
    return 1 + scale * max(0, math.floor((frames - 1) / scale + 0.5))


def frames_problem(frames: int, what: str = "frames", scale: int = SCALE.time) -> str | None:
    """A message when ``frames`` is not ``1 + 8k`` (naming the nearest valid count), else None."""
    if is_frame_count(frames, scale):
        return None
    examples = FRAME_EXAMPLES if scale == SCALE.time else f"1, {1 + scale}, {1 + 2 * scale}, ..."
    return f"{what} must be 1 + {scale}k frames ({examples}); got {frames}, nearest valid: " \
           f"{nearest_frame_count(frames, scale)}"


def size_multiple(two_stage: bool = False) -> int:
    """The multiple a side must be of: 32, or 64 when a first stage runs at half width and height."""
    return SCALE.width * (2 if two_stage else 1)


def size_problem(width: int, height: int, *, two_stage: bool = False, source_size: bool = False,
                 what: str = "width and height", multiple: int = 0) -> str | None:
    """A message when a side is not a positive multiple of 32 (64 for ``two_stage``; ``multiple`` when given, e.g.
    a VAE's own space scale), else None. ``source_size``: 0 is allowed and means "the source's size"."""
    multiple = multiple or size_multiple(two_stage)
    sides = [v for v in (width, height) if not (source_size and v == 0)]
    if any(v < multiple for v in sides):
        return f"{what} must be at least {multiple} (got {width}x{height})"
    if any(v % multiple for v in sides):
        stages = " for a two-stage generation" if two_stage else ""
        zero = " (or 0 = the source's size)" if source_size else ""
        return f"{what} must be multiples of {multiple}{stages}{zero}; got {width}x{height}"
    return None


def fps_problem(fps: float) -> str | None:
    """A message unless ``fps > 0``."""
    return None if fps > 0 else f"fps must be > 0 (got {fps})"


@dataclass(frozen=True)
class ClipGeometry:
    """Sizes of one audio+video clip: ``width`` x ``height`` pixels, ``frames`` video frames at ``fps`` frames/s;
    ``two_stage``: the final size of a generation whose first stage runs at half width and height."""

    width: int
    height: int
    frames: int
    fps: float
    two_stage: bool = False

    def problem(self) -> str | None:
        """A user-facing explanation when the sizes cannot be encoded exactly, else None."""
        return (size_problem(self.width, self.height, two_stage=self.two_stage) or frames_problem(self.frames)
                or fps_problem(self.fps))

    def first_stage(self) -> ClipGeometry:
        """The geometry the first stage samples at (half width and height for two stages)."""
        if not self.two_stage:
            return self
        return ClipGeometry(self.width // 2, self.height // 2, self.frames, self.fps)

    @property
    def duration_s(self) -> float:
        """Clip length in seconds (``frames / fps``)."""
        return self.frames / self.fps

    def video_shape(self, batch: int) -> tuple[int, int, int, int, int]:
        """Video latent shape ``(B, 128, 1 + (F - 1) / 8, H / 32, W / 32)``."""
        return (batch, VIDEO_LATENT_CHANNELS, latent_frames(self.frames), self.height // SCALE.height,
                self.width // SCALE.width)

    def audio_frames(self, config: AudioVAEConfig | None = None) -> int:
        """Audio latent frames of the clip: ``round(frames / fps * 25)`` as Lightricks' pipelines size it."""
        return audio_latent_frames_for_video(self.frames, self.fps, config or AudioVAEConfig())

    def audio_shape(self, batch: int, config: AudioVAEConfig | None = None) -> tuple[int, int, int, int]:
        """Audio latent shape ``(B, 8, T, 16)`` (the released audio VAE geometry unless ``config`` is given)."""
        config = config or AudioVAEConfig()
        return audio_latent_shape(batch, self.audio_frames(config), config)
