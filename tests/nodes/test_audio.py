"""The pack's audio VAE + vocoder inside the real host: loader, decode / encode nodes, core LTXV audio nodes."""

from __future__ import annotations

import pytest
import torch
from test_vae import CKPTS, _inference_mode, write_demo_ckpts  # noqa: F401  (autouse fixture)

from ltx_model.audio import latent_frames_for_samples
from ltx_model.demo import DemoFamily
from ltx_model.loading import read_header, write_safetensors

pytestmark = pytest.mark.comfy

RATES = {DemoFamily.LTX2: 24000, DemoFamily.LTX23: 48000}


@pytest.fixture(scope="module")
def demo_ckpts(comfy_host):
    return write_demo_ckpts(comfy_host)


@pytest.fixture(scope="module")
def audio_vaes(pack_nodes, demo_ckpts):
    loader = pack_nodes.audio.LTX2NAudioVAELoader
    return {fam: loader.execute(vae_name=name).result[0] for fam, name in CKPTS.items()}


def _latent(seed, frames=6, batch=1):
    return torch.randn(batch, 8, frames, 16, generator=torch.Generator().manual_seed(seed))


def _library_waveform(vae, latent):
    module = vae.first_stage_model
    return module.vocoder(module.audio_vae.decode(latent)).float()


def test_audio_vae_loader_gives_core_vae_with_official_keys(pack_nodes, audio_vaes, demo_ckpts):
    import comfy.sd

    for fam, vae in audio_vaes.items():
        assert isinstance(vae, comfy.sd.VAE) and isinstance(vae, pack_nodes.audio.LTX2AudioVAE)
        file_keys = {k for k in read_header(demo_ckpts[fam]).tensors if k.startswith(("audio_vae.", "vocoder."))}
        assert set(vae.first_stage_model.state_dict()) == file_keys
        assert (vae.latent_channels, vae.latent_dim, vae.output_channels) == (8, 2, 2)
        module = vae.first_stage_model
        assert (module.output_sample_rate, module.latent_frequency_bins, module.sample_rate) == (RATES[fam], 16, 16000)
        assert vae.audio_sample_rate_output == RATES[fam] and vae.audio_sample_rate == 44100


def test_audio_vae_loader_rejects_file_without_audio(comfy_host, pack_nodes):
    write_safetensors(comfy_host.model_dir("vae") / "ltx2n_no_audio.safetensors", {"w": torch.zeros(2)})
    with pytest.raises(ValueError, match="ltx2n_no_audio.safetensors has no loadable LTX-2 audio VAE"):
        pack_nodes.audio.LTX2NAudioVAELoader.execute(vae_name="ltx2n_no_audio.safetensors")


@pytest.mark.parametrize("family", list(DemoFamily))
def test_audio_vae_decode_node_gives_audio_at_vocoder_rate(pack_nodes, audio_vaes, family):
    import comfy.nested_tensor

    vae, latent = audio_vaes[family], _latent(1, batch=2)
    av = comfy.nested_tensor.NestedTensor((torch.zeros(2, 128, 2, 2, 2), latent))
    audio = pack_nodes.audio.LTX2NDecodeAudio.execute(samples={"samples": av}, audio_vae=vae).result[0]
    samples = vae.first_stage_model.vocoder.num_samples(4 * 6 - 3)
    assert audio["sample_rate"] == RATES[family]
    assert tuple(audio["waveform"].shape) == (2, 2, samples)
    assert audio["waveform"].dtype == torch.float32 and audio["waveform"].device.type == "cpu"
    torch.testing.assert_close(audio["waveform"], _library_waveform(vae, latent), atol=1e-5, rtol=1e-5)
    plain = pack_nodes.audio.LTX2NDecodeAudio.execute(samples={"samples": latent}, audio_vae=vae).result[0]
    assert torch.equal(plain["waveform"], audio["waveform"])


@pytest.mark.parametrize(("rate", "channels"), [(22050, 1), (48000, 2)])
def test_audio_vae_encode_node_any_rate_mono_or_stereo(pack_nodes, audio_vaes, rate, channels):
    vae = audio_vaes[DemoFamily.LTX23]
    waveform = 0.3 * torch.randn(1, channels, rate // 2, generator=torch.Generator().manual_seed(2))  # 0.5 s
    latent = pack_nodes.audio.LTX2NEncodeAudio.execute(audio={"waveform": waveform, "sample_rate": rate},
                                                       audio_vae=vae).result[0]
    frames = latent_frames_for_samples(rate // 2, rate, vae.first_stage_model.audio_vae.config)
    assert tuple(latent["samples"].shape) == (1, 8, frames, 16) and frames == 13
    expected = vae.first_stage_model.audio_vae.encode_waveform(waveform, rate)
    torch.testing.assert_close(latent["samples"], expected, atol=1e-5, rtol=1e-5)
    decoded = pack_nodes.audio.LTX2NDecodeAudio.execute(samples=latent, audio_vae=vae).result[0]
    seconds = decoded["waveform"].shape[-1] / decoded["sample_rate"]
    assert decoded["waveform"].shape[:2] == (1, 2) and abs(seconds - 0.5) < 0.05  # (4T - 3) mel frames of 10 ms


def test_audio_vae_works_with_core_ltxv_audio_nodes(comfy_host, pack_nodes, audio_vaes):
    vae, node = audio_vaes[DemoFamily.LTX2], comfy_host.node_class
    empty = node("LTXVEmptyLatentAudio").execute(97, 24, 1, vae).result[0]
    assert tuple(empty["samples"].shape) == (1, 8, 101, 16)  # round(97 / 24 * 25), the pipelines' count
    latent = _latent(3)
    core = node("LTXVAudioVAEDecode").execute({"samples": latent}, vae).result[0]
    ours = pack_nodes.audio.LTX2NDecodeAudio.execute(samples={"samples": latent}, audio_vae=vae).result[0]
    assert core["sample_rate"] == ours["sample_rate"] == 24000
    torch.testing.assert_close(core["waveform"].float(), ours["waveform"], atol=1e-6, rtol=0)
    mono = {"waveform": 0.3 * torch.randn(1, 1, 11025, generator=torch.Generator().manual_seed(4)),
            "sample_rate": 22050}
    encoded = node("LTXVAudioVAEEncode").execute(mono, vae).result[0]["samples"]
    direct = pack_nodes.audio.LTX2NEncodeAudio.execute(audio=mono, audio_vae=vae).result[0]["samples"]
    assert encoded.shape == direct.shape == (1, 8, 13, 16)
    assert (encoded - direct).abs().mean() < 0.1 * direct.abs().mean()  # via 44.1 kHz vs one resample


def test_audio_vae_nodes_clear_errors(pack_nodes, audio_vaes, comfy_host):
    vae = audio_vaes[DemoFamily.LTX2]
    decode, encode = pack_nodes.audio.LTX2NDecodeAudio.execute, pack_nodes.audio.LTX2NEncodeAudio.execute
    with pytest.raises(ValueError, match="needs an audio latent"):
        decode(samples={"samples": torch.zeros(1, 128, 2, 2, 2)}, audio_vae=vae)
    with pytest.raises(ValueError, match="needs the audio VAE"):
        decode(samples={"samples": _latent(5)}, audio_vae=object())
    with pytest.raises(ValueError, match="empty"):
        encode(audio={"waveform": torch.zeros(1, 2, 0), "sample_rate": 16000}, audio_vae=vae)
    with pytest.raises(ValueError, match="mono or stereo"):
        encode(audio={"waveform": torch.zeros(1, 6, 1600), "sample_rate": 16000}, audio_vae=vae)
