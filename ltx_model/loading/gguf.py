"""GGUF model files (city96-style quantised LTX-2 / LTX-2.3 transformers): reading, key mapping, configs, writing.

Files are read with our own header parser (:mod:`ltx_model.loading.gguf_header`: metadata scalars decoded, arrays
such as the tokenizer vocabulary only stepped over) and each tensor's bytes are read by offset when that tensor is
read; quantised tensors stay as their raw GGML blocks (``ltx_model.quant.ggml`` de-quantises them, per layer, at
compute time). Reading needs no ``gguf`` package; only the writing helpers (:func:`write_gguf`,
:func:`quantize_tensor`, used by tests and tools) import it.

Keys: the official checkpoint names, with or without the ``model.diffusion_model.`` prefix (converters strip it);
the transformer's and the text connectors' tensors are used, other components' keys (``vae.``, ``audio_vae.``,
``vocoder.``, ``text_embedding_projection.``) are ignored.

Config: GGUF files carry no LTX metadata, so the transformer config comes from, in order:

* the string field ``ltx2.config``: the JSON of the safetensors checkpoint's ``config`` metadata (an object with at
  least the ``transformer`` section), written by :func:`write_gguf` (and by any converter that copies it);
  ``ltx2.model_version`` optionally carries the checkpoint's ``model_version``;
* else a family preset (:mod:`ltx_model.loading.released`: the released 19B / 22B transformer sections), chosen by
  the caller or detected from the keys (the 22B has ``prompt_adaln_single``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ..quant.ggml import BLOCK_SIZES, PLAIN_TYPES, GGMLType, quantized_nbytes
from .detect import Family
from .gguf_header import GGUFFormatError, TensorInfo, read_gguf_header
from .keymaps import AUDIO_VAE_PREFIX, DIFFUSION_PREFIX, TEXT_PROJECTION_PREFIX, VIDEO_VAE_PREFIX, VOCODER_PREFIX
from .released import RELEASED_MODEL_VERSIONS, released_transformer
from .safetensors_io import CheckpointError

CONFIG_FIELD = "ltx2.config"
VERSION_FIELD = "ltx2.model_version"
ORIG_SHAPE_FIELD = "comfy.gguf.orig_shape."  # city96's converter: original shape of reshaped (5D) tensors
ARCHITECTURE = "ltxv"
OTHER_COMPONENTS = (VIDEO_VAE_PREFIX, AUDIO_VAE_PREFIX, VOCODER_PREFIX, TEXT_PROJECTION_PREFIX)


@dataclass(frozen=True)
class GGUFTensor:
    """One tensor of a GGUF file: file key, GGML type and logical shape (torch order, e.g. ``(out, in)``)."""

    key: str
    qtype: GGMLType
    shape: tuple[int, ...]

    @property
    def quantized(self) -> bool:
        """Whether the data are GGML blocks (not plain F32 / F16 / BF16 values)."""
        return self.qtype not in PLAIN_TYPES


# GGML type ids this package does not de-quantise, by name (for the error message)
_OTHER_GGML_TYPES = {3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 15: "Q8_K", 16: "IQ2_XXS",
                     17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS",
                     24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0",
                     39: "MXFP4"}


class GGUFFile:
    """An opened GGUF model file (header parsed; no tensor data is read until :meth:`read`).

    Attributes:
        path: the file.
        header: the parsed :class:`~ltx_model.loading.gguf_header.GGUFHeader` (metadata, tensor infos).
        tensors: ``{file key: GGUFTensor}`` in file order.
        config: the ``ltx2.config`` object, or None.
        model_version: ``ltx2.model_version`` or None.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            self.header = read_gguf_header(self.path)
        except (GGUFFormatError, OSError) as exc:
            raise CheckpointError(f"{self.path}: not a readable GGUF file ({exc})") from None
        self.config = _json_field(self.path, self.field(CONFIG_FIELD))
        self.model_version = self.field(VERSION_FIELD)
        self.tensors: dict[str, GGUFTensor] = {}
        self._stored: dict[str, tuple[TensorInfo, tuple[int, ...], int]] = {}  # info, stored shape, bytes
        for info in self.header.tensors:
            qtype = self._qtype(info)
            stored = tuple(int(s) for s in reversed(info.dims))
            try:
                nbytes = quantized_nbytes(stored, qtype)
            except (ValueError, IndexError) as exc:  # rows that do not fill whole blocks; no dimensions
                raise CheckpointError(f"{self.path}: tensor {info.name}: bad shape {stored} ({exc})") from None
            orig = self.field(ORIG_SHAPE_FIELD + info.name)
            self.tensors[info.name] = GGUFTensor(info.name, qtype, tuple(int(s) for s in orig) if orig else stored)
            self._stored[info.name] = (info, stored, nbytes)

    def _qtype(self, info: TensorInfo) -> GGMLType:
        try:
            return GGMLType(info.ggml_type)
        except ValueError:
            name = _OTHER_GGML_TYPES.get(info.ggml_type, f"id {info.ggml_type}")
            raise CheckpointError(f"{self.path}: tensor {info.name} has GGML type {name}, which this loader does "
                                  f"not de-quantise (supported: {', '.join(q.name for q in GGMLType)})") from None

    def field(self, name: str, default: Any = None) -> Any:
        """The value of metadata field ``name`` (e.g. ``general.architecture``), or ``default`` when absent.
        Array fields (e.g. ``tokenizer.ggml.tokens``) are decoded from the file on each call, as lists."""
        return self.header.value(name) if name in self.header.types else default

    def data_end(self) -> int:
        """The byte offset where the last tensor's data end (the file must be at least this long)."""
        return max((info.offset + n for info, _, n in self._stored.values()), default=self.header.data_start)

    def check_data(self) -> None:
        """Raise CheckpointError when the file is shorter than its tensor infos say (truncated download); reads
        no tensor data."""
        size = os.path.getsize(self.path)
        if size < self.data_end():
            raise CheckpointError(f"{self.path}: truncated: its tensor data end at byte {self.data_end()}, but the "
                                  f"file has {size} bytes")

    def read(self, key: str) -> torch.Tensor:
        """The stored data of ``key`` as a new CPU tensor: raw uint8 blocks ``(rows, row_bytes)`` for quantised
        types, values of the logical shape for F32 / F16, raw uint8 for BF16 (``ggml.dequantize`` reads both)."""
        info, stored, nbytes = self._stored[key]
        data = torch.empty(nbytes, dtype=torch.uint8)
        with open(self.path, "rb") as handle:
            handle.seek(info.offset)
            got = handle.readinto(memoryview(data.numpy())) if nbytes else 0
        if got != nbytes:
            raise CheckpointError(f"{self.path}: truncated: tensor {key} needs {nbytes} bytes at {info.offset}, the "
                                  f"file ends after {got}")
        qtype = GGMLType(info.ggml_type)
        if qtype in (GGMLType.F32, GGMLType.F16):
            return data.view(PLAIN_TYPES[qtype]).reshape(stored)
        return data.reshape(*stored[:-1], -1)


def _json_field(path: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        config = json.loads(value)
    except (TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: {CONFIG_FIELD} is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or not isinstance(config.get("transformer"), dict):
        raise CheckpointError(f"{path}: {CONFIG_FIELD} must be a JSON object with a 'transformer' section")
    return config


def model_keys(file: GGUFFile) -> dict[str, str]:
    """``{module key: file key}`` of the transformer and text connectors (``HostTransformer``'s state dict)."""
    out = {}
    for key in file.tensors:
        name = key.removeprefix(DIFFUSION_PREFIX)
        if not name.startswith(OTHER_COMPONENTS):
            out[name] = key
    if not out:
        raise CheckpointError(f"{file.path}: no transformer tensors in this GGUF file")
    return out


def detect_family(keys: Mapping[str, str]) -> Family:
    """19B, 2.3 or 2.5 from the module keys (2.5 has the keyframe embedding, 2.3 the prompt AdaLN tables)."""
    if "keyframes_abs_pos_embedding" in keys:
        return Family.LTX25
    prompt = any(k.startswith("prompt_adaln_single.") or k.endswith(".prompt_scale_shift_table") for k in keys)
    return Family.LTX23_22B if prompt else Family.LTX2_19B


def file_config(file: GGUFFile, family: Family | None = None) -> tuple[dict[str, Any], str | None, Family]:
    """``(checkpoint-style config, model_version, family)``: from the file's ``ltx2.config`` when present, else
    the preset of ``family`` (None: detected from the keys)."""
    keys = model_keys(file)
    detected = detect_family(keys)
    if file.config is not None:
        version = file.model_version or RELEASED_MODEL_VERSIONS[detected]
        return file.config, version, detected
    family = family or detected
    if family not in RELEASED_MODEL_VERSIONS:
        raise CheckpointError(f"{file.path}: no preset for family {family.value}")
    config = {"transformer": released_transformer(family)}
    return config, file.model_version or RELEASED_MODEL_VERSIONS[family], family


def prefixed_keys(keys: Mapping[str, str]) -> set[str]:
    """Module keys as official file keys (what the config registry reads to pick the transformer layout)."""
    return {DIFFUSION_PREFIX + k for k in keys}


def write_gguf(
    path: str | os.PathLike[str],
    tensors: Mapping[str, tuple[torch.Tensor, GGMLType]],
    *,
    config: Mapping[str, Any] | None = None,
    model_version: str | None = None,
) -> None:
    """Write a GGUF model file (architecture ``ltxv``) with ``ltx2.config`` / ``ltx2.model_version`` fields.

    Args:
        path: output file.
        tensors: ``{file key: (data, type)}``; ``data`` is a float tensor of the logical shape for F32 / F16 / BF16,
            or the raw uint8 blocks ``(rows, row_bytes)`` for quantised types (see :func:`quantize_tensor`).
        config: the checkpoint-style ``config`` object (at least ``{"transformer": {...}}``), or None to leave the
            field out (loaders then use a family preset).
        model_version: optional ``ltx2.model_version``.
    """
    import gguf

    writer = gguf.GGUFWriter(os.fspath(path), ARCHITECTURE)
    if config is not None:
        writer.add_string(CONFIG_FIELD, json.dumps(config))
    if model_version is not None:
        writer.add_string(VERSION_FIELD, model_version)
    for key, (data, qtype) in tensors.items():
        qtype = GGMLType(qtype)
        raw_dtype = gguf.GGMLQuantizationType(int(qtype))
        if qtype in (GGMLType.F32, GGMLType.F16):
            array = data.to(PLAIN_TYPES[qtype]).contiguous().numpy()
            writer.add_tensor(key, array, raw_dtype=raw_dtype)
            continue
        if qtype is GGMLType.BF16 and data.dtype != torch.uint8:
            data = data.to(torch.bfloat16).contiguous().view(torch.uint8)
        writer.add_tensor(key, data.contiguous().numpy(), raw_dtype=raw_dtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def quantize_tensor(tensor: torch.Tensor, qtype: GGMLType) -> torch.Tensor:
    """Quantise a float tensor for :func:`write_gguf` with the ``gguf`` package's numpy quantisers (Q8_0, Q4_0,
    and the plain types; the package has no K-quant quantisers). Returns raw uint8 blocks or the tensor itself."""
    import gguf

    qtype = GGMLType(qtype)
    if qtype in PLAIN_TYPES:
        return tensor
    raw = gguf.quants.quantize(tensor.detach().float().numpy(), gguf.GGMLQuantizationType(int(qtype)))
    return torch.from_numpy(raw)


# byte offsets of the f16 scale fields in one block (random bytes there could be inf / NaN)
_F16_FIELDS = {GGMLType.Q4_0: (0,), GGMLType.Q8_0: (0,), GGMLType.Q4_K: (0, 2), GGMLType.Q5_K: (0, 2),
               GGMLType.Q6_K: (208,)}


def synthetic_blocks(
    qtype: GGMLType, shape: tuple[int, ...], *, scale: float, generator: torch.Generator
) -> torch.Tensor:
    """Random GGML blocks for a tensor of logical ``shape`` (tests and benchmarks; the ``gguf`` package cannot
    quantise K-types): every quantised value / sub-scale bit pattern is random, the f16 block scales are uniform
    in ``[-scale, scale]`` (Q4_K / Q5_K ``dmin``: ``[0, scale]``). Returns uint8 ``(rows, row_bytes)``."""
    qtype = GGMLType(qtype)
    block, size = BLOCK_SIZES[qtype]
    rows = 1
    for s in shape[:-1]:
        rows *= int(s)
    n = rows * shape[-1] // block
    raw = torch.randint(0, 256, (n, size), dtype=torch.uint8, generator=generator)
    for index, offset in enumerate(_F16_FIELDS[qtype]):
        low = 0.0 if index == 1 else -scale
        value = (torch.rand(n, 1, generator=generator) * (scale - low) + low).to(torch.float16)
        raw[:, offset:offset + 2] = value.view(torch.uint8)
    return raw.reshape(rows, -1)
