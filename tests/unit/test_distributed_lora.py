"""LoRAs on the persistent workers (gloo on CPU, 2 and 3 processes): each worker reads the LoRA files itself and
fuses them into its own transformer; the sequence- / guidance-parallel passes then equal one process with the same
LoRAs, and changing the LoRA set restores only the changed tensors from the checkpoint (the base weights are loaded
once).

Workers start from a forkserver here (production uses spawn) to keep the starts cheap on a 2-core machine.
"""

from __future__ import annotations

import copy
from pathlib import Path

import distributed_cases
import pytest
import torch
import torch.multiprocessing as mp

from ltx_model.demo import DemoFamily
from ltx_model.demo.weights import write_demo_checkpoint
from ltx_model.distributed import LoraApplication, PoolPass, PoolSpec, TransformerSetup, WorkerError, WorkerPool
from ltx_model.distributed.service import take_samples
from ltx_model.loading import load_component, write_safetensors
from ltx_model.lora import fuse_loras_into_module, open_lora

Q = "transformer_blocks.0.attn1.to_q"
FF = "transformer_blocks.1.ff.net.0.proj"
A2V = "transformer_blocks.0.audio_to_video_attn.to_k"


def _write_lora(path: Path, model: torch.nn.Module, modules: tuple[str, ...], seed: int) -> str:
    """A Lightricks-format LoRA (``diffusion_model.<module>.lora_A/B.weight``, rank 2) on ``modules``."""
    params, gen, tensors = dict(model.named_parameters()), torch.Generator().manual_seed(seed), {}
    for module in modules:
        out, inp = params[f"{module}.weight"].shape
        tensors[f"diffusion_model.{module}.lora_A.weight"] = torch.randn(2, inp, generator=gen) * 0.3
        tensors[f"diffusion_model.{module}.lora_B.weight"] = torch.randn(out, 2, generator=gen) * 0.3
    write_safetensors(path, tensors)
    return str(path)


def _run(model: torch.nn.Module, video, audio, per_sample: bool) -> tuple:
    """``model``'s pass on the batch of 2, whole or one sample at a time (as guidance parallel runs it: batch-1
    matmuls round differently from batch-2 ones in the last bit)."""
    with torch.no_grad():
        if not per_sample:
            return model(video, audio)
        outs = [model(take_samples(video, torch.tensor([i]), 2), take_samples(audio, torch.tensor([i]), 2))
                for i in range(2)]
    return tuple(torch.cat(parts) for parts in zip(*outs, strict=True))


def _one_process(model: torch.nn.Module, items: tuple[LoraApplication, ...], video, audio, per_sample: bool):
    """The single-process result: a copy of the transformer with the LoRAs fused."""
    fused = copy.deepcopy(model)
    loras = [open_lora(item.path) for item in items]
    for lora, item in zip(loras, items, strict=True):
        if item.modules is not None:
            lora.layers = {m: layer for m, layer in lora.layers.items() if m in item.modules}
    fuse_loras_into_module(fused, [(lora, item.strength) for lora, item in zip(loras, items, strict=True)])
    return _run(fused, video, audio, per_sample)


def _diff(got: tuple, want: tuple) -> float:
    return max(float((g - w).abs().max()) for g, w in zip(got, want, strict=True))


@pytest.mark.parametrize(("world", "strategy"), [(2, "sequence"), (3, "guidance")])
def test_worker_lora_sequence_parallel_equals_one_process_and_swaps_without_reload(tmp_path: Path, world: int,
                                                                                 strategy: str) -> None:
    """2 ranks split the tokens; 3 ranks (the demo transformer has 2 heads, so no 3-way token split) take one
    sample of the batch of 2 each, the third rank none (an uneven guidance split)."""
    path = write_demo_checkpoint(tmp_path / "ltx-2.3-22b-distilled.safetensors", DemoFamily.LTX23,
                                 dtype=torch.float32)
    model = load_component(path, "transformer", dtype=torch.float32)
    video = distributed_cases.modality(model.config, 7, audio=False, seed=1)
    audio = distributed_cases.modality(model.config, 5, audio=True, seed=2)
    first = (LoraApplication(_write_lora(tmp_path / "a.safetensors", model, (Q, FF), 3), 0.8),
             LoraApplication(_write_lora(tmp_path / "b.safetensors", model, (Q, A2V), 4), -0.5))
    second = (LoraApplication(first[1].path, 1.0, modules=(A2V,)),)  # part of a file, as a host may apply it
    mp.set_forkserver_preload(["torch", "distributed_jobs"])
    pool = WorkerPool(PoolSpec(("cpu",) * world, TransformerSetup(str(path), torch.float32),
                               start_method="forkserver", timeout_s=60.0, start_timeout_s=120.0, threads=1))
    runner = PoolPass(pool, strategy)
    try:
        got = {"base": runner(video, audio)}
        runner.set_loras(first)
        got["first"] = runner(video, audio)
        unchanged = runner.set_loras(first)  # the same set again: nothing is read or restored
        runner.set_loras(second)
        got["second"] = runner(video, audio)
        events = runner.set_loras(())
        got["none"] = runner(video, audio)
        with pytest.raises(WorkerError, match="missing.safetensors"):
            runner.set_loras((LoraApplication(str(tmp_path / "missing.safetensors"), 1.0),))
    finally:
        pool.close()
    split = strategy == "guidance"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers' thread count: the same reduction order in the matmuls
    try:
        want = {"base": _run(model, video, audio, split), "none": _run(model, video, audio, split),
                "first": _one_process(model, first, video, audio, split),
                "second": _one_process(model, second, video, audio, split)}
    finally:
        torch.set_num_threads(threads)
    for name, outputs in got.items():
        assert _diff(outputs, want[name]) <= 1e-6, name
    assert _diff(want["first"], want["base"]) > 1e-3 and _diff(want["second"], want["first"]) > 1e-3  # LoRAs matter
    assert unchanged == ["load ltx-2.3-22b-distilled.safetensors", "lora a.safetensors@0.8, b.safetensors@-0.5"]
    assert events == unchanged + ["restore 3 tensors", "lora b.safetensors[1 layers]@1", "restore 1 tensors"]
