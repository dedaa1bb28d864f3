"""Errors the client depends on, and path traversal through the artifact proxy."""
import http.client
import urllib.parse
import uuid

import pytest

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def code_of(excinfo):
    return excinfo.value.error_code


def test_duplicate_experiment_is_resource_already_exists(server):
    name = unique("dup")
    MlflowClient().create_experiment(name)
    with pytest.raises(MlflowException) as e:
        MlflowClient().create_experiment(name)
    assert code_of(e) == "RESOURCE_ALREADY_EXISTS"


def test_duplicate_registered_model_is_resource_already_exists(server):
    name = unique("dup-model")
    MlflowClient().create_registered_model(name)
    with pytest.raises(MlflowException) as e:
        MlflowClient().create_registered_model(name)
    assert code_of(e) == "RESOURCE_ALREADY_EXISTS"


def test_unknown_things_are_resource_does_not_exist(server):
    client = MlflowClient()
    for call in [lambda: client.get_run(uuid.uuid4().hex), lambda: client.get_registered_model(unique("nope")),
                 lambda: client.get_experiment("987654321")]:
        with pytest.raises(MlflowException) as e:
            call()
        assert code_of(e) == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_experiment_by_name(unique("nope")) is None


@pytest.mark.parametrize("bad", ["metrics.acc = 'x'", "params.alpha = 0.1", "metrics.a > 1 OR metrics.b > 1", "nonsense.x = 'y'",
                                 "params.my-param = '1'"])
def test_bad_filter_is_invalid_parameter_value(server, bad):
    exp = MlflowClient().create_experiment(unique("filters"))
    with pytest.raises(MlflowException) as e:
        MlflowClient().search_runs([exp], filter_string=bad)
    assert code_of(e) == "INVALID_PARAMETER_VALUE"


def test_changing_a_param_is_refused(server):
    mlflow.set_experiment(unique("params"))
    with mlflow.start_run():
        mlflow.log_param("alpha", "0.1")
        mlflow.log_param("alpha", "0.1")  # the same value again is fine
        with pytest.raises(MlflowException) as e:
            mlflow.log_param("alpha", "0.2")
        assert code_of(e) == "INVALID_PARAMETER_VALUE"


def raw(server, method, path, body=b""):
    """Sends the path exactly as written (no client-side normalisation of '..')."""
    parts = urllib.parse.urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {}
    import os, base64
    if os.environ.get("MLFLOW_TRACKING_USERNAME"):
        pair = f"{os.environ['MLFLOW_TRACKING_USERNAME']}:{os.environ['MLFLOW_TRACKING_PASSWORD']}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


# The foundation issue's traversal inputs (Tests/TrailHTTPTests/NativeAPITests.swift) plus encodings.
TRAVERSALS = ["../x", "..%2Fx", "%2e%2e/x", "a/../../x", "%2Fetc%2Fpasswd", "/etc/passwd", "x%23/../..", "x%3F/../..",
              "x;/../..", "/proc/self/root/x", "%252e%252e/x", "a/", "../../escape.txt", "%2E%2E%2F%2E%2E%2Fescape.txt",
              "sub/../../../escape.txt"]


@pytest.mark.parametrize("attack", TRAVERSALS)
def test_path_traversal_through_the_artifact_proxy_is_refused(server, attack):
    mlflow.set_experiment(unique("traversal"))
    with mlflow.start_run() as run:
        pass
    base = f"/api/2.0/mlflow-artifacts/artifacts/{run.info.experiment_id}/{run.info.run_id}/artifacts/"
    status, _ = raw(server, "PUT", base + attack, body=b"owned")
    assert status >= 400
    status, _ = raw(server, "GET", base + attack)
    assert status >= 400
    names = [f.path for f in MlflowClient().list_artifacts(run.info.run_id)]
    assert names == []


@pytest.mark.modeltrail
@pytest.mark.parametrize("attack", ["..%5C..%5Cescape.txt", "%5C..%5Cx", "x%00y", "a//b", "a%0Ab.txt", "x%23frag"])
def test_proxy_refuses_names_mlflow_lets_through_on_posix(server, attack):
    # MLflow's server accepts backslashes, NUL and doubled slashes in names on Linux (checked
    # with --server mlflow); ModelTrail refuses every name that is not portable and unambiguous.
    mlflow.set_experiment(unique("strict"))
    with mlflow.start_run() as run:
        pass
    base = f"/api/2.0/mlflow-artifacts/artifacts/{run.info.experiment_id}/{run.info.run_id}/artifacts/"
    status, body = raw(server, "PUT", base + attack, body=b"x")
    assert status == 400 and b"INVALID_PARAMETER_VALUE" in body
    assert MlflowClient().list_artifacts(run.info.run_id) == []
