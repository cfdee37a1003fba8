"""Checkpoint inspector: ``python -m ltx_model.inspect PATH [--load NAME]``.

Prints what a file is (family, variant, storage dtype, part of a model, components, upsampler kind, LoRA kind and
target) and validates it by building every component on the meta device from the header alone (no tensor data is
read, so a 46 GB file is checked in seconds on any machine). PATH may be a folder of split component files (the
LTX-2.5 layout): it is inspected as one model, every file listed with its part, then validated. ``--load NAME``
really loads one component, reading only its byte ranges, and prints its size and the peak memory (RSS) of the
process.

Exit status: 0 valid; 1 invalid or unreadable, with ONE line on stderr (no traceback; ``--debug`` shows it);
2 bad command-line usage or a path that does not exist (one line on stderr).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Sequence

import torch

from .duration import load_duration_head
from .loading.build import build_component, load_component, module_nbytes
from .loading.detect import CheckpointInfo, FileKind, FilePart, Variant, detect
from .loading.keymaps import (
    KEYMAPS,
    MODEL_COMPONENTS,
    Component,
    component_keys,
    is_bare_video_vae,
    is_quantization_side_key,
    parse_component,
)
from .loading.safetensors_io import CheckpointError, SafetensorsHeader, read_header
from .loading.split import SplitModel, open_split_model
from .lora import parse_reference_downscale_factor
from .lora_formats.describe import describe_lora, validate_lora
from .text import check_split_text_encoder, load_split_text_projection
from .video_vae.ltx25 import build_ltx25_video_vae

DESCRIPTION = ("Prints what an LTX-2 file or folder of split files is and validates it from its header alone (no "
               "tensor data read); --load NAME really loads one component and reports its size and peak memory. "
               "Exit status: 0 valid, 1 invalid or unreadable (one line on stderr), 2 bad usage or no such path.")
"""The ``--help`` text (plain words: argparse prints it as is, so no reST markup)."""
LOADABLE = [c.value for c in Component]
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def _gb(nbytes: float) -> str:
    return f"{nbytes / 1e9:.2f} GB"


def _parameters(count: int) -> str:
    """A parameter count for people: "0.129 B" from 10 M up (the released models' scale), "1.234 M", else exact."""
    if count >= 10_000_000:
        return f"{count / 1e9:.3f} B"
    return f"{count / 1e6:.3f} M" if count >= 10_000 else f"{count:,}"


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
    lines.append(f"part: {info.part.value}")
    if info.kind in (FileKind.MODEL, FileKind.UPSAMPLER):
        lines.append("components: " + ", ".join(c.value for c in info.components))
    if info.upsampler_kind:
        lines.append(f"upsampler: {info.upsampler_kind}")
    if info.lora is not None:
        lines += describe_lora(header, info)
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
        parse_reference_downscale_factor(header.metadata)
        return validate_lora(header)
    _check_unowned(header, info.components)
    lines = []
    for component in info.components:
        if only is not None and component not in only:
            lines.append(f"  {component.value}: skipped (not requested)")
            continue
        model = build_component(header, component)
        count = sum(p.numel() for p in model.parameters())
        ntensors = len(component_keys(header.keys(), component))
        lines.append(f"  {component.value}: ok ({ntensors} tensors, {_parameters(count)} parameters, built on meta)")
        del model
    return lines


def load_report(header: SafetensorsHeader, name: str, *, dtype: torch.dtype | None, device: str,
                transformer: str | None = None) -> list[str]:
    """Load one component for real and report its size, time and peak RSS (``transformer``: the split model's
    transformer file, whose config the text projection of a split text encoder needs)."""
    component = parse_component(name)
    reset_peak_rss()
    before = current_rss_bytes()
    start = time.perf_counter()
    if component is Component.VIDEO_VAE and is_bare_video_vae(header.keys()):  # LTX-2.5 split video VAE
        model = build_ltx25_video_vae(header.path, dtype=dtype, device=device)
    elif component is Component.TEXT_PROJECTION and transformer is not None and transformer != header.path:
        model = load_split_text_projection(transformer, header.path, dtype=dtype, device=device)
    else:
        model = load_component(header, component, dtype=dtype, device=device)
    seconds = time.perf_counter() - start
    size = module_nbytes(model)
    count = sum(p.numel() for p in model.parameters())
    peak = peak_rss_bytes()
    return [
        f"loaded {component.value}: {_parameters(count)} parameters, {_gb(size)} on {device} in {seconds:.1f} s",
        f"peak RSS while loading: {_gb(peak)} (RSS before {_gb(before)}; peak above that {_gb(max(peak - before, 0))})",
    ]


def describe_folder(model: SplitModel) -> list[str]:
    """Summary lines of a split-model folder: family, then one line per file with its part."""
    lines = [f"folder: {model.folder} ({len(model.files)} files)", f"family: {model.family.value} (from the "
             "transformer file)", "files:"]
    for info in model.files:
        details = [info.family.value, info.variant.value, info.storage]
        if info.model_version:
            details.append(f"model_version {info.model_version}")
        if info.upsampler_kind:
            details.append(info.upsampler_kind)
        if info.components:
            details.append("components " + ", ".join(c.value for c in info.components))
        name = info.path.removeprefix(str(model.folder)).lstrip("/")
        lines.append(f"  {info.part.value}: {name} ({'; '.join(details)})")
    lines += [f"warning: {info.path}: {w}" for info in model.files for w in info.warnings]
    return lines


def validate_split_part(model: SplitModel, info: CheckpointInfo, only: Sequence[Component] | None) -> list[str]:
    """Validate one file of a split folder. The text encoder is checked against every transformer file
    (``gemma_version`` and the projection's widths, headers only); the duration head is loaded (it is small);
    a video VAE in the split form (no ``vae.`` prefix) is checked by the LTX-2.5 video VAE loader on ``--load``."""
    if info.part is FilePart.TEXT_ENCODER:
        for transformer in model.part(FilePart.TRANSFORMER):
            check_split_text_encoder(transformer.path, info.path)
        return ["  text encoder: ok (gemma_version and text projection checked against the transformer file, "
                "headers only)"]
    if info.part is FilePart.DURATION_HEAD:
        head = load_duration_head(info.path, dtype=torch.float32)
        return [f"  duration head: ok ({_parameters(sum(p.numel() for p in head.parameters()))} parameters)"]
    if info.part is FilePart.VIDEO_VAE and is_bare_video_vae(read_header(info.path).keys()):
        return ["  video VAE (split form): detected; checked when loaded (--load video_vae)"]
    return validate(read_header(info.path), info, only)


def run_folder(args: argparse.Namespace) -> list[str]:
    """:func:`run` for a folder of split files: check the set, validate every file, optionally load one component."""
    model = open_split_model(args.path)
    only = [parse_component(c.strip()) for c in args.components.split(",")] if args.components else None
    lines = describe_folder(model)
    lines.append("validation:")
    for info in model.files:
        lines.append(f" {info.path}:")
        lines += validate_split_part(model, info, only)
    if args.load:
        header = read_header(model.component_path(parse_component(args.load)))
        transformer = model.component_path(Component.TRANSFORMER, variant=Variant.DISTILLED)
        lines += load_report(header, args.load, dtype=DTYPES.get(args.dtype or ""), device=args.device,
                             transformer=transformer)
    lines.append("valid")
    return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ltx_model.inspect", description=DESCRIPTION)
    parser.add_argument("path", help="a .safetensors checkpoint, upsampler or LoRA file, or a folder of split files")
    parser.add_argument("--load", choices=LOADABLE, metavar="NAME", help="load this component: " + ", ".join(LOADABLE))
    parser.add_argument("--dtype", choices=sorted(DTYPES), help="compute dtype for --load (default: storage dtype)")
    parser.add_argument("--device", default="cpu", help="device for --load (default cpu)")
    parser.add_argument("--components", help="comma-separated components to validate (default: all present)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def run(args: argparse.Namespace) -> list[str]:
    """Inspect, validate and optionally load; returns the output lines (raises on any problem)."""
    if os.path.isdir(args.path):
        return run_folder(args)
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
    if not os.path.exists(args.path):
        print(f"error: no such file or folder: {args.path}", file=sys.stderr)
        return 2
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
