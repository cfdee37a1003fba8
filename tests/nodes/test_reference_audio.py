"""Reference audio (ID-LoRA) in the real host: ComfyUI core's ``LTXVReferenceAudio`` with the pack's MODEL and audio
VAE, sampled with core ``CFGGuider`` + ``SamplerCustomAdvanced`` (the ``video_ltx2_3_id_lora`` template's path).

The model math is parity-checked in tests/parity/test_transformer_reference_audio_parity.py; here: the conditioning
reaches the transformer (``ref_audio`` CONDConstant), its tokens are appended and trimmed (output shapes), it changes
the audio, and core's identity-guidance pass (the same conds without ``ref_audio``) runs and changes the result.
"""

from __future__ import annotations

import pytest
import torch
from node_support import pack_module, prompt

pytestmark = pytest.mark.comfy

SIZE, FRAMES, FPS, STEPS_SIGMAS = 64, 9, 24.0, torch.tensor([1.0, 0.6, 0.0])
RATE = 44100  # the pack's audio VAE input rate (no resampling inside core's node)


@pytest.fixture(scope="module")
def audio_vae(pack_nodes, demo_files):
    return pack_nodes.audio.LTX2NAudioVAELoader.execute(vae_name=demo_files.ltx23_dev).result[0]


def _reference(seconds: float = 0.4, seed: int = 7) -> dict:
    """AUDIO: a stereo clip (tone plus noise) at :data:`RATE`."""
    t = torch.arange(int(seconds * RATE)) / RATE
    noise = 0.05 * torch.randn(1, 2, t.shape[0], generator=torch.Generator().manual_seed(seed))
    return {"waveform": 0.3 * torch.sin(2 * torch.pi * 220 * t).expand(1, 2, -1) + noise, "sample_rate": RATE}


def _sample(comfy_host, model, positive, negative) -> tuple[torch.Tensor, torch.Tensor]:
    """2 Euler steps of CFG 3 from a fixed seed on a tiny audio+video latent -> (video, audio) latents."""
    node, nodes = comfy_host.node_class, comfy_host.pack_nodes
    latent = nodes.latents.LTX2NEmptyAVLatent.execute(SIZE, SIZE, FRAMES, FPS, 1).result[0]
    guider = node("CFGGuider").execute(model, positive, negative, 3.0).result[0]
    sampler, noise = node("KSamplerSelect").execute("euler").result[0], node("RandomNoise").execute(11).result[0]
    out = node("SamplerCustomAdvanced").execute(noise, guider, sampler, STEPS_SIGMAS, latent).result[0]
    video, audio = out["samples"].unbind()
    return video, audio


def _with_reference(comfy_host, model, audio_vae, scale: float) -> tuple:
    pos, neg = prompt(model, 1), prompt(model, 2)
    return comfy_host.node_class("LTXVReferenceAudio").execute(model, pos, neg, _reference(), audio_vae, scale,
                                                                0.0, 1.0).result


def test_audio_reference_core_node_encodes_with_pack_audio_vae(comfy_host, demo_models, audio_vae):
    """Core's node reads ``audio_sample_rate`` and calls ``encode(waveform.movedim(1, -1))`` on our VAE: the tokens
    are our encoder's latent, patchified channel-major, ``(1, T_ref, 8 * 16)``."""
    _, positive, negative = _with_reference(comfy_host, demo_models["2.3-dev"], audio_vae, 3.0)
    tokens = positive[0][1]["ref_audio"]["tokens"]
    assert negative[0][1]["ref_audio"] is positive[0][1]["ref_audio"]  # one CONDConstant: cond/uncond batch
    clip = _reference()
    latent = audio_vae.first_stage_model.encode_waveform(clip["waveform"], RATE)  # (1, 8, T, 16)
    assert tuple(tokens.shape) == (1, latent.shape[2], 128) and latent.shape[2] == 11  # 0.4 s -> 4T - 3 mel frames
    torch.testing.assert_close(tokens, latent.permute(0, 2, 1, 3).reshape(1, -1, 128).to(tokens), atol=1e-5,
                               rtol=1e-5)


def test_audio_reference_sampling_uses_reference_and_identity_guidance(comfy_host, demo_models, audio_vae):
    model = demo_models["2.3-dev"]
    plain = _sample(comfy_host, model, prompt(model, 1), prompt(model, 2))
    guided = _sample(comfy_host, *_with_reference(comfy_host, model, audio_vae, 3.0))
    no_identity = _sample(comfy_host, *_with_reference(comfy_host, model, audio_vae, 0.0))
    for video, audio in (plain, guided, no_identity):
        assert tuple(video.shape) == (1, 128, 2, 2, 2) and tuple(audio.shape) == (1, 8, 9, 16)  # refs trimmed
        assert torch.isfinite(video).all() and torch.isfinite(audio).all()
    assert (no_identity[1] - plain[1]).abs().max() > 1e-3  # the reference tokens are attended to
    assert (guided[1] - no_identity[1]).abs().max() > 1e-3  # core's post-CFG identity pass ran on our model


def test_audio_reference_host_call_equals_library(comfy_host, demo_models):
    """The MODEL's forward with core's ``ref_audio`` = the library's ``ReferenceAudio`` state through the plain
    transformer, reference outputs dropped (fp32, atol 1e-5)."""
    lib = {name: pack_module(comfy_host, f"ltx_model.{name}") for name in ("conditioning", "sampling", "transformer")}
    sampling, modality = lib["sampling"], lib["transformer"].Modality
    diffusion = demo_models["2.3-dev"].model.diffusion_model
    g = torch.Generator().manual_seed(3)
    video, audio = torch.randn(1, 128, 2, 2, 2, generator=g), torch.randn(1, 8, 9, 16, generator=g)
    tokens = torch.randn(1, 5, 128, generator=g)
    context, sigma = prompt(demo_models["2.3-dev"], 1)[0][0], torch.tensor([0.6])
    v_ctx, a_ctx = torch.split(context, list(diffusion.context_widths()), dim=-1)
    grid = sampling.VideoGrid(frames=2, height=2, width=2, fps=FPS)
    v_in = modality(latent=sampling.patchify_video(video), sigma=sigma, timesteps=sigma.view(1, 1), context=v_ctx,
                    positions=sampling.video_positions(grid, dtype=torch.float32))
    state = lib["conditioning"].ReferenceAudio(tokens).apply_to(
        sampling.initial_state(sampling.AudioGrid(frames=9), latent=audio))
    a_in = modality(latent=state.latent, sigma=sigma, timesteps=state.denoise_mask[..., 0] * sigma,
                    positions=state.positions, context=a_ctx)
    with torch.no_grad():
        got = diffusion([video, audio], sigma, context=context, frame_rate=FPS, ref_audio={"tokens": tokens})
        v_out, a_out = lib["transformer"].LTXTransformer.forward(diffusion, v_in, a_in)
    assert a_out.shape[1] == 9 + 5
    torch.testing.assert_close(got[0], sampling.unpatchify_video(v_out, frames=2, height=2, width=2), atol=1e-5,
                               rtol=1e-5)
    torch.testing.assert_close(got[1], sampling.unpatchify_audio(a_out[:, :9], channels=8, mel_bins=16), atol=1e-5,
                               rtol=1e-5)

