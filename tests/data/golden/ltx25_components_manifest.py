"""Generate the real-size manifests of the other LTX-2.5 split files (our code; Lightricks' is imported from a
checkout): every key, shape, storage dtype rule and the metadata of

* ``tests/data/ltx-2.5-audio-vae.json``: the audio VAE + vocoder file (``audio_vae.*``, ``vocoder.*``);
* ``tests/data/ltx-2.5-latent-spatial-upscaler-x2.json`` / ``…-temporal-upscaler-x2.json``: the x2 upscalers;
* ``tests/data/ltx-2.5-duration-head.json``: the duration head (``duration_head.*``);
* ``tests/data/gemma4-12b-with-proj-ltx-2.5.json``: the text-encoder file, its certain part only (see NOTES_TE).

Run from the repository root with ltx-core HEAD (github Lightricks/LTX-2 main @400fd31) on the path::

    PYTHONPATH=/path/to/LTX-2/packages/ltx-core/src:. python tests/data/golden/ltx25_components_manifest.py \
        /path/to/shared/reference/manifests

Each module is built by HEAD's configurator on the meta device from the config stored in the manifest; the file key
is HEAD's state-dict key with the prefix its loader strips. The audio keys are checked against the 2.3 single-file
manifest (same architecture), the upscaler keys against the reference upscaler manifests in the given folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from ltx_model.loading.detect import Family
from ltx_model.loading.released import RELEASED_MODEL_VERSIONS, released_transformer
from ltx_model.text.gemma4 import GEMMA4_UNIFIED, LTX25_GEMMA_VERSION

DATA = Path(__file__).resolve().parent.parent
VERSION = RELEASED_MODEL_VERSIONS[Family.LTX25]
PROVENANCE = "tests/data/golden/ltx25_components_manifest.py with ltx-core HEAD (Lightricks/LTX-2 400fd31)"
DERIVED = ("Derived, not read from a real header: keys and shapes of ltx-core HEAD (400fd31) modules built on the meta "
           "device from the config below.")
VERSION_NOTE = ("Uncertain [L]: whether this file carries model_version; '2.5.0' is assumed (detection needs only the "
                "'2.5' prefix).")
GEMMA_TEXT = {"hidden_size": 3840, "num_hidden_layers": 48}
NOTES_TE = [
    "Partial manifest: only the bundled text projection (text_embedding_projection.*) is listed. The Gemma 4 12B "
    "language model (model.embed_tokens / model.layers.N / model.norm), the image / audio embedders, tokenizer_json "
    "and hf_asset__* tensors are left out: the published Gemma 4 12B (gemma4_unified) config is not available offline "
    "and transformers' Gemma4UnifiedTextConfig defaults are a different size, so their keys and shapes are not "
    "certain.",
    "Uncertain [M]: hidden_size 3840 and num_hidden_layers 48 (49 hidden states) are assumed equal to Gemma 3 12B's "
    "(ltx2-model.md §12.5); the projection's input width 3840 * 49 follows from them (HEAD _create_feature_extractor). "
    "gemma_config holds only these fields, model_type and the certain gemma_version.",
    "Output widths 4096 / 2048 come from the 2.5 transformer config (cross_attention_dim / audio_cross_attention_dim); "
    "storage dtype BF16 assumed. The file has no 'config' section of its own (empty here); the loaders read the "
    "projection's config from the transformer file and 'gemma_config' (under metadata).",
]


def _meta(configurator: Any, metadata: dict[str, Any]) -> dict[str, list[int]]:
    with torch.device("meta"):
        model = configurator.from_metadata(metadata)
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def audio_tensors(config: dict[str, Any]) -> dict[str, list[int]]:
    """``audio_vae.{encoder,decoder,per_channel_statistics}.*`` and ``vocoder.*`` of HEAD's modules."""
    from ltx_core.model.audio_vae.model_configurator import (
        AudioDecoderConfigurator,
        AudioEncoderConfigurator,
        VocoderConfigurator,
    )

    tensors: dict[str, list[int]] = {}
    for configurator, part in ((AudioEncoderConfigurator, "encoder."), (AudioDecoderConfigurator, "decoder.")):
        for key, shape in _meta(configurator, {"config": config}).items():
            shared = key.startswith("per_channel_statistics.")
            tensors["audio_vae." + ("" if shared else part) + key] = shape
    tensors.update({"vocoder." + k: v for k, v in _meta(VocoderConfigurator, {"config": config}).items()})
    return tensors


def upscaler_tensors(config: dict[str, Any]) -> dict[str, list[int]]:
    from ltx_core.model.upsampler.model_configurator import LatentUpsamplerConfigurator

    return _meta(LatentUpsamplerConfigurator, {"config": config})


def duration_tensors(config: dict[str, Any]) -> dict[str, list[int]]:
    from ltx_core.duration_head.model_configurator import DurationHeadConfigurator

    return {"duration_head." + k: v for k, v in _meta(DurationHeadConfigurator, {"config": config}).items()}


def projection_tensors(transformer: dict[str, Any]) -> dict[str, list[int]]:
    from ltx_core.text_encoders.gemma.encoders.encoder_configurator import _create_feature_extractor

    with torch.device("meta"):
        extractor = _create_feature_extractor(transformer, SimpleNamespace(**GEMMA_TEXT))
    return {"text_embedding_projection." + k: list(v.shape) for k, v in extractor.state_dict().items()}


def _manifest(names: list[str], config: dict[str, Any], tensors: dict[str, list[int]], notes: list[str],
              version: str | None = VERSION, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"model_version": version, "file_names": names, "config": config, "metadata": metadata or {},
            "storage_dtypes": {"default": "BF16"}, "tensors": tensors, "notes": notes, "provenance": PROVENANCE}


def build(reference: Path) -> dict[str, dict[str, Any]]:
    """``{output file name: manifest}``; asserts the cross-checks against the reference manifests."""
    single_23 = json.loads((reference / "ltx-2.3-22b.json").read_text())
    audio_config = {k: single_23["config"][k] for k in ("audio_vae", "vocoder")}
    audio = audio_tensors(audio_config)
    assert audio == {k: v for k, v in single_23["tensors"].items() if k.startswith(("audio_vae.", "vocoder."))}
    spatial_ref = json.loads((reference / "latent-upscaler-spatial-x2.json").read_text())
    temporal_ref = json.loads((reference / "latent-upscaler-temporal-x2-ltx2.5.json").read_text())
    spatial, temporal = upscaler_tensors(spatial_ref["config"]), upscaler_tensors(temporal_ref["config"])
    assert spatial == spatial_ref["tensors"] and temporal == temporal_ref["tensors"]
    transformer = released_transformer(Family.LTX25)
    widths = {k: transformer[k] for k in ("cross_attention_dim", "audio_cross_attention_dim")}
    head_config = {"transformer": widths, "duration_head": {"pooler_hidden_dim": 256, "num_queries": 1,
                                                            "num_pooler_heads": 4, "mlp_hidden": 256}}
    gemma = {"model_type": GEMMA4_UNIFIED, "gemma_version": LTX25_GEMMA_VERSION, "text_config": GEMMA_TEXT}
    return {
        "ltx-2.5-audio-vae.json": _manifest(
            ["ltx-2.5-audio-vae-bf16.safetensors"], audio_config, audio,
            [DERIVED + " Same architecture and config as 2.3 (keys equal the 2.3 manifest's audio_vae.* / vocoder.*).",
             "Uncertain [M]: the 2.5 config sections are assumed equal to 2.3's.", VERSION_NOTE]),
        "ltx-2.5-latent-spatial-upscaler-x2.json": _manifest(
            ["ltx-2.5-latent-spatial-upscaler-x2-bf16.safetensors"], spatial_ref["config"], spatial,
            [DERIVED + " Flat config, keys without prefix; mid_channels 1024.", *spatial_ref["notes"][2:3],
             VERSION_NOTE]),
        "ltx-2.5-latent-temporal-upscaler-x2.json": _manifest(
            temporal_ref["file_names"], temporal_ref["config"], temporal,
            [DERIVED + " Flat config, keys without prefix; mid_channels 512.", *temporal_ref["notes"][2:3]],
            version=temporal_ref["model_version"]),
        "ltx-2.5-duration-head.json": _manifest(
            ["ltx-2.5-duration-head-bf16.safetensors"], head_config, duration_tensors(head_config),
            [DERIVED, "Uncertain [M]: HEAD has no finalised duration_head config schema; its defaults are used. The "
             "published file name and storage dtype are assumed.", VERSION_NOTE]),
        "gemma4-12b-with-proj-ltx-2.5.json": _manifest(
            ["gemma4-12b-with-proj-ltx-2.5-bf16.safetensors"], {},
            projection_tensors(transformer), NOTES_TE, version=None,
            metadata={"gemma_config": json.dumps(gemma)}),
    }


def main(reference: str) -> int:
    for name, manifest in build(Path(reference)).items():
        (DATA / name).write_text(json.dumps(manifest, separators=(",", ":")) + "\n")
        sys.stderr.write(f"wrote {name}: {len(manifest['tensors'])} tensors\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
