"""Helpers over ComfyUI's model folders (``folder_paths``): registering a folder, listing and resolving files."""

from __future__ import annotations

import os

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
