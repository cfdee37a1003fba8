"""Multi-GPU (LTX-2) in the real host: one device degrades with a message, bad device lists are refused, and core
KSampler on the multi-device MODEL (two gloo workers on the CPU, started the production way: spawn, library booted
under the pack's own module prefix) gives the single-device result for each strategy, also with LoRAs loaded before
(core LoraLoaderModelOnly) or after (Load LoRA (LTX-2)) the node, which the workers read from models/loras
themselves; a weight patch that is no LoRA file is refused. The multi-device MODEL has the CPU as its load device,
so core sampling puts none of the host's weights on ComfyUI's GPU (checked with a MODEL whose load device claims
cuda:0). ckpt_name must describe the MODEL (a file of another family is refused; LTX-2.5 split transformers in
models/diffusion_models are accepted), the pool is keyed by dtype too, and a pass of a MODEL whose pool was
replaced by another Multi-GPU node's makes its own pool the only live one."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from tiny_weights import write_tiny_checkpoint

from ltx_model.loading import write_safetensors

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
        pool = next(iter(pack_nodes.multi_gpu._POOLS.values()))  # noqa: SLF001 - the test closes what it started
        pids = pool.pids()
        _check_the_host_loads_no_weights_on_its_gpu(pack_nodes, model, sample, want)
        _check_loras_on_the_workers(comfy_host, pack_nodes, model, sample, multi)
        _check_a_patch_that_is_no_file_is_refused(sample, multi)
        assert pool.running and pool.pids() == pids and len(pids) == 2  # one pool, kept between the prompts
        _check_cancel_stops_the_workers(multi, pool)
    finally:
        for pool in list(pack_nodes.multi_gpu._POOLS.values()):  # noqa: SLF001
            pool.close()
        pack_nodes.multi_gpu._POOLS.clear()  # noqa: SLF001


def _check_the_host_loads_no_weights_on_its_gpu(pack_nodes, model, sample, want) -> None:
    """A MODEL whose load device is ComfyUI's GPU (cuda:0, only claimed: this machine has none) comes out of the
    node with the CPU as its load device: core sampling's load_models_gpu keeps every host weight on the CPU (moving
    one to cuda:0 would fail here) and the result is the single-device one."""
    import comfy.model_management as mm

    on_gpu = model.clone()
    on_gpu.load_device = torch.device("cuda", 0)
    multi = pack_nodes.multi_gpu.LTX2NMultiGPU.execute(on_gpu, CKPT, "cpu,cpu", "auto").result[0]
    assert multi.load_device == torch.device("cpu") and on_gpu.load_device == torch.device("cuda", 0)
    assert _close(sample(multi), want)
    loaded = [m for m in mm.current_loaded_models if m.model is multi]
    assert [m.device for m in loaded] == [torch.device("cpu")]
    assert {p.device.type for p in multi.model.diffusion_model.parameters()} == {"cpu"}


def _write_lora(comfy_host, model, name: str, modules: tuple[str, ...], seed: int) -> str:
    """A Lightricks-format LoRA (rank 2) on ``modules`` of the tiny model, in the host's models/loras."""
    params, gen, tensors = dict(model.model.diffusion_model.named_parameters()), torch.Generator().manual_seed(seed), {}
    for module in modules:
        out, inp = params[f"{module}.weight"].shape
        tensors[f"diffusion_model.{module}.lora_A.weight"] = torch.randn(2, inp, generator=gen) * 0.5
        tensors[f"diffusion_model.{module}.lora_B.weight"] = torch.randn(out, 2, generator=gen) * 0.5
    write_safetensors(comfy_host.model_dir("loras") / name, tensors)
    return name


def _close(got, want) -> bool:
    return all(float((g - w).abs().max()) <= 1e-5 for g, w in zip(got.unbind(), want.unbind(), strict=True))


def _check_loras_on_the_workers(comfy_host, pack_nodes, model, sample, multi) -> None:
    """LoRAs after the node (Load LoRA (LTX-2)) and before it (core LoraLoaderModelOnly) run on the workers and give
    the single-device result; switching LoRAs restores tensors, never reloads the checkpoint."""
    ours = pack_nodes.lora.LTX2NLoraLoader
    core = comfy_host.node_class("LoraLoaderModelOnly")()
    first = _write_lora(comfy_host, model, "ltx2n_mgpu_a.safetensors",
                        ("transformer_blocks.0.attn1.to_q", "transformer_blocks.0.ff.net.0.proj"), 5)
    second = _write_lora(comfy_host, model, "ltx2n_mgpu_b.safetensors", ("transformer_blocks.0.attn1.to_q",), 6)
    plain = sample(model)
    want = sample(ours.execute(ours.execute(model, first, 0.7).result[0], second, -1.5).result[0])
    assert not _close(want, plain)  # the LoRAs change the result
    assert _close(sample(ours.execute(ours.execute(multi, first, 0.7).result[0], second, -1.5).result[0]), want)
    before = core.load_lora_model_only(model, second, 1.2)[0]
    node = pack_nodes.multi_gpu.LTX2NMultiGPU
    assert _close(sample(node.execute(before, CKPT, "cpu,cpu", "sequence").result[0]), sample(before))
    events = multi.model_options["transformer_options"][pack_nodes.diffusion.PASS_RUNNER_KEY].set_loras(())
    assert [e.split()[0] for e in events] == ["load", "lora", "restore", "lora", "restore"], events
    assert events[1] == "lora ltx2n_mgpu_a.safetensors@0.7, ltx2n_mgpu_b.safetensors@-1.5", events


def _check_a_patch_that_is_no_file_is_refused(sample, multi) -> None:
    """A weight patch that no file of models/loras holds stops the sampling run with a clear message instead of
    running the workers without it."""
    patched = multi.clone()
    key = next(k for k in patched.model.state_dict() if k.endswith("attn1.to_q.weight"))
    assert patched.add_patches({key: (torch.zeros_like(patched.model.state_dict()[key]),)}, 1.0) == [key]
    with pytest.raises(ValueError, match="is not a LoRA file of models/loras"):
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


def test_multi_gpu_a_new_checkpoint_replaces_the_workers(pack_nodes) -> None:
    """The same checkpoint and devices keep the pool (and its loaded weights); another checkpoint closes it and
    makes a pool that loads the new file (workers start lazily, on the first pass)."""
    mgpu = pack_nodes.multi_gpu
    try:
        first = mgpu.worker_pool("/models/a.safetensors", ("cpu", "cpu"), torch.float32)
        assert mgpu.worker_pool("/models/a.safetensors", ("cpu", "cpu"), torch.float32) is first
        second = mgpu.worker_pool("/models/b.safetensors", ("cpu", "cpu"), torch.float32)
        assert second is not first and second.spec.setup.path == "/models/b.safetensors"
        assert list(mgpu._POOLS.values()) == [second]  # noqa: SLF001 - the old pool (and its weights) is gone
    finally:
        for pool in list(mgpu._POOLS.values()):  # noqa: SLF001
            pool.close()
        mgpu._POOLS.clear()  # noqa: SLF001


def test_multi_gpu_lora_set_reads_per_stream_strengths_and_refuses_model_strength(comfy_host, pack_nodes,
                                                                                 model) -> None:
    """A LoRA applied with separate video / audio strengths (LoRA Stack) reads back as two applications of the file,
    each limited to its stream's layers; a model strength other than 1 is refused (the workers cannot apply it)."""
    LoraApplication = pack_nodes.multi_gpu_lora.LoraApplication  # noqa: N806 - the pack's own class (its module prefix)
    video, audio = "transformer_blocks.0.attn1.to_q", "transformer_blocks.0.audio_attn1.to_k"
    name = _write_lora(comfy_host, model, "ltx2n_mgpu_streams.safetensors", (video, audio), 7)
    path = str(comfy_host.model_dir("loras") / name)
    read_back = pack_nodes.multi_gpu_lora.lora_set
    patched = pack_nodes.camera.apply_per_stream(model, path, 0.5, -1.0)
    assert read_back(patched) == (LoraApplication(path, 0.5, (video,)), LoraApplication(path, -1.0, (audio,)))
    assert read_back(pack_nodes.camera.apply_per_stream(model, path, 0.5, 0.5)) == (LoraApplication(path, 0.5),)
    scaled = model.clone()
    scaled.add_patches(pack_nodes.lora.lora_patches(model, path), 1.0, 0.5)
    with pytest.raises(ValueError, match="not a LoRA file of models/loras \\(model strength 0.5"):
        read_back(scaled)


def test_multi_gpu_refuses_a_checkpoint_of_another_model(comfy_host, pack_nodes, model, manifests_dir) -> None:
    """ckpt_name is checked against the MODEL from its header: another family (here a 19B file in
    models/diffusion_models) or a file that is no model is refused with the node, the file and the fix; a split
    transformer file of the same model in models/diffusion_models is accepted (listed and validated)."""
    node, mgpu = pack_nodes.multi_gpu.LTX2NMultiGPU, pack_nodes.multi_gpu
    other = "ltx2n_mgpu_other_19b.safetensors"
    write_tiny_checkpoint(comfy_host.model_dir("diffusion_models") / other,
                          json.loads((manifests_dir / "ltx-2-19b.json").read_text()))
    same = "ltx2n_mgpu_split_22b.safetensors"
    split = comfy_host.model_dir("diffusion_models") / same
    split.write_bytes((comfy_host.model_dir("checkpoints") / CKPT).read_bytes())
    lora = _write_lora(comfy_host, model, "ltx2n_mgpu_not_a_model.safetensors", ("transformer_blocks.0.attn1.to_q",), 3)
    (comfy_host.model_dir("checkpoints") / lora).write_bytes((comfy_host.model_dir("loras") / lora).read_bytes())
    before = dict(mgpu._POOLS)  # noqa: SLF001
    try:
        with pytest.raises(ValueError, match=rf"Multi-GPU \(LTX-2\): ckpt_name {other} holds .*19.*but the model "
                                             r"input is .*pick the file the model was loaded from"):
            node.execute(model, other, "cpu,cpu", "auto")
        with pytest.raises(ValueError, match=rf"Multi-GPU \(LTX-2\): ckpt_name {lora} is not"):
            node.execute(model, lora, "cpu,cpu", "auto")
        assert dict(mgpu._POOLS) == before  # noqa: SLF001 - no pool was made (or replaced) for a refused file
        assert node.validate_inputs(same) is True and "is not a file" in node.validate_inputs("missing.safetensors")
        assert mgpu.checked_checkpoint(model, same) == str(split)
    finally:
        for pool in list(mgpu._POOLS.values()):  # noqa: SLF001
            pool.close()
        mgpu._POOLS.clear()  # noqa: SLF001


def test_multi_gpu_pools_are_keyed_by_dtype_and_a_replaced_pool_becomes_the_only_live_one(pack_nodes) -> None:
    """A dtype change gets its own pool (stale workers with the old dtype are closed); two Multi-GPU MODELs used in
    turn never leave two pools: each run first makes its own pool the live one and closes the other (workers are
    not started here: each pool's run is replaced by a stub)."""
    mgpu = pack_nodes.multi_gpu
    try:
        first = mgpu.worker_pool("/models/a.safetensors", ("cpu", "cpu"), torch.float32)
        second = mgpu.worker_pool("/models/a.safetensors", ("cpu", "cpu"), torch.bfloat16)
        assert second is not first and list(mgpu._POOLS.values()) == [second]  # noqa: SLF001
        closed = []
        for pool in (first, second):
            pool.run = lambda *args, pool=pool, **kwargs: pool.spec.setup.dtype  # a stub: no workers start
            pool.close = lambda pool=pool, **kwargs: closed.append(pool.spec.setup.dtype)
        stale = mgpu.HostPoolPass(first)  # the MODEL of the first node, whose pool the second node replaced
        assert stale.set_loras(()) is torch.float32
        assert list(mgpu._POOLS.values()) == [first] and closed == [torch.bfloat16]  # noqa: SLF001
        assert mgpu.HostPoolPass(second).set_loras(()) is torch.bfloat16
        assert list(mgpu._POOLS.values()) == [second] and closed == [torch.bfloat16, torch.float32]  # noqa: SLF001
    finally:
        mgpu._POOLS.clear()  # noqa: SLF001
