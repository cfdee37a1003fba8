"""Vocoder parity against ltx-core 1.0.0 (tiny random weights copied across).

* 19B HiFi-GAN and 2.3 BigVGAN-v2 + bandwidth extension at fp32: atol 1e-4 / rtol 1e-4 on waveforms in [-1, 1]
  (bit-identical in practice).
* 2.3 with bf16 weights: we implement the current Lightricks behaviour (ltx-core >= 1.1 computes the BWE vocoder in
  float32 whatever the weight dtype). Its exact equivalent is ltx-core 1.0.0 in fp32 holding the bf16-rounded
  weights, which is what we compare against (atol 1e-4 with fp32 input; bf16 output within one bf16 step). ltx-core
  1.0.0 computing in bf16 differs from it by ~1e-2 on the tiny model, so this test tells the two behaviours apart.
"""

from __future__ import annotations

import pytest
import torch
from ltx_core.model.audio_vae import VocoderConfigurator

from ltx_model.audio import Vocoder, VocoderConfig, tiny_vocoder_section

pytestmark = pytest.mark.parity

ATOL = RTOL = 1e-4


def _randomize(model: torch.nn.Module) -> None:
    """Give the parameters/buffers that default to constants (SnakeBeta, STFT and mel bases) random values."""
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith(("act.alpha", "act.beta")):
                tensor.normal_(0.0, 0.3)
            elif name.endswith("mel_basis"):
                tensor.uniform_(0.0, 0.2)
            elif name.endswith(("forward_basis", "inverse_basis")):
                tensor.normal_(0.0, 0.3)


def _build(bwe: bool) -> tuple[Vocoder, torch.nn.Module]:
    """Our tiny vocoder (random weights) and ltx-core's, built from the same metadata section, same values."""
    section = tiny_vocoder_section(bwe=bwe)
    ours = Vocoder(VocoderConfig.from_dict(section)).eval()
    _randomize(ours)
    core = VocoderConfigurator.from_config({"vocoder": section}).eval()
    core.load_state_dict(ours.state_dict(), strict=True)  # same keys: both strip one leading "vocoder."
    return ours, core


@pytest.mark.parametrize("bwe", [False, True], ids=["hifigan_19b", "bigvgan_bwe_2_3"])
@pytest.mark.parametrize("frames", [1, 9])
def test_vocoder_parity(bwe: bool, frames: int) -> None:
    ours, core = _build(bwe)
    mel = torch.randn(2, 2, frames, 64) - 2.0
    with torch.no_grad():
        expected = core(mel)
        got = ours(mel)
    assert got.shape == expected.shape == (2, 2, ours.num_samples(frames))
    assert ours.sample_rate == core.output_sampling_rate
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=RTOL)


def test_vocoder_antialias_filters_match_reference() -> None:
    """Freshly built kaiser-sinc filter buffers equal ltx-core's (they are also stored in the checkpoint)."""
    section = tiny_vocoder_section(bwe=True)
    ours = Vocoder(VocoderConfig.from_dict(section)).state_dict()
    core = VocoderConfigurator.from_config({"vocoder": section}).state_dict()
    filters = [k for k in core if k.endswith("filter")]
    assert filters
    for key in filters:
        torch.testing.assert_close(ours[key], core[key], atol=0, rtol=0)


def test_vocoder_bwe_bf16_weights_compute_in_fp32() -> None:
    """bf16 weights: output equals ltx-core fp32 on the bf16-rounded weights (latest Lightricks behaviour)."""
    ours, core = _build(bwe=True)
    ours = ours.to(torch.bfloat16)
    core.load_state_dict({k: v.float() for k, v in ours.state_dict().items()}, strict=True)
    mel = torch.randn(1, 2, 9, 64) - 2.0
    with torch.no_grad():
        expected = core(mel)
        got = ours(mel)
        got_bf16 = ours(mel.to(torch.bfloat16))
    assert got.dtype == torch.float32 and got_bf16.dtype == torch.bfloat16
    assert all(p.dtype == torch.bfloat16 for p in ours.parameters())  # weights restored after the fp32 pass
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=RTOL)
    # bf16 input: the same float32 computation on the bf16-rounded input, rounded to bf16 at the end.
    with torch.no_grad():
        expected_bf16 = core(mel.to(torch.bfloat16).float())
    torch.testing.assert_close(got_bf16.float(), expected_bf16, atol=8e-3, rtol=0)
