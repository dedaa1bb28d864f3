"""What ModelTrail adds for MLflow users: identity, gates, provenance and the ledger."""
import hashlib
import json
import os
import uuid

import numpy as np
import pytest
import requests

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

pytestmark = pytest.mark.modeltrail


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def events(server, **query):
    r = server.native("GET", "/api/v1/ledger/events?" + "&".join(f"{k}={v}" for k, v in query.items()) + "&limit=10000")
    assert r.status_code == 200, r.text
    return [e["event"] for e in r.json()["events"]]


def test_credentials_are_required_and_roles_enforced(server):
    url = server.url + "/api/2.0/mlflow/experiments/create"
    r = requests.post(url, json={"name": unique("anon")})
    assert r.status_code == 401 and r.json()["error_code"] == "UNAUTHENTICATED"
    r = requests.post(url, json={"name": unique("wrong")}, auth=("alice", "mtk_wrong"))
    assert r.status_code == 401
    r = requests.post(url, json={"name": unique("viewer")}, auth=server.users["carol"])
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"
    r = requests.post(url, json={"name": unique("token")}, headers={"Authorization": f"Bearer {server.users['alice'][1]}"})
    assert r.status_code == 200


@pytest.fixture(scope="module")
def trained(server):
    name = unique("gated_classifier")
    mlflow.set_experiment(unique("gated"))
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with mlflow.start_run(tags={"mlflow.source.git.commit": "feedfacefeedfacefeedfacefeedfacefeedface"}) as run:
        frame = X.copy()
        frame["target"] = y
        mlflow.log_input(mlflow.data.from_pandas(frame, name="breast_cancer", targets="target"), context="training")
        mlflow.log_metric("roc_auc", 0.99)
        model = LogisticRegression(max_iter=5000).fit(X, y)
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name)
    return dict(name=name, run_id=run.info.run_id, model_id=info.model_id)


def test_gate_refuses_unapproved_promotion_and_records_it(server, trained):
    name = trained["name"]
    policy = {"approvals": 1, "metrics": [{"key": "roc_auc", "op": ">=", "value": 0.95}]}
    r = server.native("POST", f"/api/v1/models/{name}/policies?target=@production", body=json.dumps(policy))
    assert r.status_code == 200, r.text
    client = MlflowClient()
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias(name, "production", "1")
    assert e.value.error_code == "PERMISSION_DENIED"
    assert "approval" in e.value.message and "refused" in e.value.message
    refused = [ev for ev in events(server, subject_type="model", subject_id=name) if ev["action"] == "promotion.refused"]
    assert len(refused) == 1 and refused[0]["actor"]["id"] == "alice"
    # An approver approves; the same call now passes and the event cites the approval.
    r = server.native("POST", f"/api/v1/models/{name}/versions/1/approvals", user="bob",
                      body=json.dumps({"target": "@production", "decision": "approve", "comment": "reviewed"}))
    assert r.status_code == 200, r.text
    client.set_registered_model_alias(name, "production", "1")
    assert client.get_model_version_by_alias(name, "production").version == "1"


def test_version_manifest_matches_the_downloaded_files(server, trained, tmp_path):
    r = server.native("GET", f"/api/v1/models/{trained['name']}/versions/1")
    assert r.status_code == 200, r.text
    manifest = r.json()["manifest"]
    local = mlflow.artifacts.download_artifacts(f"models:/{trained['name']}/1", dst_path=str(tmp_path))
    files = {f["path"]: f["digest"] for f in manifest["files"]}
    assert "MLmodel" in files
    for path, digest in files.items():
        assert digest == "sha256:" + hashlib.sha256(open(os.path.join(local, path), "rb").read()).hexdigest()


def test_lineage_reaches_git_commit_and_dataset(server, trained):
    lineage = json.loads(server.cli("trace", "model", f"{trained['name']}@production", "--json"))
    assert lineage["git_commit"] == "feedfacefeedfacefeedfacefeedfacefeedface"
    assert lineage["run_id"] == trained["run_id"] and lineage["data_sha256"]
    assert all(link["proven"] for link in lineage["links"]), [l for l in lineage["links"] if not l["proven"]]
    assert {"run", "dataset", "code", "model_version", "approval", "promotion"} <= {link["kind"] for link in lineage["links"]}


def test_every_call_is_in_the_ledger_with_its_actor(server, trained):
    run_events = events(server, subject_type="run", subject_id=trained["run_id"])
    actions = {e["action"] for e in run_events}
    assert {"run.create", "inputs.log", "metrics.log", "run.outputs", "run.update"} <= actions
    assert all(e["actor"]["id"] == "alice" for e in run_events)
    model_events = events(server, subject_type="logged_model", subject_id=trained["model_id"])
    assert {"logged_model.create", "artifact.put", "logged_model.finalize"} <= {e["action"] for e in model_events}
    registry = {e["action"] for e in events(server, subject_type="model", subject_id=trained["name"])}
    assert {"model.create", "model_version.create", "policy.set", "promotion.refused", "approval.approve", "alias.set"} <= registry
    downloads = events(server, action="artifact.get", actor="alice")
    assert downloads, "downloads through the proxy are access events"
    out = server.cli("ledger", "verify", "--json")
    assert json.loads(out)["ok"] is True, out
