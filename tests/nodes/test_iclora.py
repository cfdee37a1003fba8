"""IC-LoRA nodes in the real host: the loader (metadata factor, family checks) and the reference guide (downscaled
grid, scaled positions, attention strength, no guide frames in the sampled latent), plus parity of the guided
sampling with the library (``ltx_model.pipelines.reference_conditionings`` + the Euler loop, which is itself
parity-checked against ltx-pipelines' ICLoraPipeline in tests/parity/test_modes_parity.py).

Parity tolerance: sampled latents atol 1e-4 / rtol 1e-4 (float32, 8 distilled Euler steps; as the whole-graph
parity test).
"""

from __future__ import annotations

import logging

import pytest
import torch
from node_support import pack_module, prompt

from ltx_model.loading import write_safetensors

pytestmark = pytest.mark.comfy

LATENT_ATOL = LATENT_RTOL = 1e-4
SIZE, FRAMES, FPS = 64, 9, 24.0


def write_ic_lora(host, name: str, module: str, out_features: int, in_features: int, *, factor: str | None = "2",
                  seed: int = 0) -> str:
    """A tiny LoRA for one layer, with ``reference_downscale_factor`` metadata (None = no metadata)."""
    g = torch.Generator().manual_seed(seed)
    tensors = {f"diffusion_model.{module}.lora_A.weight": torch.randn(2, in_features, generator=g) * 0.3,
               f"diffusion_model.{module}.lora_B.weight": torch.randn(out_features, 2, generator=g) * 0.3}
    metadata = {} if factor is None else {"reference_downscale_factor": factor}
    write_safetensors(host.model_dir("loras") / name, tensors, metadata=metadata)
    return name


def reference_frames(frames: int = FRAMES, height: int = 48, width: int = 40, seed: int = 5) -> torch.Tensor:
    """IMAGE ``(F, H, W, 3)`` in [0, 1] on 8-bit levels (a smooth pattern plus noise)."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(frames, height, width, 3, generator=g) * 255).round() / 255


@pytest.fixture(scope="module")
def vae(pack_nodes, demo_files):
    return pack_nodes.vae.LTX2NVideoVAELoader.execute(demo_files.ltx23_dev).result[0]


@pytest.fixture(scope="module")
def ic_model(comfy_host, pack_nodes, demo_models):
    name = write_ic_lora(comfy_host, "ltx2n_nodes_ic_lora_ref0.5.safetensors", "transformer_blocks.0.attn1.to_q",
                         16, 16)
    return pack_nodes.iclora.LTX2NICLoraLoader.execute(demo_models["2.3-dev"], name, 1.0).result


def test_ic_lora_loader_reads_factor_and_patches_a_clone(ic_model, demo_models):
    model, factor = ic_model
    assert factor == 2
    assert list(model.patches) == ["diffusion_model.transformer_blocks.0.attn1.to_q.weight"]
    assert demo_models["2.3-dev"].patches == {}


def test_ic_lora_loader_without_metadata_uses_factor_one(comfy_host, pack_nodes, demo_models):
    name = write_ic_lora(comfy_host, "ltx2n_nodes_ic_plain.safetensors", "transformer_blocks.1.attn1.to_k", 16, 16,
                         factor=None)
    assert pack_nodes.iclora.LTX2NICLoraLoader.execute(demo_models["2.3-dev"], name, 1.0).result[1] == 1


def test_ic_lora_loader_rejects_other_family_and_bad_metadata(comfy_host, pack_nodes, demo_models):
    other = write_ic_lora(comfy_host, "ltx2n_nodes_ic_23only.safetensors", "transformer_blocks.0.attn1.to_gate_logits",
                          2, 16)
    with pytest.raises(ValueError, match=r"is a LoRA for LTX-2.3 \(22B\).*but the model is LTX-2 \(19B\)"):
        pack_nodes.iclora.LTX2NICLoraLoader.execute(demo_models["19b-distilled"], other, 1.0)
    bad = write_ic_lora(comfy_host, "ltx2n_nodes_ic_bad_meta.safetensors", "transformer_blocks.0.attn1.to_q", 16, 16,
                        factor="half")
    problem = pack_nodes.iclora.LTX2NICLoraLoader.validate_inputs(bad)
    assert "reference_downscale_factor='half' is not an integer" in problem


def _guided(pack_nodes, model, vae, *, factor=2, reference=None, attention=1.0, mask=None):
    pos, neg = prompt(model, 1), prompt(model, 2)
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(SIZE, SIZE, FRAMES, FPS, 1).result[0]
    reference = reference_frames() if reference is None else reference
    pos, neg = pack_nodes.iclora.LTX2NICLoraGuide.execute(pos, neg, vae, latent, reference, factor, 1.0, attention,
                                                          mask).result
    return pos, neg, latent


def test_ic_lora_guide_downscaled_reference_in_conditioning(comfy_host, pack_nodes, ic_model, vae, caplog):
    model, factor = ic_model
    with caplog.at_level(logging.WARNING):
        pos, neg, latent = _guided(pack_nodes, model, vae, factor=factor)
    assert "reference video 48x40 resized to 32x32" in caplog.text
    key = pack_nodes.diffusion.REFERENCES_KEY
    refs = pos[0][1][key]
    assert refs is neg[0][1][key], "one object in both prompts (batched together under CFG)"
    (item,) = refs.items
    assert tuple(item.latent.shape) == (1, 128, 2, 1, 1) and item.downscale_factor == 2
    # the model appends the reference tokens with height/width positions x 2 and drops them from its output
    video = torch.zeros(1, 128, 2, 2, 2)
    modality = pack_module(comfy_host, "ltx_model.transformer").Modality(
        latent=torch.zeros(1, 8, 128), sigma=torch.ones(1), timesteps=torch.ones(1, 1),
        positions=torch.zeros(1, 3, 8, 2), context=torch.zeros(1, 1, 16))
    grid = pack_nodes.diffusion._generated_grid(video, None, FPS)
    out = refs.append_to(modality, grid)
    assert out.latent.shape[1] == 10 and out.timesteps[0, 8:].abs().max() == 0
    assert out.positions[0, 1, 8:].tolist() == [[0.0, 64.0], [0.0, 64.0]]  # one 32-px cell, scaled x 2
    sampled = pack_nodes.sampling.LTX2NSampler.execute(model, pos, neg, latent, 3, "distilled stage 2", 0,
                                                       "none").result[0]
    plain = pack_nodes.sampling.LTX2NSampler.execute(model, prompt(model, 1), prompt(model, 2), latent, 3,
                                                     "distilled stage 2", 0, "none").result[0]
    ours, without = sampled["samples"].unbind()[0], plain["samples"].unbind()[0]
    assert ours.shape == without.shape == (1, 128, 2, 2, 2), "no guide frames to crop"
    assert not torch.equal(ours, without)


def test_ic_lora_guide_attention_strength_and_mask(pack_nodes, ic_model, vae):
    model, _ = ic_model
    pos, _, _ = _guided(pack_nodes, model, vae, factor=1, attention=0.5,
                        mask=torch.ones(1, SIZE, SIZE) * torch.tensor([0.0, 1.0]).repeat_interleave(32))
    (item,) = pos[0][1][pack_nodes.diffusion.REFERENCES_KEY].items
    assert type(item).__name__ == "WithAttentionStrength"
    assert item.attention.shape == (1, 2 * 2 * 2)  # (B, reference tokens): 2 frames x 2 x 2 cells
    assert item.attention.view(2, 2, 2)[:, :, 0].max() == 0 and item.attention.view(2, 2, 2)[:, :, 1].min() == 0.5


def test_ic_lora_guide_rejects_grid_not_divisible(pack_nodes, ic_model, vae):
    model, _ = ic_model
    with pytest.raises(ValueError, match="multiples of 32"):
        _guided(pack_nodes, model, vae, factor=4)


def test_ic_lora_guided_sampling_matches_library(comfy_host, pack_nodes, ic_model, vae):
    """Same conditioning through the nodes (host sampler, reference in the prompts) and through the library."""
    import comfy.sample

    model, factor = ic_model
    pos, neg, latent = _guided(pack_nodes, model, vae, factor=factor, attention=0.7)
    seed = 11
    ours = pack_nodes.sampling.LTX2NSampler.execute(model, pos, neg, latent, seed, "distilled stage 1", 0,
                                                    "none").result[0]
    noise = comfy.sample.prepare_noise(latent["samples"], seed).unbind()
    ref_video, ref_audio = _library_run(comfy_host, model, vae, noise, pos[0][0], factor)
    our_video, our_audio = ours["samples"].unbind()
    torch.testing.assert_close(our_video, ref_video, atol=LATENT_ATOL, rtol=LATENT_RTOL)
    torch.testing.assert_close(our_audio, ref_audio, atol=LATENT_ATOL, rtol=LATENT_RTOL)
    assert our_video.std() > 0.1


def _library_run(host, model, vae, noise, context, factor):
    """The library path: reference items from ``reference_conditionings`` (library VAE), states, noise, Euler."""
    pipelines = pack_module(host, "ltx_model.pipelines")
    sampling = pack_module(host, "ltx_model.sampling")
    transformer_cls = pack_module(host, "ltx_model.transformer").LTXTransformer
    import comfy.model_management

    comfy.model_management.load_models_gpu([model])  # the LoRA patches are applied to the weights
    net = model.model.diffusion_model
    items, _ = pipelines.reference_conditionings(
        vae.first_stage_model.vae, pipelines.ICReference(reference_frames() * 255, attention_strength=0.7),
        height=SIZE, width=SIZE, num_frames=FRAMES, downscale_factor=factor)
    grid = sampling.VideoGrid.from_pixels(frames=FRAMES, height=SIZE, width=SIZE, fps=FPS)
    video = sampling.initial_state(grid)
    for item in items:
        video = item.apply_to(video)
    audio = sampling.initial_state(sampling.AudioGrid(frames=noise[1].shape[2]))
    video = _noised(video, sampling.patchify_video(noise[0]))
    audio = _noised(audio, sampling.patchify_audio(noise[1]))
    widths = net.context_widths()
    contexts = pipelines.TextContexts(context[..., : widths[0]], context[..., widths[0]:])
    denoiser = pipelines.simple_denoiser(lambda v, a, p=None: transformer_cls.forward(net, v, a, p), contexts)
    video, audio = pipelines.euler_loop(sampling.distilled_sigmas(), video, audio, denoiser)
    return sampling.unpatchify_state_latent(video), sampling.unpatchify_state_latent(audio)


def _noised(state, noise):
    """ltx-pipelines' noiser: ``noise · mask + latent · (1 - mask)`` on the generated tokens (appended: mask 0)."""
    from dataclasses import replace

    full = torch.cat([noise, torch.zeros_like(state.latent[:, noise.shape[1]:])], dim=1)
    mask = state.denoise_mask
    return replace(state, latent=full * mask + state.latent * (1 - mask))
