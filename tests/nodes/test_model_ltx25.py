"""LTX-2.5 in the real host: Load LTX-2 Model on the split transformer file (models/diffusion_models), its dropdown,
the per-version defaults, the keyframes mask in the node model, the LoRA loaders (2.5 distilled LoRA; 2.3 LoRA
refused), core sampling nodes and the 2.5 upscalers. Every file is a tiny official-format demo file
(``ltx_model.demo.ltx25``) loaded through the real loaders."""

from __future__ import annotations

import shutil

import pytest
import torch
from node_support import pack_module, prompt

pytestmark = pytest.mark.comfy

TRANSFORMER = "ltx-2.5-22b-distilled-transformer-ltx2n-nodes.safetensors"
LORA = "ltx-2.5-22b-distilled-lora-ltx2n-nodes.safetensors"
SPATIAL = "ltx-2.5-latent-spatial-upscaler-x2-ltx2n-nodes.safetensors"
TEMPORAL = "ltx-2.5-latent-temporal-upscaler-x2-ltx2n-nodes.safetensors"
LORA_23 = "ltx-2.3-22b-ltx2n-nodes-lora.safetensors"


@pytest.fixture(scope="module")
def ltx25_files(comfy_host, demo_files):
    """The 2.5 demo parts (fp32) in the host's folders, plus misplaced copies of a LoRA and an upscaler in
    models/diffusion_models (which Load LTX-2 Model must leave out of its list) and a 2.3 LoRA whose layers fit
    the 2.5 model (the same tensors, ``model_version`` 2.3.0: only the family check can refuse it)."""
    from ltx_model.demo.ltx25 import write_demo_ltx25_lora, write_demo_ltx25_transformer, write_demo_ltx25_upscaler
    from ltx_model.loading import read_header, write_safetensors

    diffusion = comfy_host.model_dir("diffusion_models")
    write_demo_ltx25_transformer(diffusion / TRANSFORMER, dtype=torch.float32)
    lora = write_demo_ltx25_lora(comfy_host.model_dir("loras") / LORA, dtype=torch.float32)
    write_demo_ltx25_upscaler(comfy_host.model_dir("latent_upscale_models") / SPATIAL, dtype=torch.float32)
    write_demo_ltx25_upscaler(comfy_host.model_dir("latent_upscale_models") / TEMPORAL, temporal=True,
                              dtype=torch.float32)
    shutil.copy(lora, diffusion / "misplaced-lora.safetensors")
    shutil.copy(comfy_host.model_dir("latent_upscale_models") / SPATIAL, diffusion / "misplaced-upscaler.safetensors")
    shutil.copy(diffusion / TRANSFORMER, comfy_host.model_dir("loras") / "misplaced-transformer.safetensors")
    shutil.copy(lora, comfy_host.model_dir("latent_upscale_models") / "misplaced-lora.safetensors")
    from safetensors.torch import load_file

    write_safetensors(comfy_host.model_dir("loras") / LORA_23, load_file(lora), metadata={"model_version": "2.3.0"})
    assert read_header(comfy_host.model_dir("loras") / LORA_23).metadata["model_version"] == "2.3.0"
    return diffusion


@pytest.fixture(scope="module")
def model25(pack_nodes, ltx25_files):
    return pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=TRANSFORMER).result[0]


def test_ltx25_model_loader_lists_and_loads_the_transformer_file(comfy_host, pack_nodes, model25, demo_files):
    loader = pack_nodes.loaders.LTX2NCheckpointLoader
    options = loader.GET_SCHEMA().inputs[0].options
    assert TRANSFORMER in options and demo_files.ltx23_dev in options  # both folders
    assert "misplaced-lora.safetensors" not in options and "misplaced-upscaler.safetensors" not in options
    assert loader.validate_inputs(TRANSFORMER) is True
    message = loader.validate_inputs("misplaced-lora.safetensors")
    assert "misplaced-lora.safetensors is the LoRA file of LTX-2.5" in message and "Load LoRA (LTX-2)" in message
    assert "not a file in models/checkpoints or models/diffusion_models" in loader.validate_inputs("nope.safetensors")
    facts = pack_nodes.model_loader.model_facts(model25)
    assert facts.family.value == "LTX-2.5" and facts.distilled and facts.model_version == "2.5.0"
    config = model25.model.diffusion_model.config
    assert config.keyframes_embedding and not config.ff_bias and not config.prompt_adaln


def test_ltx25_defaults_follow_lightricks_generation_table(comfy_host, pack_nodes, model25, demo_models):
    sampling = pack_module(comfy_host, "ltx_model.sampling")  # the copy the nodes use
    default_image_crf = pack_module(comfy_host, "ltx_model.modes").default_image_crf
    facts = pack_nodes.model_loader.model_facts
    assert facts(model25).defaults() is sampling.LTX_2_3_PARAMS  # 2.5 keeps 2.3's 30 steps and STG block 28
    assert facts(demo_models["2.3-dev"]).defaults() is sampling.LTX_2_3_PARAMS
    assert facts(demo_models["19b-distilled"]).defaults() is sampling.LTX_2_PARAMS
    assert default_image_crf(facts(model25).model_version) == 18
    assert default_image_crf(facts(demo_models["2.3-dev"]).model_version) == 33


def _spy_forward(model, keyframe_idxs=None, frames: int = 3) -> torch.Tensor | None:
    """The keyframes mask the node model hands the transformer for a (1, 128, frames, 2, 3) video + audio."""
    seen = []

    def runner(video, audio, perturbations):
        seen.append(video.keyframes_mask)
        return torch.zeros(video.latent.shape[:2] + (128,)), torch.zeros(audio.latent.shape[:2] + (128,))

    options = {"ltx2n_pass_runner": runner}  # nodes/diffusion.py PASS_RUNNER_KEY (asserted below)
    context = prompt(model, 1)[0][0]
    model.model.diffusion_model([torch.zeros(1, 128, frames, 2, 3), torch.zeros(1, 8, 9, 16)], torch.tensor([0.5]),
                                context, frame_rate=24.0, transformer_options=options, keyframe_idxs=keyframe_idxs)
    return seen[0]


def test_ltx25_node_model_flags_first_latent_frame_not_guides(pack_nodes, model25, demo_models):
    assert pack_nodes.diffusion.PASS_RUNNER_KEY == "ltx2n_pass_runner"
    mask = _spy_forward(model25)
    assert mask.shape == (1, 18, 1) and mask[0, :, 0].tolist() == [1.0] * 6 + [0.0] * 12
    guide = torch.zeros(1, 3, 6, 2)  # one appended guide frame of 2 x 3 cells at pixel frame 16
    guide[:, 0] = torch.tensor([16.0, 17.0])
    mask = _spy_forward(model25, keyframe_idxs=guide, frames=4)
    assert mask[0, :, 0].tolist() == [1.0] * 6 + [0.0] * 18  # the guide's tokens are never flagged
    assert _spy_forward(demo_models["2.3-dev"]) is None  # models without the embedding get no mask


def test_ltx25_core_ksampler_and_custom_advanced_run(comfy_host, pack_nodes, model25):
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 96, 9, 24.0, 1).result[0]
    pos, neg = prompt(model25, 1), prompt(model25, 2)
    out = comfy_host.node_class("KSampler")().sample(model25, 3, 2, 1.0, "euler", "simple", pos, neg, latent)[0]
    video, audio = out["samples"].unbind()
    assert tuple(video.shape) == (1, 128, 2, 3, 2) and torch.isfinite(video).all() and torch.isfinite(audio).all()
    node = comfy_host.node_class
    guider = node("CFGGuider").execute(model25, pos, neg, 3.0).result[0]
    noise = node("RandomNoise").execute(5).result[0]
    sampler = node("KSamplerSelect").execute("euler").result[0]
    sigmas = torch.tensor([1.0, 0.5, 0.0])
    custom = node("SamplerCustomAdvanced").execute(noise, guider, sampler, sigmas, latent).result[0]
    assert all(torch.isfinite(t).all() for t in custom["samples"].unbind())
    again = node("SamplerCustomAdvanced").execute(noise, guider, sampler, sigmas, latent).result[0]
    assert torch.equal(custom["samples"].unbind()[0], again["samples"].unbind()[0])  # seeded, deterministic


def _distilled_x0(pack_nodes, model) -> torch.Tensor:
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 96, 9, 24.0, 1).result[0]
    pos, neg = prompt(model, 1), prompt(model, 2)
    out = pack_nodes.sampling.LTX2NSampler.execute(model, pos, neg, latent, 1, "distilled stage 2", 0, "none")
    return out.result[0]["samples"].unbind()[0]


def test_ltx25_distilled_lora_through_pack_and_core_loaders(comfy_host, pack_nodes, model25):
    from ltx_model.loading import read_header

    lora_keys = {k.removesuffix(".lora_A.weight") for k in read_header(comfy_host.model_dir("loras") / LORA).tensors
                 if k.endswith(".lora_A.weight")}
    ours = pack_nodes.lora.LTX2NLoraLoader.execute(model25, LORA, 1.0).result[0]
    core = comfy_host.node_class("LoraLoaderModelOnly")().load_lora_model_only(model25, LORA, 1.0)[0]
    assert set(ours.patches) == set(core.patches) == {k + ".weight" for k in lora_keys}
    assert model25.patches == {}
    with_ours, with_core, without = (_distilled_x0(pack_nodes, m) for m in (ours, core, model25))
    assert torch.equal(with_ours, with_core) and not torch.equal(with_ours, without)


def test_ltx25_lora_of_another_version_refused_both_ways(pack_nodes, model25, demo_models):
    loader = pack_nodes.lora.LTX2NLoraLoader
    with pytest.raises(ValueError) as info:
        loader.execute(model25, LORA_23, 1.0)
    message = str(info.value)
    assert LORA_23 in message and "is a LoRA for LTX-2.3 (22B)" in message and "the model is LTX-2.5" in message
    assert "pick a LoRA made for LTX-2.5" in message
    with pytest.raises(ValueError, match=r"is a LoRA for LTX-2.5 .*but the model is LTX-2.3 \(22B\)"):
        loader.execute(demo_models["2.3-dev"], LORA, 1.0)
    assert loader.validate_inputs(LORA) is True  # a 2.5 LoRA is a valid choice (the model is checked at run time)
    options = loader.GET_SCHEMA().inputs[1].options
    assert LORA in options and LORA_23 in options and "misplaced-transformer.safetensors" not in options
    assert "is not a LoRA" in loader.validate_inputs("misplaced-transformer.safetensors")  # hidden, still explained


@pytest.mark.parametrize(("name", "kind", "node"), [(SPATIAL, "spatial x2", "LTX2NUpscaleLatent"),
                                                    (TEMPORAL, "temporal x2", "LTX2NUpscaleLatentTemporal")])
def test_ltx25_upscaler_loader_takes_the_25_upscalers(comfy_host, pack_nodes, ltx25_files, name, kind, node):
    from node_support import StandInVAE

    loader = pack_nodes.upscale.LTX2NUpscalerLoader
    options = loader.GET_SCHEMA().inputs[0].options
    assert name in options and loader.validate_inputs(name) is True
    assert "misplaced-lora.safetensors" not in options
    assert "is not an LTX-2 latent upscaler" in loader.validate_inputs("misplaced-lora.safetensors")
    upscaler = loader.execute(name).result[0]
    assert pack_nodes.upscale.upscaler_kind_name(upscaler) == kind
    av = comfy_host.node_class("LTXVConcatAVLatent").execute(
        {"samples": torch.randn(1, 128, 2, 2, 3, generator=torch.Generator().manual_seed(0))},
        {"samples": torch.zeros(1, 8, 9, 16)}).result[0]
    upscale = getattr(pack_nodes.upscale, node)
    args = (av, upscaler, StandInVAE()) + ((24.0,) if kind == "temporal x2" else ())
    video = upscale.execute(*args).result[0]["samples"].unbind()[0]
    assert tuple(video.shape) == ((1, 128, 2, 4, 6) if kind == "spatial x2" else (1, 128, 3, 2, 3))
    assert torch.isfinite(video).all()
