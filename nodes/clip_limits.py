"""Per-family clip limits served to the front end with Load LTX-2 Model's ``ckpt_name`` input.

The size/duration helper and the timeline (``js/ltx2_model_limits.js``) read them from ``/object_info``: the
``ckpt_name`` input's options carry :data:`SERVED_KEY` = ``{"families": {family: limits}, "files": {name: family}}``
(see :func:`served_clip_limits`), so the rules stay defined once, in the library:

- ``frame_step``: the frame rule ``1 + frame_step * k`` (``ltx_model.modes.geometry.SCALE.time``; 8 for every family);
- ``default_fps`` / ``default_frames``: ltx-pipelines' per-version defaults
  (``ltx_model.sampling.defaults_for_version``; 24 fps and 121 frames for LTX-2, LTX-2.3 and LTX-2.5 alike);
- ``max_seconds``: LTX-2.5 only. Lightricks (ltx-pipelines @400fd31, ``AutoDuration`` / ``DurationPredictor``) keep
  2.5 durations to ``[1 s, 20 s]`` "so a misbehaving prediction can't request a degenerate or OOM-sized generation"
  (``ltx_model.duration.DEFAULT_MAX_SECONDS``). Lightricks state no maximum for LTX-2 / 2.3, so none is served
  (null) and the front end shows none. It is a warning, not a hard limit: the transformer accepts longer clips.

``files`` maps each dropdown file whose header names its family (read once per file version, header only) to that
family; files added after the page loaded are missing until the next reload, and the front end then falls back to
the file name.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from ..ltx_model.duration import DEFAULT_MAX_SECONDS, DEFAULT_MIN_SECONDS, DURATION_RANGE_FAMILIES
from ..ltx_model.loading import Family, detect, read_header
from ..ltx_model.loading.released import RELEASED_MODEL_VERSIONS
from ..ltx_model.modes.geometry import SCALE
from ..ltx_model.sampling import defaults_for_version
from .model_folders import find_model_path

SERVED_KEY = "ltx2_clip_limits"
"""The key of the served table in the ``ckpt_name`` input's options (``/object_info``)."""

def family_limits(family: Family) -> dict[str, Any]:
    """The clip limits of ``family`` (JSON-ready; see the module docstring)."""
    defaults = defaults_for_version(RELEASED_MODEL_VERSIONS.get(family))
    ranged = family in DURATION_RANGE_FAMILIES
    return {
        "frame_step": SCALE.time,
        "default_fps": float(defaults.frame_rate),
        "default_frames": int(defaults.num_frames),
        "min_seconds": DEFAULT_MIN_SECONDS if ranged else None,
        "max_seconds": DEFAULT_MAX_SECONDS if ranged else None,
    }


@functools.lru_cache(maxsize=4096)
def _file_family(path: str, _mtime_ns: int, _size: int) -> str | None:
    """The family a file's header names (None: unreadable or unknown), cached per file version."""
    try:
        family = detect(read_header(path)).family
    except (ValueError, OSError):
        return None
    return None if family is Family.UNKNOWN else family.value


def file_families(names: list[str], folders: tuple[str, ...]) -> dict[str, str]:
    """``{file name: family}`` for the ``names`` of model ``folders`` whose header names a family."""
    families = {}
    for name in names:
        path = find_model_path(folders, name)
        try:
            stat = os.stat(path) if path else None
        except OSError:
            stat = None
        family = _file_family(path, stat.st_mtime_ns, stat.st_size) if stat else None
        if family:
            families[name] = family
    return families


def served_clip_limits(names: list[str], folders: tuple[str, ...]) -> dict[str, Any]:
    """The ``extra_dict`` of a model loader's file input: ``{SERVED_KEY: {"families": ..., "files": ...}}``."""
    families = {family.value: family_limits(family) for family in RELEASED_MODEL_VERSIONS}
    return {SERVED_KEY: {"families": families, "files": file_families(names, folders)}}
