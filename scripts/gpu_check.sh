#!/usr/bin/env bash
# One-command GPU check of this pack: ours vs ComfyUI core on real-size LTX-2.3 22B random weights (issue 20).
#
#   bash scripts/gpu_check.sh --out DIR [--bundle DIR] [--dry-run] [--budget-s 450] [--only step,...]
#
# Needs on the GPU machine: Python with PyTorch 2.11 + CUDA, transformers, safetensors, einops, accelerate (and
# what they depend on); no network, no pip. Everything else comes from the folder `scripts/gpu_bundle.sh` prepared
# beforehand (default: ./gpu_bundle at the repository root, or $LTX2_GPU_BUNDLE; MANIFEST.txt lists every file):
#   <bundle>/ComfyUI/        ComfyUI's source tree (no .git/tests/models/custom_nodes) for the core comparison
#   <bundle>/site/           small pure-Python distributions (comfy-aimdo, ltx-core, gguf, torchsde, trampoline),
#                            put FIRST on PYTHONPATH
#   <bundle>/wheels/         real wheels of what ComfyUI core imports beyond the bare machine (pillow, torchvision
#                            0.26.0, torchaudio 2.11.0): unpacked with zipfile into a private folder that goes LAST
#                            on sys.path, so the interpreter's own copies win (scripts/gpu_check_deps.py)
#   <bundle>/manifests/      ltx-2.3-22b.json: the LTX-2.3 22B checkpoint header the real-size model is built from
#   <bundle>/MANIFEST.txt    every entry with its size, versions, sources (written by gpu_bundle.sh)
# Not in the bundle: scipy (a ~35 MB wheel): where the interpreter has none, an import-time stand-in answers core's
# import-time scipy imports and every result line says so (config.core_stand_ins; env.json core_dependencies).
# Without a bundle the check uses $COMFYUI_PATH or ~/comfy/ComfyUI and the interpreter's own packages.
# Writes DIR/results.jsonl (one JSON object per measurement, written as it is measured: metric, ours, comfy_core,
# ltx_core, device, shape, dtype, unit, status, error, config), DIR/summary.md and DIR/env.json.
# Time: the budget (--budget-s, default 450 s) counts from this script's start (imports included); a step, or an
# optional size, starts only while its estimate fits what is left, else it writes a `skipped_budget` line. A hard
# limit of budget + 20 s (`timeout`; $LTX2_GPU_CHECK_HARD_LIMIT_S overrides it) ends the Python process, which then
# writes a `timeout` line and the summary (exit 124). --dry-run: the same code path at the quick size on the CPU
# (what CI runs). Exit status: 0 ran (measurement errors are result lines), 2 bad usage or no GPU, 124 timeout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
BUNDLE="${LTX2_GPU_BUNDLE:-$ROOT/gpu_bundle}"
BUNDLE_GIVEN=0
BUDGET_S=450

usage() {
  echo "gpu_check.sh: $1" >&2
  echo "usage: bash scripts/gpu_check.sh --out DIR [--bundle DIR] [--dry-run] [--budget-s S] [--only step,...]" >&2
  exit 2
}

ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bundle)
      [[ $# -ge 2 && -n "$2" && "$2" != -* ]] || usage "--bundle needs a folder (the one gpu_bundle.sh made)"
      BUNDLE="$2"; BUNDLE_GIVEN=1; shift 2 ;;
    --bundle=*)
      BUNDLE="${1#--bundle=}"; BUNDLE_GIVEN=1
      [[ -n "$BUNDLE" ]] || usage "--bundle needs a folder (the one gpu_bundle.sh made)"
      shift ;;
    --budget-s)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+([.][0-9]+)?$ ]] || usage "--budget-s needs a number of seconds"
      BUDGET_S="$2"; ARGS+=("$1" "$2"); shift 2 ;;
    --budget-s=*)
      BUDGET_S="${1#--budget-s=}"
      [[ "$BUDGET_S" =~ ^[0-9]+([.][0-9]+)?$ ]] || usage "--budget-s needs a number of seconds"
      ARGS+=("$1"); shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
if [[ "$BUNDLE_GIVEN" == 1 && ! -d "$BUNDLE" ]]; then
  usage "bundle folder not found: $BUNDLE (build it with scripts/gpu_bundle.sh)"
fi
if [[ -d "$BUNDLE" ]]; then
  export LTX2_GPU_CHECK_BUNDLE="$BUNDLE"
fi
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
export PYTHONUNBUFFERED=1
export LTX2_GPU_CHECK_STARTED="$(date +%s.%N)"  # the budget counts from here
export PYTORCH_CUDA_ALLOC_CONF="${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}"
HARD_LIMIT_S="${LTX2_GPU_CHECK_HARD_LIMIT_S:-$(awk -v b="$BUDGET_S" 'BEGIN { printf "%d", b + 20 }')}"
COMMAND=("$PYTHON" "$ROOT/scripts/gpu_check.py" ${ARGS[@]+"${ARGS[@]}"})
if command -v timeout >/dev/null 2>&1; then
  exec timeout --signal=TERM --kill-after=15 "$HARD_LIMIT_S" "${COMMAND[@]}"
fi
echo "gpu_check.sh: no 'timeout' command here: only the per-step budget limits the run" >&2
exec "${COMMAND[@]}"
