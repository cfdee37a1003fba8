"""torch.compile of the pack's MODEL inside the real host: core's ``TorchCompileModel`` node (Inductor, as a user
runs it) and the loader's compile option (``model_loader.load_transformer(compile_backend=...)``, per-block
through ComfyUI's own compile wrapper) sample the same latents as the eager model.

The core-node test compiles with Inductor (C++ on the CPU: about a minute per graph on 2 cores); the loader test
uses ``aot_eager`` (the tracing and decompositions, not the C++ code generation) to stay short.
"""

from __future__ import annotations

import pytest
import torch

pytestmark = [pytest.mark.comfy, pytest.mark.slow]


def sample(comfy_host, pack_nodes, model, steps: int = 1) -> torch.Tensor:
    from node_support import prompt

    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 64, 9, 24.0, 1).result[0]
    ksampler = comfy_host.node_class("KSampler")()
    out = ksampler.sample(model, 5, steps, 1.0, "euler", "simple", prompt(model, 1), prompt(model, 2), latent)[0]
    return out["samples"]


def max_diff(a, b) -> float:
    """Max |a - b| over the video and audio latents of two AV samples."""
    return max((x - y).abs().max().item() for x, y in zip(a.unbind(), b.unbind(), strict=True))


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def test_compile_nodes_core_torch_compile_model_node_on_our_model(comfy_host, pack_nodes, demo_models):
    model = demo_models["19b-distilled"]
    eager = sample(comfy_host, pack_nodes, model)
    compiled_model = comfy_host.node_class("TorchCompileModel").execute(model, "inductor").result[0]
    assert compiled_model is not model
    compiled = sample(comfy_host, pack_nodes, compiled_model)
    assert max_diff(compiled, eager) <= 1e-4
    again = sample(comfy_host, pack_nodes, model)  # the original MODEL stays eager and unchanged
    assert max_diff(again, eager) == 0


def test_compile_nodes_loader_compile_option_compiles_each_block(comfy_host, pack_nodes, demo_files):
    from comfy_api.torch_helpers.torch_compile import COMPILE_KEY, TORCH_COMPILE_KWARGS

    path = str(comfy_host.model_dir("checkpoints") / demo_files.ltx2_distilled)
    eager_model = pack_nodes.model_loader.load_transformer(path)
    compiled_model = pack_nodes.model_loader.load_transformer(path, compile_backend="aot_eager")
    blocks = compiled_model.model.diffusion_model.transformer_blocks
    assert compiled_model.model_options[TORCH_COMPILE_KWARGS]["backend"] == "aot_eager"
    wrappers = compiled_model.wrappers["apply_model"][COMPILE_KEY]
    assert len(wrappers) == 1 and len(blocks) == 2
    assert set(compiled_model.model.state_dict()) == set(eager_model.model.state_dict())
    eager = sample(comfy_host, pack_nodes, eager_model, steps=2)
    compiled = sample(comfy_host, pack_nodes, compiled_model, steps=2)
    assert max_diff(compiled, eager) <= 1e-5
    # no recompiles per step or per block: a longer run adds no graph (graph breaks on this CPU host come from
    # ComfyUI's sub-quadratic attention, which reads the free memory with psutil)
    graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    assert graphs > 0
    sample(comfy_host, pack_nodes, compiled_model, steps=3)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == graphs


def test_compile_nodes_load_node_compile_input_compiles_the_blocks(comfy_host, pack_nodes, demo_files, demo_models,
                                                                   monkeypatch):
    """Load LTX-2 Model's ``compile`` input: ``off`` leaves the MODEL eager; ``inductor`` puts ComfyUI's compile
    wrapper on every transformer block with the Inductor backend. The sampling check runs the same node with the
    option mapped to ``aot_eager`` (Inductor's C++ code generation takes minutes on this CPU) and gives the eager
    latents within 1e-5 (float32)."""
    from comfy_api.torch_helpers.torch_compile import COMPILE_KEY, TORCH_COMPILE_KWARGS

    loader = pack_nodes.loaders.LTX2NCheckpointLoader
    ckpt = demo_files.ltx2_distilled
    eager_model = loader.execute(ckpt_name=ckpt, compile="off").result[0]
    assert TORCH_COMPILE_KWARGS not in eager_model.model_options
    inductor = loader.execute(ckpt_name=ckpt, compile="inductor").result[0]
    assert inductor.model_options[TORCH_COMPILE_KWARGS]["backend"] == "inductor"
    assert len(inductor.wrappers["apply_model"][COMPILE_KEY]) == 1
    with pytest.raises(ValueError, match="Load LTX-2 Model: compile must be one of off, inductor"):
        loader.execute(ckpt_name=ckpt, compile="max-autotune")
    monkeypatch.setitem(pack_nodes.loaders.COMPILE_BACKENDS, "inductor", "aot_eager")
    compiled_model = loader.execute(ckpt_name=ckpt, compile="inductor").result[0]
    assert compiled_model.model_options[TORCH_COMPILE_KWARGS]["backend"] == "aot_eager"
    eager = sample(comfy_host, pack_nodes, demo_models["19b-distilled"])
    compiled = sample(comfy_host, pack_nodes, compiled_model)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0  # the blocks really went through Dynamo
    assert max_diff(compiled, eager) <= 1e-5
