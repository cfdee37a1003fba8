"""The measurements of ``scripts/gpu_check.py``: one function per step, each writing its own result lines.

Weights are the benchmark's (``bench.transformer_state``: real-size LTX-2.3 22B on the GPU, or the quick size on
the CPU for ``--dry-run``), created once and shared by every implementation (ours, ComfyUI core, ltx-core); timing
alternates implementations (``bench_measure.alternate``). CUDA-only parts write a ``skipped`` line on the CPU.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
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
# Seconds of one bf16 pass measurement per size (3 implementations x (warm-up + 3 repetitions) + model set-up):
# rough guesses before any GPU run; the size's start gate. The fp8 measurement (2 implementations) takes a share.
SIZE_ESTIMATE_S = {"768x512x121": 25.0, "1216x704x121": 55.0, "1920x1088x121": 140.0}
FP8_SHARE = 0.6


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
    reserve_s: float = 0.0  # estimated seconds of the steps after the current one (set by gpu_check.run_steps)

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
        """The pass sizes: the quick size on a dry run, else the real sizes and 1080p (gated by
        :func:`gated_passes`)."""
        if self.cfg.quick:
            return self.cfg.passes[:1]
        return (*REAL_PASSES, LARGE_PASS)

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


def gated_passes(ctx: Context, metric: str, shapes: tuple[PassShape, ...], share: float = 1.0
                 ) -> Iterator[PassShape]:
    """Each of ``shapes`` whose estimate (:data:`SIZE_ESTIMATE_S` x ``share``; 0 on a dry run) fits the budget left
    when it is reached; the optional 1080p size must also leave the later steps' estimates. The others get a
    ``skipped_budget`` line."""
    for shape in shapes:
        estimate = 0.0 if ctx.cfg.quick else SIZE_ESTIMATE_S.get(shape.label(), 0.0) * share
        optional = shape == LARGE_PASS
        left = ctx.left_s() - (ctx.reserve_s if optional else 0.0)
        if left < estimate or ctx.left_s() <= 0:
            note = " after the later steps' estimates" if optional else ""
            ctx.recorder.add(metric, shape=shape.label(), dtype=ctx.cfg.dtype_name, status="skipped_budget",
                             error=f"estimated {estimate:.0f} s, {max(left, 0):.0f} s of the budget left{note}",
                             config={"estimate_s": estimate})
            continue
        yield shape


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
    for shape in gated_passes(ctx, "transformer_pass_s", ctx.passes()):
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


def _fp8_models(ctx: Context) -> tuple[dict[str, torch.nn.Module], dict[str, str], dict[str, Any]]:
    """(models by implementation, build failure by implementation, notes): ours with ``quantize_linears`` and core's
    fp8_ops model, each built in its own guard."""
    built = Metric("transformer_pass_fp8_s")
    models: dict[str, torch.nn.Module] = {}
    with bm.guarded(built, "ours"):
        ours = ADAPTERS["ours"].transformer(ctx.cfg.section, ctx.state())
        built.config["ours_fp8_layers"] = len(quantize_linears(ours))
        models["ours"] = ours
    with bm.guarded(built, "comfy_core"):
        models["comfy_core"] = _core_fp8(ctx)
    failures = {impl: built.config.pop(f"{impl}_null_reason") for impl in ("ours", "comfy_core")
                if f"{impl}_null_reason" in built.config}
    return models, failures, built.config


def fp8_shapes(ctx: Context) -> tuple[PassShape, ...]:
    """The sizes step 2 measured in bf16 (every size when it did not run: ``--only fp8_pass``)."""
    return tuple(s for s in ctx.passes() if not ctx.bf16_s or s.label() in ctx.bf16_s)


def fp8_pass(ctx: Context) -> None:
    """Every pass size step 2 measured in bf16 (all sizes when it did not run), budget allowing, with fp8 block
    matrices: ours (``torch._scaled_mm`` where the card has fp8 tensor cores, else the emulation) vs core's fp8_ops,
    alternating; the bf16 time of step 2 for the speed-up."""
    models, failures, notes = _fp8_models(ctx)
    for shape in gated_passes(ctx, "transformer_pass_fp8_s", fp8_shapes(ctx), FP8_SHARE):
        metric = Metric("transformer_pass_fp8_s", config={
            "size": shape.label(), "ours_path": fp8_path(ctx.cfg.device).value, **notes,
            "weights": "e4m3, ours per-tensor scaled, core unscaled cast"})
        inputs = make_pass_inputs(ctx.cfg.section, shape, dtype=ctx.cfg.dtype, device=ctx.cfg.device)
        fns = {}
        for impl in ("ours", "comfy_core"):
            if impl in failures:
                metric.set(impl, None, reason=failures[impl])
                continue
            with bm.guarded(metric, impl):
                fns[impl] = ADAPTERS[impl].pass_fn(models[impl], inputs)
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


__all__ = ["Context", "compiled", "consumer_cards", "fp8_pass", "fp8_shapes", "gated_passes", "gemma_encode",
           "matmul_peak", "peak_vram", "transformer_pass"]
