"""Serving an MLflow model: ModelTrail's gateway (`trail serve NAME@alias --python …`, durable
prediction log on) against `mlflow models serve` (its default: one uvicorn worker), the same
scikit-learn pipeline (StandardScaler + LogisticRegression on data/breast_cancer.csv, logged with
mlflow.sklearn.log_model with a signature) and the same one-row `dataframe_split` body, with wrk at
16 and 64 connections, side by side in one run. Prints one JSON object (and a table on stderr).

    TRAIL_BIN=/path/to/release/trail .venv-compat/bin/python bench/serve_mlflow.py [--seconds 10] [--workers 1,2,3]

Needs wrk (Debian's package) and a Python with mlflow and scikit-learn (this one).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from mlflow_compare import free_port, process_tree, tree_rss_kib  # noqa: E402


def wait(url, process, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def wrk(url, connections, seconds, script):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s", "-s", script, url],
                         capture_output=True, text=True, check=True).stdout

    def ms(label):
        m = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return None
        v, unit = float(m.group(1)), m.group(2)
        return round(v / 1000 if unit == "us" else v * 1000 if unit == "s" else v, 2)

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), 1), "p50_ms": ms("50%"), "p99_ms": ms("99%"),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def measure(url, process, args, script):
    wrk(url, 16, 3, script)  # warm-up
    result = {}
    peak = 0
    for connections in (16, 64):
        result[f"c{connections}"] = wrk(url, connections, args.seconds, script)
        peak = max(peak, tree_rss_kib(process.pid))
    result["rss_mib_whole_tree"] = round(peak / 1024)
    result["processes"] = len(list(process_tree(process.pid)))
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", default="1,2,3")
    args = parser.parse_args()
    trail = os.environ["TRAIL_BIN"]
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (apt-get install wrk)")
    work = tempfile.mkdtemp(prefix="bench-serve-mlflow-")
    home = os.path.join(work, "home")
    env = dict(os.environ, TRAIL_HOME=home)
    env.pop("TRAIL_STORE", None)

    # Log and register the model through ModelTrail's MLflow API with the official client.
    port = free_port()
    tracking = subprocess.Popen([trail, "server", "--local-only", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(f"http://127.0.0.1:{port}/health", tracking)
        code = f"""
import mlflow, pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
mlflow.set_tracking_uri("http://127.0.0.1:{port}")
df = pd.read_csv("{ROOT}/data/breast_cancer.csv")
X, y = df.drop(columns=["target"]).astype("float64"), df["target"]
model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)).fit(X, y)
with mlflow.start_run():
    info = mlflow.sklearn.log_model(model, name="model", signature=infer_signature(X, model.predict(X)), input_example=X.head(1),
                                    registered_model_name="bc_pipeline")
mlflow.MlflowClient().set_registered_model_alias("bc_pipeline", "production", "1")
mlflow.sklearn.save_model(model, "{work}/sk-model", signature=infer_signature(X, model.predict(X)), input_example=X.head(1))
import json
row = X.iloc[:1]
open("{work}/body.json", "w").write(json.dumps({{"dataframe_split": {{"columns": list(row.columns), "data": row.values.tolist()}}}}))
"""
        subprocess.run([sys.executable, "-c", code], check=True, env=dict(env, MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}"), stdout=sys.stderr)
    finally:
        tracking.terminate()
        tracking.wait(timeout=30)
    body = open(os.path.join(work, "body.json")).read()
    script = os.path.join(work, "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ' + json.dumps(body) + "\n")

    results = {"body_bytes": len(body), "seconds_per_run": args.seconds, "modeltrail": {}, "mlflow_models_serve": None}
    for workers in [int(w) for w in args.workers.split(",")]:
        port = free_port()
        serve = subprocess.Popen([trail, "serve", "bc_pipeline@production", "--port", str(port), "--python", sys.executable, "--workers", str(workers)],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait(f"http://127.0.0.1:{port}/ping", serve)
            print(f"modeltrail, {workers} worker(s)", file=sys.stderr, flush=True)
            results["modeltrail"][f"workers_{workers}"] = measure(f"http://127.0.0.1:{port}/invocations", serve, args, script)
        finally:
            serve.terminate()
            serve.wait(timeout=60)
    logged = subprocess.run(["sqlite3", os.path.join(home, "trail.sqlite"), "SELECT COUNT(*) FROM prediction_outputs"], capture_output=True, text=True)
    results["modeltrail_predictions_logged"] = int(logged.stdout.strip() or 0) if logged.returncode == 0 else None
    verify = subprocess.run([trail, "ledger", "verify", "--json"], env=env, capture_output=True, text=True)
    results["ledger_verify"] = "passed" if verify.returncode == 0 else "FAILED"

    port = free_port()
    mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
    peer = subprocess.Popen([mlflow_bin, "models", "serve", "-m", os.path.join(work, "sk-model"), "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
                            env=dict(os.environ, PATH=os.path.dirname(sys.executable) + ":" + os.environ["PATH"]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(f"http://127.0.0.1:{port}/ping", peer)
        print("mlflow models serve", file=sys.stderr, flush=True)
        results["mlflow_models_serve"] = measure(f"http://127.0.0.1:{port}/invocations", peer, args, script)
    finally:
        peer.terminate()
        peer.wait(timeout=60)

    best_workers, best = max(results["modeltrail"].items(), key=lambda kv: kv[1]["c64"]["rps"])
    theirs = results["mlflow_models_serve"]
    results["best_modeltrail"] = best_workers
    results["factors"] = {
        "throughput_c16": round(best["c16"]["rps"] / theirs["c16"]["rps"], 1),
        "throughput_c64": round(best["c64"]["rps"] / theirs["c64"]["rps"], 1),
        "modeltrail_p99_below_mlflow_p50_c16": best["c16"]["p99_ms"] < theirs["c16"]["p50_ms"],
        "modeltrail_p99_below_mlflow_p50_c64": best["c64"]["p99_ms"] < theirs["c64"]["p50_ms"],
        "rss_not_larger": best["rss_mib_whole_tree"] <= theirs["rss_mib_whole_tree"],
    }
    print(json.dumps(results, indent=1))
    print("\n| server | c16 req/s | c16 p50 / p99 ms | c64 req/s | c64 p50 / p99 ms | RSS MiB (tree) |", file=sys.stderr)
    print("|---|---|---|---|---|---|", file=sys.stderr)
    rows = [(f"trail serve, {k.replace('workers_', '')} worker(s)", v) for k, v in results["modeltrail"].items()] + [("mlflow models serve", theirs)]
    for label, r in rows:
        print(f"| {label} | {r['c16']['rps']:,} | {r['c16']['p50_ms']} / {r['c16']['p99_ms']} | {r['c64']['rps']:,} | {r['c64']['p50_ms']} / {r['c64']['p99_ms']} | "
              f"{r['rss_mib_whole_tree']} |", file=sys.stderr)


if __name__ == "__main__":
    main()
