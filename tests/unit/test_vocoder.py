"""Unit tests for the vocoders and their config (19B HiFi-GAN, 2.3 BigVGAN-v2 + bandwidth extension)."""

from __future__ import annotations

import copy
import json
import types

import pytest
import torch

from ltx_model.audio import FinalActivation, GeneratorKind, Vocoder, VocoderConfig, tiny_vocoder_section
from ltx_model.configbase import ConfigError

MANIFESTS = ["ltx-2-19b.json", "ltx-2.3-22b.json"]


def _manifest(manifests_dir, name: str) -> dict:
    return json.loads((manifests_dir / name).read_text())


def test_vocoder_config_19b(manifests_dir) -> None:
    config = VocoderConfig.from_dict(_manifest(manifests_dir, "ltx-2-19b.json")["config"]["vocoder"])
    gen = config.generator
    assert config.bwe is None and config.sample_rate == 24000
    assert gen.kind is GeneratorKind.HIFIGAN and gen.samples_per_frame == 240 and gen.final_channels == 32
    assert gen.final_activation is FinalActivation.TANH and gen.final_bias


def test_vocoder_config_2_3(manifests_dir) -> None:
    config = VocoderConfig.from_dict(_manifest(manifests_dir, "ltx-2.3-22b.json")["config"]["vocoder"])
    gen, bwe = config.generator, config.bwe
    assert gen.kind is GeneratorKind.BIGVGAN and gen.samples_per_frame == 160 and gen.final_channels == 24
    assert gen.final_activation is FinalActivation.CLAMP and not gen.final_bias
    assert config.generator_sample_rate == 16000 and config.sample_rate == 48000
    assert bwe.ratio == 3 and (bwe.hop_length, bwe.n_fft, bwe.num_mels) == (80, 512, 64)
    assert bwe.generator.final_activation is FinalActivation.NONE and bwe.generator.samples_per_frame == 240


def _edited(bwe: bool, path: tuple[str, ...], value: object) -> dict:
    section = copy.deepcopy(tiny_vocoder_section(bwe=bwe))
    node = section
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return section


@pytest.mark.parametrize(
    ("bwe", "path", "value", "key"),
    [
        (False, ("bogus",), 1, "vocoder.bogus"),
        (False, ("resblock",), "2", "vocoder.resblock"),
        (False, ("stereo",), None, "vocoder.stereo"),
        (False, ("stereo",), False, "vocoder.stereo"),
        (False, ("apply_final_activation",), False, "vocoder.apply_final_activation"),
        (False, ("upsample_kernel_sizes",), [7, 4], "vocoder.upsample_kernel_sizes"),
        (False, ("resblock_kernel_sizes",), [3, 4], "vocoder.resblock_kernel_sizes"),
        (False, ("resblock_dilation_sizes",), [[1, 3], [1, 3]], "vocoder.resblock_dilation_sizes"),
        (True, ("bogus",), {}, "vocoder.bogus"),
        (True, ("vocoder", "activation"), "snake", "vocoder.vocoder.activation"),
        (True, ("vocoder", "resblock"), "1", "vocoder.vocoder.resblock"),
        (True, ("vocoder", "output_sampling_rate"), 24000, "vocoder.vocoder.output_sampling_rate"),
        (True, ("bwe", "num_mels"), 80, "vocoder.bwe.num_mels"),
        (True, ("bwe", "win_size"), 10, "vocoder.bwe.win_size"),
        (True, ("bwe", "hop_length"), None, "vocoder.bwe.hop_length"),
        (True, ("bwe", "hop_length"), 4, "vocoder.bwe"),
        (True, ("bwe", "apply_final_activation"), True, "vocoder.bwe.apply_final_activation"),
    ],
)
def test_vocoder_config_rejects(bwe: bool, path: tuple[str, ...], value: object, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        VocoderConfig.from_dict(_edited(bwe, path, value))


@pytest.mark.parametrize("name", MANIFESTS)
def test_vocoder_meta_build_matches_manifest(manifests_dir, name: str) -> None:
    manifest = _manifest(manifests_dir, name)
    vocoder = Vocoder(VocoderConfig.from_dict(manifest["config"]["vocoder"]), device="meta")
    expected = {k.removeprefix("vocoder."): v for k, v in manifest["tensors"].items() if k.startswith("vocoder.")}
    got = {k: list(v.shape) for k, v in vocoder.state_dict().items()}
    assert got == expected
    assert all(t.is_meta for t in vocoder.state_dict().values())


@pytest.mark.parametrize(("bwe", "per_frame", "rate"), [(False, 8, 800), (True, 12, 1200)])
@pytest.mark.parametrize("frames", [1, 6])
def test_vocoder_shapes_and_sample_rate(bwe: bool, per_frame: int, rate: int, frames: int) -> None:
    vocoder = Vocoder(VocoderConfig.from_dict(tiny_vocoder_section(bwe=bwe))).eval()
    with torch.no_grad():
        wave = vocoder(torch.randn(3, 2, frames, 64))
    assert vocoder.sample_rate == rate
    assert wave.shape == (3, 2, frames * per_frame) and vocoder.num_samples(frames) == frames * per_frame
    assert wave.abs().max() <= 1.0 and wave.abs().max() > 0


def test_vocoder_rejects_non_stereo_mel() -> None:
    vocoder = Vocoder(VocoderConfig.tiny())
    with pytest.raises(ValueError, match="stereo"):
        vocoder(torch.randn(1, 5, 64))


def test_vocoder_real_size_rates(manifests_dir) -> None:
    """Real configs (meta device): 240 samples per mel frame at 24 kHz (19B), 480 at 48 kHz (2.3)."""
    for name, per_frame, rate in (("ltx-2-19b.json", 240, 24000), ("ltx-2.3-22b.json", 480, 48000)):
        config = VocoderConfig.from_dict(_manifest(manifests_dir, name)["config"]["vocoder"])
        vocoder = Vocoder(config, device="meta")
        assert vocoder.sample_rate == rate and vocoder.num_samples(100) == 100 * per_frame
        assert rate == 100 * per_frame  # 100 mel frames per second


def test_vocoder_bwe_bf16_weights_restored_and_deterministic() -> None:
    vocoder = Vocoder(VocoderConfig.tiny_bwe(), dtype=torch.bfloat16).eval()
    mel = torch.randn(1, 2, 4, 64)
    with torch.no_grad():
        first, second = vocoder(mel), vocoder(mel)
    assert first.dtype == torch.float32
    torch.testing.assert_close(first, second, atol=0, rtol=0)
    assert {t.dtype for t in vocoder.state_dict().values()} == {torch.bfloat16}


@pytest.mark.parametrize("bwe", [False, True])
def test_vocoder_uses_injected_operations(bwe: bool) -> None:
    created: list[str] = []

    def recording(base: type) -> type:
        class Recorded(base):
            def __init__(self, *args, **kwargs) -> None:
                assert kwargs["dtype"] == torch.float64
                created.append(base.__name__)
                super().__init__(*args, **kwargs)

        return Recorded

    ops = types.SimpleNamespace(Conv1d=recording(torch.nn.Conv1d), ConvTranspose1d=recording(torch.nn.ConvTranspose1d))
    vocoder = Vocoder(VocoderConfig.from_dict(tiny_vocoder_section(bwe=bwe)), dtype=torch.float64, operations=ops)
    n_layers = sum(isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)) for m in vocoder.modules())
    assert len(created) == n_layers > 0
    with torch.no_grad():
        assert vocoder(torch.randn(1, 2, 3, 64, dtype=torch.float64)).dtype == torch.float64


# Golden values from current Lightricks code (ltx-core 1.2.0, Lightricks/LTX-2 HEAD ``VocoderWithBWE``) for the tiny
# BWE section, the deterministic weights below and a bf16 mel: HEAD computes in float32 and returns the input's dtype
# (ltx-core 1.0.0 fails on this input: bf16 mel vs fp32 weights).
HEAD_FIRST_12_LEFT = [-0.038818, -0.013, 0.097168, -0.004395, -0.019287, 0.071289,
                      0.061279, -0.026001, -0.149414, -0.115234, 0.036133, 0.069824]
HEAD_LAST_12_RIGHT = [-0.018921, -0.100586, 0.060059, -0.045166, -0.060303, -0.043945,
                      0.0005, -0.139648, -0.000973, 0.083984, -0.019409, 0.131836]
HEAD_SUM = -0.2675943374633789


def test_vocoder_bwe_matches_head_golden_for_bf16_input() -> None:
    vocoder = Vocoder(VocoderConfig.tiny_bwe()).eval()
    generator = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, tensor in sorted(vocoder.state_dict().items()):
            if not name.endswith("filter"):  # keep the computed anti-aliasing filters
                values = torch.randn(tensor.shape, generator=generator) * 0.05
                tensor.copy_(values.abs() if name.endswith("mel_basis") else values)
        mel = torch.randn(1, 2, 5, 64, generator=torch.Generator().manual_seed(99)) - 2.0
        out = vocoder(mel.to(torch.bfloat16))
    assert out.dtype == torch.bfloat16 and out.shape == (1, 2, 60)
    torch.testing.assert_close(out[0, 0, :12].float(), torch.tensor(HEAD_FIRST_12_LEFT), atol=2e-3, rtol=0)
    torch.testing.assert_close(out[0, 1, -12:].float(), torch.tensor(HEAD_LAST_12_RIGHT), atol=2e-3, rtol=0)
    assert out.float().sum().item() == pytest.approx(HEAD_SUM, abs=2e-2)
