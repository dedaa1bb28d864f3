#!/usr/bin/env bash
# Serving an MLflow model: `trail serve` (Python workers behind ModelTrail's front end, durable
# prediction log) against `mlflow models serve`, side by side with wrk. One JSON object on stdout.
#   bash bench/serve_mlflow.sh [--seconds 10] [--workers 1,2,3]
# Needs wrk (apt-get install wrk); uses the compat venv (mlflow==3.17.2 + scikit-learn) and a
# release build of `trail` (or $TRAIL_BIN).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${COMPAT_VENV:-$PWD/.venv-compat}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import mlflow, sklearn" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r compat/requirements.txt
fi
if [ -z "${TRAIL_BIN:-}" ]; then
  swift build -c release --product trail >&2
  export TRAIL_BIN="$PWD/.build/release/trail"
fi
exec "$venv/bin/python" bench/serve_mlflow.py "$@"
