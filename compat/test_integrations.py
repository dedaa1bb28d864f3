"""Webhooks and Prometheus (issue #19) against a real `trail server`: the demo's promotion reaches
a receiver as signed, verifiable deliveries; an SSRF attempt is refused and recorded; /metrics
parses with Prometheus' own text-format parser."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import socketserver
import subprocess
import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROOT

pytestmark = pytest.mark.modeltrail


def verify(secret, headers, body):
    """docs/webhooks.md's receiver check, as a receiver would write it."""
    signed = f"{headers['X-MLflow-Delivery-Id']}.{headers['X-MLflow-Timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers["X-MLflow-Signature"]) and abs(time.time() - int(headers["X-MLflow-Timestamp"])) < 300


def test_the_demos_promotion_reaches_a_receiver_signed_and_ssrf_is_refused(server, tmp_path):
    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = socketserver.TCPServer(("127.0.0.1", 0), Receiver)
    port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        # SSRF: loopback and the metadata service are refused (400 naming url) and recorded.
        for url in [f"http://127.0.0.1:{port}/hook", "http://169.254.169.254/latest/meta-data/", "http://[::1]/x", "file:///etc/passwd"]:
            r = server.native("POST", "/api/v1/webhooks", body={"url": url, "events": ["model_version_alias.created"]})
            assert r.status_code == 400 and r.json()["error"]["field"] == "url", (url, r.text)
        refused = [e["event"] for e in server.native("GET", "/api/v1/ledger/events?action=webhook.refused&limit=1000").json()["events"]]
        assert len(refused) >= 4
        # Only with an admin's explicit allowance for loopback, recorded.
        r = server.native("POST", "/api/v1/webhooks/allowances", body={"cidr": "127.0.0.1/32", "reason": "compat test receiver"})
        assert r.status_code in (200, 201), r.text
        r = server.native("POST", "/api/v1/webhooks", body={"url": f"http://127.0.0.1:{port}/hook",
                                                          "events": ["model_version_alias.created", "promotion.refused", "approval.created"]})
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        # A viewer may not register one.
        assert server.native("POST", "/api/v1/webhooks", user="carol", body={"url": "https://example.com/h", "events": ["model_version.created"]}).status_code == 403

        env = dict(os.environ, TRAIL_HOME=str(tmp_path / "demo-client"))
        done = subprocess.run([server.trail, "demo", "--server", server.url, "--token", server.users["admin"][1], "--json"],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr + done.stdout
        deadline = time.time() + 60
        def production():
            for headers, body in received:
                message = json.loads(body)
                if message["entity"] == "model_version_alias" and message["data"]["alias"] == "production":
                    return headers, body, message
        while time.time() < deadline and production() is None:
            time.sleep(0.5)
        found = production()
        assert found, [json.loads(b) for _, b in received]
        headers, body, message = found
        assert verify(secret, headers, body)
        assert not verify("whsec_" + "0" * 64, headers, body)
        assert message["action"] == "created" and message["data"]["name"] == "breast_cancer_classifier"
        # The delivery names the ledger event that caused it; that event is the alias move.
        index = message["modeltrail"]["event_index"]
        event = server.native("GET", f"/api/v1/ledger/events/{index}").json()
        assert json.dumps(event).count("alias.set") >= 1, event
        # The refused promotion and the approvals arrived too, each signed.
        kinds = {json.loads(b)["entity"] + "." + json.loads(b)["action"] for _, b in received}
        assert {"promotion.refused", "approval.created"} <= kinds, kinds
        assert all(verify(secret, h, b) for h, b in received)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_metrics_parse_with_prometheus_own_parser(server):
    assert server.native("GET", "/api/v1/ledger/events/0").status_code == 200
    assert requests.get(server.url + "/metrics").status_code == 401
    assert server.native("GET", "/metrics", user="carol").status_code == 403
    r = server.native("GET", "/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    assert families["trail_http_requests"].type == "counter"
    routes = {s.labels["route"] for s in families["trail_http_requests"].samples}
    assert any(route.startswith("/api/v1/") for route in routes), routes
    # Route patterns, never raw paths: the event read above is labelled by its pattern.
    assert "/api/v1/ledger/events/{reference}" in routes, routes
    assert not any(route.rstrip("/").split("/")[-1].isdigit() for route in routes), routes
    assert families["trail_http_request_duration_seconds"].type == "histogram"
    assert families["trail_ledger_events"].samples[0].value > 0
    assert "trail_ledger_checkpoint_age_seconds" in families and "trail_outbox_backlog" in families
