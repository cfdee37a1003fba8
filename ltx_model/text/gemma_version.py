"""Which Gemma a checkpoint needs: the ``gemma_version`` check of ltx-core HEAD, as one clear error naming both files.

Rule (ltx-core HEAD ``encoder_configurator._check_gemma_version``):

* a checkpoint whose metadata declares ``gemma_source_checkpoint`` (LTX-2.5) needs a Gemma whose config's top-level
  ``gemma_version`` equals ``gemma_source_checkpoint.gemma_version`` (``"gemma4-12b-ltx-v1"``);
* a checkpoint without it but with ``model_version >= 2.4`` must declare it; ltx-core only warns when the Gemma has
  no ``gemma_version`` either, we accept that pair silently (nothing to compare) and refuse a versioned Gemma;
* an older checkpoint (LTX-2 / LTX-2.3) needs a Gemma 3 (``model_type`` ``gemma3`` / ``gemma3_text``; a Gemma
  without a config is the Gemma 3 12B default).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..loading.safetensors_io import read_header
from ..sampling.guidance import version_numbers
from .gemma import read_gemma_config

SOURCE_KEY = "gemma_source_checkpoint"
VERSION_KEY = "gemma_version"
_REQUIRED_SINCE = (2, 4, 0)
_GEMMA3_TYPES = ("gemma3", "gemma3_text")


class GemmaVersionError(ValueError):
    """The Gemma text encoder is not the one the checkpoint was trained with (message names both files)."""


def expected_gemma_version(metadata: Mapping[str, str]) -> str | None:
    """``gemma_source_checkpoint.gemma_version`` of a checkpoint's ``__metadata__`` (JSON string), or None."""
    raw = metadata.get(SOURCE_KEY)
    if raw is None:
        return None
    try:
        source = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        raise GemmaVersionError(f"metadata {SOURCE_KEY!r} is not valid JSON: {raw[:80]!r}") from None
    if not isinstance(source, Mapping) or not isinstance(source.get(VERSION_KEY), str):
        raise GemmaVersionError(f"metadata {SOURCE_KEY!r} has no string {VERSION_KEY!r}: {raw[:80]!r}")
    return source[VERSION_KEY]


def describe_gemma(config: Mapping[str, Any] | None) -> str:
    """``"Gemma 4 (model_type 'gemma4_unified', gemma_version 'gemma4-12b-ltx-v1')"``-style description."""
    config = config or {"model_type": "gemma3"}
    model_type = str(config.get("model_type", "?"))
    family = "Gemma 3" if model_type in _GEMMA3_TYPES else "Gemma 4" if model_type.startswith("gemma4") else "Gemma"
    return f"{family} (model_type {model_type!r}, gemma_version {config.get(VERSION_KEY)!r})"


def check_gemma_version(
    checkpoint_metadata: Mapping[str, str],
    gemma_config: Mapping[str, Any] | None,
    *,
    checkpoint: str,
    gemma: str,
) -> None:
    """Raise :class:`GemmaVersionError` naming both files unless the Gemma is the one the checkpoint needs.

    Args:
        checkpoint_metadata: the transformer file's ``__metadata__`` (``model_version``, ``gemma_source_checkpoint``).
        gemma_config: the Gemma's config dict (file ``gemma_config`` metadata / folder ``config.json``; None = a
            Gemma 3 without a config).
        checkpoint / gemma: the file names used in the message.
    """
    expected = expected_gemma_version(checkpoint_metadata)
    actual = (gemma_config or {}).get(VERSION_KEY)
    have = describe_gemma(gemma_config)
    if expected is not None:
        if expected != actual:
            raise GemmaVersionError(
                f"{checkpoint} needs the Gemma text encoder with gemma_version {expected!r} (metadata "
                f"{SOURCE_KEY}), but {gemma} is {have}; use the text encoder released with the model "
                f"(e.g. gemma4-12b-with-proj-ltx-2.5-bf16.safetensors)"
            )
        return
    version = checkpoint_metadata.get("model_version")
    if version_numbers(version) >= _REQUIRED_SINCE:
        if actual is not None:
            raise GemmaVersionError(
                f"{checkpoint} (model_version {version!r}) declares no {SOURCE_KEY}.{VERSION_KEY}, so {gemma} "
                f"({have}) cannot be checked against it"
            )
        return
    model_type = str((gemma_config or {"model_type": "gemma3"}).get("model_type", ""))
    if model_type not in _GEMMA3_TYPES:
        raise GemmaVersionError(
            f"{checkpoint} (model_version {version!r}, no {SOURCE_KEY}) is an LTX-2 / LTX-2.3 checkpoint that needs "
            f"a Gemma 3 text encoder (e.g. gemma-3-12b-it), but {gemma} is {have}"
        )


def check_gemma_files(checkpoint: str | os.PathLike[str], gemma: str | os.PathLike[str],
                      gemma_config: Mapping[str, Any] | None = None) -> None:
    """:func:`check_gemma_version` for files: the transformer (or single-file) checkpoint's header metadata and the
    Gemma's config (``gemma_config`` metadata / ``config.json``; a GGUF Gemma is a Gemma 3 unless ``gemma_config``
    is given). Reads headers only.

    Raises:
        GemmaVersionError: naming both files. CheckpointError: a truncated / corrupt header (naming the file).
    """
    header = read_header(checkpoint)
    if gemma_config is None and Path(gemma).suffix.lower() != ".gguf":
        gemma_config = read_gemma_config(gemma)
    check_gemma_version(header.metadata, gemma_config, checkpoint=Path(checkpoint).name, gemma=Path(gemma).name)
