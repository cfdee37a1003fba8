"""Audio VAE and mel front-end parity against ltx-core 1.0.0 (fp32; tiny random weights copied across).

Tolerances: log-mel front-end atol 1e-5 (values of order 1–10; bit-identical to torchaudio in practice);
encoder/decoder atol 1e-5 / rtol 1e-5.
"""

from __future__ import annotations

import json

import pytest
import torch
from ltx_core.model.audio_vae import (
    AudioDecoderConfigurator,
    AudioEncoderConfigurator,
    AudioProcessor,
    encode_audio,
)
from ltx_core.types import Audio

from ltx_model.audio import AudioVAE, AudioVAEConfig, tiny_audio_vae_section, waveform_to_mel

pytestmark = pytest.mark.parity

MEL_ATOL = 1e-5
ATOL = RTOL = 1e-5


def _build() -> tuple[AudioVAE, torch.nn.Module, torch.nn.Module]:
    """Our tiny VAE with random statistics, and ltx-core's encoder/decoder holding the same values."""
    section = tiny_audio_vae_section()
    ours = AudioVAE(AudioVAEConfig.from_dict(section)).eval()
    with torch.no_grad():
        ours.per_channel_statistics.get_buffer("std-of-means").uniform_(0.5, 1.5)
        ours.per_channel_statistics.get_buffer("mean-of-means").normal_(0.0, 0.3)
    sd = ours.state_dict()
    stats = {k: v for k, v in sd.items() if k.startswith("per_channel_statistics.")}
    cores = []
    for configurator, prefix in ((AudioEncoderConfigurator, "encoder."), (AudioDecoderConfigurator, "decoder.")):
        core = configurator.from_config({"audio_vae": section}).eval()
        part = {k.removeprefix(prefix): v for k, v in sd.items() if k.startswith(prefix)}
        core.load_state_dict({**part, **stats}, strict=True)
        cores.append(core)
    return ours, cores[0], cores[1]


@pytest.mark.parametrize("sample_rate", [16000, 22050, 44100, 48000])
def test_audio_vae_mel_frontend_parity(manifests_dir, sample_rate: int) -> None:
    """Real front-end settings (16 kHz, n_fft 1024, hop 160, 64 Slaney mels), stereo input at several rates."""
    section = json.loads((manifests_dir / "ltx-2-19b.json").read_text())["config"]["audio_vae"]
    config = AudioVAEConfig.from_dict(section)
    waveform = 0.5 * torch.randn(2, 2, int(0.3 * sample_rate))
    processor = AudioProcessor(target_sample_rate=16000, mel_bins=64, mel_hop_length=160, n_fft=1024)
    expected = processor.waveform_to_mel(Audio(waveform=waveform, sampling_rate=sample_rate))
    got = waveform_to_mel(waveform, sample_rate, config)
    assert got.shape == expected.shape == (2, 2, 1 + (int(0.3 * 16000) // 160), 64)
    torch.testing.assert_close(got, expected, atol=MEL_ATOL, rtol=0)


def test_audio_vae_mel_frontend_mono_parity() -> None:
    """Mono input is duplicated to both channels, i.e. equals the reference on the duplicated stereo signal."""
    config = AudioVAEConfig.tiny()
    mono = 0.5 * torch.randn(1, 1, 5000)
    processor = AudioProcessor(target_sample_rate=16000, mel_bins=16, mel_hop_length=64, n_fft=256)
    expected = processor.waveform_to_mel(Audio(waveform=mono.expand(-1, 2, -1), sampling_rate=24000))
    torch.testing.assert_close(waveform_to_mel(mono, 24000, config), expected, atol=MEL_ATOL, rtol=0)


@pytest.mark.parametrize("frames", [1, 16, 37])
def test_audio_vae_encode_parity(frames: int) -> None:
    ours, encoder, _ = _build()
    mel = torch.randn(2, 2, frames, 16)
    with torch.no_grad():
        expected = encoder(mel)
        got = ours.encode(mel)
    assert got.shape == expected.shape == (2, 2, -(-frames // 4), 4)
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=RTOL)


def test_audio_vae_encode_waveform_parity() -> None:
    """Waveform at 22.05 kHz → resample → log-mel → encoder → normalised latent, vs ``encode_audio``."""
    ours, encoder, _ = _build()
    waveform = 0.5 * torch.randn(1, 2, 9000)
    with torch.no_grad():
        expected = encode_audio(Audio(waveform=waveform, sampling_rate=22050), encoder)
        got = ours.encode_waveform(waveform, 22050)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("frames", [1, 7])
def test_audio_vae_decode_parity(frames: int) -> None:
    ours, _, decoder = _build()
    latent = torch.randn(2, 2, frames, 4)
    with torch.no_grad():
        expected = decoder(latent)
        got = ours.decode(latent)
    assert got.shape == expected.shape == (2, 2, max(4 * frames - 3, 1), 16)
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=RTOL)
