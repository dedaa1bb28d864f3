#!/usr/bin/env bash
# The web UI's browser tests: Debian's chromium + chromium-driver, headless, driven by Selenium
# (PyPI), against a real `trail server` over a demo home.
#   bash ui/run.sh          # installs what is missing (apt, pip), builds the debug binary if needed
set -euo pipefail
cd "$(dirname "$0")/.."
# poppler-utils (pdftoppm, pdftotext): the Swift tests turn `trail report --format pdf` into pages.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver poppler-utils >/dev/null
fi
venv="${COMPAT_VENV:-$PWD/.venv-compat}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import selenium, pytest, requests" 2>/dev/null ||
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r ui/requirements.txt
if [ -z "${TRAIL_BIN:-}" ]; then
  swift build --product trail
  export TRAIL_BIN="$PWD/.build/debug/trail"
fi
exec "$venv/bin/python" -m pytest ui -q -p no:cacheprovider "$@"
