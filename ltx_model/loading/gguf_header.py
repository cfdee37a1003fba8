"""A GGUF header parser of our own (pure Python + numpy): metadata and tensor infos without the ``gguf`` package.

Layout (GGUF v2 / v3, little-endian, ``ggml/docs/gguf.md``): magic ``GGUF``, ``uint32`` version, ``uint64``
tensor count, ``uint64`` metadata count; the metadata key/value pairs (key: ``uint64`` length + UTF-8 bytes;
``uint32`` value type; value: a fixed-size scalar, a string, or an array = ``uint32`` element type + ``uint64``
count + the elements); the tensor infos (name, ``uint32`` n_dims, ``uint64`` dims innermost first, ``uint32``
GGML type, ``uint64`` offset from the data start); the tensor data, starting at the next multiple of
``general.alignment`` (default 32).

Unlike ``gguf.GGUFReader`` (which builds numpy views of every metadata element: ~30 s for the 262k-entry
tokenizer arrays of a Gemma 3 file), scalars are decoded eagerly but arrays are only stepped over (numeric ones
in one jump, string ones one length prefix at a time) and remembered as byte ranges; :meth:`GGUFHeader.value`
decodes an array when it is asked for.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

MAGIC = b"GGUF"
VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
ALIGNMENT_FIELD = "general.alignment"
_U32, _U64 = struct.Struct("<I"), struct.Struct("<Q")


class ValueType(IntEnum):
    """GGUF metadata value types (``gguf_type``)."""

    UINT8 = 0
    INT8 = 1
    UINT16 = 2
    INT16 = 3
    UINT32 = 4
    INT32 = 5
    FLOAT32 = 6
    BOOL = 7
    STRING = 8
    ARRAY = 9
    UINT64 = 10
    INT64 = 11
    FLOAT64 = 12


_NUMPY = {ValueType.UINT8: "<u1", ValueType.INT8: "<i1", ValueType.UINT16: "<u2", ValueType.INT16: "<i2",
          ValueType.UINT32: "<u4", ValueType.INT32: "<i4", ValueType.FLOAT32: "<f4", ValueType.BOOL: "?",
          ValueType.UINT64: "<u8", ValueType.INT64: "<i8", ValueType.FLOAT64: "<f8"}
_SCALARS = {kind: struct.Struct(code) for kind, code in (
    (ValueType.UINT8, "<B"), (ValueType.INT8, "<b"), (ValueType.UINT16, "<H"), (ValueType.INT16, "<h"),
    (ValueType.UINT32, "<I"), (ValueType.INT32, "<i"), (ValueType.FLOAT32, "<f"), (ValueType.BOOL, "<?"),
    (ValueType.UINT64, "<Q"), (ValueType.INT64, "<q"), (ValueType.FLOAT64, "<d"))}


class GGUFFormatError(ValueError):
    """The bytes are not a readable little-endian GGUF v2 / v3 header (message says why)."""


@dataclass(frozen=True)
class ArrayRef:
    """An array field not yet decoded: element type, count and its elements' byte range ``[start, end)``."""

    elem_type: ValueType
    count: int
    start: int
    end: int


@dataclass(frozen=True)
class TensorInfo:
    """One tensor info record: name, dims (GGUF order: innermost first), raw GGML type id, data offset (absolute,
    in bytes from the file start)."""

    name: str
    dims: tuple[int, ...]
    ggml_type: int
    offset: int


@dataclass(frozen=True)
class GGUFHeader:
    """A parsed GGUF header.

    Attributes:
        path: the file.
        version: GGUF version (2 or 3).
        types: ``{key: ValueType}`` of every metadata field, in file order.
        scalars: ``{key: value}`` of the non-array fields (str / int / float / bool).
        arrays: ``{key: ArrayRef}`` of the array fields (decoded by :meth:`value`).
        tensors: the tensor infos in file order.
        alignment: ``general.alignment`` (32 when absent).
        data_start: absolute offset of the tensor data section.
    """

    path: str
    version: int
    types: dict[str, ValueType]
    scalars: dict[str, Any]
    arrays: dict[str, ArrayRef]
    tensors: tuple[TensorInfo, ...]
    alignment: int
    data_start: int

    def value(self, key: str) -> Any:
        """The value of field ``key``: the scalar, or the array decoded now as a list (nested arrays as lists);
        raises KeyError when absent."""
        if key in self.scalars:
            return self.scalars[key]
        ref = self.arrays[key]
        with open(self.path, "rb") as handle:
            handle.seek(ref.start)
            data = handle.read(ref.end - ref.start)
        return _Walker(data, 0).decode_array(ref.elem_type, ref.count)


class _Walker:
    """A cursor over the header bytes (``buf``: bytes / mmap) that decodes or skips values."""

    def __init__(self, buf: Any, pos: int) -> None:
        self.buf, self.pos, self.size = buf, pos, len(buf)

    def _need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise GGUFFormatError(f"truncated or corrupt header: {what} at byte {self.pos} needs {n} bytes, the "
                                  f"file has {self.size}")

    def u32(self) -> int:
        self._need(4, "a uint32")
        (value,) = _U32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return value

    def u64(self) -> int:
        self._need(8, "a uint64")
        (value,) = _U64.unpack_from(self.buf, self.pos)
        self.pos += 8
        return value

    def string(self) -> str:
        n = self.u64()
        self._need(n, "a string")
        raw = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def value_type(self) -> ValueType:
        raw = self.u32()
        try:
            return ValueType(raw)
        except ValueError:
            raise GGUFFormatError(f"unknown metadata value type {raw} at byte {self.pos - 4}") from None

    def scalar(self, kind: ValueType) -> Any:
        if kind is ValueType.STRING:
            return self.string()
        packer = _SCALARS[kind]
        self._need(packer.size, kind.name)
        (value,) = packer.unpack_from(self.buf, self.pos)
        self.pos += packer.size
        return value

    def skip_array(self, elem: ValueType, count: int) -> None:
        """Step over ``count`` elements of type ``elem`` (numeric: one jump; strings: one prefix at a time)."""
        if elem in _SCALARS:
            self._need(count * _SCALARS[elem].size, f"{count} x {elem.name}")
            self.pos += count * _SCALARS[elem].size
        elif elem is ValueType.STRING:
            self._need(8 * count, f"{count} strings")  # bounds the loop: every string has an 8-byte prefix
            buf, pos, unpack = self.buf, self.pos, _U64.unpack_from
            for _ in range(count):
                pos += 8 + unpack(buf, pos)[0]
            self.pos = pos
            self._need(0, "the end of a string array")
        else:  # nested arrays
            for _ in range(count):
                inner = self.value_type()
                self.skip_array(inner, self.u64())

    def decode_array(self, elem: ValueType, count: int) -> list[Any]:
        """``count`` elements of type ``elem`` as a list (numeric ones through numpy)."""
        if elem in _NUMPY:
            width = _SCALARS[elem].size
            self._need(count * width, f"{count} x {elem.name}")
            values = np.frombuffer(self.buf, dtype=_NUMPY[elem], count=count, offset=self.pos).tolist()
            self.pos += count * width
            return values
        if elem is ValueType.STRING:
            self._need(8 * count, f"{count} strings")
            buf, pos, unpack, raw = self.buf, self.pos, _U64.unpack_from, []
            for _ in range(count):
                n = unpack(buf, pos)[0]
                raw.append(buf[pos + 8:pos + 8 + n])
                pos += 8 + n
            self.pos = pos
            self._need(0, "the end of a string array")
            return [bytes(item).decode("utf-8", errors="replace") for item in raw]
        out = []
        for _ in range(count):
            inner = self.value_type()
            out.append(self.decode_array(inner, self.u64()))
        return out


def _read_fields(walker: _Walker, kv_count: int) -> tuple[dict, dict, dict]:
    """The metadata section: ``(types, scalars, arrays)``."""
    types: dict[str, ValueType] = {}
    scalars: dict[str, Any] = {}
    arrays: dict[str, ArrayRef] = {}
    for _ in range(kv_count):
        key = walker.string()
        kind = walker.value_type()
        types[key] = kind
        if kind is not ValueType.ARRAY:
            scalars[key] = walker.scalar(kind)
            continue
        elem, count = walker.value_type(), walker.u64()
        start = walker.pos
        walker.skip_array(elem, count)
        arrays[key] = ArrayRef(elem, count, start, walker.pos)
    return types, scalars, arrays


def _read_tensor_infos(walker: _Walker, count: int) -> list[tuple[str, tuple[int, ...], int, int]]:
    """The tensor info section: ``(name, dims, ggml type, relative offset)`` per tensor."""
    infos = []
    for _ in range(count):
        name = walker.string()
        n_dims = walker.u32()
        if n_dims > 8:
            raise GGUFFormatError(f"tensor {name} claims {n_dims} dimensions")
        dims = tuple(walker.u64() for _ in range(n_dims))
        infos.append((name, dims, walker.u32(), walker.u64()))
    return infos


def read_gguf_header(path: str | os.PathLike[str]) -> GGUFHeader:
    """Parse the header of the GGUF file at ``path`` (no tensor data is read; arrays are skipped, not decoded).

    Raises:
        GGUFFormatError: not a GGUF file, an unsupported version / byte order, or a truncated / corrupt header.
        OSError: the file cannot be opened.
    """
    path = os.fspath(path)
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size < 24:
            raise GGUFFormatError("too short for a GGUF header")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            try:
                return _parse(path, buf)
            except struct.error:  # a corrupt length ran a read past the end of the file
                raise GGUFFormatError("truncated or corrupt header (a length runs past the end)") from None


def _parse(path: str, buf: Any) -> GGUFHeader:
    """:func:`read_gguf_header` over the mapped bytes ``buf``."""
    if bytes(buf[:4]) != MAGIC:
        raise GGUFFormatError(f"bad magic {bytes(buf[:4])!r} (expected b'GGUF')")
    walker = _Walker(buf, 4)
    version = walker.u32()
    if version not in VERSIONS:
        swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
        detail = "a big-endian file" if swapped in VERSIONS else f"version {version}"
        raise GGUFFormatError(f"{detail} is not supported (little-endian GGUF v2 / v3 only)")
    tensor_count, kv_count = walker.u64(), walker.u64()
    types, scalars, arrays = _read_fields(walker, kv_count)
    alignment = int(scalars.get(ALIGNMENT_FIELD, DEFAULT_ALIGNMENT))
    if alignment <= 0 or alignment & (alignment - 1):
        raise GGUFFormatError(f"{ALIGNMENT_FIELD} = {alignment} is not a power of two")
    infos = _read_tensor_infos(walker, tensor_count)
    data_start = -(-walker.pos // alignment) * alignment
    tensors = tuple(TensorInfo(name, dims, kind, data_start + offset) for name, dims, kind, offset in infos)
    return GGUFHeader(path, version, types, scalars, arrays, tensors, alignment, data_start)
