"""Audio-to-video, text-to-audio and video-to-audio nodes inside the real host, against the library modes.

Parity (nodes vs ``ltx_model.pipelines``, itself parity-checked against ltx-pipelines' conditioning states in
tests/parity/test_modes_parity.py): the same demo checkpoint file (19B form, float32), the same text contexts and
the same noise (ComfyUI's ``prepare_noise`` for the sampler's seed, fed to the library's noise draw), 8 distilled
Euler steps. Tolerances: latents atol 1e-4 (float32 rounding through 8 steps, as the whole-graph parity test),
decoded frames at most 1 uint8 level, waveforms atol 1e-4; the A2V output waveform and the V2A output frames are
compared bit for bit.
"""

from __future__ import annotations

import math

import pytest
import torch
from node_support import pack_module, prompt

from ltx_model.pipelines import (
    GenerationRequest,
    TextContexts,
    encode_frames,
    generate_audio,
    generate_audio_for_video,
    generate_audio_to_video,
    load_pipeline_models,
)
from ltx_model.sampling import apply_noise, patchify_audio, patchify_video

pytestmark = pytest.mark.comfy

LATENT_ATOL = 1e-4
AUDIO_ATOL = 1e-4
FRAME_ATOL = 1  # uint8 levels
SEED, FPS, FRAMES, SIZE = 11, 24.0, 17, 64
REQUEST = GenerationRequest(height=SIZE, width=SIZE, num_frames=FRAMES, fps=FPS, seed=SEED)


@pytest.fixture(scope="module")
def distilled(comfy_host, demo_models, demo_files):
    """The 19B-form distilled demo model as MODEL, its VAEs as host VAEs, and the library's models of that file."""
    nodes = comfy_host.pack_nodes
    name = demo_files.ltx2_distilled
    return {
        "model": demo_models["19b-distilled"],
        "vae": nodes.vae.LTX2NVideoVAELoader.execute(vae_name=name).result[0],
        "audio_vae": nodes.audio.LTX2NAudioVAELoader.execute(vae_name=name).result[0],
        "library": load_pipeline_models(str(comfy_host.model_dir("checkpoints") / name), dtype=torch.float32),
    }


class TransformerCalls:
    """Records ``(video Modality | None, audio Modality | None)`` of every transformer pass of the pack's copy."""

    def __init__(self, comfy_host, monkeypatch) -> None:
        self.seen: list[tuple] = []
        cls = pack_module(comfy_host, "ltx_model.transformer").LTXTransformer
        original = cls.forward

        def spy(module, video, audio, *args, **kwargs):
            self.seen.append((video, audio))
            return original(module, video, audio, *args, **kwargs)

        monkeypatch.setattr(cls, "forward", spy)


def _contexts(model, seed: int) -> tuple[list, TextContexts]:
    """A CONDITIONING and the same contexts for the library."""
    cond = prompt(model, seed, frame_rate=FPS)
    width = model.model.diffusion_model.context_widths()[0]
    context = cond[0][0]
    return cond, TextContexts(context[..., :width], context[..., width:])


def _comfy_noise(latent: dict) -> list[torch.Tensor]:
    import comfy.sample

    return list(comfy.sample.prepare_noise(latent["samples"], SEED).unbind())


def _feed_noise(monkeypatch, noises: list[torch.Tensor]) -> None:
    """The library's noise draws (video first, then audio) return ComfyUI's noise grids, patchified."""
    import ltx_model.pipelines.streams as streams

    queue = list(noises)

    def noise_state(state, generator, noise_scale=1.0):
        grid = queue.pop(0)
        tokens = patchify_video(grid) if grid.ndim == 5 else patchify_audio(grid)
        return apply_noise(state, tokens.to(state.latent), noise_scale)

    monkeypatch.setattr(streams, "noise_state", noise_state)


def _sample(nodes, model, cond, latent: dict) -> dict:
    return nodes.sampling.LTX2NSampler.execute(model, cond, cond, latent, SEED, "auto", 0, "auto").result[0]


def _uint8(images: torch.Tensor) -> torch.Tensor:
    return (images.float() * 255.0).to(torch.uint8)  # IMAGE in [0, 1] truncated like the library's frames


def _sine(seconds: float, rate: int, channels: int) -> torch.Tensor:
    t = torch.arange(round(seconds * rate)) / rate
    wave = torch.stack([0.5 * torch.sin(2 * math.pi * (220 + 110 * c) * t) for c in range(channels)])
    return wave[None].float()  # (1, C, S)


def _empty_av(nodes, frames: int = FRAMES, fps: float = FPS) -> dict:
    return nodes.latents.LTX2NEmptyAVLatent.execute(SIZE, SIZE, frames, fps, 1).result[0]


# --- audio-to-video -------------------------------------------------------------------------------------------------


def test_a2v_nodes_equal_library_and_return_input_waveform(comfy_host, distilled, monkeypatch):
    nodes, model = comfy_host.pack_nodes, distilled["model"]
    cond, contexts = _contexts(model, 1)
    rate, waveform = 22050, _sine(1.0, 22050, 1)  # 1 s mono at 22.05 kHz: trimmed to 17/24 s
    a2v = nodes.audio_modes.LTX2NAudioToVideo.execute(distilled["audio_vae"], {"waveform": waveform,
                                                                              "sample_rate": rate},
                                                      _empty_av(nodes), FPS)
    latent, audio = a2v.result
    assert "trimmed" in a2v.ui["text"][0]
    calls = TransformerCalls(comfy_host, monkeypatch)
    sampled = _sample(nodes, model, cond, latent)
    frames = nodes.vae.LTX2NDecodeVideo.execute(sampled, distilled["vae"]).result[0]

    _feed_noise(monkeypatch, _comfy_noise(latent))
    library = generate_audio_to_video(distilled["library"], REQUEST, contexts, waveform[0], rate)

    assert audio["sample_rate"] == rate and torch.equal(audio["waveform"][0], library.waveform)  # bit-identical
    assert torch.equal(audio["waveform"], waveform[:, :, : round(FRAMES / FPS * rate)])  # the input's own samples
    video, audio_latent = sampled["samples"].unbind()
    torch.testing.assert_close(video, library.video_latent, atol=LATENT_ATOL, rtol=0)
    assert video.std() > 0.1, "a real signal was compared"
    torch.testing.assert_close(audio_latent, library.audio_latent, atol=1e-5, rtol=0)  # frozen: the encoded audio
    diff = (_uint8(frames).int() - library.frames.int()).abs()
    assert frames.shape == library.frames.shape == (FRAMES, SIZE, SIZE, 3) and diff.max() <= FRAME_ATOL
    assert calls.seen and all(a.sigma.eq(0).all() and a.timesteps.eq(0).all() for _, a in calls.seen)
    assert all(v.sigma.gt(0).all() for v, _ in calls.seen)


def test_a2v_with_first_image_keeps_audio_frozen(comfy_host, distilled):
    nodes, vae = comfy_host.pack_nodes, distilled["vae"]
    sound = {"waveform": _sine(2.0, 48000, 2), "sample_rate": 48000}
    image = torch.rand(1, 40, 56, 3, generator=torch.Generator().manual_seed(0))
    a2v, i2v = nodes.audio_modes.LTX2NAudioToVideo, nodes.conditioning.LTX2NImageToVideo
    first = a2v.execute(distilled["audio_vae"], sound, _empty_av(nodes), FPS).result[0]
    first = i2v.execute(vae, image, first, 1.0, 0).result[0]
    second = i2v.execute(vae, image, _empty_av(nodes), 1.0, 0).result[0]
    second = a2v.execute(distilled["audio_vae"], sound, second, FPS).result[0]
    for latent in (first, second):  # either order: first frame conditioned, audio frozen
        video_mask, audio_mask = latent["noise_mask"].unbind()
        assert video_mask[:, :, 0].eq(0).all() and video_mask[:, :, 1:].eq(1).all()
        assert audio_mask.eq(0).all()
    for a, b in zip(first["samples"].unbind(), second["samples"].unbind(), strict=True):
        assert torch.equal(a, b)


def test_a2v_short_empty_and_mismatched_audio(comfy_host, distilled):
    nodes, vae = comfy_host.pack_nodes, distilled["audio_vae"]
    node = nodes.audio_modes.LTX2NAudioToVideo
    short = _sine(0.25, 16000, 2)
    out = node.execute(vae, {"waveform": short, "sample_rate": 16000}, _empty_av(nodes), FPS)
    padded = out.result[1]["waveform"]
    assert "padded with silence" in out.ui["text"][0]
    assert torch.equal(padded[:, :, :4000], short) and padded[:, :, 4000:].eq(0).all()
    assert padded.shape[2] == round(FRAMES / FPS * 16000)
    with pytest.raises(ValueError, match="empty"):
        node.execute(vae, {"waveform": torch.zeros(1, 2, 0), "sample_rate": 16000}, _empty_av(nodes), FPS)
    with pytest.raises(ValueError, match="mono or stereo"):
        node.execute(vae, {"waveform": torch.zeros(1, 6, 800), "sample_rate": 16000}, _empty_av(nodes), FPS)
    with pytest.raises(ValueError, match="same fps"):  # latent made for 24 fps, node told 12
        node.execute(vae, {"waveform": short, "sample_rate": 16000}, _empty_av(nodes), 12.0)
    video_only = {"samples": _empty_av(nodes)["samples"].unbind()[0]}
    with pytest.raises(ValueError, match="audio\\+video latent"):
        node.execute(vae, {"waveform": short, "sample_rate": 16000}, video_only, FPS)
    with pytest.raises(ValueError, match="Load Audio VAE"):
        node.execute(distilled["vae"], {"waveform": short, "sample_rate": 16000}, _empty_av(nodes), FPS)


# --- text-to-audio --------------------------------------------------------------------------------------------------


def test_t2a_computes_no_video_tokens_and_equals_library(comfy_host, distilled, monkeypatch):
    nodes, model = comfy_host.pack_nodes, distilled["model"]
    cond, contexts = _contexts(model, 2)
    latent = nodes.audio_modes.LTX2NEmptyAudioLatent.execute(FRAMES / FPS, 1).result[0]
    video, audio = latent["samples"].unbind()
    assert tuple(video.shape) == (1, 128, 0, 1, 1) and tuple(audio.shape) == (1, 8, 18, 16)  # round(17/24*25)
    calls = TransformerCalls(comfy_host, monkeypatch)
    sampled = _sample(nodes, model, cond, latent)
    sound = nodes.audio.LTX2NDecodeAudio.execute(sampled, distilled["audio_vae"]).result[0]
    assert len(calls.seen) == 8 and all(v is None and a.latent.shape[1] == 18 for v, a in calls.seen)

    _feed_noise(monkeypatch, _comfy_noise(latent)[1:])  # the library draws audio noise only
    library = generate_audio(distilled["library"], REQUEST, contexts)
    ours = sampled["samples"].unbind()
    assert ours[0].numel() == 0
    torch.testing.assert_close(ours[1], library.audio_latent, atol=LATENT_ATOL, rtol=0)
    assert ours[1].std() > 0.1
    assert sound["sample_rate"] == library.sample_rate
    torch.testing.assert_close(sound["waveform"][0], library.waveform, atol=AUDIO_ATOL, rtol=0)


def test_t2a_guided_dev_model_and_core_sampler(comfy_host, demo_models, monkeypatch):
    """Multimodal guidance (CFG, STG, modality passes) and core SamplerCustomAdvanced on an audio-only latent."""
    nodes, model = comfy_host.pack_nodes, demo_models["2.3-dev"]
    latent = nodes.audio_modes.LTX2NEmptyAudioLatent.execute(0.4, 2).result[0]
    pos, neg = prompt(model, 3), prompt(model, 4)
    calls = TransformerCalls(comfy_host, monkeypatch)
    guided = nodes.sampling.LTX2NSampler.execute(model, pos, neg, latent, 5, "LTX-2 schedule", 2, "auto").result[0]
    node = comfy_host.node_class
    guider = node("CFGGuider").execute(model, pos, neg, 3.0).result[0]
    sampler, noise = node("KSamplerSelect").execute("euler").result[0], node("RandomNoise").execute(5).result[0]
    core = node("SamplerCustomAdvanced").execute(noise, guider, sampler, torch.tensor([1.0, 0.5, 0.0]),
                                                 latent).result[0]
    assert calls.seen and all(v is None for v, _ in calls.seen)
    for out in (guided, core):
        video, audio = out["samples"].unbind()
        assert tuple(video.shape) == (2, 128, 0, 1, 1) and tuple(audio.shape) == (2, 8, 10, 16)
        assert torch.isfinite(audio).all() and audio.abs().mean() > 0.05
    with pytest.raises(ValueError, match="too short"):
        nodes.audio_modes.LTX2NEmptyAudioLatent.execute(0.01, 1)


# --- video-to-audio -------------------------------------------------------------------------------------------------


def _clip(count: int, height: int = 48, width: int = 80) -> torch.Tensor:
    """IMAGE frames (count, H, W, 3) in [0, 1] holding exact uint8 levels (as decoded video frames do)."""
    g = torch.Generator().manual_seed(7)
    return torch.randint(0, 256, (count, height, width, 3), generator=g).float() / 255.0


def test_v2a_nodes_equal_library_and_keep_input_frames(comfy_host, distilled, monkeypatch):
    nodes, model = comfy_host.pack_nodes, distilled["model"]
    cond, contexts = _contexts(model, 5)
    clip = _clip(20)
    latent, images = nodes.audio_modes.LTX2NVideoToAudio.execute(distilled["vae"], SIZE, SIZE, FRAMES, FPS,
                                                                 images=clip).result
    assert torch.equal(images, clip[:FRAMES])  # the frames for Create Video: the input, unchanged
    encoded = encode_frames(distilled["library"].video_vae, clip[:FRAMES] * 255, height=SIZE, width=SIZE)
    torch.testing.assert_close(latent["samples"].unbind()[0], encoded, atol=1e-5, rtol=0)
    calls = TransformerCalls(comfy_host, monkeypatch)
    sampled = _sample(nodes, model, cond, latent)
    sound = nodes.audio.LTX2NDecodeAudio.execute(sampled, distilled["audio_vae"]).result[0]

    _feed_noise(monkeypatch, _comfy_noise(latent))
    library = generate_audio_for_video(distilled["library"], REQUEST, contexts, clip * 255)
    video, audio = sampled["samples"].unbind()
    torch.testing.assert_close(video, encoded, atol=1e-5, rtol=0)  # frozen
    torch.testing.assert_close(audio, library.audio_latent, atol=LATENT_ATOL, rtol=0)
    assert audio.std() > 0.1
    torch.testing.assert_close(sound["waveform"][0], library.waveform, atol=AUDIO_ATOL, rtol=0)
    assert calls.seen and all(v.sigma.eq(0).all() and a.sigma.gt(0).all() for v, a in calls.seen)


def test_v2a_video_input_frames_and_fps_checks(comfy_host, distilled):
    from comfy_api.latest import InputImpl, Types

    node, vae = comfy_host.pack_nodes.audio_modes.LTX2NVideoToAudio, distilled["vae"]
    clip = _clip(12, 64, 64)
    video = InputImpl.VideoFromComponents(Types.VideoComponents(images=clip, frame_rate=FPS))
    latent, images = node.execute(vae, SIZE, SIZE, 0, FPS, video=video).result  # 0 = all frames, down to 1 + 8k
    assert images.shape[0] == 9 and latent["samples"].unbind()[0].shape[2] == 2
    assert latent["samples"].unbind()[1].shape[2] == round(9 / FPS * 25)
    with pytest.raises(ValueError, match="runs at 24 fps but fps is 25"):
        node.execute(vae, SIZE, SIZE, 9, 25.0, video=video)
    with pytest.raises(ValueError, match="has 12 frames, the clip needs 17"):
        node.execute(vae, SIZE, SIZE, 17, FPS, images=clip)
    with pytest.raises(ValueError, match="exactly one"):
        node.execute(vae, SIZE, SIZE, 9, FPS)
    assert "1 + 8k" in node.validate_inputs(width=SIZE, height=SIZE, frames=10, fps=FPS)
    assert "multiples of 32" in node.validate_inputs(width=70, height=SIZE, frames=9, fps=FPS)
    assert node.validate_inputs(width=SIZE, height=SIZE, frames=0, fps=FPS) is True
    assert "width must be between 32 and 8192" in node.validate_inputs(width=8224, height=SIZE, frames=9, fps=FPS)
    assert "fps must be between" in node.validate_inputs(width=SIZE, height=SIZE, frames=9, fps=0.5)
    assert "width must be a number" in node.validate_inputs(width="not a number", height=SIZE, frames=9, fps=FPS)

