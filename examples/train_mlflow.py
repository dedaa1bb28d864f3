"""The seed project's trainer (trainer/train.py), unchanged in spirit: scikit-learn + the mlflow
client. Point MLFLOW_TRACKING_URI at ModelTrail and it gets the ledger, gates and lineage.

    MLFLOW_TRACKING_URI=http://127.0.0.1:5050 python examples/train_mlflow.py [data/breast_cancer.csv]
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, classification_report, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

DATA = sys.argv[1] if len(sys.argv) > 1 else "data/breast_cancer.csv"
PARAMS = {"model_type": "logistic_regression_pipeline", "C": 1.0, "max_iter": 1000, "test_size": 0.2, "random_state": 42}


def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return None


def main():
    data_sha256 = hashlib.sha256(open(DATA, "rb").read()).hexdigest()
    frame = pd.read_csv(DATA)
    X, y = frame.drop(columns=["target"]), frame["target"]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=PARAMS["test_size"], random_state=PARAMS["random_state"], stratify=y)

    mlflow.set_experiment("breast_cancer")
    tags = {"data_sha256": data_sha256}
    commit = git("rev-parse", "HEAD")
    if commit:
        tags["mlflow.source.git.commit"] = commit  # the client also sets it when run from a checkout
    with mlflow.start_run(run_name="trainer", tags=tags) as run:
        mlflow.log_params(PARAMS)
        mlflow.log_input(mlflow.data.from_pandas(frame, source=DATA, name="breast_cancer", targets="target"), context="training")
        model = Pipeline([("scaler", StandardScaler()),
                          ("clf", LogisticRegression(C=PARAMS["C"], max_iter=PARAMS["max_iter"], random_state=PARAMS["random_state"]))])
        model.fit(X_train, y_train)
        predicted = model.predict(X_test)
        probability = model.predict_proba(X_test)[:, 1]
        metrics = {"accuracy": accuracy_score(y_test, predicted), "precision": precision_score(y_test, predicted),
                   "recall": recall_score(y_test, predicted), "f1": f1_score(y_test, predicted), "roc_auc": roc_auc_score(y_test, probability)}
        mlflow.log_metrics(metrics)
        with tempfile.TemporaryDirectory() as out:
            report = classification_report(y_test, predicted, output_dict=True)
            json.dump(report, open(os.path.join(out, "classification_report.json"), "w"), indent=2)
            open(os.path.join(out, "classification_report.txt"), "w").write(classification_report(y_test, predicted))
            manifest = {"run_id": run.info.run_id, "data_sha256": data_sha256, "rows": len(frame), "features": X.shape[1], "metrics": metrics}
            json.dump(manifest, open(os.path.join(out, "run_manifest.json"), "w"), indent=2)
            mlflow.log_artifacts(out)
        signature = infer_signature(X_train, probability)
        info = mlflow.sklearn.log_model(model, name="model", signature=signature, input_example=X_train.head(3),
                                        registered_model_name="breast_cancer_classifier")
    print(json.dumps({"run_id": run.info.run_id, "model_id": info.model_id, "version": info.registered_model_version, **metrics}, indent=1))


if __name__ == "__main__":
    main()
