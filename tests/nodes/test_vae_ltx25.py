"""LTX-2.5 VAEs inside the real host: Load Video VAE / Load Audio VAE on tiny split files in the official format
(``ltx_model.demo.ltx25_vae.write_demo_ltx25_video_vae``: diffusion decoder and conv variant;
``ltx_model.demo.ltx25.write_demo_ltx25_audio_vae``), Decode Video's diffusion decode against the library (same
seed and steps), tiles from free memory, the OOM retry, interrupt and progress per decode step, core VAEDecode /
VAEEncode on the 2.5 VAE, and the refusal of a VAE of the other generation."""

from __future__ import annotations

import logging

import pytest
import torch
from test_vae import CKPTS, _inference_mode, write_demo_ckpts  # noqa: F401  (autouse fixture)

from ltx_model.demo import DemoFamily
from ltx_model.demo.ltx25 import write_demo_ltx25_audio_vae
from ltx_model.demo.ltx25_vae import write_demo_ltx25_video_vae

pytestmark = pytest.mark.comfy

DIFFUSION = "ltx-2.5-video-vae-tiny.safetensors"
CONV = "ltx-2.5-video-vae-conv-tiny.safetensors"
AUDIO = "ltx-2.5-audio-vae-tiny.safetensors"
LATENT = (1, 8, 2, 2, 3)  # tiny diffusion VAE: 8 latent channels -> 9 frames of 64 x 96
WIDE = (1, 8, 2, 2, 6)  # stage-4 grid 9 x 12 x 24: two tiles of 12 columns need less than the whole


@pytest.fixture(scope="module")
def files(comfy_host):
    folder = comfy_host.model_dir("vae")
    return {"diffusion": write_demo_ltx25_video_vae(folder / DIFFUSION, seed=11, gates=True),
            "conv": write_demo_ltx25_video_vae(folder / CONV, seed=12, conv=True),
            "audio": write_demo_ltx25_audio_vae(folder / AUDIO, seed=13, dtype=torch.float32)}


@pytest.fixture(scope="module")
def vae(pack_nodes, files):
    return pack_nodes.vae.LTX2NVideoVAELoader.execute(vae_name=DIFFUSION).result[0]


def _latent(seed, shape=LATENT):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _library_images(vae, latent, *, seed, steps=None, tiling=None):
    """The library's decode with the same seed / steps, mapped to IMAGE (B*T, H, W, 3) in [0, 1]."""
    with torch.no_grad():
        pixels = vae.model.decode(latent.to(vae.vae_dtype), generator=torch.Generator().manual_seed(seed),
                                  steps=steps, tiling=tiling).float()
    return ((pixels + 1) / 2).clamp(0, 1).movedim(1, -1).reshape(-1, *pixels.shape[-2:], 3)


def _decode(pack_nodes, vae, latent, **options):
    return pack_nodes.vae.LTX2NDecodeVideo.execute(samples={"samples": latent}, vae=vae, **options).result[0]


def _free_memory_for(monkeypatch, pack_nodes, plan):
    """Make ``get_free_memory`` report just enough for ``plan``'s largest tile."""
    import comfy.model_management

    free = plan.nbytes / pack_nodes.vae_host.FREE_MEMORY_SHARE + 1
    monkeypatch.setattr(comfy.model_management, "get_free_memory", lambda *a, **k: free)


def test_ltx25_loaders_take_the_split_files(comfy_host, pack_nodes, files, vae):
    import comfy.sd

    assert isinstance(vae, comfy.sd.VAE) and isinstance(vae, pack_nodes.vae_ltx25.LTX25VideoVAEHost)
    assert vae.origin.file == DIFFUSION and vae.origin.ltx25 and vae.default_steps == 2
    assert (vae.latent_channels, vae.latent_dim, vae.downscale_index_formula) == (8, 3, (8, 32, 32))
    assert "decoder.diff_blocks.0.gate_msa" not in vae.first_stage_model.vae.state_dict()  # folded at load
    conv = pack_nodes.vae.LTX2NVideoVAELoader.execute(vae_name=CONV).result[0]
    assert type(conv) is pack_nodes.vae_host.LTX2VideoVAE and conv.origin.ltx25
    audio = pack_nodes.audio.LTX2NAudioVAELoader.execute(vae_name=AUDIO).result[0]
    assert isinstance(audio, pack_nodes.audio.LTX2AudioVAE) and audio.origin.ltx25
    video_list = pack_nodes.vae.LTX2NVideoVAELoader.define_schema().inputs[0].options
    audio_list = pack_nodes.audio.LTX2NAudioVAELoader.define_schema().inputs[0].options
    assert {DIFFUSION, CONV} <= set(video_list) and AUDIO not in video_list
    assert AUDIO in audio_list and not {DIFFUSION, CONV} & set(audio_list)


def test_ltx25_audio_vae_decode_node_equals_library(pack_nodes, files):
    audio = pack_nodes.audio.LTX2NAudioVAELoader.execute(vae_name=AUDIO).result[0]
    latent = torch.randn(1, 8, 5, 16, generator=torch.Generator().manual_seed(3))
    out = pack_nodes.audio.LTX2NDecodeAudio.execute(samples={"samples": latent}, audio_vae=audio).result[0]
    module = audio.first_stage_model
    with torch.no_grad():
        expected = module.vocoder(module.audio_vae.decode(latent)).float()
    torch.testing.assert_close(out["waveform"], expected, atol=1e-6, rtol=0)
    assert out["sample_rate"] == module.output_sample_rate


def test_ltx25_decode_video_equals_library_for_seed_and_steps(pack_nodes, vae, progress_calls):
    latent = _latent(1)
    images = _decode(pack_nodes, vae, latent, decode_steps=3, decode_seed=7)
    assert tuple(images.shape) == (9, 64, 96, 3)
    assert torch.equal(images, _library_images(vae, latent, seed=7, steps=3))
    assert progress_calls == [(1, 3), (2, 3), (3, 3)]  # one tile (memory allows), one step each
    default = _decode(pack_nodes, vae, latent, decode_seed=7)  # decode_steps 0 = the file's 2 steps
    assert torch.equal(default, _library_images(vae, latent, seed=7, steps=2))
    assert not torch.equal(default, _decode(pack_nodes, vae, latent, decode_seed=8))


def test_ltx25_decode_video_tiles_from_free_memory(pack_nodes, vae, monkeypatch, progress_calls):
    latent = _latent(2, WIDE)
    plans = vae.plans(latent.shape, 0)
    target = plans[1]  # the whole video does not fit; the first halved tile does
    assert target.tiles == 2 and plans[0].nbytes > target.nbytes
    _free_memory_for(monkeypatch, pack_nodes, target)
    images = _decode(pack_nodes, vae, latent, decode_seed=4)
    torch.testing.assert_close(images, _library_images(vae, latent, seed=4), atol=1e-5, rtol=0)  # == untiled
    assert progress_calls == [(i, 4) for i in range(1, 5)]  # 2 tiles x 2 steps


def test_ltx25_decode_video_oom_in_first_tile_retries_smaller(pack_nodes, vae, monkeypatch, progress_calls, caplog):
    latent, decoder = _latent(3, WIDE), vae.model.decoder
    stage_4, calls = decoder.stage_4, []

    def fails_first(*args, **kwargs):
        calls.append(args[0].shape)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return stage_4(*args, **kwargs)

    monkeypatch.setattr(decoder, "stage_4", fails_first)
    with caplog.at_level(logging.WARNING):
        images = _decode(pack_nodes, vae, latent, decode_seed=5)
    plans = vae.plans(latent.shape, 0)
    assert "ran out of memory" in caplog.text and str(plans[1].tiling.tile) in caplog.text
    assert progress_calls[-1] == (plans[1].tiles * 2, plans[1].tiles * 2)  # retried with the halved tile
    monkeypatch.undo()
    torch.testing.assert_close(images, _library_images(vae, latent, seed=5), atol=1e-5, rtol=0)


def test_ltx25_decode_video_interrupt_between_steps(pack_nodes, vae, monkeypatch):
    import comfy.model_management as mm

    decoder, steps = vae.model.decoder, []
    step = decoder.diffusion_step

    def press_cancel(*args, **kwargs):
        steps.append(1)
        mm.interrupt_current_processing(True)  # the user presses Cancel during the first step
        return step(*args, **kwargs)

    monkeypatch.setattr(decoder, "diffusion_step", press_cancel)
    try:
        with pytest.raises(mm.InterruptProcessingException):
            _decode(pack_nodes, vae, _latent(4), decode_steps=3)
    finally:
        mm.interrupt_current_processing(False)
    assert steps == [1]  # stopped right after the first step


def test_ltx25_core_vae_decode_and_encode(comfy_host, pack_nodes, vae):
    latent = _latent(5)
    core = comfy_host.node_class("VAEDecode")().decode(vae, {"samples": latent})[0]
    assert torch.equal(core, _library_images(vae, latent, seed=0))  # file's steps, seed 0
    tiled = comfy_host.node_class("VAEDecodeTiled")().decode(vae, {"samples": latent}, 512, 64, 64, 8)[0]
    torch.testing.assert_close(tiled, core, atol=1e-6, rtol=0)  # one core tile covers the whole latent
    frames = torch.rand(9, 64, 96, 3, generator=torch.Generator().manual_seed(6))
    encoded = comfy_host.node_class("VAEEncode")().encode(vae, frames)[0]["samples"]
    with torch.no_grad():
        expected = vae.model.encode((frames * 2 - 1).movedim(-1, 0)[None].to(vae.vae_dtype))
    assert tuple(encoded.shape) == (1, 8, 2, 2, 3)
    torch.testing.assert_close(encoded, expected.float(), atol=1e-5, rtol=1e-5)


def test_ltx25_conv_variant_ignores_decode_steps_and_seed(comfy_host, pack_nodes, files):
    conv = pack_nodes.vae.LTX2NVideoVAELoader.execute(vae_name=CONV).result[0]
    latent = _latent(7, (1, conv.latent_channels, 2, 2, 2))
    a = _decode(pack_nodes, conv, latent)
    assert torch.equal(a, _decode(pack_nodes, conv, latent, decode_steps=5, decode_seed=9))
    torch.testing.assert_close(a, comfy_host.node_class("VAEDecode")().decode(conv, {"samples": latent})[0],
                               atol=1e-6, rtol=0)


def test_ltx25_family_mismatch_refused_before_decoding(comfy_host, pack_nodes, vae, files, monkeypatch):
    write_demo_ckpts(comfy_host)
    old = pack_nodes.vae.LTX2NVideoVAELoader.execute(vae_name=CKPTS[DemoFamily.LTX23]).result[0]
    old_audio = pack_nodes.audio.LTX2NAudioVAELoader.execute(vae_name=CKPTS[DemoFamily.LTX23]).result[0]
    audio = pack_nodes.audio.LTX2NAudioVAELoader.execute(vae_name=AUDIO).result[0]
    tag = pack_nodes.latent_formats.tag_latent
    monkeypatch.setattr(pack_nodes.vae, "decode_video", lambda *a: pytest.fail("decoded despite the mismatch"))
    decode, name = pack_nodes.vae.LTX2NDecodeVideo.execute, CKPTS[DemoFamily.LTX23]
    with pytest.raises(ValueError, match=rf"Decode Video \(LTX-2\): the video VAE {name} is an LTX-2 / LTX-2.3 VAE, "
                                         r"but the latent is LTX-2.5 .*ltx-2.5-video-vae-\*"):
        decode(samples=tag({"samples": _latent(8, (1, 128, 2, 2, 2))}, "2.5.0"), vae=old)
    with pytest.raises(ValueError, match=rf"the video VAE {DIFFUSION} is an LTX-2.5 VAE, but the latent is "
                                         r"LTX-2 / LTX-2.3 \(model_version 2.3.0\).*models/checkpoints"):
        decode(samples=tag({"samples": _latent(8)}, "2.3.0"), vae=vae)
    with pytest.raises(ValueError, match=rf"Decode Audio \(LTX-2\): the audio VAE {AUDIO} is an LTX-2.5 VAE"):
        pack_nodes.audio.LTX2NDecodeAudio.execute(samples=tag({"samples": torch.zeros(1, 8, 5, 16)}, "2.3"),
                                                  audio_vae=audio)
    with pytest.raises(ValueError, match=r"ltx-2.5-audio-vae-\*"):
        pack_nodes.audio.LTX2NDecodeAudio.execute(samples=tag({"samples": torch.zeros(1, 8, 5, 16)}, "2.5.0"),
                                                  audio_vae=old_audio)
    monkeypatch.undo()
    same = _decode(pack_nodes, vae, _latent(8))  # same generation (and untagged latents) decode as before
    assert torch.equal(pack_nodes.vae.LTX2NDecodeVideo.execute(
        samples=tag({"samples": _latent(8)}, "2.5.0"), vae=vae).result[0], same)
