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
from .detect import CheckpointInfo, Family, FileKind, FilePart, LoraKind, Variant, detect
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
from .split import SplitModel, SplitModelError, open_split_model

__all__ = [
    "KEYMAPS",
    "CheckpointError",
    "CheckpointInfo",
    "Component",
    "ComponentUnavailableError",
    "Family",
    "FileKind",
    "FilePart",
    "Fp8Mode",
    "LoraKind",
    "NotSafetensorsError",
    "SafetensorsHeader",
    "SafetensorsReader",
    "SplitModel",
    "SplitModelError",
    "StateDictMismatchError",
    "TensorInfo",
    "Variant",
    "build_component",
    "detect",
    "is_available",
    "load_component",
    "module_nbytes",
    "open_split_model",
    "present_components",
    "read_header",
    "write_safetensors",
]
