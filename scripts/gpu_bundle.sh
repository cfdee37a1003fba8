#!/usr/bin/env bash
# Prepare the folder that `scripts/gpu_check.sh` reads on an offline GPU machine (run where packages are installed).
#
#   bash scripts/gpu_bundle.sh [--out DIR] [--comfyui PATH] [--dist NAME ...] [--wheel SPEC ...] [--max-mib 60]
#
# Default DIR: ./gpu_bundle at the repository root (git-ignored; carry it to the GPU machine as is).
# The folder holds (MANIFEST.txt lists every entry and its size; the whole folder stays under 60 MiB):
#   ComfyUI/      ComfyUI's source tree from $COMFYUI_PATH or ~/comfy/ComfyUI, without .git, tests, models,
#                 custom_nodes, input/output and caches (for the core comparison; never committed)
#   site/         small distributions copied from this interpreter's installation: comfy-aimdo (ComfyUI's
#                 memory manager), ltx-core 1.0.0, gguf, torchsde, trampoline (not comfy-kitchen: ~190 MiB)
#   manifests/    ltx-2.3-22b.json: the real checkpoint's header (config + tensor list) for the real-size model
#   wheels/       optional extra wheels given with --wheel (pip download; needs the network)
#   MANIFEST.txt  sizes, versions, source paths
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
ARGS=("$@")
if [[ " $* " != *" --out "* ]]; then
  ARGS+=(--out "$ROOT/gpu_bundle")
fi
exec "$PYTHON" "$ROOT/scripts/gpu_bundle.py" "${ARGS[@]}"
