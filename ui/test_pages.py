"""The web UI in a real headless Chromium (Debian's chromium + chromium-driver, driven by
Selenium): every page over a demo home, the in-browser proof (✓ honest, ✗ after a flipped byte),
approvals from the page (an approver's lands, a viewer's is refused), escaping, narrow windows.
Screenshots go to $UI_SCREENSHOTS (default /tmp/modeltrail-ui-shots)."""
import base64
import csv
import json
import os
import socket
import subprocess
import time

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIL = os.environ.get("TRAIL_BIN", os.path.join(ROOT, ".build", "debug", "trail"))
SHOTS = os.environ.get("UI_SCREENSHOTS", "/tmp/modeltrail-ui-shots")
MODEL = "breast_cancer_classifier"
XSS = "<script>alert(1)</script>"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def trail(home, *args):
    out = subprocess.run([TRAIL, *args], cwd=ROOT, env=dict(os.environ, TRAIL_HOME=home), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"trail {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def start(home, args, url, log):
    process = subprocess.Popen([TRAIL, *args], cwd=ROOT, env=dict(os.environ, TRAIL_HOME=home), stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"trail {args[0]} exited:\n{open(log).read()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return process
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError(f"trail {args[0]} did not start:\n{open(log).read()[-3000:]}")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A demo home served with tokens required, users of every role, two runs with step metrics
    (one named like a script), and one served prediction."""
    home = str(tmp_path_factory.mktemp("home"))
    trail(home, "demo")
    tokens = {}
    for user, role in [("admin1", "admin"), ("alice", "approver"), ("vic", "viewer"), ("carl", "contributor")]:
        trail(home, "users", "create", user, "--role", role)
        tokens[user] = json.loads(trail(home, "tokens", "create", user, "--json"))["token"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(home, ["server", "--port", str(port)], url + "/health", str(tmp_path_factory.mktemp("log") / "server.log"))
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {tokens['carl']}"
    experiment = api.post(url + "/api/2.0/mlflow/experiments/create", json={"name": "ui-compare"}).json()["experiment_id"]
    runs = []
    for n, name in enumerate([XSS, "steady"]):
        run = api.post(url + "/api/2.0/mlflow/runs/create", json={"experiment_id": experiment, "run_name": name, "start_time": 1}).json()["run"]["info"]["run_id"]
        metrics = [{"key": "loss", "value": 1.0 / (step + 1 + n), "timestamp": 1000 + step, "step": step} for step in range(10)]
        r = api.post(url + "/api/2.0/mlflow/runs/log-batch", json={"run_id": run, "metrics": metrics, "params": [{"key": "lr", "value": str(0.1 * (n + 1))}]})
        assert r.status_code == 200, r.text
        runs.append(run)
    # One prediction, served from the home by `trail serve`.
    serve_port = free_port()
    serve = start(home, ["serve", f"{MODEL}@production", "--port", str(serve_port)], f"http://127.0.0.1:{serve_port}/health",
                  str(tmp_path_factory.mktemp("log") / "serve.log"))
    with open(os.path.join(ROOT, "data", "breast_cancer.csv")) as f:
        row = next(csv.DictReader(f))
    row.pop("target")
    answer = requests.post(f"http://127.0.0.1:{serve_port}/predict", json={k: float(v) for k, v in row.items()}, timeout=30)
    assert answer.status_code == 200, answer.text
    prediction = answer.json()["prediction_id"]
    serve.terminate()
    serve.wait(timeout=30)
    key = json.loads(trail(home, "ledger", "public-key", "--json"))["verifier_key"]
    yield dict(home=home, url=url, tokens=tokens, experiment=experiment, runs=runs, prediction=prediction, key=key, api=api)
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture(scope="module")
def browser():
    options = Options()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"]:
        options.add_argument(argument)
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    os.makedirs(SHOTS, exist_ok=True)
    yield driver
    driver.quit()


def console_errors(driver):
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def visit(driver, site, path, shot=None):
    driver.get(site["url"] + path)
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")
    if shot:
        driver.save_screenshot(os.path.join(SHOTS, f"{shot}.png"))
    errors = console_errors(driver)
    assert not errors, f"{path}: console errors {errors}"
    # What the page weighs before images: its HTML, the CSS and scripts, and what it fetched.
    html = driver.execute_script("const n = performance.getEntriesByType('navigation')[0]; return n ? n.decodedBodySize : 0")
    fetched = driver.execute_script("return performance.getEntriesByType('resource').filter(r => r.initiatorType === 'fetch').reduce((a, r) => a + r.decodedBodySize, 0)")
    weight = html + fetched + asset_bytes(site)
    WEIGHTS[path] = weight
    assert weight <= 200_000, f"{path} weighs {weight} bytes"
    return driver.find_element(By.TAG_NAME, "main").text


WEIGHTS = {}


def asset_bytes(site):
    if "assets" not in site:
        site["assets"] = sum(len(requests.get(site["url"] + f"/ui/static/{name}").content) for name in ["app.css", "app.js", "proof.js"])
    return site["assets"]



def sign_in(driver, site, user):
    driver.delete_all_cookies()
    driver.get(site["url"] + "/ui/signin")
    driver.find_element(By.ID, "token").send_keys(site["tokens"][user])
    driver.find_element(By.CSS_SELECTOR, "form[action='/ui/signin'] button").click()
    WebDriverWait(driver, 20).until(
        lambda d: user in d.execute_script("const w = document.querySelector('header .who'); return w ? w.textContent : ''"))
    driver.get_log("browser")  # the sign-in page itself was a 401: expected, not a page's error


def pin_key(driver, site):
    visit(driver, site, "/ui/ledger")
    field = driver.find_element(By.ID, "key")
    field.clear()
    field.send_keys(site["key"])
    driver.find_element(By.CSS_SELECTOR, "#pin-key button").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "pinned-key").text == site["key"]
                                    and d.execute_script("return localStorage.getItem('modeltrail.log-key')") == site["key"])


def verdicts(driver, count_at_least=1):
    WebDriverWait(driver, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-proof-verdict]")) >= count_at_least
        and len(d.find_elements(By.CSS_SELECTOR, "[data-proof-verdict]")) == len(d.find_elements(By.CSS_SELECTOR, "[data-proof-url]")))
    return [e.get_attribute("data-proof-verdict") for e in driver.find_elements(By.CSS_SELECTOR, "[data-proof-url]")]


def test_pages_need_a_sign_in_and_every_page_shows_the_demo(browser, site):
    driver = browser
    driver.get(site["url"] + "/ui/experiments")
    assert "Sign in" in driver.title, "without a session the pages ask for a token"
    sign_in(driver, site, "alice")
    cookie = driver.get_cookie("trail_session")
    assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict"
    assert "breast-cancer" in visit(driver, site, "/ui/experiments", "experiments")
    assert MODEL in visit(driver, site, "/ui/", "start")
    experiments = site["api"].get(site["url"] + "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "breast-cancer"}).json()
    text = visit(driver, site, f"/ui/experiments/{experiments['experiment']['experiment_id']}", "runs")
    assert "accuracy" in text and "FINISHED" in text
    run_link = driver.find_element(By.CSS_SELECTOR, "#runs tbody a").get_attribute("href")
    text = visit(driver, site, run_link.replace(site["url"], ""), "run")
    for expected in ["Provenance", "Dataset inputs", "sha256:", "Artifacts", "Steps", "Tags and their history"]:
        assert expected in text, f"the run page shows {expected}"
    preview = driver.find_element(By.PARTIAL_LINK_TEXT, "confusion").get_attribute("href") if driver.find_elements(By.PARTIAL_LINK_TEXT, "confusion") else None
    if preview:
        text = visit(driver, site, preview.replace(site["url"], ""), "artifact")
        assert "Confusion matrix" in text or "sha256" in text
    text = visit(driver, site, "/ui/models", "models")
    assert MODEL in text and "@production" in text
    text = visit(driver, site, f"/ui/models/{MODEL}", "model")
    assert "History" in text and "production" in text and "demo" in text
    # What was at @production an hour from now (an ISO time with its zone): version 1.
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    visit(driver, site, f"/ui/models/{MODEL}?ref=production&at={later}")
    assert "was version 1" in driver.find_element(By.ID, "at-answer").text
    assert driver.find_element(By.CSS_SELECTOR, "#ref option[value=production]").text == "@production"
    text = visit(driver, site, f"/ui/models/{MODEL}/versions/1?target=@production", "version")
    assert "every requirement is met" in text and "Approvals" in text and "Attestations" in text
    text = visit(driver, site, "/ui/lineage", "lineage-index")
    assert MODEL in text
    visit(driver, site, f"/ui/lineage/models/{MODEL}?ref=production", "lineage")
    # No key pinned in this browser yet: the proofs say "not checked", never ✓ and never ✗.
    assert set(verdicts(driver, 5)) == {"unchecked"}
    kinds = {e.get_attribute("data-kind") for e in driver.find_elements(By.CSS_SELECTOR, "svg.graph g.node")}
    assert {"dataset", "run", "version", "commit", "environment", "deployment", "predictions"} <= kinds, kinds
    digest = driver.find_element(By.CSS_SELECTOR, "g.node[data-kind=dataset]").find_element(By.XPATH, "..").get_dom_attribute("href")
    text = visit(driver, site, digest.replace(site["url"], ""), "dataset-impact")
    assert "Runs trained on it" in text and "Predictions served" in text
    text = visit(driver, site, "/ui/ledger", "ledger")
    assert "registry.alias" in text or "alias" in text


def test_the_compare_chart_has_one_curve_per_selected_run(browser, site):
    driver = browser
    sign_in(driver, site, "carl")
    visit(driver, site, f"/ui/experiments/{site['experiment']}")
    for run in site["runs"]:
        driver.find_element(By.ID, f"sel-{run}").click()
    button = driver.find_element(By.CSS_SELECTOR, "#compare-form button[type=submit]")
    assert button.text == "Compare 2 runs"
    button.click()
    WebDriverWait(driver, 20).until(lambda d: "Compare" in d.title)
    driver.save_screenshot(os.path.join(SHOTS, "compare.png"))
    assert not console_errors(driver)
    chart = driver.find_element(By.CSS_SELECTOR, "svg.chart[data-metric=loss]")
    assert len(chart.find_elements(By.CSS_SELECTOR, ".curve")) == 2
    differing = driver.find_elements(By.CSS_SELECTOR, "tr.differs")
    assert any("lr" in row.text for row in differing), "a parameter that differs is marked"


def test_a_run_named_like_a_script_is_text(browser, site):
    driver = browser
    sign_in(driver, site, "vic")
    text = visit(driver, site, f"/ui/experiments/{site['experiment']}")
    assert XSS in text, "the name is shown as text"
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text
    visit(driver, site, f"/ui/runs/{site['runs'][0]}")
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith(XSS)
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text
    raw = requests.get(site["url"] + f"/ui/runs/{site['runs'][0]}", headers={"Authorization": f"Bearer {site['tokens']['vic']}"})
    assert XSS not in raw.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in raw.text
    assert "script-src 'self'" in raw.headers["Content-Security-Policy"]


def test_the_browser_checks_proofs_and_catches_a_flipped_byte(browser, site):
    driver = browser
    sign_in(driver, site, "vic")
    pin_key(driver, site)
    visit(driver, site, "/ui/ledger/3", "event")
    assert verdicts(driver) == ["ok"], (driver.find_element(By.CSS_SELECTOR, ".proof-steps").get_attribute("textContent"),
                                        driver.execute_script("return localStorage.getItem('modeltrail.log-key')"), site["key"])
    assert "✓" in driver.find_element(By.CSS_SELECTOR, ".proof-verdict").text
    # The same bundle with one byte of the event flipped: the browser says ✗.
    bundle = requests.get(site["url"] + "/ui/api/proof/3", headers={"Authorization": f"Bearer {site['tokens']['vic']}"}).json()
    body = bytearray(base64.b64decode(bundle["body_b64"]))
    body[len(body) // 2] ^= 0x01
    bundle["body_b64"] = base64.b64encode(bytes(body)).decode()
    driver.find_element(By.ID, "pasted").send_keys(json.dumps(bundle))
    driver.find_element(By.CSS_SELECTOR, "#paste-proof button").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "pasted-verdict").text != "")
    assert "✗" in driver.find_element(By.ID, "pasted-verdict").text
    # And a flipped byte of the checkpoint's signature.
    bundle = requests.get(site["url"] + "/ui/api/proof/3", headers={"Authorization": f"Bearer {site['tokens']['vic']}"}).json()
    text, _, signature = bundle["checkpoint"].rpartition(" ")
    raw = bytearray(base64.b64decode(signature.strip()))
    raw[-1] ^= 0x01
    bundle["checkpoint"] = f"{text} {base64.b64encode(bytes(raw)).decode()}\n"
    field = driver.find_element(By.ID, "pasted")
    field.clear()
    field.send_keys(json.dumps(bundle))
    driver.find_element(By.CSS_SELECTOR, "#paste-proof button").click()
    WebDriverWait(driver, 20).until(lambda d: "signature" in d.find_element(By.ID, "pasted-steps").text)
    assert "✗" in driver.find_element(By.ID, "pasted-verdict").text
    # Every link of the production lineage and of a prediction's trace checks in the browser.
    visit(driver, site, f"/ui/lineage/models/{MODEL}?ref=production")
    results = verdicts(driver, 5)
    driver.save_screenshot(os.path.join(SHOTS, "lineage-proven.png"))
    assert results and all(r == "ok" for r in results), results
    visit(driver, site, f"/ui/trace?prediction={site['prediction']}", "trace")
    results = verdicts(driver, 5)
    assert results and all(r == "ok" for r in results), results
    assert "prediction record" in driver.find_element(By.CSS_SELECTOR, "[data-proof-url*=prediction] .proof-steps").get_attribute("textContent")


def test_an_approver_approves_from_the_page_and_a_viewer_is_refused(browser, site):
    driver = browser
    sign_in(driver, site, "alice")
    visit(driver, site, f"/ui/models/{MODEL}/versions/1?target=@production")
    driver.find_element(By.ID, "comment").send_keys("reviewed in the browser")
    driver.find_element(By.CSS_SELECTOR, "#decision-form button[value=approve]").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "decision-notice"))
    assert "approve by alice" in driver.find_element(By.ID, "decision-notice").text
    approvals = requests.get(site["url"] + f"/api/v1/models/{MODEL}/versions/1/approvals", headers={"Authorization": f"Bearer {site['tokens']['vic']}"}).json()
    mine = [a for a in approvals if a["approver"] == "alice"]
    assert mine and mine[0]["comment"] == "reviewed in the browser"
    # A viewer sees no form, and the server refuses the post anyway.
    sign_in(driver, site, "vic")
    visit(driver, site, f"/ui/models/{MODEL}/versions/1?target=@production")
    assert not driver.find_elements(By.ID, "decision-form")
    csrf = driver.find_element(By.CSS_SELECTOR, "form[action='/ui/signout'] input[name=csrf]").get_attribute("value")
    status = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const body = new URLSearchParams({csrf: arguments[0], target: '@production', decision: 'approve', reviewed_digest: arguments[1]});
        fetch(arguments[2], {method: 'POST', body, credentials: 'same-origin'}).then(r => done(r.status), e => done(String(e)));
    """, csrf, approvals[0]["root_digest"], f"/ui/models/{MODEL}/versions/1/decision")
    assert status == 403
    after = requests.get(site["url"] + f"/api/v1/models/{MODEL}/versions/1/approvals", headers={"Authorization": f"Bearer {site['tokens']['vic']}"}).json()
    assert not [a for a in after if a["approver"] == "vic"]


def test_sign_out_ends_the_session(browser, site):
    driver = browser
    sign_in(driver, site, "vic")
    secret = driver.get_cookie("trail_session")["value"]
    driver.find_element(By.CSS_SELECTOR, "form[action='/ui/signout'] button").click()
    WebDriverWait(driver, 20).until(lambda d: "Sign in" in d.title)
    replay = requests.get(site["url"] + "/ui/experiments", cookies={"trail_session": secret})
    assert replay.status_code == 401, "a signed-out session opens nothing"


def test_pages_fit_a_narrow_window(browser, site):
    driver = browser
    sign_in(driver, site, "vic")
    driver.set_window_size(420, 900)
    try:
        for path in ["/ui/", f"/ui/models/{MODEL}", f"/ui/lineage/models/{MODEL}?ref=production", "/ui/ledger"]:
            visit(driver, site, path, "narrow-" + path.strip("/").split("/")[-1].split("?")[0] if path != "/ui/" else "narrow-start")
            overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} is {overflow}px wider than a 420px window"
    finally:
        driver.set_window_size(1280, 900)


def test_report_page_weights(site):
    """Prints what each visited page weighed (bytes before images), for docs/benchmarks.md."""
    print(json.dumps({"page_weight_bytes": WEIGHTS, "max": max(WEIGHTS.values()) if WEIGHTS else 0}, indent=1))
