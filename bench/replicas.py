"""Ingestion through MLflow's REST API with 1, 2 and 3 `trail server` replicas on one PostgreSQL
database, beside the same workload on one ModelTrail server on SQLite and on `mlflow server` with
its metadata in the same PostgreSQL (`--backend-store-uri postgresql://…`, a database of its own).

    BENCH_POSTGRES=postgres://trail:trail@127.0.0.1:5433/trail TRAIL_BIN=/tmp/rel/release/trail \
      .venv-compat/bin/python bench/replicas.py [--seconds 10] [--clients 6] [--replicas 1,2,3]

Two phases per setup, each for --seconds with --clients client processes spread round-robin over
the replicas (keep-alive HTTP/1.1 connections, prepared JSON bodies, no mlflow client in the way):
  runs:    POST runs/create
  metrics: POST runs/log-batch with 1,000 metrics each
Reported per phase: operations/s, and the servers' CPU seconds per 1,000 runs or per 1,000,000
metrics (user + system of every server process tree, from /proc) — the figure that the issue's
target is set on (ModelTrail on PostgreSQL >= 5x MLflow on PostgreSQL), since on this 2-core machine
the Python clients share the CPU with the servers. Prints JSON on stdout and a table on stderr.
"""
import argparse
import base64
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mlflow_compare import free_port, postgres_database, tree_cpu_seconds, wait_up  # noqa: E402

BATCH = 1000


def request(conn, path, body, headers):
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}: {data[:300]!r}")
    return data


def client(args):
    """One client process: its phase's requests against one replica until the deadline."""
    port, auth, phase, experiment_id, deadline, seed = args
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    now = int(time.time() * 1000)
    create = json.dumps({"experiment_id": experiment_id, "start_time": now}).encode()
    run_id = json.loads(request(conn, "/api/2.0/mlflow/runs/create", create, headers))["run"]["info"]["run_id"]
    done = 0
    step = 0
    while time.time() < deadline:
        if phase == "runs":
            request(conn, "/api/2.0/mlflow/runs/create", create, headers)
        else:
            metrics = [{"key": f"m{i % 10}", "value": (seed * 7919 + step * BATCH + i) % 1000 / 7.0, "timestamp": now, "step": step * 100 + i // 10}
                       for i in range(BATCH)]
            request(conn, "/api/2.0/mlflow/runs/log-batch", json.dumps({"run_id": run_id, "metrics": metrics}).encode(), headers)
            step += 1
        done += 1
    return done


def postmaster():
    """The PostgreSQL server's pid, when MODELTRAIL_PG_DIR names its data folder (compat/postgres.sh)."""
    folder = os.environ.get("MODELTRAIL_PG_DIR")
    try:
        with open(os.path.join(folder, "postmaster.pid")) as f:
            return int(f.readline())
    except (TypeError, OSError, ValueError):
        return None


def measure(ports, auth, experiment_id, phase, clients, seconds, pids):
    deadline = time.time() + seconds
    database = postmaster()
    cpu_before = sum(tree_cpu_seconds(p) for p in pids)
    db_before = tree_cpu_seconds(database) if database else 0
    started = time.time()
    with multiprocessing.Pool(clients) as pool:
        counts = pool.map(client, [(ports[i % len(ports)], auth, phase, experiment_id, deadline, i) for i in range(clients)])
    elapsed = time.time() - started
    cpu = sum(tree_cpu_seconds(p) for p in pids) - cpu_before
    db = (tree_cpu_seconds(database) - db_before) if database else None
    ops = sum(counts)
    per, unit = (1000, "1000_runs") if phase == "runs" else (1e6 / BATCH, "million_metrics")
    out = {f"{phase}_per_second": round(ops * (1 if phase == "runs" else BATCH) / elapsed, 1),
           f"server_cpu_seconds_per_{unit}": round(cpu / max(ops, 1) * per, 3),
           "operations": ops, "server_cpu_seconds": round(cpu, 2)}
    if db is not None:
        out[f"postgres_cpu_seconds_per_{unit}"] = round(db / max(ops, 1) * per, 3)
    return out


def experiment(port, auth):
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"name": f"bench-{uuid.uuid4().hex[:8]}"}).encode()
    return json.loads(request(conn, "/api/2.0/mlflow/experiments/create", body, headers))["experiment_id"]


def modeltrail(trail_bin, replicas, store, args):
    work = tempfile.mkdtemp(prefix="bench-replicas-")
    homes = [os.path.join(work, f"home{i}") for i in range(replicas)]
    env = dict(os.environ)
    env.pop("TRAIL_STORE", None)
    if store:
        env["TRAIL_STORE"] = store
    first = dict(env, TRAIL_HOME=homes[0])
    subprocess.run([trail_bin, "users", "create", "bench", "--role", "contributor"], env=first, check=True, capture_output=True)
    token = json.loads(subprocess.run([trail_bin, "tokens", "create", "bench", "--json"], env=first, check=True, capture_output=True).stdout)["token"]
    for home in homes[1:]:
        os.makedirs(home)
        shutil.copytree(os.path.join(homes[0], "keys"), os.path.join(home, "keys"))
    servers, ports = [], []
    try:
        for home in homes:
            port = free_port()
            servers.append(subprocess.Popen([trail_bin, "server", "--port", str(port)], env=dict(env, TRAIL_HOME=home),
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            ports.append(port)
        for port, server in zip(ports, servers):
            wait_up(f"http://127.0.0.1:{port}", server)
        auth = "Basic " + base64.b64encode(f"bench:{token}".encode()).decode()
        exp = experiment(ports[0], auth)
        pids = [s.pid for s in servers]
        result = {"runs": measure(ports, auth, exp, "runs", args.clients, args.seconds, pids),
                  "metrics": measure(ports, auth, exp, "metrics", args.clients, args.seconds, pids)}
        verify = subprocess.run([trail_bin, "ledger", "verify", "--json"], env=first, capture_output=True, text=True)
        result["ledger_verify"] = "passed" if verify.returncode == 0 else f"FAILED: {verify.stdout[-500:]}{verify.stderr[-500:]}"
        return result
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def mlflow(database, args):
    work = tempfile.mkdtemp(prefix="bench-replicas-mlflow-")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "psycopg2-binary"], check=True)
    backend = "postgresql+psycopg2" + database[len("postgres"):]
    port = free_port()
    mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
    server = subprocess.Popen([mlflow_bin, "server", "--backend-store-uri", backend, "--artifacts-destination", os.path.join(work, "artifacts"),
                               "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.mlflow_workers)],
                              cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_up(f"http://127.0.0.1:{port}", server)
        exp = experiment(port, None)
        return {"runs": measure([port], None, exp, "runs", args.clients, args.seconds, [server.pid]),
                "metrics": measure([port], None, exp, "metrics", args.clients, args.seconds, [server.pid])}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--replicas", default="1,2,3")
    parser.add_argument("--mlflow-workers", type=int, default=1)
    args = parser.parse_args()
    trail_bin = os.environ["TRAIL_BIN"]
    if not os.environ.get("BENCH_POSTGRES"):
        sys.exit("BENCH_POSTGRES=postgres://user:password@host:port/db (a role that may CREATE DATABASE) is required")
    setups = {}
    print("modeltrail on SQLite, 1 server", file=sys.stderr, flush=True)
    setups["modeltrail_sqlite_1"] = modeltrail(trail_bin, 1, None, args)
    for k in [int(x) for x in args.replicas.split(",")]:
        print(f"modeltrail on PostgreSQL, {k} replica(s)", file=sys.stderr, flush=True)
        setups[f"modeltrail_postgres_{k}"] = modeltrail(trail_bin, k, postgres_database("bench_replicas") + "?sslmode=disable", args)
    print("mlflow server on PostgreSQL", file=sys.stderr, flush=True)
    setups["mlflow_postgres_1"] = mlflow(postgres_database("bench_replicas_mlflow"), args)
    theirs = setups["mlflow_postgres_1"]
    ratios = {}
    for name, figures in setups.items():
        if name.startswith("modeltrail_postgres"):
            ratios[name] = {
                "runs_cpu_factor": round(theirs["runs"]["server_cpu_seconds_per_1000_runs"] / max(figures["runs"]["server_cpu_seconds_per_1000_runs"], 1e-9), 1),
                "metrics_cpu_factor": round(theirs["metrics"]["server_cpu_seconds_per_million_metrics"] / max(figures["metrics"]["server_cpu_seconds_per_million_metrics"], 1e-9), 1)}
    out = {"clients": args.clients, "seconds_per_phase": args.seconds, "metrics_per_batch": BATCH, "mlflow_workers": args.mlflow_workers,
           "setups": setups, "server_cpu_per_operation_mlflow_over_modeltrail": ratios, "target_factor": 5,
           "note": "server CPU is the servers' process trees; PostgreSQL's own CPU (its whole process tree, both sides on the same server) is reported beside it when MODELTRAIL_PG_DIR is set"}
    print(json.dumps(out, indent=1))
    print("\n| setup | runs/s | server CPU s / 1k runs (PostgreSQL's) | metrics/s | server CPU s / 1M metrics (PostgreSQL's) | ledger verify |", file=sys.stderr)
    print("|---|---|---|---|---|---|", file=sys.stderr)
    for name, f in setups.items():
        r, m = f["runs"], f["metrics"]
        print(f"| {name} | {r['runs_per_second']:,} | {r['server_cpu_seconds_per_1000_runs']} ({r.get('postgres_cpu_seconds_per_1000_runs', '—')}) | "
              f"{m['metrics_per_second']:,} | {m['server_cpu_seconds_per_million_metrics']} ({m.get('postgres_cpu_seconds_per_million_metrics', '—')}) | "
              f"{f.get('ledger_verify', '—')} |", file=sys.stderr)


if __name__ == "__main__":
    main()
