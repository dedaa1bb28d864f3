"""OpenLineage in (issue #19), with the official `openlineage-python` client: its events land in
the proven record, show up upstream of the demo model in `trail trace`, and ModelTrail's
Marquez-shaped read returns the demo's graph joined to the orchestrator's."""
import gzip
import hashlib
import json
import os
import subprocess
import uuid

import pytest
import requests

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_version_dataset, schema_dataset, source_code_location_job

from conftest import ROOT

pytestmark = pytest.mark.modeltrail

PRODUCER = "https://example.com/etl/1.0"


def client(server, user="alice", **extra):
    cfg = {"type": "http", "url": server.url, "auth": {"type": "api_key", "apiKey": server.users[user][1]}, **extra}
    return OpenLineageClient(config={"transport": cfg})


@pytest.fixture(scope="module")
def demo(server):
    """The demo against the server (from the repository root, so it reads data/breast_cancer.csv)."""
    env = dict(os.environ, TRAIL_HOME=server.home + "-demo-client")
    done = subprocess.run([server.trail, "demo", "--server", server.url, "--token", server.users["admin"][1], "--json"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    csv = os.path.join(ROOT, "data", "breast_cancer.csv")
    return {"csv": csv, "sha256": hashlib.sha256(open(csv, "rb").read()).hexdigest()}


def etl_events(demo, run_id, commit="0123456789abcdef0123456789abcdef01234567"):
    """An ETL job that writes the demo's training CSV, reporting the file's digest as its version."""
    job = Job(namespace="etl-airflow", name="clinical_export.write_csv",
              facets={"sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(
                  type="git", url="https://git.example.com/etl/blob/main/export.py", version=commit)})
    source = InputDataset(namespace="postgres://clinic-db:5432", name="clinic.public.patients",
                          facets={"schema": schema_dataset.SchemaDatasetFacet(fields=[
                              schema_dataset.SchemaDatasetFacetFields(name="mean_radius", type="DOUBLE")])})
    output = OutputDataset(namespace="file", name=demo["csv"],
                           facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="sha256:" + demo["sha256"])})
    start = RunEvent(eventType=RunState.START, eventTime="2026-11-30T08:00:00.000Z", run=Run(runId=run_id), job=job,
                     inputs=[source], outputs=[], producer=PRODUCER)
    complete = RunEvent(eventType=RunState.COMPLETE, eventTime="2026-11-30T08:05:00.123456+01:00", run=Run(runId=run_id),
                        job=Job(namespace="etl-airflow", name="clinical_export.write_csv"), inputs=[source], outputs=[output], producer=PRODUCER)
    return start, complete


def test_official_client_events_land_and_are_recorded(server, demo):
    run_id = str(uuid.uuid4())
    start, complete = etl_events(demo, run_id)
    client(server).emit(start)
    client(server, compression="gzip").emit(complete)
    events = [e["event"] for e in server.native("GET", "/api/v1/ledger/events?action=openlineage.ingest&limit=1000").json()["events"]]
    mine = [e for e in events if e["subject"]["id"] == run_id]
    assert len(mine) == 2, events
    facts = [e["facts"] for e in mine]
    assert {f["event_type"] for f in facts} == {"START", "COMPLETE"}
    assert any(d["role"] == "output" and d["version"] == "sha256:" + demo["sha256"] for f in facts for d in f["datasets"])
    # The original bytes are kept, content-addressed, and nothing is lost: verify still passes.
    assert all(f["body_digest"].startswith("sha256:") for f in facts)
    verify = server.native("POST", "/api/v1/ledger/verify").json()
    assert verify["ok"], verify


def test_trace_shows_the_upstream_job_with_its_proven_event(server, demo):
    out = json.loads(server.cli("trace", "model", "breast_cancer_classifier@production", "--server", server.url,
                                "--token", server.users["carol"][1], "--json"))
    upstream = [l for l in out["links"] if l["kind"] == "upstream"]
    assert upstream, out["links"]
    assert any("etl-airflow/clinical_export.write_csv" in l["summary"] and "COMPLETE" in l["summary"] for l in upstream)
    assert all(l["proven"] for l in upstream)


def test_marquez_shaped_graph_joins_the_demo_and_the_orchestrator(server, demo):
    r = requests.get(server.url + "/api/v1/lineage", params={"nodeId": "job:modeltrail:breast-cancer", "depth": 5},
                     headers={"Authorization": f"Bearer {server.users['carol'][1]}"})
    assert r.status_code == 200, r.text
    graph = r.json()["graph"]
    ids = [n["id"] for n in graph]
    assert ids == sorted(ids)
    csv_node = f"dataset:file:{demo['csv']}"
    assert {"job:modeltrail:breast-cancer", csv_node, "job:etl-airflow:clinical_export.write_csv",
            "dataset:modeltrail:models/breast_cancer_classifier/1"} <= set(ids), ids
    node = {n["id"]: n for n in graph}
    assert {"origin": "job:etl-airflow:clinical_export.write_csv", "destination": csv_node} in node[csv_node]["inEdges"]
    assert {"origin": csv_node, "destination": "job:modeltrail:breast-cancer"} in node[csv_node]["outEdges"]
    etl = node["job:etl-airflow:clinical_export.write_csv"]
    assert etl["type"] == "JOB" and etl["data"]["latestRun"]["state"] == "COMPLETED"
    assert etl["data"]["location"].startswith("https://git.example.com/")
    assert node["dataset:postgres://clinic-db:5432:clinic.public.patients"]["data"]["fields"][0]["name"] == "mean_radius"
    # Marquez's node-id grammar: a run id is not a graph node; an unknown node is a 404.
    for node_id, status in [("run:" + str(uuid.uuid4()), 404), ("dataset:nowhere:nothing", 404), ("nonsense", 400)]:
        r = requests.get(server.url + "/api/v1/lineage", params={"nodeId": node_id},
                         headers={"Authorization": f"Bearer {server.users['carol'][1]}"})
        assert r.status_code == status, (node_id, r.status_code, r.text)


@pytest.mark.parametrize("body,field", [
    ({"eventTime": "2026-01-01T00:00:00Z", "producer": PRODUCER, "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
      "run": {"runId": "not-a-uuid"}, "job": {"namespace": "n", "name": "j"}}, "run.runId"),
    ({"producer": PRODUCER, "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
      "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "n", "name": "j"}}, "eventTime"),
    ({"eventTime": "yesterday", "producer": PRODUCER, "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
      "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "n", "name": "j"}}, "eventTime"),
    ({"eventTime": "2026-01-01T00:00:00Z", "producer": PRODUCER, "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
      "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "n"}}, "job.name"),
    ({"eventTime": "2026-01-01T00:00:00Z", "producer": PRODUCER, "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
      "eventType": "EXPLODED", "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "n", "name": "j"}}, "eventType"),
    ({"eventTime": "2026-01-01T00:00:00Z", "producer": PRODUCER, "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
      "dataset": {"namespace": "n", "name": "d"}, "job": {"namespace": "n", "name": "j"}}, "job"),
    ({"eventTime": "2026-01-01T00:00:00Z", "producer": PRODUCER, "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
      "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "n", "name": "j"},
      "inputs": [{"namespace": "n", "name": "d", "facets": {"schema": {"fields": []}}}]}, "inputs[0].facets.schema._producer"),
])
def test_malformed_events_are_refused_naming_the_field_and_change_nothing(server, body, field):
    r = server.native("POST", "/api/v1/lineage", user="alice", body=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == field, r.text
    events = [e["event"] for e in server.native("GET", "/api/v1/ledger/events?action=openlineage.ingest&limit=1000").json()["events"]]
    assert not any(e["facts"].get("job", {}).get("name") == "j" for e in events)


def test_gzip_bombs_bad_gzip_and_readers_are_refused(server):
    event = {"eventTime": "2026-01-01T00:00:00Z", "producer": PRODUCER,
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent", "job": {"namespace": "n", "name": "bomb"},
             "pad": " " * (8 << 20)}
    headers = {"Authorization": f"Bearer {server.users['alice'][1]}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    r = requests.post(server.url + "/api/v1/lineage", data=gzip.compress(json.dumps(event).encode()), headers=headers)
    assert r.status_code == 413, r.text
    r = requests.post(server.url + "/api/v1/lineage", data=b"\x1f\x8bnot gzip at all", headers=headers)
    assert r.status_code == 400 and r.json()["error"]["field"] == "Content-Encoding", r.text
    # A viewer may read the graph but not write the record.
    headers["Authorization"] = f"Bearer {server.users['carol'][1]}"
    del headers["Content-Encoding"]
    r = requests.post(server.url + "/api/v1/lineage", data=json.dumps({**event, "pad": ""}), headers=headers)
    assert r.status_code == 403, r.text


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_modeltrail_runs_reach_a_receiver_that_was_down_for_a_while(server, tmp_path):
    """OpenLineage out: `trail server --openlineage-url` sends the home's runs; a receiver down
    at first gets every event once it comes up, each valid against the spec's RunEvent."""
    import http.server
    import socketserver
    import threading
    import time

    import jsonschema

    home = str(tmp_path / "home")
    env = dict(os.environ, TRAIL_HOME=home)
    done = subprocess.run([server.trail, "train", "--experiment", "ol-out", "--register", "ol_model", "--json"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    receiver_port, port = free_port(), free_port()
    log = open(tmp_path / "server.log", "w")
    process = subprocess.Popen([server.trail, "server", "--port", str(port), "--openlineage-url", f"http://127.0.0.1:{receiver_port}"],
                               env=dict(env, TRAIL_OPENLINEAGE_API_KEY="receiver-key"), stdout=log, stderr=subprocess.STDOUT)
    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers.get("Authorization"), json.loads(body)))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    try:
        # Down for a while: the server keeps trying and says so.
        deadline = time.time() + 60
        while time.time() < deadline:
            state = subprocess.run([server.trail, "lineage", "receivers", "--json"], env=env, capture_output=True, text=True).stdout
            if state.strip().startswith("[") and any(r["failures"] >= 2 for r in json.loads(state)):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"no failed delivery recorded: {state}\n{open(tmp_path / 'server.log').read()[-3000:]}")
        assert not received
        # Up: everything arrives.
        socketserver.TCPServer.allow_reuse_address = True
        httpd = socketserver.TCPServer(("127.0.0.1", receiver_port), Receiver)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        deadline = time.time() + 60
        while time.time() < deadline and len(received) < 3:
            time.sleep(0.5)
        httpd.shutdown()
        httpd.server_close()
    finally:
        process.terminate()
        process.wait(timeout=20)
    schema = json.load(open(os.path.join(ROOT, "compat", "openlineage-runevent.schema.json")))
    checker = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    types = []
    for path, auth, event in received:
        assert path == "/api/v1/lineage" and auth == "Bearer receiver-key"
        errors = sorted(checker.iter_errors(event), key=str)
        assert not errors, [e.message for e in errors]
        assert event["job"] == {**event["job"], "namespace": "modeltrail", "name": "ol-out"}
        ledger = event["run"]["facets"]["modeltrail_ledger"]
        assert isinstance(ledger["eventIndex"], int) and ledger["checkpoint"] and ledger["inclusionProof"] is not None
        types.append(event["eventType"])
    assert types == ["START", "OTHER", "COMPLETE"], types
    other = received[1][2]
    assert other["outputs"][0]["name"] == "models/ol_model/1" and other["outputs"][0]["facets"]["datasetType"]["datasetType"] == "MODEL"
    assert received[0][2]["inputs"][0]["facets"]["version"]["datasetVersion"].startswith("sha256:")
