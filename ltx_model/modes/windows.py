"""Time windows of the editing modes (retake, extend) and the sliding windows of long videos.

* A time window ``[start, end)`` s selects the latent frames whose time span meets it
  (``conditioning.tokens_in_window``: video spans from the causal-fixed pixel bounds / fps, audio from the audio
  latent timing); :func:`video_window_mask` / :func:`audio_window_mask` give it as a latent-shaped mask.
* A long video is windows of one model length sharing ``overlap`` latent frames (:class:`WindowPlan`); window
  ``i > 0`` starts from the stitched clip's last ``overlap`` video latent frames and the audio of the same time
  span, and the windows are cross-faded over the overlap (:func:`blend_overlap`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..audio import AudioVAEConfig
from ..conditioning import tokens_in_window
from ..sampling import AudioGrid, VideoGrid
from .geometry import SCALE, frames_problem, latent_frames, pixel_frames

LATENTS_PER_SECOND = AudioVAEConfig().latents_per_second  # the released audio VAE timing (LTX-2 and LTX-2.3)


def window_problem(start_s: float, end_s: float, duration_s: float | None = None) -> str | None:
    """A message unless ``0 <= start < end <= duration`` (1 µs slack at the end), else None."""
    if not start_s < end_s:
        return f"the time window needs start_time < end_time; got [start_time, end_time) = [{start_s}, {end_s}) s"
    if start_s < 0 or (duration_s is not None and end_s > duration_s + 1e-6):
        clip = "" if duration_s is None else f" [0, {duration_s:.3f}) s"
        return f"the time window [start_time, end_time) = [{start_s}, {end_s}) s is outside the clip{clip}"
    return None


def video_window_mask(shape: torch.Size, fps: float, start_s: float, end_s: float) -> torch.Tensor:
    """``(B, 1, F, H, W)`` float mask of a video latent of ``shape``: 1 on latent frames meeting the window."""
    b, _, f, h, w = shape
    inside = tokens_in_window(VideoGrid(frames=f, height=1, width=1, fps=fps), start_s, end_s).float()  # (F,)
    return inside.view(1, 1, f, 1, 1).expand(b, 1, f, h, w).clone()


def audio_window_mask(shape: torch.Size, start_s: float, end_s: float) -> torch.Tensor:
    """``(B, 1, T, M)`` float mask of an audio latent of ``shape``: 1 on latent frames meeting the window."""
    b, _, t, m = shape
    inside = tokens_in_window(AudioGrid(frames=t), start_s, end_s).float()  # (T,)
    return inside.view(1, 1, t, 1).expand(b, 1, t, m).clone()


# ---------------------------------------------------------------------------------------------- long video
@dataclass(frozen=True)
class WindowPlan:
    """Sliding windows over a clip: window ``i`` covers latent frames ``starts[i] .. starts[i] + lengths[i]``;
    consecutive windows share ``overlap`` latent frames."""

    starts: tuple[int, ...]
    lengths: tuple[int, ...]
    overlap: int

    @property
    def total_latent_frames(self) -> int:
        """Latent frames of the stitched clip."""
        return self.starts[-1] + self.lengths[-1]

    @property
    def frames(self) -> int:
        """Pixel frames of the stitched clip."""
        return pixel_frames(self.total_latent_frames)

    def audio_start(self, index: int, fps: float, per_second: float = LATENTS_PER_SECOND) -> int:
        """Audio latent frame where window ``index`` starts in the stitched clip (its first video latent frame
        ends at pixel frame 8 x its latent start)."""
        return round(SCALE.time * self.starts[index] / fps * per_second) if index else 0

    def audio_span(self, index: int, fps: float, per_second: float = LATENTS_PER_SECOND) -> tuple[int, int]:
        """Audio latent frames ``[start, end)`` of window ``index`` in the stitched clip (it ends where its last
        video frame ends)."""
        end_frame = pixel_frames(self.starts[index] + self.lengths[index])
        return self.audio_start(index, fps, per_second), round(end_frame / fps * per_second)


def plan_windows(total_frames: int, window_frames: int, overlap_frames: int) -> WindowPlan:
    """Windows of ``window_frames`` pixel frames sharing ``overlap_frames`` (a multiple of 8) that cover
    ``total_frames``; the last window is shortened to end exactly at the clip's end."""
    total, window, overlap = latent_frames(total_frames), latent_frames(window_frames), overlap_frames // SCALE.time
    if total <= window:
        return WindowPlan((0,), (total,), overlap)
    stride = window - overlap
    starts = [0]
    while starts[-1] + window < total:
        starts.append(starts[-1] + stride)
    lengths = [window] * (len(starts) - 1) + [total - starts[-1]]
    return WindowPlan(tuple(starts), tuple(lengths), overlap)


def fixed_windows(windows: int, window_frames: int, overlap_latent: int) -> WindowPlan:
    """``windows`` whole windows of ``window_frames`` pixel frames sharing ``overlap_latent`` latent frames."""
    window = latent_frames(window_frames)
    stride = window - overlap_latent
    return WindowPlan(tuple(i * stride for i in range(windows)), (window,) * windows, overlap_latent)


def long_video_problem(frames: int, window_frames: int, overlap_frames: int) -> str | None:
    """A message for an impossible window layout given in pixel frames, else None."""
    problem = frames_problem(frames) or frames_problem(window_frames, "window_frames")
    if problem:
        return problem
    if overlap_frames % SCALE.time or not 0 < overlap_frames < window_frames - 1:
        return (f"overlap_frames must be a multiple of 8 from 8 to {window_frames - 9} (shorter than the window); "
                f"got {overlap_frames}")
    return None


def fixed_windows_problem(windows: int, window_frames: int, overlap_latent: int) -> str | None:
    """A message for an impossible layout of ``windows`` windows sharing ``overlap_latent`` latent frames."""
    window = latent_frames(window_frames)
    if windows < 1:
        return f"windows must be >= 1, got {windows}"
    if not 1 <= overlap_latent < window:
        return f"overlap_latent_frames must be in 1..{window - 1}, got {overlap_latent}"
    return None


def window_count_note(prompts: int, windows: int) -> str | None:
    """A note when the number of window prompts differs from the number of windows."""
    if not prompts or prompts == windows:
        return None
    if prompts < windows:
        return f"{prompts} window prompts for {windows} windows: the last prompt is used for the rest"
    return f"{prompts} window prompts for {windows} windows: the extra prompts are ignored"


def blend_overlap(previous: torch.Tensor, new: torch.Tensor, overlap: int, *, dim: int) -> tuple[torch.Tensor, float]:
    """Stitch ``new`` after ``previous`` sharing ``overlap`` frames along ``dim``: weights ramp linearly from the
    previous window (first shared frame) to the new one (last shared frame); one shared frame is an even mix.

    Returns (stitched, seam difference = the largest |previous - new| over the shared frames)."""
    new = new.to(previous)
    tail, head = previous.narrow(dim, previous.shape[dim] - overlap, overlap), new.narrow(dim, 0, overlap)
    shape = [1] * previous.dim()
    shape[dim] = overlap
    weight = torch.linspace(0.0, 1.0, overlap, dtype=torch.float32, device=previous.device).view(shape)
    if overlap == 1:
        weight = torch.full(shape, 0.5, device=previous.device)
    mixed = (tail.float() * (1 - weight) + head.float() * weight).to(previous.dtype)
    seam = float((tail.float() - head.float()).abs().max()) if overlap else 0.0
    body = previous.narrow(dim, 0, previous.shape[dim] - overlap)
    return torch.cat([body, mixed, new.narrow(dim, overlap, new.shape[dim] - overlap)], dim=dim), seam


def seam_report(video_seams: list[float], audio_seams: list[float], windows: int) -> str:
    """One line describing the windows and their seam differences (latent units)."""
    video = ", ".join(f"{s:.4g}" for s in video_seams)
    audio = ", ".join(f"{s:.4g}" for s in audio_seams)
    return (f"{windows} window(s); seam differences (max |latent difference| over each overlap, before "
            f"blending): video [{video}], audio [{audio}]")
