"""Our GGUF header parser (ltx_model.loading.gguf_header) against the ``gguf`` package's ``GGUFReader``: every
field (type, element type, value), every tensor info (name, dims, type, absolute offset), the data start and the
bytes ``GGUFFile.read`` returns, on several files; a 262k-entry vocabulary is skipped without being decoded."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch

from ltx_model.demo import random_gemma_text_model, write_gemma_gguf
from ltx_model.loading import CheckpointError
from ltx_model.loading import gguf_header as gh
from ltx_model.loading.gguf import GGUFFile, quantize_tensor, synthetic_blocks, write_gguf
from ltx_model.quant import GGMLType

VOCAB = 262_144  # Gemma 3's tokenizer size


def _flat(value):
    """GGUFReader's ``contents()`` flattens nested arrays."""
    return [x for item in value for x in _flat(item)] if isinstance(value, list) else [value]


def _assert_same_as_reader(path: Path) -> gh.GGUFHeader:
    ours, reader = gh.read_gguf_header(path), gguf.GGUFReader(path)
    fields = {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert (ours.version, len(ours.tensors), len(ours.types)) == tuple(
        reader.fields[f"GGUF.{k}"].contents() for k in ("version", "tensor_count", "kv_count"))
    assert list(ours.types) == list(fields)
    for key, field in fields.items():
        assert ours.types[key] == int(field.types[0]), key
        value = ours.value(key)
        if ours.types[key] is gh.ValueType.ARRAY:
            assert ours.arrays[key].elem_type == int(field.types[1]), key
            assert _flat(value) == field.contents(), key
        else:
            assert value == field.contents() and type(value) is type(field.contents()), key
    assert (ours.alignment, ours.data_start) == (reader.alignment, reader.data_offset)
    want = [(t.name, tuple(int(d) for d in t.shape), int(t.tensor_type), int(t.data_offset)) for t in reader.tensors]
    assert [(t.name, t.dims, t.ggml_type, t.offset) for t in ours.tensors] == want
    return ours


def _assert_reads_as_reader(path: Path) -> None:
    file, reader = GGUFFile(path), gguf.GGUFReader(path)
    for t in reader.tensors:
        got, want = file.read(t.name), torch.from_numpy(np.array(t.data))
        assert got.dtype == want.dtype and torch.equal(got, want), t.name


def _finish(writer: gguf.GGUFWriter) -> None:
    for step in (writer.write_header_to_file, writer.write_kv_data_to_file, writer.write_tensors_to_file,
                 writer.close):
        step()


def test_gguf_header_every_scalar_kind_nested_arrays_alignment(tmp_path: Path) -> None:
    path = tmp_path / "kinds.gguf"
    writer = gguf.GGUFWriter(str(path), "test")
    for i, (add, value) in enumerate([(writer.add_uint8, 200), (writer.add_int8, -100), (writer.add_uint16, 60000),
                                      (writer.add_int16, -30000), (writer.add_uint32, 4_000_000_000),
                                      (writer.add_int32, -2_000_000_000), (writer.add_float32, 1e-6),
                                      (writer.add_uint64, 2**63 + 5), (writer.add_int64, -(2**62)),
                                      (writer.add_float64, 0.1), (writer.add_bool, True), (writer.add_string, "é ✓")]):
        add(f"k.{i}", value)
    writer.add_array("a.ints", [1, -2, 3])
    writer.add_array("a.floats", [0.5, 1e-3])
    writer.add_array("a.strings", ["a", "bé", ""])
    writer.add_array("a.bools", [True, False])
    writer.add_array("a.nested", [[1, 2], [3, 4, 5]])
    writer.add_array("a.empty", [])
    writer.add_custom_alignment(64)
    writer.add_tensor("t.f32", np.arange(15, dtype=np.float32).reshape(3, 5))
    writer.add_tensor("t.f16", np.ones((2, 3, 4), dtype=np.float16))
    _finish(writer)
    header = _assert_same_as_reader(path)
    assert header.alignment == 64 and header.data_start % 64 == 0
    assert header.value("a.nested") == [[1, 2], [3, 4, 5]] and header.value("k.11") == "é ✓"
    _assert_reads_as_reader(path)


def test_gguf_header_transformer_and_gemma_files_equal_reader(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.randn(64, 256, generator=g)
    write_gguf(tmp_path / "ltx.gguf", {
        "a.weight": (synthetic_blocks(GGMLType.Q6_K, (64, 256), scale=1e-3, generator=g), GGMLType.Q6_K),
        "b.weight": (quantize_tensor(w, GGMLType.Q8_0), GGMLType.Q8_0),
        "c.weight": (w, GGMLType.BF16), "d.bias": (w[0], GGMLType.F32), "e.weight": (w[:3, :7], GGMLType.F16),
    }, config={"transformer": {"num_layers": 1}}, model_version="2.3.0")
    from test_text_gemma_gguf import _sentencepiece_model

    model = random_gemma_text_model(seed=3)
    write_gemma_gguf(tmp_path / "gemma.gguf", model, qtype=GGMLType.Q8_0, sentencepiece_model=_sentencepiece_model())
    for name in ("ltx.gguf", "gemma.gguf"):
        header = _assert_same_as_reader(tmp_path / name)
        _assert_reads_as_reader(tmp_path / name)
    assert header.arrays["tokenizer.ggml.tokens"].count == 48 and len(header.value("tokenizer.ggml.scores")) == 48


def _raw_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _write_vocab_file(path: Path, vocab: int) -> None:
    """A gemma3-style header with a ``vocab``-entry tokens / scores / token_type vocabulary and one F32 tensor,
    written byte by byte (GGUFWriter takes seconds for 262k strings)."""
    tokens = b"".join(_raw_string(f"tok{i}") for i in range(vocab))
    kvs = [_raw_string("general.architecture") + struct.pack("<I", 8) + _raw_string("gemma3"),
           _raw_string("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, vocab) + tokens,
           _raw_string("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, vocab)
           + np.arange(vocab, dtype="<f4").tobytes(),
           _raw_string("tokenizer.ggml.token_type") + struct.pack("<IIQ", 9, 5, vocab)
           + np.ones(vocab, dtype="<i4").tobytes(),
           _raw_string("gemma3.block_count") + struct.pack("<II", 4, 48)]
    info = _raw_string("token_embd.weight") + struct.pack("<IQQIQ", 2, 4, 3, 0, 0)
    head = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kvs)) + b"".join(kvs) + info
    path.write_bytes(head + bytes(-len(head) % 32) + np.arange(12, dtype="<f4").tobytes())


def test_gguf_header_skips_a_262k_vocabulary_without_decoding_it(tmp_path: Path, monkeypatch) -> None:
    _write_vocab_file(tmp_path / "small.gguf", 5)
    _assert_same_as_reader(tmp_path / "small.gguf")  # the byte writer writes what GGUFReader reads
    _write_vocab_file(tmp_path / "vocab.gguf", VOCAB)

    def no_decoding(*args, **kwargs):
        raise AssertionError("an array was decoded while parsing the header")

    with monkeypatch.context() as patch:
        patch.setattr(gh._Walker, "decode_array", no_decoding)
        start = time.perf_counter()
        file = GGUFFile(tmp_path / "vocab.gguf")
        seconds = time.perf_counter() - start
    # ~0.08 s measured on 2 shared cores (gguf.GGUFReader: ~33 s for this header); a 35x margin for load
    assert seconds < 3.0, f"header of a {VOCAB}-token GGUF parsed in {seconds:.2f} s"
    assert file.field("gemma3.block_count") == 48 and file.header.arrays["tokenizer.ggml.tokens"].count == VOCAB
    assert torch.equal(file.read("token_embd.weight"), torch.arange(12, dtype=torch.float32).reshape(3, 4))
    tokens = file.field("tokenizer.ggml.tokens")  # decoded on request
    assert len(tokens) == VOCAB and tokens[-1] == f"tok{VOCAB - 1}"
    assert file.field("tokenizer.ggml.scores")[7] == 7.0 and file.field("tokenizer.ggml.token_type")[:2] == [1, 1]


def test_gguf_header_bad_files_clear_errors(tmp_path: Path) -> None:
    _write_vocab_file(tmp_path / "v.gguf", 50)
    data = (tmp_path / "v.gguf").read_bytes()
    cases = {"short": data[:200], "magic": b"GGML" + data[4:], "version": data[:4] + struct.pack("<I", 7) + data[8:],
             "big_endian": data[:4] + struct.pack(">I", 3) + data[8:], "empty": b""}
    messages = {"short": "truncated or corrupt header", "magic": "bad magic", "version": "version 7 is not supported",
                "big_endian": "big-endian", "empty": "too short"}
    for name, raw in cases.items():
        (tmp_path / f"{name}.gguf").write_bytes(raw)
        with pytest.raises(CheckpointError, match=f"{name}.gguf: not a readable GGUF file.*{messages[name]}"):
            GGUFFile(tmp_path / f"{name}.gguf")
    (tmp_path / "cut.gguf").write_bytes(data[:-8])  # header intact, tensor data cut short
    cut = GGUFFile(tmp_path / "cut.gguf")
    with pytest.raises(CheckpointError, match="cut.gguf: truncated: its tensor data end at byte"):
        cut.check_data()
    with pytest.raises(CheckpointError, match="truncated: tensor token_embd.weight needs 48 bytes"):
        cut.read("token_embd.weight")
