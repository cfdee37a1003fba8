"""Benchmark (never part of the test run): ours (``ltx_model``) vs ComfyUI core's native LTX-2 vs ``ltx-core`` 1.0.0.

On identical synthetic weights and inputs, in ONE run with alternating repetitions, it measures:

* ``transformer_pass_compiled_s``: the first pass with our blocks compiled by Inductor (``ltx_model.compilation``),
  timed in the same alternating rounds, beside ours eager, ComfyUI core and ltx-core (compile time in ``config``);
* ``transformer_pass_s``: one audio+video forward (median of N reps after a warm-up; fp32 on CPU, bf16 on GPU);
  on GPU also at 1216x704x121 and 1920x1088x121 with the fraction of the bf16 dense peak (FLOP model of
  ``shared/reference/performance.md`` §3);
* ``vae_decode_s``: video VAE decode of the same latent;
* ``load_s`` / ``load_peak_rss_ratio``: building the transformer from a single-file checkpoint through each one's
  natural path, every repetition in a fresh process;
* ``vae_decode_peak_growth``: working memory of a tiled decode of a ~4x longer video over the short one.

``--quick`` = a reduced-width/depth LTX-2.3 config for a small CPU (a few minutes); without it, real 22B size on
a CUDA GPU. ``--json`` prints one JSON object per metric line; otherwise a table with ours/peer ratios.
``--profile`` adds a torch.profiler breakdown of one pass per implementation.

Usage: python scripts/bench.py [--quick] [--json] [--reps N] [--only transformer,compiled,vae,load,vae_peak]
[--profile]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from bench_common import (  # noqa: E402
    DIFFUSION_PREFIX,
    MANIFEST,
    VAE_PREFIX,
    BenchConfig,
    Metric,
    make_config,
    randomize,
)
from bench_impls import ensure_comfy  # noqa: E402

from ltx_model.demo import write_sparse_checkpoint  # noqa: E402
from ltx_model.loading import write_safetensors  # noqa: E402
from ltx_model.text import EmbeddingsConnectors, TextConfig  # noqa: E402
from ltx_model.transformer import LTXTransformer, TransformerConfig  # noqa: E402
from ltx_model.video_vae import IGNORED_FILE_KEYS, VideoVAE, VideoVAEConfig  # noqa: E402

TARGETS = {"transformer_pass_s": "ours <= 0.90x core, <= 1.00x ltx-core",
           "transformer_pass_compiled_s": "ours compiled <= 0.85x core", "load_peak_rss_ratio": "<= 1.2",
           "vae_decode_peak_growth": "<= 1.2"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced config on the CPU (default: real size, GPU)")
    parser.add_argument("--json", action="store_true", help="one JSON object per metric line")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions per implementation")
    parser.add_argument("--only", default="transformer,compiled,vae,load,vae_peak",
                        help="comma-separated metric groups (compiled: ours with Inductor-compiled blocks, timed in "
                             "the first transformer pass's rounds)")
    parser.add_argument("--profile", action="store_true", help="torch.profiler table of one pass per implementation")
    parser.add_argument("--workdir", default=None, help="where the synthetic checkpoints go (default: a temp dir)")
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------------------------- synthetic weights
def transformer_state(cfg: BenchConfig) -> dict[str, torch.Tensor]:
    """Random transformer + text-connector weights under their official file keys, on the run's device/dtype."""
    section = cfg.section["transformer"]
    with torch.device("meta"):
        modules = [LTXTransformer(TransformerConfig.from_dict(section)),
                   EmbeddingsConnectors(TextConfig.from_dict(section))]
    shapes = {DIFFUSION_PREFIX + k: v.shape for m in modules for k, v in m.state_dict().items()}
    state = {k: torch.empty(shapes[k], device=cfg.device, dtype=cfg.dtype) for k in sorted(shapes)}
    return randomize(state, cfg.seed)


def vae_state(cfg: BenchConfig) -> dict[str, torch.Tensor]:
    """Random video-VAE weights (encoder, decoder, all four statistics keys) under ``vae.*`` (float32, CPU; each
    implementation copies them into its own module on the run's device and dtype)."""
    with torch.device("meta"):
        vae = VideoVAE(VideoVAEConfig.from_dict(cfg.section["vae"]))
    shapes = {VAE_PREFIX + k: v.shape for k, v in vae.state_dict().items()}
    shapes.update({k: (128,) for k in IGNORED_FILE_KEYS})
    state = {k: torch.empty(shapes[k]) for k in sorted(shapes)}
    return randomize(state, cfg.seed + 1)


def write_transformer_file(cfg: BenchConfig, state: dict[str, torch.Tensor], workdir: Path) -> tuple[Path, bool]:
    """The single-file checkpoint the load metrics read: the random weights (quick) or a sparse real-size file."""
    path = workdir / "transformer.safetensors"
    if cfg.quick:
        cpu = {k: v.detach().cpu() for k, v in state.items()}
        write_safetensors(path, cpu, metadata={"config": json.dumps(cfg.section)})
        return path, False
    manifest = json.loads(MANIFEST.read_text())
    drop = tuple(k for k in manifest["tensors"] if not k.startswith(DIFFUSION_PREFIX))
    write_sparse_checkpoint(manifest, path, drop=drop)
    return path, True


# ----------------------------------------------------------------------------------------------- output
def _fmt(value: float | None) -> str:
    return "null" if value is None else f"{value:.4g}"


def _min_ratios(m: Metric) -> list[str]:
    """For timings: the ratios of the fastest repetitions too (on a shared machine interference only adds
    time, so the minimum is the less noisy estimate; the median stays the headline)."""
    mins = {impl: m.config.get(f"{impl}_spread_s", {}).get("min") for impl in ("ours", "comfy_core", "ltx_core")}
    if not mins["ours"] or not mins["comfy_core"] or not mins["ltx_core"]:
        return []
    return [f"    min-based: ours {mins['ours']:.4g}, core {mins['comfy_core']:.4g}, ltx {mins['ltx_core']:.4g}, "
            f"ours/core {mins['ours'] / mins['comfy_core']:.3f}, ours/ltx {mins['ours'] / mins['ltx_core']:.3f}"]


def table(metrics: list[Metric]) -> str:
    """Human-readable table with ours/peer ratios."""
    head = f"{'metric':<24}{'size':<16}{'ours':>10}{'comfy_core':>12}{'ltx_core':>10}{'ours/core':>11}" \
           f"{'ours/ltx':>10}  target"
    lines = [head, "-" * len(head)]
    for m in metrics:
        size = str(m.config.get("size", m.config.get("short_latent", "")))
        lines.append(f"{m.metric:<24}{size:<16}{_fmt(m.ours):>10}{_fmt(m.comfy_core):>12}{_fmt(m.ltx_core):>10}"
                     f"{_fmt(m.ratio('comfy_core')):>11}{_fmt(m.ratio('ltx_core')):>10}  {TARGETS.get(m.metric, '')}")
        lines += _min_ratios(m)
        nulls = {k: v for k, v in m.config.items() if k.endswith("_null_reason")}
        lines += [f"    {k}: {v}" for k, v in nulls.items()]
    return "\n".join(lines)


def emit(metric: Metric, *, as_json: bool) -> Metric:
    """Print a JSON line immediately (the table comes at the end)."""
    if as_json:
        print(metric.to_json(), flush=True)
    else:
        print(f"... {metric.metric} done", file=sys.stderr, flush=True)
    return metric


# ----------------------------------------------------------------------------------------------- main
def run(cfg: BenchConfig, args: argparse.Namespace, workdir: Path) -> list[Metric]:
    """All requested metrics, in order."""
    import bench_measure as bm

    only = set(args.only.split(","))
    metrics: list[Metric] = []
    state = transformer_state(cfg) if only & {"transformer", "load"} else {}
    if "transformer" in only:
        for index, shape in enumerate(cfg.passes):
            compiled = Metric("transformer_pass_compiled_s") if index == 0 and "compiled" in only else None
            metrics.append(emit(bm.transformer_pass(cfg, state, shape, compiled), as_json=args.json))
            if compiled is not None:
                metrics.append(emit(compiled, as_json=args.json))
    if args.profile:
        import bench_profile

        print(bench_profile.report(cfg, state, cfg.passes[0]), file=sys.stderr if args.json else sys.stdout)
    if "load" in only:
        path, sparse = write_transformer_file(cfg, state, workdir)
        state.clear()
        metrics += [emit(m, as_json=args.json) for m in bm.load(cfg, path, sparse=sparse)]
        path.unlink()
    state.clear()
    vstate = vae_state(cfg) if only & {"vae", "vae_peak"} else {}
    if "vae" in only:
        metrics.append(emit(bm.vae_decode(cfg, vstate), as_json=args.json))
    if "vae_peak" in only:
        metrics.append(emit(bm.vae_peak(cfg, vstate), as_json=args.json))
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    cfg = make_config(quick=args.quick, reps=args.reps)
    if cfg.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: run with --quick on a CPU", file=sys.stderr)
        return 2
    ensure_comfy(cfg.device)
    import comfy.model_management  # noqa: F401  (after ensure_comfy set --cpu / SDPA)

    workdir = Path(tempfile.mkdtemp(prefix="ltx_bench_", dir=args.workdir))
    try:
        metrics = run(cfg, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not args.json:
        print(table(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
