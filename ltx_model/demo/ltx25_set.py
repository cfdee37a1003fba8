"""A complete tiny LTX-2.5 model set: every split file a 2.5 generation needs, in one folder (demo runs, tests).

:func:`write_demo_ltx25_model_set` writes, in ComfyUI's model-folder layout and with the official key names and
metadata of each part:

* the parts of :func:`~ltx_model.demo.ltx25.write_demo_ltx25_parts` (transformer + connectors, audio VAE +
  vocoder, spatial / temporal x2 upscalers, distilled LoRA);
* ``text_encoders/gemma4-12b-with-proj-ltx-2.5-demo.safetensors``: a toy Gemma 4 unified model (2 layers, width 16,
  ``gemma_version`` ``gemma4-12b-ltx-v1``) with the bundled V2 projection whose widths follow the transformer file's
  ``config.transformer`` section (input ``16 x 3`` from the Gemma config, outputs the stream widths);
* ``vae/ltx-2.5-video-vae-demo.safetensors``: the diffusion-decoder video VAE at toy width but with the real
  128 latent channels (the transformer's latent width);
* ``duration_head/ltx-2.5-duration-head-demo.safetensors``: the duration head at the connectors' output widths.

The output of a run on these weights is noise; they exist so the real loaders and pipelines can run end to end.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..duration.model import DurationHeadConfig
from ..text.config import TextConfig
from ..text.te_file import text_config_for_gemma
from .ltx25 import LTX25_DEMO_FILES, ltx25_transformer_config, write_demo_ltx25_parts
from .ltx25_text import random_gemma4_model, random_text_projection, write_duration_head, write_gemma4_text_encoder
from .ltx25_vae import TINY_DECODER, tiny_diffusion_vae_section, write_demo_ltx25_video_vae

LTX25_SET_FILES: dict[str, str] = {
    **LTX25_DEMO_FILES,
    "text_encoder": "text_encoders/gemma4-12b-with-proj-ltx-2.5-demo.safetensors",
    "video_vae": "vae/ltx-2.5-video-vae-demo.safetensors",
    "duration_head": "duration_head/ltx-2.5-duration-head-demo.safetensors",
}
"""Relative paths of every file :func:`write_demo_ltx25_model_set` writes (named like the published files)."""

LATENT_CHANNELS = 128  # the transformer's video latent width (real size in every demo file)
# One residual layer per level and width multipliers of 1 keep the 128-channel encoder small (a few MB).
_ENCODER_BLOCKS = [
    ["res_x", {"num_layers": 1}], ["compress_space_res", {"multiplier": 1}], ["res_x", {"num_layers": 1}],
    ["compress_time_res", {"multiplier": 1}], ["res_x", {"num_layers": 1}], ["compress_all_res", {"multiplier": 1}],
    ["res_x", {"num_layers": 1}], ["compress_all_res", {"multiplier": 1}], ["res_x", {"num_layers": 1}],
]


def demo_text_config() -> TextConfig:
    """The demo transformer's text config (connector / V2 keys from its ``config.transformer`` section)."""
    return TextConfig.from_dict(ltx25_transformer_config()["transformer"])


def demo_duration_config() -> DurationHeadConfig:
    """Duration head widths = the demo connectors' output widths (video / audio stream widths)."""
    section = ltx25_transformer_config()["transformer"]
    video = section["num_attention_heads"] * section["attention_head_dim"]
    audio = section["audio_num_attention_heads"] * section["audio_attention_head_dim"]
    return dataclasses.replace(DurationHeadConfig.tiny(), video_dim=video, audio_dim=audio)


def write_demo_text_encoder(path: str | Path, *, seed: int = 0) -> Path:
    """The Gemma 4 text-encoder file with a projection sized for the demo transformer."""
    model = random_gemma4_model(seed=seed)
    config = text_config_for_gemma(demo_text_config(), model.config.to_dict())
    projection = random_text_projection(config, seed=seed + 1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_gemma4_text_encoder(path, model=model, projection=projection, seed=seed)


def write_demo_ltx25_model_set(folder: str | Path, *, seed: int = 0, duration_head: bool = True) -> dict[str, Path]:
    """Write a complete tiny 2.5 model set under ``folder``; returns ``{name: path}`` (see :data:`LTX25_SET_FILES`).

    ``duration_head=False`` leaves the optional duration head out.
    """
    folder = Path(folder)
    paths = write_demo_ltx25_parts(folder, seed=seed)
    paths["text_encoder"] = write_demo_text_encoder(folder / LTX25_SET_FILES["text_encoder"], seed=seed)
    decoder = dataclasses.replace(TINY_DECODER, in_channels=LATENT_CHANNELS)
    section = tiny_diffusion_vae_section(decoder)
    section["encoder"]["blocks"] = _ENCODER_BLOCKS
    paths["video_vae"] = write_demo_ltx25_video_vae(folder / LTX25_SET_FILES["video_vae"], seed=seed,
                                                    section=section)
    if duration_head:
        path = folder / LTX25_SET_FILES["duration_head"]
        path.parent.mkdir(parents=True, exist_ok=True)
        paths["duration_head"] = write_duration_head(path, demo_duration_config(), seed=seed)
    return paths
