"""Latent upscalers: the loader, the spatial x2 node of the two-stage flow, spatial x1.5 and temporal x2.

The upscaler is ``ltx_model``'s :class:`LatentUpsampler` built from ``comfy.ops`` layers and returned as core's
``LATENT_UPSCALE_MODEL`` in the form the host's core uses (a plain module before ComfyUI 0.28.0, a model patcher
since: ``host_compat``), so core ``LTXVLatentUpsampler`` accepts it as well; the pack's nodes take either form and
run it under a model patcher (ComfyUI memory management), on the video part of an audio+video latent, with the
VAE's per-channel statistics (``ltx_model.upsampler.upsample_latent``). For the refine pass, sample the result
with the "distilled stage 2" schedule (distilled model, or a dev model with the distilled LoRA).

Node ids (inputs -> outputs):

* ``LTX2NUpscalerLoader`` (upscaler_name) -> upscale_model
* ``LTX2NUpscaleLatent`` (samples, upscale_model, vae) -> latent  (spatial x2)
* ``LTX2NUpscaleLatentX15`` (samples, upscale_model, vae) -> latent  (spatial x1.5: ``ceil(1.5 h)`` x
  ``ceil(1.5 w)`` latent cells)
* ``LTX2NUpscaleLatentTemporal`` (samples, upscale_model, vae, fps) -> latent, fps, frames  (temporal x2: ``F``
  latent frames -> ``2F - 1``, i.e. ``N`` video frames -> ``2N - 1`` at twice the frame rate, so the clip keeps its
  duration within one frame and the audio part passes through untouched)

Each node checks the upscaler's kind (a temporal file given to a spatial node is a clear error, not a silently
wrong video) and, before any work, the LTX generation (LTX-2.5 vs older, whose latent spaces differ): the VAE
against the latent's version tag (``conditioning.check_vae_family``) and the upscaler (its header's
``model_version``, else its file name: :func:`upscaler_origin`) against the latent's tag, else the VAE
(:func:`upscaler_family_problem`).
"""

from __future__ import annotations

import math
import os
import weakref
from dataclasses import replace
from typing import Any

import comfy.model_management
import comfy.model_patcher
import comfy.ops
import torch
from comfy_api.latest import io

from ..ltx_model.loading import Component, FileKind, detect, load_component, read_header
from ..ltx_model.modes import pixel_frames
from ..ltx_model.upsampler import UpsamplerKind, upsample_latent
from .conditioning import AVParts, check_vae_family
from .host_compat import upscaler_is_patcher
from .latent_formats import LATENT_VERSION_KEY
from .lora import NAME_FAMILY_HINTS
from .model_folders import listed_files, model_files, model_path, register_model_folder
from .model_loader import family_version
from .progress import HostProgress
from .schema import make_schema, not_listed
from .vae_host import VAEOrigin, is_ltx25_version, vae_origin

FOLDER = "latent_upscale_models"
register_model_folder(FOLDER)  # missing before ComfyUI v0.3.71; merged with extra_model_paths.yaml entries
# io.LatentUpscaleModel: present on both tested hosts (v0.20.1, v0.33.0); the release that added it could not be
# checked here (no ComfyUI history on this machine), so the fallback stays for older hosts down to README's 0.8.0.
LatentUpscaleModel = getattr(io, "LatentUpscaleModel", None) or io.Custom("LATENT_UPSCALE_MODEL")
ACTIVATION_COPIES = 4
_PATCHERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
mm = comfy.model_management


def upscaler_problem(path: str) -> str | None:
    """Why ``path`` is not a latent upscaler file (header only), or None."""
    try:
        info = detect(read_header(path))
    except ValueError as exc:
        return f"{os.path.basename(path)}: {exc}"
    if info.kind is not FileKind.UPSAMPLER:
        return f"{os.path.basename(path)} is not an LTX-2 latent upscaler (it looks like: {info.kind.value})"
    return None


ORIGIN_ATTR = "ltx2n_origin"
"""Attribute of an upscaler module loaded here holding its :class:`~.vae_host.VAEOrigin` (file, generation)."""


def upscaler_origin(path: str) -> VAEOrigin:
    """File name and ``model_version`` of an upscaler file: its header's (``vae_origin``), else the generation its
    file name gives (``ltx-2.5`` / ``ltx-2.3`` / ``22b``, as Lightricks names them: ``model_loader.family_version``),
    else None (unknown: never refused)."""
    origin = vae_origin(path)
    if origin.model_version is not None:
        return origin
    named = next((family for pattern, family in NAME_FAMILY_HINTS if pattern.search(origin.file)), None)
    return replace(origin, model_version=family_version(named))


def upscaler_family_problem(node: str, upscaler: Any, version: str | None, what: str) -> str | None:
    """Why ``upscaler`` (its :data:`ORIGIN_ATTR`) must not upscale a latent of ``what``'s ``model_version``
    ``version`` (LTX-2.5 vs older: different latent spaces), or None (same generation, or either side unknown)."""
    origin = getattr(upscaler_module(upscaler), ORIGIN_ATTR, None)
    if origin is None or not origin.model_version or not version or origin.ltx25 == is_ltx25_version(version):
        return None
    gen, other = ("LTX-2.5", "LTX-2 / LTX-2.3") if origin.ltx25 else ("LTX-2 / LTX-2.3", "LTX-2.5")
    return (f"{node}: the latent upscaler {origin.file} is an {gen} upscaler, but {what} is {other} (model_version "
            f"{version}); it was trained on the other latent space. Load the {other} upscaler (models/{FOLDER}) "
            f"in Load Latent Upscaler (LTX-2) instead.")


def check_upscale_family(node: str, samples: dict, upscaler: Any, vae: Any) -> None:
    """Refuse, before any work, a VAE or an upscaler of another LTX generation than the latent's version tag; the
    upscaler is compared with the VAE when the latent has no tag."""
    check_vae_family(node, vae, latent=samples)
    origin = getattr(vae, "origin", None)
    tagged = samples.get(LATENT_VERSION_KEY)
    version, what = (tagged, "the latent") if tagged else (
        getattr(origin, "model_version", None), f"the VAE {getattr(origin, 'file', '')}")
    problem = upscaler_family_problem(node, upscaler, version, what)
    if problem:
        raise ValueError(problem)


def _listable(path: str) -> bool:
    """The upscaler dropdown keeps upscalers and files whose header cannot be read (validation explains those)."""
    try:
        return detect(read_header(path)).kind is FileKind.UPSAMPLER
    except (ValueError, OSError):
        return True


# comfy.model_patcher.CoreModelPatcher (the patcher class core's loaders use; ModelPatcherDynamic under Dynamic
# VRAM): present on both tested hosts (v0.20.1, v0.33.0); as above, older hosts down to 0.8.0 keep the fallback.
class UpscalerPatcher(getattr(comfy.model_patcher, "CoreModelPatcher", comfy.model_patcher.ModelPatcher)):
    """The model patcher of an upscaler module; ``model_dtype`` is its weights' dtype (core reads it)."""

    def model_dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype


def upscaler_module(upscaler: Any) -> torch.nn.Module:
    """The upscaler module of a LATENT_UPSCALE_MODEL in either host form (a patcher or the module itself)."""
    return upscaler.model if isinstance(upscaler, comfy.model_patcher.ModelPatcher) else upscaler


def upscaler_patcher(upscaler: Any) -> Any:
    """The upscaler's model patcher (the one it came in, or one per module created on first use), so ComfyUI
    loads and offloads it."""
    if isinstance(upscaler, comfy.model_patcher.ModelPatcher):
        return upscaler
    if upscaler not in _PATCHERS:
        _PATCHERS[upscaler] = UpscalerPatcher(upscaler, load_device=mm.get_torch_device(),
                                              offload_device=mm.unet_offload_device())
    return _PATCHERS[upscaler]


def upscale_video(video: torch.Tensor, upscaler: Any, vae: Any) -> torch.Tensor:
    """Normalised video latent ``(B, 128, F, H, W)`` -> upscaled normalised latent on the intermediate device."""
    stats = getattr(getattr(vae, "first_stage_model", None), "per_channel_statistics", None)
    if stats is None:
        raise ValueError("this VAE has no LTX latent statistics: connect the LTX-2 video VAE")
    patcher, upscaler = upscaler_patcher(upscaler), upscaler_module(upscaler)
    weight = next(upscaler.parameters())
    # activations: a few mid-width copies at the upscaled size (x4 cells for spatial x2, the largest case)
    cells = video.shape[0] * math.prod(video.shape[2:]) * 4
    mm.load_models_gpu([patcher], memory_required=cells * upscaler.config.mid_channels * weight.element_size()
                       * ACTIVATION_COPIES)
    device = mm.get_torch_device()
    with torch.no_grad():
        out = upsample_latent(video.to(device=device, dtype=weight.dtype), upscaler,
                              mean=stats.get_buffer("mean-of-means"), std=stats.get_buffer("std-of-means"))
    return out.to(device=mm.intermediate_device(), dtype=video.dtype)


KIND_NAMES = {UpsamplerKind.SPATIAL_X2: "spatial x2", UpsamplerKind.SPATIAL_RATIONAL: "spatial x{scale:g}",
              UpsamplerKind.TEMPORAL_X2: "temporal x2", UpsamplerKind.SPATIOTEMPORAL_X2: "spatio-temporal x2"}


def upscaler_kind_name(upscaler: Any) -> str:
    """``"spatial x2"``, ``"spatial x1.5"``, ``"temporal x2"``, ... of an upscaler (module or patcher)."""
    config = getattr(upscaler_module(upscaler), "config", None)
    if config is None:
        return "unknown"
    return KIND_NAMES[config.kind].format(scale=float(config.spatial_scale))


def require_kind(upscaler: Any, wanted: str, node: str) -> None:
    """A clear error when ``upscaler`` is not of kind ``wanted`` (e.g. a temporal file in a spatial node)."""
    kind = upscaler_kind_name(upscaler)
    if kind != wanted:
        raise ValueError(f"{node} needs a {wanted} latent upscaler, but this one is {kind}: use the matching "
                         f"Upscale Latent node (x2, x1.5 or temporal x2)")


def upscaled_latent(samples: dict, upscaler: Any, vae: Any) -> dict:
    """The LATENT with its video part upscaled, audio kept as it is, noise masks dropped."""
    parts = AVParts.of(samples)
    video = upscale_video(parts.video, upscaler, vae)
    parts = replace(parts, video=video, video_mask=None, audio_mask=None)
    return parts.to_latent({k: v for k, v in samples.items() if k != "noise_mask"})


def _upscale_inputs(what: str) -> list[io.Input]:
    return [io.Latent.Input("samples", tooltip="Sampled latent (guide frames cropped)."),
            LatentUpscaleModel.Input("upscale_model", tooltip=f"A {what} upscaler from Load Latent Upscaler."),
            io.Vae.Input("vae", tooltip="The LTX-2 video VAE (its latent statistics are used).")]


class LTX2NUpscalerLoader(io.ComfyNode):
    """An LTX-2 latent upscaler (spatial x2 / x1.5, temporal x2) from models/latent_upscale_models."""

    DISPLAY_NAME = "Load Latent Upscaler (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="loaders",
            description="Loads an LTX-2 latent upscaler (e.g. ltx-2-spatial-upscaler-x2) with this pack's own "
                        "implementation; also usable with core LTXVLatentUpsampler.",
            inputs=[io.Combo.Input("upscaler_name", options=listed_files((FOLDER,), _listable),
                                   tooltip="Latent upscaler file (.safetensors) in models/latent_upscale_models.")],
            outputs=[LatentUpscaleModel.Output(display_name="upscale_model", tooltip="The latent upscaler.")],
        )

    @classmethod
    def validate_inputs(cls, upscaler_name: str | None = None) -> bool | str:
        if upscaler_name is None:
            return True  # linked input: checked in execute
        unlisted = not_listed("upscaler_name", upscaler_name, model_files(FOLDER), f"models/{FOLDER}")
        return unlisted or upscaler_problem(model_path(FOLDER, upscaler_name)) or True

    @classmethod
    def execute(cls, upscaler_name: str) -> io.NodeOutput:
        path = model_path(FOLDER, upscaler_name)
        problem = upscaler_problem(path)
        if problem:
            raise ValueError(problem)
        dtype = mm.vae_dtype(mm.get_torch_device(), [torch.bfloat16, torch.float32])
        module = load_component(path, Component.UPSAMPLER, dtype=dtype, operations=comfy.ops.disable_weight_init,
                                should_abort=HostProgress().check_interrupt)
        setattr(module, ORIGIN_ATTR, upscaler_origin(path))
        return io.NodeOutput(upscaler_patcher(module) if upscaler_is_patcher() else module)


class _SpatialUpscaleNode(io.ComfyNode):
    """Shared schema and execution of the spatial upscale nodes (subclasses set the upscaler kind and texts)."""

    DISPLAY_NAME: str
    UPSCALER_KIND: str
    SCHEMA_DESCRIPTION: str

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="latent", description=cls.SCHEMA_DESCRIPTION, inputs=_upscale_inputs(cls.UPSCALER_KIND),
            outputs=[io.Latent.Output(display_name="latent", tooltip="The upscaled latent.")],
        )

    @classmethod
    def execute(cls, samples: dict, upscale_model: Any, vae: Any) -> io.NodeOutput:
        require_kind(upscale_model, cls.UPSCALER_KIND, cls.DISPLAY_NAME)
        check_upscale_family(cls.DISPLAY_NAME, samples, upscale_model, vae)
        return io.NodeOutput(upscaled_latent(samples, upscale_model, vae))


class LTX2NUpscaleLatent(_SpatialUpscaleNode):
    """Upscale the video of an (audio+)video latent in latent space, for a second (refine) pass."""

    DISPLAY_NAME = "Upscale Latent x2 (LTX-2)"
    UPSCALER_KIND = "spatial x2"
    SCHEMA_DESCRIPTION = ("Upscales the video part of a latent with an LTX-2 latent upscaler (the audio part is "
                          "kept). Noise masks are dropped: re-apply image conditioning at the new size, then refine "
                          "with the 'distilled stage 2' schedule.")


class LTX2NUpscaleLatentX15(_SpatialUpscaleNode):
    """Upscale the video of an (audio+)video latent by 1.5 in width and height (LTX-2.3 x1.5 upscaler)."""

    DISPLAY_NAME = "Upscale Latent x1.5 (LTX-2)"
    UPSCALER_KIND = "spatial x1.5"
    SCHEMA_DESCRIPTION = ("Upscales the video part of a latent 1.5x in width and height (latent cells: ceil(1.5 "
                          "h) x ceil(1.5 w), so 768x512 -> 1152x768) with the LTX-2.3 spatial x1.5 upscaler; frames, "
                          "fps and the audio part are kept. Refine with the 'distilled stage 2' schedule.")


class LTX2NUpscaleLatentTemporal(io.ComfyNode):
    """Double the frame rate of an (audio+)video latent with the temporal x2 upscaler; the audio is untouched."""

    DISPLAY_NAME = "Upscale Latent Temporal x2 (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="latent",
            description="Doubles the frame rate: F latent frames become 2F - 1 (N video frames -> 2N - 1 at 2 x "
                        "fps, the same duration within one frame). The audio part passes through untouched. "
                        "Use the fps and frames outputs for Create Video.",
            inputs=[*_upscale_inputs("temporal x2"),
                    io.Float.Input("fps", default=24.0, min=1.0, max=240.0, step=1.0,
                                   tooltip="Frame rate of the input clip.")],
            outputs=[io.Latent.Output(display_name="latent", tooltip="Latent with 2F - 1 latent frames."),
                     io.Float.Output(display_name="fps", tooltip="The doubled frame rate."),
                     io.Int.Output(display_name="frames", tooltip="Video frames after decoding (2N - 1).")],
        )

    @classmethod
    def execute(cls, samples: dict, upscale_model: Any, vae: Any, fps: float) -> io.NodeOutput:
        require_kind(upscale_model, "temporal x2", cls.DISPLAY_NAME)
        check_upscale_family(cls.DISPLAY_NAME, samples, upscale_model, vae)
        out = upscaled_latent(samples, upscale_model, vae)
        latent_frames = AVParts.of(out).video.shape[2]
        return io.NodeOutput(out, fps * 2.0, pixel_frames(latent_frames))
