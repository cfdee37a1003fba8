"""The measurements of ``scripts/bench.py``: alternating timed repetitions in-process, fresh-process peaks.

Each function returns one :class:`bench_common.Metric`. An implementation that fails is reported as ``null`` with
the exception in ``config`` instead of aborting the whole run.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from bench_common import (
    DIFFUSION_PREFIX,
    H200_BF16_DENSE_TFLOPS,
    IMPLS,
    BenchConfig,
    Metric,
    PassShape,
    median,
    pass_flops,
    spread,
)
from bench_impls import ADAPTERS, make_pass_inputs
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

WORKER = Path(__file__).resolve().parent / "bench_worker.py"


def sync(device: str) -> None:
    """Wait for queued GPU work (no-op on CPU)."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def alternate(fns: dict[str, Callable[[], Any]], *, reps: int, device: str) -> dict[str, list[float]]:
    """One warm-up call each, then ``reps`` rounds calling every implementation once per round (rotating the
    order every round, so that drifting machine load hits all of them alike). Returns seconds per call."""
    names = list(fns)
    with torch.inference_mode():
        for name in names:
            fns[name]()
            sync(device)
        times: dict[str, list[float]] = {name: [] for name in names}
        for rep in range(reps):
            for name in names[rep % len(names):] + names[: rep % len(names)]:
                sync(device)
                start = time.perf_counter()
                fns[name]()
                sync(device)
                times[name].append(time.perf_counter() - start)
    return times


@contextmanager
def guarded(metric: Metric, impl: str) -> Iterator[None]:
    """Turn an implementation's failure into a ``null`` with its reason."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - a peer failing must not stop the benchmark
        metric.set(impl, None, reason=f"{type(exc).__name__}: {exc}"[:300])


def store_times(metric: Metric, times: dict[str, list[float]]) -> None:
    """Medians into the metric, min/max into its config."""
    for impl, values in times.items():
        metric.set(impl, round(median(values), 6))
        metric.config[f"{impl}_spread_s"] = spread(values)


# ----------------------------------------------------------------------------------------------- transformer pass
def transformer_pass(cfg: BenchConfig, state: dict[str, torch.Tensor], shape: PassShape,
                     compiled: Metric | None = None, *, backend: str = "inductor") -> Metric:
    """Median seconds of one audio+video forward at ``shape`` (all three models share the weight tensors).

    ``compiled``: also time ours with every block compiled by Inductor (:mod:`ltx_model.compilation`), in the same
    alternating rounds, and fill that metric (``transformer_pass_compiled_s``; ``backend``: the compile backend)."""
    metric = Metric("transformer_pass_s", config={
        **cfg.describe(), "size": shape.label(), "fps": shape.fps, "video_tokens": shape.video_tokens,
        "audio_tokens": shape.audio_tokens, "text_tokens": shape.text_tokens, "attention": "torch SDPA (all three)",
        "timesteps": "per token, first latent frame clean (i2v)" if shape.i2v else "one sigma for all tokens",
        "timed_call": "latent grids in -> velocities out (ours/ltx-core build Modality incl. positions inside)",
    })
    inputs = make_pass_inputs(cfg.section, shape, dtype=cfg.dtype, device=cfg.device)
    fns, models = {}, {}
    for impl in IMPLS:
        with guarded(metric, impl):
            models[impl] = ADAPTERS[impl].transformer(cfg.section, state)
            fns[impl] = ADAPTERS[impl].pass_fn(models[impl], inputs)
    compare_outputs(metric, fns)
    count_ops(metric, fns)
    extra = compiled_fns(metric, cfg, state, inputs, fns.get("ours"), backend) if compiled is not None else {}
    times = alternate({**fns, **extra}, reps=cfg.reps, device=cfg.device)
    store_times(metric, {impl: times[impl] for impl in fns})
    if compiled is not None:
        fill_compiled(compiled, metric, times)
    flops = pass_flops(cfg.section, shape)
    metric.config["tflop_per_pass"] = round(flops / 1e12, 4)
    for impl in fns:
        seconds = getattr(metric, impl)
        metric.config[f"{impl}_tflops"] = round(flops / seconds / 1e12, 4)
        if cfg.device.startswith("cuda"):
            metric.config[f"{impl}_fraction_of_bf16_dense_peak"] = round(
                flops / seconds / 1e12 / H200_BF16_DENSE_TFLOPS, 4)
    del fns, models
    gc.collect()
    return metric


COMPILED = "ours_compiled"


def compiled_fns(metric: Metric, cfg: BenchConfig, state: dict[str, torch.Tensor], inputs: Any,
                 eager: Callable[[], Any] | None, backend: str = "inductor") -> dict[str, Callable[[], Any]]:
    """``{"ours_compiled": pass}``: our model (same weight tensors) with every block compiled (Inductor). The
    compile happens here (``compile_s``) with the max |difference| to ours eager (``compiled_max_abs_diff``), so
    the alternating rounds time only compiled calls. A failure leaves ``{}`` and its reason."""
    from ltx_model.compilation import compile_blocks

    try:
        model = compile_blocks(ADAPTERS["ours"].transformer(cfg.section, state), backend=backend)
        metric.config["compile_backend"] = backend
        fn = ADAPTERS["ours"].pass_fn(model, inputs)
        start = time.perf_counter()
        with torch.inference_mode():
            out = ADAPTERS["ours"].outputs(fn())
            sync(cfg.device)
            metric.config["compile_s"] = round(time.perf_counter() - start, 3)
            if eager is not None:
                ref = ADAPTERS["ours"].outputs(eager())
                metric.config["compiled_max_abs_diff"] = round(max(
                    (a.float() - b.float()).abs().max().item() for a, b in zip(out, ref, strict=True)), 8)
        return {COMPILED: fn}
    except Exception as exc:  # noqa: BLE001 - a compile failure is a result, not a crash
        metric.config["compiled_null_reason"] = f"{type(exc).__name__}: {exc}"[:300]
        return {}


def fill_compiled(compiled: Metric, metric: Metric, times: dict[str, list[float]]) -> None:
    """``transformer_pass_compiled_s``: ours compiled (``ours``) beside core and ltx-core from the same rounds;
    ours eager, the compile time and the compiled-vs-eager difference in ``config``."""
    moved = ("compile_s", "compiled_max_abs_diff", "compiled_null_reason", "compile_backend")
    extra = {k: metric.config.pop(k) for k in moved if k in metric.config}
    compiled.config.update({k: v for k, v in metric.config.items() if not k.startswith(("max_abs", "diff_note"))})
    compiled.config.update(compiled="ours: every block torch.compile(fullgraph=True)", **extra)
    if COMPILED in times:
        compiled.set("ours", round(median(times[COMPILED]), 6))
        compiled.config["ours_spread_s"] = spread(times[COMPILED])
    else:
        compiled.set("ours", None, reason=extra.get("compiled_null_reason", "not compiled"))
    compiled.config["ours_eager_s"] = metric.ours
    for impl in ("comfy_core", "ltx_core"):
        compiled.set(impl, getattr(metric, impl), reason=metric.config.get(f"{impl}_null_reason"))


class OpCounter(TorchDispatchMode):
    """Counts the aten ops dispatched from Python (composite ops once, not their pieces)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        self.count += 1
        return func(*args, **(kwargs or {}))


def count_ops(metric: Metric, fns: dict[str, Callable[[], Any]]) -> None:
    """``{impl}_aten_ops_per_pass``: the per-op dispatch cost (CPU overhead; kernel launches on a GPU)."""
    with torch.inference_mode():
        for impl, fn in fns.items():
            with OpCounter() as counter:
                fn()
            metric.config[f"{impl}_aten_ops_per_pass"] = counter.count


def compare_outputs(metric: Metric, fns: dict[str, Callable[[], Any]]) -> None:
    """Sanity check that the three ran the same computation: max |difference| of the velocities vs ours."""
    if "ours" not in fns:
        return
    with torch.inference_mode():
        ref = ADAPTERS["ours"].outputs(fns["ours"]())
        for impl in (i for i in fns if i != "ours"):
            out = ADAPTERS[impl].outputs(fns[impl]())
            diff = max((a.float() - b.float()).abs().max().item() for a, b in zip(ref, out, strict=True))
            metric.config[f"max_abs_diff_vs_{impl}"] = round(diff, 6)
    metric.config["diff_note"] = ("ComfyUI core differs from ltx-core by design (ltx2-model.md section 2.7); "
                                  "with per-token timesteps ours follows ltx-core HEAD, not 1.0.0")
    metric.config["ref_max_abs"] = round(max(t.abs().max().item() for t in ref), 4)


# ----------------------------------------------------------------------------------------------- VAE decode time
def vae_decode(cfg: BenchConfig, vae_state: dict[str, torch.Tensor]) -> Metric:
    """Median seconds of one whole (untiled) decode of the same latent, model-level call of each."""
    f, h, w = cfg.vae_latent
    metric = Metric("vae_decode_s", config={
        **cfg.describe(), "latent": [1, 128, f, h, w], "pixels": [1 + 8 * (f - 1), 32 * h, 32 * w],
        "decoder_base_channels": cfg.section["vae"].get("decoder_base_channels", 128),
        "calls": "ours VideoVAE.decode, core first_stage_model.decode (its streamed decoder), ltx-core VideoDecoder",
    })
    gen = torch.Generator(device=cfg.device).manual_seed(2)
    latent = torch.randn(1, 128, f, h, w, generator=gen, device=cfg.device).to(cfg.dtype)
    fns = {}
    for impl in IMPLS:
        with guarded(metric, impl):
            vae = ADAPTERS[impl].vae(cfg.section, vae_state, cfg.device, cfg.dtype)
            fns[impl] = (lambda a=ADAPTERS[impl], v=vae: a.decode(v, latent))
    store_times(metric, alternate(fns, reps=max(3, cfg.reps // 3), device=cfg.device))
    del fns
    gc.collect()
    return metric


# ----------------------------------------------------------------------------------------------- fresh processes
def worker(task: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``bench_worker.py`` in a fresh interpreter and parse its result line."""
    proc = subprocess.run([sys.executable, str(WORKER), task, json.dumps(spec)], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=1800)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT "))
    raise RuntimeError(f"worker {task} {spec.get('impl')} failed: {(proc.stderr or proc.stdout)[-400:]}")


def warm_page_cache(path: Path) -> None:
    """Read the file once so that every implementation loads from a warm page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def load(cfg: BenchConfig, path: Path, *, sparse: bool) -> tuple[Metric, Metric]:
    """``load_s`` and ``load_peak_rss_ratio``: each repetition of each implementation in its own process."""
    common = {**cfg.describe(), "checkpoint_bytes": path.stat().st_size,
              "checkpoint": "sparse real-size header (holes read as zeros)" if sparse else "random weights",
              "page_cache": "warm (file read once before)", "keys": f"{DIFFUSION_PREFIX}* incl. text connectors",
              "measured": "natural load call + reading every weight once (lazy mmap views become resident)"}
    times, ratios = Metric("load_s", config=dict(common)), Metric("load_peak_rss_ratio", config=dict(common))
    ratios.config["definition"] = "(peak RSS while building - RSS before) / bytes of the built module"
    warm_page_cache(path)
    spec = {"path": str(path), "device": cfg.device, "dtype": cfg.dtype_name}
    runs: dict[str, list[dict[str, Any]]] = {impl: [] for impl in IMPLS}
    for rep in range(max(2, cfg.reps // 3)):
        for impl in IMPLS[rep % 3:] + IMPLS[: rep % 3]:
            with guarded(times, impl):
                runs[impl].append(worker("load", {**spec, "impl": impl}))
    for impl, results in runs.items():
        if not results:
            ratios.set(impl, None, reason=times.config.get(f"{impl}_null_reason"))
            continue
        store_times(times, {impl: [r["seconds"] for r in results]})
        times.config[f"{impl}_call_returned_s"] = round(median([r["returned_s"] for r in results]), 6)
        growth = [r["rss_growth"] / r["module_bytes"] for r in results]
        ratios.set(impl, round(median(growth), 4))
        ratios.config[f"{impl}_module_bytes"] = results[0]["module_bytes"]
        ratios.config[f"{impl}_rss_growth_bytes"] = int(median([r["rss_growth"] for r in results]))
        if "gpu_growth" in results[0]:
            ratios.config[f"{impl}_gpu_growth_ratio"] = round(results[0]["gpu_growth"] / results[0]["module_bytes"], 4)
    return times, ratios


class LiveTensorPeak(TorchDispatchMode):
    """Peak bytes of tensor storages allocated by aten ops inside the mode and alive at the same time ("tracked
    allocations": independent of the allocator's caching, so it needs no process isolation).

    Being a dispatch mode, it also sees the temporaries of composite ops (e.g. the pieces of a norm). Storages that
    existed before (``known``: weights, the input latent) never count; each counted storage is released by a
    weakref finalizer when it dies. Scratch memory inside one kernel is not seen.
    """

    def __init__(self, known: list[torch.Tensor]) -> None:
        super().__init__()
        self.skip = {t.untyped_storage().data_ptr() for t in known}
        self.sizes: dict[int, int] = {}
        self.current = self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        out = func(*args, **(kwargs or {}))
        storages = [t.untyped_storage() for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        for storage in storages:
            key = storage.data_ptr()
            if key and key not in self.skip and key not in self.sizes:
                self.sizes[key] = storage.nbytes()
                self.current += storage.nbytes()
                weakref.finalize(storage, self._release, key)
        self.peak = max(self.peak, self.current)
        return out

    def _release(self, key: int) -> None:
        self.current -= self.sizes.pop(key)


def tiled_peak(impl: str, vae: Any, latent: torch.Tensor, tiling: dict[str, int], device: str) -> tuple[int, int]:
    """(peak working bytes above the start, output bytes) of one tiled decode."""
    module = getattr(vae, "first_stage_model", vae)  # ComfyUI's VAE wrapper holds the module
    with torch.inference_mode():
        if device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            out = ADAPTERS[impl].decode_tiled(vae, latent, tiling)
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated() - base
        else:
            tracker = LiveTensorPeak([latent, *module.parameters(), *module.buffers()])
            with tracker:
                out = ADAPTERS[impl].decode_tiled(vae, latent, tiling)
            peak = tracker.peak
    # ComfyUI may return the video on its "intermediate device" (CPU): then it is not part of the GPU peak.
    return peak, out.numel() * out.element_size() if out.device == latent.device else 0


def vae_peak(cfg: BenchConfig, vae_state: dict[str, torch.Tensor]) -> Metric:
    """``vae_decode_peak_growth``: working memory of a tiled decode of a 4x longer video over the short one.

    Working memory = peak of the memory allocated during the call minus the decoded video it returns (every
    implementation returns the same-size video, which the caller holds anyway)."""
    f, h, w = cfg.peak_latent
    lengths = (f, 4 * (f - 1) + 1)
    tiling = {"px": cfg.tile_px, "overlap_px": cfg.tile_overlap_px, "frames": cfg.tile_frames,
              "overlap_frames": cfg.tile_overlap_frames}
    metric = Metric("vae_decode_peak_growth", config={
        **cfg.describe(), "size": f"{lengths[0]}->{lengths[1]} latent frames", "latent_hw": [h, w],
        "pixel_frames": [1 + 8 * (n - 1) for n in lengths], "tiling_pixels": tiling,
        "memory": "torch.cuda.max_memory_allocated" if cfg.device.startswith("cuda") else
                  "tracked live tensor bytes (TorchDispatchMode over the decode)",
        "definition": "(peak - output bytes) long / short; *_raw_ratio includes the output",
    })
    gen = torch.Generator(device=cfg.device).manual_seed(3)
    latents = [torch.randn(1, 128, n, h, w, generator=gen, device=cfg.device).to(cfg.dtype) for n in lengths]
    for impl in IMPLS:
        with guarded(metric, impl):
            vae = ADAPTERS[impl].vae(cfg.section, vae_state, cfg.device, cfg.dtype)
            runs = [tiled_peak(impl, vae, latent, tiling, cfg.device) for latent in latents]
            work = [max(peak - out, 1) for peak, out in runs]
            metric.set(impl, round(work[1] / work[0], 4))
            metric.config[f"{impl}_working_bytes"] = work
            metric.config[f"{impl}_raw_ratio"] = round(runs[1][0] / max(runs[0][0], 1), 4)
            metric.config["output_bytes"] = [out for _, out in runs]
            del vae
    return metric
