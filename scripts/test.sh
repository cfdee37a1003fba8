#!/usr/bin/env bash
# The test command: sets up everything it needs (venv, requirements) and runs the whole suite, one PASSED line
# per test. Extra arguments go to pytest (e.g. `bash scripts/test.sh -m parity`).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$LTX2_REPO"
bash "$LTX2_REPO/scripts/install_browser.sh"   # Debian chromium for the real-browser tests
exec python -m pytest -rA -p no:cacheprovider "$@" tests
