"""Demo and test fixtures: tiny random-weight model files in the official formats, nothing downloaded.

A leaf package: no runtime module of ``ltx_model`` or ``nodes`` imports it; only entry points (the
``ltx_model.pipelines`` CLI, ``scripts/``) and tests do.

* :mod:`.configs` — the demo checkpoints' ``config`` metadata (the released sections, shrunk).
* :mod:`.weights` — demo single-file checkpoints, upsamplers and Gemma folders.
* :mod:`.text` — a toy Gemma 3 text config, an offline word-level tokenizer, llama.cpp-style Gemma GGUF files.
* :mod:`.synthetic` — real-size sparse checkpoints from the reference manifests (headers exact, data holes).
"""

from .configs import MODEL_VERSIONS, RELEASED_FAMILY, UPSAMPLER_CONFIG, DemoFamily, demo_config
from .synthetic import (
    manifest_metadata,
    manifest_specs,
    manifest_tensors,
    storage_dtype_rule,
    write_sparse_checkpoint,
)
from .text import SPECIAL_TOKENS, TINY_GEMMA_TEXT_CONFIG, random_gemma_text_model, save_word_tokenizer, write_gemma_gguf
from .weights import (
    CHECKPOINT_COMPONENTS,
    DEMO_GEMMA_TEXT_CONFIG,
    DemoPaths,
    demo_checkpoint_tensors,
    write_demo_checkpoint,
    write_demo_gemma,
    write_demo_model_set,
    write_demo_upsampler,
)

__all__ = [
    "CHECKPOINT_COMPONENTS",
    "DEMO_GEMMA_TEXT_CONFIG",
    "MODEL_VERSIONS",
    "RELEASED_FAMILY",
    "SPECIAL_TOKENS",
    "TINY_GEMMA_TEXT_CONFIG",
    "UPSAMPLER_CONFIG",
    "DemoFamily",
    "DemoPaths",
    "demo_checkpoint_tensors",
    "demo_config",
    "manifest_metadata",
    "manifest_specs",
    "manifest_tensors",
    "random_gemma_text_model",
    "save_word_tokenizer",
    "storage_dtype_rule",
    "write_demo_checkpoint",
    "write_demo_gemma",
    "write_demo_model_set",
    "write_demo_upsampler",
    "write_gemma_gguf",
    "write_sparse_checkpoint",
]
