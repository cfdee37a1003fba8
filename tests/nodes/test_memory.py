"""Memory behaviour of the pack's MODEL in the real host (CPU): streaming load, comfy.ops coverage, lowvram.

What runs here: the checkpoint loader never holds more than one file tensor beyond the model (counted exactly, and
the process's peak RSS measured on a ~70 MB model); every weight-bearing layer is a ``comfy.ops`` class (the
condition for lowvram partial loading and Dynamic VRAM), at real size too; ComfyUI's lowvram path
(``ModelPatcher.patch_model`` with a weight budget) offloads layers to cast-per-forward mode, keeps outputs
bit-identical and applies LoRA patches on the fly (``lowvram_patch_counter``). What needs a GPU and is not tested
here: real host->device weight streaming, Dynamic VRAM (comfy-aimdo is NVIDIA only; on a CPU load device
``ModelPatcherDynamic`` falls back to ``ModelPatcher``) and the VRAM numbers themselves.
"""

from __future__ import annotations

import json
import weakref

import pytest
import torch

pytestmark = pytest.mark.comfy

WIDE = "ltx2n-memtest-wide-19b.safetensors"
WIDE_TRANSFORMER = {"num_layers": 4, "num_attention_heads": 8, "attention_head_dim": 64, "cross_attention_dim": 512,
                    "audio_num_attention_heads": 8, "audio_attention_head_dim": 16, "audio_cross_attention_dim": 128}


def _load(pack_nodes, name, weight_dtype="default"):
    return pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=name, weight_dtype=weight_dtype).result[0]


@pytest.fixture(scope="module")
def wide_file(comfy_host):
    """A sparse (zero-data) fp32 19B-form checkpoint of a 512-wide 4-layer transformer + connectors (~70 MB)."""
    from ltx_model.demo import DemoFamily, demo_config
    from ltx_model.loading import KEYMAPS, Component, write_safetensors
    from ltx_model.loading.registry import make_config, make_module

    config = demo_config(DemoFamily.LTX2)
    config["transformer"].update(WIDE_TRANSFORMER)
    keys = {"model.diffusion_model.patchify_proj.weight", "model.diffusion_model.audio_patchify_proj.weight"}
    specs = {}
    for component in (Component.TRANSFORMER, Component.CONNECTORS):
        module = make_module(component, make_config(component, config, keys), dtype=torch.float32, device="meta")
        specs.update({KEYMAPS[component].to_file_key(k): ("F32", tuple(v.shape))
                      for k, v in module.state_dict().items()})
    path = comfy_host.model_dir("checkpoints") / WIDE
    write_safetensors(path, specs, metadata={"config": json.dumps(config)})
    return path


def test_memory_streaming_holds_one_tensor_at_a_time(pack_nodes, demo_files, monkeypatch):
    """Every tensor read from the file is released before the next one is read (counted by weak references)."""
    live, peak, sizes = {}, [0], []

    class CountingReader(pack_nodes.weights.SafetensorsReader):
        def read(self, name):
            tensor = super().read(name)
            live[id(tensor)] = tensor.nbytes
            sizes.append(tensor.nbytes)
            peak[0] = max(peak[0], sum(live.values()))
            weakref.finalize(tensor, live.pop, id(tensor), None)
            return tensor

    monkeypatch.setattr(pack_nodes.weights, "SafetensorsReader", CountingReader)
    model = _load(pack_nodes, demo_files.ltx23_dev)
    assert len(sizes) == len(model.model.diffusion_model.state_dict())
    assert peak[0] == max(sizes) and peak[0] < sum(sizes) / 10
    assert not live  # nothing read is kept: the model holds its own copies (non-dynamic patcher)


def test_memory_load_peak_rss_close_to_model_size(pack_nodes, wide_file):
    """Peak RSS growth while loading / the model's size (target <= 1.2; reading everything first would be ~2)."""
    import gc

    from ltx_model.inspect import current_rss_bytes, peak_rss_bytes, reset_peak_rss

    gc.collect()
    if not reset_peak_rss():
        pytest.skip("this kernel cannot reset the peak-RSS mark (/proc/self/clear_refs)")
    before = current_rss_bytes()
    model = _load(pack_nodes, wide_file.name)
    growth = peak_rss_bytes() - before
    size = model.model_size()
    assert size > 60e6
    assert growth / size <= 1.2, (growth, size)


def _weight_owners(module):
    """``(layers, others)``: modules owning parameters directly, split by whether they are comfy.ops layers."""
    layers, others = [], []
    for name, m in module.named_modules():
        if any(True for _ in m.parameters(recurse=False)):
            (layers if hasattr(m, "comfy_cast_weights") else others).append((name, m))
    return layers, others


def test_memory_every_weight_layer_is_comfy_ops(pack_nodes, demo_models, manifests_dir):
    """Tiny loaded model and the real-size 22B model on meta: every Linear / norm with weights is a comfy.ops class;
    the only other parameters are AdaLN tables and text registers (0.01 % of the 22B transformer)."""
    import comfy.ops

    loader = pack_nodes.model_loader
    for model in demo_models.values():
        layers, others = _weight_owners(model.model.diffusion_model)
        assert layers and all(isinstance(m, comfy.ops.CastWeightBiasOp) for _, m in layers)
        names = {n for _, m in others for n, _ in m.named_parameters(recurse=False)}
        assert names <= {"scale_shift_table", "audio_scale_shift_table", "prompt_scale_shift_table",
                         "audio_prompt_scale_shift_table", "scale_shift_table_a2v_ca_video",
                         "scale_shift_table_a2v_ca_audio", "learnable_registers"}
    manifest = json.loads((manifests_dir / "ltx-2.3-22b.json").read_text())
    config = loader.make_config(loader.Component.TRANSFORMER, manifest["config"], set(manifest["tensors"]))
    real = pack_nodes.diffusion.HostTransformer(transformer=config, dtype=torch.bfloat16, device="meta",
                                                operations=comfy.ops.manual_cast)
    layers, others = _weight_owners(real)
    total = sum(p.numel() for p in real.parameters())
    loose = sum(p.numel() for _, m in others for p in m.parameters(recurse=False))
    assert len(layers) > 2000 and loose / total < 1e-3


def _velocity(model, seed=5):
    import comfy.utils

    g = torch.Generator().manual_seed(seed)
    parts = [torch.randn(1, 128, 2, 2, 2, generator=g), torch.randn(1, 8, 5, 16, generator=g)]
    packed, shapes = comfy.utils.pack_latents(parts)
    context = torch.randn(1, 4, sum(model.model.diffusion_model.context_widths()), generator=g)
    return model.model.apply_model(packed, torch.tensor([0.6]), c_crossattn=context, frame_rate=24.0,
                                   latent_shapes=shapes)


def _tiny_lora(comfy_host, model, name):
    from ltx_model.loading import write_safetensors

    g = torch.Generator().manual_seed(9)
    lora = {}
    for key, weight in model.model.diffusion_model.state_dict().items():
        if key.startswith("transformer_blocks.") and key.endswith((".to_v.weight", ".net.2.weight")):
            stem = "diffusion_model." + key.removesuffix(".weight")
            lora[stem + ".lora_A.weight"] = torch.randn(2, weight.shape[1], generator=g)
            lora[stem + ".lora_B.weight"] = torch.randn(weight.shape[0], 2, generator=g)
    write_safetensors(comfy_host.model_dir("loras") / name, lora)
    return comfy_host.node_class("LoraLoaderModelOnly")().load_lora_model_only(model, name, 1.0)[0]


@pytest.mark.parametrize("with_lora", [False, True])
def test_memory_lowvram_partial_load_on_cpu(comfy_host, pack_nodes, demo_files, with_lora):
    """ComfyUI's lowvram path with a budget of 30 % of the weights: layers go to cast-per-forward mode, outputs equal
    the fully loaded model's (LoRA applied on the fly as lowvram patches equals LoRA merged into the weights).
    A freshly loaded model: the session-wide demo models are patched and loaded by many other tests."""
    base = pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=demo_files.ltx23_dev).result[0]
    model = _tiny_lora(comfy_host, base, "ltx2n_memtest_lora.safetensors") if with_lora else base.clone()
    cpu = torch.device("cpu")
    with torch.inference_mode():
        model.patch_model(device_to=cpu)  # full load (LoRA merged)
        full = _velocity(model)
        model.unpatch_model(device_to=cpu)
        budget = int(0.3 * model.model_size())
        model.patch_model(device_to=cpu, lowvram_model_memory=budget)
        try:
            dm = model.model.diffusion_model
            cast = [m for m in dm.modules() if getattr(m, "comfy_cast_weights", False)]
            assert model.model.model_lowvram and len(cast) > 10
            assert 0 < model.model.model_loaded_weight_memory <= budget
            assert (model.model.lowvram_patch_counter > 0) == with_lora
            partial = _velocity(model)
        finally:
            model.unpatch_model(device_to=cpu)
    assert not model.model.model_lowvram and model.model.lowvram_patch_counter == 0
    torch.testing.assert_close(partial, full, atol=1e-5, rtol=1e-5)
    if with_lora:
        with torch.inference_mode():
            assert (full - _velocity(base)).abs().max() > 0.05  # the LoRA matters
