#!/usr/bin/env bash
# The test command: sets up everything it needs (a venv per ComfyUI host, requirements) and runs the whole suite on
# every ComfyUI host it is given, one PASSED line per test and one "== host ..." line per host. Extra arguments go
# to pytest (e.g. `bash scripts/test.sh -m parity`).
#
# Hosts: COMFYUI_PATHS (space-separated ComfyUI trees), default: $COMFYUI_PATH (or ~/comfy/ComfyUI, the May 2026
# host) and ~/comfy/ComfyUI-v033 (v0.33.0, Aug 2026); a tree named twice runs once. scripts/env.sh picks each
# host's venv as scripts/demo.sh does: ~/.cache/comfyui-ltx2/venv for ~/comfy/ComfyUI, venv-<host version> for any
# other tree, since their pinned front-end, templates and comfy-kitchen versions differ (LTX2_VENV, when set, wins).
# Exit status: non-zero when any host's run failed.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
read -r -a given <<< "${COMFYUI_PATHS:-${COMFYUI_PATH:-$HOME/comfy/ComfyUI} $HOME/comfy/ComfyUI-v033}"
hosts=()
for host in "${given[@]}"; do  # each tree once
  seen=0
  for other in "${hosts[@]}"; do [ "$(realpath -m "$other")" = "$(realpath -m "$host")" ] && seen=1; done
  [ "$seen" -eq 1 ] || hosts+=("$host")
done

host_version() {  # $1: ComfyUI tree -> its version (comfyui_version.py), or "missing"
  sed -n 's/^__version__ = "\(.*\)"/\1/p' "$1/comfyui_version.py" 2>/dev/null | grep . || echo missing
}

status=0
for index in "${!hosts[@]}"; do
  host=${hosts[$index]}
  version=$(host_version "$host")
  echo "== host $((index + 1))/${#hosts[@]}: ComfyUI $version at $host"
  (
    set -e
    export COMFYUI_PATH=$host
    source "$REPO/scripts/env.sh"
    echo "== host $((index + 1))/${#hosts[@]}: venv $LTX2_VENV"
    cd "$LTX2_REPO"
    bash "$LTX2_REPO/scripts/install_browser.sh"   # Debian chromium for the real-browser tests
    python -m pytest -rA -p no:cacheprovider "$@" tests
  )
  result=$?
  [ "$result" -eq 0 ] || status=1
  echo "== host $((index + 1))/${#hosts[@]}: ComfyUI $version: $([ "$result" -eq 0 ] && echo passed || echo FAILED)"
done
exit "$status"
