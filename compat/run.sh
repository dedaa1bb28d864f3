#!/usr/bin/env bash
# Runs the MLflow compatibility suite: the official mlflow client (PyPI, pinned in
# requirements.txt) against a real `trail server`, or with `--server mlflow` against MLflow's own.
#   bash compat/run.sh                  # against ModelTrail (builds the debug binary if needed)
#   bash compat/run.sh --server mlflow  # the same MLflow-behaviour tests against mlflow server 3.17.2
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${COMPAT_VENV:-$PWD/.venv-compat}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import mlflow, sklearn, pytest, openlineage.client, jsonschema, rfc3339_validator, prometheus_client" 2>/dev/null; then
  echo "compat: creating $venv with $(tr '\n' ' ' < compat/requirements.txt)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r compat/requirements.txt
fi
if [ -z "${TRAIL_BIN:-}" ]; then
  swift build --product trail
  export TRAIL_BIN="$PWD/.build/debug/trail"
fi
export PATH="$venv/bin:$PATH"
exec "$venv/bin/python" -m pytest compat -q "$@"
