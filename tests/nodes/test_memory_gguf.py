"""GGUF transformers in the real host (CPU): "Load GGUF Model (LTX-2)" keeps GGML blocks in memory, de-quantises
per layer, and equals a dense model holding the ``gguf`` package's own de-quantised weights (atol 1e-5 on the
velocity, float32 compute); LoRA (core loader) applies on the fly; lowvram partial loading; the node reads files
without the ``gguf`` package.

The test model is the 19B form with 256-wide streams (K-quant blocks are 256 values) and 2 layers; its block
matrices cycle through Q8_0, Q4_0, Q4_K, Q5_K, Q6_K (K-types as random blocks: the gguf package cannot quantise
them), other matrices F16 / BF16, vectors F32.
"""

from __future__ import annotations

import json
import logging
import sys

import gguf
import numpy as np
import pytest
import torch

pytestmark = pytest.mark.comfy

GGUF_NAME = "ltx2n-ggtest-19b-distilled-Q4_K_M.gguf"
DENSE_NAME = "ltx2n-ggtest-19b-distilled-dense.safetensors"
WIDE = {"num_layers": 2, "num_attention_heads": 2, "attention_head_dim": 128, "cross_attention_dim": 256,
        "audio_num_attention_heads": 2, "audio_attention_head_dim": 128, "audio_cross_attention_dim": 256}
CYCLE = ("Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K")


def _file_tensors(config):
    """``{file key: (data, GGMLType)}`` and ``{file key: float32 value the gguf package de-quantises to}``."""
    from ltx_model.loading import KEYMAPS, Component
    from ltx_model.loading.gguf import quantize_tensor, synthetic_blocks
    from ltx_model.loading.registry import make_config, make_module
    from ltx_model.precision import fp8_eligible
    from ltx_model.quant import GGMLType

    keys = {"model.diffusion_model.patchify_proj.weight", "model.diffusion_model.audio_patchify_proj.weight"}
    g = torch.Generator().manual_seed(21)
    out, dense, index = {}, {}, 0
    for component in (Component.TRANSFORMER, Component.CONNECTORS):
        module = make_module(component, make_config(component, config, keys), dtype=torch.float32, device="meta")
        for name, value in module.state_dict().items():
            key, shape = KEYMAPS[component].to_file_key(name).removeprefix("model.diffusion_model."), value.shape
            if fp8_eligible(name) and component is Component.TRANSFORMER:
                qtype = GGMLType[CYCLE[index % len(CYCLE)]]
                index += 1
                scale = 0.1 / (shape[1] ** 0.5) / (63 * 15 if qtype.name.endswith("_K") else 1)
                if qtype in (GGMLType.Q8_0, GGMLType.Q4_0):
                    data = quantize_tensor(torch.randn(shape, generator=g) * 0.1 / shape[1] ** 0.5, qtype)
                else:
                    data = synthetic_blocks(qtype, tuple(shape), scale=scale, generator=g)
                values = gguf.quants.dequantize(data.numpy(), gguf.GGMLQuantizationType(int(qtype)))
                dense[key] = torch.from_numpy(np.ascontiguousarray(values)).reshape(shape)
            else:
                qtype = GGMLType.F32 if len(shape) < 2 else (GGMLType.F16 if index % 2 else GGMLType.BF16)
                gain = 1.0 if len(shape) < 2 else shape[-1] ** -0.5
                data = torch.randn(shape, generator=g) * gain * 0.5 + (1.0 if key.endswith("norm.weight") else 0.0)
                dense[key] = data.to({GGMLType.F16: torch.float16, GGMLType.BF16: torch.bfloat16}.get(
                    qtype, torch.float32)).float()
            out[key] = (data, qtype)
    return out, dense


@pytest.fixture(scope="module")
def files(comfy_host):
    from ltx_model.demo import DemoFamily, demo_config
    from ltx_model.loading import write_safetensors
    from ltx_model.loading.gguf import write_gguf

    config = demo_config(DemoFamily.LTX2)
    config["transformer"].update(WIDE)
    tensors, dense = _file_tensors(config)
    write_gguf(comfy_host.model_dir("diffusion_models") / GGUF_NAME, tensors, config={"transformer":
                                                                                      config["transformer"]})
    write_safetensors(comfy_host.model_dir("checkpoints") / DENSE_NAME,
                      {"model.diffusion_model." + k: v for k, v in dense.items()},
                      metadata={"config": json.dumps(config)})
    return tensors


@pytest.fixture(scope="module")
def models(pack_nodes, files):
    gguf_loader = pack_nodes.gguf_loader.LTX2NGGUFLoader
    assert GGUF_NAME in gguf_loader.define_schema().inputs[0].options
    quantized = gguf_loader.execute(unet_name=GGUF_NAME).result[0]
    dense = pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=DENSE_NAME).result[0]
    return quantized, dense


def _velocity(model, seed=2):
    import comfy.utils

    g = torch.Generator().manual_seed(seed)
    parts = [torch.randn(1, 128, 2, 2, 2, generator=g), torch.randn(1, 8, 5, 16, generator=g)]
    packed, shapes = comfy.utils.pack_latents(parts)
    context = torch.randn(1, 4, sum(model.model.diffusion_model.context_widths()), generator=g)
    with torch.inference_mode():
        return model.model.apply_model(packed, torch.tensor([0.8]), c_crossattn=context, frame_rate=24.0,
                                       latent_shapes=shapes)


def test_memory_gguf_blocks_stay_quantized(pack_nodes, models, files):
    quantized, dense = models
    layer = quantized.model.diffusion_model.transformer_blocks[0].attn1.to_q
    assert layer.weight.dtype == torch.uint8 and layer.gguf_qtype.name in CYCLE
    assert torch.equal(layer.weight, files["transformer_blocks.0.attn1.to_q.weight"][0])
    kinds = {m.gguf_qtype.name for m in quantized.model.diffusion_model.modules() if getattr(m, "gguf_qtype", None)}
    assert kinds == set(CYCLE)
    assert quantized.model_size() < 0.45 * dense.model_size()
    facts = pack_nodes.model_loader.model_facts(quantized)
    assert facts.family.value == pack_nodes.model_loader.Family.LTX2_19B.value and facts.distilled


def test_memory_gguf_velocity_equals_dense_dequantized_model(models):
    quantized, dense = models
    out, ref = _velocity(quantized), _velocity(dense)
    assert ref.abs().mean() > 0.05 and torch.isfinite(out).all()
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_memory_gguf_lora_applies_on_the_fly_and_unpatches(comfy_host, pack_nodes, models):
    from ltx_model.loading import write_safetensors

    quantized, dense = models
    g = torch.Generator().manual_seed(4)
    lora = {}
    for target in ("transformer_blocks.0.attn1.to_q", "transformer_blocks.1.ff.net.2"):
        out_f, in_f = dense.model.diffusion_model.get_submodule(target).weight.shape
        lora[f"diffusion_model.{target}.lora_A.weight"] = torch.randn(2, in_f, generator=g) * 0.3
        lora[f"diffusion_model.{target}.lora_B.weight"] = torch.randn(out_f, 2, generator=g) * 0.3
    write_safetensors(comfy_host.model_dir("loras") / "ltx2n_ggtest_lora.safetensors", lora)
    loader = comfy_host.node_class("LoraLoaderModelOnly")()
    cpu = torch.device("cpu")
    results = []
    for model in (quantized, dense):
        patched = loader.load_lora_model_only(model, "ltx2n_ggtest_lora.safetensors", 1.0)[0]
        lora_path = str(comfy_host.model_dir("loras") / "ltx2n_ggtest_lora.safetensors")
        ours = pack_nodes.lora.lora_patches(model, lora_path)
        assert len(ours) == 2  # the pack's own loader checks GGUF layers by their de-quantised shape
        with torch.inference_mode():
            patched.patch_model(device_to=cpu)
        try:
            results.append(_velocity(patched))
        finally:
            patched.unpatch_model(device_to=cpu)
    assert (results[1] - _velocity(dense)).abs().max() > 0.05  # the LoRA matters
    torch.testing.assert_close(results[0], results[1], atol=1e-5, rtol=1e-5)
    layer = quantized.model.diffusion_model.transformer_blocks[0].attn1.to_q
    assert layer.weight_function == [] and layer.weight.dtype == torch.uint8  # unpatched, never merged
    torch.testing.assert_close(_velocity(quantized), _velocity(dense), atol=1e-5, rtol=1e-5)


def test_memory_gguf_lowvram_partial_load(models):
    quantized, _ = models
    full = _velocity(quantized)
    model = quantized.clone()
    cpu = torch.device("cpu")
    with torch.inference_mode():
        model.patch_model(device_to=cpu, lowvram_model_memory=int(0.3 * model.model_size()))
    try:
        assert model.model.model_lowvram
        partial = _velocity(model)
    finally:
        model.unpatch_model(device_to=cpu)
    torch.testing.assert_close(partial, full, atol=0, rtol=0)


def test_memory_gguf_bad_file_one_clear_error(comfy_host, pack_nodes, files):
    from ltx_model.loading.gguf import write_gguf

    broken = dict(files)
    broken.pop("transformer_blocks.1.ff.net.2.weight")
    write_gguf(comfy_host.model_dir("diffusion_models") / "ltx2n-ggtest-broken.gguf", broken,
               config={"transformer": {"num_layers": 2}})
    with pytest.raises(ValueError, match="not a loadable LTX-2 GGUF model"):
        pack_nodes.gguf_loader.LTX2NGGUFLoader.execute(unet_name="ltx2n-ggtest-broken.gguf")


def test_memory_gguf_node_listed_and_reads_without_the_package(comfy_host, pack_nodes, files, monkeypatch, caplog):
    """The pack parses GGUF itself: with `gguf` unimportable the loader is still listed (no warning) and reads the
    file; a truncated file is refused before anything is built."""
    monkeypatch.setitem(sys.modules, "gguf", None)  # `import gguf` -> ImportError
    monkeypatch.delitem(sys.modules, pack_nodes.__name__ + ".gguf_loader")
    with caplog.at_level(logging.WARNING):
        found = pack_nodes._optional_nodes()
    assert [cls.__name__ for cls in found] == ["LTX2NGGUFLoader"] and "hidden" not in caplog.text
    path = comfy_host.model_dir("diffusion_models") / GGUF_NAME
    file = pack_nodes.gguf_ops.GGUFFile(path)
    key = "transformer_blocks.0.attn1.to_q.weight"
    assert torch.equal(file.read(key), files[key][0]) and file.tensors[key].qtype.name in CYCLE
    (path.parent / "ltx2n-ggtest-cut.gguf").write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(ValueError, match="ltx2n-ggtest-cut.gguf is not a loadable LTX-2 GGUF model: .*truncated"):
        found[0].execute(unet_name="ltx2n-ggtest-cut.gguf")
