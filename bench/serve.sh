#!/bin/sh
# Serving benchmark: `trail serve` (durable prediction logging on) against the machine's ceiling
# (a Hummingbird handler decoding 30 numbers) and, when a venv with mlflow is given, against
# `mlflow models serve` of the same scikit-learn model, with the same request body and load
# (wrk on loopback). Prints one JSON object.
#
#   bench/serve.sh [--mlflow-venv DIR] [--seconds N] [--trace-predictions N]
#
# Needs: wrk (Debian package), a release build (this script builds it), python3.
set -eu
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=10
VENV=""
TRACE=10000000
while [ $# -gt 0 ]; do
  case "$1" in
    --mlflow-venv) VENV="$2"; shift 2 ;;
    --seconds) SECONDS_PER_RUN="$2"; shift 2 ;;
    --trace-predictions) TRACE="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
SCRATCH=${TRAIL_BENCH_SCRATCH:-.build-release}
swift build -c release --scratch-path "$SCRATCH" --product trail >&2
swift build -c release --scratch-path "$SCRATCH" --product trail-bench >&2
BIN="$SCRATCH/release"
WORK=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
export TRAIL_HOME="$WORK/home"
"$BIN/trail" demo --json > "$WORK/demo.json"
python3 - "$WORK" <<'PY'
import csv, json, sys
work = sys.argv[1]
row = next(csv.DictReader(open("data/breast_cancer.csv")))
row.pop("target")
body = json.dumps({"dataframe_records": [{k: float(v) for k, v in row.items()}]})
open(f"{work}/body.json", "w").write(body)
open(f"{work}/post.lua", "w").write(
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ' + json.dumps(body) + "\n")
PY

wait_up() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "server at $1 did not start" >&2; exit 1; }

# wrk -> {"rps":…, "p50_ms":…, "p99_ms":…}
load() {
  wrk -t2 -c"$2" -d"${SECONDS_PER_RUN}s" --latency -s "$WORK/post.lua" "$1" > "$WORK/wrk.txt" 2>&1
  python3 - "$WORK/wrk.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m: return None
    v, u = float(m.group(1)), m.group(2)
    return round(v / 1000 if u == "us" else v * 1000 if u == "s" else v, 3)
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
print('{"rps": %.0f, "p50_ms": %s, "p99_ms": %s, "non_2xx": %s}' % (rps, ms("50%"), ms("99%"), non2xx.group(1) if non2xx else 0))
PY
}
rss() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status"; }

"$BIN/trail-bench" --ceiling-port 18190 & CEIL=$!; PIDS="$PIDS $CEIL"
wait_up "http://127.0.0.1:18190/invocations"
CEIL64=$(load http://127.0.0.1:18190/invocations 64)
kill $CEIL

"$BIN/trail" serve breast_cancer_classifier@production --port 18191 > "$WORK/serve.log" 2>&1 & SERVE=$!; PIDS="$PIDS $SERVE"
wait_up "http://127.0.0.1:18191/health"
T64=$(load http://127.0.0.1:18191/predict 64)
T16=$(load http://127.0.0.1:18191/predict 16)
TRSS=$(rss $SERVE)
kill $SERVE
LOGGED=$(sqlite3 "$TRAIL_HOME/trail.sqlite" "SELECT COUNT(*) FROM predictions" 2>/dev/null || echo null)

PEER=null
if [ -n "$VENV" ]; then
  "$VENV/bin/python" - "$WORK" <<'PY' >&2
import sys, mlflow.sklearn
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
import pandas as pd
df = pd.read_csv("data/breast_cancer.csv")
X, y = df.drop(columns=["target"]).astype("float64"), df["target"]
model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)).fit(X, y)
mlflow.sklearn.save_model(model, sys.argv[1] + "/sk-model", input_example=X.head(1))
PY
  PATH="$VENV/bin:$PATH" "$VENV/bin/mlflow" models serve -m "$WORK/sk-model" --env-manager local -h 127.0.0.1 -p 18192 > "$WORK/mlflow.log" 2>&1 & MLF=$!; PIDS="$PIDS $MLF"
  for _ in $(seq 600); do curl -sf -o /dev/null http://127.0.0.1:18192/ping && break; sleep 0.2; done
  P16=$(load http://127.0.0.1:18192/invocations 16)
  P64=$(load http://127.0.0.1:18192/invocations 64)
  PRSS=$(ps -o rss= --ppid $MLF | awk '{s+=$1} END {print int(s/1024)}')
  PRSS=$((PRSS + $(rss $MLF)))
  PEER="{\"c16\": $P16, \"c64\": $P64, \"rss_mib\": $PRSS}"
fi

TRACEJSON=$("$BIN/trail-bench" --trace-predictions "$TRACE")
echo "{\"modeltrail\": {\"c64\": $T64, \"c16\": $T16, \"rss_mib\": $TRSS, \"predictions_logged\": $LOGGED}, \"ceiling_c64\": $CEIL64, \"mlflow_models_serve\": $PEER, \"trace\": $TRACEJSON}"
