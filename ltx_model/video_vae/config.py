"""Configuration of the LTX-2 / LTX-2.3 video VAE, read from the checkpoint metadata ``config["vae"]`` section.

Both published topologies are ``CausalVideoAutoencoder``s described by two block lists (ltx2-model.md §1.3, §4):

* LTX-2 (19B): encoder ``compress_*_res`` blocks with multiplier 2, decoder ``compress_all`` with ``residual``;
  no ``spatial_padding_mode`` key, so the encoder pads with zeros and the decoder with reflection.
* LTX-2.3: last encoder ``compress_all_res`` has multiplier 1, decoder mixes ``compress_space`` / ``compress_time`` /
  ``compress_all`` without residual, zeros padding everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..configbase import ConfigError, validate_section

SECTION = "vae"


class PaddingMode(Enum):
    """Spatial padding of the 3x3x3 convolutions (the temporal axis is always padded by frame replication)."""

    ZEROS = "zeros"
    REFLECT = "reflect"
    REPLICATE = "replicate"
    CIRCULAR = "circular"


class VAETopology(Enum):
    """Which published VAE a tiny test config imitates."""

    LTX2 = "ltx2"  # 19B checkpoints
    LTX2_3 = "ltx2.3"  # 22B (2.3) checkpoints


# Block name -> (temporal, height, width) stride. Encoder blocks downsample, decoder blocks upsample.
ENCODER_STRIDES: dict[str, tuple[int, int, int]] = {
    "compress_space_res": (1, 2, 2),
    "compress_time_res": (2, 1, 1),
    "compress_all_res": (2, 2, 2),
}
DECODER_STRIDES: dict[str, tuple[int, int, int]] = {
    "compress_space": (1, 2, 2),
    "compress_time": (2, 1, 1),
    "compress_all": (2, 2, 2),
}
RES_BLOCK = "res_x"


@dataclass(frozen=True)
class BlockSpec:
    """One entry of ``encoder_blocks`` / ``decoder_blocks``.

    Attributes:
        name: ``res_x`` or one of the ``compress_*`` names of :data:`ENCODER_STRIDES` / :data:`DECODER_STRIDES`.
        num_layers: residual blocks in a ``res_x`` stack (0 for compress blocks).
        multiplier: encoder: channel growth factor; decoder: channel reduction factor (1 for ``res_x``).
        residual: decoder ``compress_all`` only: add the depth-to-space of the input (channel-tiled).
    """

    name: str
    num_layers: int = 0
    multiplier: int = 1
    residual: bool = False

    @property
    def is_res(self) -> bool:
        """True for a ``res_x`` stack (no resampling)."""
        return self.name == RES_BLOCK


def _parse_block(entry: Any, *, where: str, decoder: bool) -> BlockSpec:
    """Parse one ``[name, params]`` entry; ``params`` is an int (``num_layers``) or a dict."""
    if not isinstance(entry, Sequence) or isinstance(entry, str) or len(entry) != 2:
        raise ConfigError(f"{where}: expected [name, params], got {entry!r}")
    name, params = entry
    strides = DECODER_STRIDES if decoder else ENCODER_STRIDES
    if name != RES_BLOCK and name not in strides:
        supported = ", ".join([RES_BLOCK, *strides])
        raise ConfigError(f"{where}: unsupported block {name!r} (supported: {supported})")
    if isinstance(params, int) and not isinstance(params, bool) and name == RES_BLOCK:
        params = {"num_layers": params}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{where}: parameters of {name!r} must be a mapping, got {params!r}")
    if name == RES_BLOCK:
        validate_section(params, name=where, known=["num_layers"], fixed={"inject_noise": False} if decoder else None)
        num_layers = params.get("num_layers")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ConfigError(f"{where}.num_layers: expected a positive int, got {num_layers!r}")
        return BlockSpec(name=name, num_layers=num_layers)
    residual_ok = decoder and name == "compress_all"
    validate_section(params, name=where, known=["multiplier", "residual"] if residual_ok else ["multiplier"])
    multiplier = params.get("multiplier", 1 if decoder else 2)
    if not isinstance(multiplier, int) or multiplier < 1:
        raise ConfigError(f"{where}.multiplier: expected a positive int, got {multiplier!r}")
    return BlockSpec(name=name, multiplier=multiplier, residual=bool(params.get("residual", False)))


def _parse_blocks(raw: Any, *, key: str, decoder: bool) -> tuple[BlockSpec, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ConfigError(f"{SECTION} config: {SECTION}.{key} must be a non-empty list of [name, params]")
    return tuple(_parse_block(e, where=f"{SECTION}.{key}[{i}]", decoder=decoder) for i, e in enumerate(raw))


def _padding(section: Mapping[str, Any], default: PaddingMode) -> PaddingMode:
    value = section.get("spatial_padding_mode", default.value)
    try:
        return PaddingMode(value)
    except ValueError:
        options = ", ".join(m.value for m in PaddingMode)
        raise ConfigError(
            f"{SECTION} config: unsupported value {value!r} for {SECTION}.spatial_padding_mode (supported: {options})"
        ) from None


def _positive_int(section: Mapping[str, Any], key: str, default: int) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{SECTION} config: {SECTION}.{key} must be a positive int, got {value!r}")
    return value


# Keys read (or checked) by from_dict; the values listed in _FIXED are the only supported ones.
_KNOWN = (
    "in_channels", "out_channels", "latent_channels", "patch_size", "encoder_blocks", "decoder_blocks",
    "decoder_base_channels", "encoder_base_channels", "spatial_padding_mode", "causal_decoder",
)
_FIXED = {
    "_class_name": "CausalVideoAutoencoder",
    "dims": 3,
    "norm_layer": "pixel_norm",
    "latent_log_var": "uniform",
    # ltx-core defaults timestep_conditioning to True when the key is absent; both real configs set it false and
    # carry no time-embedder weights, so we only support false (absent = false; a file with the extra
    # time-embedder keys would then fail the strict load loudly).
    "timestep_conditioning": False,
    "use_quant_conv": False,
    "normalize_latent_channels": False,
    "scaling_factor": 1.0,
}
_IGNORED = ("_diffusers_version",)


@dataclass(frozen=True)
class VideoVAEConfig:
    """Hyper-parameters of the video VAE (``CausalVideoAutoencoder``).

    Attributes:
        in_channels / out_channels: pixel channels (3, RGB).
        latent_channels: latent channels C (128); also the encoder's first feature width.
        patch_size: space-to-depth factor applied to pixels before ``conv_in`` (4).
        encoder_blocks / decoder_blocks: block lists in config order (the decoder builds them reversed).
        decoder_base_channels: decoder width after the last upsampler; ``conv_in`` emits 8x this.
        encoder_padding / decoder_padding: spatial padding modes (ltx-core: encoder default zeros, decoder default
            reflect; ``spatial_padding_mode`` sets both).
        causal_decoder: decoder temporal padding (False: one replicated frame on each side).
    """

    encoder_blocks: tuple[BlockSpec, ...]
    decoder_blocks: tuple[BlockSpec, ...]
    in_channels: int = 3
    out_channels: int = 3
    latent_channels: int = 128
    patch_size: int = 4
    decoder_base_channels: int = 128
    encoder_padding: PaddingMode = PaddingMode.ZEROS
    decoder_padding: PaddingMode = PaddingMode.REFLECT
    causal_decoder: bool = False

    def __post_init__(self) -> None:
        enc_t, enc_s = self._scales(self.encoder_blocks, ENCODER_STRIDES)
        dec_t, dec_s = self._scales(self.decoder_blocks, DECODER_STRIDES)
        if (enc_t, enc_s) != (dec_t, dec_s):
            raise ConfigError(
                f"{SECTION} config: encoder scales (time {enc_t}, space {enc_s}) differ from decoder scales "
                f"(time {dec_t}, space {dec_s})"
            )
        self.encoder_channels()
        self.decoder_channels()

    def _scales(self, blocks: tuple[BlockSpec, ...], strides: Mapping[str, tuple[int, int, int]]) -> tuple[int, int]:
        total = [1, self.patch_size, self.patch_size]
        for block in blocks:
            for axis, s in enumerate(strides.get(block.name, (1, 1, 1))):
                total[axis] *= s
        if total[1] != total[2]:
            raise ConfigError(f"{SECTION} config: height and width compression differ ({total[1]} vs {total[2]})")
        return total[0], total[1]

    @property
    def time_scale(self) -> int:
        """Pixel frames per latent frame after the first one (8)."""
        return self._scales(self.decoder_blocks, DECODER_STRIDES)[0]

    @property
    def space_scale(self) -> int:
        """Pixels per latent cell along height and width (32)."""
        return self._scales(self.decoder_blocks, DECODER_STRIDES)[1]

    def encoder_channels(self) -> list[int]:
        """Feature width after ``conv_in`` and after each encoder block (validates divisibility)."""
        widths = [self.latent_channels]
        for i, block in enumerate(self.encoder_blocks):
            width = widths[-1]
            if not block.is_res:
                prod = math.prod(ENCODER_STRIDES[block.name])
                out = width * block.multiplier
                if out % prod or (width * prod) % out:
                    raise ConfigError(f"{SECTION}.encoder_blocks[{i}]: width {width} -> {out} not divisible by {prod}")
                width = out
            widths.append(width)
        return widths

    def decoder_channels(self) -> list[int]:
        """Feature width after ``conv_in`` and after each decoder block in build (reversed) order."""
        widths = [self.decoder_base_channels * 8]
        for block in reversed(self.decoder_blocks):
            width = widths[-1]
            if not block.is_res:
                prod = math.prod(DECODER_STRIDES[block.name])
                if width % block.multiplier or (block.residual and prod % block.multiplier):
                    raise ConfigError(f"{SECTION}.decoder_blocks: {block.name} x{block.multiplier} on width {width}")
                width = width // block.multiplier
            widths.append(width)
        return widths

    @classmethod
    def from_dict(cls, section: Mapping[str, Any]) -> VideoVAEConfig:
        """Build from the checkpoint's ``config["vae"]`` section (19B or 2.3); raises ConfigError naming the key."""
        validate_section(section, name=SECTION, known=_KNOWN, fixed=_FIXED, ignored=_IGNORED)
        for key in ("encoder_blocks", "decoder_blocks"):
            if key not in section:
                raise ConfigError(f"{SECTION} config: missing required key {SECTION}.{key}")
        latent = _positive_int(section, "latent_channels", 128)
        if section.get("encoder_base_channels", latent) != latent:
            # ltx-core ignores this key and always starts the encoder at latent_channels.
            raise ConfigError(
                f"{SECTION} config: unsupported value {section['encoder_base_channels']!r} for "
                f"{SECTION}.encoder_base_channels (supported: equal to latent_channels, {latent})"
            )
        causal = section.get("causal_decoder", False)
        if not isinstance(causal, bool):
            raise ConfigError(f"{SECTION} config: {SECTION}.causal_decoder must be a bool, got {causal!r}")
        return cls(
            encoder_blocks=_parse_blocks(section["encoder_blocks"], key="encoder_blocks", decoder=False),
            decoder_blocks=_parse_blocks(section["decoder_blocks"], key="decoder_blocks", decoder=True),
            in_channels=_positive_int(section, "in_channels", 3),
            out_channels=_positive_int(section, "out_channels", 3),
            latent_channels=latent,
            patch_size=_positive_int(section, "patch_size", 4),
            decoder_base_channels=_positive_int(section, "decoder_base_channels", 128),
            encoder_padding=_padding(section, PaddingMode.ZEROS),
            decoder_padding=_padding(section, PaddingMode.REFLECT),
            causal_decoder=causal,
        )

    @classmethod
    def tiny(cls, topology: VAETopology = VAETopology.LTX2) -> VideoVAEConfig:
        """A small (< 1 M parameters) config with the block structure of the 19B or the 2.3 VAE (tests only)."""
        return cls.from_dict(tiny_section(topology))


def tiny_section(topology: VAETopology = VAETopology.LTX2) -> dict[str, Any]:
    """The metadata-style ``vae`` section behind :meth:`VideoVAEConfig.tiny` (also fed to ltx-core in tests)."""
    common: dict[str, Any] = {
        "_class_name": "CausalVideoAutoencoder", "dims": 3, "in_channels": 3, "out_channels": 3,
        "latent_channels": 4, "patch_size": 4, "norm_layer": "pixel_norm", "latent_log_var": "uniform",
        "causal_decoder": False, "timestep_conditioning": False, "decoder_base_channels": 4,
    }
    if topology is VAETopology.LTX2:
        common["encoder_blocks"] = [
            ["res_x", {"num_layers": 2}], ["compress_space_res", {"multiplier": 2}], ["res_x", {"num_layers": 1}],
            ["compress_time_res", {"multiplier": 2}], ["res_x", {"num_layers": 1}],
            ["compress_all_res", {"multiplier": 2}], ["res_x", {"num_layers": 1}],
            ["compress_all_res", {"multiplier": 2}], ["res_x", {"num_layers": 1}],
        ]
        up = ["compress_all", {"residual": True, "multiplier": 2}]
        res = ["res_x", {"num_layers": 1, "inject_noise": False}]
        common["decoder_blocks"] = [["res_x", {"num_layers": 2, "inject_noise": False}], up, res, up, res, up, res]
        return common
    common["spatial_padding_mode"] = "zeros"
    common["encoder_blocks"] = [
        ["res_x", {"num_layers": 1}], ["compress_space_res", {"multiplier": 2}], ["res_x", {"num_layers": 2}],
        ["compress_time_res", {"multiplier": 2}], ["res_x", {"num_layers": 1}],
        ["compress_all_res", {"multiplier": 2}], ["res_x", {"num_layers": 1}],
        ["compress_all_res", {"multiplier": 1}], ["res_x", {"num_layers": 1}],
    ]
    common["decoder_blocks"] = [
        ["res_x", {"num_layers": 1}], ["compress_space", {"multiplier": 2}], ["res_x", {"num_layers": 2}],
        ["compress_time", {"multiplier": 2}], ["res_x", {"num_layers": 1}], ["compress_all", {"multiplier": 1}],
        ["res_x", {"num_layers": 1}], ["compress_all", {"multiplier": 2}], ["res_x", {"num_layers": 1}],
    ]
    return common
