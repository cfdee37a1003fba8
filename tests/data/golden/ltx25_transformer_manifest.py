"""Generate ``tests/data/ltx-2.5-22b-transformer.json``: every key, shape and storage dtype rule of the LTX-2.5
split transformer file, derived from Lightricks' module definitions (our code; theirs is imported from a checkout).

Run from the repository root with ltx-core HEAD (github Lightricks/LTX-2 main @400fd31) on the path::

    PYTHONPATH=/path/to/LTX-2/packages/ltx-core/src:. python tests/data/golden/ltx25_transformer_manifest.py \
        /path/to/shared/reference/manifests/ltx-2.3-22b.json

Transformer keys: HEAD's ``LTXModelConfigurator`` builds the model on the meta device from the released 2.5
``transformer`` section (``ltx_model.loading.released``); each state-dict key gets the ``model.diffusion_model.``
prefix. Text connector keys: the split transformer file also carries the embeddings connectors (ltx-pipelines
``ModelPaths.embeddings_weight_paths`` = (transformer, text encoder)); they work at the transformer widths
(video 4096, audio 2048), so they are copied from the 2.3 single-file manifest given on the command line.
Compact form: the identical blocks are stored once, as ``block_tensors`` = {prefix, count, tensors of block 0
without ``<prefix>0.``}; ``ltx_model.demo.manifest_specs`` expands them (``<prefix><i>.<key>`` for i < count).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from ltx_model.loading.detect import Family
from ltx_model.loading.released import RELEASED_MODEL_VERSIONS, released_transformer

OUT = Path(__file__).resolve().parent.parent / "ltx-2.5-22b-transformer.json"
PREFIX = "model.diffusion_model."
BLOCK = PREFIX + "transformer_blocks."
CONNECTORS = (PREFIX + "video_embeddings_connector.", PREFIX + "audio_embeddings_connector.")

NOTES = [
    "Derived, not read from a real header: transformer keys from ltx-core HEAD (400fd31) LTXModelConfigurator on the "
    "meta device with config.transformer below; connector keys from the 2.3 manifest (same widths).",
    "Compact form: block_tensors holds block 0's keys without 'model.diffusion_model.transformer_blocks.0.'; the file "
    "has them for every block i < count (model.diffusion_model.transformer_blocks.<i>.<key>).",
    "Uncertain [M/L]: num_layers 48 and every width follow third-party transcriptions of the 2.5 config (one port "
    "assumes 28 layers); the four 2.5 switches follow HEAD's configurator comments and diffusers 0.42.1. Loaders "
    "read every value from the file's own metadata.",
    "Uncertain [M]: storage dtypes assume the 2.3 rule (every *scale_shift_table* F32, the rest BF16); no published "
    "2.5 header dump or file size was available to check them.",
    "Uncertain [L]: whether the 2.5 transformer file also carries other metadata sections (vae, audio_vae, ...); "
    "only config.transformer and model_version matter to the transformer loader.",
]


def transformer_shapes(section: dict) -> dict[str, list[int]]:
    """``{file key: shape}`` of HEAD's transformer built from ``section`` on the meta device."""
    from ltx_core.model.transformer.model_configurator import LTXModelConfigurator

    with torch.device("meta"):
        model = LTXModelConfigurator.from_metadata({"config": {"transformer": section}})
    return {PREFIX + k: list(v.shape) for k, v in model.state_dict().items()}


def main(manifest_23: str) -> int:
    section = released_transformer(Family.LTX25)
    tensors = transformer_shapes(section)
    old = json.loads(Path(manifest_23).read_text())["tensors"]
    tensors.update({k: v for k, v in old.items() if k.startswith(CONNECTORS)})
    blocks = {k: v for k, v in tensors.items() if k.startswith(BLOCK)}
    template = {k.removeprefix(BLOCK + "0."): v for k, v in blocks.items() if k.startswith(BLOCK + "0.")}
    count = section["num_layers"]
    assert blocks == {f"{BLOCK}{i}.{s}": v for i in range(count) for s, v in template.items()}
    manifest = {
        "model_version": RELEASED_MODEL_VERSIONS[Family.LTX25],
        "file_names": ["ltx-2.5-22b-dev-transformer-bf16.safetensors",
                       "ltx-2.5-22b-distilled-transformer-bf16.safetensors"],
        "config": {"transformer": section},
        "storage_dtypes": {"default": "BF16", "F32": "every key containing 'scale_shift_table' (assumed as in 2.3)"},
        "tensors": {k: v for k, v in tensors.items() if k not in blocks},
        "block_tensors": {"prefix": BLOCK, "count": count, "tensors": template},
        "notes": NOTES,
        "provenance": "tests/data/golden/ltx25_transformer_manifest.py with ltx-core HEAD (Lightricks/LTX-2 400fd31)",
    }
    OUT.write_text(json.dumps(manifest, separators=(",", ":")) + "\n")
    sys.stderr.write(f"wrote {OUT}: {len(tensors)} tensors\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
