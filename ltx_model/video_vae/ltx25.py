"""The LTX-2.5 video VAE file (``vae/ltx-2.5-video-vae-*.safetensors``): detection, config, strict loading.

Two published variants, told apart by ``config["vae"]["_class_name"]``:

* ``CausalDiffusionVAE`` (``…-video-vae-bf16``): the conv encoder (2.3's architecture, nested ``vae.encoder``
  section with ``blocks``) + the neighbourhood-attention diffusion decoder (:mod:`.diffusion_decoder`). Built as
  :class:`LTX25VideoVAE`.
* ``CausalVideoAutoencoder`` (``…-video-vae-conv-bf16``): the conv encoder + conv decoder, the same architecture
  as 2.3 (flat section), built as the existing :class:`~.model.VideoVAE`.

Keys are the ComfyUI-aligned split form ``encoder.*`` / ``decoder.*`` / ``per_channel_statistics.*``; a file whose
keys all carry ltx-core's single-file prefix ``vae.`` is accepted too. Module names equal the file names (fused
``attn.qkv``, ``t_embedder.mlp.{0,2}``), so nothing is renamed; as in ltx-core's loader, a diffusion decoder's
static gates ``diff_blocks.N.gate_{msa,mlp,ctx}`` (C,) are folded into ``attn.proj`` / ``mlp.w_down`` /
``context_proj`` (W <- g·W, b <- g·b) and bundled preview heads ``decoder.coarse_*`` are dropped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from ..configbase import ConfigError, validate_section
from ..loading.safetensors_io import CheckpointError, SafetensorsHeader, SafetensorsReader, read_header
from ..modes.geometry import frames_problem, size_problem
from .config import VideoVAEConfig
from .diffusion_config import CONV_CLASS_NAME, DIFFUSION_CLASS_NAME, DiffusionDecoderConfig
from .diffusion_decoder import DiffusionDecoder
from .diffusion_tiling import DiffusionTiling, decode_tiled
from .layers import PerChannelStatistics
from .model import VideoVAE
from .neighborhood import NA3DFunction
from .networks import VideoEncoder

SINGLE_FILE_PREFIX = "vae."
SIGNATURE_KEY = "decoder.conv_in_x_t.weight"  # only the diffusion decoder has it
STATISTICS_EXTRAS = ("channel", "mean-of-stds", "mean-of-stds_over_std-of-means")
GATE_TARGETS = {"gate_msa": "attn.proj", "gate_mlp": "mlp.w_down", "gate_ctx": "context_proj"}
_ENCODER_KEYS = ("dims", "in_channels", "out_channels", "blocks", "encoder_blocks", "patch_size", "latent_log_var",
                 "norm_layer", "base_channels", "spatial_padding_mode")


def _strip(keys: list[str]) -> str:
    """The prefix every key carries (``"vae."`` for a single-file extract, else ``""``)."""
    return SINGLE_FILE_PREFIX if keys and all(k.startswith(SINGLE_FILE_PREFIX) for k in keys) else ""


def ltx25_video_vae_kind(header: SafetensorsHeader) -> str | None:
    """``"diffusion"`` / ``"conv"`` for an LTX-2.5 video VAE file, else None.

    Diffusion: the signature key or ``_class_name`` ``CausalDiffusionVAE``. Conv: bare ``decoder.up_blocks`` keys
    with a ``model_version`` 2.5 (a 2.3 file carries the same architecture)."""
    keys = header.keys()
    prefix = _strip(keys)
    vae = header.config().get("vae", {})
    if prefix + SIGNATURE_KEY in keys or vae.get("_class_name") == DIFFUSION_CLASS_NAME:
        return "diffusion"
    version = str(header.metadata.get("model_version", header.config().get("model_version", "")))
    if version.startswith("2.5") and any(k.startswith(prefix + "decoder.up_blocks.") for k in keys):
        return "conv"
    return None


def is_ltx25_video_vae(header: SafetensorsHeader) -> bool:
    """Whether the header describes an LTX-2.5 video VAE file (either variant)."""
    return ltx25_video_vae_kind(header) is not None


def encoder_config(vae: Mapping[str, Any]) -> VideoVAEConfig:
    """The conv encoder's config from the nested ``vae.encoder`` section (2.3's architecture).

    ``latent_log_var`` "constant" and "uniform" both carry one extra log-variance channel that encoding discards,
    so both map onto the same module. The decoder block list of the returned config only mirrors the encoder's
    scales (the diffusion decoder has its own config)."""
    enc = vae.get("encoder")
    if not isinstance(enc, Mapping):
        raise ConfigError("vae config: missing the vae.encoder section")
    validate_section(enc, name="vae.encoder", known=_ENCODER_KEYS)
    if enc.get("latent_log_var", "uniform") not in ("uniform", "constant"):
        raise ConfigError(f"vae config: unsupported vae.encoder.latent_log_var {enc['latent_log_var']!r}")
    blocks = enc.get("blocks", enc.get("encoder_blocks"))
    mirror = [[name.removesuffix("_res"), {"multiplier": 1}] for name, _ in blocks or [] if name != "res_x"]
    latent = enc.get("out_channels", vae.get("latent_channels", 128))
    flat = {"in_channels": enc.get("in_channels", 3), "latent_channels": latent, "patch_size": enc.get("patch_size", 4),
            "encoder_blocks": blocks, "decoder_blocks": mirror or None, "dims": enc.get("dims", 3),
            "encoder_base_channels": enc.get("base_channels", latent),
            "norm_layer": enc.get("norm_layer", "pixel_norm"),
            "spatial_padding_mode": enc.get("spatial_padding_mode", "zeros")}
    return VideoVAEConfig.from_dict({k: v for k, v in flat.items() if v is not None})


class LTX25VideoVAE(nn.Module):
    """Conv encoder + diffusion decoder + latent statistics (``encoder`` may be None for a decoder-only file).

    Latents are normalised per channel like every LTX video VAE; :meth:`decode` un-normalises, then runs the
    seeded diffusion decoder (``generator``; ``steps`` defaults to the file's ``default_num_inference_steps``).
    """

    def __init__(self, encoder: VideoVAEConfig | None, decoder: DiffusionDecoderConfig, *,
                 dtype: torch.dtype | None = None, device: torch.device | str | None = None,
                 na3d: NA3DFunction | None = None) -> None:
        super().__init__()
        self.encoder = VideoEncoder(encoder, dtype=dtype, device=device) if encoder is not None else None
        self.decoder = DiffusionDecoder(decoder, dtype=dtype, device=device, na3d=na3d)
        self.per_channel_statistics = PerChannelStatistics(decoder.in_channels, dtype=dtype, device=device)
        self.encoder_config = encoder

    def pixel_shape(self, latent_shape: tuple[int, ...] | torch.Size) -> tuple[int, int, int, int, int]:
        """Latent ``(B, C, T, h, w)`` -> decoded pixels ``(B, 3, 1 + 8(T-1), 32h, 32w)``."""
        return self.decoder.pixel_shape(latent_shape)

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels (B, 3, 1+8k, H, W) in [-1, 1] -> normalised latent (B, 128, 1+k, H/32, W/32)."""
        if self.encoder is None or self.encoder_config is None:
            raise RuntimeError("this LTX-2.5 video VAE file has no encoder")
        cfg = self.encoder_config
        what = "video VAE encode input's width and height"
        problem = frames_problem(pixels.shape[2], "video VAE encode input", cfg.time_scale) or size_problem(
            pixels.shape[4], pixels.shape[3], what=what, multiple=cfg.space_scale)
        if problem:
            raise ValueError(problem)
        return self.per_channel_statistics.normalize(self.encoder(pixels))

    def decode(self, latent: torch.Tensor, *, generator: torch.Generator | None = None, steps: int | None = None,
               tiling: DiffusionTiling | None = None, on_step: Callable[[], None] | None = None,
               store: torch.device | None = None) -> torch.Tensor:
        """Normalised latent (B, 128, T, h, w) -> pixels (B, 3, 1+8(T-1), 32h, 32w), tiled when ``tiling``.

        ``on_step`` / ``store``: see :func:`~.diffusion_tiling.decode_tiled` (tiled decodes only)."""
        self.decoder.pixel_shape(latent.shape)
        raw = self.per_channel_statistics.un_normalize(latent)
        if tiling is None:
            return self.decoder(raw, generator=generator, steps=steps)
        return decode_tiled(self.decoder, raw, tiling, generator=generator, steps=steps, on_step=on_step, store=store)


def _fold_gates(state: dict[str, torch.Tensor], path: str) -> None:
    """Fold and remove ``decoder.diff_blocks.N.gate_*`` in place (ltx-core's load-time gate fold)."""
    for key in [k for k in state if k.startswith("decoder.diff_blocks.") and k.rsplit(".", 1)[1] in GATE_TARGETS]:
        block, name = key.rsplit(".", 1)
        gate = state.pop(key).float()
        if f"{block}.{GATE_TARGETS[name]}.weight" not in state:
            raise CheckpointError(f"{path}: gate {key} has no {block}.{GATE_TARGETS[name]}.weight to fold into")
        for target in (f"{block}.{GATE_TARGETS[name]}.weight", f"{block}.{GATE_TARGETS[name]}.bias"):
            if target not in state:
                continue  # mlp.w_down has no bias
            value = state[target]
            scale = gate[:, None] if value.ndim == 2 else gate
            state[target] = (value.float() * scale).to(value.dtype)


def _module_name(key: str, prefix: str) -> str | None:
    """File key -> module state-dict name; None for keys the loader drops (statistics extras, preview heads)."""
    name = key.removeprefix(prefix)
    if name in tuple(f"per_channel_statistics.{s}" for s in STATISTICS_EXTRAS) or name.startswith("decoder.coarse_"):
        return None
    return name


def _is_gate(name: str) -> bool:
    return name.startswith("decoder.diff_blocks.") and name.rsplit(".", 1)[1] in GATE_TARGETS


def _read_state(header: SafetensorsHeader, prefix: str) -> dict[str, torch.Tensor]:
    """Module state dict from the file: prefix removed, extras and preview heads dropped, gates folded."""
    names = {k: n for k in header.tensors if (n := _module_name(k, prefix)) is not None}
    with SafetensorsReader(header) as reader:
        state = {names[key]: tensor for key, tensor in reader.iter_tensors(list(names))}
    _fold_gates(state, header.path)
    return state


def _check(model: nn.Module, header: SafetensorsHeader, prefix: str) -> None:
    """Header-only strict check: one CheckpointError naming the file and the missing / unexpected / mis-shaped keys
    (first few of each). Gates are checked when folded."""
    shapes_in_file = {n: tuple(header.tensors[k].shape) for k in header.tensors
                      if (n := _module_name(k, prefix)) is not None and not _is_gate(n)}
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = [prefix + k for k in expected if k not in shapes_in_file]
    unexpected = [prefix + k for k in shapes_in_file if k not in expected]
    shapes = [f"{prefix}{k} {list(shapes_in_file[k])} vs model {list(s)}" for k, s in expected.items()
              if k in shapes_in_file and shapes_in_file[k] != s]
    problems = [f"{len(v)} {what}: {', '.join(v[:5])}{' ...' if len(v) > 5 else ''}"
                for what, v in (("missing key(s)", missing), ("unexpected key(s)", unexpected),
                                ("shape mismatch(es)", shapes)) if v]
    if problems:
        raise CheckpointError(f"{header.path}: LTX-2.5 video VAE does not match its config: " + "; ".join(problems))


def check_ltx25_video_vae(
    path: str | os.PathLike[str] | SafetensorsHeader, *, na3d: NA3DFunction | None = None
) -> nn.Module:
    """Verify an LTX-2.5 video VAE file from its header alone (kind, config, every key and shape); returns the
    module on the meta device. Reads no tensor data, so a real-size file is checked in milliseconds.

    Raises:
        CheckpointError: not an LTX-2.5 video VAE (naming the file and what it holds instead), a bad config,
            missing / unexpected / mis-shaped keys, a truncated file.
    """
    header = path if isinstance(path, SafetensorsHeader) else read_header(path)
    kind = ltx25_video_vae_kind(header)
    if kind is None:
        raise CheckpointError(f"{header.path}: not an LTX-2.5 video VAE file (no {SIGNATURE_KEY}, vae._class_name "
                              f"{header.config().get('vae', {}).get('_class_name')!r}, model_version "
                              f"{header.metadata.get('model_version')!r})")
    prefix = _strip(header.keys())
    try:
        model = _instantiate(kind, header.config().get("vae", {}), set(header.keys()), prefix, na3d)
    except (ConfigError, TypeError, KeyError) as exc:
        raise CheckpointError(f"{header.path}: LTX-2.5 video VAE config: {exc}") from None
    _check(model, header, prefix)
    return model


def build_ltx25_video_vae(
    path: str | os.PathLike[str], *, dtype: torch.dtype | None = torch.float32, device: str | torch.device = "cpu",
    na3d: NA3DFunction | None = None,
) -> nn.Module:
    """Load an LTX-2.5 video VAE file strictly: :class:`LTX25VideoVAE` (diffusion) or :class:`VideoVAE` (conv).

    The header is verified first (:func:`check_ltx25_video_vae`), then the tensors are read; ``dtype=None`` keeps
    the stored dtypes. Raises CheckpointError (see :func:`check_ltx25_video_vae`); nothing is returned half-loaded.
    """
    header = read_header(path)
    model = check_ltx25_video_vae(header, na3d=na3d)
    state = _read_state(header, _strip(header.keys()))
    model.load_state_dict({k: v.to(dtype) if dtype and v.is_floating_point() else v for k, v in state.items()},
                          strict=True, assign=True)
    return model.to(device).eval()


def _instantiate(kind: str, vae: Mapping[str, Any], keys: set[str], prefix: str,
                 na3d: NA3DFunction | None) -> nn.Module:
    """The module for ``kind`` on the meta device (parameters arrive with ``assign=True``)."""
    if kind == "conv":
        section = {k: v for k, v in vae.items() if k != "latent_log_var" or v != "constant"}
        return VideoVAE(VideoVAEConfig.from_dict({**section, "_class_name": CONV_CLASS_NAME}), device="meta")
    has_encoder = any(k.startswith(prefix + "encoder.") for k in keys)
    enc = encoder_config(vae) if has_encoder else None
    return LTX25VideoVAE(enc, DiffusionDecoderConfig.from_dict(vae), device="meta", na3d=na3d)


def metadata_for(vae_section: Mapping[str, Any], model_version: str = "2.5.0") -> dict[str, str]:
    """Safetensors metadata of a 2.5 video VAE file: ``config`` JSON with the ``vae`` section + ``model_version``."""
    return {"config": json.dumps({"vae": dict(vae_section)}), "model_version": model_version}
