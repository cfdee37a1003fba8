"""Checkpoint inspector: ``python -m ltx_model.inspect PATH [--load NAME]``.

Prints what a file is (family, variant, storage dtype, components, upsampler kind, LoRA kind and target) and validates
it by building every component on the meta device from the header alone (no tensor data is read, so a 46 GB file is
checked in seconds on any machine). ``--load NAME`` really loads one component, reading only its byte ranges, and
prints its size and the peak memory (RSS) of the process.

Exit status: 0 valid; 1 invalid or unreadable, with ONE line on stderr (no traceback; ``--debug`` shows it);
2 bad command-line usage.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Sequence

import torch

from .loading.build import build_component, load_component, module_nbytes
from .loading.detect import CheckpointInfo, FileKind, detect
from .loading.keymaps import (
    KEYMAPS,
    MODEL_COMPONENTS,
    Component,
    component_keys,
    is_quantization_side_key,
    parse_component,
)
from .loading.safetensors_io import CheckpointError, SafetensorsHeader, read_header
from .lora import LoraWeights, group_lora_keys, parse_reference_downscale_factor

LOADABLE = [c.value for c in Component]
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def _gb(nbytes: float) -> str:
    return f"{nbytes / 1e9:.2f} GB"


def _proc_status_kb(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status (Linux), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs`` 5) so the next peak covers only what follows."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss_bytes() -> int:
    """Peak resident set size (bytes): VmHWM on Linux (honours :func:`reset_peak_rss`), else ``ru_maxrss``."""
    hwm = _proc_status_kb("VmHWM")
    if hwm is not None:
        return hwm * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def current_rss_bytes() -> int:
    """Current resident set size (bytes): VmRSS on Linux, else the peak."""
    rss = _proc_status_kb("VmRSS")
    return rss * 1024 if rss is not None else peak_rss_bytes()


def describe(header: SafetensorsHeader, info: CheckpointInfo) -> list[str]:
    """The human-readable summary lines."""
    lines = [
        f"file: {header.path} ({_gb(header.file_size)}, {len(header.tensors)} tensors)",
        f"kind: {info.kind.value}",
        f"family: {info.family.value} ({info.evidence})",
        f"variant: {info.variant.value}",
        f"storage dtype: {info.storage}",
    ]
    if info.model_version:
        lines.append(f"model_version: {info.model_version}")
    if info.kind in (FileKind.MODEL, FileKind.UPSAMPLER):
        lines.append("components: " + ", ".join(c.value for c in info.components))
    if info.upsampler_kind:
        lines.append(f"upsampler: {info.upsampler_kind}")
    if info.lora is not None:
        lora = info.lora
        ranks = "/".join(str(r) for r in lora.ranks)
        lines.append(f"lora: {lora.kind.value}, rank {ranks}, {lora.layers} layers")
        lines.append(f"lora target: {lora.target.value if lora.target else 'LTX-2 family'} ({lora.target_note})")
        lines.append(f"reference_downscale_factor: {lora.reference_downscale_factor}")
    lines += [f"warning: {w}" for w in info.warnings]
    return lines


def _check_unowned(header: SafetensorsHeader, components: Sequence[Component]) -> None:
    """Model files: every key must belong to a component (a renamed prefix would otherwise go unnoticed)."""
    owned = {k for c in MODEL_COMPONENTS for k in header.tensors if KEYMAPS[c].owns(k)}
    stray = [k for k in header.tensors if k not in owned and not is_quantization_side_key(k)]
    if stray and Component.UPSAMPLER not in components:
        listed = ", ".join(stray[:20]) + (f", ... ({len(stray) - 20} more)" if len(stray) > 20 else "")
        raise CheckpointError(f"{header.path}: {len(stray)} key(s) belong to no component: {listed}")


def validate(header: SafetensorsHeader, info: CheckpointInfo, only: Sequence[Component] | None) -> list[str]:
    """Build each component on meta (strict key/shape check); LoRAs: pairing and rank checks. Returns lines."""
    if info.kind is FileKind.UNKNOWN:
        raise CheckpointError(f"{header.path}: no LTX-2 component, upsampler or LoRA keys found")
    if info.kind is FileKind.LORA:
        layers = group_lora_keys(header.keys())
        parse_reference_downscale_factor(header.metadata)
        shapes = LoraWeights("lora", layers, lambda k: torch.empty(header.tensors[k].shape, device="meta"))
        shapes.check_shapes()
        return [f"  lora: {len(layers)} layers ok (A/B pairs and ranks checked)"]
    _check_unowned(header, info.components)
    lines = []
    for component in info.components:
        if only is not None and component not in only:
            lines.append(f"  {component.value}: skipped (not requested)")
            continue
        model = build_component(header, component)
        count = sum(p.numel() for p in model.parameters())
        ntensors = len(component_keys(header.keys(), component))
        lines.append(f"  {component.value}: ok ({ntensors} tensors, {count / 1e9:.3f} B parameters, built on meta)")
        del model
    return lines


def load_report(header: SafetensorsHeader, name: str, *, dtype: torch.dtype | None, device: str) -> list[str]:
    """Load one component for real and report its size, time and peak RSS."""
    component = parse_component(name)
    reset_peak_rss()
    before = current_rss_bytes()
    start = time.perf_counter()
    model = load_component(header, component, dtype=dtype, device=device)
    seconds = time.perf_counter() - start
    size = module_nbytes(model)
    count = sum(p.numel() for p in model.parameters())
    peak = peak_rss_bytes()
    return [
        f"loaded {component.value}: {count / 1e9:.3f} B parameters, {_gb(size)} on {device} in {seconds:.1f} s",
        f"peak RSS while loading: {_gb(peak)} (RSS before {_gb(before)}; peak above that {_gb(max(peak - before, 0))})",
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ltx_model.inspect", description=__doc__.split("\n")[0])
    parser.add_argument("path", help="a .safetensors checkpoint, upsampler or LoRA file")
    parser.add_argument("--load", choices=LOADABLE, metavar="NAME", help="load this component: " + ", ".join(LOADABLE))
    parser.add_argument("--dtype", choices=sorted(DTYPES), help="compute dtype for --load (default: storage dtype)")
    parser.add_argument("--device", default="cpu", help="device for --load (default cpu)")
    parser.add_argument("--components", help="comma-separated components to validate (default: all present)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def run(args: argparse.Namespace) -> list[str]:
    """Inspect, validate and optionally load; returns the output lines (raises on any problem)."""
    header = read_header(args.path)
    info = detect(header)
    only = [parse_component(c.strip()) for c in args.components.split(",")] if args.components else None
    lines = describe(header, info)
    lines.append("validation:")
    lines += validate(header, info, only)
    if args.load:
        lines += load_report(header, args.load, dtype=DTYPES.get(args.dtype or ""), device=args.device)
    lines.append("valid")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        lines = run(args)
    except Exception as exc:  # one line, no traceback: CheckpointError, ConfigError, OSError, ImportError, ...
        if args.debug:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        kind = "" if isinstance(exc, CheckpointError) else f"{type(exc).__name__}: "
        print(f"error: {kind}{message}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
