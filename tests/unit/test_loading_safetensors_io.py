"""Hand-written safetensors reader: agrees with the official library, reads byte ranges only, rejects bad files."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import pytest
import safetensors.torch
import torch

from ltx_model.inspect import current_rss_bytes, peak_rss_bytes, reset_peak_rss
from ltx_model.loading.safetensors_io import (
    CheckpointError,
    NotSafetensorsError,
    SafetensorsReader,
    read_header,
    write_safetensors,
)


def _mixed_tensors() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    base = torch.randn(3, 5, generator=g)
    return {
        "a.bf16": base.to(torch.bfloat16),
        "a.f16": base.to(torch.float16),
        "a.f32": base,
        "a.f64": base.double(),
        "a.e4m3": base.to(torch.float8_e4m3fn),
        "a.e5m2": base.to(torch.float8_e5m2),
        "a.i64": torch.arange(7, dtype=torch.int64) - 3,
        "a.i8": torch.tensor([-1, 2], dtype=torch.int8),
        "a.bool": torch.tensor([True, False, True]),
        "a.scalar": torch.tensor(2.5),
        "a.empty": torch.zeros(0, 4),
    }


def test_loading_reader_matches_official_safetensors_for_every_dtype(tmp_path: Path) -> None:
    tensors = _mixed_tensors()
    path = tmp_path / "mixed.safetensors"
    safetensors.torch.save_file(tensors, str(path), metadata={"config": "{}", "model_version": "2.3.0"})
    header = read_header(path)
    assert header.metadata == {"config": "{}", "model_version": "2.3.0"}
    assert set(header.tensors) == set(tensors)
    with SafetensorsReader(header) as reader:
        for name, expected in tensors.items():
            got = reader.read(name)
            assert got.dtype == expected.dtype and got.shape == expected.shape, name
            assert torch.equal(_bytes(got), _bytes(expected)), name


def test_loading_writer_output_is_readable_by_official_safetensors(tmp_path: Path) -> None:
    tensors = _mixed_tensors()
    path = tmp_path / "ours.safetensors"
    write_safetensors(path, tensors, metadata={"k": "v"})
    loaded = safetensors.torch.load_file(str(path))
    for name, expected in tensors.items():
        assert loaded[name].shape == expected.shape and torch.equal(_bytes(loaded[name]), _bytes(expected)), name


def test_loading_reads_only_the_requested_byte_range_of_a_sparse_file(tmp_path: Path) -> None:
    """A 12 GB sparse file: reading its one small real tensor leaves RSS far below the file size."""
    small = torch.arange(16, dtype=torch.float32)
    specs = {"hole.0": ("BF16", (3_000_000_000,)), "hole.1": ("BF16", (3_000_000_000,)), "small": small}
    path = tmp_path / "huge.safetensors"
    size = write_safetensors(path, specs)
    assert size > 12e9 and path.stat().st_blocks * 512 < 50e6  # sparse: almost no disk
    assert reset_peak_rss()  # the peak from here on (the test process may be large already)
    base = current_rss_bytes()
    with SafetensorsReader(path) as reader:
        assert torch.equal(reader.read("small"), small)
    assert peak_rss_bytes() - base < 1e9


def _bytes(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().reshape(-1).view(torch.uint8)


def _write_raw(path: Path, header: dict, data: bytes = b"") -> Path:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        ({"x": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}}, b"\0" * 4, "truncated"),
        ({"x": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 1]}}, b"\0", "unknown dtype"),
        ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 8, "does not match"),
        ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\0" * 8, "out of order"),
        ({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 8, "invalid shape"),
        (
            {
                "x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
            },
            b"\0" * 12,
            "overlap",
        ),
        ({"__metadata__": {"a": 1}}, b"", "strings"),
        ({"x": [1, 2]}, b"", "not a tensor description"),
    ],
)
def test_loading_rejects_corrupt_headers(tmp_path: Path, header: dict, data: bytes, message: str) -> None:
    path = _write_raw(tmp_path / "bad.safetensors", header, data)
    with pytest.raises(CheckpointError, match=message) as info:
        read_header(path)
    assert "\n" not in str(info.value)


def test_loading_rejects_truncated_header_and_garbage(tmp_path: Path) -> None:
    good = tmp_path / "good.safetensors"
    write_safetensors(good, {"x": torch.ones(4)})
    raw = good.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(raw[:20])
    with pytest.raises(CheckpointError, match="truncated"):
        read_header(cut)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(raw[:8] + b"{" + b"\xff" * (len(raw) - 9))
    with pytest.raises(CheckpointError, match="corrupt"):
        read_header(broken)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(NotSafetensorsError, match="not a safetensors file"):
        read_header(garbage)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        read_header(empty)


def test_loading_refuses_pickle_checkpoints(tmp_path: Path) -> None:
    zipped = tmp_path / "model.safetensors"  # torch.save zip under a misleading name
    torch.save({"w": torch.ones(2)}, zipped)
    with pytest.raises(NotSafetensorsError, match="safetensors only"):
        read_header(zipped)
    plain = tmp_path / "model.data"
    plain.write_bytes(pickle.dumps({"w": [1.0]}, protocol=4))
    with pytest.raises(NotSafetensorsError, match="safetensors only"):
        read_header(plain)
    for suffix in (".ckpt", ".pt", ".bin"):
        named = tmp_path / f"weights{suffix}"
        write_safetensors(named, {"x": torch.ones(1)})  # even valid safetensors bytes: the suffix is refused
        with pytest.raises(NotSafetensorsError, match="pickle"):
            read_header(named)


def test_loading_accepts_header_lengths_that_start_like_a_pickle(tmp_path: Path) -> None:
    """A header of 640 / 896 / 1152 / 1408 bytes encodes as ``80 02..05 00 ..``, the first bytes of a pickle."""
    for length in (640, 896, 1152, 1408):
        path = tmp_path / f"h{length}.safetensors"
        write_safetensors(path, {"x": torch.ones(1)})
        data = path.read_bytes()
        old = int.from_bytes(data[:8], "little")
        header = data[8:8 + old].rstrip(b" ") + b" " * (length - len(data[8:8 + old].rstrip(b" ")))
        path.write_bytes(length.to_bytes(8, "little") + header + data[8 + old:])
        assert path.read_bytes()[:2] == bytes([0x80, 2 + (length - 640) // 256])
        with SafetensorsReader(read_header(path)) as reader:
            assert torch.equal(reader.read("x"), torch.ones(1))


def test_loading_detects_file_shrunk_after_header_read(tmp_path: Path) -> None:
    path = tmp_path / "x.safetensors"
    write_safetensors(path, {"x": torch.ones(1024)})
    header = read_header(path)
    with open(path, "r+b") as f:
        f.truncate(header.file_size - 100)
    with pytest.raises(CheckpointError, match="changed size"):
        SafetensorsReader(header)
