"""Unit tests for the audio VAE, its config, mel front-end and latent geometry (tiny configs, CPU)."""

from __future__ import annotations

import copy
import json
import types

import pytest
import torch

from ltx_model.audio import (
    AudioVAE,
    AudioVAEConfig,
    AudioVAEParts,
    audio_latent_frames_for_duration,
    audio_latent_frames_for_video,
    audio_latent_shape,
    latent_frames_for_samples,
    mel_frames_for_latent_frames,
    mel_frames_for_samples,
    resample,
    tiny_audio_vae_section,
    waveform_to_mel,
)
from ltx_model.configbase import ConfigError

MANIFESTS = ["ltx-2-19b.json", "ltx-2.3-22b.json"]


def _manifest(manifests_dir, name: str) -> dict:
    return json.loads((manifests_dir / name).read_text())


@pytest.mark.parametrize("name", MANIFESTS)
def test_audio_vae_config_from_real_section(manifests_dir, name: str) -> None:
    config = AudioVAEConfig.from_dict(_manifest(manifests_dir, name)["config"]["audio_vae"])
    assert config == AudioVAEConfig()  # defaults are the real values
    assert (config.latent_channels, config.latent_mel_bins, config.statistics_channels) == (8, 16, 128)
    assert config.latents_per_second == 25.0 and config.mel_frames_per_second == 100.0


def _edited(path: tuple[str, ...], value: object) -> dict:
    section = copy.deepcopy(tiny_audio_vae_section())
    node = section
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return section


DD = ("model", "params", "ddconfig")


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        (DD + ("bogus",), 1, "ddconfig.bogus"),
        (("bogus",), {}, "audio_vae.bogus"),
        (DD + ("norm_type",), "group", "ddconfig.norm_type"),
        (DD + ("causality_axis",), "width", "ddconfig.causality_axis"),
        (DD + ("mid_block_add_attention",), None, "ddconfig.mid_block_add_attention"),
        (DD + ("attn_resolutions",), [64], "ddconfig.attn_resolutions"),
        (DD + ("double_z",), False, "ddconfig.double_z"),
        (("preprocessing", "stft", "win_length"), 128, "stft.win_length"),
        (("preprocessing", "mel", "mel_fmax"), 7000, "mel.mel_fmax"),
        (("preprocessing", "mel", "n_mel_channels"), 32, "n_mel_channels"),
    ],
)
def test_audio_vae_config_rejects(path: tuple[str, ...], value: object, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        AudioVAEConfig.from_dict(_edited(path, value))


@pytest.mark.parametrize("name", MANIFESTS)
def test_audio_vae_meta_build_matches_manifest(manifests_dir, name: str) -> None:
    manifest = _manifest(manifests_dir, name)
    vae = AudioVAE(AudioVAEConfig.from_dict(manifest["config"]["audio_vae"]), device="meta")
    expected = {k.removeprefix("audio_vae."): v for k, v in manifest["tensors"].items() if k.startswith("audio_vae.")}
    got = {k: list(v.shape) for k, v in vae.state_dict().items()}
    assert got == expected
    assert all(t.is_meta for t in vae.state_dict().values())


def test_audio_vae_parts_and_statistics_init() -> None:
    config = AudioVAEConfig.tiny()
    encoder_only = AudioVAE(config, parts=AudioVAEParts.ENCODER)
    keys = encoder_only.state_dict().keys()
    assert encoder_only.decoder is None and not any(k.startswith("decoder.") for k in keys)
    assert {k for k in keys if not k.startswith("encoder.")} == {
        "per_channel_statistics.std-of-means",
        "per_channel_statistics.mean-of-means",
    }
    with pytest.raises(RuntimeError, match="decoder"):
        encoder_only.decode(torch.zeros(1, 2, 3, 4))
    # Identity statistics on a fresh build (current Lightricks code; 1.0.0 left them uninitialised).
    stats = encoder_only.per_channel_statistics
    assert torch.equal(stats.get_buffer("std-of-means"), torch.ones(config.statistics_channels))
    assert torch.equal(stats.get_buffer("mean-of-means"), torch.zeros(config.statistics_channels))


def test_audio_vae_statistics_round_trip() -> None:
    vae = AudioVAE(AudioVAEConfig.tiny(), parts=AudioVAEParts.ENCODER)
    stats = vae.per_channel_statistics
    stats.get_buffer("std-of-means").uniform_(0.5, 2.0)
    stats.get_buffer("mean-of-means").normal_()
    latent = torch.randn(2, 2, 5, 4)
    torch.testing.assert_close(stats.denormalize(stats.normalize(latent)), latent, atol=1e-6, rtol=1e-6)
    # Index c * F_lat + f: channel 1, bin 2 uses entry 6.
    shifted = torch.zeros(1, 2, 1, 4)
    shifted[0, 1, 0, 2] = 1.0
    mean, std = stats.get_buffer("mean-of-means"), stats.get_buffer("std-of-means")
    torch.testing.assert_close(stats.normalize(shifted)[0, 1, 0, 2], (1.0 - mean[6]) / std[6])


@pytest.mark.parametrize("frames", [1, 4, 13])
def test_audio_vae_shapes(frames: int) -> None:
    config = AudioVAEConfig.tiny()
    vae = AudioVAE(config).eval()
    with torch.no_grad():
        latent = vae.encode(torch.randn(2, 2, frames, config.mel_bins))
        assert latent.shape == audio_latent_shape(2, -(-frames // 4), config)
        mel = vae.decode(latent)
    assert mel.shape == (2, 2, mel_frames_for_latent_frames(latent.shape[2], config), config.mel_bins)
    assert torch.isfinite(mel).all()


def test_audio_vae_encoder_and_decoder_are_causal() -> None:
    """Changing the future must not change earlier latent frames / earlier decoded mel frames."""
    vae = AudioVAE(AudioVAEConfig.tiny()).eval()
    mel = torch.randn(1, 2, 24, 16)
    changed = mel.clone()
    changed[:, :, 13:] += 5.0  # latent frame j sees mel frames <= 4j, so frames >= 13 reach latents >= 4 only
    latent = torch.randn(1, 2, 6, 4)
    changed_latent = latent.clone()
    changed_latent[:, :, 4:] -= 3.0  # affects decoded frames >= 4 * 4 - 3 = 13
    with torch.no_grad():
        a, b = vae.encode(mel), vae.encode(changed)
        c, d = vae.decode(latent), vae.decode(changed_latent)
    torch.testing.assert_close(a[:, :, :4], b[:, :, :4], atol=0, rtol=0)
    assert not torch.allclose(a[:, :, 4], b[:, :, 4])
    torch.testing.assert_close(c[:, :, :13], d[:, :, :13], atol=0, rtol=0)
    assert not torch.allclose(c[:, :, 13], d[:, :, 13])


def test_audio_vae_geometry() -> None:
    config = AudioVAEConfig()
    assert audio_latent_frames_for_video(121, 24, config) == 126
    assert audio_latent_frames_for_video(121, 25, config) == 121
    assert audio_latent_frames_for_duration(10.0, config) == 250
    assert mel_frames_for_latent_frames(126, config) == 501
    assert mel_frames_for_latent_frames(0, config) == 1
    assert mel_frames_for_samples(48000, 48000, config) == 101  # 1 s at 48 kHz → 16000 samples → 1 + 100
    assert latent_frames_for_samples(48000, 48000, config) == 26


@pytest.mark.parametrize(("samples", "rate"), [(3000, 16000), (4410, 44100), (2205, 22050), (1000, 8000)])
def test_audio_vae_encode_waveform_length(samples: int, rate: int) -> None:
    config = AudioVAEConfig.tiny()
    vae = AudioVAE(config, parts=AudioVAEParts.ENCODER).eval()
    with torch.no_grad():
        latent = vae.encode_waveform(torch.randn(1, 2, samples) * 0.1, rate)
    assert latent.shape == audio_latent_shape(1, latent_frames_for_samples(samples, rate, config), config)


def test_audio_vae_mel_refuses_audio_shorter_than_the_stft_padding() -> None:
    config = AudioVAEConfig.tiny()  # n_fft 256: at least 129 samples at 16 kHz after resampling
    shortest = config.n_fft // 2 + 1
    assert waveform_to_mel(torch.zeros(1, 2, shortest), 16000, config).shape[2] == 1 + shortest // config.hop_length
    with pytest.raises(ValueError, match=rf"too short.*1 samples at 16000 Hz.*at least 8\.1 ms \({shortest} samples"):
        waveform_to_mel(torch.zeros(1, 2, 1), 16000, config)
    for samples, rate in ((shortest - 1, 16000), (48, 48000)):  # one sample short; 1 ms at 48 kHz
        with pytest.raises(ValueError, match="too short"):
            waveform_to_mel(torch.zeros(1, 2, samples), rate, config)


def test_audio_vae_mel_mono_and_channel_handling() -> None:
    config = AudioVAEConfig.tiny()
    mono = torch.randn(1, 1, 3000) * 0.1
    mel = waveform_to_mel(mono, 16000, config)
    assert mel.shape == (1, 2, 1 + 3000 // config.hop_length, config.mel_bins)
    torch.testing.assert_close(mel[:, 0], mel[:, 1], atol=0, rtol=0)
    torch.testing.assert_close(waveform_to_mel(mono[0, 0], 16000, config), mel, atol=0, rtol=0)
    with pytest.raises(ValueError, match="mono or stereo"):
        waveform_to_mel(torch.zeros(1, 3, 100), 16000, config)
    assert waveform_to_mel(torch.zeros(1, 2, 640), 16000, config).min() == pytest.approx(torch.log(torch.tensor(1e-5)))


def test_audio_vae_resample_keeps_a_tone() -> None:
    """A 1 kHz tone resampled 48 kHz → 16 kHz keeps its frequency and amplitude; length ceil(L · 1/3)."""
    t = torch.arange(4801) / 48000
    out = resample(torch.sin(2 * torch.pi * 1000 * t), 48000, 16000)
    assert out.shape == (1601,)
    spectrum = torch.fft.rfft(out[200:1400]).abs()
    assert int(spectrum.argmax()) == round(1000 * 1200 / 16000)
    assert out[200:1400].abs().max() == pytest.approx(1.0, abs=0.02)


def test_audio_vae_uses_injected_operations() -> None:
    """Every conv is created through ``operations`` with the given dtype."""
    created: list[tuple[str, torch.dtype]] = []

    class Conv2d(torch.nn.Conv2d):
        def __init__(self, *args, **kwargs) -> None:
            created.append(("Conv2d", kwargs["dtype"]))
            super().__init__(*args, **kwargs)

    ops = types.SimpleNamespace(Conv2d=Conv2d)
    vae = AudioVAE(AudioVAEConfig.tiny(), dtype=torch.float64, operations=ops)
    n_convs = sum(isinstance(m, torch.nn.Conv2d) for m in vae.modules())
    assert len(created) == n_convs > 0 and {d for _, d in created} == {torch.float64}
    assert vae.encode(torch.randn(1, 2, 5, 16)).dtype == torch.float64
