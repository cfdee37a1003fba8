"""Checkpoint loading: safetensors header reader, the key-prefix table, detection and strict builders.

Nothing here reads a whole file: headers are parsed by hand and tensors are read by byte range.
"""

from .build import (
    Fp8Mode,
    StateDictMismatchError,
    build_component,
    load_component,
    module_nbytes,
)
from .detect import CheckpointInfo, Family, FileKind, LoraKind, Variant, detect
from .keymaps import KEYMAPS, Component, present_components
from .registry import ComponentUnavailableError, is_available
from .safetensors_io import (
    CheckpointError,
    NotSafetensorsError,
    SafetensorsHeader,
    SafetensorsReader,
    TensorInfo,
    read_header,
    write_safetensors,
)

__all__ = [
    "KEYMAPS",
    "CheckpointError",
    "CheckpointInfo",
    "Component",
    "ComponentUnavailableError",
    "Family",
    "FileKind",
    "Fp8Mode",
    "LoraKind",
    "NotSafetensorsError",
    "SafetensorsHeader",
    "SafetensorsReader",
    "StateDictMismatchError",
    "TensorInfo",
    "Variant",
    "build_component",
    "detect",
    "is_available",
    "load_component",
    "module_nbytes",
    "present_components",
    "read_header",
    "write_safetensors",
]
