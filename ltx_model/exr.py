"""OpenEXR frames in and out (scene-linear or log HDR float pixels; nothing is clipped to [0, 1]).

Uses the ``OpenEXR`` package (>= 3.2, imported when first needed, with one clear error when it is missing).

* Reading: a frame is ``float32 (H, W, 3)``. Colour channels are every channel but alpha (``A``): a file with ``R``,
  ``G`` and ``B`` gives those (alpha and any extra channel dropped); a file with ONE colour channel (``Y``, grey) is
  broadcast to RGB; anything else (two colour channels, or several without R/G/B) is refused with an error naming the
  file and the rule. A sequence is a folder of ``*.exr`` frames, sorted by name, all of one size.
* Writing: ``(H, W, 3)`` as half (default; values beyond half's range saturate at +-65504) or float32, ZIP
  compression, with ``chromaticities`` and ``colorSpace`` attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

HALF_MAX = 65504.0
RULE = ("an EXR frame needs R, G and B channels (alpha and other channels are dropped) or a single colour channel "
        "(grey, broadcast to RGB)")


class ExrError(ValueError):
    """An EXR file or folder that cannot be used (missing, wrong channels, mixed sizes, OpenEXR missing)."""


def openexr() -> Any:
    """The ``OpenEXR`` module (raises :class:`ExrError` with the install line when it is missing)."""
    try:
        import OpenEXR  # noqa: PLC0415 - optional dependency, only EXR nodes need it
    except ImportError as exc:
        raise ExrError("EXR support needs the OpenEXR package: pip install 'OpenEXR>=3.2' "
                       "(in the Python that runs ComfyUI)") from exc
    return OpenEXR


def colour_channels(names: list[str]) -> list[str] | None:
    """The channel names to read as ``[R, G, B]`` (one name = broadcast), or None when the set breaks :data:`RULE`."""
    if {"R", "G", "B"} <= set(names):
        return ["R", "G", "B"]
    colour = [n for n in names if n != "A"]
    return colour if len(colour) == 1 else None


def read_exr(path: str | Path) -> torch.Tensor:
    """One EXR frame -> ``float32 (H, W, 3)``, values unmodified (highlights above 1.0 kept).

    Raises:
        ExrError: the file is missing or unreadable, or its channels break :data:`RULE`.
    """
    exr = openexr()
    try:
        channels = exr.File(str(path), separate_channels=True).channels()
    except Exception as exc:  # noqa: BLE001 - OpenEXR raises plain RuntimeError / OSError variants
        raise ExrError(f"cannot read EXR file {path}: {exc}") from exc
    names = sorted(channels)
    picked = colour_channels(names)
    if picked is None:
        raise ExrError(f"EXR file {path} has {len(names)} channel(s) {', '.join(names)}: {RULE}")
    planes = [np.asarray(channels[n].pixels, dtype=np.float32) for n in picked]
    rgb = np.stack(planes * 3 if len(planes) == 1 else planes, axis=-1)
    return torch.from_numpy(np.ascontiguousarray(rgb))


def write_exr(path: str | Path, rgb: torch.Tensor, *, half: bool = True,
              chromaticities: tuple[float, ...] | None = None, colour_space: str = "") -> None:
    """Write ``rgb`` ``(H, W, 3)`` float to ``path``: half or float32, ZIP, the given tags.

    Raises:
        ExrError: ``rgb`` is not ``(H, W, 3)``, or the file cannot be written.
    """
    if rgb.dim() != 3 or rgb.shape[-1] != 3:
        raise ExrError(f"an EXR frame to write must be (H, W, 3), got {tuple(rgb.shape)} for {path}")
    exr = openexr()
    pixels = rgb.detach().float().cpu()
    if half:  # half cannot hold more than 65504: saturate instead of writing inf
        pixels = pixels.nan_to_num(0.0, HALF_MAX, -HALF_MAX).clamp(-HALF_MAX, HALF_MAX).numpy().astype(np.float16)
    else:
        pixels = pixels.numpy()
    header: dict[str, Any] = {"compression": exr.ZIP_COMPRESSION, "type": exr.scanlineimage}
    if chromaticities:
        header["chromaticities"] = tuple(float(v) for v in chromaticities)
    if colour_space:
        header["colorSpace"] = colour_space
    try:
        exr.File(header, {"RGB": np.ascontiguousarray(pixels)}).write(str(path))
    except Exception as exc:  # noqa: BLE001 - OpenEXR raises plain RuntimeError / OSError variants
        raise ExrError(f"cannot write EXR file {path}: {exc}") from exc


def exr_frames(folder: str | Path, *, start: int = 0, cap: int = 0) -> list[Path]:
    """The ``*.exr`` files of ``folder`` sorted by name, from index ``start``, at most ``cap`` (0 = all).

    Raises:
        ExrError: not a folder, no EXR frames, or none left after ``start``.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ExrError(f"EXR sequence folder {root} does not exist (a folder of *.exr frames)")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() == ".exr" and p.is_file())
    if not files:
        raise ExrError(f"EXR sequence folder {root} holds no *.exr frames")
    picked = files[start:start + cap] if cap else files[start:]
    if not picked:
        raise ExrError(f"EXR sequence folder {root} has {len(files)} frames; none left from frame_start {start}")
    return picked


def read_exr_sequence(paths: list[Path], progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Read frames -> ``float32 (F, H, W, 3)``; ``progress(done, total)`` after each (it may raise to stop).

    Raises:
        ExrError: a frame breaks :data:`RULE` or differs in size from the first.
    """
    frames: list[torch.Tensor] = []
    for i, path in enumerate(paths):
        frame = read_exr(path)
        if frames and frame.shape != frames[0].shape:
            raise ExrError(f"EXR frame {path} is {frame.shape[1]}x{frame.shape[0]} but {paths[0]} is "
                           f"{frames[0].shape[1]}x{frames[0].shape[0]}: all frames of a sequence need one size")
        frames.append(frame)
        if progress is not None:
            progress(i + 1, len(paths))
    return torch.stack(frames)


def write_exr_sequence(folder: str | Path, frames: torch.Tensor, *, half: bool = True,
                       chromaticities: tuple[float, ...] | None = None, colour_space: str = "",
                       progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write ``frames`` ``(F, H, W, 3)`` as ``folder/frame_00000.exr`` ...; returns the paths written."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for i, frame in enumerate(frames):
        path = root / f"frame_{i:05d}.exr"
        write_exr(path, frame, half=half, chromaticities=chromaticities, colour_space=colour_space)
        written.append(path)
        if progress is not None:
            progress(i + 1, frames.shape[0])
    return written
