#!/usr/bin/env bash
# The main job: headless text-to-video+audio through ComfyUI, written to <repo>/output/*.mp4.
#   scripts/demo.sh "a red fox runs through snow, wind howling"   [--seed N --width W --height H --frames F ...]
# Uses real LTX-2 weights when ComfyUI's model folders hold them (see README: model files), otherwise tiny random
# demo weights with a NOTICE. Sets up the virtual environment first (scripts/env.sh). Bad sizes are reported (one
# line each, exit 2) before ComfyUI starts; `scripts/demo.sh --help` lists the options.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
LTX2_PROG="demo.sh" exec python "$LTX2_REPO/scripts/generate.py" "$@"
