"""Load Video VAE and Decode Video: the video VAE of an LTX-2 / LTX-2.3 / LTX-2.5 file as a ComfyUI ``VAE``.

The loader picks the VAE class from the file's header: a single-file checkpoint, a standalone 2.x VAE or the
LTX-2.5 conv variant (``…-video-vae-conv-*``) load as :class:`~.vae_host.LTX2VideoVAE`; the LTX-2.5 diffusion-decoder
file (``…-video-vae-*``, ``CausalDiffusionVAE``) as :class:`~.vae_ltx25.LTX25VideoVAEHost`. Both are real
``comfy.sd.VAE`` objects, so core ``VAEDecode`` / ``VAEEncode`` and the LTXV nodes run them too.

Decode Video runs :func:`decode_video`, the one decode entry (tiles from free memory, progress, interrupt, OOM
retry; ``decode_steps`` / ``decode_seed`` reach the diffusion decoder and are ignored by conv decoders). Before any
heavy work it refuses a VAE of another generation than the latent (:func:`family_problem`): a latent carries its
model's ``model_version`` under :data:`LATENT_VERSION_KEY` once a node has tagged it (``latent_formats.tag_latent``;
the pack's samplers do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from comfy_api.latest import io

from ..ltx_model.loading import FilePart, read_header
from ..ltx_model.video_vae import ltx25_video_vae_kind
from .latent_formats import LATENT_VERSION_KEY
from .model_folders import listed_files
from .multi_gpu_vae import decode_on_devices
from .progress import HostProgress
from .schema import make_schema
from .vae_host import LTX2VideoVAE, VAEOrigin, is_ltx25_version, latent_part, load_model_file, vae_listable
from .vae_ltx25 import DEFAULT_DECODE_SEED, LTX25VideoVAEHost

VAE_FOLDERS = ("checkpoints", "vae")
"""LATENT dict key holding the ``model_version`` of the model that made (or will denoise) the latent."""
_NOT_VIDEO_VAE = (FilePart.AUDIO_VAE, FilePart.TRANSFORMER, FilePart.TEXT_ENCODER, FilePart.UPSAMPLER,
                  FilePart.LORA, FilePart.DURATION_HEAD)


def video_latent(samples: dict) -> torch.Tensor:
    """The video latent of a LATENT: the tensor itself, or the video part of an audio+video ``NestedTensor``."""
    return latent_part(samples, part=0, ndim=5,
                       error="Decode Video needs a video latent (B, 128, frames, height/32, width/32); got shape "
                             "{shape} (an audio latent? connect the video or audio+video latent)")


def load_video_vae(path: str) -> LTX2VideoVAE | LTX25VideoVAEHost:
    """The host VAE for a file: the LTX-2.5 diffusion decoder, or the conv VAE (every other video VAE)."""
    if ltx25_video_vae_kind(read_header(path)) == "diffusion":
        return LTX25VideoVAEHost(path)
    return LTX2VideoVAE(path)


def _listable(path: str) -> bool:
    return vae_listable(path, _NOT_VIDEO_VAE)


# ---------------------------------------------------------------------------------------------- family refusal
def family_problem(node: str, origin: VAEOrigin | None, version: str | None, what: str,
                   kind: str = "video") -> str | None:
    """Why a ``kind`` ("video" / "audio") VAE of ``origin`` must not be used with ``what`` of ``model_version``
    ``version`` (LTX-2.5 vs older), or None (same generation, or either side unknown)."""
    if origin is None or not version or origin.ltx25 == is_ltx25_version(version):
        return None
    if origin.ltx25:
        vae_gen, other_gen, fix = ("LTX-2.5", "LTX-2 / LTX-2.3",
                                   f"the {kind} VAE of the LTX-2 / LTX-2.3 checkpoint (models/checkpoints)")
    else:
        vae_gen, other_gen, fix = ("LTX-2 / LTX-2.3", "LTX-2.5",
                                   f"the LTX-2.5 {kind} VAE (models/vae/ltx-2.5-{kind}-vae-*.safetensors)")
    return (f"{node}: the {kind} VAE {origin.file} is an {vae_gen} VAE, but {what} is {other_gen} (model_version "
            f"{version}); their latent spaces differ. Load {fix} in the VAE loader instead.")


def check_family(node: str, vae: Any, version: str | None, what: str, kind: str = "video") -> None:
    """Raise ValueError(:func:`family_problem`) when ``vae`` (one of this pack's) does not fit ``version``."""
    problem = family_problem(node, getattr(vae, "origin", None), version, what, kind)
    if problem:
        raise ValueError(problem)


# ---------------------------------------------------------------------------------------------- decode entry
@dataclass(frozen=True)
class DecodeOptions:
    """What Decode Video passes to :func:`decode_video` (extend here). ``steps`` 0 = the file's default; ``steps``
    and ``seed`` only reach a diffusion decoder; ``devices`` (a Multi-GPU device list, "" = this device) spreads the
    tiles over the multi-GPU workers (:func:`~.multi_gpu_vae.decode_on_devices`)."""

    steps: int = 0
    seed: int = DEFAULT_DECODE_SEED
    devices: str = ""


def decode_video(vae: Any, latent: torch.Tensor, options: DecodeOptions, progress: HostProgress) -> torch.Tensor:
    """Latent (B, 128, T, h, w) -> IMAGE (B * frames, H, W, 3) with any VAE: ours tile from free memory and retry
    after an OOM; another host VAE runs core's own decode (which tiles on OOM itself)."""
    if options.devices.strip():
        images = decode_on_devices(vae, latent, options.devices, progress, VAE_FOLDERS)
        if images is not None:  # None: 'auto' with fewer than 2 GPUs, decoded here as usual
            return images
    if isinstance(vae, LTX25VideoVAEHost):
        return vae.decode_video(latent, progress, steps=options.steps, seed=options.seed)
    if isinstance(vae, LTX2VideoVAE):
        return vae.decode_video(latent, progress)
    images = vae.decode(latent)
    return images.reshape(-1, *images.shape[-3:])


# ---------------------------------------------------------------------------------------------- nodes
class LTX2NVideoVAELoader(io.ComfyNode):
    """The video VAE of an LTX-2 / LTX-2.3 / LTX-2.5 file as a ComfyUI VAE (works with core VAE and LTXV nodes)."""

    DISPLAY_NAME = "Load Video VAE (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls,
            group="loaders",
            description="Loads the video VAE from an LTX-2 / LTX-2.3 single-file checkpoint (models/checkpoints), "
                        "a standalone video VAE file (models/vae), or an LTX-2.5 video VAE (models/vae: "
                        "ltx-2.5-video-vae-* with the diffusion decoder, or ltx-2.5-video-vae-conv-*) with this "
                        "pack's own implementation.",
            inputs=[io.Combo.Input("vae_name", options=listed_files(VAE_FOLDERS, _listable),
                                   tooltip="Single-file LTX-2 / LTX-2.3 checkpoint (models/checkpoints), or a "
                                           "standalone video VAE (models/vae), e.g. LTX-2.5's "
                                           "ltx-2.5-video-vae-bf16.safetensors. Files whose header shows another "
                                           "part (audio VAE, transformer, LoRA, ...) are not listed.")],
            outputs=[io.Vae.Output(display_name="vae", tooltip="The video VAE; also usable with core VAE Decode, "
                                                               "VAE Encode and the LTXV nodes.")],
        )

    @classmethod
    def execute(cls, vae_name: str) -> io.NodeOutput:
        return io.NodeOutput(load_model_file(load_video_vae, vae_name, VAE_FOLDERS, "video VAE"))


class LTX2NDecodeVideo(io.ComfyNode):
    """Latent -> video frames with automatic tiling sized from free memory."""

    DISPLAY_NAME = "Decode Video (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls,
            group="decode",
            description="Decodes a video latent (or the video part of an audio+video latent) to frames. Tiles are "
                        "chosen from the free memory and retried smaller after an out-of-memory error. An LTX-2.5 "
                        "diffusion VAE denoises the frames in decode_steps seeded steps.",
            inputs=[
                io.Latent.Input("samples", tooltip="Video latent, or audio+video latent (its video part is decoded)."),
                io.Vae.Input("vae", tooltip="The video VAE from Load Video VAE (LTX-2)."),
                io.Int.Input("decode_steps", default=0, min=0, max=100, optional=True,
                             tooltip="LTX-2.5 diffusion VAE only: denoising steps of the decoder; 0 = the file's "
                                     "default (2 for LTX-2.5). More steps take longer. Ignored by conv decoders "
                                     "(LTX-2, LTX-2.3, LTX-2.5 conv)."),
                io.Int.Input("decode_seed", default=DEFAULT_DECODE_SEED, min=0, max=0xFFFFFFFFFFFFFFFF, optional=True,
                             tooltip="LTX-2.5 diffusion VAE only: seed of the decoder's noise (the same seed "
                                     "decodes the same frames). Ignored by conv decoders."),
                io.String.Input("devices", default="", optional=True,
                                tooltip="Multi-GPU: empty = decode on this device; 'auto' (every GPU) or a list such "
                                        "as cuda:0,cuda:1 spreads the decode tiles over those GPUs (the workers of "
                                        "Multi-GPU (LTX-2)), same frames as one GPU. Conv VAEs only."),
            ],
            outputs=[io.Image.Output(display_name="images", tooltip="Decoded frames, batch x frames images.")],
        )

    @classmethod
    def execute(cls, samples: dict, vae: Any, decode_steps: int = 0,
                decode_seed: int = DEFAULT_DECODE_SEED, devices: str = "") -> io.NodeOutput:
        latent = video_latent(samples)
        check_family(cls.DISPLAY_NAME, vae, samples.get(LATENT_VERSION_KEY), "the latent")
        options = DecodeOptions(steps=decode_steps, seed=decode_seed, devices=devices)
        return io.NodeOutput(decode_video(vae, latent, options, HostProgress()))


