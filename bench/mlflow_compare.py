"""Runs bench/mlflow_workload.py against ModelTrail and against `mlflow server` (SQLite backend,
artifact proxy, --workers 1) one after the other on this machine, samples each server's resident
memory (its whole process tree) while the workload runs, and prints one JSON object with both
sides, the ratios and the targets, then the same as a Markdown table on stderr.

With BENCH_POSTGRES=postgres://user:password@host:port/db (a role that may CREATE DATABASE), both
servers keep their metadata in PostgreSQL instead, each in a new database on that server
(ModelTrail with --store, MLflow with --backend-store-uri postgresql://…; psycopg2-binary is
installed into the venv on first use). Each side's server CPU seconds (its process tree, from
/proc) over the whole workload are reported too.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

# phase: (direction, required factor) — "higher" means ModelTrail must be that many times higher.
TARGETS = {
    "runs_per_second": ("higher", 5),
    "log_metric_p50_ms": ("lower", 5),
    "log_batch_metrics_per_second": ("higher", 20),
    "search_p50_ms": ("lower", 20),
    "upload_mib_per_second": ("higher", 5),
    "download_mib_per_second": ("higher", 20),
    "log_model_register_load_seconds": ("lower", 5),
    "server_peak_rss_mib": ("lower", 10),
}

# The same requests sent with `requests` and prepared JSON, without the mlflow client's own cost:
# what each server does when the client is not the bottleneck (reported, not targets).
RAW = {
    "raw_log_metric_p50_ms": "lower",
    "raw_log_batch_metrics_per_second": "higher",
    "raw_search_p50_ms": "lower",
    "raw_download_mib_per_second": "higher",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(pid):
    """A process and all its (living) descendants, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    stack = [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        yield p


def tree_rss_kib(pid):
    """Resident memory of a process and all its descendants."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def tree_cpu_seconds(pid):
    """User + system CPU seconds of a process and all its descendants (reaped children included)."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def postgres_database(prefix):
    """A new database on BENCH_POSTGRES: its postgres:// address (or None without BENCH_POSTGRES)."""
    admin = os.environ.get("BENCH_POSTGRES")
    if not admin:
        return None
    import uuid
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    subprocess.run(["psql", admin, "-X", "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    base = admin.split("?", 1)[0].rsplit("/", 1)[0]
    return f"{base}/{name}"


def wait_up(url, process):
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError("server exited early")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError("server did not come up")


def run_side(kind, trail_bin, workload_args, env):
    work = tempfile.mkdtemp(prefix=f"bench-{kind}-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(env)
    if kind == "modeltrail":
        home = os.path.join(work, "home")
        henv = dict(env, TRAIL_HOME=home)
        database = postgres_database("bench_modeltrail")
        if database:
            henv["TRAIL_STORE"] = database + "?sslmode=disable"
        subprocess.run([trail_bin, "users", "create", "bench", "--role", "contributor"], env=henv, check=True, capture_output=True)
        token = json.loads(subprocess.run([trail_bin, "tokens", "create", "bench", "--json"], env=henv, check=True, capture_output=True).stdout)["token"]
        server = subprocess.Popen([trail_bin, "server", "--port", str(port)], env=henv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env.update(MLFLOW_TRACKING_USERNAME="bench", MLFLOW_TRACKING_PASSWORD=token)
    else:
        mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
        database = postgres_database("bench_mlflow")
        backend = f"sqlite:///{work}/mlflow.db"
        if database:
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "psycopg2-binary"], check=True)
            backend = "postgresql+psycopg2" + database[len("postgres"):] if database.startswith("postgres://") else database
        server = subprocess.Popen([mlflow_bin, "server", "--backend-store-uri", backend, "--artifacts-destination",
                                   os.path.join(work, "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                                  cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env.pop("MLFLOW_TRACKING_USERNAME", None)
        env.pop("MLFLOW_TRACKING_PASSWORD", None)
    try:
        wait_up(url, server)
        peak = [0]
        done = threading.Event()
        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss_kib(server.pid))
                time.sleep(0.25)
        sampler = threading.Thread(target=sample)
        sampler.start()
        print(f"{kind}: workload", file=sys.stderr, flush=True)
        cpu_before = tree_cpu_seconds(server.pid)
        result = subprocess.run([sys.executable, os.path.join(HERE, "mlflow_workload.py"), *workload_args], env=dict(env, MLFLOW_TRACKING_URI=url),
                                capture_output=True, text=True)
        cpu_after = tree_cpu_seconds(server.pid)
        done.set()
        sampler.join()
        if result.returncode != 0:
            raise RuntimeError(f"{kind} workload failed:\n{result.stderr[-3000:]}")
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        figures["server_peak_rss_mib"] = peak[0] / 1024
        figures["server_cpu_seconds"] = round(cpu_after - cpu_before, 2)
        figures["metadata"] = "postgresql" if database else "sqlite"
        return figures
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def main():
    trail_bin = os.environ["TRAIL_BIN"]
    workload_args = sys.argv[1:]
    env = dict(os.environ)
    modeltrail = run_side("modeltrail", trail_bin, workload_args, env)
    mlflow_side = run_side("mlflow", trail_bin, workload_args, env)
    rows = {}
    for key, (direction, factor) in TARGETS.items():
        ours, theirs = modeltrail[key], mlflow_side[key]
        ratio = ours / theirs if direction == "higher" else theirs / ours
        share = modeltrail.get("client_cpu_share", {}).get(key)
        rows[key] = {"modeltrail": round(ours, 3), "mlflow": round(theirs, 3), "factor": round(ratio, 1), "target_factor": factor, "met": ratio >= factor,
                     "client_cpu_share_modeltrail": share, "client_cpu_share_mlflow": mlflow_side.get("client_cpu_share", {}).get(key)}
    raw = {}
    for key, direction in RAW.items():
        ours, theirs = modeltrail[key], mlflow_side[key]
        raw[key] = {"modeltrail": round(ours, 3), "mlflow": round(theirs, 3), "factor": round(ours / theirs if direction == "higher" else theirs / ours, 1)}
    cpu = {"modeltrail": modeltrail["server_cpu_seconds"], "mlflow": mlflow_side["server_cpu_seconds"],
           "factor": round(mlflow_side["server_cpu_seconds"] / max(modeltrail["server_cpu_seconds"], 0.01), 1)}
    print(json.dumps({"workload_args": workload_args, "metadata": modeltrail["metadata"], "phases": rows, "without_the_python_client": raw,
                      "server_cpu_seconds_whole_workload": cpu}, indent=1))
    print(f"\nmetadata: {modeltrail['metadata']}; server CPU over the whole workload: ModelTrail {cpu['modeltrail']} s, MLflow {cpu['mlflow']} s ({cpu['factor']}×)", file=sys.stderr)
    print("\n| phase | ModelTrail | mlflow server 3.17.2 | factor | target | Python client's CPU share of the phase (ModelTrail / MLflow) |", file=sys.stderr)
    print("|---|---|---|---|---|---|", file=sys.stderr)
    for key, row in rows.items():
        shares = f"{row['client_cpu_share_modeltrail']:.0%} / {row['client_cpu_share_mlflow']:.0%}" if row["client_cpu_share_modeltrail"] is not None else "—"
        print(f"| {key} | {row['modeltrail']:,} | {row['mlflow']:,} | {row['factor']}× | ≥{row['target_factor']}× {'met' if row['met'] else 'MISSED'} | {shares} |", file=sys.stderr)
    for key, row in raw.items():
        print(f"| {key} (requests, no mlflow client) | {row['modeltrail']:,} | {row['mlflow']:,} | {row['factor']}× | — | — |", file=sys.stderr)


if __name__ == "__main__":
    main()
