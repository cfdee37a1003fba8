"""Fresh-process measurements for ``scripts/bench.py`` (so that peaks of different implementations never mix).

Usage (internal): ``python scripts/bench_worker.py load '<json spec>'``; prints one JSON object.

``load``: build the transformer from a single-file checkpoint through the implementation's natural path and read
every weight once (lazy file mappings become resident); reports seconds (and when the load call returned), the
peak RSS increase over the process's RSS just before (VmHWM after a ``clear_refs`` reset), the module's byte size
and, on CUDA, the peak allocated GPU memory.

Imports (torch, ComfyUI, ltx-core) happen before the baseline is taken, so only the measured work counts.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from bench_common import REPO  # noqa: E402

sys.path.insert(0, str(REPO))

from ltx_model.inspect import current_rss_bytes, peak_rss_bytes, reset_peak_rss  # noqa: E402
from ltx_model.loading import module_nbytes  # noqa: E402


class PeakMemory:
    """Peak increase of host RSS and (on CUDA) allocated GPU memory between ``start()`` and ``stop()``."""

    def __init__(self, device: str) -> None:
        self.cuda = device.startswith("cuda")

    def start(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.gpu_base = torch.cuda.memory_allocated()
        if not reset_peak_rss():
            raise RuntimeError("cannot reset the peak RSS (/proc/self/clear_refs)")
        self.rss_base = current_rss_bytes()

    def stop(self) -> dict[str, int]:
        out = {"rss_growth": peak_rss_bytes() - self.rss_base, "rss_base": self.rss_base}
        if self.cuda:
            torch.cuda.synchronize()
            out["gpu_growth"] = torch.cuda.max_memory_allocated() - self.gpu_base
        return out


def adapter(spec: dict[str, Any]) -> Any:
    """The implementation adapter (ComfyUI set up first when needed)."""
    import bench_impls

    if spec["impl"] == "comfy_core":
        bench_impls.ensure_comfy(spec["device"])
        import comfy.model_management  # noqa: F401  (flags must be set before this import)
        import comfy.sd  # noqa: F401
    elif spec["impl"] == "ltx_core":
        import ltx_core.loader.single_gpu_model_builder  # noqa: F401
        import ltx_core.model.transformer.model_configurator  # noqa: F401
    return bench_impls.ADAPTERS[spec["impl"]]


def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the transformer from ``spec["path"]``."""
    impl = adapter(spec)
    dtype = getattr(torch, spec["dtype"])
    meter = PeakMemory(spec["device"])
    meter.start()
    start = time.perf_counter()
    model = impl.load(spec["path"], spec["device"], dtype)
    returned = time.perf_counter() - start
    touch(model, spec["device"])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "returned_s": returned, "module_bytes": module_nbytes(model), **meter.stop()}


def touch(model: torch.nn.Module, device: str) -> None:
    """Read every parameter once, so weights that a loader left as lazy file mappings (ltx-core's safetensors
    views) become resident as they do in the first forward; the load is only complete after this."""
    with torch.inference_mode():
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.is_floating_point() and tensor.element_size() > 1:
                tensor.sum()
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> int:
    """Entry point."""
    task, spec = sys.argv[1], json.loads(sys.argv[2])
    result = {"load": run_load}[task](spec)
    print("BENCH_RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
