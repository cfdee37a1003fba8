"""The text projection bundled in a split text-encoder file, and the V2 feature-extractor dims from the Gemma config.

LTX-2.5 ships the V2 feature extractor ("text projection": ``text_embedding_projection.video_aggregate_embed`` /
``audio_aggregate_embed``, Linear ``D_g * L -> D_video / D_audio`` with bias) inside
``gemma4-12b-with-proj-ltx-2.5-*.safetensors`` instead of the diffusion checkpoint. Its input width is taken from
the Gemma config (ltx-core HEAD ``_create_feature_extractor``: ``hidden_size * (num_hidden_layers + 1)``), never
from ``caption_channels``; the output widths and the V2 selector keys still come from the transformer file's
``config.transformer`` section (:meth:`~ltx_model.text.TextConfig.from_dict`).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from typing import Any

import torch

from ..loading.keymaps import DIFFUSION_PREFIX, TEXT_PROJECTION_PREFIX
from ..loading.safetensors_io import CheckpointError, SafetensorsHeader, SafetensorsReader, read_header
from .config import ConnectorLayout, TextConfig
from .encode import GemmaTextEncoder
from .gemma import gemma_weight_files, read_gemma_config
from .gemma_version import check_gemma_files
from .projection import TextProjection
from .tokenizer import MAX_TOKENS


def gemma_feature_dims(gemma_config: Mapping[str, Any]) -> tuple[int, int]:
    """``(D_g, L)`` = (hidden size, hidden states = layers + 1) of a Gemma config dict (whole or text part)."""
    text = gemma_config.get("text_config", gemma_config)
    return int(text["hidden_size"]), int(text["num_hidden_layers"]) + 1


def text_config_for_gemma(text_config: TextConfig, gemma_config: Mapping[str, Any]) -> TextConfig:
    """``text_config`` with the feature extractor's input dims (``gemma_width``, ``gemma_hidden_states``) from the
    Gemma config: 3840 x 49 for both Gemma 3 12B and Gemma 4 12B."""
    width, states = gemma_feature_dims(gemma_config)
    return text_config.replace(gemma_width=width, gemma_hidden_states=states)


def has_text_projection(keys: Collection[str]) -> bool:
    """Whether a file's tensor names include a text projection (``text_embedding_projection.*``)."""
    return any(k.startswith(TEXT_PROJECTION_PREFIX) for k in keys)


def check_text_projection(header: SafetensorsHeader, text_config: TextConfig) -> dict[str, tuple[int, ...]]:
    """Header-only strict check of a file's ``text_embedding_projection.*`` tensors against ``text_config``.

    Returns:
        ``{module key: shape}`` of the projection's tensors.
    Raises:
        CheckpointError: naming the file: no projection, missing / unexpected keys or a wrong shape.
    """
    found = {k[len(TEXT_PROJECTION_PREFIX):]: tuple(v.shape) for k, v in header.tensors.items()
             if k.startswith(TEXT_PROJECTION_PREFIX)}
    if not found:
        raise CheckpointError(f"{header.path}: no text projection ('{TEXT_PROJECTION_PREFIX}*' tensors)")
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in TextProjection(text_config).state_dict().items()}
    if set(found) != set(expected):
        missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
        raise CheckpointError(f"{header.path}: text projection keys do not match the checkpoint's config "
                              f"(missing {missing}, unexpected {extra})")
    for name, shape in expected.items():
        if found[name] != shape:
            raise CheckpointError(f"{header.path}: {TEXT_PROJECTION_PREFIX}{name} has shape {list(found[name])}, "
                                  f"the checkpoint's config needs {list(shape)}")
    return found


def load_text_projection(
    path: str | os.PathLike[str],
    text_config: TextConfig,
    *,
    dtype: torch.dtype | None = torch.bfloat16,
    device: torch.device | str = "cpu",
) -> TextProjection:
    """Strictly load the ``text_embedding_projection.*`` tensors of ``path`` into a :class:`TextProjection`.

    Args:
        path: the text-encoder file (or any file carrying the projection).
        text_config: the checkpoint's text config with the Gemma dims (:func:`text_config_for_gemma`).
        dtype: parameter dtype (None keeps the stored one); device: target device.
    Raises:
        CheckpointError: naming the file: truncated / corrupt, no projection, missing / unexpected keys or shapes.
    """
    header = read_header(path)
    found = check_text_projection(header, text_config)
    with SafetensorsReader(header) as reader:
        state = {k: reader.read(TEXT_PROJECTION_PREFIX + k) for k in found}
    state = {k: (v.to(dtype) if dtype is not None else v).to(device) for k, v in state.items()}
    with torch.device("meta"):
        model = TextProjection(text_config)
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()


def projection_file(text_encoder: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """The file that bundles the text projection: a single text-encoder file itself, or the first ``*.safetensors``
    shard of a Gemma folder holding ``text_embedding_projection.*`` tensors (headers only).

    Raises:
        CheckpointError: a folder none of whose shards holds the projection (names the folder).
    """
    if not os.path.isdir(text_encoder):
        return text_encoder
    for shard in gemma_weight_files(text_encoder):
        if has_text_projection(read_header(shard).tensors):
            return shard
    raise CheckpointError(f"{text_encoder}: no shard holds the LTX text projection ('{TEXT_PROJECTION_PREFIX}*'); "
                          "use the text-encoder file released with the model (e.g. "
                          "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors), which bundles it")


def split_text_config(transformer: str | os.PathLike[str], text_encoder: str | os.PathLike[str]) -> TextConfig:
    """The text config of a split model: connector / V2 keys from the transformer file's ``config.transformer``
    section, feature-extractor input dims from the text encoder's Gemma config (headers only)."""
    header = read_header(transformer)
    single = any(k.startswith(DIFFUSION_PREFIX + "embeddings_connector.") for k in header.tensors)
    layout = ConnectorLayout.VIDEO_ONLY if single else ConnectorLayout.AUDIO_VIDEO
    config = TextConfig.from_dict(header.config().get("transformer", {}), layout=layout)
    gemma_config = read_gemma_config(text_encoder)
    if gemma_config is None:
        raise CheckpointError(f"{text_encoder}: no Gemma config ('gemma_config' metadata / config.json)")
    return text_config_for_gemma(config, gemma_config)


def check_split_text_encoder(transformer: str | os.PathLike[str], text_encoder: str | os.PathLike[str]) -> None:
    """Headers only: the text encoder is the Gemma the transformer needs (``gemma_version``; one
    ``GemmaVersionError`` naming both files) and its bundled projection fits the transformer's text config
    (:func:`split_text_config`; one ``CheckpointError`` naming the file)."""
    check_gemma_files(transformer, text_encoder)
    check_text_projection(read_header(projection_file(text_encoder)), split_text_config(transformer, text_encoder))


def load_split_text_projection(
    transformer: str | os.PathLike[str],
    text_encoder: str | os.PathLike[str],
    *,
    dtype: torch.dtype | None = torch.bfloat16,
    device: str | torch.device = "cpu",
) -> TextProjection:
    """The TEXT_PROJECTION component of a split model: the ``gemma_version`` check, then the projection bundled
    in the text-encoder file (or Gemma folder, :func:`projection_file`), built with the text config of
    :func:`split_text_config` (connector keys from the transformer file, feature-extractor input widths from the
    Gemma config)."""
    check_gemma_files(transformer, text_encoder)
    return load_text_projection(projection_file(text_encoder), split_text_config(transformer, text_encoder),
                                dtype=dtype, device=device)


def load_split_text_encoder(
    transformer: str | os.PathLike[str],
    text_encoder: str | os.PathLike[str],
    *,
    dtype: torch.dtype = torch.bfloat16,
    device: torch.device | str = "cpu",
    max_length: int = MAX_TOKENS,
) -> tuple[GemmaTextEncoder, TextProjection]:
    """Gemma text encoder + bundled projection of a split (LTX-2.5) model, checked against the transformer file.

    Order: the ``gemma_version`` check and the projection's keys / shapes (headers only) come before any Gemma
    weight is read. The connectors live in the transformer file (``Component.CONNECTORS``).

    Raises:
        GemmaVersionError: the text encoder is not the one the transformer needs (names both files).
        CheckpointError: a truncated / corrupt file, or a projection that does not fit (names the file).
    """
    check_gemma_files(transformer, text_encoder)
    config = split_text_config(transformer, text_encoder)
    projection = load_text_projection(projection_file(text_encoder), config, dtype=dtype, device=device)
    encoder = GemmaTextEncoder.from_pretrained(text_encoder, dtype=dtype, device=device, max_length=max_length,
                                               text_config=config)
    return encoder, projection
