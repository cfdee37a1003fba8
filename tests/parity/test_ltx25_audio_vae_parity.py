"""LTX-2.5 audio VAE + vocoder file parity against ltx-core 1.0.0 (test-only oracle; fp32, relative L2 <= 1e-5).

The 2.5 part ``vae/ltx-2.5-audio-vae-*.safetensors`` keeps the 2.3 architecture (``audio_vae.*`` + ``vocoder.*``,
BigVGAN-v2 vocoder with bandwidth extension; config ``audio_vae`` + ``vocoder``). Ours is loaded from the tiny 2.5
demo file (``ltx_model.demo.ltx25.write_demo_ltx25_audio_vae``) through the real loader (``load_component``);
ltx-core 1.0.0's encoder, decoder and vocoder are built by their configurators from the same file's ``config``
metadata and given the same file's tensors (one leading ``audio_vae.`` / ``audio_vae.encoder.`` ... stripped), so
the key layout is checked by a strict load on both sides. Covered: mel -> normalised latent, latent -> mel, and
mel -> 48 kHz waveform.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ltx25_text_cases import rel_l2
from ltx_core.model.audio_vae import AudioDecoderConfigurator, AudioEncoderConfigurator, VocoderConfigurator

from ltx_model.demo.ltx25 import write_demo_ltx25_audio_vae
from ltx_model.loading import Family, load_component, read_header
from ltx_model.loading.detect import FilePart, detect
from ltx_model.loading.safetensors_io import SafetensorsReader

pytestmark = pytest.mark.parity

TOL = 1e-5


@pytest.fixture(scope="module")
def audio_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ltx25_audio") / "vae" / "ltx-2.5-audio-vae-demo.safetensors"
    return write_demo_ltx25_audio_vae(path, seed=3)


def _file_tensors(path: Path, prefix: str) -> dict[str, torch.Tensor]:
    """Every tensor of ``path`` whose key starts with ``prefix``, prefix stripped, as float32."""
    header = read_header(path)
    with SafetensorsReader(header) as reader:
        return {k[len(prefix):]: reader.read(k).float() for k in header.tensors if k.startswith(prefix)}


def _reference(path: Path, configurator: type, prefix: str, extra: str | None = None) -> torch.nn.Module:
    """ltx-core 1.0.0's module from the file's config, strictly loaded with the file's ``prefix`` tensors (plus
    those under ``extra``, e.g. the per-channel statistics the encoder and decoder both hold)."""
    model = configurator.from_config(read_header(path).config()).eval()
    state = _file_tensors(path, prefix)
    if extra is not None:
        state.update({extra.split(".", 1)[1] + k: v for k, v in _file_tensors(path, extra).items()})
    model.load_state_dict(state, strict=True)
    return model.float()


def test_ltx25_audio_vae_file_is_detected_as_the_audio_part(audio_file: Path) -> None:
    info = detect(read_header(audio_file))
    assert (info.family, info.part) == (Family.LTX25, FilePart.AUDIO_VAE)


@pytest.mark.parametrize("frames", [1, 17])
def test_ltx25_audio_vae_encode_decode_parity(audio_file: Path, frames: int) -> None:
    ours = load_component(audio_file, "audio_vae", dtype=torch.float32)
    stats = "audio_vae.per_channel_statistics."
    encoder = _reference(audio_file, AudioEncoderConfigurator, "audio_vae.encoder.", stats)
    decoder = _reference(audio_file, AudioDecoderConfigurator, "audio_vae.decoder.", stats)
    mel_bins = ours.config.mel_bins
    generator = torch.Generator().manual_seed(frames)
    mel = torch.randn(2, 2, frames, mel_bins, generator=generator)
    with torch.no_grad():
        latent_ref, latent = encoder(mel), ours.encode(mel)
        decoded_ref, decoded = decoder(latent_ref), ours.decode(latent_ref)
    assert latent.shape == latent_ref.shape and decoded.shape == decoded_ref.shape
    assert latent_ref.abs().max() > 0 and decoded_ref.abs().max() > 0
    assert rel_l2(latent, latent_ref) <= TOL
    assert rel_l2(decoded, decoded_ref) <= TOL


@pytest.mark.parametrize("frames", [1, 9])
def test_ltx25_vocoder_parity(audio_file: Path, frames: int) -> None:
    ours = load_component(audio_file, "vocoder", dtype=torch.float32)
    core = _reference(audio_file, VocoderConfigurator, "vocoder.")
    mel = torch.randn(2, 2, frames, 64, generator=torch.Generator().manual_seed(frames)) - 2.0
    with torch.no_grad():
        expected, got = core(mel), ours(mel)
    assert got.shape == expected.shape == (2, 2, ours.num_samples(frames))
    assert ours.sample_rate == core.output_sampling_rate == 48000
    assert expected.abs().max() > 0
    assert rel_l2(got, expected) <= TOL
