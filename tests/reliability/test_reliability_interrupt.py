"""Interrupts: POST /interrupt to the real server while the pack's sampler runs; ComfyUI's interrupt (the call
POST /interrupt makes) during a many-tile video decode and during checkpoint loading, in-process. Each run must end
interrupted within one step / tile, keep nothing it allocated, and the next prompt must run normally."""

from __future__ import annotations

import gc
import uuid

import pytest
import torch
from rel_inprocess import live_modules, loaded_models

pytestmark = pytest.mark.reliability

STEPS = 1000  # far more than can finish before the interrupt lands
INTERRUPT_AT_STEP = 2


def _sampler_prompt(factory, steps: int, seed: int) -> dict:
    return factory.prompt_for("LTX2NSampler", {"steps": steps, "seed": seed, "schedule": "LTX-2 schedule",
                                               "guidance": "none"})


def test_reliability_interrupt_sampling_over_http(rel_server, factory, assert_server_healthy):
    client = str(uuid.uuid4())
    with rel_server.events(client) as events:
        answer = rel_server.submit(_sampler_prompt(factory, STEPS, seed=1), client_id=client)
        assert answer.status == 200, answer
        prompt_id, sent_at, last, end = answer.body["prompt_id"], None, 0, None
        while end is None:
            kind, data = events.next()
            if data.get("prompt_id") not in (None, prompt_id):
                continue
            if kind == "progress" and data.get("node") == "T":
                last = data["value"]
                if sent_at is None and last >= INTERRUPT_AT_STEP:
                    rel_server.interrupt()
                    sent_at = last
            elif kind in ("execution_interrupted", "execution_error", "execution_success"):
                end = kind
    assert sent_at is not None, "the sampler reported no progress"
    assert end == "execution_interrupted", end
    assert last - sent_at <= 1, f"{last - sent_at} steps ran after the interrupt (sent at step {sent_at})"
    entry = rel_server.wait_fast(prompt_id)
    assert entry["status"]["status_str"] == "error"
    assert_server_healthy(after="an interrupted sampler")
    rerun = rel_server.run(_sampler_prompt(factory, 2, seed=2))
    assert rerun.status == "success", rerun.messages()


@pytest.fixture
def interrupt_after(comfy_host, monkeypatch):
    """``arm(cls, name, after)``: ``cls.name`` calls ComfyUI's interrupt (what POST /interrupt does) once it has been
    called ``after`` times; returns the call counter ``{"calls": n, "at": n at the interrupt}``."""
    import nodes

    def arm(cls, name: str, after: int) -> dict:
        original, state = getattr(cls, name), {"calls": 0, "at": None}

        def wrapped(*args, **kwargs):
            result = original(*args, **kwargs)
            state["calls"] += 1
            if state["calls"] == after:
                nodes.interrupt_processing()
                state["at"] = state["calls"]
            return result

        monkeypatch.setattr(cls, name, wrapped)
        return state

    yield arm
    nodes.interrupt_processing(False)


def _big_tensors(min_numel: int) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, torch.Tensor) and o.numel() >= min_numel)


def _decode_prompt(checkpoint: str) -> dict:
    return {"vae": {"class_type": "LTX2NVideoVAELoader", "inputs": {"vae_name": checkpoint}},
            "lat": {"class_type": "LTX2NEmptyAVLatent",
                    "inputs": {"width": 128, "height": 128, "frames": 17, "fps": 25.0, "batch_size": 1}},
            "T": {"class_type": "LTX2NDecodeVideo", "inputs": {"samples": ["lat", 0], "vae": ["vae", 0]}},
            "out": {"class_type": "PreviewAny", "inputs": {"source": ["T", 0]}}}


@pytest.fixture(scope="module")
def rel_checkpoint(comfy_host, tmp_path_factory):
    """A tiny 2.3 checkpoint in an extra checkpoints folder of the in-process host."""
    from rel_inprocess import extra_model_folder

    from ltx_model.demo import DemoFamily, write_demo_checkpoint

    with extra_model_folder("checkpoints", tmp_path_factory.mktemp("rel_interrupt")) as folder:
        write_demo_checkpoint(folder / "rel-interrupt-2.3.safetensors", DemoFamily.LTX23, dtype=torch.float32)
        yield "rel-interrupt-2.3.safetensors"


def test_reliability_interrupt_tiled_decode_within_one_tile(comfy_host, rel_checkpoint, interrupt_after,
                                                            monkeypatch):
    import comfy.model_management as mm

    monkeypatch.setattr(mm, "get_free_memory", lambda *args, **kwargs: 1)  # -> the smallest tiles
    progress = comfy_host.pack_nodes.progress.HostProgress
    tiles = interrupt_after(progress, "check_interrupt", after=10**9)  # counts tiles only
    assert comfy_host.run(_decode_prompt(rel_checkpoint)).success
    total = tiles["calls"]
    assert total >= 8, f"only {total} tiles: not a many-tile decode"

    pixels = 17 * 128 * 128 * 3
    before_tensors, before_modules = _big_tensors(pixels), live_modules()
    tiles = interrupt_after(progress, "__call__", after=1)
    result = comfy_host.run(_decode_prompt(rel_checkpoint) | {"lat": {
        "class_type": "LTX2NEmptyAVLatent", "inputs": {"width": 128, "height": 128, "frames": 17, "fps": 24.0,
                                                       "batch_size": 1}}})  # a new latent: no cached decode
    assert not result.success and any(event == "execution_interrupted" for event, _ in result.messages)
    assert tiles["calls"] - tiles["at"] == 0, f"{tiles['calls'] - tiles['at']} tile(s) decoded after the interrupt"
    assert _big_tensors(pixels) <= before_tensors, "the interrupted decode kept its output buffer"
    assert live_modules() <= before_modules
    monkeypatch.undo()
    assert comfy_host.run(_decode_prompt(rel_checkpoint)).success  # the next prompt runs normally


def test_reliability_interrupt_during_loading_within_one_tensor(comfy_host, pack_nodes, rel_checkpoint,
                                                                interrupt_after):
    import sys

    reader = sys.modules[comfy_host.pack.__name__ + ".ltx_model.loading.safetensors_io"].SafetensorsReader
    reads = interrupt_after(reader, "read", after=3)
    prompt = {"T": {"class_type": "LTX2NCheckpointLoader", "inputs": {"ckpt_name": rel_checkpoint}},
              "out": {"class_type": "PreviewAny", "inputs": {"source": ["T", 0]}}}
    models = loaded_models()
    result = comfy_host.run(prompt)
    assert not result.success and any(event == "execution_interrupted" for event, _ in result.messages)
    assert loaded_models() == models
    assert reads["calls"] - reads["at"] <= 1, f"{reads['calls'] - reads['at']} tensors read after the interrupt"


def test_reliability_interrupt_during_gguf_loading_within_one_tensor(comfy_host, interrupt_after, tmp_path_factory):
    """Load GGUF Model (LTX-2) stops within one tensor on an interrupt, keeps nothing, and loads normally after."""
    import sys

    from rel_inprocess import extra_model_folder

    from ltx_model.demo import DemoFamily, demo_checkpoint_tensors, demo_config
    from ltx_model.loading.gguf import write_gguf
    from ltx_model.quant import GGMLType

    prefix = "model.diffusion_model."
    tensors = {k.removeprefix(prefix): (v.float(), GGMLType.F32)
               for k, v in demo_checkpoint_tensors(DemoFamily.LTX23).items() if k.startswith(prefix)}
    gguf_file = sys.modules[comfy_host.pack.__name__ + ".ltx_model.loading.gguf"].GGUFFile
    prompt = {"G": {"class_type": "LTX2NGGUFLoader", "inputs": {"unet_name": "rel-interrupt-2.3.gguf"}},
              "out": {"class_type": "PreviewAny", "inputs": {"source": ["G", 0]}}}
    with extra_model_folder("diffusion_models", tmp_path_factory.mktemp("rel_gguf")) as folder:
        write_gguf(folder / "rel-interrupt-2.3.gguf", tensors,
                   config={"transformer": demo_config(DemoFamily.LTX23)["transformer"]})
        reads = interrupt_after(gguf_file, "read", after=3)
        models = loaded_models()
        result = comfy_host.run(prompt)
        assert not result.success and any(event == "execution_interrupted" for event, _ in result.messages)
        assert loaded_models() == models
        assert reads["calls"] - reads["at"] <= 1, f"{reads['calls'] - reads['at']} tensors read after the interrupt"
        assert reads["calls"] < len(tensors) // 2
        import nodes

        nodes.interrupt_processing(False)
        assert comfy_host.run(prompt).success  # the next prompt loads the whole file
