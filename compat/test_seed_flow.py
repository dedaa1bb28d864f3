"""The seed project's training flow, through the unmodified `mlflow` client (MLflow's contract)."""
import hashlib
import math
import os
import uuid

import numpy as np
import pytest

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def flow(server, tmp_path_factory):
    """Runs the seed flow once; the tests below check what it left behind."""
    work = tmp_path_factory.mktemp("flow")
    (work / "notes.txt").write_text("breast cancer classifier notes\n")
    sub = work / "report"
    (sub / "deep").mkdir(parents=True)
    (sub / "metrics.json").write_text('{"roc_auc": 0.99}')
    (sub / "deep" / "b.txt").write_bytes(bytes(range(256)) * 4)
    (sub / "empty.txt").write_bytes(b"")
    experiment = unique("breast-cancer")
    model_name = unique("breast_cancer_classifier")
    mlflow.set_experiment(experiment)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with mlflow.start_run(run_name="seed-run", tags={"mlflow.source.git.commit": "0123456789abcdef0123456789abcdef01234567"}) as run:
        mlflow.log_params({"C": 1.0, "max_iter": 1000, "test_size": 0.2})
        for step in range(3):
            mlflow.log_metric("loss", 1 / (step + 1), step=step)
        mlflow.log_metrics({"accuracy": 0.9737, "roc_auc": 0.997}, step=2)
        mlflow.set_tags({"team": "ml-platform", "project": "breast-cancer"})
        mlflow.log_artifact(str(work / "notes.txt"))
        mlflow.log_artifacts(str(sub), artifact_path="report")
        frame = X.copy()
        frame["target"] = y
        dataset = mlflow.data.from_pandas(frame, name="breast_cancer", targets="target")
        mlflow.log_input(dataset, context="training")
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
        signature = infer_signature(X, model.predict(X))
        info = mlflow.sklearn.log_model(model, name="model", signature=signature, input_example=X.head(3), registered_model_name=model_name)
    return dict(run_id=run.info.run_id, experiment=experiment, experiment_id=run.info.experiment_id, model_name=model_name,
                model=model, X=X, y=y, info=info, work=work, dataset=dataset)


def test_run_records_params_metrics_tags(flow):
    run = MlflowClient().get_run(flow["run_id"])
    assert run.info.status == "FINISHED" and run.info.end_time and run.info.run_name == "seed-run"
    assert run.data.params == {"C": "1.0", "max_iter": "1000", "test_size": "0.2"}
    assert run.data.metrics["loss"] == pytest.approx(1 / 3) and run.data.metrics["accuracy"] == 0.9737
    assert run.data.tags["team"] == "ml-platform" and run.data.tags["mlflow.runName"] == "seed-run"
    assert run.data.tags["mlflow.source.git.commit"] == "0123456789abcdef0123456789abcdef01234567"


def test_metric_history_has_every_step_in_order(flow):
    history = MlflowClient().get_metric_history(flow["run_id"], "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]


def test_dataset_input_is_kept_with_its_digest(flow):
    run = MlflowClient().get_run(flow["run_id"])
    inputs = run.inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.name == "breast_cancer" and inputs[0].dataset.digest == flow["dataset"].digest
    assert inputs[0].dataset.schema == flow["dataset"]._to_mlflow_entity().schema
    assert {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"] == "training"


def test_artifacts_list_and_download_byte_identical(flow, tmp_path):
    client = MlflowClient()
    top = sorted(f.path for f in client.list_artifacts(flow["run_id"]))
    assert top == ["notes.txt", "report"]
    listed = {f.path: f for f in client.list_artifacts(flow["run_id"], "report")}
    assert set(listed) == {"report/deep", "report/empty.txt", "report/metrics.json"}
    # MLflow omits a zero size (proto default), so the client sees None; ModelTrail sends 0.
    assert listed["report/deep"].is_dir and not listed["report/empty.txt"].file_size
    out = mlflow.artifacts.download_artifacts(run_id=flow["run_id"], artifact_path="report", dst_path=str(tmp_path))
    for rel in ["metrics.json", "deep/b.txt", "empty.txt"]:
        assert open(os.path.join(out, rel), "rb").read() == (flow["work"] / "report" / rel).read_bytes()


def test_logged_model_is_ready_and_linked_to_the_run(flow):
    info = flow["info"]
    model = mlflow.get_logged_model(info.model_id)
    assert model.status.to_proto() == mlflow.entities.LoggedModelStatus.READY.to_proto()
    assert model.source_run_id == flow["run_id"] and model.name == "model"
    run = MlflowClient().get_run(flow["run_id"])
    assert [o.model_id for o in run.outputs.model_outputs] == [info.model_id]
    found = mlflow.search_logged_models(experiment_ids=[flow["experiment_id"]], filter_string="name = 'model'", output_format="list")
    assert [m.model_id for m in found] == [info.model_id]


def test_registered_version_is_ready(flow):
    version = MlflowClient().get_model_version(flow["model_name"], "1")
    assert version.status == "READY" and version.run_id == flow["run_id"] and version.current_stage == "None"


def test_alias_and_load_predict_exactly_like_the_model_in_memory(flow):
    client = MlflowClient()
    client.set_registered_model_alias(flow["model_name"], "champion", "1")
    assert client.get_model_version_by_alias(flow["model_name"], "champion").version == "1"
    loaded = mlflow.pyfunc.load_model(f"models:/{flow['model_name']}@champion")
    X = flow["X"]
    assert np.array_equal(np.asarray(loaded.predict(X)), flow["model"].predict(X))
    proba = mlflow.sklearn.load_model(f"models:/{flow['model_name']}@champion").predict_proba(X)
    assert np.array_equal(proba, flow["model"].predict_proba(X))
    client.set_registered_model_alias(flow["model_name"], "temporary", "1")
    client.delete_registered_model_alias(flow["model_name"], "temporary")  # DELETE with a JSON body
    assert set(client.get_registered_model(flow["model_name"]).aliases) == {"champion"}
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(flow["model_name"], "temporary")


def test_search_runs_filters_and_order_by(flow):
    client = MlflowClient()
    exp = flow["experiment_id"]
    for i, acc in enumerate([0.5, 0.99, 0.8]):
        with mlflow.start_run(run_name=f"sweep-{i}"):
            mlflow.log_param("C", str(0.1 * (i + 1)))
            mlflow.log_metric("accuracy", acc)
            mlflow.set_tag("team", "ml-platform" if i != 1 else "other")
    runs = client.search_runs([exp], filter_string="metrics.accuracy > 0.6 and tags.team = 'ml-platform'",
                              order_by=["metrics.accuracy DESC", "attributes.start_time ASC"], max_results=10)
    assert [r.data.metrics["accuracy"] for r in runs] == [0.9737, 0.8]
    runs = client.search_runs([exp], filter_string="params.C = '1.0' and attributes.run_name LIKE 'seed%'")
    assert [r.info.run_id for r in runs] == [flow["run_id"]]
    page = client.search_runs([exp], max_results=2, order_by=["metrics.accuracy ASC"])
    assert len(page) == 2 and page.token
    rest = client.search_runs([exp], max_results=2, order_by=["metrics.accuracy ASC"], page_token=page.token)
    assert [r.data.metrics["accuracy"] for r in list(page) + list(rest)] == [0.5, 0.8, 0.9737, 0.99]
    frame = mlflow.search_runs([exp], filter_string="tags.team = 'other'")
    assert list(frame["metrics.accuracy"]) == [0.99]


def test_transition_stage_and_latest_versions(flow):
    client = MlflowClient()
    version = client.transition_model_version_stage(flow["model_name"], "1", "Staging", archive_existing_versions=False)
    assert version.current_stage == "Staging"
    assert [v.version for v in client.get_latest_versions(flow["model_name"], stages=["Staging"])] == ["1"]
    loaded = mlflow.pyfunc.load_model(f"models:/{flow['model_name']}/Staging")
    assert np.array_equal(np.asarray(loaded.predict(flow["X"].head(5))), flow["model"].predict(flow["X"].head(5)))


def test_register_model_from_runs_uri_makes_next_version(flow):
    version = mlflow.register_model(f"runs:/{flow['run_id']}/model", flow["model_name"])
    assert version.version == "2" and version.status == "READY"
    names = [m.name for m in MlflowClient().search_registered_models(filter_string=f"name = '{flow['model_name']}'")]
    assert names == [flow["model_name"]]
    versions = MlflowClient().search_model_versions(f"name = '{flow['model_name']}'")
    assert sorted(v.version for v in versions) == ["1", "2"]


def test_nan_and_infinite_metrics_round_trip(server):
    mlflow.set_experiment(unique("nan"))
    with mlflow.start_run() as run:
        mlflow.log_metric("nan", float("nan"))
        mlflow.log_metric("inf", float("inf"))
        mlflow.log_metric("neg", float("-inf"))
    metrics = MlflowClient().get_run(run.info.run_id).data.metrics
    # MLflow's SQL store clamps infinities to the largest double; ModelTrail keeps them.
    assert math.isnan(metrics["nan"]) and metrics["inf"] >= 1.7976931348623157e308 and metrics["neg"] <= -1.7976931348623157e308


def test_experiments_search_and_tags(server):
    client = MlflowClient()
    name = unique("tagged")
    exp = client.create_experiment(name, tags={"owner": "alice"})
    client.set_experiment_tag(exp, "phase", "2")
    found = client.search_experiments(filter_string=f"name = '{name}' and tags.owner = 'alice'")
    assert [e.experiment_id for e in found] == [exp] and found[0].tags["phase"] == "2"


def test_registered_model_and_version_tags_and_descriptions(flow):
    client = MlflowClient()
    name = flow["model_name"]
    client.set_registered_model_tag(name, "domain", "oncology")
    client.set_model_version_tag(name, "1", "validated", "yes")
    client.update_registered_model(name, description="benign vs malignant")
    client.update_model_version(name, "1", description="first")
    model = client.get_registered_model(name)
    assert model.tags["domain"] == "oncology" and model.description == "benign vs malignant"
    version = client.get_model_version(name, "1")
    assert version.tags["validated"] == "yes" and version.description == "first"
    assert [v.version for v in client.search_model_versions(f"name = '{name}' and tag.validated = 'yes'")] == ["1"]
    client.delete_registered_model_tag(name, "domain")
    assert "domain" not in client.get_registered_model(name).tags
