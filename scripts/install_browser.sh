#!/usr/bin/env bash
# Installs the browser used by the front-end tests (tests/browser): Debian's `chromium` at /usr/bin/chromium.
# Idempotent: does nothing when it is already there. Playwright (Python) is installed from tests/requirements.txt
# and drives this binary via executable_path; Playwright's own browser download (`playwright install`) is never used.
set -euo pipefail
CHROMIUM=${LTX2_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser.sh: $CHROMIUM is missing and apt-get is not available; install Chromium yourself" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  SUDO="sudo"
fi
echo "Installing Debian chromium (browser tests) ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
"$CHROMIUM" --version
