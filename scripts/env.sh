#!/usr/bin/env bash
# Sourced by scripts/test.sh and scripts/demo.sh: finds ComfyUI, creates the virtual environment and installs the
# host requirements, the pack requirements and the test dependencies. Re-running is cheap: pip runs only when a
# requirements file changed since the last successful install.
set -euo pipefail
LTX2_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export COMFYUI_PATH=${COMFYUI_PATH:-$HOME/comfy/ComfyUI}
LTX2_VENV=${LTX2_VENV:-$HOME/.cache/comfyui-ltx2/venv}
export LTX2_SHARED=${LTX2_SHARED:-$LTX2_REPO/../shared}

if [ ! -f "$COMFYUI_PATH/main.py" ]; then
  echo "WARNING: ComfyUI not found at $COMFYUI_PATH (set COMFYUI_PATH or install it with comfy-cli to ~/comfy/ComfyUI)." >&2
  echo "         Tests that need the host will fail when CI=true and be skipped otherwise." >&2
fi

if [ ! -x "$LTX2_VENV/bin/python" ]; then
  python3 -m venv "$LTX2_VENV"
  "$LTX2_VENV/bin/python" -m pip install -q --upgrade pip
fi

reqs=("$LTX2_REPO/tests/requirements.txt" "$LTX2_REPO/requirements.txt")
[ -f "$COMFYUI_PATH/requirements.txt" ] && reqs=("$COMFYUI_PATH/requirements.txt" "${reqs[@]}")
stamp_file="$LTX2_VENV/.ltx2-requirements.sha256"
stamp=$(cat "${reqs[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
  args=()
  for r in "${reqs[@]}"; do args+=(-r "$r"); done
  echo "Installing requirements into $LTX2_VENV ..."
  "$LTX2_VENV/bin/python" -m pip install -q "${args[@]}" 2>&1 | grep -v "is ignored: it is neither" || true
  "$LTX2_VENV/bin/python" -c "import torch, safetensors, ltx_core" # fail here, clearly, if the install failed
  echo "$stamp" > "$stamp_file"
fi
export PATH="$LTX2_VENV/bin:$PATH"
