#!/usr/bin/env bash
# Side-by-side with MLflow's own server, the same Python client workload against each:
#   bash bench/mlflow_compare.sh [workload options, e.g. --search-runs 3000]
# Uses the compat venv (mlflow==3.17.2 + scikit-learn; created if missing) and a release build
# of `trail` (or $TRAIL_BIN). Prints JSON on stdout and a Markdown table on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${COMPAT_VENV:-$PWD/.venv-compat}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import mlflow, sklearn" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r compat/requirements.txt
fi
if [ -z "${TRAIL_BIN:-}" ]; then
  swift build -c release --product trail
  export TRAIL_BIN="$PWD/.build/release/trail"
fi
export PATH="$venv/bin:$PATH"
exec "$venv/bin/python" bench/mlflow_compare.py "$@"
