"""Session fixtures: a real server, started once for the whole compat suite.

By default the server is ModelTrail (`trail server`, the binary in $TRAIL_BIN or the package's
debug build) on a fresh home, with tokens required. `--server mlflow` runs the same MLflow
behaviour tests against MLflow's own server (SQLite backend, artifact proxy), to prove they
test MLflow's contract and not ours; tests marked `modeltrail` are skipped there.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_addoption(parser):
    parser.addoption("--server", default=os.environ.get("COMPAT_SERVER", "modeltrail"), choices=["modeltrail", "mlflow"],
                     help="which server the suite drives (default modeltrail)")


def pytest_configure(config):
    config.addinivalue_line("markers", "modeltrail: ModelTrail-only behaviour (gates, ledger, identity); skipped against MLflow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--server") == "mlflow":
        skip = pytest.mark.skip(reason="ModelTrail-only test (gates, ledger, identity)")
        for item in items:
            if "modeltrail" in item.keywords:
                item.add_marker(skip)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url, process, log):
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{open(log).read()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer /health within 120 s:\n{open(log).read()[-4000:]}")


class Server:
    """What the tests know about the server under test."""

    def __init__(self, kind, url, home=None, trail=None, users=None):
        self.kind, self.url, self.home, self.trail, self.users = kind, url, home, trail, users or {}

    def cli(self, *args):
        """Runs the `trail` CLI on the server's home (ModelTrail only) and returns stdout."""
        env = dict(os.environ, TRAIL_HOME=self.home)
        done = subprocess.run([self.trail, *args], env=env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"trail {' '.join(args)} failed ({done.returncode}): {done.stderr}{done.stdout}")
        return done.stdout

    def native(self, method, path, user="admin", body=None):
        """Calls ModelTrail's native API as one of the session's users."""
        import requests
        name, token = self.users[user]
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        r = requests.request(method, self.url + path, headers=headers,
                             data=body if isinstance(body, (bytes, str)) or body is None else json.dumps(body))
        return r


@pytest.fixture(scope="session")
def server(request, tmp_path_factory):
    kind = request.config.getoption("--server")
    work = tmp_path_factory.mktemp("server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = str(work / "server.log")
    if kind == "mlflow":
        mlflow_bin = shutil.which("mlflow") or os.path.join(os.path.dirname(sys.executable), "mlflow")
        cmd = [mlflow_bin, "server", "--backend-store-uri", f"sqlite:///{work}/mlflow.db", "--artifacts-destination", str(work / "artifacts"),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        process = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=str(work))
        os.environ.pop("MLFLOW_TRACKING_USERNAME", None)
        os.environ.pop("MLFLOW_TRACKING_PASSWORD", None)
        srv = Server(kind, url)
    else:
        trail = os.environ.get("TRAIL_BIN") or os.path.join(ROOT, ".build", "debug", "trail")
        if not os.path.exists(trail):
            raise RuntimeError(f"no trail binary at {trail}; run 'swift build' first or set TRAIL_BIN")
        home = str(work / "home")
        srv = Server(kind, url, home=home, trail=trail)
        # Users: alice trains (contributor), bob approves, carol only reads, root administers.
        for name, roles in [("alice", ["contributor"]), ("bob", ["approver"]), ("carol", ["viewer"]), ("root", ["admin", "contributor"])]:
            srv.cli("users", "create", name, *[a for r in roles for a in ("--role", r)])
            token = json.loads(srv.cli("tokens", "create", name, "--json"))["token"]
            srv.users[{"root": "admin"}.get(name, name)] = (name, token)
        env = dict(os.environ, TRAIL_HOME=home)
        process = subprocess.Popen([trail, "server", "--port", str(port)], stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)
        os.environ["MLFLOW_TRACKING_USERNAME"] = "alice"
        os.environ["MLFLOW_TRACKING_PASSWORD"] = srv.users["alice"][1]
    try:
        wait_until_up(url, process, log)
        os.environ["MLFLOW_TRACKING_URI"] = url
        import mlflow
        mlflow.set_tracking_uri(url)
        yield srv
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
