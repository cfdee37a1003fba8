"""Frozen configs of the audio VAE (``config["audio_vae"]``) and the vocoder (``config["vocoder"]``).

Both are read from the checkpoint's safetensors metadata (ltx2-model.md §1.3) and validated with
:mod:`ltx_model.configbase`: unknown keys and values this implementation (and ltx-core 1.0.0) does not support
raise :class:`~ltx_model.configbase.ConfigError` naming the key. The vocoder config lives in ``vocoder_config.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..configbase import ConfigError, require, validate_section

_SECTION = "audio_vae"

# ddconfig keys whose only supported value is fixed (ltx-core 1.0.0 builds exactly this network).
_DDCONFIG_FIXED: dict[str, Any] = {
    "dropout": 0.0,
    "norm_type": "pixel",
    "causality_axis": "height",
    "resamp_with_conv": True,
    "attn_type": "vanilla",
    "double_z": True,
}
_DDCONFIG_KNOWN = (
    "mel_bins",
    "z_channels",
    "in_channels",
    "out_ch",
    "ch",
    "ch_mult",
    "num_res_blocks",
    "attn_resolutions",
    "resolution",
    "mid_block_add_attention",
)
# Accepted and not read by ltx-core either (time is always downsampled, whatever `downsample_time` says).
_DDCONFIG_IGNORED = ("downsample_time",)


@dataclass(frozen=True)
class AudioVAEConfig:
    """Audio VAE and its mel front-end (ltx2-model.md §5.1–§5.3).

    Attributes:
        in_channels: spectrogram channels fed to the encoder (2 = stereo).
        out_channels: spectrogram channels produced by the decoder (2 = stereo).
        base_channels: ``ch``, width of the first encoder level.
        channel_multipliers: ``ch_mult``, width factor per level; each level but the last halves time and mel.
        num_res_blocks: ResNet blocks per encoder level (the decoder uses one more).
        latent_channels: ``z_channels``, channels of the latent (the encoder predicts twice as many, mean and
            log-variance, ``double_z``; only the mean is used).
        mel_bins: mel bins of the spectrogram.
        sample_rate: model sample rate in Hz; inputs at other rates are resampled to it.
        n_fft: STFT size (= window length) in samples.
        hop_length: STFT hop in samples.
        causal: ``preprocessing.stft.causal``; used for latent time stamps (positions), not by the network.
    """

    in_channels: int = 2
    out_channels: int = 2
    base_channels: int = 128
    channel_multipliers: tuple[int, ...] = (1, 2, 4)
    num_res_blocks: int = 2
    latent_channels: int = 8
    mel_bins: int = 64
    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 160
    causal: bool = True

    def __post_init__(self) -> None:
        if not self.channel_multipliers:
            raise ConfigError(f"{_SECTION} config: {_SECTION}.model.params.ddconfig.ch_mult must not be empty")
        if self.mel_bins % self.downsample_factor:
            raise ConfigError(
                f"{_SECTION} config: mel_bins {self.mel_bins} is not divisible by the VAE's downsampling factor "
                f"{self.downsample_factor}"
            )
        if self.in_channels != 2:
            raise ConfigError(
                f"{_SECTION} config: unsupported {_SECTION}.model.params.ddconfig.in_channels "
                f"{self.in_channels} (supported: 2, stereo)"
            )

    @property
    def downsample_factor(self) -> int:
        """Compression of the spectrogram along time and along mel bins (4 for the real model)."""
        return 2 ** (len(self.channel_multipliers) - 1)

    @property
    def latent_mel_bins(self) -> int:
        """Mel bins of the latent (16 for the real model)."""
        return self.mel_bins // self.downsample_factor

    @property
    def statistics_channels(self) -> int:
        """Length of the per-channel statistics: latent channels x latent mel bins (128 for the real model)."""
        return self.latent_channels * self.latent_mel_bins

    @property
    def mel_frames_per_second(self) -> float:
        """Spectrogram frames per second (100 for the real model)."""
        return self.sample_rate / self.hop_length

    @property
    def latents_per_second(self) -> float:
        """Audio latent frames per second (25 for the real model)."""
        return self.mel_frames_per_second / self.downsample_factor

    @classmethod
    def from_dict(cls, section: Mapping[str, Any]) -> AudioVAEConfig:
        """Build from the checkpoint metadata section ``config["audio_vae"]`` (nested ``model.params.ddconfig``,
        ``model.params.sampling_rate``, ``preprocessing.stft``, ``preprocessing.mel``)."""
        validate_section(section, name=_SECTION, known=("model", "preprocessing", "variables"))
        model = _sub(section, "model", _SECTION)
        validate_section(model, name=f"{_SECTION}.model", known=("params",))
        params = _sub(model, "params", f"{_SECTION}.model")
        validate_section(params, name=f"{_SECTION}.model.params", known=("ddconfig", "sampling_rate"))
        dd = _sub(params, "ddconfig", f"{_SECTION}.model.params")
        dd_name = f"{_SECTION}.model.params.ddconfig"
        validate_section(dd, name=dd_name, known=_DDCONFIG_KNOWN, fixed=_DDCONFIG_FIXED, ignored=_DDCONFIG_IGNORED)
        preprocessing = _sub(section, "preprocessing", _SECTION)
        validate_section(preprocessing, name=f"{_SECTION}.preprocessing", known=("stft", "mel"))
        stft = _sub(preprocessing, "stft", f"{_SECTION}.preprocessing")
        mel = _sub(preprocessing, "mel", f"{_SECTION}.preprocessing")
        variables = _sub(section, "variables", _SECTION)
        validate_section(variables, name=f"{_SECTION}.variables", known=("mel_bins",))

        ch_mult = tuple(int(m) for m in dd.get("ch_mult", (1, 2, 4)))
        _check_no_attention(dd, dd_name, num_levels=len(ch_mult))
        sample_rate = int(params.get("sampling_rate", 16000))
        n_fft, hop = _read_stft(stft, f"{_SECTION}.preprocessing.stft")
        mel_bins = _read_mel(mel, dd, variables, sample_rate=sample_rate)
        return cls(
            in_channels=int(dd.get("in_channels", 2)),
            out_channels=int(dd.get("out_ch", 2)),
            base_channels=int(dd.get("ch", 128)),
            channel_multipliers=ch_mult,
            num_res_blocks=int(dd.get("num_res_blocks", 2)),
            latent_channels=int(dd.get("z_channels", 8)),
            mel_bins=mel_bins,
            sample_rate=sample_rate,
            n_fft=n_fft,
            hop_length=hop,
            causal=bool(stft.get("causal", True)),
        )

    @classmethod
    def tiny(cls) -> AudioVAEConfig:
        """A small config with the real topology (3 levels, 4x compression) for fast tests."""
        return cls.from_dict(tiny_audio_vae_section())


def tiny_audio_vae_section() -> dict[str, Any]:
    """Metadata ``audio_vae`` section of a small test VAE: real layout and 16 kHz, but ch 8, 1 ResNet block per
    level, 2 latent channels, 16 mel bins, STFT 256 / hop 64 (so 250 mel frames/s)."""
    ddconfig = {
        "double_z": True,
        "mel_bins": 16,
        "z_channels": 2,
        "resolution": 256,
        "downsample_time": False,
        "in_channels": 2,
        "out_ch": 2,
        "ch": 8,
        "ch_mult": [1, 2, 4],
        "num_res_blocks": 1,
        "attn_resolutions": [],
        "dropout": 0.0,
        "mid_block_add_attention": False,
        "norm_type": "pixel",
        "causality_axis": "height",
    }
    return {
        "model": {"params": {"ddconfig": ddconfig, "sampling_rate": 16000}},
        "preprocessing": {
            "stft": {"filter_length": 256, "hop_length": 64, "win_length": 256, "causal": True},
            "mel": {"n_mel_channels": 16, "mel_fmin": 0, "mel_fmax": 8000},
        },
    }


def _sub(section: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any]:
    """Return the nested mapping ``section[key]`` ({} when absent); raise ConfigError when it is not a mapping."""
    value = section.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} config: {name}.{key} must be an object, got {type(value).__name__}")
    return value


def _check_no_attention(dd: Mapping[str, Any], name: str, *, num_levels: int) -> None:
    """Reject configs for which ltx-core would build attention blocks (not implemented here).

    ltx-core adds an encoder/decoder attention block at every level whose resolution (``resolution`` halved per
    level) is listed in ``attn_resolutions`` and, by default, one in the mid block.
    """
    if dd.get("mid_block_add_attention", True) is not False:
        raise ConfigError(
            f"{_SECTION} config: {name}.mid_block_add_attention must be false (mid-block attention, "
            "ltx-core's default when the key is missing, is not supported)"
        )
    resolution = int(dd.get("resolution", 256))
    levels = {resolution // 2**i for i in range(num_levels)}
    attn = dd.get("attn_resolutions", [8, 16, 32])
    if levels & {int(r) for r in attn}:
        raise ConfigError(f"{_SECTION} config: unsupported {name}.attn_resolutions {attn!r} (attention blocks)")


def _read_stft(stft: Mapping[str, Any], name: str) -> tuple[int, int]:
    """Validate ``preprocessing.stft`` and return ``(n_fft, hop_length)``."""
    validate_section(stft, name=name, known=("filter_length", "hop_length", "win_length", "causal"))
    n_fft = int(stft.get("filter_length", 1024))
    if "win_length" in stft and int(stft["win_length"]) != n_fft:
        raise ConfigError(
            f"{_SECTION} config: unsupported {name}.win_length {stft['win_length']!r} "
            f"(the reference uses a window of filter_length = {n_fft})"
        )
    return n_fft, int(stft.get("hop_length", 160))


def _read_mel(mel: Mapping[str, Any], dd: Mapping[str, Any], variables: Mapping[str, Any], *, sample_rate: int) -> int:
    """Validate ``preprocessing.mel`` and return the number of mel bins (all spellings must agree)."""
    name = f"{_SECTION}.preprocessing.mel"
    validate_section(mel, name=name, known=("n_mel_channels", "mel_fmin", "mel_fmax"))
    # The reference always uses f_min 0 and f_max = sample_rate / 2, whatever the file says.
    if float(mel.get("mel_fmin", 0.0)) != 0.0:
        raise ConfigError(f"{_SECTION} config: unsupported {name}.mel_fmin {mel['mel_fmin']!r} (supported: 0)")
    if "mel_fmax" in mel and float(mel["mel_fmax"]) != sample_rate / 2:
        raise ConfigError(
            f"{_SECTION} config: unsupported {name}.mel_fmax {mel['mel_fmax']!r} (supported: {sample_rate / 2:g})"
        )
    spellings = {
        f"{_SECTION}.model.params.ddconfig.mel_bins": dd.get("mel_bins"),
        f"{name}.n_mel_channels": mel.get("n_mel_channels"),
        f"{_SECTION}.variables.mel_bins": variables.get("mel_bins"),
    }
    given = {k: int(v) for k, v in spellings.items() if v}
    if len(set(given.values())) > 1:
        raise ConfigError(f"{_SECTION} config: inconsistent mel bin counts {given}")
    if not given:
        require({}, "mel_bins", name=f"{_SECTION}.model.params.ddconfig")
    return next(iter(given.values()))
