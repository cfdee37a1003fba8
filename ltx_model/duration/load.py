"""Strict loading of the duration head from its own split file or from any file that carries ``duration_head.*``.

The header is checked first (a truncated or corrupt file raises ``CheckpointError`` naming it), every tensor is read
before the module exists, and the key set must match exactly: one error naming the file and the missing /
unexpected keys or the first wrong shape, nothing half-loaded.
"""

from __future__ import annotations

import os
from collections.abc import Collection

import torch

from ..loading.keymaps import DURATION_HEAD_PREFIX
from ..loading.safetensors_io import CheckpointError, SafetensorsHeader, SafetensorsReader, read_header
from .model import DurationHead, DurationHeadConfig


def has_duration_head(keys: Collection[str]) -> bool:
    """Whether a file's tensor names include duration-head weights."""
    return any(k.startswith(DURATION_HEAD_PREFIX) for k in keys)


# Config key -> (section, tensor and axis giving the width when the metadata leaves the key out).
_WIDTH_FROM_SHAPE = {
    "cross_attention_dim": ("transformer", "video_input_proj.weight", 1),
    "audio_cross_attention_dim": ("transformer", "audio_input_proj.weight", 1),
    "pooler_hidden_dim": ("duration_head", "video_input_proj.weight", 0),
    "num_queries": ("duration_head", "attention_pooler.query_tokens", 0),
    "mlp_hidden": ("duration_head", "mlp_hidden.weight", 0),
}


def duration_head_config(header: SafetensorsHeader) -> DurationHeadConfig:
    """The head's config from a file's metadata ``config``; widths the metadata leaves out are read from the
    tensor shapes (ltx-core HEAD falls back to fixed defaults instead). ``num_pooler_heads`` cannot be read from a
    shape: metadata, else the reference default 4."""
    config = header.config()
    sections = {name: dict(config.get(name) or {}) for name in ("transformer", "duration_head")}
    for key, (section, tensor, axis) in _WIDTH_FROM_SHAPE.items():
        info = header.tensors.get(DURATION_HEAD_PREFIX + tensor)
        if key not in sections[section] and info is not None and len(info.shape) > axis:
            sections[section][key] = int(info.shape[axis])
    return DurationHeadConfig.from_metadata({**config, **sections})


def _expected_shapes(config: DurationHeadConfig) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = DurationHead(config)
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def _check(path: str, found: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]]) -> None:
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        parts = [f"missing {DURATION_HEAD_PREFIX}{missing[0]} (+{len(missing) - 1} more)" if missing else "",
                 f"unexpected {DURATION_HEAD_PREFIX}{unexpected[0]} (+{len(unexpected) - 1} more)" if unexpected
                 else ""]
        raise CheckpointError(f"{path}: not a duration head file: {', '.join(p for p in parts if p)}")
    for name, shape in expected.items():
        if found[name] != shape:
            raise CheckpointError(
                f"{path}: {DURATION_HEAD_PREFIX}{name} has shape {list(found[name])}, the metadata config needs "
                f"{list(shape)}"
            )


def load_duration_head(
    path: str | os.PathLike[str],
    *,
    dtype: torch.dtype | None = torch.float32,
    device: torch.device | str = "cpu",
) -> DurationHead:
    """Load the duration head of ``path`` (a ``ltx-2.5-*duration-head*`` file, or a file embedding one).

    Args:
        path: safetensors file with ``duration_head.*`` tensors and the ``config`` metadata.
        dtype: parameter dtype (None keeps the stored one). The head is a few MB; float32 is the default.
        device: target device.
    Raises:
        CheckpointError: naming the file: truncated / corrupt, no duration head, wrong keys or shapes.
        ConfigError: an unsupported ``duration_head`` metadata value.
    """
    header = read_header(path)
    config = duration_head_config(header)
    found = {k[len(DURATION_HEAD_PREFIX):]: tuple(info.shape) for k, info in header.tensors.items()
             if k.startswith(DURATION_HEAD_PREFIX)}
    if not found:
        raise CheckpointError(f"{header.path}: no duration head in this file (no '{DURATION_HEAD_PREFIX}*' tensors)")
    _check(header.path, found, _expected_shapes(config))
    with SafetensorsReader(header) as reader:
        state = {name: reader.read(DURATION_HEAD_PREFIX + name) for name in found}
    state = {k: (v.to(dtype) if dtype is not None else v).to(device) for k, v in state.items()}
    with torch.device("meta"):
        model = DurationHead(config)
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()
