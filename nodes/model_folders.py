"""Helpers over ComfyUI's model folders (``folder_paths``): registering a folder, listing and resolving files."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import folder_paths


def register_model_folder(kind: str) -> None:
    """Make sure ComfyUI knows model folder ``kind`` (``latent_upscale_models`` is missing before v0.3.71).

    Merges with whatever ``extra_model_paths.yaml`` already registered: keeps its paths, adds ``models/<kind>`` and
    the standard model extensions (a bare ``add_model_folder_path`` would list every file).
    """
    default_dir = os.path.join(folder_paths.models_dir, kind)
    paths, extensions = folder_paths.folder_names_and_paths.get(kind, ([], set()))
    if default_dir not in paths:
        paths = [*paths, default_dir]
    folder_paths.folder_names_and_paths[kind] = (paths, set(extensions) | set(folder_paths.supported_pt_extensions))


def model_files(kind: str) -> list[str]:
    """File names in ComfyUI's model folder ``kind`` (``checkpoints``, ``diffusion_models``, ...)."""
    return folder_paths.get_filename_list(kind)


def model_path(kind: str, name: str) -> str:
    """Full path of ``name`` in model folder ``kind``; a clear error when it is not there."""
    return folder_paths.get_full_path_or_raise(kind, name)


def model_files_in(kinds: tuple[str, ...]) -> list[str]:
    """File names of several model folders (e.g. ``checkpoints`` + ``diffusion_models``), each name once, sorted."""
    return sorted({name for kind in kinds for name in model_files(kind)})


def find_model_path(kinds: tuple[str, ...], name: str) -> str | None:
    """Full path of ``name`` in the first of ``kinds`` that has it (None: in none of them)."""
    for kind in kinds:
        path = folder_paths.get_full_path(kind, name)
        if path is not None:
            return path
    return None


def model_path_in(kinds: tuple[str, ...], name: str) -> str:
    """:func:`find_model_path`, with one clear error naming every folder when ``name`` is in none of them."""
    path = find_model_path(kinds, name)
    if path is None:
        folders = " or ".join(f"models/{kind}" for kind in kinds)
        raise FileNotFoundError(f"{name!r} is not a file in {folders}; put the file there or pick one from the list")
    return path


@functools.lru_cache(maxsize=4096)
def _accepted(accepts: Callable[[str], bool], path: str, _mtime_ns: int, _size: int) -> bool:
    """``accepts(path)``, cached per version (modification time, size) of the file."""
    return accepts(path)


def listed_files(kinds: tuple[str, ...], accepts: Callable[[str], bool]) -> list[str]:
    """A loader's dropdown: the files of ``kinds`` that ``accepts(path)`` (a header check: it should accept files
    whose header it cannot read, so validation can explain them); each file is checked once per version."""
    listed = []
    for name in model_files_in(kinds):
        path = find_model_path(kinds, name)
        try:
            stat = os.stat(path)
        except (OSError, TypeError):
            listed.append(name)
            continue
        if _accepted(accepts, path, stat.st_mtime_ns, stat.st_size):
            listed.append(name)
    return listed
