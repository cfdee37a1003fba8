"""The one-command GPU check (``bash scripts/gpu_check.sh --out DIR``): ours vs ComfyUI core on real-size LTX-2.3
22B random weights created on the GPU, every measurement guarded, JSON lines + a summary table in ``--out``.

Measured (the list of issue 20; each a function of ``gpu_check_measure.py``, in this order, each under the time
budget and in its own ``try``: a failure writes an ``error`` line and the next one runs):

1. ``matmul_peak_tflops``: a large bf16 GEMM on the spot (and the card's datasheet dense bf16 peak, if known);
2. ``transformer_pass_s`` at 768x512x121 and 1216x704x121 (1920x1088x121 if the budget allows): one distilled
   pass, bf16, ours vs core (vs ltx-core when the bundle has it), alternating, with the fraction of the dense and
   of the measured peak from the FLOP model of ``shared/reference/performance.md`` §3;
3. ``transformer_pass_fp8_s``: the same pass with e4m3 per-tensor-scaled block matrices, ours through
   ``torch._scaled_mm`` (``ltx_model.quant.fp8``), core through ``comfy.ops.fp8_ops``; ``config`` has the bf16
   time and the speed-up;
4. ``pass_peak_vram_bytes`` and ``vae_tiled_decode_peak_vram_bytes`` at 1216x704x121, ours vs core;
5. ``consumer_card_step_s`` and ``consumer_card_gguf_q4_k_m_step_s``: 24 GB and 32 GB cards emulated with
   ``torch.cuda.set_per_process_memory_fraction`` (``gpu_check_consumer``): ours with fp8 blocks streamed from the
   host vs core's LTX-2 through ComfyUI's memory manager (``load_models_gpu``, lowvram ``partially_load``), and
   ours with Q4_K GGUF blocks (core has no GGUF loader) — fits or not, peak VRAM, seconds per step;
6. ``gemma3_12b_encode_s``: Gemma-3-12B (random weights) through core's LTX-2 text-encoder Gemma and ours, one
   prompt: seconds, peak, max abs difference (``gpu_check_gemma``);
7. ``transformer_pass_compiled_s``: ours with Inductor-compiled blocks (``ltx_model.compilation``).

Time: each step has an estimate (:data:`STEP_ESTIMATE_S`, rough guesses for an H100/H200 until a first run's
``env.json`` ``step_wall_s`` replaces them) and starts only while it fits the budget left, else it writes a
``skipped_budget`` line; sizes inside a step are gated the same way (``gpu_check_measure``). ``gpu_check.sh`` puts a
hard ``timeout`` of budget + 20 s around this process: on its SIGTERM the run writes a ``timeout`` line, env.json
and the summary, and exits 124. Result lines are written (and flushed) one by one as they are measured.

Core's import-time dependencies beyond the bare machine come from the bundle (``gpu_check_deps``): real wheels
unpacked last on ``sys.path``, and a labelled scipy stand-in only where no real scipy exists.

``--dry-run``: the same code path at the quick size (``bench_common.QUICK_*``) on the CPU, float32, one or two
repetitions (CUDA-only parts write a ``skipped`` line with the reason; the consumer-card lines force a partial
load instead of a memory budget). A test runs it in CI.

Usage: python scripts/gpu_check.py --out DIR [--dry-run] [--budget-s 450] [--only a,b,...]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import platform
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from bench_common import MANIFEST, BenchConfig, PassShape, make_config  # noqa: E402
from bench_impls import ensure_comfy  # noqa: E402
from gpu_check_deps import prepare, provenance, stand_ins  # noqa: E402

STEPS = ("matmul_peak", "transformer_pass", "fp8_pass", "peak_vram", "consumer_cards", "gemma_encode", "compiled")
# Seconds a step may take on the real run (rough upper guesses before any GPU run; refine from env.json step_wall_s).
STEP_ESTIMATE_S = {"matmul_peak": 10.0, "transformer_pass": 100.0, "fp8_pass": 60.0, "peak_vram": 30.0,
                   "consumer_cards": 120.0, "gemma_encode": 40.0, "compiled": 90.0}
DRY_RUN_ESTIMATE_S = 1.0  # every step of the dry run (seconds each on a CPU)
HARD_LIMIT_EXIT = 124  # as coreutils' timeout
LINE_KEYS = ("metric", "ours", "comfy_core", "ltx_core", "device", "shape", "dtype", "unit", "status", "error")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="output folder (created): results.jsonl, summary.md, env.json")
    parser.add_argument("--dry-run", action="store_true", help="quick size on the CPU (the CI check)")
    parser.add_argument("--budget-s", type=float, default=450.0,
                        help="a step starts only while its time estimate fits what is left of this")
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma-separated subset of {','.join(STEPS)}")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in STEPS]
    if unknown or not chosen:
        parser.error(f"--only {args.only!r}: unknown step(s) {unknown or '(none given)'}; "
                     f"choose from {', '.join(STEPS)}")
    if args.budget_s <= 0:
        parser.error(f"--budget-s {args.budget_s}: must be a positive number of seconds")
    args.only = ",".join(chosen)
    return args


class HardLimit(BaseException):
    """Raised in the main thread by SIGTERM (``timeout`` in gpu_check.sh): not an ``Exception``, so no step's guard
    swallows it."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise HardLimit(f"signal {signum}: the hard time limit of gpu_check.sh")


class Recorder:
    """Writes each result line at once (a killed run keeps what it measured) and keeps them for the summary."""

    def __init__(self, out: Path, device_name: str, common: Any = dict) -> None:
        self.path = out / "results.jsonl"
        self.path.write_text("")
        self.device = device_name
        self.common = common  # () -> config entries every line carries (e.g. core_stand_ins)
        self.lines: list[dict[str, Any]] = []

    def add(self, metric: str, *, shape: str = "", dtype: str = "", unit: str = "s", ours: float | None = None,
            comfy_core: float | None = None, ltx_core: float | None = None, status: str = "ok",
            error: str | None = None, config: dict[str, Any] | None = None) -> None:
        """One JSON line with the fields of :data:`LINE_KEYS` plus ``config``."""
        line = {"metric": metric, "ours": ours, "comfy_core": comfy_core, "ltx_core": ltx_core,
                "device": self.device, "shape": shape, "dtype": dtype, "unit": unit, "status": status,
                "error": error, "config": {**(config or {}), **self.common()}}
        self.lines.append(line)
        with self.path.open("a") as f:
            f.write(json.dumps(line, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        print(f"... {metric} {shape} {status}", file=sys.stderr, flush=True)


def device_name(dry_run: bool) -> str:
    """``cpu (<processor>)`` or the CUDA device's name."""
    if dry_run or not torch.cuda.is_available():
        return f"cpu ({platform.processor() or platform.machine()})"
    return torch.cuda.get_device_name(0)


def environment(dry_run: bool) -> dict[str, Any]:
    """What ran: versions, device, memory (``env.json``)."""
    env = {"python": sys.version.split()[0], "torch": torch.__version__, "dry_run": dry_run,
           "device": device_name(dry_run), "cuda": torch.version.cuda, "threads": torch.get_num_threads(),
           "manifest": str(MANIFEST)}
    if not dry_run and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env.update(capability=list(torch.cuda.get_device_capability(0)), total_memory_bytes=props.total_memory)
    for name in ("transformers", "safetensors", "einops", "accelerate", "ltx_core", "gguf"):
        try:
            env[name] = getattr(__import__(name), "__version__", "present")
        except ImportError:
            env[name] = None
    return env


def dry_run_config() -> BenchConfig:
    """The quick (reduced LTX-2.3) config shrunk further for a 2-core CI runner: 1 block, 2 heads x 32, one
    128x64x9 pass with 32 text tokens, one repetition."""
    cfg = make_config(quick=True, reps=1)
    section = copy.deepcopy(cfg.section)
    section["transformer"].update(num_layers=1, num_attention_heads=2, attention_head_dim=32, cross_attention_dim=64,
                                  audio_num_attention_heads=2, audio_attention_head_dim=16,
                                  audio_cross_attention_dim=32, connector_num_attention_heads=2,
                                  connector_attention_head_dim=32, audio_connector_num_attention_heads=2,
                                  audio_connector_attention_head_dim=16)
    section["vae"]["decoder_base_channels"] = 8
    return dataclasses.replace(cfg, section=section, passes=(PassShape(128, 64, 9, text_tokens=32),),
                               vae_latent=(2, 2, 4), peak_latent=(2, 2, 4), tile_px=64, tile_overlap_px=32)


def started_clock() -> float:
    """The ``time.perf_counter()`` reading of the moment gpu_check.sh started (``$LTX2_GPU_CHECK_STARTED``, epoch
    seconds), so that the budget covers the interpreter's imports too; now when run directly."""
    try:
        since = time.time() - float(os.environ["LTX2_GPU_CHECK_STARTED"])
    except (KeyError, ValueError):
        since = 0.0
    return time.perf_counter() - min(max(since, 0.0), 3600.0)


def step_estimate(step: str, dry_run: bool) -> float:
    """Seconds :func:`run_steps` expects ``step`` to take (the start gate)."""
    return DRY_RUN_ESTIMATE_S if dry_run else STEP_ESTIMATE_S[step]


def run_steps(args: argparse.Namespace, recorder: Recorder, wall: dict[str, float]) -> None:
    """Every requested step, each guarded, in order, each only while its estimate fits the budget left (else a
    ``skipped_budget`` line); ``wall`` gets each step's seconds."""
    import gpu_check_measure as gm

    try:
        cfg = dry_run_config() if args.dry_run else make_config(quick=False, reps=3)
    except Exception as exc:  # noqa: BLE001 - e.g. no checkpoint manifest: say so in the results
        recorder.add("config", status="error", error=f"{type(exc).__name__}: {exc}"[:500])
        return
    ctx = gm.Context(cfg=cfg, recorder=recorder, started=started_clock(), budget_s=args.budget_s)
    try:
        ensure_comfy(cfg.device)
        import comfy.model_management  # noqa: F401  (after ensure_comfy set --cpu / SDPA)
    except Exception as exc:  # noqa: BLE001 - without ComfyUI the core columns stay null
        recorder.add("comfyui_import", status="error", error=f"{type(exc).__name__}: {exc}"[:500],
                     config={"traceback": traceback.format_exc()[-2000:]})
    chosen = [step for step in STEPS if step in args.only.split(",")]
    for index, step in enumerate(chosen):
        estimate = step_estimate(step, args.dry_run)
        ctx.reserve_s = sum(step_estimate(later, args.dry_run) for later in chosen[index + 1:])
        if ctx.left_s() < estimate:
            recorder.add(step, status="skipped_budget", config={"estimate_s": estimate},
                         error=f"estimated {estimate:.0f} s, {max(ctx.left_s(), 0):.0f} s of the "
                               f"{args.budget_s:g} s budget left")
            continue
        begun = time.perf_counter()
        try:
            getattr(gm, step)(ctx)
        except Exception as exc:  # noqa: BLE001 - one failure must not stop the check
            recorder.add(step, status="error", error=f"{type(exc).__name__}: {exc}"[:500],
                         config={"traceback": traceback.format_exc()[-2000:]})
        finally:
            ctx.release()
            wall[step] = round(time.perf_counter() - begun, 1)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def summary(lines: list[dict[str, Any]], env: dict[str, Any]) -> str:
    """Markdown table: one row per line, ours/core ratio where both exist."""
    rows = [f"# GPU check on {env['device']} (torch {env['torch']}{', DRY RUN' if env['dry_run'] else ''})", "",
            "ComfyUI core's extra imports: " + ", ".join(f"{k}: {v.split(' (')[0]}"
                                                          for k, v in env.get("core_dependencies", {}).items()), "",
            "| metric | shape | dtype | unit | ours | comfy_core | ltx_core | ours/core | status |",
            "|---|---|---|---|---|---|---|---|---|"]
    for line in lines:
        ours, core = line["ours"], line["comfy_core"]
        ratio = ours / core if isinstance(ours, (int, float)) and isinstance(core, (int, float)) and core else None
        status = line["status"] if not line["error"] else f"{line['status']}: {line['error'][:80]}"
        rows.append(f"| {line['metric']} | {line['shape']} | {line['dtype']} | {line['unit']} | {_fmt(ours)} | "
                    f"{_fmt(core)} | {_fmt(line['ltx_core'])} | {_fmt(ratio)} | {status} |")
    return "\n".join(rows) + "\n"


def _write(out: Path, env: dict[str, Any], deps: dict[str, Any], recorder: Recorder, started: float) -> None:
    """env.json (with where core's extra imports came from) and summary.md."""
    env.update(wall_s=round(time.perf_counter() - started, 1), core_dependencies=provenance(deps),
               core_stand_ins=stand_ins(deps))
    (out / "env.json").write_text(json.dumps(env, indent=1, default=str))
    (out / "summary.md").write_text(summary(recorder.lines, env))
    print((out / "summary.md").read_text())


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 when the check ran (measurement errors are results), 2 without a GPU and without --dry-run,
    124 when the hard time limit (SIGTERM) ended it (what was measured is kept)."""
    args = parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        print("no CUDA device: run with --dry-run on a CPU", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    deps = prepare(os.environ.get("LTX2_GPU_CHECK_BUNDLE"))
    env = environment(args.dry_run)
    env.update(bundle=deps["bundle"], bundle_wheels=deps["notes"], budget_s=args.budget_s, step_wall_s={})
    (out / "env.json").write_text(json.dumps(env, indent=1, default=str))
    labels = {"core_stand_ins": stand_ins(deps)} if stand_ins(deps) else {}
    recorder = Recorder(out, env["device"], common=lambda: labels)
    started = time.perf_counter()
    code = 0
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        run_steps(args, recorder, env["step_wall_s"])
    except HardLimit as exc:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the summary be written
        recorder.add("hard_time_limit", status="timeout", error=str(exc),
                     config={"elapsed_s": round(time.perf_counter() - started, 1)})
        code = HARD_LIMIT_EXIT
    try:
        _write(out, env, deps, recorder, started)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return code


if __name__ == "__main__":
    sys.exit(main())
