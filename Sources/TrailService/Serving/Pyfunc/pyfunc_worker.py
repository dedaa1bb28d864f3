"""ModelTrail's pyfunc worker: loads one MLflow model and scores batches for `trail serve`.

It is shipped inside the `trail` binary (PyfuncWorkerProgram.swift holds these bytes; a test
checks that they are the same) and written to the serving cache next to the model, keyed by its
digest. It runs under the interpreter given with `--python`, which must have `mlflow` and the
model's requirements.

Protocol, over stdin/stdout: frames of a 4-byte big-endian length and that many bytes of JSON.
First the worker sends one frame: {"ready": true, "signature": …, "mlflow_version": …} or
{"ready": false, "error": …, "missing": [requirements]}. Then, for each request frame
  {"columns": [names], "data": [[row values]], "sizes": [rows per request], "params": {…}|null}
or {"raw": <MLflow request object, e.g. {"inputs": tensor}>, "params": …}
it answers one frame {"results": [{"status": 200, "body": "<{\"predictions\": …} as MLflow writes it>"}
| {"status": 400, "error_code": …, "message": …}, …]}, one per request of the batch, in order.
The batch is scored with one predict call when the model returns one prediction per row;
otherwise (or when that call fails) each request is scored on its own.
Anything the model prints goes to stderr, never into the frames.
"""
import io
import json
import os
import struct
import sys
import traceback

os.environ.setdefault("_MLFLOW_IS_IN_SERVING_ENVIRONMENT", "true")
frames_out = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)
sys.stdout = sys.stderr
frames_in = os.fdopen(os.dup(0), "rb", buffering=0)


def send(obj):
    data = json.dumps(obj, allow_nan=True).encode()
    frames_out.write(struct.pack(">I", len(data)) + data)


def receive():
    head = read_exactly(4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    body = read_exactly(size)
    if body is None:
        return None
    return json.loads(body)


def read_exactly(n):
    chunks, left = [], n
    while left:
        chunk = frames_in.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def missing_requirements(model_dir):
    """Requirements in the model's requirements.txt that this interpreter lacks (name only)."""
    path = os.path.join(model_dir, "requirements.txt")
    if not os.path.exists(path):
        return []
    from importlib import metadata
    import re
    missing = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            name = re.split(r"[\s<>=!~;\[@]", line, 1)[0]
            if not name:
                continue
            try:
                metadata.version(name)
            except metadata.PackageNotFoundError:
                missing.append(line)
    return missing


def main():
    model_dir = sys.argv[1]
    missing = missing_requirements(model_dir)
    if missing:
        send({"ready": False, "error": "the model's requirements are not installed in this Python environment", "missing": missing})
        return
    try:
        import mlflow
        import mlflow.pyfunc
        from mlflow.pyfunc import scoring_server
        from mlflow.utils.proto_json_utils import dataframe_from_parsed_json
        model = mlflow.pyfunc.load_model(model_dir)
    except Exception as e:  # noqa: BLE001 — any load failure is reported, then the worker exits
        send({"ready": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-4000:]})
        return
    schema = model.metadata.get_input_schema()
    params_schema = model.metadata.get_params_schema()
    signature = model.metadata.signature
    send({"ready": True, "mlflow_version": mlflow.__version__, "python": sys.version.split()[0],
          "signature": {"inputs": schema.to_dict() if schema is not None else None,
                        "params": params_schema.to_dict() if params_schema is not None else None,
                        "outputs": signature.outputs.to_dict() if signature is not None and signature.outputs is not None else None},
          "predict_fn": model.metadata.flavors.get("python_function", {}).get("predict_fn", "predict")})

    def answer(predictions):
        out = io.StringIO()
        scoring_server.predictions_to_json(predictions, out)
        return {"status": 200, "body": out.getvalue()}

    def failure(e):
        from mlflow.exceptions import MlflowException
        if isinstance(e, MlflowException):
            return {"status": e.get_http_status_code(), "error_code": e.error_code, "message": e.message[:4000]}
        return {"status": 400, "error_code": "BAD_REQUEST",
                "message": f"Encountered an unexpected error while evaluating the model: {type(e).__name__}: {str(e)[:3000]}"}

    def predict_frame(frame, params):
        return model.predict(frame, params=params) if params else model.predict(frame)

    # The fast path, for a signature of numeric and boolean columns only: ModelTrail's front end
    # has already checked every row against it (names, presence, types), so the frame is built
    # straight from the values with the schema's dtypes and handed to the flavor's model, without
    # MLflow's generic parse-and-enforce layers (about 10 ms a call, most of a small batch's cost).
    # Anything unexpected falls back to MLflow's own path.
    fast_dtypes = None
    try:
        from mlflow.types import DataType
        numeric = {DataType.double: "float64", DataType.float: "float32", DataType.long: "int64", DataType.integer: "int32",
                   DataType.boolean: "bool"}
        hinted = getattr(model.metadata, "_is_signature_from_type_hint", None)
        hinted = hinted() if callable(hinted) else bool(hinted)
        if (schema is not None and not schema.is_tensor_spec() and schema.has_input_names() and not hinted
                and all(isinstance(spec.type, DataType) and spec.type in numeric and spec.required for spec in schema.inputs)
                and hasattr(model, "_model_impl") and not params_schema):
            fast_dtypes = {spec.name: numeric[spec.type] for spec in schema.inputs}
    except Exception:  # noqa: BLE001 — an MLflow without these attributes uses its own path
        fast_dtypes = None

    def frame_of(columns, data):
        if fast_dtypes is not None and list(columns) == list(fast_dtypes):
            import numpy as np
            import pandas as pd
            try:
                return pd.DataFrame({c: np.asarray([row[i] for row in data], dtype=fast_dtypes[c]) for i, c in enumerate(columns)},
                                    columns=columns), True
            except (TypeError, ValueError, OverflowError):
                pass
        return dataframe_from_parsed_json({"columns": columns, "data": data}, pandas_orient="split", schema=schema), False

    def predict_rows(columns, data, params):
        frame, fast = frame_of(columns, data)
        if fast:
            return model._model_impl.predict(frame)
        return predict_frame(frame, params)

    while True:
        request = receive()
        if request is None:
            return
        if request.get("ping"):
            send({"pong": True})
            continue
        params = request.get("params") or None
        if "raw" in request:
            try:
                data = scoring_server.infer_and_parse_data(request["raw"], schema)
                send({"results": [answer(predict_frame(data, params))]})
            except Exception as e:  # noqa: BLE001
                send({"results": [failure(e)]})
            continue
        columns, data, sizes = request["columns"], request["data"], request["sizes"]
        results = None
        try:
            predictions = predict_rows(columns, data, params)
            if len(sizes) == 1:
                results = [answer(predictions)]
            elif hasattr(predictions, "__len__") and not isinstance(predictions, (dict, str)) and len(predictions) == len(data):
                results, start = [], 0
                for size in sizes:
                    part = predictions.iloc[start:start + size] if hasattr(predictions, "iloc") else predictions[start:start + size]
                    results.append(answer(part))
                    start += size
        except Exception as e:  # noqa: BLE001
            if len(sizes) == 1:
                results = [failure(e)]
        if results is None:
            # One call per request: the batch failed as a whole, or the model does not answer
            # row by row.
            results, start = [], 0
            for size in sizes:
                try:
                    results.append(answer(predict_rows(columns, data[start:start + size], params)))
                except Exception as e:  # noqa: BLE001
                    results.append(failure(e))
                start += size
        send({"results": results})


if __name__ == "__main__":
    main()
