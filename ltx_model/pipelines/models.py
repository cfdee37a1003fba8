"""The components a generation needs, loaded strictly via ``ltx_model.loading``: from a single-file LTX-2 / LTX-2.3
checkpoint, or from the split files of LTX-2.5 (a folder, or explicit paths).

The family comes from the files themselves: a folder, or a transformer file that holds only the transformer part
(:class:`~ltx_model.loading.FilePart`), is a split model; the text encoder (Gemma 4 + bundled projection), video
VAE, audio VAE + vocoder and the optional duration head / upscaler are then separate files (:class:`ModelFiles`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch

from .. import layers
from ..audio import AudioVAE, Vocoder
from ..duration import DurationHead, load_duration_head
from ..loading import Component, FilePart, SplitModelError, Variant, detect, load_component, read_header
from ..loading.keymaps import is_bare_video_vae
from ..loading.split import open_split_model
from ..text import EmbeddingsConnectors, TextProjection, check_split_text_encoder, load_split_text_projection
from ..transformer import LTXTransformer
from ..upsampler import LatentUpsampler
from ..video_vae import VideoVAE
from ..video_vae.ltx25 import LTX25VideoVAE, build_ltx25_video_vae

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class ModelFiles:
    """Where each part of a model is read from.

    Attributes:
        transformer: the single-file checkpoint, or the split transformer file (+ text connectors).
        text_encoder: split models: the Gemma 4 text-encoder file with the bundled projection (None: single file).
        video_vae, audio_vae: split models: the video VAE and the audio VAE + vocoder files.
        upsampler: optional latent upsampler file.
        duration_head: optional duration-head file (split models; predicts a clip length from the prompt).
    """

    transformer: Path
    text_encoder: Path | None = None
    video_vae: Path | None = None
    audio_vae: Path | None = None
    upsampler: Path | None = None
    duration_head: Path | None = None

    @property
    def split(self) -> bool:
        """Whether the parts come from separate files (LTX-2.5)."""
        return self.video_vae is not None


_SPLIT_REQUIRED = ("text_encoder", "video_vae", "audio_vae")


def _folder_files(folder: Path, variant: Variant | None) -> dict[str, Path | None]:
    """The parts of a split-model folder (every header checked by :func:`~ltx_model.loading.open_split_model`)."""
    model = open_split_model(folder)

    def one(part: FilePart) -> Path | None:
        path = model.part_path(part, variant=variant, required=False)
        return None if path is None else Path(path)

    upsamplers = [i for i in model.part(FilePart.UPSAMPLER) if str(i.upsampler_kind).startswith("spatial x2")]
    return {"transformer": Path(model.part_path(FilePart.TRANSFORMER, variant=variant or Variant.DISTILLED)),
            "text_encoder": one(FilePart.TEXT_ENCODER), "video_vae": one(FilePart.VIDEO_VAE),
            "audio_vae": one(FilePart.AUDIO_VAE), "duration_head": one(FilePart.DURATION_HEAD),
            "upsampler": Path(upsamplers[0].path) if len(upsamplers) == 1 else None}


def model_files(path: PathLike, *, variant: Variant | None = None, **overrides: PathLike | None) -> ModelFiles:
    """Resolve the files of a model from ``path`` (a single file, a split transformer file or a split folder).

    Args:
        path: the checkpoint file, the split transformer file, or a folder of split files.
        variant: which transformer of a folder holding dev and distilled ones (default: distilled).
        overrides: explicit paths (``text_encoder=``, ``video_vae=``, ``audio_vae=``, ``upsampler=``,
            ``duration_head=``) that replace the folder's.
    Raises:
        SplitModelError: a split transformer file without the text-encoder / video VAE / audio VAE paths, or a bad
            folder (one line naming the file or the missing part).
    """
    path = Path(path)
    known = {f.name for f in fields(ModelFiles)} - {"transformer"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"unknown model file(s): {unknown}; known: {sorted(known)}")
    given = {k: Path(v) for k, v in overrides.items() if v is not None}
    if path.is_dir():
        return ModelFiles(**{**_folder_files(path, variant), **given})
    files = ModelFiles(path, **given)
    if detect(read_header(path)).part is FilePart.TRANSFORMER:
        missing = [name for name in _SPLIT_REQUIRED if getattr(files, name) is None]
        if missing:
            raise SplitModelError(f"{path}: a split LTX-2.5 transformer file; also give the {', '.join(missing)} "
                                  "file(s), or the folder that holds every part")
    return files


@dataclass
class PipelineModels:
    """Loaded modules of one model (all on one device, one dtype).

    Attributes:
        transformer: the diffusion transformer (predicts velocities).
        video_vae: video encoder (image conditioning) + decoder (:class:`LTX25VideoVAE`: the LTX-2.5 diffusion
            decoder, seeded).
        audio_vae: audio VAE (its decoder turns latents into log-mel spectrograms).
        vocoder: log-mel → waveform at ``vocoder.sample_rate``.
        text_projection, connectors: the text path after Gemma (None when only precomputed contexts are used).
        upsampler: optional spatial latent upsampler (separate file).
        model_version: the transformer file's ``model_version`` metadata (None if absent).
        duration_head: optional LTX-2.5 duration head (suggests a frame count from the prompt's contexts).
        files: where the parts came from (the split text-encoder file is the Gemma of :func:`encode_text`).
    """

    transformer: LTXTransformer
    video_vae: VideoVAE | LTX25VideoVAE
    audio_vae: AudioVAE
    vocoder: Vocoder
    text_projection: TextProjection | None = None
    connectors: EmbeddingsConnectors | None = None
    upsampler: LatentUpsampler | None = None
    model_version: str | None = None
    duration_head: DurationHead | None = None
    files: ModelFiles | None = None

    @property
    def dtype(self) -> torch.dtype:
        """Compute dtype of the transformer (latents are kept in it between steps)."""
        return next(self.transformer.parameters()).dtype

    @property
    def device(self) -> torch.device:
        """Device of the transformer."""
        return next(self.transformer.parameters()).device


def load_video_vae(path: PathLike, **kw: Any) -> VideoVAE | LTX25VideoVAE:  # noqa: ANN401
    """A video VAE from its own file: the split form (no ``vae.`` prefix) through the LTX-2.5 loader (diffusion or
    conv decoder), a ``vae.``-prefixed file through the single-file key table."""
    if is_bare_video_vae(read_header(path).keys()):
        return build_ltx25_video_vae(path, dtype=kw["dtype"], device=kw["device"])
    return load_component(path, Component.VIDEO_VAE, **kw)


def load_pipeline_models(
    checkpoint: PathLike | ModelFiles,
    *,
    dtype: torch.dtype = torch.bfloat16,
    device: str | torch.device = "cpu",
    upsampler: PathLike | None = None,
    with_text: bool = True,
    operations: Any = layers,  # noqa: ANN401
) -> PipelineModels:
    """Load every component strictly: a single-file LTX-2 / LTX-2.3 checkpoint, or an LTX-2.5 split model.

    Args:
        checkpoint: the ``.safetensors`` file, a folder of split files, or resolved :class:`ModelFiles`
            (:func:`model_files`: explicit split paths).
        dtype: compute dtype (the reference runs bf16; parity tests use float32).
        device: where the weights go.
        upsampler: optional latent upsampler file (default for a split folder: its spatial x2 upscaler).
        with_text: also load the text projection and connectors (needed to encode prompts).
        operations: layer namespace forwarded to every module (the LTX-2.5 video VAE uses plain torch layers).
    Raises:
        GemmaVersionError: the split text encoder is not the Gemma the transformer needs (names both files); checked,
            with every header, before any weight is read.
    """
    files = checkpoint if isinstance(checkpoint, ModelFiles) else model_files(checkpoint)
    if upsampler is not None:
        files = replace(files, upsampler=Path(upsampler))
    if files.split:
        check_split_text_encoder(files.transformer, files.text_encoder)
    header = read_header(files.transformer)
    kw = {"dtype": dtype, "device": device, "operations": operations}

    def load(component: Component, source: Any = header) -> Any:  # noqa: ANN401
        return load_component(source, component, **kw)

    split = files.split
    audio = files.audio_vae if split else header
    projection = None
    if with_text:
        projection = (load_split_text_projection(files.transformer, files.text_encoder, dtype=dtype, device=device)
                      if split else load(Component.TEXT_PROJECTION))
    return PipelineModels(
        transformer=load(Component.TRANSFORMER),
        video_vae=load_video_vae(files.video_vae, **kw) if split else load(Component.VIDEO_VAE),
        audio_vae=load(Component.AUDIO_VAE, audio),
        vocoder=load(Component.VOCODER, audio),
        text_projection=projection,
        connectors=load(Component.CONNECTORS) if with_text else None,
        upsampler=load(Component.UPSAMPLER, files.upsampler) if files.upsampler is not None else None,
        model_version=header.metadata.get("model_version"),
        duration_head=(load_duration_head(files.duration_head, dtype=dtype, device=device)
                       if files.duration_head is not None else None),
        files=files,
    )
