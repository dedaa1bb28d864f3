"""Serving an MLflow model with `trail serve`: logged with the official client, promoted through the
gate, scored through MLflow's `/invocations` formats by Python workers behind ModelTrail's front
end, every prediction traced and re-scored, a worker killed mid-load without losing an
acknowledged prediction, and the ledger verified."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

import mlflow
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import free_port

pytestmark = pytest.mark.modeltrail

COMMIT = "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff"


@pytest.fixture(scope="module")
def served(server, tmp_path_factory):
    name = f"sk_pipeline-{uuid.uuid4().hex[:8]}"
    mlflow.set_experiment(f"serving-{uuid.uuid4().hex[:8]}")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with mlflow.start_run(tags={"mlflow.source.git.commit": COMMIT}) as run:
        frame = X.copy()
        frame["target"] = y
        mlflow.log_input(mlflow.data.from_pandas(frame, name="breast_cancer", targets="target"), context="training")
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
        mlflow.log_metric("roc_auc", 0.99)
        mlflow.sklearn.log_model(model, name="model", signature=infer_signature(X, model.predict(X)), input_example=X.head(2),
                                 registered_model_name=name)
    # Through the gate: a policy wants one approval for @production; bob approves; alice promotes.
    r = server.native("POST", f"/api/v1/models/{name}/policies?target=@production", body=json.dumps({"approvals": 1}))
    assert r.status_code == 200, r.text
    r = server.native("POST", f"/api/v1/models/{name}/versions/1/approvals", user="bob",
                      body=json.dumps({"target": "@production", "decision": "approve", "comment": "reviewed"}))
    assert r.status_code == 200, r.text
    MlflowClient().set_registered_model_alias(name, "production", "1")

    port = free_port()
    log = str(tmp_path_factory.mktemp("serve") / "serve.log")
    env = dict(os.environ, TRAIL_HOME=server.home)
    process = subprocess.Popen([server.trail, "serve", f"{name}@production", "--port", str(port), "--python", sys.executable,
                                "--workers", "2", "--timeout", "20"], stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"trail serve exited:\n{open(log).read()[-4000:]}")
        try:
            if requests.get(url + "/ping", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.5)
    else:
        raise RuntimeError(f"trail serve did not answer /ping:\n{open(log).read()[-4000:]}")
    yield dict(name=name, url=url, X=X, model=model, run_id=run.info.run_id, process=process, log=log)
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def post(served, body, content_type="application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return requests.post(served["url"] + "/invocations", data=data, headers={"Content-Type": content_type}, timeout=60)


def test_every_mlflow_input_format_scores_like_the_model(served):
    X, model = served["X"], served["model"]
    rows = X.iloc[:3]
    expected = model.predict(rows).tolist()
    records = json.loads(rows.to_json(orient="records"))
    split = json.loads(rows.to_json(orient="split"))
    bodies = {
        "dataframe_split": {"dataframe_split": {"columns": split["columns"], "data": split["data"]}},
        "dataframe_records": {"dataframe_records": records},
        "instances": {"instances": records},
        "inputs (columns)": {"inputs": {c: rows[c].tolist() for c in rows.columns}},
        "inputs (records)": {"inputs": records},
    }
    for label, body in bodies.items():
        r = post(served, body)
        assert r.status_code == 200, (label, r.text)
        assert r.json() == {"predictions": expected}, label
        ids = r.headers["X-Prediction-Id"].split(",")
        assert len(ids) == 3 and all(i.startswith("p") for i in ids), label
    r = post(served, rows.to_csv(index=False), "text/csv")
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": expected}
    # The MLflow deployments client and a raw pyfunc-style health probe work unchanged.
    assert requests.get(served["url"] + "/ping").status_code == 200
    assert requests.get(served["url"] + "/version").text == "3.17.2"


def test_refusals_name_the_fields_before_any_worker_is_asked(served):
    row = json.loads(served["X"].iloc[:1].to_json(orient="records"))[0]
    bad = dict(row)
    bad.pop("mean radius")
    bad["zip code"] = 1
    bad["worst area"] = "big"
    r = post(served, {"dataframe_records": [bad]})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["missing"] == ["mean radius"] and body["extra"] == ["zip code"] and "worst area" in body["invalid"]
    assert body["error_code"] == "INVALID_PARAMETER_VALUE" and body["prediction_id"].startswith("p")
    assert post(served, {"dataframe_records": [row]}, "Application/JSON").status_code == 415
    assert post(served, {"dataframe_records": [row], "instances": [row]}).status_code == 400
    assert post(served, "{not json").status_code == 400


def test_a_prediction_traces_to_the_dataset_and_commit_and_reproduces(server, served):
    row = json.loads(served["X"].iloc[:1].to_json(orient="records"))[0]
    r = post(served, {"dataframe_records": [row]})
    assert r.status_code == 200, r.text
    pid = r.headers["X-Prediction-Id"]
    trace = json.loads(server.cli("trace", "prediction", pid, "--json"))
    text = json.dumps(trace)
    assert trace["model"]["git_commit"] == COMMIT, text[:2000]
    assert trace["model"]["run_id"] == served["run_id"]
    digest = MlflowClient().get_run(served["run_id"]).inputs.dataset_inputs[0].dataset.digest
    assert trace["model"]["data_sha256"] and digest in text, text[:2000]
    assert all(link["proven"] for link in trace["links"]), [l for l in trace["links"] if not l["proven"]]
    assert trace["prediction"]["output"] == json.dumps(r.json()["predictions"][0])
    path = os.path.join(os.path.dirname(served["log"]), "row.json")
    with open(path, "w") as f:
        json.dump(row, f)
    out = server.cli("reproduce", "prediction", pid, "--input", path, "--python", sys.executable, "--json")
    assert json.loads(out)["outcome"] == "REPRODUCED", out


def worker_pids(serve_pid):
    """The pyfunc workers among the serve process's descendants."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    children, args = {}, {}
    for line in out.splitlines():
        pid, ppid, rest = line.split(None, 2) if len(line.split(None, 2)) == 3 else (*line.split(None, 1), "")
        children.setdefault(int(ppid), []).append(int(pid))
        args[int(pid)] = rest
    found, stack = [], [serve_pid]
    while stack:
        for child in children.get(stack.pop(), []):
            stack.append(child)
            if "pyfunc_worker" in args.get(child, ""):
                found.append(child)
    return sorted(found)


def test_a_killed_worker_loses_no_acknowledged_prediction(server, served):
    row = json.loads(served["X"].iloc[:1].to_json(orient="records"))[0]
    body = json.dumps({"dataframe_records": [row]})
    acknowledged, unavailable, other = [], [], []
    stop = time.time() + 6

    def load():
        session = requests.Session()
        while time.time() < stop:
            r = session.post(served["url"] + "/invocations", data=body, headers={"Content-Type": "application/json"}, timeout=60)
            if r.status_code == 200:
                acknowledged.append(r.headers["X-Prediction-Id"])
            elif r.status_code == 503:
                unavailable.append(r.json()["prediction_ids"])
            else:
                other.append((r.status_code, r.text))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(2)
    pids = worker_pids(served["process"].pid)
    assert len(pids) == 2, (pids, served["process"].pid, [line[:150] for line in subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True).stdout.splitlines() if "trail" in line or "python" in line])
    os.kill(pids[0], signal.SIGKILL)
    for t in threads:
        t.join()
    assert not other, other[:3]
    assert len(acknowledged) > 20
    # A replacement took the killed worker's place.
    deadline = time.time() + 60
    while time.time() < deadline and (len(worker_pids(served["process"].pid)) < 2 or pids[0] in worker_pids(served["process"].pid)):
        time.sleep(0.5)
    assert len(worker_pids(served["process"].pid)) == 2
    # Every acknowledged prediction is in the record; the failed ones too, as failed.
    for pid in acknowledged[:: max(1, len(acknowledged) // 25)] + acknowledged[-3:]:
        r = server.native("GET", f"/api/v1/predictions/{pid}")
        assert r.status_code == 200 and r.json()["outcome"] == "ok", (pid, r.text)
    for ids in unavailable:
        r = server.native("GET", f"/api/v1/predictions/{ids[0]}")
        assert r.status_code == 200 and r.json()["outcome"] == "failed", r.text
    out = server.cli("ledger", "verify", "--json")
    assert json.loads(out)["ok"] is True, out
