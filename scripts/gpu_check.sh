#!/usr/bin/env bash
# One-command GPU check of this pack: ours vs ComfyUI core on real-size LTX-2.3 22B random weights (issue 20).
#
#   bash scripts/gpu_check.sh --out DIR [--bundle DIR] [--dry-run] [--budget-s 450] [--only step,...]
#
# Needs on the GPU machine: Python with PyTorch 2.11 + CUDA, transformers, safetensors, einops, accelerate; no
# network. Everything else comes from the folder `scripts/gpu_bundle.sh` prepared beforehand (default:
# ./gpu_bundle next to the repository root, or $LTX2_GPU_BUNDLE):
#   <bundle>/ComfyUI/        ComfyUI's source tree (python files only) for the core comparison
#   <bundle>/site/           small pure-Python packages (ltx-core, gguf, ...) put on PYTHONPATH
#   <bundle>/manifests/      the LTX-2.3 22B checkpoint header the real-size model is built from
#   <bundle>/MANIFEST.txt    what the folder holds (written by gpu_bundle.sh)
# Without a bundle the check uses $COMFYUI_PATH or ~/comfy/ComfyUI and the interpreter's own packages.
# Writes DIR/results.jsonl (one JSON object per measurement: metric, ours, comfy_core, ltx_core, device, shape,
# dtype, unit, status, error, config), DIR/summary.md and DIR/env.json. Finishes in under 8 minutes (budget 450 s).
# --dry-run: the same code path at the quick size on the CPU (what CI runs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
BUNDLE="${LTX2_GPU_BUNDLE:-$ROOT/gpu_bundle}"
ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bundle) BUNDLE="$2"; shift 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
if [[ -d "$BUNDLE/ComfyUI/comfy" ]]; then
  export COMFYUI_PATH="$BUNDLE/ComfyUI"
fi
if [[ -f "$BUNDLE/manifests/ltx-2.3-22b.json" ]]; then
  export LTX2_BENCH_MANIFEST="$BUNDLE/manifests/ltx-2.3-22b.json"
fi
if [[ -d "$BUNDLE/site" ]]; then
  export PYTHONPATH="$BUNDLE/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTORCH_CUDA_ALLOC_CONF="${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}"
exec "$PYTHON" "$ROOT/scripts/gpu_check.py" "${ARGS[@]}"
