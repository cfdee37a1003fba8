"""Core's newer LTX nodes on our MODEL (ComfyUI v0.33.0: dual CFG guider, STG and modality guidance, IC-LoRA
parameters). On an older host the nodes do not exist: each test then asserts that the host is older than the
version that added them (so a missing node on a new host fails, never skips)."""

from __future__ import annotations

import pytest
import torch
from node_support import prompt
from test_iclora import write_ic_lora

pytestmark = pytest.mark.comfy

NEW_CORE_NODES_SINCE = (0, 33, 0)
"""The v0.33.0 host is the first tested host with these nodes (added upstream between 0.20.1 and 0.33.0)."""


def _version(comfy_host) -> tuple[int, ...]:
    return tuple(int(n) for n in comfy_host.version.split(".")[:3])


def _node_or_older_host(comfy_host, node_id: str):
    """Core's node class, or None on a host older than :data:`NEW_CORE_NODES_SINCE` (asserted)."""
    if node_id in comfy_host.core_node_ids:
        return comfy_host.node_class(node_id)
    assert _version(comfy_host) < NEW_CORE_NODES_SINCE, f"ComfyUI {comfy_host.version} lacks core {node_id}"
    return None


def _av_latent(comfy_host) -> dict:
    """An empty audio+video latent (core's packing): 2 latent frames of 2 x 2 cells, 9 audio latents."""
    return comfy_host.node_class("LTXVConcatAVLatent").execute(
        {"samples": torch.zeros(1, 128, 2, 2, 2)}, {"samples": torch.zeros(1, 8, 9, 16)}).result[0]


def _one_step(comfy_host, guider, latent, sigma: float = 0.8, seed: int = 4) -> list[torch.Tensor]:
    """One Euler step from ``sigma`` to 0 through core's SamplerCustomAdvanced: the guided x0 (video, audio)."""
    node = comfy_host.node_class
    noise = node("RandomNoise").execute(seed).result[0]
    sampler = node("KSamplerSelect").execute("euler").result[0]
    out = node("SamplerCustomAdvanced").execute(noise, guider, sampler, torch.tensor([sigma, 0.0]), latent).result
    return list(out[0]["samples"].unbind())


def test_core_dual_cfg_guider_guides_each_stream_with_its_scale(comfy_host, demo_models):
    dual = _node_or_older_host(comfy_host, "LTXVDualCFGGuider")
    if dual is None:
        return
    model = demo_models["2.3-dev"]
    pos, neg = prompt(model, 1), prompt(model, 2)
    latent = _av_latent(comfy_host)
    both = _one_step(comfy_host, dual.execute(model, pos, neg, 3.0, 7.0).result[0], latent)
    cfg = comfy_host.node_class("CFGGuider")
    video_only = _one_step(comfy_host, cfg.execute(model, pos, neg, 3.0).result[0], latent)
    audio_only = _one_step(comfy_host, cfg.execute(model, pos, neg, 7.0).result[0], latent)
    torch.testing.assert_close(both[0], video_only[0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(both[1], audio_only[1], atol=1e-4, rtol=1e-4)
    assert not torch.allclose(video_only[1], audio_only[1])  # the two scales really differ on the audio


@pytest.mark.parametrize(("node_id", "inputs"), [("LTXVSpatioTemporalGuidance", (2.0, "1", 0.0, 1.0)),
                                                 ("LTXVModalityGuidance", (3.0, 0.0, 1.0))])
def test_core_extra_pass_guidance_changes_our_model_output(comfy_host, demo_models, node_id, inputs):
    """Core's STG / modality guidance run their extra pass on our transformer (their switches map to our
    perturbations, see test_sampling) and move the guided result."""
    node = _node_or_older_host(comfy_host, node_id)
    if node is None:
        return
    model = demo_models["2.3-dev"]
    pos, neg = prompt(model, 1), prompt(model, 2)
    cfg = comfy_host.node_class("CFGGuider")
    latent = _av_latent(comfy_host)
    plain = _one_step(comfy_host, cfg.execute(model, pos, neg, 3.0).result[0], latent)
    guided_model = node.execute(model, *inputs).result[0]
    guided = _one_step(comfy_host, cfg.execute(guided_model, pos, neg, 3.0).result[0], latent)
    assert all(torch.isfinite(g).all() for g in guided)
    assert not torch.allclose(guided[0], plain[0]) and not torch.allclose(guided[1], plain[1])


def test_core_ic_lora_parameters_from_our_and_cores_loaders(comfy_host, pack_nodes, demo_models):
    node = _node_or_older_host(comfy_host, "GetICLoRAParameters")
    name = write_ic_lora(comfy_host, "ltx2n_core_params_ic_lora.safetensors", "transformer_blocks.0.attn1.to_q",
                         16, 16, factor="2")
    ours, factor = pack_nodes.iclora.LTX2NICLoraLoader.execute(demo_models["2.3-dev"], name, 1.0).result
    assert factor == 2 and ours.get_attachment("lora_metadata")["reference_downscale_factor"] == "2"
    if node is None:
        return
    core = comfy_host.node_class("LoraLoaderModelOnly")().load_lora_model_only(demo_models["2.3-dev"], name, 1.0)[0]
    assert node.execute(ours).result[0] == {"reference_downscale_factor": 2}
    assert node.execute(core).result[0] == {"reference_downscale_factor": 2}
