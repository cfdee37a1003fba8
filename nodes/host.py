"""The pack's bridge into ComfyUI's diffusion-model machinery.

Latent formats, the audio+video latent container, the ``BaseModel`` wrapper around ``ltx_model``'s transformer
(with the text connectors when the checkpoint has them), the checkpoint loader with its :class:`ModelFacts`
(family / variant, for the defaults of the sampling nodes), header-only validation and model-folder helpers. The
MODEL is built here only; other node modules use ComfyUI's sampling / patcher APIs on it (VAE modules build their
own ``comfy.sd.VAE`` objects).
"""

from __future__ import annotations

import importlib
import math
import os
from dataclasses import dataclass
from typing import Any

import comfy.conds
import comfy.latent_formats
import comfy.model_base
import comfy.model_management
import comfy.model_patcher
import comfy.supported_models_base
import comfy.utils
import folder_paths
import torch

from ..ltx_model.audio import AudioVAEConfig
from ..ltx_model.audio.geometry import audio_latent_frames_for_video, audio_latent_shape
from ..ltx_model.loading import Component, Family, FileKind, Variant, detect, read_header
from ..ltx_model.loading.build import ComponentSource, check_keys, component_source
from ..ltx_model.loading.registry import make_config
from ..ltx_model.sampling import (
    SamplingDefaults,
    defaults_for_version,
    patchify_audio,
    patchify_video,
    timesteps_from_mask,
)
from .diffusion import REFERENCES_KEY, HostTransformer
from .previews import VIDEO_RGB_BIAS, VIDEO_RGB_FACTORS, preview_frame
from .progress import HostProgress
from .weights import apply_precision_table, plan_weights, stream_weights


class LTX2VideoLatentFormat(comfy.latent_formats.LatentFormat):
    """Video latent ``(B, 128, F, H/32, W/32)``; ``F = 1 + (frames - 1) / 8``. Values are already normalised by the
    VAE's per-channel statistics, so ``process_in``/``process_out`` are the identity (scale 1)."""

    latent_channels = 128
    latent_dimensions = 3
    spacial_downscale_ratio = 32
    temporal_downscale_ratio = 8
    latent_rgb_factors = VIDEO_RGB_FACTORS  # latent2rgb previews (nodes/previews.py says where they come from)
    latent_rgb_factors_bias = VIDEO_RGB_BIAS
    latent_shapes = None  # packed parts of the running sampling run (set by LTX2Model.extra_conds), for previews

    def latent_rgb_factors_reshape(self, x0: torch.Tensor) -> torch.Tensor:
        """Preview input: the video part's middle latent frame ``(B, 128, H, W)`` (``previews.preview_frame``)."""
        return preview_frame(x0, self.latent_shapes)


class LTX2AudioLatentFormat(comfy.latent_formats.LatentFormat):
    """Audio latent ``(B, 8, T, 16)``: 8 channels, ``T`` = 25 latents per second, 16 mel-bin groups."""

    latent_channels = 8
    latent_dimensions = 2


@dataclass(frozen=True)
class AVLatentGeometry:
    """Sizes of one audio+video clip. ``width``/``height`` in pixels, ``frames`` video frames, ``fps`` frames/s;
    ``two_stage``: the sizes are the final size of a generation whose first stage runs at half width and height."""

    width: int
    height: int
    frames: int
    fps: float
    two_stage: bool = False

    def problem(self) -> str | None:
        """A user-facing explanation when the sizes cannot be encoded exactly, else None."""
        v = LTX2VideoLatentFormat
        multiple = v.spacial_downscale_ratio * (2 if self.two_stage else 1)
        if self.width < multiple or self.height < multiple:
            return f"width and height must be at least {multiple} (got {self.width}x{self.height})"
        if self.width % multiple or self.height % multiple:
            stages = " for a two-stage generation" if self.two_stage else ""
            return f"width and height must be multiples of {multiple}{stages} (got {self.width}x{self.height})"
        if self.frames < 1 or (self.frames - 1) % v.temporal_downscale_ratio:
            # Ties round up, as the front-end snapping does (101 -> 105).
            k = max(0, math.floor((self.frames - 1) / v.temporal_downscale_ratio + 0.5))
            return (f"frames must be 1 + 8k (1, 9, 17, ..., 97, 121); got {self.frames}, "
                    f"nearest valid: {1 + v.temporal_downscale_ratio * k}")
        if not self.fps > 0:
            return f"fps must be > 0 (got {self.fps})"
        return None

    def first_stage(self) -> AVLatentGeometry:
        """The geometry the first stage samples at (half width and height for two stages)."""
        if not self.two_stage:
            return self
        return AVLatentGeometry(self.width // 2, self.height // 2, self.frames, self.fps)

    def video_shape(self, batch: int) -> tuple[int, int, int, int, int]:
        """``(B, 128, F, H/32, W/32)``."""
        v = LTX2VideoLatentFormat
        return (batch, v.latent_channels, 1 + (self.frames - 1) // v.temporal_downscale_ratio,
                self.height // v.spacial_downscale_ratio, self.width // v.spacial_downscale_ratio)

    def audio_shape(self, batch: int) -> tuple[int, int, int, int]:
        """``(B, 8, T, 16)`` with ``T = round(frames / fps * 25)`` as Lightricks' pipelines size it."""
        config = AudioVAEConfig()  # the released audio VAE geometry (same for LTX-2 and LTX-2.3)
        return audio_latent_shape(batch, audio_latent_frames_for_video(self.frames, self.fps, config), config)


def nested_tensor_class() -> type:
    """``comfy.nested_tensor.NestedTensor`` (ComfyUI >= 0.3.67); a clear error on older hosts."""
    try:
        return importlib.import_module("comfy.nested_tensor").NestedTensor
    except ImportError as exc:
        raise RuntimeError("audio+video latents need ComfyUI >= 0.3.67 (comfy.nested_tensor is missing)") from exc


def empty_av_latent(geometry: AVLatentGeometry, batch: int) -> dict:
    """A LATENT dict ``{"samples": NestedTensor((video, audio))}`` of zeros on ComfyUI's intermediate device.

    The sampler derives ``latent_shapes`` from the nested parts, exactly as for core's ``LTXVConcatAVLatent``.
    """
    device = comfy.model_management.intermediate_device()
    video = torch.zeros(geometry.video_shape(batch), device=device)
    audio = torch.zeros(geometry.audio_shape(batch), device=device)
    return {"samples": nested_tensor_class()((video, audio))}


# Peak activation memory per token and hidden channel, in units of the compute dtype's size: residual stream, norms,
# q/k/v/out, the 4x feed-forward (in and out) and cross-modal attention, with SDPA's memory-efficient kernels.
ACTIVATION_UNITS_PER_TOKEN_CHANNEL = 24
FEATURES_PER_TOKEN = 128  # video: 128 channels per latent cell; audio: 8 channels x 16 mel bins


class LTX2Model(comfy.model_base.BaseModel):
    """``BaseModel`` around :class:`HostTransformer` (flow matching, ``ModelType.FLUX`` like core LTXV/LTXAV).

    Audio+video latents travel packed; ``latent_shapes`` (from the sampler) unpacks ``x`` and the denoise mask
    into the video and audio parts, exactly as core's LTXAV contract.
    """

    def __init__(self, model_config: Any, model_type: Any = comfy.model_base.ModelType.FLUX, device: Any = None):
        super().__init__(model_config, model_type, device=device, unet_model=HostTransformer)

    def extra_conds(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("unprocessed_ltxav_embeds") and kwargs.get("cross_attn") is not None:
            # core LTXAVTextEncoderLoader + CLIPTextEncode: projected Gemma features; run our connectors once per
            # sampling run (as core's LTXAV does); the result has no padding, so any text mask is dropped
            features = kwargs["cross_attn"].to(device=kwargs["device"], dtype=self.get_dtype_inference())
            kwargs = {**kwargs, "cross_attn": self.diffusion_model.process_text_embeds(features),
                      "attention_mask": None}
        out = super().extra_conds(**kwargs)
        self.latent_format.latent_shapes = kwargs.get("latent_shapes")  # how previews unpack the packed x0
        conds = {"attention_mask": comfy.conds.CONDRegular, "cross_attn": comfy.conds.CONDRegular,
                 "keyframe_idxs": comfy.conds.CONDRegular, "latent_shapes": comfy.conds.CONDConstant,
                 "guide_attention_entries": comfy.conds.CONDConstant,
                 REFERENCES_KEY: comfy.conds.CONDConstant,  # IC-LoRA references (diffusion.VideoReferences)
                 "ref_audio": comfy.conds.CONDConstant}  # core LTXVReferenceAudio's {"tokens": (B, T_ref, C*M)}
        for key, cond in conds.items():
            if kwargs.get(key) is not None:
                out["c_crossattn" if key == "cross_attn" else key] = cond(kwargs[key])
        out["frame_rate"] = comfy.conds.CONDConstant(kwargs.get("frame_rate", 25))
        video_mask, audio_mask = _split_mask(kwargs.get("concat_mask", kwargs.get("denoise_mask")),
                                             kwargs.get("latent_shapes"))
        if video_mask is not None:
            out["denoise_mask"] = comfy.conds.CONDRegular(video_mask)
        if audio_mask is not None:
            out["audio_denoise_mask"] = comfy.conds.CONDRegular(audio_mask)
        return out

    def process_timestep(self, timestep: torch.Tensor, x: Any = None, denoise_mask: torch.Tensor | None = None,
                         audio_denoise_mask: torch.Tensor | None = None, **kwargs: Any) -> tuple:
        """``(video_t, audio_t, video_sigma, audio_sigma)``: per-token ``mask * sigma`` ``(B, T)`` where a mask
        exists (else the ``(B,)`` sigma). A stream whose mask is all zero is frozen and gets sigma 0 (HEAD
        ltx-core ``modality_from_latent_state``; 1.0.0 passed the global sigma)."""
        sigma = timestep.reshape(-1)
        v_t = a_t = sigma
        v_sigma = a_sigma = sigma
        if denoise_mask is not None:
            v_t = _mask_timesteps(patchify_video(denoise_mask[:, :1]), sigma)
            v_sigma = _frozen_to_zero(v_t, sigma)
        if audio_denoise_mask is not None:
            a_t = _mask_timesteps(patchify_audio(audio_denoise_mask[:, :1, :, :1]), sigma)
            a_sigma = _frozen_to_zero(a_t, sigma)
        return v_t, a_t, v_sigma, a_sigma

    def scale_latent_inpaint(self, sigma: Any, noise: Any, latent_image: Any, **kwargs: Any) -> Any:
        # Conditioning frames are kept clean (their per-token timestep is 0), never re-noised.
        return latent_image

    def memory_required(self, input_shape: Any, cond_shapes: Any = None) -> float:
        """Bytes of activations for one forward: tokens x hidden width x dtype size x a fixed factor.

        ``input_shape`` is the (possibly packed ``(B, 1, N)``) noise shape with the CFG batch already multiplied in.
        """
        tokens = _token_count(tuple(input_shape))
        config = self.diffusion_model.config
        width = config.video_inner_dim if config.kind.has_video else config.audio_inner_dim  # audio-only MODEL
        dtype_size = comfy.model_management.dtype_size(self.get_dtype_inference())
        return tokens * width * dtype_size * ACTIVATION_UNITS_PER_TOKEN_CHANNEL


def _token_count(shape: tuple[int, ...]) -> int:
    """Transformer tokens of a noise shape: packed ``(B, 1, N)`` -> ``B * N / 128``; grid ``(B, C, ...)`` -> cells."""
    if len(shape) == 3 and shape[1] == 1:
        return shape[0] * math.ceil(shape[2] / FEATURES_PER_TOKEN)
    return shape[0] * math.prod(shape[2:])


def _split_mask(mask: Any, latent_shapes: Any) -> tuple[Any, Any]:
    """The packed denoise mask -> (video mask, audio mask); without ``latent_shapes`` it is the video mask."""
    if mask is None or latent_shapes is None:
        return mask, None
    parts = comfy.utils.unpack_latents(mask, latent_shapes)
    return parts[0], (parts[1] if len(parts) > 1 else None)


def _mask_timesteps(token_mask: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``(B, T, 1)`` token mask and ``(B,)`` sigma -> ``(B, T)`` timesteps."""
    return timesteps_from_mask(token_mask, sigma.view(-1, 1, 1)).squeeze(-1)


def _frozen_to_zero(token_t: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-sample sigma, 0 where every token of the stream is clean (frozen stream)."""
    return torch.where(token_t.amax(dim=1) > 0, sigma, torch.zeros_like(sigma))


class LTX2ModelConfig(comfy.supported_models_base.BASE):
    """Model config (``supported_models_base.BASE``) for a pack-built LTX-2 / LTX-2.3 transformer."""

    unet_config = {"image_model": "ltx2_native"}
    unet_extra_config = {}
    sampling_settings = {"shift": 2.37}
    latent_format = LTX2VideoLatentFormat
    memory_usage_factor = 1.0
    supported_inference_dtypes = [torch.bfloat16, torch.float32]
    vae_key_prefix = ["vae."]

    def get_model(self, state_dict: Any = None, prefix: str = "", device: Any = None) -> LTX2Model:
        return LTX2Model(self, device=device)


def attention_function() -> Any:
    """ComfyUI's attention dispatcher (honours ``--use-sage-attention`` and attention overrides), or None."""
    try:
        return importlib.import_module("comfy.ldm.modules.attention").optimized_attention
    except (ImportError, AttributeError):
        return None


_STORAGE_DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32,
                   "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2}


@dataclass(frozen=True)
class ModelFacts:
    """What the checkpoint header says about a loaded model: family, variant (dev / distilled), version."""

    family: Family
    variant: Variant
    model_version: str | None
    num_layers: int

    def defaults(self) -> SamplingDefaults:
        """ltx-pipelines' defaults for this version (steps, per-modality guidance, STG blocks)."""
        return defaults_for_version(self.model_version or ("2.3" if self.family is Family.LTX23_22B else None))

    @property
    def distilled(self) -> bool:
        """Whether this is a distilled model (no guidance, fixed 8-step sigmas)."""
        return self.variant is Variant.DISTILLED


def model_facts(model: Any) -> ModelFacts | None:
    """The :class:`ModelFacts` of a MODEL (patcher) loaded by this pack; None for any other model."""
    base = getattr(model, "model", None)
    config = getattr(getattr(base, "model_config", None), "unet_config", None)
    return config.get("ltx2_facts") if isinstance(config, dict) else None


def checkpoint_problem(path: str) -> str | None:
    """Why ``path`` cannot be loaded as an LTX-2 model, from its header alone (cheap; for validation), or None."""
    try:
        info = detect(read_header(path))
    except ValueError as exc:
        return f"{os.path.basename(path)} is not a loadable LTX-2 checkpoint: {exc}"
    name = os.path.basename(path)
    if info.kind is not FileKind.MODEL or Component.TRANSFORMER not in info.components:
        return f"{name} is not an LTX-2 model checkpoint (it looks like: {info.kind.value})"
    if info.family not in (Family.LTX2_19B, Family.LTX23_22B):
        return f"{name} is not an LTX-2 / LTX-2.3 checkpoint (family: {info.family.value}; {info.evidence})"
    return None


def _model_source(path: str, kind: str | None = None) -> tuple[ComponentSource, Any, Any, ModelFacts]:
    """Transformer (+ text connectors when present) keys of a file, their configs and the file's facts.
    ``kind``: build the transformer as this ``ModelKind`` name (``"AUDIO_ONLY"``: video keys are not read)."""
    header = read_header(path)
    info = detect(header)
    source = component_source(header, Component.TRANSFORMER, kind=kind)
    keys, text = dict(source.keys), None
    try:
        config = make_config(Component.TRANSFORMER, header.config(), set(header.keys()), choices=source.choices())
        if Component.CONNECTORS in info.components:
            connectors = component_source(header, Component.CONNECTORS)
            text = make_config(Component.CONNECTORS, header.config(), set(header.keys()))
            keys.update(connectors.keys)
    except KeyError as exc:  # a missing metadata section
        raise ValueError(str(exc.args[0])) from None
    facts = ModelFacts(info.family, info.variant, info.model_version, config.num_layers)
    return ComponentSource(header, Component.TRANSFORMER, keys, source.kind), config, text, facts


def load_transformer(path: str, weight_dtype: str = "default", *, kind: str | None = None) -> Any:
    """Load the transformer (and its text connectors, when the file has them) of an LTX-2 single-file or
    transformer-only checkpoint as a ComfyUI MODEL patcher.

    Strict: the file's keys and shapes must equal the model built from its metadata config (one clear error
    otherwise). Only these components' byte ranges are read, one tensor at a time (``weights.stream_weights``).
    ``weight_dtype``: storage option (``weights.WEIGHT_DTYPES``: default / fp8_e4m3fn / fp8_e4m3fn_fast / fp8_e5m2 /
    bf16); with fp8 storage the parameters of ``ltx_model.precision``'s table keep the compute dtype.
    ``kind``: ``"AUDIO_ONLY"`` loads only the audio stream of an audio+video file (text-to-audio; the video and
    cross-modal weights are never read); None = every stream in the file.
    """
    source, config, text, facts = _model_source(path, kind)
    infos = [source.header.tensors[k] for k in source.keys.values()]
    storage = max(_STORAGE_DTYPES, key=lambda d: sum(i.nbytes for i in infos if i.dtype == d))
    model_config = LTX2ModelConfig({"image_model": "ltx2_native", "transformer": config, "text": text,
                                    "attention_fn": attention_function(), "ltx2_facts": facts})
    mm = comfy.model_management
    params = sum(i.numel for i in infos)
    plan = plan_weights(weight_dtype, file_dtype=_STORAGE_DTYPES[storage], params=params,
                        supported=model_config.supported_inference_dtypes)
    model_config.set_inference_dtype(plan.weight_dtype, plan.manual_cast)
    model_config.optimizations["fp8"] = plan.fp8_matmul  # fp8 matmul only where pick_operations finds fp8 compute
    model = model_config.get_model(device=mm.unet_inital_load_device(params, plan.weight_dtype))
    apply_precision_table(model.diffusion_model, plan)
    check_keys(source, model.diffusion_model)
    patcher_cls = getattr(comfy.model_patcher, "CoreModelPatcher", comfy.model_patcher.ModelPatcher)
    patcher = patcher_cls(model, load_device=mm.get_torch_device(), offload_device=mm.unet_offload_device())
    stream_weights(model.diffusion_model, source, assign=bool(getattr(patcher, "is_dynamic", lambda: False)()),
                   should_abort=HostProgress().check_interrupt)  # Cancel stops the load between tensors
    return patcher


def register_model_folder(kind: str) -> None:
    """Make sure ComfyUI knows model folder ``kind`` (``latent_upscale_models`` is missing before v0.3.71).

    Merges with whatever ``extra_model_paths.yaml`` already registered: keeps its paths, adds ``models/<kind>`` and
    the standard model extensions (a bare ``add_model_folder_path`` would list every file).
    """
    default_dir = os.path.join(folder_paths.models_dir, kind)
    paths, extensions = folder_paths.folder_names_and_paths.get(kind, ([], set()))
    if default_dir not in paths:
        paths = [*paths, default_dir]
    folder_paths.folder_names_and_paths[kind] = (paths, set(extensions) | set(folder_paths.supported_pt_extensions))


def model_files(kind: str) -> list[str]:
    """File names in ComfyUI's model folder ``kind`` (``checkpoints``, ``diffusion_models``, ...)."""
    return folder_paths.get_filename_list(kind)


def model_path(kind: str, name: str) -> str:
    """Full path of ``name`` in model folder ``kind``; a clear error when it is not there."""
    return folder_paths.get_full_path_or_raise(kind, name)
