#!/usr/bin/env bash
# Prepare the folder that `scripts/gpu_check.sh` reads on an offline GPU machine (run where packages are installed).
#
#   bash scripts/gpu_bundle.sh [--out DIR] [--comfyui PATH] [--dist NAME ...] [--core-wheels installed|download|none]
#                              [--python-version X.Y] [--wheel SPEC ...] [--max-mib 60]
#
# Default DIR: ./gpu_bundle at the repository root (git-ignored; carry it to the GPU machine as is). An existing
# DIR is replaced only when it is a previous bundle (has MANIFEST.txt) or empty; any other folder is refused.
# The folder holds (MANIFEST.txt lists every entry and its size; the whole folder stays under 60 MiB, ~40 MiB):
#   ComfyUI/      ComfyUI's source tree from $COMFYUI_PATH or ~/comfy/ComfyUI, without .git, tests, models,
#                 custom_nodes, input/output, requirements.txt and caches (for the core comparison; never committed)
#   site/         small distributions copied from this interpreter's installation: comfy-aimdo (ComfyUI's
#                 memory manager), ltx-core 1.0.0, gguf, torchsde, trampoline, comfy-kitchen's Python code
#                 (its compiled CUDA/HIP extensions, ~230 MiB, stay behind: eager and Triton backends serve)
#   wheels/       real wheels of what ComfyUI core imports beyond the bare GPU machine: pillow, torchvision 0.26.0,
#                 torchaudio 2.11.0 (--core-wheels installed: repacked from this installation, offline; download:
#                 pip download for --python-version), plus any --wheel SPEC (pip download; needs the network)
#   manifests/    ltx-2.3-22b.json: the real checkpoint's header (config + tensor list) for the real-size model
#   MANIFEST.txt  sizes, versions, source paths, and what is not carried (scipy: gpu_check's labelled stand-in)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
ARGS=("$@")
HAS_OUT=0
for arg in "$@"; do
  case "$arg" in
    --out|--out=*) HAS_OUT=1 ;;
  esac
done
if [[ "$HAS_OUT" == 0 ]]; then
  ARGS+=(--out "$ROOT/gpu_bundle")
fi
exec "$PYTHON" "$ROOT/scripts/gpu_bundle.py" ${ARGS[@]+"${ARGS[@]}"}
