"""GGUF model files (ltx_model.loading.gguf): write/read round trip, key mapping, config field, family presets."""

from __future__ import annotations

import json

import gguf
import numpy as np
import pytest
import torch

from ltx_model.loading import CheckpointError, Component, Family
from ltx_model.loading.gguf import (
    CONFIG_FIELD,
    GGUFFile,
    file_config,
    model_keys,
    prefixed_keys,
    quantize_tensor,
    synthetic_blocks,
    write_gguf,
)
from ltx_model.loading.registry import make_config, make_module
from ltx_model.quant import GGMLType, dequantize


def _tensors():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(64, 256, generator=g)
    return {
        "transformer_blocks.0.attn1.to_q.weight": (synthetic_blocks(GGMLType.Q4_K, (64, 256), scale=1e-3,
                                                                    generator=g), GGMLType.Q4_K),
        "transformer_blocks.0.attn1.to_k.weight": (quantize_tensor(w, GGMLType.Q8_0), GGMLType.Q8_0),
        "transformer_blocks.0.attn1.to_v.weight": (w, GGMLType.BF16),
        "transformer_blocks.0.attn1.to_q.bias": (torch.randn(64, generator=g), GGMLType.F32),
        "patchify_proj.weight": (torch.randn(8, 4, generator=g), GGMLType.F16),
        "vae.decoder.conv_in.conv.weight": (torch.randn(4, 4, generator=g), GGMLType.F32),
    }, w


def test_gguf_file_round_trip_types_shapes_values(tmp_path):
    tensors, w = _tensors()
    path = tmp_path / "tiny.gguf"
    write_gguf(path, tensors, config={"transformer": {"num_layers": 1}}, model_version="2.3.0")
    f = GGUFFile(path)
    assert f.config == {"transformer": {"num_layers": 1}} and f.model_version == "2.3.0"
    info = f.tensors["transformer_blocks.0.attn1.to_q.weight"]
    assert info.qtype is GGMLType.Q4_K and info.shape == (64, 256) and info.quantized
    raw = f.read("transformer_blocks.0.attn1.to_q.weight")
    assert raw.dtype == torch.uint8 and torch.equal(raw, tensors["transformer_blocks.0.attn1.to_q.weight"][0])
    q8 = f.read("transformer_blocks.0.attn1.to_k.weight")
    reference = gguf.quants.dequantize(q8.numpy(), gguf.GGMLQuantizationType.Q8_0)
    assert torch.equal(dequantize(q8, GGMLType.Q8_0, (64, 256)), torch.from_numpy(np.ascontiguousarray(reference)))
    assert (dequantize(q8, GGMLType.Q8_0, (64, 256)) - w).abs().max() < 0.05
    bf16 = dequantize(f.read("transformer_blocks.0.attn1.to_v.weight"), GGMLType.BF16, (64, 256))
    assert torch.equal(bf16, w.to(torch.bfloat16).float())
    assert f.tensors["patchify_proj.weight"].shape == (8, 4) and not f.tensors["patchify_proj.weight"].quantized
    bias = "transformer_blocks.0.attn1.to_q.bias"
    assert torch.equal(f.read(bias), tensors[bias][0])


def test_gguf_file_keys_strip_prefix_and_skip_other_components(tmp_path):
    tensors, _ = _tensors()
    prefixed = {("model.diffusion_model." + k if not k.startswith("vae.") else k): v for k, v in tensors.items()}
    write_gguf(tmp_path / "a.gguf", prefixed)
    write_gguf(tmp_path / "b.gguf", tensors)
    a, b = model_keys(GGUFFile(tmp_path / "a.gguf")), model_keys(GGUFFile(tmp_path / "b.gguf"))
    assert set(a) == set(b) == {k for k in tensors if not k.startswith("vae.")}
    assert a["patchify_proj.weight"] == "model.diffusion_model.patchify_proj.weight"


def test_gguf_file_config_field_errors(tmp_path):
    path = tmp_path / "bad.gguf"
    writer = gguf.GGUFWriter(str(path), "ltxv")
    writer.add_string(CONFIG_FIELD, json.dumps({"vae": {}}))
    writer.add_tensor("patchify_proj.weight", np.zeros((2, 2), dtype=np.float32))
    for step in (writer.write_header_to_file, writer.write_kv_data_to_file, writer.write_tensors_to_file,
                 writer.close):
        step()
    with pytest.raises(CheckpointError, match="'transformer' section"):
        GGUFFile(path)
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf file at all")
    with pytest.raises(CheckpointError, match="not a readable GGUF file"):
        GGUFFile(tmp_path / "junk.gguf")


@pytest.mark.parametrize(("manifest", "family"), [("ltx-2-19b.json", Family.LTX2_19B),
                                                  ("ltx-2.3-22b.json", Family.LTX23_22B)])
def test_gguf_file_family_presets_build_the_real_transformer(tmp_path, manifests_dir, manifest, family):
    """Without ltx2.config the preset (detected from the keys) builds exactly the manifest's transformer."""
    spec = json.loads((manifests_dir / manifest).read_text())
    prefix = "model.diffusion_model."
    shapes = {k.removeprefix(prefix): tuple(s) for k, s in spec["tensors"].items()
              if k.startswith(prefix) and "embeddings_connector" not in k}
    path = tmp_path / "keys.gguf"
    write_gguf(path, {k: (torch.zeros(1), GGMLType.F32) for k in shapes})  # only names matter for the preset
    f = GGUFFile(path)
    config, version, detected = file_config(f)
    assert detected is family and version == ("2.3.0" if family is Family.LTX23_22B else None)
    transformer = make_config(Component.TRANSFORMER, config, prefixed_keys(model_keys(f)))
    module = make_module(Component.TRANSFORMER, transformer, dtype=torch.bfloat16, device="meta")
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == shapes
