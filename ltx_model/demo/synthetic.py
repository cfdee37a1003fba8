"""Synthetic checkpoints for tests and benchmarks: exact real-size headers over sparse (zero) data.

A manifest (``shared/reference/manifests/*.json``: ``tensors`` = ``{file key: shape}``, ``config``,
``model_version``) becomes a safetensors file whose header is exactly what the real file's would be (same keys,
shapes, storage dtypes, metadata) while the tensor data is a hole made by ``truncate``: a 46 GB checkpoint costs
under a megabyte of disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from ..loading.safetensors_io import write_safetensors


def storage_dtype_rule(manifest: Mapping[str, Any]) -> Callable[[str], str]:
    """Key -> safetensors dtype: F32 for ``*scale_shift_table*`` when the manifest says so, else its default."""
    rules = manifest.get("storage_dtypes", {})
    default = rules.get("default", "BF16")
    f32_tables = "scale_shift_table" in str(rules.get("F32", ""))
    return lambda key: "F32" if f32_tables and "scale_shift_table" in key else default


def manifest_tensors(manifest: Mapping[str, Any]) -> dict[str, list[int]]:
    """``{file key: shape}`` of a manifest: ``tensors``, plus the compact ``block_tensors`` form expanded
    (``{"prefix": p, "count": n, "tensors": {key: shape}}`` -> ``p<i>.<key>`` for every block i < n)."""
    tensors = dict(manifest["tensors"])
    blocks = manifest.get("block_tensors")
    if blocks:
        for index in range(blocks["count"]):
            tensors.update({f"{blocks['prefix']}{index}.{key}": shape for key, shape in blocks["tensors"].items()})
    return tensors


def manifest_specs(manifest: Mapping[str, Any]) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``{file key: (dtype, shape)}`` for every tensor of a manifest (:func:`manifest_tensors`), in manifest order."""
    rule = storage_dtype_rule(manifest)
    return {key: (rule(key), tuple(shape)) for key, shape in manifest_tensors(manifest).items()}


def manifest_metadata(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The safetensors ``__metadata__`` of a manifest: ``config`` (JSON) and ``model_version`` when known."""
    metadata = {"config": json.dumps(manifest["config"])}
    if manifest.get("model_version"):
        metadata["model_version"] = str(manifest["model_version"])
    return metadata


def write_sparse_checkpoint(
    manifest: Mapping[str, Any] | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    rename: Mapping[str, str] | None = None,
    drop: tuple[str, ...] = (),
    extra_metadata: Mapping[str, str] | None = None,
) -> int:
    """Write a real-size sparse checkpoint from a manifest; returns the file size in bytes.

    Args:
        manifest: the manifest dict or its JSON path.
        path: output ``.safetensors`` path.
        rename: ``{old key: new key}`` (to produce a deliberately broken file).
        drop: keys to leave out.
        extra_metadata: added to / overriding the manifest metadata.
    """
    if not isinstance(manifest, Mapping):
        with open(manifest) as f:
            manifest = json.load(f)
    rename = dict(rename or {})
    specs = {rename.get(k, k): v for k, v in manifest_specs(manifest).items() if k not in drop}
    metadata = {**manifest_metadata(manifest), **(extra_metadata or {})}
    return write_safetensors(path, specs, metadata=metadata)
