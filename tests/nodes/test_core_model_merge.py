"""Core's ``ModelMergeLTXV`` (both hosts) on our MODEL.

The node was written for the older LTX-Video (its inputs name 28 blocks and ``patchify_proj`` / ``adaln_single`` /
``caption_projection`` / ``scale_shift_table`` / ``proj_out``). Merging goes key by key over our MODEL's official
parameter names: a key takes the ratio of the longest input that prefixes it, any other key (the audio stream,
blocks past 27) the first input's ratio. Merged weight = ratio x model1 + (1 - ratio) x model2.

Core's ``ModelPatcher.load`` patches the parameters of leaf modules only: a parameter held by a module that has
children (a block's ``scale_shift_table``) keeps model1's value, on core's own LTX model as on ours
(``_load_list`` skips such modules). The test compares leaf-module parameters.
"""

from __future__ import annotations

import pytest
import torch

pytestmark = pytest.mark.comfy

SECOND_23 = "ltx-2.3-22b-dev-merge-b.safetensors"
"""A second tiny 2.3 checkpoint (other random weights) to merge with the demo one."""


def _leaf_weights(patcher) -> dict[str, torch.Tensor]:
    """Copies of the leaf-module parameters of the patcher's diffusion model with its patches applied (the model
    is unpatched again afterwards)."""
    patcher.patch_model()
    try:
        return {f"{name}.{param_name}".lstrip("."): param.detach().clone()
                for name, module in patcher.model.diffusion_model.named_modules() if not any(module.children())
                for param_name, param in module.named_parameters(recurse=False)}
    finally:
        patcher.unpatch_model()


def test_core_model_merge_ltxv_merges_our_model_by_block(comfy_host, pack_nodes, demo_models):
    from ltx_model.demo import DemoFamily, write_demo_checkpoint

    path = comfy_host.model_dir("checkpoints") / SECOND_23
    if not path.exists():
        write_demo_checkpoint(path, DemoFamily.LTX23, seed=7, dtype=torch.float32)
    model1 = demo_models["2.3-dev"]
    model2 = pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=SECOND_23).result[0]
    merge = comfy_host.node_class("ModelMergeLTXV")
    ratios = {name: 1.0 for name in merge.INPUT_TYPES()["required"] if name not in ("model1", "model2")}
    ratios["transformer_blocks.0."] = 0.0  # block 0 from model2, the rest (audio included) from model1
    ratios["proj_out."] = 0.25
    (merged,) = merge().merge(model1, model2, **ratios)
    first, second, out = _leaf_weights(model1), _leaf_weights(model2), _leaf_weights(merged)
    block0 = [k for k in out if k.startswith("transformer_blocks.0.")]
    rest = [k for k in out if k.startswith(("audio_", "transformer_blocks.1."))]
    assert first.keys() == out.keys() and block0 and rest and "proj_out.weight" in out
    for key in block0:
        torch.testing.assert_close(out[key], second[key])
    for key in rest:
        torch.testing.assert_close(out[key], first[key])
    mixed = 0.25 * first["proj_out.weight"] + 0.75 * second["proj_out.weight"]
    torch.testing.assert_close(out["proj_out.weight"], mixed)
    assert not torch.allclose(first["proj_out.weight"], second["proj_out.weight"])  # really two models
