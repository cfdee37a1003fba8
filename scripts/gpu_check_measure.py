"""The measurements of ``scripts/gpu_check.py``: one function per step, each writing its own result lines.

Weights are the benchmark's (``bench.transformer_state``: real-size LTX-2.3 22B on the GPU, or the quick size on
the CPU for ``--dry-run``), created once and shared by every implementation (ours, ComfyUI core, ltx-core); timing
alternates implementations (``bench_measure.alternate``). CUDA-only parts write a ``skipped`` line on the CPU.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any

import bench_measure as bm
import torch
from bench import transformer_state, vae_state
from bench_common import BenchConfig, Metric, PassShape, pass_flops
from bench_impls import ADAPTERS, make_pass_inputs

from ltx_model.precision import fp8_eligible
from ltx_model.quant.fp8 import E4M3, fp8_path, quantize_linears

# Datasheet dense bf16 tensor-core peaks (TFLOP/s, FP32 accumulate) by a substring of the device name.
DENSE_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "B200": 2250.0, "A100": 312.0, "L40S": 362.0,
                     "RTX 5090": 209.0, "RTX 4090": 165.0}
REAL_PASSES = (PassShape(768, 512, 121), PassShape(1216, 704, 121))
LARGE_PASS = PassShape(1920, 1088, 121)
MEMORY_PASS = PassShape(1216, 704, 121)


@dataclass
class Context:
    """Shared state of one run: config, output, budget, and the weights made once."""

    cfg: BenchConfig
    recorder: Any
    started: float
    budget_s: float
    weights: dict[str, torch.Tensor] = field(default_factory=dict)
    bf16_s: dict[str, float] = field(default_factory=dict)
    measured_peak_tflops: float | None = None

    def left_s(self) -> float:
        """Seconds of the budget left."""
        return self.budget_s - (time.perf_counter() - self.started)

    def state(self) -> dict[str, torch.Tensor]:
        """The transformer weights (official keys), made on the run's device at the first use."""
        if not self.weights:
            self.weights.update(transformer_state(self.cfg))
        return self.weights

    @property
    def cuda(self) -> bool:
        return self.cfg.device.startswith("cuda")

    def passes(self) -> tuple[PassShape, ...]:
        """The pass sizes: the quick size on a dry run, else the real sizes (+ 1080p while the budget allows)."""
        if self.cfg.quick:
            return self.cfg.passes[:1]
        return REAL_PASSES + ((LARGE_PASS,) if self.left_s() > 300 else ())

    def memory_pass(self) -> PassShape:
        return self.cfg.passes[0] if self.cfg.quick else MEMORY_PASS

    def release(self) -> None:
        """Free what a step left (the weights stay)."""
        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()

    def line(self, metric: Metric, *, shape: str, unit: str = "s", **extra: Any) -> None:
        """Record a bench :class:`Metric`."""
        self.recorder.add(metric.metric, shape=shape, dtype=self.cfg.dtype_name, unit=unit, ours=metric.ours,
                          comfy_core=metric.comfy_core, ltx_core=metric.ltx_core, config={**metric.config, **extra})


def dense_peak() -> float | None:
    """The datasheet dense bf16 peak of the current CUDA device, if known."""
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(0)
    return next((v for k, v in DENSE_BF16_TFLOPS.items() if k in name), None)


# ----------------------------------------------------------------------------------------------- steps
def matmul_peak(ctx: Context) -> None:
    """Sustained GEMM throughput on the spot (bf16 8192^3 on a GPU; float32 256^3 on a dry run)."""
    n, iters = (256, 5) if ctx.cfg.quick else (8192, 20)
    a = torch.randn(n, n, device=ctx.cfg.device, dtype=ctx.cfg.dtype)
    b = torch.randn(n, n, device=ctx.cfg.device, dtype=ctx.cfg.dtype)
    for _ in range(3):
        a @ b
    bm.sync(ctx.cfg.device)
    start = time.perf_counter()
    for _ in range(iters):
        a @ b
    bm.sync(ctx.cfg.device)
    ctx.measured_peak_tflops = 2 * n**3 * iters / (time.perf_counter() - start) / 1e12
    ctx.recorder.add("matmul_peak_tflops", shape=f"{n}x{n}x{n}", dtype=ctx.cfg.dtype_name, unit="TFLOP/s",
                     ours=round(ctx.measured_peak_tflops, 6), comfy_core=round(ctx.measured_peak_tflops, 6),
                     config={"dense_bf16_datasheet_tflops": dense_peak(), "note": "the card, same for all"})


def transformer_pass(ctx: Context) -> None:
    """One pass per size, ours vs core (vs ltx-core), with the fractions of the dense and the measured peak."""
    for shape in ctx.passes():
        metric = bm.transformer_pass(ctx.cfg, ctx.state(), shape)
        flops = pass_flops(ctx.cfg.section, shape)
        extra = {}
        for impl in ("ours", "comfy_core", "ltx_core"):
            seconds = getattr(metric, impl)
            if seconds and ctx.measured_peak_tflops:
                extra[f"{impl}_fraction_of_measured_peak"] = round(flops / seconds / 1e12 / ctx.measured_peak_tflops, 4)
            if seconds and dense_peak():
                extra[f"{impl}_fraction_of_dense_peak"] = round(flops / seconds / 1e12 / dense_peak(), 4)
        if metric.ours:
            ctx.bf16_s[shape.label()] = metric.ours
        ctx.line(metric, shape=shape.label(), **extra)
        if ctx.left_s() <= 0:
            break


def _core_fp8(ctx: Context) -> torch.nn.Module:
    """ComfyUI core's model with ``comfy.ops.fp8_ops`` layers and the eligible block matrices cast to e4m3 (its
    ``--fast fp8_matrix_mult`` path; unscaled, as a plain fp8 checkpoint)."""
    import comfy.ops
    from bench_common import DIFFUSION_PREFIX
    from bench_impls import assign_checked, strip
    from comfy.ldm.lightricks.av_model import LTXAVModel

    with torch.device("meta"):
        model = LTXAVModel(**ctx.cfg.section["transformer"], operations=comfy.ops.fp8_ops)
    state = {k: (v.to(E4M3) if fp8_eligible(k) else v) for k, v in strip(ctx.state(), DIFFUSION_PREFIX).items()}
    return assign_checked(model, state, what="comfy_core fp8")


def fp8_pass(ctx: Context) -> None:
    """The first pass size with fp8 block matrices: ours (``torch._scaled_mm`` where the card has fp8 tensor
    cores, else the emulation) vs core's fp8_ops, alternating; the bf16 time of step 2 for the speed-up."""
    shape = ctx.passes()[0]
    metric = Metric("transformer_pass_fp8_s", config={
        "size": shape.label(), "ours_path": fp8_path(ctx.cfg.device).value,
        "weights": "e4m3, ours per-tensor scaled, core unscaled cast"})
    inputs = make_pass_inputs(ctx.cfg.section, shape, dtype=ctx.cfg.dtype, device=ctx.cfg.device)
    fns = {}
    with bm.guarded(metric, "ours"):
        ours = ADAPTERS["ours"].transformer(ctx.cfg.section, ctx.state())
        metric.config["ours_fp8_layers"] = len(quantize_linears(ours))
        fns["ours"] = ADAPTERS["ours"].pass_fn(ours, inputs)
    with bm.guarded(metric, "comfy_core"):
        fns["comfy_core"] = ADAPTERS["comfy_core"].pass_fn(_core_fp8(ctx), inputs)
    metric.set("ltx_core", None, reason="not compared here")
    bm.store_times(metric, bm.alternate(fns, reps=ctx.cfg.reps, device=ctx.cfg.device))
    bf16 = ctx.bf16_s.get(shape.label())
    if bf16 and metric.ours:
        metric.config["ours_bf16_s"] = bf16
        metric.config["ours_speedup_vs_bf16"] = round(bf16 / metric.ours, 4)
    ctx.line(metric, shape=shape.label())


def _pass_peak(ctx: Context, impl: str, shape: PassShape) -> int:
    """Peak bytes allocated during one pass above the start (CUDA allocator, or tracked tensors on the CPU)."""
    model = ADAPTERS[impl].transformer(ctx.cfg.section, ctx.state())
    inputs = make_pass_inputs(ctx.cfg.section, shape, dtype=ctx.cfg.dtype, device=ctx.cfg.device)
    fn = ADAPTERS[impl].pass_fn(model, inputs)
    with torch.inference_mode():
        if ctx.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            fn()
            torch.cuda.synchronize()
            return torch.cuda.max_memory_allocated() - base
        known = [*model.parameters(), *model.buffers(), *(t for t in vars(inputs).values() if torch.is_tensor(t))]
        with bm.LiveTensorPeak(known) as tracker:
            fn()
        return tracker.peak


def peak_vram(ctx: Context) -> None:
    """Peak working memory of one pass and of a tiled VAE decode at the memory size, ours vs core."""
    shape = ctx.memory_pass()
    unit = "bytes"
    metric = Metric("pass_peak_vram_bytes", config={"size": shape.label(), "weights": "excluded (resident before)"})
    for impl in ("ours", "comfy_core"):
        with bm.guarded(metric, impl):
            metric.set(impl, _pass_peak(ctx, impl, shape))
        ctx.release()
    metric.set("ltx_core", None, reason="not compared here")
    ctx.line(metric, shape=shape.label(), unit=unit)
    f, h, w = shape.latent
    tiling = {"px": ctx.cfg.tile_px, "overlap_px": ctx.cfg.tile_overlap_px, "frames": ctx.cfg.tile_frames,
              "overlap_frames": ctx.cfg.tile_overlap_frames}
    decode = Metric("vae_tiled_decode_peak_vram_bytes", config={"latent": [1, 128, f, h, w], "tiling_pixels": tiling})
    latent = torch.randn(1, 128, f, h, w, device=ctx.cfg.device, dtype=ctx.cfg.dtype)
    weights = vae_state(ctx.cfg)
    for impl in ("ours", "comfy_core"):
        with bm.guarded(decode, impl):
            vae = ADAPTERS[impl].vae(ctx.cfg.section, weights, ctx.cfg.device, ctx.cfg.dtype)
            decode.set(impl, bm.tiled_peak(impl, vae, latent, tiling, ctx.cfg.device)[0])
            del vae
        ctx.release()
    decode.set("ltx_core", None, reason="not compared here")
    ctx.line(decode, shape=shape.label(), unit=unit)


def consumer_cards(ctx: Context) -> None:
    """24 / 32 GB cards emulated: ours fp8-streamed vs core's lowvram ModelPatcher, and GGUF Q4_K_M
    (``gpu_check_consumer``)."""
    from gpu_check_consumer import consumer_cards as measure

    measure(ctx)


def gemma_encode(ctx: Context) -> None:
    """Gemma-3-12B (random weights) through core's LTX-2 text-encoder Gemma and ours (``gpu_check_gemma``)."""
    from gpu_check_gemma import gemma_encode as measure

    measure(ctx)


def compiled(ctx: Context) -> None:
    """The first pass size with our blocks compiled (Inductor on a GPU; ``aot_eager`` on a dry run, where Inductor
    would take minutes of C++ compilation), alternating with ours eager and core."""
    shape = ctx.passes()[0]
    metric = Metric("transformer_pass_compiled_s")
    backend = "aot_eager" if ctx.cfg.quick else "inductor"
    bm.transformer_pass(ctx.cfg, ctx.state(), shape, metric, backend=backend)
    ctx.line(metric, shape=shape.label())


__all__ = ["Context", "compiled", "consumer_cards", "fp8_pass", "gemma_encode", "matmul_peak", "peak_vram",
           "transformer_pass"]
