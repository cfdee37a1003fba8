"""Two-stage pieces inside the real host: latent upscaler loader and x2 upscale (also via core
LTXVLatentUpsampler), the family-checked LoRA loader (vs core LoraLoaderModelOnly) and a stage-2 refine pass."""

from __future__ import annotations

import pytest
import torch
from node_support import StandInVAE, prompt

from ltx_model.loading import write_safetensors

pytestmark = pytest.mark.comfy


def _lora(host, name, module, out_features, in_features, *, rank=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    tensors = {f"diffusion_model.{module}.lora_A.weight": torch.randn(rank, in_features, generator=g) * 0.3,
               f"diffusion_model.{module}.lora_B.weight": torch.randn(out_features, rank, generator=g) * 0.3}
    write_safetensors(host.model_dir("loras") / name, tensors)
    return name


def _rejected(host, prompt_) -> str:
    from harness import PromptRejected

    with pytest.raises(PromptRejected) as info:
        host.validate(prompt_)
    return str(info.value.node_errors)


@pytest.fixture(scope="module")
def upscaler(pack_nodes, demo_files):
    return pack_nodes.upscale.LTX2NUpscalerLoader.execute(demo_files.upscaler).result[0]


def test_upsampler_loader_registers_folder_and_loads_module(comfy_host, pack_nodes, upscaler, demo_files):
    import folder_paths

    paths, extensions = folder_paths.folder_names_and_paths["latent_upscale_models"]
    assert ".safetensors" in extensions and str(comfy_host.model_dir("latent_upscale_models")) in paths
    assert demo_files.upscaler in pack_nodes.upscale.LTX2NUpscalerLoader.GET_SCHEMA().inputs[0].options
    module = pack_nodes.upscale.upscaler_module(upscaler)
    assert type(module).__name__ == "LatentUpsampler" and module.config.mid_channels == 32
    # core's form on this host: a model patcher since ComfyUI 0.28.0, the plain module before
    import comfy.model_patcher

    assert isinstance(upscaler, comfy.model_patcher.ModelPatcher) == pack_nodes.host_compat.upscaler_is_patcher()


def test_upsampler_nodes_take_both_host_forms(comfy_host, pack_nodes, upscaler):
    """A LATENT_UPSCALE_MODEL from either host form (module or patcher) upscales the same."""
    g = torch.Generator().manual_seed(1)
    av = comfy_host.node_class("LTXVConcatAVLatent").execute(
        {"samples": torch.randn(1, 128, 2, 2, 3, generator=g)}, {"samples": torch.randn(1, 8, 9, 16, generator=g)}
    ).result[0]
    module = pack_nodes.upscale.upscaler_module(upscaler)
    patcher = pack_nodes.upscale.upscaler_patcher(module)  # the module's own (lives as long as the module)
    assert isinstance(patcher, pack_nodes.upscale.UpscalerPatcher) and patcher.model is module
    node = pack_nodes.upscale.LTX2NUpscaleLatent
    from_module = node.execute(av, module, StandInVAE()).result[0]["samples"].unbind()[0]
    from_patcher = node.execute(av, patcher, StandInVAE()).result[0]["samples"].unbind()[0]
    assert tuple(from_module.shape) == (1, 128, 2, 4, 6) and torch.equal(from_module, from_patcher)
    assert patcher.model_dtype() == next(module.parameters()).dtype


def test_upsampler_x2_on_av_latent_equals_core_ltxv_latent_upsampler(comfy_host, pack_nodes, upscaler):
    g = torch.Generator().manual_seed(0)
    av = comfy_host.node_class("LTXVConcatAVLatent").execute(
        {"samples": torch.randn(1, 128, 2, 2, 3, generator=g), "noise_mask": torch.zeros(1, 1, 2, 1, 1)},
        {"samples": torch.randn(1, 8, 9, 16, generator=g)}).result[0]
    vae = StandInVAE()
    ours = pack_nodes.upscale.LTX2NUpscaleLatent.execute(av, upscaler, vae).result[0]
    video, audio = ours["samples"].unbind()
    assert tuple(video.shape) == (1, 128, 2, 4, 6) and "noise_mask" not in ours
    assert torch.equal(audio, av["samples"].unbind()[1])
    video_part = comfy_host.node_class("LTXVSeparateAVLatent").execute(av).result[0]
    core = comfy_host.node_class("LTXVLatentUpsampler")().upsample_latent(video_part, upscaler, vae)[0]
    torch.testing.assert_close(video, core["samples"], atol=1e-5, rtol=1e-5)


def test_upsampler_loader_rejects_other_files_at_validation(comfy_host, demo_files):
    link = comfy_host.model_dir("latent_upscale_models") / "ltx2n_not_an_upscaler.safetensors"
    write_safetensors(link, {"w": torch.zeros(2)})
    prompt_ = {"1": {"class_type": "LTX2NUpscalerLoader", "inputs": {"upscaler_name": link.name}},
               "2": {"class_type": "LTXVLatentUpsampler", "inputs": {"samples": ["3", 0], "upscale_model": ["1", 0],
                                                                     "vae": ["4", 0]}},
               "3": {"class_type": "EmptyLTXVLatentVideo", "inputs": {"width": 64, "height": 64, "length": 9,
                                                                      "batch_size": 1}},
               "4": {"class_type": "LTX2NVideoVAELoader", "inputs": {"vae_name": demo_files.ltx23_dev}},
               "5": {"class_type": "SaveLatent", "inputs": {"samples": ["2", 0], "filename_prefix": "x"}}}
    assert "is not an LTX-2 latent upscaler" in _rejected(comfy_host, prompt_)


def test_lora_loader_equals_core_lora_loader_model_only(comfy_host, pack_nodes, demo_models):
    model = demo_models["19b-distilled"]
    name = _lora(comfy_host, "ltx2n_nodes_plain_lora.safetensors", "transformer_blocks.1.attn1.to_q", 16, 16)
    ours = pack_nodes.lora.LTX2NLoraLoader.execute(model, name, 0.8).result[0]
    core = comfy_host.node_class("LoraLoaderModelOnly")().load_lora_model_only(model, name, 0.8)[0]
    assert list(ours.patches) == list(core.patches) == ["diffusion_model.transformer_blocks.1.attn1.to_q.weight"]
    assert model.patches == {}
    pos, neg = prompt(model, 1), prompt(model, 2)
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 64, 9, 24.0, 1).result[0]
    run = pack_nodes.sampling.LTX2NSampler.execute
    with_ours, with_core, without = (run(m, pos, neg, latent, 1, "distilled stage 2", 0, "none").result[0]
                                     for m in (ours, core, model))
    assert torch.equal(with_ours["samples"].unbind()[0], with_core["samples"].unbind()[0])
    assert not torch.equal(with_ours["samples"].unbind()[0], without["samples"].unbind()[0])


def test_lora_loader_rejects_other_family_and_misfits(comfy_host, pack_nodes, demo_models):
    model = demo_models["19b-distilled"]
    other = _lora(comfy_host, "ltx2n_nodes_23_lora.safetensors", "transformer_blocks.0.attn1.to_gate_logits", 2, 16)
    with pytest.raises(ValueError, match=r"is a LoRA for LTX-2.3 \(22B\).*but the model is LTX-2 \(19B\)"):
        pack_nodes.lora.LTX2NLoraLoader.execute(model, other, 1.0)
    misfit = _lora(comfy_host, "ltx2n_nodes_misfit_lora.safetensors", "transformer_blocks.0.attn1.to_q", 32, 32)
    with pytest.raises(ValueError, match="does not fit this model"):
        pack_nodes.lora.LTX2NLoraLoader.execute(model, misfit, 1.0)
    write_safetensors(comfy_host.model_dir("loras") / "ltx2n_nodes_not_lora.safetensors", {"w": torch.zeros(2)})
    prompt_ = {"1": {"class_type": "LTX2NCheckpointLoader", "inputs": {"ckpt_name": "ltx2n-nodes-19b-distilled"
                                                                                    ".safetensors"}},
               "2": {"class_type": "LTX2NLoraLoader", "inputs": {"model": ["1", 0], "strength": 1.0,
                                                                 "lora_name": "ltx2n_nodes_not_lora.safetensors"}},
               "3": {"class_type": "ModelMergeSimple", "inputs": {"model1": ["2", 0], "model2": ["1", 0],
                                                                  "ratio": 1.0}},
               "4": {"class_type": "ModelSave", "inputs": {"model": ["3", 0], "filename_prefix": "x"}}}
    assert "is not a LoRA" in _rejected(comfy_host, prompt_)


def test_lora_checkpoint_loader_rejects_non_ltx_at_validation(comfy_host):
    write_safetensors(comfy_host.model_dir("checkpoints") / "ltx2n_nodes_sdxl_like.safetensors",
                      {"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(4, 4)})
    prompt_ = {"1": {"class_type": "LTX2NCheckpointLoader", "inputs": {"ckpt_name": "ltx2n_nodes_sdxl_like"
                                                                                    ".safetensors"}},
               "2": {"class_type": "ModelSave", "inputs": {"model": ["1", 0], "filename_prefix": "x"}}}
    assert "is not an LTX-2" in _rejected(comfy_host, prompt_)


def test_two_stage_refine_with_distilled_lora(comfy_host, pack_nodes, demo_models, upscaler):
    """Stage 1 (dev, 2 steps) -> x2 latent upscale -> stage 2 with the distilled LoRA and the stage-2 sigmas."""
    model = demo_models["2.3-dev"]
    pos, neg = prompt(model, 1), prompt(model, 2)
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(128, 128, 9, 24.0, 1, "two stages (x2 upscale)").result[0]
    run = pack_nodes.sampling.LTX2NSampler.execute
    stage1 = run(model, pos, neg, latent, 1, "LTX-2 schedule", 2, "none").result[0]
    upscaled = pack_nodes.upscale.LTX2NUpscaleLatent.execute(stage1, upscaler, StandInVAE()).result[0]
    name = _lora(comfy_host, "ltx2n_nodes_distilled_lora.safetensors", "transformer_blocks.0.ff.net.2", 16, 64)
    refiner = pack_nodes.lora.LTX2NLoraLoader.execute(model, name, 1.0).result[0]
    final = run(refiner, pos, neg, upscaled, 1, "distilled stage 2", 0, "auto").result[0]
    video, audio = final["samples"].unbind()
    assert tuple(video.shape) == (1, 128, 2, 4, 4) and torch.isfinite(video).all() and torch.isfinite(audio).all()
