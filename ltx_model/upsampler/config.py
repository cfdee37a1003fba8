"""Config of the latent upsampler files (flat ``config`` metadata of the separate upscaler safetensors)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..configbase import ConfigError, validate_section

RATIONAL_SCALES: dict[float, tuple[int, int]] = {0.75: (3, 4), 1.5: (3, 2), 2.0: (2, 1), 4.0: (4, 1)}
"""Supported rational spatial scales -> (pixel-shuffle factor, blur-downsample stride)."""


class UpsamplerKind(enum.Enum):
    """Which resampling stage sits between the two residual stacks."""

    SPATIAL_X2 = "spatial_x2"
    """Per-frame Conv2d(mid -> 4 mid) + 2x2 pixel shuffle (keys ``upsampler.0.*``)."""
    SPATIAL_RATIONAL = "spatial_rational"
    """Per-frame Conv2d(mid -> n^2 mid) + n x n pixel shuffle + binomial blur, stride d (``upsampler.conv.*``)."""
    TEMPORAL_X2 = "temporal_x2"
    """Conv3d(mid -> 2 mid) + time pixel shuffle, first frame dropped: F -> 2F - 1 (``upsampler.0.*``)."""
    SPATIOTEMPORAL_X2 = "spatiotemporal_x2"
    """Conv3d(mid -> 8 mid) + 2x2x2 pixel shuffle, first frame dropped (``upsampler.0.*``)."""


@dataclass(frozen=True)
class UpsamplerConfig:
    """Latent upsampler hyper-parameters; defaults are ltx-core's for missing keys (note ``mid_channels`` 512).

    Attributes:
        in_channels: latent channels (128).
        mid_channels: width of the residual stacks (1024 for the spatial files, 512 for the temporal one).
        num_blocks_per_stage: residual blocks before and after the resampler.
        dims: 3 (Conv3d stacks; all real files) or 2 (per-frame Conv2d stacks; spatial x2 only).
        spatial_upsample, temporal_upsample: which axes are resampled.
        spatial_scale: spatial factor (2.0, or a rational scale with ``rational_resampler``).
        rational_resampler: use the pixel-shuffle + blur-downsample resampler for the spatial scale.
    """

    in_channels: int = 128
    mid_channels: int = 512
    num_blocks_per_stage: int = 4
    dims: int = 3
    spatial_upsample: bool = True
    temporal_upsample: bool = False
    spatial_scale: float = 2.0
    rational_resampler: bool = False

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        if self.dims not in (2, 3):
            raise ConfigError(f"upsampler config: unsupported value {self.dims!r} for upsampler.dims (2 or 3)")
        if self.mid_channels % 32:
            raise ConfigError("upsampler config: upsampler.mid_channels must be a multiple of 32 (GroupNorm(32))")
        if not (self.spatial_upsample or self.temporal_upsample):
            raise ConfigError("upsampler config: spatial_upsample or temporal_upsample must be true")
        kind = self.kind
        if kind is UpsamplerKind.SPATIAL_RATIONAL and float(self.spatial_scale) not in RATIONAL_SCALES:
            raise ConfigError(
                f"upsampler config: unsupported value {self.spatial_scale!r} for upsampler.spatial_scale "
                f"(rational: {sorted(RATIONAL_SCALES)})"
            )
        if kind is UpsamplerKind.SPATIAL_X2 and float(self.spatial_scale) != 2.0:
            raise ConfigError(
                f"upsampler config: upsampler.spatial_scale {self.spatial_scale!r} needs rational_resampler true"
            )
        if self.dims == 2 and kind is not UpsamplerKind.SPATIAL_X2:
            raise ConfigError("upsampler config: upsampler.dims 2 is only supported for the spatial x2 resampler")

    @property
    def kind(self) -> UpsamplerKind:
        """The resampling stage this config builds (``rational_resampler`` is ignored for temporal ones)."""
        if self.temporal_upsample:
            return UpsamplerKind.SPATIOTEMPORAL_X2 if self.spatial_upsample else UpsamplerKind.TEMPORAL_X2
        return UpsamplerKind.SPATIAL_RATIONAL if self.rational_resampler else UpsamplerKind.SPATIAL_X2

    @classmethod
    def from_dict(cls, section: Mapping[str, Any]) -> UpsamplerConfig:
        """Build from the file's flat ``config`` metadata; unknown keys raise :class:`ConfigError`."""
        names = [f.name for f in fields(cls)]
        validate_section(section, name="upsampler", known=names, fixed={"_class_name": "LatentUpsampler"})
        kwargs = {k: section[k] for k in names if k in section}
        for key in ("spatial_upsample", "temporal_upsample", "rational_resampler"):
            if key in kwargs and not isinstance(kwargs[key], bool):
                raise ConfigError(f"upsampler config: upsampler.{key} must be a boolean, got {kwargs[key]!r}")
        if "spatial_scale" in kwargs:
            kwargs["spatial_scale"] = float(kwargs["spatial_scale"])
        return cls(**kwargs)

    @classmethod
    def tiny(cls, kind: UpsamplerKind = UpsamplerKind.SPATIAL_X2) -> UpsamplerConfig:
        """A small config of the given kind for tests (8 latent channels, width 32, 1 block per stage)."""
        flags = {
            UpsamplerKind.SPATIAL_X2: dict(spatial_upsample=True, temporal_upsample=False),
            UpsamplerKind.SPATIAL_RATIONAL: dict(spatial_scale=1.5, rational_resampler=True),
            UpsamplerKind.TEMPORAL_X2: dict(spatial_upsample=False, temporal_upsample=True, spatial_scale=1.0),
            UpsamplerKind.SPATIOTEMPORAL_X2: dict(spatial_upsample=True, temporal_upsample=True),
        }[kind]
        return cls(in_channels=8, mid_channels=32, num_blocks_per_stage=1, **flags)
