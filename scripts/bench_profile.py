"""``scripts/bench.py --profile``: where one transformer pass spends its time, per implementation.

For each implementation: the total number of aten ops dispatched per pass (the CPU-dispatch floor that CUDA graphs
or compile must hide on a GPU, performance.md §4-5) and the top ops by self time (torch.profiler, CPU activity,
plus CUDA activity on a GPU).
"""

from __future__ import annotations

import torch
from bench_common import IMPLS, BenchConfig, PassShape
from bench_impls import ADAPTERS, make_pass_inputs
from torch.profiler import ProfilerActivity, profile

ROWS = 18


def _profile_one(fn, device: str, passes: int = 2) -> profile:  # noqa: ANN001
    """Profile ``passes`` calls after one warm-up."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    with torch.inference_mode():
        fn()
        with profile(activities=activities, record_shapes=False) as prof:
            for _ in range(passes):
                fn()
            if device.startswith("cuda"):
                torch.cuda.synchronize()
    return prof


def _aten_ops(prof: profile, passes: int) -> tuple[int, float]:
    """(aten ops per pass, total self CPU ms per pass of those ops)."""
    events = [e for e in prof.key_averages() if e.key.startswith(("aten::", "mkldnn::"))]
    count = sum(e.count for e in events) // passes
    return count, sum(e.self_cpu_time_total for e in events) / 1e3 / passes


# Self-time groups of the summary line (aten op name -> group); anything else counts as "other".
GROUPS = {
    "matmul": ("aten::addmm", "aten::mm", "aten::bmm", "aten::baddbmm", "mkldnn::_linear_pointwise"),
    "attention": ("aten::_scaled_dot_product", "aten::_flash_attention", "aten::_efficient_attention"),
    "copy/layout": ("aten::copy_", "aten::cat", "aten::stack", "aten::clone", "aten::contiguous", "aten::to",
                    "aten::_to_copy", "aten::type_as", "aten::reshape", "aten::empty"),
    "elementwise": ("aten::mul", "aten::add", "aten::sub", "aten::div", "aten::addcmul", "aten::neg", "aten::gelu",
                    "aten::silu", "aten::sigmoid", "aten::cos", "aten::sin", "aten::pow", "aten::rsqrt",
                    "aten::mean", "aten::sum", "aten::native_layer_norm", "aten::_fused_rms_norm", "aten::exp"),
}


def _groups(prof: profile, passes: int) -> str:
    """``group ms (share)`` of self CPU time per pass."""
    totals: dict[str, float] = {}
    for event in prof.key_averages():
        group = next((g for g, names in GROUPS.items() if event.key.startswith(names)), "other")
        totals[group] = totals.get(group, 0.0) + event.self_cpu_time_total / 1e3 / passes
    whole = sum(totals.values()) or 1.0
    return ", ".join(f"{g} {ms:.1f} ms ({100 * ms / whole:.0f}%)" for g, ms in sorted(totals.items(),
                                                                                    key=lambda kv: -kv[1]))


def report(cfg: BenchConfig, state: dict[str, torch.Tensor], shape: PassShape, passes: int = 2) -> str:
    """The text report for ``shape``."""
    inputs = make_pass_inputs(cfg.section, shape, dtype=cfg.dtype, device=cfg.device)
    sort = "self_cuda_time_total" if cfg.device.startswith("cuda") else "self_cpu_time_total"
    parts = [f"==== profile: one pass at {shape.label()} ({shape.video_tokens} video, {shape.audio_tokens} audio, "
             f"{shape.text_tokens} text tokens), {cfg.dtype_name} on {cfg.device}, averaged over {passes} passes"]
    for impl in IMPLS:
        adapter = ADAPTERS[impl]
        model = adapter.transformer(cfg.section, state)
        prof = _profile_one(adapter.pass_fn(model, inputs), cfg.device, passes)
        count, ms = _aten_ops(prof, passes)
        parts.append(f"---- {impl}: {count} aten op events per pass (nested included), "
                     f"{ms:.1f} ms self CPU in aten per pass")
        parts.append(f"     self CPU per pass by group: {_groups(prof, passes)}")
        parts.append(prof.key_averages().table(sort_by=sort, row_limit=ROWS, max_name_column_width=48))
        del model, prof
    return "\n".join(parts)
