#!/usr/bin/env bash
# Fuzzes ModelTrail's HTTP APIs with schemathesis (PyPI, pinned in compat/fuzz-requirements.txt):
# the native API of `trail server` from its OpenAPI document (/api/v1/openapi.json), and the
# model-serving API of `trail serve` from the document it serves (/openapi.json). Bounded in time.
# The bar: no 5xx answer (schemathesis' not_a_server_error check) and neither server crashed.
#
#   bash compat/fuzz.sh                                   # TRAIL_BIN defaults to .build/debug/trail
#   SCHEMA_FILE=/tmp/openapi-v1.json bash compat/fuzz.sh  # fuzz /api/v1 from this file
#
# Environment (all optional):
#   TRAIL_BIN            the trail binary (default .build/debug/trail); never built here
#   FUZZ_VENV            virtual environment for schemathesis (default /tmp/modeltrail-fuzz-venv)
#   SCHEMA_FILE          OpenAPI document for /api/v1. Unset: the one the server serves at
#                        /api/v1/openapi.json, or, for a binary without that route, the document
#                        in Sources/TrailHTTP/Routes/OpenAPIDocument.swift
#   FUZZ_API_SECONDS     time budget of the /api/v1 run (default 150)
#   FUZZ_SERVE_SECONDS   time budget of the serving run (default 40)
#   FUZZ_MAX_EXAMPLES    examples per operation and fuzzing cycle (default 20)
#   FUZZ_WORKERS         concurrent schemathesis workers (default 2)
#   FUZZ_SEED            schemathesis seed, to replay a run
#   FUZZ_ARGS            extra arguments for the /api/v1 run (e.g. --exclude-path-regex '...')
#   FUZZ_SKIP_SERVE=1    skip the serving API (and the demo's model server)
#   FUZZ_KEEP=1          keep the work folder (home, logs, reports) even when the run passes
#   FUZZ_BIN_WAIT        seconds to wait for TRAIL_BIN to appear (default 0)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s)

venv="${FUZZ_VENV:-/tmp/modeltrail-fuzz-venv}"
requirements="$root/compat/fuzz-requirements.txt"
pinned=$(sed -n 's/^schemathesis==\([^ ]*\).*/\1/p' "$requirements")
api_seconds="${FUZZ_API_SECONDS:-150}"
serve_seconds="${FUZZ_SERVE_SECONDS:-40}"
max_examples="${FUZZ_MAX_EXAMPLES:-20}"
workers="${FUZZ_WORKERS:-2}"
trail_bin="${TRAIL_BIN:-$root/.build/debug/trail}"

say() { printf 'fuzz [%3ds]: %s\n' "$(($(date +%s) - started))" "$*"; }

# schemathesis, at the pinned version.
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$pinned')" 2>/dev/null; then
  say "installing schemathesis==$pinned into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
fi
py="$venv/bin/python"
st="$venv/bin/schemathesis"

# The binary: copied, so a rebuild of the tree during the run cannot swap it underneath.
waited=0
while [ ! -x "$trail_bin" ] && [ "$waited" -lt "${FUZZ_BIN_WAIT:-0}" ]; do sleep 5; waited=$((waited + 5)); done
if [ ! -x "$trail_bin" ]; then
  echo "fuzz: no trail binary at $trail_bin; build it first ('swift build --product trail') or set TRAIL_BIN" >&2
  exit 2
fi
work=$(mktemp -d /tmp/modeltrail-fuzz.XXXXXX)
cp "$trail_bin" "$work/trail"
trail="$work/trail"
export TRAIL_HOME="$work/home"
unset TRAIL_TOKEN TRAIL_LOCAL_ONLY

server_pid=""
serve_pid=""
result=1
cleanup() {
  for pid in $server_pid $serve_pid; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $server_pid $serve_pid; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$result" -eq 0 ] && [ "${FUZZ_KEEP:-0}" != "1" ]; then
    rm -rf "$work"
  else
    echo "fuzz: home, server logs and schemathesis reports kept in $work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_up URL PID LOG: until URL answers 200, or fail if the process exits or 120 s pass.
wait_up() {
  local url=$1 pid=$2 log=$3
  for _ in $(seq 1 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "fuzz: the process behind $url exited during start-up:" >&2
      tail -n 40 "$log" >&2
      return 1
    fi
    if "$py" -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('$url', timeout=2).status != 200)" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  echo "fuzz: $url did not answer within 120 s" >&2
  tail -n 40 "$log" >&2
  return 1
}

# 1. A fresh home with data: the demo trains, registers and promotes breast_cancer_classifier
#    (it reads data/breast_cancer.csv, hence the repository root as working directory).
say "seeding $TRAIL_HOME with 'trail demo'"
if ! "$trail" demo > "$work/demo.log" 2>&1; then
  echo "fuzz: 'trail demo' failed:" >&2
  tail -n 40 "$work/demo.log" >&2
  exit 1
fi
"$trail" users create fuzzer --role admin --role contributor --role approver > /dev/null
token=$("$trail" tokens create fuzzer --json | "$py" -c 'import json, sys; print(json.load(sys.stdin)["token"])')

# 2. The tracking server (tokens required) and the model server. The model server gets its own
#    copy of the home: the /api/v1 fuzzing moves and removes aliases, and a deployment whose
#    alias names no version any more is withdrawn (503) by design.
[ "${FUZZ_SKIP_SERVE:-0}" = "1" ] || cp -a "$TRAIL_HOME" "$work/serve-home"
api_port=$(free_port)
api="http://127.0.0.1:$api_port"
"$trail" server --port "$api_port" > "$work/server.log" 2>&1 &
server_pid=$!
if [ "${FUZZ_SKIP_SERVE:-0}" != "1" ]; then
  serve_port=$(free_port)
  while [ "$serve_port" = "$api_port" ]; do serve_port=$(free_port); done
  serving="http://127.0.0.1:$serve_port"
  TRAIL_HOME="$work/serve-home" "$trail" serve breast_cancer_classifier@production --port "$serve_port" --poll-seconds 5 \
    > "$work/serve.log" 2>&1 &
  serve_pid=$!
fi
wait_up "$api/health" "$server_pid" "$work/server.log"
[ -z "$serve_pid" ] || wait_up "$serving/health" "$serve_pid" "$work/serve.log"
say "trail server on $api (pid $server_pid)${serve_pid:+, trail serve on $serving (pid $serve_pid)}"

# 3. The /api/v1 document, with examples that name the data seeded here (a running run with a
#    metric, tag and artifact; the demo's model and run; a trusted key), so that the first cases
#    of each operation reach past "no such run" into the handlers.
if [ -n "${SCHEMA_FILE:-}" ]; then
  cp "$SCHEMA_FILE" "$work/openapi-v1.json"
  say "schema: $SCHEMA_FILE"
elif "$py" - "$api/api/v1/openapi.json" "$token" "$work/openapi-v1.json" 2>/dev/null <<'EOF'
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
document = json.loads(urllib.request.urlopen(request, timeout=10).read())
json.dump(document, open(sys.argv[3], "w", encoding="utf-8"), indent=1)
EOF
then
  say "schema: $api/api/v1/openapi.json"
else
  "$py" - "$root/Sources/TrailHTTP/Routes/OpenAPIDocument.swift" "$work/openapi-v1.json" <<'EOF'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
body = text[text.index('#"""') + 4:text.rindex('"""#')]
json.dump(json.loads(body), open(sys.argv[2], "w"), indent=1)
EOF
  say "schema: Sources/TrailHTTP/Routes/OpenAPIDocument.swift (the server does not serve /api/v1/openapi.json)"
fi
schema="$work/openapi-v1-seeded.json"
"$py" - "$api" "$token" "$work/openapi-v1.json" "$schema" <<'EOF'
import json, sys, time, urllib.error, urllib.request

api, token, source, target = sys.argv[1:5]


def call(method, path, body=None, raw=None, content_type="application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(api + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + token, "Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        sys.exit(f"fuzz: seeding {method} {path} failed: {error.code} {error.read()[:300]!r}")


first_size = call("GET", "/api/v1/ledger/checkpoint")["size"]
model = "breast_cancer_classifier"
found = call("GET", f"/api/v1/models/{model}")
demo = found["versions"][0]
demo_run, version = demo["run_id"], demo["version"]
experiment = call("POST", "/api/v1/experiments", {"name": "fuzz-seed"})["experiment"]["experiment_id"]
call("POST", f"/api/v1/experiments/{experiment}/tags", {"key": "team", "value": "fuzz"})
run = call("POST", "/api/v1/runs", {"experiment_id": experiment, "run_name": "fuzz-seed"})["run"]["info"]["run_id"]
# Others for the operations that delete, restore or rename, so the examples above stay usable.
victim_experiment = call("POST", "/api/v1/experiments", {"name": "fuzz-victim"})["experiment"]["experiment_id"]
victim_run = call("POST", "/api/v1/runs", {"experiment_id": experiment, "run_name": "fuzz-victim"})["run"]["info"]["run_id"]
now = int(time.time() * 1000)
call("POST", f"/api/v1/runs/{run}/metrics", {"key": "loss", "value": 0.5, "timestamp": now, "step": 1})
call("POST", f"/api/v1/runs/{run}/params", {"key": "lr", "value": "0.1"})
call("POST", f"/api/v1/runs/{run}/tags", {"key": "note", "value": "seeded"})
call("PUT", f"/api/v1/runs/{run}/artifacts/fuzz/notes.txt", raw=b"seeded by compat/fuzz.sh\n", content_type="application/octet-stream")
key = call("POST", "/api/v1/keys", {"name": "fuzz-key", "public_key": "11" * 32,
                                    "predicate_types": ["https://modeltrail.dev/fuzz/v1"]})["keyid"]
time.sleep(1.5)  # the server checkpoints the seeded events within a second
size = call("GET", "/api/v1/ledger/checkpoint")["size"]

doc = json.load(open(source, encoding="utf-8"))
shared = {"experiment_id": experiment, "run_id": run, "tag_key": "note", "metric_key": "loss", "model_name": model,
          "version": version, "alias": "staging", "keyid": key}
for name, value in shared.items():
    doc["components"]["parameters"][name]["example"] = value
inline = {
    ("/api/v1/ledger/events/{reference}", "reference"): "1",
    ("/api/v1/ledger/proofs/inclusion", "index"): 1,
    ("/api/v1/ledger/proofs/inclusion", "size"): size,
    ("/api/v1/ledger/proofs/consistency", "first"): first_size,
    ("/api/v1/ledger/proofs/consistency", "second"): size,
    ("/api/v1/models/{name}/at", "ref"): "production",
    ("/api/v1/models/{name}/at", "time"): now,
    ("/api/v1/models/{name}/versions/{version}/check", "to"): "@production",
    ("/api/v1/models/{name}/policies", "target"): "@staging",
    ("/api/v1/runs/{run_id}/artifacts/{path}", "path"): "fuzz/notes.txt",
}
bodies = {
    ("/api/v1/experiments", "post"): {"name": "fuzz-example"},
    ("/api/v1/experiments/{experiment_id}/rename", "post"): {"new_name": "fuzz-renamed"},
    ("/api/v1/runs", "post"): {"experiment_id": experiment, "run_name": "fuzz-example"},
    ("/api/v1/runs/search", "post"): {"experiment_ids": [experiment], "filter": "metrics.loss < 1", "order_by": ["metrics.loss DESC"]},
    ("/api/v1/runs/{run_id}", "patch"): {"status": "RUNNING", "run_name": "fuzz-seed"},
    ("/api/v1/runs/{run_id}/metrics", "post"): {"key": "loss", "value": 0.25, "timestamp": now, "step": 2},
    ("/api/v1/runs/{run_id}/params", "post"): {"key": "batch", "value": "32"},
    ("/api/v1/runs/{run_id}/batch", "post"): {"metrics": [{"key": "acc", "value": 0.9, "timestamp": now, "step": 0}],
                                               "params": [{"key": "seed", "value": "1"}], "tags": [{"key": "stage", "value": "fuzz"}]},
    ("/api/v1/runs/{run_id}/inputs", "post"): {"datasets": [{"name": "fuzz", "digest": "sha256:" + "0" * 64, "source_type": "local",
                                                             "source": "fuzz.csv", "profile": {"rows": 1, "columns": 1}}]},
    ("/api/v1/models", "post"): {"name": "fuzz-model", "description": "seeded"},
    ("/api/v1/models/{name}/versions", "post"): {"run_id": demo_run, "path": "model", "description": "fuzz"},
    ("/api/v1/models/{name}/versions/{version}/stage", "post"): {"stage": "Staging", "reason": "fuzz"},
    ("/api/v1/models/{name}/aliases", "post"): {"alias": "fuzz", "version": version, "reason": "fuzz"},
    ("/api/v1/models/{name}/aliases/emergency", "post"): {"alias": "fuzz-emergency", "version": version, "reason": "fuzz: emergency path drill"},
    ("/api/v1/models/{name}/versions/{version}/approvals", "post"): {"target": "@production", "decision": "approve", "comment": "fuzz"},
    ("/api/v1/models/{name}/policies", "post"): {"approvals": 1, "metrics": [{"key": "accuracy", "op": ">=", "value": 0.5}]},
    ("/api/v1/keys", "post"): {"name": "fuzz-key-2", "public_key": "22" * 32, "predicate_types": ["https://modeltrail.dev/fuzz/v1"]},
}
for (path, name), value in inline.items():
    for operation in doc["paths"][path].values():
        for parameter in operation.get("parameters", []):
            if parameter.get("name") == name:
                parameter["example"] = value
victims = {
    ("/api/v1/experiments/{experiment_id}/delete", "experiment_id"): victim_experiment,
    ("/api/v1/experiments/{experiment_id}/restore", "experiment_id"): victim_experiment,
    ("/api/v1/experiments/{experiment_id}/rename", "experiment_id"): victim_experiment,
    ("/api/v1/runs/{run_id}/delete", "run_id"): victim_run,
    ("/api/v1/runs/{run_id}/restore", "run_id"): victim_run,
}
for (path, name), value in victims.items():
    for operation in doc["paths"][path].values():
        operation["parameters"] = [dict(doc["components"]["parameters"][name], example=value)
                                   if p.get("$ref") == "#/components/parameters/" + name else p for p in operation["parameters"]]
for (path, method), value in bodies.items():
    doc["paths"][path][method]["requestBody"]["content"]["application/json"]["example"] = value
json.dump(doc, open(target, "w", encoding="utf-8"), indent=1)
print(f"seeded: experiment {experiment} (and {victim_experiment} to delete), run {run} (and {victim_run} to delete), "
      f"demo run {demo_run}, {model} version {version}, key {key}, checkpoints {first_size} and {size}")
EOF

# A seed always, printed, so that a failing run (on CI too) can be replayed.
seed="${FUZZ_SEED:-$("$py" -c 'import random; print(random.getrandbits(32))')}"
seed_args=(--seed "$seed")
say "seed $seed (replay with FUZZ_SEED=$seed)"
common=(--checks not_a_server_error --max-examples "$max_examples" --workers "$workers" --request-timeout 30
  --generation-database none --suppress-health-check all --no-color "${seed_args[@]}")

# fuzz NAME SECONDS LOCATION BASE_URL [ARGS...]: one bounded schemathesis run; its exit status.
fuzz() {
  local name=$1 seconds=$2 location=$3 base=$4
  shift 4
  mkdir -p "$work/reports/$name"
  say "schemathesis on $name ($location) for at most ${seconds}s"
  local status=0
  # From the work folder: schemathesis keeps a .schemathesis/ cache in its working directory.
  (cd "$work" && timeout -k 20 -s INT $((seconds + 120)) "$st" run "$location" --url "$base" --max-time "$seconds" "${common[@]}" \
    --report junit,ndjson --report-dir "$work/reports/$name" "$@") > "$work/schemathesis-$name.log" 2>&1 || status=$?
  # schemathesis' own summary (its failures, with curl reproductions, are in the log).
  sed -n '/^=* *SUMMARY/,$p' "$work/schemathesis-$name.log" | tail -n 60
  say "schemathesis on $name exited with $status"
  return "$status"
}

api_status=0
# shellcheck disable=SC2086  # FUZZ_ARGS is a list of words by design
fuzz api "$api_seconds" "$schema" "$api" -H "Authorization: Bearer $token" ${FUZZ_ARGS:-} || api_status=$?
serve_status=0
if [ -n "$serve_pid" ]; then
  fuzz serving "$serve_seconds" "$serving/openapi.json" "$serving" || serve_status=$?
fi

# 4. Both processes must still be up and answering (any HTTP status counts as an answer).
crashes=0
check_alive() {
  local name=$1 pid=$2 url=$3 log=$4
  if ! kill -0 "$pid" 2>/dev/null; then
    local code=0
    wait "$pid" 2>/dev/null || code=$?
    echo "CRASH: $name (pid $pid) exited with status $code; the end of $log:"
    grep -n -i -E 'fatal error|crash|trap|overflow|precondition|assertion' "$log" | tail -n 10 || true
    tail -n 20 "$log"
    crashes=$((crashes + 1))
  elif ! "$py" - "$url" 2>/dev/null <<'EOF'
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=10)
except urllib.error.HTTPError:
    pass
EOF
  then
    echo "HUNG: $name (pid $pid) is running but $url does not answer"
    crashes=$((crashes + 1))
  fi
}
check_alive "trail server" "$server_pid" "$api/health" "$work/server.log"
[ -z "$serve_pid" ] || check_alive "trail serve" "$serve_pid" "$serving/health" "$work/serve.log"

# 5. Summary: the distinct 5xx answers from the reports, and what the server logged about them.
echo
echo "==================== fuzz summary ===================="
"$py" - "$work/reports" <<'EOF' || true
import base64, collections, glob, json, os, sys
from urllib.parse import urlsplit

def text(blob, limit=300):
    if not blob:
        return ""
    raw = base64.b64decode(blob["$base64"]) if isinstance(blob, dict) and "$base64" in blob else str(blob).encode()
    shown = " ".join(raw[:limit].decode("utf-8", "replace").split())
    return shown + ("…" if len(raw) > limit else "")

for path in sorted(glob.glob(os.path.join(sys.argv[1], "*", "ndjson-*.ndjson"))):
    name = os.path.basename(os.path.dirname(path))
    cases, statuses, found, errors = 0, collections.Counter(), collections.OrderedDict(), collections.Counter()
    for line in open(path, encoding="utf-8"):
        event = json.loads(line)
        if "NonFatalError" in event:
            error = event["NonFatalError"]
            value = error.get("value") or error.get("info") or {}
            errors[(error.get("label", ""), value.get("type") or value.get("title", ""), (value.get("message") or "")[:1500])] += 1
        if "ScenarioFinished" not in event:
            continue
        recorder = event["ScenarioFinished"]["recorder"]
        for case_id, interaction in (recorder.get("interactions") or {}).items():
            cases += 1
            response = interaction.get("response")
            statuses[response["status_code"] if response else "no response"] += 1
            failed = [c for c in (recorder.get("checks") or {}).get(case_id, []) if c.get("status") == "failure"]
            if not failed:
                continue
            request = interaction["request"]
            label = recorder.get("label", "")
            status = response["status_code"] if response else "no response"
            key = (request["method"], label, status, text(response.get("content") if response else "", 120))
            entry = found.setdefault(key, {"count": 0, "examples": []})
            entry["count"] += 1
            uri = urlsplit(request["uri"])
            # The two smallest reproductions of each distinct failure.
            entry["examples"].append((request["method"] + " " + uri.path + ("?" + uri.query if uri.query else ""),
                                      text(request.get("body")), text(response.get("content") if response else "")))
            entry["examples"] = sorted(entry["examples"], key=lambda e: len(e[0]) + len(e[1]))[:2]
    print(f"{name}: {cases} requests, status codes {dict(sorted(statuses.items(), key=str))}")
    print(f"{name}: {len(found)} distinct failures (method, operation, status, answer)")
    for (method, label, status, _), entry in found.items():
        print(f"  [{status}] {label} (method {method}) x{entry['count']}")
        for request, body, answer in entry["examples"]:
            print(f"      request:  {request[:400]}")
            if body:
                print(f"      body:     {body}")
            print(f"      response: {answer}")
    # Network errors and "server unavailable" (with the last requests before it went away).
    for (label, kind, message), count in errors.items():
        print(f"  ERROR {label}: {kind} x{count}")
        for line in message.splitlines():
            if line.strip():
                print(f"      {line.strip()}")
    # The tool's own trouble: a run whose only errors are Hypothesis "flaky" reports (its example
    # generation failing once, e.g. a KeyError in its lambda-source cache), with no failed check
    # and no 5xx answer, says nothing about the server. Marked so the verdict below can tell.
    only_tool = not found and errors and all("Flaky" in kind for (_, kind, _) in errors) \
        and not any(isinstance(code, int) and code >= 500 for code in statuses)
    if only_tool:
        open(os.path.join(sys.argv[1], name, "only-tool-errors"), "w").close()
        print(f"{name}: only schemathesis/Hypothesis flaky-generation errors, no failed check, no 5xx")
EOF
internal=$(grep -c ' failed: ' "$work/server.log" || true)
if [ "${internal:-0}" -gt 0 ]; then
  echo "trail server logged $internal internal errors; distinct ones (see $work/server.log):"
  grep ' failed: ' "$work/server.log" | sed -E 's/^.*(GET|POST|PUT|PATCH|DELETE) /\1 /' | sed -E 's/\/[0-9a-f]{32}\//\/{run_id}\//' \
    | cut -c1-300 | sort | uniq -c | sort -rn | head -n 30
fi
# A schemathesis exit caused only by its own flaky example generation is not a finding, as long
# as the server logged no internal error either (an intermittent 5xx would show up there).
for name in api serving; do
  status_var="${name/serving/serve}_status"
  if [ "${!status_var}" -ne 0 ] && [ -f "$work/reports/$name/only-tool-errors" ] && [ "${internal:-0}" -eq 0 ]; then
    echo "$name: schemathesis exit ${!status_var} was its own flaky-generation error (see above); the server answered no 5xx and logged nothing: not a finding"
    printf -v "$status_var" 0
  fi
done
serve_text="skipped"
[ -z "$serve_pid" ] || serve_text="schemathesis exit $serve_status"
echo "api: schemathesis exit $api_status; serving: $serve_text; crashes or hangs: $crashes"
echo "took $(($(date +%s) - started)) s; seed $seed; logs: $work"
if [ "$api_status" -eq 0 ] && [ "$serve_status" -eq 0 ] && [ "$crashes" -eq 0 ]; then
  echo "fuzz: PASS (no server error, no crash)"
  result=0
else
  echo "fuzz: FAIL"
fi
exit "$result"
