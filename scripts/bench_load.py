"""Benchmark (not a test): peak RSS while loading the transformer from a synthetic multi-GB single-file checkpoint.

Writes a SPARSE checkpoint (exact header; data is a hole, so disk use is ~0 and reads are page-cache fast) holding a
real-width LTX-2.3 transformer with ``--layers`` blocks (48 = the real 37.98 GB model; default 6 = ~5.5 GB) plus the
other components' keys of the real manifest, then loads only the transformer with ``load_component`` and prints
the peak RSS relative to the transformer's own size. Target: peak / size <= 1.2.

Usage: python scripts/bench_load.py [--layers 6] [--manifest PATH] [--out /tmp/ltx_bench.safetensors] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ltx_model.demo import write_sparse_checkpoint  # noqa: E402
from ltx_model.inspect import current_rss_bytes, peak_rss_bytes, reset_peak_rss  # noqa: E402
from ltx_model.loading import load_component, module_nbytes, read_header  # noqa: E402

DEFAULT_MANIFEST = REPO.parent / "shared" / "reference" / "manifests" / "ltx-2.3-22b.json"
BLOCK = re.compile(r"^model\.diffusion_model\.transformer_blocks\.(\d+)\.")


def reduced_manifest(path: Path, layers: int) -> dict:
    """The real manifest with only the first ``layers`` transformer blocks (and ``num_layers`` to match)."""
    manifest = json.loads(path.read_text())
    keep = {}
    for key, shape in manifest["tensors"].items():
        match = BLOCK.match(key)
        if match is None or int(match.group(1)) < layers:
            keep[key] = shape
    manifest["tensors"] = keep
    manifest["config"]["transformer"]["num_layers"] = layers
    return manifest


def main() -> int:
    """Run the benchmark; exit 0 when the target ratio is met."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--out", type=Path, default=Path("/tmp/ltx_bench.safetensors"))
    parser.add_argument("--keep", action="store_true", help="keep the synthetic file")
    args = parser.parse_args()
    size = write_sparse_checkpoint(reduced_manifest(args.manifest, args.layers), args.out)
    header = read_header(args.out)
    print(f"synthetic checkpoint: {args.out} ({size / 1e9:.2f} GB, {len(header.tensors)} tensors, sparse)")
    reset_peak_rss()
    before = current_rss_bytes()
    start = time.perf_counter()
    model = load_component(header, "transformer")
    seconds = time.perf_counter() - start
    peak = peak_rss_bytes()
    nbytes = module_nbytes(model)
    print(f"transformer ({args.layers} layers): {nbytes / 1e9:.2f} GB loaded in {seconds:.1f} s")
    print(f"RSS before load {before / 1e9:.2f} GB, peak while loading {peak / 1e9:.2f} GB")
    print(f"peak RSS / transformer size = {peak / nbytes:.3f} (target <= 1.2)")
    print(f"(peak - RSS before) / transformer size = {(peak - before) / nbytes:.3f}")
    if not args.keep:
        os.remove(args.out)
    return 0 if peak / nbytes <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
