"""The three implementations ``scripts/bench.py`` compares, behind one small adapter interface.

* ``ours``: ``ltx_model`` (LTXTransformer + Modality, VideoVAE, ``loading.load_component``).
* ``comfy_core``: ComfyUI core's native LTX-2 (``comfy.ldm.lightricks.av_model.LTXAVModel``, the
  ``causal_video_autoencoder`` VAE through ``comfy.sd.VAE``, ``comfy.sd.load_diffusion_model``), imported from
  ``$COMFYUI_PATH`` or ``~/comfy/ComfyUI`` (added to ``sys.path`` here only, never by the library).
* ``ltx_core``: Lightricks ``ltx-core`` 1.0.0 (``LTXModel``, ``VideoDecoder``, ``SingleGPUModelBuilder``).

Every adapter builds its modules from the SAME state dict (official file keys); transformer parameters are assigned
(shared storage), so three models cost one copy of the weights. All attention goes through PyTorch SDPA
(ComfyUI is told ``--use-pytorch-cross-attention``; on CPU it would otherwise pick sub-quadratic attention).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from bench_common import DIFFUSION_PREFIX, REPO, VAE_PREFIX, PassShape

sys.path.insert(0, str(REPO))

from ltx_model.loading import load_component  # noqa: E402
from ltx_model.sampling import (  # noqa: E402
    AudioGrid,
    VideoGrid,
    audio_positions,
    patchify_audio,
    patchify_video,
    video_positions,
)
from ltx_model.transformer import LTXTransformer, Modality, TransformerConfig  # noqa: E402
from ltx_model.video_vae import (  # noqa: E402
    SpatialTilingConfig,
    TemporalTilingConfig,
    TilingConfig,
    VAEParts,
    VideoVAE,
    VideoVAEConfig,
)

CONNECTOR_PREFIXES = tuple(DIFFUSION_PREFIX + c for c in ("video_embeddings_connector.", "audio_embeddings_connector."))


def comfy_root() -> Path:
    """The ComfyUI tree (``$COMFYUI_PATH`` or ``~/comfy/ComfyUI``)."""
    return Path(os.environ.get("COMFYUI_PATH") or Path.home() / "comfy" / "ComfyUI").expanduser()


def ensure_comfy(device: str) -> None:
    """Put ComfyUI on ``sys.path`` (after this repository) and set its CLI flags BEFORE comfy.model_management loads:
    ``--cpu`` without a GPU, and PyTorch SDPA attention (the kernel the other two use)."""
    root = comfy_root()
    if not (root / "comfy").is_dir():
        raise RuntimeError(f"ComfyUI not found at {root} (set COMFYUI_PATH)")
    if str(root) not in sys.path:
        sys.path.append(str(root))
    from comfy.cli_args import args

    args.cpu = device == "cpu"
    args.use_pytorch_cross_attention = True


# ----------------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class PassInputs:
    """Latent grids and text context of one pass, shared by all three implementations.

    vlat (B, 128, F, H, W), alat (B, 8, T, 16), vctx (B, S, Dv), actx (B, S, Da), sigma (B,), fps, and the video
    denoise mask (B, 1, F, H, W) (1 = generated, 0 = clean conditioning) or None for one sigma everywhere.
    """

    vlat: torch.Tensor
    alat: torch.Tensor
    vctx: torch.Tensor
    actx: torch.Tensor
    sigma: torch.Tensor
    fps: float
    mask: torch.Tensor | None = None


def make_pass_inputs(section: Mapping[str, Any], shape: PassShape, *, dtype: torch.dtype, device: str,
                     seed: int = 1) -> PassInputs:
    """Seeded random inputs for one pass (all tokens at sigma 0.7, i.e. a plain text-to-video step)."""
    t = section["transformer"]
    gen = torch.Generator(device=device).manual_seed(seed)
    f, h, w = shape.latent
    dv = t["num_attention_heads"] * t["attention_head_dim"]
    da = t["audio_num_attention_heads"] * t["audio_attention_head_dim"]

    def rand(*size: int) -> torch.Tensor:
        return torch.randn(size, generator=gen, device=device, dtype=torch.float32).to(dtype)

    mask = None
    if shape.i2v:
        mask = torch.ones(1, 1, f, h, w, device=device, dtype=dtype)
        mask[:, :, 0] = 0.0  # first latent frame = the conditioning image
    return PassInputs(vlat=rand(1, 128, f, h, w), alat=rand(1, 8, shape.audio_tokens, 16),
                      vctx=rand(1, shape.text_tokens, dv), actx=rand(1, shape.text_tokens, da),
                      sigma=torch.full((1,), 0.7, device=device, dtype=dtype), fps=shape.fps, mask=mask)


def video_timesteps(inputs: PassInputs) -> torch.Tensor:
    """Per-token video timesteps (B, T) = denoise mask x sigma, or (B, 1) without a mask."""
    if inputs.mask is None:
        return inputs.sigma.view(-1, 1)
    return patchify_video(inputs.mask)[..., 0] * inputs.sigma.view(-1, 1)


def our_modalities(inputs: PassInputs) -> tuple[Modality, Modality]:
    """Inputs as ``ltx_model`` Modality bundles (ltx-core's Modality has the same fields)."""
    _, _, f, h, w = inputs.vlat.shape
    device = inputs.vlat.device
    sigma = inputs.sigma
    video = Modality(latent=patchify_video(inputs.vlat), sigma=sigma, timesteps=video_timesteps(inputs),
                     positions=video_positions(VideoGrid(f, h, w, inputs.fps), device=device),
                     context=inputs.vctx)
    audio = Modality(latent=patchify_audio(inputs.alat), sigma=sigma, timesteps=sigma.view(-1, 1),
                     positions=audio_positions(AudioGrid(inputs.alat.shape[2]), device=device),
                     context=inputs.actx)
    return video, audio


# ----------------------------------------------------------------------------------------------- helpers
def strip(state: Mapping[str, torch.Tensor], prefix: str, *, exclude: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """Keys starting with ``prefix`` (minus ``exclude``), with the prefix removed."""
    return {k.removeprefix(prefix): v for k, v in state.items()
            if k.startswith(prefix) and not (exclude and k.startswith(exclude))}


def assign_checked(model: torch.nn.Module, state: Mapping[str, torch.Tensor], *, what: str) -> torch.nn.Module:
    """``load_state_dict(strict=True, assign=True)`` and fail if a tensor stayed on the meta device."""
    model.load_state_dict(state, strict=True, assign=True)
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise RuntimeError(f"{what}: tensors left on meta: {left[:5]}")
    return model.eval()


def to_device(model: torch.nn.Module, device: str, dtype: torch.dtype) -> torch.nn.Module:
    """Move a freshly built (small) module."""
    return model.to(device=device, dtype=dtype).eval()


# ----------------------------------------------------------------------------------------------- adapters
class Ours:
    """``ltx_model``."""

    name = "ours"

    def transformer(self, section: Mapping[str, Any], state: Mapping[str, torch.Tensor]) -> torch.nn.Module:
        config = TransformerConfig.from_dict(section["transformer"])
        with torch.device("meta"):
            model = LTXTransformer(config)
        return assign_checked(model, strip(state, DIFFUSION_PREFIX, exclude=CONNECTOR_PREFIXES), what=self.name)

    def pass_fn(self, model: torch.nn.Module, inputs: PassInputs) -> Callable[[], Any]:
        def run() -> Any:
            video, audio = our_modalities(inputs)
            return model(video, audio)

        return run

    def outputs(self, result: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return result

    def vae(self, section: Mapping[str, Any], state: Mapping[str, torch.Tensor], device: str,
            dtype: torch.dtype) -> Any:
        model = VideoVAE(VideoVAEConfig.from_dict(section["vae"]), parts=VAEParts.DECODER)
        wanted = set(model.state_dict())
        model.load_state_dict({k: v for k, v in strip(state, VAE_PREFIX).items() if k in wanted}, strict=True)
        return to_device(model, device, dtype)

    def decode(self, vae: Any, latent: torch.Tensor) -> torch.Tensor:
        return vae.decode(latent)

    def decode_tiled(self, vae: Any, latent: torch.Tensor, tiling: Mapping[str, int]) -> torch.Tensor:
        config = TilingConfig(SpatialTilingConfig(tiling["px"], tiling["overlap_px"]),
                              TemporalTilingConfig(tiling["frames"], tiling["overlap_frames"]))
        return vae.decode_tiled(latent, config)

    def load(self, path: str, device: str, dtype: torch.dtype) -> torch.nn.Module:
        return load_component(path, "transformer", dtype=dtype, device=device)


class ComfyCore:
    """ComfyUI core (``comfy.ldm.lightricks``), used here only as a peer."""

    name = "comfy_core"

    def transformer(self, section: Mapping[str, Any], state: Mapping[str, torch.Tensor]) -> torch.nn.Module:
        import comfy.ops
        from comfy.ldm.lightricks.av_model import LTXAVModel

        # BaseModel builds LTXAVModel(**unet_config) where unet_config = the metadata's transformer section.
        with torch.device("meta"):
            model = LTXAVModel(**section["transformer"], operations=comfy.ops.disable_weight_init)
        return assign_checked(model, strip(state, DIFFUSION_PREFIX), what=self.name)

    def pass_fn(self, model: torch.nn.Module, inputs: PassInputs) -> Callable[[], Any]:
        context = torch.cat([inputs.vctx, inputs.actx], dim=-1)  # core's 22B layout: video | audio widths

        extra = {} if inputs.mask is None else {"denoise_mask": inputs.mask}

        def run() -> Any:
            # LTXAV.process_timestep: per-token video timesteps (B, T, 1) from the denoise mask, audio sigma (B,).
            v_t = inputs.sigma if inputs.mask is None else video_timesteps(inputs).unsqueeze(-1)
            return model([inputs.vlat, inputs.alat], (v_t, inputs.sigma), context, None,
                         frame_rate=inputs.fps, transformer_options={}, **extra)

        return run

    def outputs(self, result: Any) -> tuple[torch.Tensor, torch.Tensor]:
        video, audio = result
        return patchify_video(video), patchify_audio(audio)

    def vae(self, section: Mapping[str, Any], state: Mapping[str, torch.Tensor], device: str,
            dtype: torch.dtype) -> Any:
        import comfy.sd

        return comfy.sd.VAE(sd=strip(state, VAE_PREFIX), metadata={"config": json.dumps(section)}, dtype=dtype)

    def decode(self, vae: Any, latent: torch.Tensor) -> torch.Tensor:
        return vae.first_stage_model.decode(latent)

    def decode_tiled(self, vae: Any, latent: torch.Tensor, tiling: Mapping[str, int]) -> torch.Tensor:
        # What the VAEDecodeTiled node passes (pixel sizes / compression; the output is (B, F, H, W, 3)).
        tile_t = max(2, tiling["frames"] // 8)
        overlap_t = max(1, min(tile_t // 2, tiling["overlap_frames"] // 8))
        return vae.decode_tiled(latent, tile_x=tiling["px"] // 32, tile_y=tiling["px"] // 32,
                                overlap=tiling["overlap_px"] // 32, tile_t=tile_t, overlap_t=overlap_t)

    def load(self, path: str, device: str, dtype: torch.dtype) -> torch.nn.Module:
        import comfy.sd

        patcher = comfy.sd.load_diffusion_model(path, model_options={"dtype": dtype})
        return patcher.model.diffusion_model


class LtxCore:
    """Lightricks ltx-core 1.0.0."""

    name = "ltx_core"

    def transformer(self, section: Mapping[str, Any], state: Mapping[str, torch.Tensor]) -> torch.nn.Module:
        from ltx_core.model.transformer.model_configurator import LTXModelConfigurator

        with torch.device("meta"):
            model = LTXModelConfigurator.from_config(dict(section))
        return assign_checked(model, strip(state, DIFFUSION_PREFIX, exclude=CONNECTOR_PREFIXES), what=self.name)

    def pass_fn(self, model: torch.nn.Module, inputs: PassInputs) -> Callable[[], Any]:
        from ltx_core.guidance.perturbations import BatchedPerturbationConfig
        from ltx_core.model.transformer.modality import Modality as RefModality

        known = {f.name for f in dataclasses.fields(RefModality)}  # ours may carry newer (LTX-2.5) fields

        def ref(m: Modality) -> Any:
            return RefModality(**{k: v for k, v in dataclasses.asdict(m).items() if k in known})

        def run() -> Any:
            video, audio = our_modalities(inputs)
            return model(ref(video), ref(audio), BatchedPerturbationConfig.empty(inputs.vlat.shape[0]))

        return run

    def outputs(self, result: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return result

    def vae(self, section: Mapping[str, Any], state: Mapping[str, torch.Tensor], device: str,
            dtype: torch.dtype) -> Any:
        from ltx_core.model.video_vae.model_configurator import VideoDecoderConfigurator

        model = VideoDecoderConfigurator.from_config(dict(section))
        mine = strip(state, VAE_PREFIX + "decoder.")
        stats = strip(state, VAE_PREFIX + "per_channel_statistics.")
        mine.update({"per_channel_statistics." + k: v for k, v in stats.items()})
        missing, unexpected = model.load_state_dict(mine, strict=False)
        # ltx-core has no buffers for the two unused statistics keys (its own loader passes them, non-strict)
        if [k for k in unexpected + missing if "per_channel_statistics" not in k]:
            raise RuntimeError(f"ltx_core VAE keys: missing {missing[:5]}, unexpected {unexpected[:5]}")
        return to_device(model, device, dtype)

    def decode(self, vae: Any, latent: torch.Tensor) -> torch.Tensor:
        return vae(latent)

    def decode_tiled(self, vae: Any, latent: torch.Tensor, tiling: Mapping[str, int]) -> torch.Tensor:
        from ltx_core.model.video_vae.tiling import SpatialTilingConfig as S
        from ltx_core.model.video_vae.tiling import TemporalTilingConfig as T
        from ltx_core.model.video_vae.tiling import TilingConfig as C

        config = C(S(tiling["px"], tiling["overlap_px"]), T(tiling["frames"], tiling["overlap_frames"]))
        b, _, f, h, w = latent.shape
        out = torch.empty(b, 3, 1 + 8 * (f - 1), 32 * h, 32 * w, device=latent.device, dtype=latent.dtype)
        first = 0
        for chunk in vae.tiled_decode(latent, config):  # a consumer writes the yielded frame ranges in order
            out[:, :, first : first + chunk.shape[2]] = chunk
            first += chunk.shape[2]
        return out

    def load(self, path: str, device: str, dtype: torch.dtype) -> torch.nn.Module:
        from ltx_core.loader.single_gpu_model_builder import SingleGPUModelBuilder
        from ltx_core.model.transformer.model_configurator import (
            LTXV_MODEL_COMFY_RENAMING_MAP,
            LTXModelConfigurator,
        )

        builder = SingleGPUModelBuilder(model_class_configurator=LTXModelConfigurator, model_path=path,
                                        model_sd_ops=LTXV_MODEL_COMFY_RENAMING_MAP)
        return builder.build(device=torch.device(device), dtype=dtype)


ADAPTERS: dict[str, Any] = {"ours": Ours(), "comfy_core": ComfyCore(), "ltx_core": LtxCore()}
