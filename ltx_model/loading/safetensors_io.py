"""A small, strict safetensors reader that never maps the whole file.

The header is parsed by hand (8-byte little-endian length + JSON) and validated before anything else happens:
offsets inside the file, known dtypes, byte counts that match the shapes, no overlapping tensors. Tensor data is then
read by byte range (``seek`` + ``readinto`` straight into a preallocated torch tensor), one tensor at a time, so that
a 46 GB checkpoint can be inspected or partially loaded on a machine with less RAM than the file (where ``mmap`` of
the whole file is refused by the kernel).

Pickle-based checkpoints (``.ckpt``, ``.pt``, ``.pth``, ``.bin``, zip/pickle magic bytes) are refused: loading them
executes arbitrary code.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors format's own limit
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")

# safetensors dtype string -> (torch dtype, bytes per element)
DTYPES: dict[str, tuple[torch.dtype, int]] = {
    "BOOL": (torch.bool, 1),
    "U8": (torch.uint8, 1),
    "I8": (torch.int8, 1),
    "I16": (torch.int16, 2),
    "U16": (torch.uint16, 2),
    "I32": (torch.int32, 4),
    "U32": (torch.uint32, 4),
    "I64": (torch.int64, 8),
    "U64": (torch.uint64, 8),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "F32": (torch.float32, 4),
    "F64": (torch.float64, 8),
    "F8_E4M3": (torch.float8_e4m3fn, 1),
    "F8_E5M2": (torch.float8_e5m2, 1),
}
TORCH_TO_ST: dict[torch.dtype, str] = {dt: name for name, (dt, _) in DTYPES.items()}


class CheckpointError(ValueError):
    """The file is not a usable checkpoint (corrupt, truncated, wrong format, wrong keys). One-line message."""


class NotSafetensorsError(CheckpointError):
    """The file is a pickle/zip checkpoint (refused: safetensors only) or not a checkpoint at all."""


@dataclass(frozen=True)
class TensorInfo:
    """Location of one tensor: ``start``/``end`` are ABSOLUTE byte offsets in the file; ``shape`` in elements."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def nbytes(self) -> int:
        """Size of the tensor data in bytes."""
        return self.end - self.start

    @property
    def numel(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def torch_dtype(self) -> torch.dtype:
        """The torch dtype of the stored data."""
        return DTYPES[self.dtype][0]


@dataclass(frozen=True)
class SafetensorsHeader:
    """Parsed and validated header of one safetensors file (no tensor data)."""

    path: str
    file_size: int
    data_start: int
    tensors: Mapping[str, TensorInfo]
    metadata: Mapping[str, str]

    def keys(self) -> list[str]:
        """Tensor names in file order."""
        return list(self.tensors)

    def config(self) -> dict[str, Any]:
        """The parsed ``__metadata__["config"]`` JSON object ({} when absent)."""
        raw = self.metadata.get("config")
        if raw is None:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{self.path}: metadata 'config' is not valid JSON ({exc.msg})") from None
        if not isinstance(value, dict):
            raise CheckpointError(f"{self.path}: metadata 'config' is not a JSON object")
        return value


def _refuse_pickle(path: Path, head: bytes) -> None:
    """Raise NotSafetensorsError for pickle / zip (torch.save) files."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise NotSafetensorsError(
            f"{path}: '{path.suffix}' is a pickle checkpoint format; refused (safetensors only: pickle can run code)"
        )
    if head.startswith(b"PK\x03\x04"):
        raise NotSafetensorsError(
            f"{path}: file is a zip/pickle (torch.save) checkpoint; refused (safetensors only: pickle can run code)"
        )


def _refuse_bare_pickle(path: Path, head: bytes) -> None:
    """Raise NotSafetensorsError when ``head`` starts like a pickle (protocol 2-5: ``0x80 <proto>``). Only asked once
    the bytes are known not to be a safetensors header: a valid header length can begin with the same two bytes
    (640 = ``80 02 00 ..``)."""
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        raise NotSafetensorsError(
            f"{path}: file is a zip/pickle (torch.save) checkpoint; refused (safetensors only: pickle can run code)"
        )


def _parse_entry(name: str, entry: Any, data_start: int, data_size: int) -> TensorInfo:
    """Validate one header entry and return its TensorInfo (absolute offsets)."""
    if not isinstance(entry, dict) or set(entry) - {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"corrupt header: entry {name!r} is not a tensor description")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPES:
        raise CheckpointError(f"corrupt header: tensor {name!r} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise CheckpointError(f"corrupt header: tensor {name!r} has an invalid shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
        raise CheckpointError(f"corrupt header: tensor {name!r} has invalid data_offsets {offsets!r}")
    begin, end = offsets
    if not 0 <= begin <= end:
        raise CheckpointError(f"corrupt header: tensor {name!r} has data_offsets {offsets} out of order")
    if end - begin != math.prod(shape) * DTYPES[dtype][1]:
        raise CheckpointError(f"corrupt header: tensor {name!r} byte range {offsets} does not match {dtype}{shape}")
    if end > data_size:
        raise CheckpointError(
            f"truncated file: tensor {name!r} ends at data byte {end} but the file holds only {data_size} data bytes"
        )
    return TensorInfo(name, dtype, tuple(shape), data_start + begin, data_start + end)


def _check_overlaps(tensors: Mapping[str, TensorInfo]) -> None:
    """Raise CheckpointError when two tensors share bytes."""
    ordered = sorted((t for t in tensors.values() if t.nbytes), key=lambda t: t.start)
    for prev, cur in zip(ordered, ordered[1:], strict=False):
        if cur.start < prev.end:
            raise CheckpointError(f"corrupt header: tensors {prev.name!r} and {cur.name!r} overlap")


def _decode_header(path: Path, raw: bytes, data_start: int, file_size: int) -> SafetensorsHeader:
    """Decode and validate the JSON header bytes."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: corrupt safetensors header (not valid UTF-8 JSON)") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header (not a JSON object)")
    meta = obj.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{path}: corrupt safetensors header (__metadata__ must map strings to strings)")
    data_size = file_size - data_start
    try:
        tensors = {name: _parse_entry(name, entry, data_start, data_size) for name, entry in obj.items()}
        _check_overlaps(tensors)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    return SafetensorsHeader(str(path), file_size, data_start, tensors, meta)


def read_header(path: str | os.PathLike[str]) -> SafetensorsHeader:
    """Read and validate the header of a safetensors file without touching any tensor data.

    Raises:
        NotSafetensorsError: pickle/zip checkpoints, or a file that is not safetensors at all.
        CheckpointError: corrupt header, unknown dtype, overlapping or out-of-file tensors (truncated file).
        FileNotFoundError / IsADirectoryError: as raised by ``open``.
    """
    path = Path(path)
    file_size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        _refuse_pickle(path, head)
        if len(head) < 8:
            raise CheckpointError(f"{path}: truncated or empty file ({file_size} bytes), not a safetensors checkpoint")
        length = int.from_bytes(head, "little")
        if length > MAX_HEADER_BYTES or length < 2:
            _refuse_bare_pickle(path, head)
            raise NotSafetensorsError(f"{path}: not a safetensors file (implausible header length {length})")
        if 8 + length > file_size:
            _refuse_bare_pickle(path, head)
            raise CheckpointError(f"{path}: truncated file: header needs {8 + length} bytes, file has {file_size}")
        raw = f.read(length)
    if not raw.lstrip().startswith(b"{"):
        _refuse_bare_pickle(path, head)
        raise NotSafetensorsError(f"{path}: not a safetensors file (header is not a JSON object)")
    return _decode_header(path, raw, 8 + length, file_size)


class SafetensorsReader:
    """Reads chosen tensors of one safetensors file by byte range. Use as a context manager.

    Example::

        with SafetensorsReader(path) as r:
            w = r.read("vae.decoder.conv_in.conv.weight")   # only those bytes are read
    """

    def __init__(self, source: str | os.PathLike[str] | SafetensorsHeader) -> None:
        self.header = source if isinstance(source, SafetensorsHeader) else read_header(source)
        self._file = open(self.header.path, "rb", buffering=0)  # noqa: SIM115 - closed in close()
        if os.fstat(self._file.fileno()).st_size != self.header.file_size:
            self._file.close()
            raise CheckpointError(f"{self.header.path}: file changed size since its header was read")

    def __enter__(self) -> SafetensorsReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying file."""
        self._file.close()

    @property
    def metadata(self) -> Mapping[str, str]:
        """The ``__metadata__`` string map."""
        return self.header.metadata

    def keys(self) -> list[str]:
        """Tensor names in file order."""
        return self.header.keys()

    def read(self, name: str) -> torch.Tensor:
        """Read one tensor into a new CPU tensor in its stored dtype and shape (reads exactly its byte range)."""
        info = self.header.tensors[name]
        buf = torch.empty(info.nbytes, dtype=torch.uint8)
        if info.nbytes:
            self._read_into(memoryview(buf.numpy()), info.start)
        return buf.view(info.torch_dtype).reshape(info.shape)

    def _read_into(self, view: memoryview, offset: int) -> None:
        """Fill ``view`` with file bytes starting at absolute ``offset`` (loops over short reads)."""
        self._file.seek(offset)
        done = 0
        while done < len(view):
            n = self._file.readinto(view[done:])
            if not n:
                raise CheckpointError(f"{self.header.path}: truncated file: unexpected end of data at {offset + done}")
            done += n

    def iter_tensors(self, names: list[str]) -> Iterator[tuple[str, torch.Tensor]]:
        """Yield ``(name, tensor)`` for ``names`` in file-offset order (sequential disk access), one at a time."""
        for name in sorted(names, key=lambda n: self.header.tensors[n].start):
            yield name, self.read(name)


def _spec_dtype(value: torch.Tensor | tuple[str, tuple[int, ...]]) -> tuple[str, tuple[int, ...]]:
    """(safetensors dtype, shape) of a tensor or of a ``(dtype, shape)`` spec."""
    if isinstance(value, torch.Tensor):
        return TORCH_TO_ST[value.dtype], tuple(value.shape)
    return value[0], tuple(value[1])


def write_safetensors(
    path: str | os.PathLike[str],
    tensors: Mapping[str, torch.Tensor | tuple[str, tuple[int, ...]]],
    *,
    metadata: Mapping[str, str] | None = None,
) -> int:
    """Write a safetensors file; ``(dtype, shape)`` specs become SPARSE zero-filled tensors (no disk used).

    Real tensors are written; for specs only the exact header is written and the file is extended to its full size
    with ``truncate``, so a real-size checkpoint (e.g. 46 GB) costs a few hundred KB of disk. Returns the file size.
    """
    if metadata and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("safetensors metadata must map str to str")
    header: dict[str, Any] = {"__metadata__": dict(metadata)} if metadata else {}
    offset = 0
    for name, value in tensors.items():
        dtype, shape = _spec_dtype(value)
        nbytes = math.prod(shape) * DTYPES[dtype][1]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # pad so that tensor data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little") + raw)
        for name, value in tensors.items():
            if isinstance(value, torch.Tensor) and value.numel():
                data = value.detach().contiguous().cpu().reshape(-1).view(torch.uint8)
                f.seek(8 + len(raw) + header[name]["data_offsets"][0])
                f.write(memoryview(data.numpy()))
        f.truncate(8 + len(raw) + offset)
    return 8 + len(raw) + offset
