"""Multi-GPU (LTX-2) in the real host: one device degrades with a message, bad device lists are refused, and core
KSampler on the multi-device MODEL (two gloo workers on the CPU, started the production way: spawn, library booted
under the pack's own module prefix) gives the single-device result for each strategy."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from tiny_weights import write_tiny_checkpoint

pytestmark = pytest.mark.comfy

CKPT = "ltx2n_tiny_mgpu_22b.safetensors"


@pytest.fixture(scope="module")
def model(comfy_host, pack_nodes, manifests_dir):
    manifest = json.loads((manifests_dir / "ltx-2.3-22b.json").read_text())
    write_tiny_checkpoint(comfy_host.model_dir("checkpoints") / CKPT, manifest)
    return pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=CKPT).result[0]


def _conditioning(model, seed):
    widths = model.model.diffusion_model.context_widths()
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, 5, sum(widths), generator=g), {"frame_rate": 24.0}]]


def test_multi_gpu_one_device_passes_the_model_through_with_a_message(pack_nodes, model, caplog) -> None:
    node = pack_nodes.multi_gpu.LTX2NMultiGPU
    with caplog.at_level(logging.WARNING):
        out = node.execute(model, CKPT, "auto", "auto").result[0]
    assert out is model and "fewer than 2 GPUs visible" in caplog.text


@pytest.mark.parametrize(("devices", "message"), [
    ("cpu", r"needs at least 2 devices, got \['cpu'\]"),
    ("cpu,cuda:7", r"device 'cuda:7' does not exist here"),
])
def test_multi_gpu_refuses_bad_device_lists(pack_nodes, model, devices, message) -> None:
    with pytest.raises(ValueError, match=message):
        pack_nodes.multi_gpu.LTX2NMultiGPU.execute(model, CKPT, devices, "auto")


def test_multi_gpu_guidance_parallel_and_sequence_parallel_core_ksampler_equal_one_device(
        comfy_host, pack_nodes, model) -> None:
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 64, 9, 24.0, 1).result[0]
    ksampler = comfy_host.node_class("KSampler")()

    def sample(which):
        return ksampler.sample(which, 7, 2, 3.0, "euler", "simple", _conditioning(model, 1),
                               _conditioning(model, 2), latent)[0]["samples"]

    want = sample(model)
    try:
        for strategy in ("auto", "sequence"):  # auto: cond / uncond on separate workers; sequence: tokens split
            multi = pack_nodes.multi_gpu.LTX2NMultiGPU.execute(model, CKPT, "cpu,cpu", strategy).result[0]
            assert multi is not model
            got = sample(multi)
            for g, w in zip(got.unbind(), want.unbind(), strict=True):  # video, audio
                assert float((g - w).abs().max()) <= 1e-5, strategy
        _check_lora_after_the_node_is_refused(sample, multi)
        pool = next(iter(pack_nodes.multi_gpu._POOLS.values()))  # noqa: SLF001 - the test closes what it started
        assert pool.running and len(pool.pids()) == 2  # one pool, kept between the two prompts
        _check_cancel_stops_the_workers(multi, pool)
    finally:
        for pool in list(pack_nodes.multi_gpu._POOLS.values()):  # noqa: SLF001
            pool.close()


def _check_lora_after_the_node_is_refused(sample, multi) -> None:
    """A weight patch added after the node (what a LoRA loader does) stops the sampling run with a clear message
    instead of running the workers' unpatched weights."""
    patched = multi.clone()
    key = next(k for k in patched.model.state_dict() if k.endswith("attn1.to_q.weight"))
    assert patched.add_patches({key: (torch.zeros_like(patched.model.state_dict()[key]),)}, 1.0) == [key]
    with pytest.raises(ValueError, match="workers run the unpatched transformer"):
        sample(patched)


def _check_cancel_stops_the_workers(multi, pool) -> None:
    """ComfyUI's Cancel during a pass: every worker stops at its step check, the host's own interrupt exception is
    raised (the prompt ends as cancelled, not failed) and the workers stay up for the next prompt."""
    import comfy.model_management as mm

    options = multi.model_options["transformer_options"]
    x = [torch.randn(1, 128, 2, 2, 2), torch.randn(1, 8, 9, 16)]
    context = _conditioning(multi, 3)[0][0]
    pids = pool.pids()
    mm.interrupt_current_processing(True)
    try:
        with pytest.raises(mm.InterruptProcessingException):
            multi.model.diffusion_model(x, torch.tensor([0.5]), context=context, transformer_options=options)
    finally:
        mm.interrupt_current_processing(False)
    assert pool.running and pool.pids() == pids
