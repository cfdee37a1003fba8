"""Motion tracks: draw point tracks into a control video for the motion-track IC-LoRA.

``tracks`` is JSON: a list of tracks, each a list of ``[x, y]`` points as fractions of the width and height
(0..1, so tracks survive a change of size; ``[0.5, 0.5]`` is the centre). A track with exactly
``frames`` points gives one point per frame; otherwise its points are spread evenly over the clip and linearly
interpolated (one point = a stationary track). Each track is drawn as a filled disc in its own colour (a fixed
palette) on black, with a fading trail of its last ``trail`` positions (older = darker), the sparse-track look of
Lightricks' motion-track examples. The widget stays the source of truth; the front-end editor
(``js/motion_tracks.js``) only edits it.

Node id ``LTX2NMotionTracks`` (tracks, width, height, frames, radius, trail, image?) -> tracks_video.
"""

from __future__ import annotations

import json
from typing import Any

import comfy.model_management
import torch
from comfy_api.latest import io

from ..ltx_model.modes import frames_problem
from .schema import make_schema, number_problem

PALETTE = ((1.0, 0.2, 0.2), (0.2, 1.0, 0.2), (0.25, 0.45, 1.0), (1.0, 1.0, 0.2), (1.0, 0.2, 1.0), (0.2, 1.0, 1.0),
           (1.0, 0.6, 0.1), (0.7, 0.4, 1.0), (1.0, 1.0, 1.0), (0.5, 1.0, 0.6))
"""RGB colour of track ``i`` is ``PALETTE[i % len(PALETTE)]``."""
EXAMPLE_TRACKS = "[[[0.25, 0.5], [0.75, 0.5]], [[0.5, 0.3]]]"
"""Default: one track moving left to right across the frame, one stationary point."""


def parse_tracks(text: str) -> list[torch.Tensor]:
    """JSON -> tracks ``(K, 2)`` float tensors (x, y as fractions of width and height); a clear error otherwise."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"tracks is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(data, list):
        raise ValueError("tracks must be a JSON list of tracks, each a list of [x, y] points")
    tracks = []
    for index, track in enumerate(data):
        ok = isinstance(track, list) and track and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p) for p in track)
        if not ok:
            raise ValueError(f"track {index} must be a non-empty list of [x, y] number pairs")
        tracks.append(torch.tensor(track, dtype=torch.float32))
    return tracks


def per_frame(track: torch.Tensor, frames: int) -> torch.Tensor:
    """``(K, 2)`` points -> ``(frames, 2)``: as given when ``K == frames``, else evenly spread and interpolated."""
    if track.shape[0] == frames:
        return track
    if track.shape[0] == 1:
        return track.expand(frames, 2)
    where = torch.linspace(0, track.shape[0] - 1, frames)
    low = where.floor().long().clamp(max=track.shape[0] - 2)
    frac = (where - low)[:, None]
    return track[low] * (1 - frac) + track[low + 1] * frac


def draw_disc(frame: torch.Tensor, x: float, y: float, radius: float, colour: torch.Tensor) -> None:
    """Paint pixels whose centres lie within ``radius`` of ``(x, y)`` on ``frame`` ``(H, W, 3)`` (in place)."""
    h, w = frame.shape[:2]
    top, bottom = max(0, int(y - radius)), min(h, int(y + radius) + 1)
    left, right = max(0, int(x - radius)), min(w, int(x + radius) + 1)
    if top >= bottom or left >= right:
        return
    yy = torch.arange(top, bottom)[:, None] + 0.5
    xx = torch.arange(left, right)[None, :] + 0.5
    window = frame[top:bottom, left:right]
    window[(xx - x) ** 2 + (yy - y) ** 2 <= radius**2] = colour


def draw_tracks(tracks: list[torch.Tensor], *, width: int, height: int, frames: int, radius: float,
                trail: int) -> torch.Tensor:
    """IMAGE ``(frames, height, width, 3)`` in [0, 1]: every track's disc per frame plus its fading trail."""
    video = torch.zeros(frames, height, width, 3)
    size = torch.tensor([width, height], dtype=torch.float32)
    paths = [(per_frame(t, frames) * size).tolist() for t in tracks]
    for f in range(frames):
        comfy.model_management.throw_exception_if_processing_interrupted()
        for index, path in enumerate(paths):
            colour = torch.tensor(PALETTE[index % len(PALETTE)])
            for age in range(min(trail, f), -1, -1):  # oldest first, the current position last (on top)
                x, y = path[f - age]
                draw_disc(video[f], x, y, radius, colour * (1.0 - age / (trail + 1)))
    return video


class LTX2NMotionTracks(io.ComfyNode):
    """Render point tracks (edited on the node, or typed as JSON) into a motion-track control video."""

    DISPLAY_NAME = "Motion Tracks (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="conditioning",
            description="Draws point tracks into a control video for the motion-track IC-LoRA (connect it to "
                        "IC-LoRA Reference Guide). Draw tracks over the first frame with the editor on the node, "
                        "or type JSON: a list of tracks, each a list of [x, y] points as fractions of width and "
                        "height (one per frame, or a few points spread over the clip; one point = stationary).",
            inputs=[io.String.Input("tracks", multiline=True, default=EXAMPLE_TRACKS,
                                    tooltip="JSON list of tracks; each a list of [x, y] points "
                                            "(fractions of width and height, 0..1)."),
                    io.Int.Input("width", default=768, min=32, max=8192, step=32, tooltip="Video width (pixels)."),
                    io.Int.Input("height", default=512, min=32, max=8192, step=32, tooltip="Video height (pixels)."),
                    io.Int.Input("frames", default=121, min=1, max=8193, step=8, tooltip="Frames (1 + 8k)."),
                    io.Float.Input("radius", default=6.0, min=1.0, max=64.0, step=0.5,
                                   tooltip="Disc radius in pixels."),
                    io.Int.Input("trail", default=8, min=0, max=64, tooltip="Frames of fading trail behind a point."),
                    io.Image.Input("image", optional=True,
                                   tooltip="First frame to draw the tracks over in the editor (not rendered).")],
            outputs=[io.Image.Output(display_name="tracks_video", tooltip="The control video (frames, H, W, 3).")],
        )

    @classmethod
    def validate_inputs(cls, tracks: str | None = None, frames: int | None = None) -> bool | str:
        bad = number_problem(cls, frames=frames)
        if bad:
            return bad
        try:
            parse_tracks(tracks) if tracks is not None else None
        except ValueError as exc:
            return str(exc)
        return (frames_problem(frames) if frames is not None else None) or True

    @classmethod
    def execute(cls, tracks: str, width: int, height: int, frames: int, radius: float, trail: int,
                image: Any = None) -> io.NodeOutput:
        video = draw_tracks(parse_tracks(tracks), width=width, height=height, frames=frames, radius=radius,
                            trail=trail)
        return io.NodeOutput(video)
