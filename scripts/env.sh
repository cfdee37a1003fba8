#!/usr/bin/env bash
# Sourced by scripts/test.sh and scripts/demo.sh: creates the virtual environment, finds ComfyUI (installing it with
# comfy-cli at $COMFYUI_PATH on a machine that has none; never from a copy kept here) and installs the host
# requirements, the pack requirements and the test dependencies. Re-running is cheap: pip runs only when a
# requirements file changed since the last successful install.
#
# One venv per ComfyUI host, as scripts/test.sh does (hosts pin different front-end, templates and comfy-kitchen
# versions): ~/.cache/comfyui-ltx2/venv for the default tree ~/comfy/ComfyUI (and while $COMFYUI_PATH holds no
# ComfyUI yet), venv-<host version> for any other tree, e.g. `COMFYUI_PATH=~/comfy/ComfyUI-v033 scripts/demo.sh`
# uses venv-0.33.0. LTX2_VENV set by the caller (scripts/test.sh sets one per host) wins.
set -euo pipefail
LTX2_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export COMFYUI_PATH=${COMFYUI_PATH:-$HOME/comfy/ComfyUI}
LTX2_CACHE=${LTX2_CACHE:-$HOME/.cache/comfyui-ltx2}
LTX2_VENV_GIVEN=${LTX2_VENV:-}
export LTX2_SHARED=${LTX2_SHARED:-$LTX2_REPO/../shared}

ltx2_host_venv() {  # the venv for $COMFYUI_PATH (see above)
  local version
  version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$COMFYUI_PATH/comfyui_version.py" 2>/dev/null || true)
  if [ -z "$version" ] || [ "$(realpath -m "$COMFYUI_PATH")" = "$(realpath -m "$HOME/comfy/ComfyUI")" ]; then
    echo "$LTX2_CACHE/venv"
  else
    echo "$LTX2_CACHE/venv-$version"
  fi
}

ltx2_make_venv() {
  if [ ! -x "$LTX2_VENV/bin/python" ]; then
    python3 -m venv "$LTX2_VENV"
    "$LTX2_VENV/bin/python" -m pip install -q --upgrade pip
  fi
}

LTX2_VENV=${LTX2_VENV_GIVEN:-$(ltx2_host_venv)}
ltx2_make_venv

# The comfy-cli command that installs ComfyUI's code at $COMFYUI_PATH. Torch and the host requirements are installed
# below, into this venv (VIRTUAL_ENV makes comfy-cli use it), so the --cpu flag only satisfies comfy-cli.
LTX2_COMFY_CLI=$(grep -m1 '^comfy-cli' "$LTX2_REPO/tests/requirements.txt")
LTX2_COMFY_INSTALL=(env DO_NOT_TRACK=1 "VIRTUAL_ENV=$LTX2_VENV" "$LTX2_VENV/bin/comfy" --skip-prompt
                    "--workspace=$COMFYUI_PATH" install --cpu --skip-manager --skip-torch-or-directml --skip-requirement)

ltx2_comfyui_missing() {  # $1: why ComfyUI cannot be installed from here. Prints the one message; returns 1.
  echo "ERROR: ComfyUI is not installed at $COMFYUI_PATH and $1." >&2
  echo "Install it with the line below (needs github.com and PyPI), then re-run; or set COMFYUI_PATH to a ComfyUI:" >&2
  echo "    $(printf '%q' "$LTX2_VENV/bin/python") -m pip install '$LTX2_COMFY_CLI' &&" \
       "$(printf '%q ' "${LTX2_COMFY_INSTALL[@]}" | sed 's/ $//')" >&2
  return 1
}

ltx2_install_comfyui() {
  if [ -d "$COMFYUI_PATH" ] && [ -n "$(ls -A "$COMFYUI_PATH")" ]; then
    ltx2_comfyui_missing "that folder is not empty (nothing is installed over it)"; return
  fi
  if ! GIT_TERMINAL_PROMPT=0 timeout 10 git ls-remote https://github.com/comfyanonymous/ComfyUI HEAD >/dev/null 2>&1
  then
    ltx2_comfyui_missing "github.com cannot be reached from here"; return
  fi
  if [ ! -x "$LTX2_VENV/bin/comfy" ] &&
     ! "$LTX2_VENV/bin/python" -m pip install -q --timeout 15 --retries 1 "$LTX2_COMFY_CLI"; then
    ltx2_comfyui_missing "comfy-cli could not be installed (see pip's error above)"; return
  fi
  echo "Installing ComfyUI at $COMFYUI_PATH with comfy-cli ..."
  [ ! -d "$COMFYUI_PATH" ] || rmdir "$COMFYUI_PATH"  # empty: comfy-cli clones only into a folder that does not exist
  if ! "${LTX2_COMFY_INSTALL[@]}" || [ ! -f "$COMFYUI_PATH/main.py" ]; then
    ltx2_comfyui_missing "comfy-cli failed to install it (see its output above)"; return
  fi
}

if [ ! -f "$COMFYUI_PATH/main.py" ] && ! ltx2_install_comfyui; then
  return 1 2>/dev/null || exit 1  # sourced: fail the caller (set -e); run directly: exit
fi
if [ -z "$LTX2_VENV_GIVEN" ]; then  # just installed at a non-default path: its version picks the venv now
  LTX2_VENV=$(ltx2_host_venv)
  ltx2_make_venv
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
