"""Configuration of the LTX-2.5 diffusion video decoder, read from the file's ``config["vae"]`` section.

A diffusion VAE file declares ``vae._class_name = "CausalDiffusionVAE"`` and nests its halves: ``vae.encoder``
(the conv encoder, ``blocks`` naming) and ``vae.decoder`` (below); ``vae.model_output_type`` sits beside them.
Absent decoder fields take ltx-core 1.2's class defaults (``DiffusionVideoDecoder``), which are the published
LTX-2.5 values (ltx2-model.md §11): stage widths 1024/512/256/256 -> 128, depths 4/6/4/2 + 8 diffusion blocks,
kernels (3,7,7)/(3,7,7)/(3,5,5)/(3,5,5), stage-5 kernel (3,7,7), head 64, t-embedding 384, v-prediction, 2 steps,
timestep multiplier 1.

diffusers 0.42.1 (``LTX2VideoDiffusionDecoderModel``) defaults to the older 2.4 export instead (x0, one step,
(11,11,11) stage-5 kernel, widths 2048...256, multiplier 1000); we follow ltx-core and always read the file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..configbase import ConfigError, validate_section

SECTION = "vae.decoder"
DIFFUSION_CLASS_NAME = "CausalDiffusionVAE"
CONV_CLASS_NAME = "CausalVideoAutoencoder"

Triple = tuple[int, int, int]

_DEFAULTS: dict[str, Any] = {
    "in_channels": 128, "out_channels": 3, "patch_size": 4, "head_dim": 64, "t_emb_dim": 384,
    "stage_channels": (1024, 512, 256, 256, 128), "stage_depths": (4, 6, 4, 2, 8),
    "stage_kernels": ((3, 7, 7), (3, 7, 7), (3, 5, 5), (3, 5, 5), (3, 3, 3)),
    "upsamples": (((1, 2, 2), 2), ((2, 1, 1), 2), ((2, 2, 2), 1), ((2, 2, 2), 2)),
    "stage5_kernel": (3, 7, 7), "default_num_inference_steps": 2, "timestep_scale_multiplier": 1.0,
}
_KNOWN = (*_DEFAULTS, "na_head_dim", "stage5_channels")


def _ints(value: Any, key: str, length: int | None = None) -> tuple[int, ...]:
    ok = isinstance(value, Sequence) and not isinstance(value, str)
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    if not ok or (length is not None and len(value) != length):
        want = f"{length} positive ints" if length else "a list of positive ints"
        raise ConfigError(f"vae config: {SECTION}.{key} must be {want}, got {value!r}")
    return tuple(value)


def _upsamples(value: Any) -> tuple[tuple[Triple, int], ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError(f"vae config: {SECTION}.upsamples must be a list of [stride, reduction], got {value!r}")
    out = []
    for i, entry in enumerate(value):
        if not isinstance(entry, Sequence) or len(entry) != 2:
            raise ConfigError(f"vae config: {SECTION}.upsamples[{i}] must be [stride, reduction], got {entry!r}")
        stride = _ints(entry[0], f"upsamples[{i}][0]", 3)
        out.append((stride, _ints([entry[1]], f"upsamples[{i}][1]", 1)[0]))
    return tuple(out)  # type: ignore[return-value]


@dataclass(frozen=True)
class DiffusionDecoderConfig:
    """Hyper-parameters of ``NADiffusionDecoder`` (ltx-core ``DiffusionVideoDecoder``).

    Attributes:
        stage_channels: width of stages 1..4 and the stage-5 context (``stage_channels[-1]``).
        stage_depths: NA blocks of stages 1..4, then the number of stage-5 diffusion blocks.
        stage_kernels: NA kernel (T, H, W) per stage; only the first four are used.
        upsamples: ``(stride, channel reduction)`` after each deterministic stage.
        stage5_kernel / stage5_channels: the diffusion blocks' kernel and width.
        default_num_inference_steps: Euler steps of the stage-5 denoiser (timesteps linspace(1, 1/n, n)).
        timestep_scale_multiplier: the timestep fed to the embedding is ``multiplier · t``.
        model_output_type: ``"v"`` (velocity) or ``"x0"``.
    """

    in_channels: int = 128
    out_channels: int = 3
    patch_size: int = 4
    head_dim: int = 64
    t_emb_dim: int = 384
    stage_channels: tuple[int, ...] = _DEFAULTS["stage_channels"]
    stage_depths: tuple[int, ...] = _DEFAULTS["stage_depths"]
    stage_kernels: tuple[Triple, ...] = _DEFAULTS["stage_kernels"]
    upsamples: tuple[tuple[Triple, int], ...] = _DEFAULTS["upsamples"]
    stage5_kernel: Triple = (3, 7, 7)
    stage5_channels: int = 128
    default_num_inference_steps: int = 2
    timestep_scale_multiplier: float = 1.0
    model_output_type: str = "v"

    def __post_init__(self) -> None:
        n = len(self.stage_channels)
        if not len(self.stage_depths) == len(self.stage_kernels) == n or len(self.upsamples) != n - 1 or n < 5:
            raise ConfigError(f"vae config: {SECTION} needs 5 stages (channels, depths, kernels) and 4 upsamples")
        for i, (_, reduction) in enumerate(self.upsamples):
            if self.stage_channels[i] // reduction != self.stage_channels[i + 1]:
                raise ConfigError(f"vae config: {SECTION}.stage_channels[{i + 1}] must be "
                                  f"stage_channels[{i}] / upsamples[{i}] reduction {reduction}")
        for width in (*self.stage_channels, self.stage5_channels):
            if width % self.head_dim:
                raise ConfigError(f"vae config: width {width} is not a multiple of head_dim {self.head_dim}")
        if self.model_output_type not in ("v", "x0"):
            raise ConfigError(f"vae config: vae.model_output_type must be 'v' or 'x0', got {self.model_output_type!r}")

    @property
    def context_channels(self) -> int:
        return self.stage_channels[-1]

    @property
    def time_scale(self) -> int:
        """Pixel frames per latent frame after the first (8)."""
        return math.prod(s[0] for s, _ in self.upsamples)

    @property
    def space_scale(self) -> int:
        """Pixels per latent cell (32): the upsample strides times the stage-5 patch."""
        return math.prod(s[1] for s, _ in self.upsamples) * self.patch_size

    @property
    def trailing_pad_frames(self) -> int:
        """Latent frames replicated after the last one through stages 1-4 (NATTEN border workaround)."""
        return (self.stage_kernels[0][0] // 2) * 2

    @classmethod
    def from_dict(cls, vae: Mapping[str, Any]) -> DiffusionDecoderConfig:
        """From the whole ``vae`` section (reads ``vae.decoder`` and ``vae.model_output_type``)."""
        section = vae.get("decoder", {})
        if not isinstance(section, Mapping):
            raise ConfigError(f"vae config: {SECTION} must be an object")
        validate_section(section, name=SECTION, known=_KNOWN)
        get = {k: section.get(k, d) for k, d in _DEFAULTS.items()}
        head_dim = section.get("head_dim", section.get("na_head_dim", 64))
        channels = _ints(get["stage_channels"], "stage_channels")
        return cls(
            in_channels=_ints([get["in_channels"]], "in_channels", 1)[0],
            out_channels=_ints([get["out_channels"]], "out_channels", 1)[0],
            patch_size=_ints([get["patch_size"]], "patch_size", 1)[0],
            head_dim=_ints([head_dim], "head_dim", 1)[0],
            t_emb_dim=_ints([get["t_emb_dim"]], "t_emb_dim", 1)[0],
            stage_channels=channels,
            stage_depths=_ints(get["stage_depths"], "stage_depths"),
            stage_kernels=tuple(_ints(k, f"stage_kernels[{i}]", 3) for i, k in enumerate(get["stage_kernels"])),
            upsamples=_upsamples(get["upsamples"]),
            stage5_kernel=_ints(get["stage5_kernel"], "stage5_kernel", 3),  # type: ignore[arg-type]
            stage5_channels=_ints([section.get("stage5_channels", channels[-1])], "stage5_channels", 1)[0],
            default_num_inference_steps=_ints([get["default_num_inference_steps"]], "steps", 1)[0],
            timestep_scale_multiplier=float(get["timestep_scale_multiplier"]),
            model_output_type=str(vae.get("model_output_type", "v")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``vae.decoder`` section that :meth:`from_dict` reads back to this config."""
        return {
            "in_channels": self.in_channels, "out_channels": self.out_channels, "patch_size": self.patch_size,
            "head_dim": self.head_dim, "t_emb_dim": self.t_emb_dim, "stage_channels": list(self.stage_channels),
            "stage_depths": list(self.stage_depths), "stage_kernels": [list(k) for k in self.stage_kernels],
            "upsamples": [[list(s), r] for s, r in self.upsamples], "stage5_kernel": list(self.stage5_kernel),
            "stage5_channels": self.stage5_channels, "default_num_inference_steps": self.default_num_inference_steps,
            "timestep_scale_multiplier": self.timestep_scale_multiplier,
        }
