"""Frozen config of the vocoder, read from the checkpoint metadata section ``config["vocoder"]``.

Two forms exist (ltx2-model.md §1.3, §5.4, §5.5):

* 19B: a flat HiFi-GAN section (``resblock "1"``, 24 kHz stereo);
* 2.3: a nested section ``{"vocoder": <BigVGAN-v2 generator>, "bwe": <bandwidth-extension generator + STFT>}``
  (``resblock "AMP1"``, SnakeBeta, 16 kHz → 48 kHz). As in ltx-core, the presence of ``bwe`` selects this form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..configbase import ConfigError, require, validate_section

_SECTION = "vocoder"
_GENERATOR_KEYS = (
    "upsample_initial_channel",
    "upsample_rates",
    "upsample_kernel_sizes",
    "resblock_kernel_sizes",
    "resblock_dilation_sizes",
    "use_tanh_at_final",
    "use_bias_at_final",
    "output_sampling_rate",
)
_BWE_KEYS = ("input_sampling_rate", "output_sampling_rate", "hop_length", "n_fft", "win_size")
# Mel input channels of every generator: 2 stereo channels x 64 mel bins (fixed in ltx-core).
_MEL_BINS = 64


class GeneratorKind(Enum):
    """Residual block family of a mel-to-waveform generator (the checkpoint's ``resblock`` value)."""

    HIFIGAN = "1"  # ResBlock1 with LeakyReLU (19B vocoder)
    BIGVGAN = "AMP1"  # AMPBlock1 with anti-aliased SnakeBeta (2.3 vocoder and BWE generator)


class FinalActivation(Enum):
    """Activation applied to a generator's output waveform."""

    TANH = "tanh"
    CLAMP = "clamp"  # clamp to [-1, 1]
    NONE = "none"  # the BWE generator predicts an unbounded residual


@dataclass(frozen=True)
class GeneratorConfig:
    """One mel → waveform generator (HiFi-GAN or BigVGAN-v2).

    Attributes:
        kind: residual block family.
        upsample_initial_channel: channels after ``conv_pre``; halved by every upsampling stage.
        upsample_rates: stride of each ``ups`` transposed conv; their product is samples per mel frame.
        upsample_kernel_sizes: kernel of each ``ups`` transposed conv.
        resblock_kernel_sizes: kernels of the parallel residual blocks of each stage (odd).
        resblock_dilation_sizes: three dilations per residual block.
        final_activation: output activation.
        final_bias: whether ``conv_post`` has a bias.
    """

    kind: GeneratorKind
    upsample_initial_channel: int
    upsample_rates: tuple[int, ...]
    upsample_kernel_sizes: tuple[int, ...]
    resblock_kernel_sizes: tuple[int, ...]
    resblock_dilation_sizes: tuple[tuple[int, ...], ...]
    final_activation: FinalActivation
    final_bias: bool

    @property
    def in_channels(self) -> int:
        """Input channels of ``conv_pre``: 2 stereo channels x 64 mel bins."""
        return 2 * _MEL_BINS

    @property
    def samples_per_frame(self) -> int:
        """Output samples per input mel frame (product of the upsampling rates)."""
        return math.prod(self.upsample_rates)

    @property
    def final_channels(self) -> int:
        """Channels entering ``conv_post``."""
        return self.upsample_initial_channel // 2 ** len(self.upsample_rates)


@dataclass(frozen=True)
class BandwidthExtensionConfig:
    """The 2.3 bandwidth extension: causal log-mel of the 16 kHz waveform → residual at 48 kHz.

    Attributes:
        generator: the residual generator (``bwe_generator``).
        input_sample_rate: rate of the base vocoder's waveform (Hz).
        output_sample_rate: final rate (Hz); an integer multiple of ``input_sample_rate``.
        hop_length: STFT hop (samples at the input rate).
        n_fft: STFT size = window length (samples).
        num_mels: mel bins of the STFT filterbank.
    """

    generator: GeneratorConfig
    input_sample_rate: int
    output_sample_rate: int
    hop_length: int
    n_fft: int
    num_mels: int

    @property
    def ratio(self) -> int:
        """Upsampling factor of the skip resampler (3 for 16 → 48 kHz)."""
        return self.output_sample_rate // self.input_sample_rate


@dataclass(frozen=True)
class VocoderConfig:
    """Vocoder: a generator, optionally followed by bandwidth extension.

    Attributes:
        generator: the mel → waveform generator (19B: at top level of the module; 2.3: ``vocoder.*``).
        generator_sample_rate: sample rate of the generator's waveform (19B 24000, 2.3 16000).
        bwe: the 2.3 bandwidth extension, or None for the 19B form.
    """

    generator: GeneratorConfig
    generator_sample_rate: int
    bwe: BandwidthExtensionConfig | None = None

    @property
    def sample_rate(self) -> int:
        """Sample rate of the vocoder's final output (Hz)."""
        return self.bwe.output_sample_rate if self.bwe is not None else self.generator_sample_rate

    @classmethod
    def from_dict(cls, section: Mapping[str, Any]) -> VocoderConfig:
        """Build from ``config["vocoder"]`` (flat 19B HiFi-GAN form, or nested 2.3 ``vocoder`` + ``bwe`` form)."""
        if "bwe" not in section:
            generator, rate = _read_generator(section, _SECTION, GeneratorKind.HIFIGAN)
            return cls(generator=generator, generator_sample_rate=rate or 24000)
        validate_section(section, name=_SECTION, known=("vocoder", "bwe"))
        bwe = _read_bwe(_mapping(section, "bwe"))
        base_name = f"{_SECTION}.vocoder"
        generator, rate = _read_generator(_mapping(section, "vocoder"), base_name, GeneratorKind.BIGVGAN)
        # ltx-core sets the base generator's rate to the BWE input rate, whatever the section says.
        if rate is not None and rate != bwe.input_sample_rate:
            raise ConfigError(
                f"{_SECTION} config: {base_name}.output_sampling_rate {rate} differs from "
                f"{_SECTION}.bwe.input_sampling_rate {bwe.input_sample_rate}"
            )
        return cls(generator=generator, generator_sample_rate=bwe.input_sample_rate, bwe=bwe)

    @classmethod
    def tiny(cls) -> VocoderConfig:
        """Small 19B-form (HiFi-GAN) config: 8 samples per mel frame (800 Hz at 100 mel frames/s)."""
        return cls.from_dict(tiny_vocoder_section())

    @classmethod
    def tiny_bwe(cls) -> VocoderConfig:
        """Small 2.3-form config: BigVGAN generator (4 samples/frame, 400 Hz) + x3 bandwidth extension (1200 Hz)."""
        return cls.from_dict(tiny_vocoder_section(bwe=True))


def tiny_vocoder_section(*, bwe: bool = False) -> dict[str, Any]:
    """Metadata ``vocoder`` section of a small test vocoder in the 19B (flat) or 2.3 (``bwe``) form."""
    common = {
        "upsample_initial_channel": 16,
        "resblock_kernel_sizes": [3, 5],
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
        "stereo": True,
    }
    if not bwe:
        return {
            **common,
            "resblock": "1",
            "upsample_rates": [4, 2],
            "upsample_kernel_sizes": [8, 4],
            "output_sampling_rate": 800,
        }
    amp = {
        **common,
        "resblock": "AMP1",
        "activation": "snakebeta",
        "use_tanh_at_final": False,
        "use_bias_at_final": False,
    }
    return {
        "vocoder": {**amp, "upsample_rates": [2, 2], "upsample_kernel_sizes": [4, 4]},
        # hop 3 does not divide the base generator's 4 samples/frame, so the padding path is exercised.
        "bwe": {
            **amp,
            "upsample_rates": [3, 3],
            "upsample_kernel_sizes": [7, 7],
            "apply_final_activation": False,
            "input_sampling_rate": 400,
            "output_sampling_rate": 1200,
            "hop_length": 3,
            "n_fft": 12,
            "win_size": 12,
            "num_mels": _MEL_BINS,
        },
    }


def _mapping(section: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = require(section, key, name=_SECTION)
    if not isinstance(value, Mapping):
        raise ConfigError(f"{_SECTION} config: {_SECTION}.{key} must be an object")
    return value


def _read_generator(
    section: Mapping[str, Any], name: str, kind: GeneratorKind, *, is_bwe: bool = False
) -> tuple[GeneratorConfig, int | None]:
    """Parse one generator section; returns the config and its ``output_sampling_rate`` (None when absent).

    Missing keys take ltx-core 1.0.0's defaults (the 19B HiFi-GAN values). The BWE generator (``is_bwe``) has no
    output activation (ltx-core passes ``apply_final_activation=False``); the others use tanh, or a [-1, 1] clamp
    when ``use_tanh_at_final`` is false.
    """
    fixed: dict[str, Any] = {"stereo": True, "resblock": kind.value, "apply_final_activation": not is_bwe}
    known = _GENERATOR_KEYS + (_BWE_KEYS + ("num_mels",) if is_bwe else ())
    # ltx-core only reads `activation` for AMP blocks; HiFi-GAN ignores it (its default is "snake").
    if kind is GeneratorKind.BIGVGAN:
        fixed["activation"] = "snakebeta"
        require(section, "activation", name=name)
    else:
        known = known + ("activation",)
    validate_section(section, name=name, known=known, fixed=fixed)
    for key in ("stereo", "resblock"):
        require(section, key, name=name)
    final = FinalActivation.TANH if section.get("use_tanh_at_final", True) else FinalActivation.CLAMP
    rates = tuple(int(r) for r in section.get("upsample_rates", (6, 5, 2, 2, 2)))
    kernels = tuple(int(k) for k in section.get("upsample_kernel_sizes", (16, 15, 8, 4, 4)))
    res_kernels = tuple(int(k) for k in section.get("resblock_kernel_sizes", (3, 7, 11)))
    dilations = tuple(tuple(int(d) for d in ds) for ds in section.get("resblock_dilation_sizes", ((1, 3, 5),) * 3))
    _check_generator_shapes(name, rates, kernels, res_kernels, dilations)
    config = GeneratorConfig(
        kind=kind,
        upsample_initial_channel=int(section.get("upsample_initial_channel", 1024)),
        upsample_rates=rates,
        upsample_kernel_sizes=kernels,
        resblock_kernel_sizes=res_kernels,
        resblock_dilation_sizes=dilations,
        final_activation=FinalActivation.NONE if is_bwe else final,
        final_bias=bool(section.get("use_bias_at_final", True)),
    )
    rate = section.get("output_sampling_rate")
    return config, None if rate is None or is_bwe else int(rate)


def _check_generator_shapes(
    name: str,
    rates: tuple[int, ...],
    kernels: tuple[int, ...],
    res_kernels: tuple[int, ...],
    dilations: tuple[tuple[int, ...], ...],
) -> None:
    """Reject generator geometries the reference cannot build or that would not upsample by exactly the rate."""
    if len(rates) != len(kernels) or any((k - r) % 2 for r, k in zip(rates, kernels, strict=False)):
        raise ConfigError(
            f"{_SECTION} config: {name}.upsample_kernel_sizes {list(kernels)} must pair with upsample_rates "
            f"{list(rates)} (same length, kernel - rate even)"
        )
    if len(res_kernels) != len(dilations) or any(len(d) != 3 for d in dilations):
        raise ConfigError(
            f"{_SECTION} config: {name}.resblock_dilation_sizes must hold three dilations per resblock kernel"
        )
    if any(k % 2 == 0 for k in res_kernels):
        raise ConfigError(f"{_SECTION} config: {name}.resblock_kernel_sizes must be odd, got {list(res_kernels)}")


def _read_bwe(section: Mapping[str, Any]) -> BandwidthExtensionConfig:
    """Parse the 2.3 ``bwe`` section (a BigVGAN generator plus the STFT and rate keys)."""
    name = f"{_SECTION}.bwe"
    generator, _ = _read_generator(section, name, GeneratorKind.BIGVGAN, is_bwe=True)
    values = {key: int(require(section, key, name=name)) for key in _BWE_KEYS[:4] + ("num_mels",)}
    if values["num_mels"] != _MEL_BINS:
        raise ConfigError(f"{_SECTION} config: unsupported {name}.num_mels {values['num_mels']} (supported: 64)")
    if "win_size" in section and int(section["win_size"]) != values["n_fft"]:
        raise ConfigError(f"{_SECTION} config: unsupported {name}.win_size {section['win_size']!r} (= n_fft only)")
    config = BandwidthExtensionConfig(
        generator=generator,
        input_sample_rate=values["input_sampling_rate"],
        output_sample_rate=values["output_sampling_rate"],
        hop_length=values["hop_length"],
        n_fft=values["n_fft"],
        num_mels=values["num_mels"],
    )
    if config.output_sample_rate % config.input_sample_rate or (
        generator.samples_per_frame != config.hop_length * config.ratio
    ):
        raise ConfigError(
            f"{_SECTION} config: {name} geometry mismatch: output rate must be a multiple of the input rate and "
            f"prod(upsample_rates) = {generator.samples_per_frame} must equal hop_length x ratio"
        )
    return config
