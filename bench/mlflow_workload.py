"""One MLflow client workload, timed phase by phase, against whatever server MLFLOW_TRACKING_URI names.

Used by bench/mlflow_compare.sh, which runs it against ModelTrail and against `mlflow server`
with the same arguments and prints the side-by-side table. Prints one JSON object.
"""
import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
import warnings

warnings.filterwarnings("ignore")

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag


def p50(samples):
    return statistics.median(samples)


def progress(message):
    print(f"  {message}", file=os.sys.stderr, flush=True)


class Phase:
    """Wall time and this client process's own CPU time (the Python client's share) of a phase."""

    def __init__(self, out, name):
        self.out, self.name = out, name

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        self.out.setdefault("client_cpu_share", {})[self.name] = round(min(cpu / wall, 1.0), 3) if wall else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100, help="runs created one at a time (run creation phase)")
    parser.add_argument("--metrics", type=int, default=500, help="single log_metric calls")
    parser.add_argument("--batches", type=int, default=30, help="log_batch calls of 1,000 metrics")
    parser.add_argument("--search-runs", type=int, default=2000, help="runs the filtered search looks through")
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--artifact-mib", type=int, default=64)
    parser.add_argument("--models", type=int, default=3, help="log_model + register + load repetitions")
    parser.add_argument("--threads", type=int, default=8, help="client threads that create the search population")
    args = parser.parse_args()

    client = MlflowClient()
    out = {}
    exp = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")

    progress("run creation")
    start = time.perf_counter()
    with Phase(out, "runs_per_second"):
        for _ in range(args.runs):
            client.create_run(exp)
    out["runs_per_second"] = args.runs / (time.perf_counter() - start)

    progress("single log_metric")
    run = client.create_run(exp).info.run_id
    samples = []
    with Phase(out, "log_metric_p50_ms"):
        for i in range(args.metrics):
            t = time.perf_counter()
            client.log_metric(run, "loss", 1.0 / (i + 1), step=i)
            samples.append((time.perf_counter() - t) * 1000)
    out["log_metric_p50_ms"] = p50(samples)

    progress("log_batch")
    now = int(time.time() * 1000)
    batches = [[Metric(f"m{j % 10}", float(j), now + b, b * 1000 + j) for j in range(1000)] for b in range(args.batches)]
    start = time.perf_counter()
    with Phase(out, "log_batch_metrics_per_second"):
        for batch in batches:
            client.log_batch(run, metrics=batch)
    out["log_batch_metrics_per_second"] = args.batches * 1000 / (time.perf_counter() - start)

    progress(f"search population: {args.search_runs} runs")
    search_exp = client.create_experiment(f"bench-search-{uuid.uuid4().hex[:8]}")
    def populate(count, seed):
        local = MlflowClient()
        for i in range(count):
            r = local.create_run(search_exp).info.run_id
            k = seed * count + i
            local.log_batch(r, metrics=[Metric("acc", (k * 7919 % 1000) / 1000, now, 0)],
                            params=[Param("model", "logreg" if k % 3 else "tree")], tags=[RunTag("team", f"t{k % 7}")])
    threads = [threading.Thread(target=populate, args=(args.search_runs // args.threads, s)) for s in range(args.threads)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    samples = []
    with Phase(out, "search_p50_ms"):
        for _ in range(args.searches):
            t = time.perf_counter()
            found = client.search_runs([search_exp], "metrics.acc > 0.5 and params.model = 'logreg'", order_by=["metrics.acc DESC"], max_results=100)
            samples.append((time.perf_counter() - t) * 1000)
    out["search_p50_ms"] = p50(samples)
    out["search_results"] = len(found)

    progress(f"artifact {args.artifact_mib} MiB up and down")
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "blob.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(args.artifact_mib << 20))
        art_run = client.create_run(exp).info.run_id
        start = time.perf_counter()
        with Phase(out, "upload_mib_per_second"):
            client.log_artifact(art_run, path)
        out["upload_mib_per_second"] = args.artifact_mib / (time.perf_counter() - start)
        samples = []
        with Phase(out, "download_mib_per_second"):
            for i in range(3):
                start = time.perf_counter()
                client.download_artifacts(art_run, "blob.bin", os.path.join(work, f"d{i}"))
                samples.append(args.artifact_mib / (time.perf_counter() - start))
        out["download_mib_per_second"] = max(samples)

    progress("raw HTTP (the same requests without the mlflow client's own cost)")
    import requests
    base = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
    session = requests.Session()
    if os.environ.get("MLFLOW_TRACKING_USERNAME"):
        session.auth = (os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"])
    raw_run = client.create_run(exp).info.run_id
    samples = []
    for i in range(args.metrics):
        body = json.dumps({"run_id": raw_run, "key": "loss", "value": 1.0 / (i + 1), "timestamp": now, "step": i})
        t = time.perf_counter()
        session.post(base + "/api/2.0/mlflow/runs/log-metric", data=body, headers={"Content-Type": "application/json"}).raise_for_status()
        samples.append((time.perf_counter() - t) * 1000)
    out["raw_log_metric_p50_ms"] = p50(samples)
    bodies = [json.dumps({"run_id": raw_run, "metrics": [{"key": f"m{j % 10}", "value": float(j), "timestamp": now + b, "step": b * 1000 + j}
                                                         for j in range(1000)]}) for b in range(args.batches)]
    start = time.perf_counter()
    for body in bodies:
        session.post(base + "/api/2.0/mlflow/runs/log-batch", data=body, headers={"Content-Type": "application/json"}).raise_for_status()
    out["raw_log_batch_metrics_per_second"] = args.batches * 1000 / (time.perf_counter() - start)
    query = json.dumps({"experiment_ids": [search_exp], "filter": "metrics.acc > 0.5 and params.model = 'logreg'", "order_by": ["metrics.acc DESC"],
                        "max_results": 100, "run_view_type": "ACTIVE_ONLY"})
    samples = []
    for _ in range(args.searches):
        t = time.perf_counter()
        r = session.post(base + "/api/2.0/mlflow/runs/search", data=query, headers={"Content-Type": "application/json"})
        r.raise_for_status()
        assert len(r.json()["runs"]) == out["search_results"]
        samples.append((time.perf_counter() - t) * 1000)
    out["raw_search_p50_ms"] = p50(samples)
    location = client.get_run(art_run).info.artifact_uri.replace("mlflow-artifacts:", base + "/api/2.0/mlflow-artifacts/artifacts")
    samples = []
    for _ in range(3):
        t = time.perf_counter()
        with session.get(location + "/blob.bin", stream=True) as r:
            r.raise_for_status()
            received = sum(len(chunk) for chunk in r.iter_content(4 << 20))
        assert received == args.artifact_mib << 20
        samples.append(args.artifact_mib / (time.perf_counter() - t))
    out["raw_download_mib_per_second"] = max(samples)

    progress("log_model + register + load")
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=5000).fit(X, y)
    mlflow.set_experiment(experiment_id=exp)
    name = f"bench-model-{uuid.uuid4().hex[:8]}"
    samples = []
    with Phase(out, "log_model_register_load_seconds"):
        for _ in range(args.models):
            start = time.perf_counter()
            with mlflow.start_run():
                mlflow.sklearn.log_model(model, name="model", registered_model_name=name)
            version = max(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))
            loaded = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
            assert (loaded.predict(X.head(5)) == model.predict(X.head(5))).all()
            samples.append(time.perf_counter() - start)
    out["log_model_register_load_seconds"] = p50(samples)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
