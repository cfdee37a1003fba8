"""The pack's MODEL inside the real host: checkpoint loader, BaseModel contract, core samplers on AV latents."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_weights import write_tiny_checkpoint

pytestmark = pytest.mark.comfy

CKPT = "ltx2n_tiny_19b.safetensors"


@pytest.fixture(scope="module")
def tiny_ckpt(comfy_host, manifests_dir):
    manifest = json.loads((manifests_dir / "ltx-2-19b.json").read_text())
    return write_tiny_checkpoint(comfy_host.model_dir("checkpoints") / CKPT, manifest)


@pytest.fixture(scope="module")
def model(pack_nodes, tiny_ckpt):
    return pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=CKPT).result[0]


def _conditioning(model, seed):
    widths = model.model.diffusion_model.context_widths()
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, 5, sum(widths), generator=g), {"frame_rate": 24.0}]]


def test_model_loader_gives_core_patcher_with_official_names(model, tiny_ckpt, pack_nodes):
    import comfy.model_patcher

    from ltx_model.loading import read_header

    assert isinstance(model, comfy.model_patcher.ModelPatcher)
    assert isinstance(model.model, pack_nodes.base_model.LTX2Model)
    file_keys = set(read_header(tiny_ckpt).keys())
    model_keys = {"model." + k for k in model.model.state_dict() if k.startswith("diffusion_model.")}
    assert model_keys == file_keys
    assert model.model.latent_format.latent_channels == 128 and model.model.latent_format.latent_dimensions == 3
    assert model.get_model_object("latent_format").spacial_downscale_ratio == 32


def test_model_loader_rejects_non_ltx_file(comfy_host, pack_nodes):
    from ltx_model.loading import write_safetensors

    write_safetensors(comfy_host.model_dir("checkpoints") / "not_ltx.safetensors", {"w": torch.zeros(2)})
    with pytest.raises(ValueError, match="not a loadable LTX-2 checkpoint"):
        pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name="not_ltx.safetensors")


def test_model_memory_required_is_token_based(model):
    small = model.model.memory_required([2, 1, 128 * 100])
    large = model.model.memory_required([2, 1, 128 * 400])
    grid = model.model.memory_required([2, 128, 4, 5, 5])
    assert small > 0 and large == pytest.approx(4 * small) and grid == pytest.approx(small)


def test_model_process_timestep_masks_tokens_and_freezes_streams(model):
    sigma = torch.tensor([0.7, 0.7])
    v_mask = torch.ones(2, 1, 3, 2, 2)
    v_mask[:, :, 0] = 0.0  # first latent frame is clean conditioning
    a_mask = torch.zeros(2, 1, 6, 16)  # audio frozen (given)
    v_t, a_t, v_sigma, a_sigma, v_levels, a_levels = model.model.process_timestep(sigma, denoise_mask=v_mask,
                                                                                   audio_denoise_mask=a_mask)
    assert v_levels is None and a_levels is None  # no mask levels among the conds (extra_conds adds them)
    assert tuple(v_t.shape) == (2, 12) and torch.equal(v_t[:, :4], torch.zeros(2, 4))
    assert torch.allclose(v_t[:, 4:], torch.full((2, 8), 0.7))
    assert torch.equal(a_t, torch.zeros(2, 6)) and torch.equal(a_sigma, torch.zeros(2))
    assert torch.equal(v_sigma, sigma)


def test_model_ksampler_on_av_latent(comfy_host, pack_nodes, model):
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 64, 9, 24.0, 1).result[0]
    ksampler = comfy_host.node_class("KSampler")()
    out = ksampler.sample(model, 7, 2, 3.0, "euler", "simple", _conditioning(model, 1), _conditioning(model, 2),
                          latent)[0]
    video, audio = out["samples"].unbind()
    assert tuple(video.shape) == (1, 128, 2, 2, 2) and tuple(audio.shape) == (1, 8, 9, 16)
    assert torch.isfinite(video).all() and torch.isfinite(audio).all()
    assert video.abs().mean() > 0.05 and audio.abs().mean() > 0.05  # denoised from noise, not zeros
    again = ksampler.sample(model, 7, 2, 3.0, "euler", "simple", _conditioning(model, 1), _conditioning(model, 2),
                            latent)[0]
    assert torch.equal(again["samples"].unbind()[0], video)


def test_model_sampler_custom_advanced_with_core_nodes(comfy_host, pack_nodes, model):
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 64, 9, 24.0, 1).result[0]
    node = comfy_host.node_class
    noise = node("RandomNoise").execute(3).result[0]
    guider = node("CFGGuider").execute(model, _conditioning(model, 1), _conditioning(model, 2), 2.0).result[0]
    sampler = node("KSamplerSelect").execute("euler").result[0]
    sigmas = node("BasicScheduler").execute(model, "simple", 2, 1.0).result[0]
    output, denoised = node("SamplerCustomAdvanced").execute(noise, guider, sampler, sigmas, latent).result
    video, audio = output["samples"].unbind()
    assert tuple(video.shape) == (1, 128, 2, 2, 2) and tuple(audio.shape) == (1, 8, 9, 16)
    assert torch.isfinite(denoised["samples"].unbind()[1]).all()


def test_model_adapter_matches_library_transformer(model):
    """ComfyUI's call (grids, sigma, concatenated context) == the library forward on hand-built Modality inputs."""
    from ltx_model.sampling import (
        AudioGrid,
        VideoGrid,
        audio_positions,
        patchify_audio,
        patchify_video,
        unpatchify_audio,
        unpatchify_video,
        video_positions,
    )
    from ltx_model.transformer import LTXTransformer, Modality

    dm = model.model.diffusion_model
    g = torch.Generator().manual_seed(5)
    video, audio = torch.randn(1, 128, 2, 2, 3, generator=g), torch.randn(1, 8, 7, 16, generator=g)
    wv, wa = dm.context_widths()
    context, sigma = torch.randn(1, 4, wv + wa, generator=g), torch.tensor([0.6])
    out_v, out_a = dm([video, audio], sigma, context=context, frame_rate=24.0)
    ref = LTXTransformer(dm.config, dtype=torch.float32)
    ref.load_state_dict(dm.state_dict())
    vm = Modality(latent=patchify_video(video), sigma=sigma, timesteps=sigma.view(1, 1), context=context[..., :wv],
                  positions=video_positions(VideoGrid(frames=2, height=2, width=3, fps=24.0)))
    am = Modality(latent=patchify_audio(audio), sigma=sigma, timesteps=sigma.view(1, 1), context=context[..., wv:],
                  positions=audio_positions(AudioGrid(frames=7)))
    rv, ra = ref(vm, am, options=dm._options({}))  # the host's attention kernel, as the adapter uses it
    # float32; comfy.ops layers vs torch.nn layers differ at rounding level (measured 4e-6 on outputs of ~0.3)
    torch.testing.assert_close(out_v, unpatchify_video(rv, frames=2, height=2, width=3), atol=2e-5, rtol=0)
    torch.testing.assert_close(out_a, unpatchify_audio(ra, channels=8, mel_bins=16), atol=2e-5, rtol=0)


def test_model_apply_model_returns_flow_x0_on_packed_av(model):
    """BaseModel path with latent_shapes: x0 = x - sigma * v per part, re-packed like core."""
    import comfy.utils

    g = torch.Generator().manual_seed(6)
    parts = [torch.randn(1, 128, 2, 2, 2, generator=g), torch.randn(1, 8, 5, 16, generator=g)]
    packed, shapes = comfy.utils.pack_latents(parts)
    context = _conditioning(model, 3)[0][0]
    sigma = torch.tensor([0.5])
    x0 = model.model.apply_model(packed, sigma, c_crossattn=context, frame_rate=24.0, latent_shapes=shapes)
    v = model.model.diffusion_model(parts, sigma, context=context, frame_rate=24.0)
    expected, _ = comfy.utils.pack_latents([p - 0.5 * vp for p, vp in zip(parts, v, strict=True)])
    torch.testing.assert_close(x0, expected, atol=1e-5, rtol=1e-5)


def test_model_core_lora_loader_patches_official_keys(comfy_host, model):
    """Core LoraLoaderModelOnly maps an LTX-2 'ComfyUI format' LoRA onto our parameter names."""
    from ltx_model.loading import write_safetensors

    target = "transformer_blocks.0.attn1.to_q"
    weight = model.model.diffusion_model.state_dict()[target + ".weight"]
    lora = {f"diffusion_model.{target}.lora_A.weight": torch.full((1, weight.shape[1]), 0.1),
            f"diffusion_model.{target}.lora_B.weight": torch.full((weight.shape[0], 1), 0.2)}
    write_safetensors(comfy_host.model_dir("loras") / "ltx2n_tiny_lora.safetensors", lora)
    patched = comfy_host.node_class("LoraLoaderModelOnly")().load_lora_model_only(
        model, "ltx2n_tiny_lora.safetensors", 1.0)[0]
    assert list(patched.patches) == [f"diffusion_model.{target}.weight"]
    assert model.patches == {}  # the original MODEL is untouched (clone semantics)


def test_model_refuses_unsupported_conditioning_loudly(model):
    video, audio = torch.zeros(1, 128, 1, 1, 1), torch.zeros(1, 8, 2, 16)
    context = _conditioning(model, 4)[0][0]
    with pytest.raises(ValueError, match="reference audio .* needs an audio"):  # supported, but not without audio
        model.model.diffusion_model(video, torch.tensor([0.5]), context=context,
                                    ref_audio={"tokens": torch.zeros(1, 2, 128)})
    with pytest.raises(ValueError, match="text context must be"):
        model.model.diffusion_model([video, audio], torch.tensor([0.5]), context=context[..., :-1])
