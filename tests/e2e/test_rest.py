"""test_rest.py — the REST API of the real `tensord` model server, end to end.

Covers (tfserving-api.md §1): the half_plus_two family per conformance cases #31-#39 (status,
metadata vs. TF Serving's expected JSON files, predict row/columnar, classify, regress, error
texts and HTTP codes), transport (Content-Type, CORS, preflight, 404 outside /v1, keep-alive,
oversize bodies), flags and process behaviour (unknown flag, --version, clean SIGTERM exit,
startup failure on a broken model), hot-loading a new version dir, and real models: MNIST
(accuracy on real digits) and the iris estimator. Case-by-case JSON codec conformance lives in
rest_cases/*.json (test_rest_golden.py).
"""

import csv
import http.client
import json
import os
import shutil
import subprocess
import time

import numpy as np
import pytest

from conftest import TENSORD_BIN, ModelServer, free_port, version_base

HP2 = "saved_model_half_plus_two_2_versions"


def tdata(fixtures_dir, *parts):
    return os.path.join(fixtures_dir, "tfserving_testdata", *parts)


@pytest.fixture(scope="module")
def hp2(model_servers, fixtures_dir, tmp_path_factory):
    """half_plus_two version 123 served as saved_model_half_plus_two_2_versions (like TF's handler tests)."""
    base = version_base(tmp_path_factory.mktemp("hp2") / HP2, {123: tdata(fixtures_dir, HP2, "00000123")})
    return model_servers(HP2, base)


@pytest.fixture(scope="module")
def hp_default(model_servers, fixtures_dir, tmp_path_factory):
    """saved_model_half_plus_two_cpu served as `default` (tensorflow_model_server_test.py)."""
    src = tdata(fixtures_dir, "saved_model_half_plus_two_cpu", "00000123")
    base = version_base(tmp_path_factory.mktemp("hpd") / "default", {123: src})
    return model_servers("default", base, extra=["--rest_api_enable_cors_support"])


def assert_error(r, status, contains):
    assert r.status == status, (r.status, r.body)
    assert r.headers.get("Content-Type") == "application/json"
    err = r.json()["error"]
    assert contains in err, err


# ---- #35-#38: predict / regress / classify / status / metadata on version 123 ----

def test_predict_row_and_columnar(hp2):
    r = hp2.post("/v1/models/%s:predict" % HP2, {"instances": [[1.0, 2.0], [3.0, 4.0]]})
    assert r.status == 200, r.body
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"predictions": [[2.5, 3.0], [3.5, 4.0]]}
    for path in ("/versions/123", "/labels/Version_Label"):
        r = hp2.post("/v1/models/%s%s:predict" % (HP2, path), {"instances": [1.0, 2.0]})
        if path.startswith("/labels"):  # labels need a model config file (not supported yet)
            assert_error(r, 400, "Unrecognized servable version label: Version_Label")
            continue
        assert r.status == 200, r.body
        assert r.json() == {"predictions": [2.5, 3.0]}
    r = hp2.post("/v1/models/%s:predict" % HP2, {"signature_name": "serving_default", "inputs": [3.0, 4.0]})
    assert r.status == 200, r.body
    assert r.json() == {"outputs": [3.5, 4.0]}


def test_regress_and_classify(hp2):
    r = hp2.post("/v1/models/%s:regress" % HP2, {"signature_name": "regress_x_to_y", "examples": [{"x": 80.0}]})
    assert r.status == 200, r.body
    assert r.json() == {"results": [42]}
    r = hp2.post("/v1/models/%s/versions/123:classify" % HP2,
                 {"signature_name": "classify_x_to_y", "examples": [{"x": 20.0}]})
    assert r.status == 200, r.body
    assert r.json() == {"results": [[["", 12]]]}


def test_model_status(hp2):
    expected = {"model_version_status": [{"version": "123", "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}
    for suffix in ("", "/versions/123", "/labels/Version_Label"):
        r = hp2.get("/v1/models/%s%s" % (HP2, suffix))
        assert r.status == 200, (suffix, r.body)
        assert r.headers["Content-Type"] == "application/json"
        assert r.json() == expected


def test_model_metadata_matches_tf_serving(hp2, fixtures_dir):
    r = hp2.get("/v1/models/%s/metadata" % HP2)
    assert r.status == 200, r.body
    with open(tdata(fixtures_dir, "saved_model_half_plus_two_2_versions_metadata.json")) as f:
        assert r.json() == json.load(f)
    assert hp2.get("/v1/models/%s/versions/123/metadata" % HP2).json() == r.json()


# ---- #31-#34 and other errors ----

@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/foo"), ("POST", "/v1/foo"), ("POST", "/v1/models"), ("GET", "/v1/models/foo:predict"),
    ("POST", "/v1/models/foo/version/50:predict"), ("POST", "/v1/models/foo/versions/HELLO:regress"),
    ("POST", "/v1/models/foo/metadata"), ("POST", "/v1/models/foo/label/some_label:regress"),
    ("POST", "/v1/models/foo/versions/50/labels/some_label:regress"),
    ("POST", "/v1/models/foo/versions/some_label:regress"), ("POST", "/v1/models/%s:PREDICT" % HP2),
    ("PUT", "/v1/models/%s" % HP2), ("DELETE", "/v1/models/%s" % HP2)])
def test_malformed_requests(hp2, method, path):
    r = hp2.request(method, path, b"{}" if method != "GET" else None)
    assert_error(r, 400, "Malformed request: %s %s" % (method, path))


def test_url_errors(hp2):
    assert_error(hp2.post("/v1/models/foo/versions/18446744073709551615:regress", "{}"), 400,
                 "Failed to convert version: 18446744073709551615 to numeric.")
    assert_error(hp2.get("/v1/models/versions/5"), 400, "Missing model name in request.")  # /v1/models: the list
    body = {"instances": [1.0]}
    assert_error(hp2.post("/v1/models/foo:predict", body), 404, "Servable not found for request: Latest(foo)")
    assert_error(hp2.post("/v1/models/%s/versions/50:predict" % HP2, body), 404,
                 "Servable not found for request: Specific(%s, 50)" % HP2)
    assert_error(hp2.post("/v1/models/%s/labels/Version_Nonexistent:predict" % HP2, body), 400,
                 "Unrecognized servable version label: Version_Nonexistent")
    assert_error(hp2.get("/v1/models/foo"), 404, "Could not find any versions of model foo")
    assert_error(hp2.get("/v1/models/%s/versions/7" % HP2), 404, "Could not find version 7 of model %s" % HP2)
    assert_error(hp2.get("/v1/models/foo/metadata"), 404, "Servable not found for request: Latest(foo)")


def test_body_errors(hp2):
    url = "/v1/models/%s:predict" % HP2
    assert_error(hp2.post(url, ""), 400, "JSON Parse error: The document is empty")
    assert_error(hp2.post(url, "instances = [1, 2]"), 400, "JSON Parse error: Invalid value")
    assert_error(hp2.post(url, '{"instances": [1.0'), 400, "JSON Parse error")
    assert_error(hp2.post(url, {"signature_name": 5, "instances": [1.0]}), 400,
                 "'signature_name' key must be a string value.")
    assert_error(hp2.post(url, {"instances": [1.0], "inputs": [1.0]}), 400, "Not formatted correctly")
    assert_error(hp2.post(url, {"instances": ["x", "y"]}), 400, "not of expected type: float")
    assert_error(hp2.post(url, {"instances": [[1.0], [1.0, 2.0]]}), 400, "Expecting tensor size")
    assert_error(hp2.post(url, {"signature_name": "nope", "instances": [1.0]}), 400,
                 'Serving signature name: "nope" not found in signature def')
    assert_error(hp2.post("/v1/models/%s:classify" % HP2, {"signature_name": "nope", "examples": [{"x": 1.0}]}),
                 400, "No signature was found with the name: nope")
    assert_error(hp2.post("/v1/models/%s:regress" % HP2, {"signature_name": "regress_x_to_y"}), 400,
                 "key 'examples' is expected and was not found")
    # the server survives all of the above
    assert hp2.post(url, {"instances": [0.0]}).json() == {"predictions": [2.0]}


# ---- #39: half_plus_two_cpu as `default`, with CORS ----

def test_default_model_end_to_end(hp_default, fixtures_dir):
    s = hp_default
    assert s.post("/v1/models/default:predict", {"instances": [2.0, 3.0, 4.0]}).json() == \
        {"predictions": [3.0, 3.5, 4.0]}
    assert s.post("/v1/models/default:predict", {"inputs": [2.0, 3.0, 4.0]}).json() == {"outputs": [3.0, 3.5, 4.0]}
    assert s.post("/v1/models/default:classify",
                  {"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}).json() == {"results": [[["", 3.0]]]}
    assert s.post("/v1/models/default:regress",
                  {"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]}).json() == {"results": [3.0]}
    with open(tdata(fixtures_dir, "half_plus_two_model_metadata.json")) as f:
        assert s.get("/v1/models/default/metadata").json() == json.load(f)


def test_cors(hp_default, hp2):
    r = hp_default.get("/v1/models/default")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Access-Control-Allow-Methods"] == "POST, GET"
    assert r.headers["Access-Control-Allow-Headers"] == "Content-Type"
    r = hp_default.request("OPTIONS", "/v1/models/default:predict", headers={"Origin": "https://example.com"})
    assert r.status == 200 and r.body == ""
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    r = hp_default.request("OPTIONS", "/v1/models/default:predict")
    assert r.status == 400
    assert "Access-Control-Allow-Origin" not in hp2.get("/v1/models/%s" % HP2).headers


def test_transport(hp2):
    r = hp2.get("/v2/models/x")
    assert r.status == 404
    assert hp2.get("/").status == 404
    # case-insensitive path, query string ignored
    assert hp2.post("/V1/Models/%s:predict?x=1" % HP2, {"instances": [2.0]}).json() == {"predictions": [3.0]}
    # several requests over one keep-alive connection
    conn = http.client.HTTPConnection("127.0.0.1", hp2.rest_port, timeout=30)
    for i in range(5):
        conn.request("POST", "/v1/models/%s:predict" % HP2, body=json.dumps({"instances": [float(i)]}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200
        assert json.loads(resp.read()) == {"predictions": [0.5 * i + 2]}
    conn.close()


def test_oversize_body(model_servers, fixtures_dir, tmp_path):
    base = version_base(tmp_path / "m", {1: tdata(fixtures_dir, "saved_model_half_plus_two_cpu", "00000123")})
    s = model_servers("m", base, extra=["--rest_api_max_request_bytes=1000"])
    r = s.post("/v1/models/m:predict", json.dumps({"instances": [1.0] * 2000}))
    assert_error(r, 413, "exceeds the limit of 1000 bytes")
    assert s.post("/v1/models/m:predict", {"instances": [1.0]}).json() == {"predictions": [2.5]}


def test_concurrent_clients(hp2):
    """Many clients at once on the worker pool: every answer is right and belongs to its request."""
    from concurrent.futures import ThreadPoolExecutor

    def one(i):
        r = hp2.post("/v1/models/%s:predict" % HP2, {"instances": [[float(i)], [float(i + 1)]]})
        return r.status, r.json()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(200)))
    for i, (status, body) in enumerate(results):
        assert status == 200 and body == {"predictions": [[0.5 * i + 2], [0.5 * (i + 1) + 2]]}, (i, body)


# ---- flags and process ----

def run_server_cli(*args, timeout=30):
    r = subprocess.run([TENSORD_BIN] + list(args), capture_output=True, text=True, timeout=timeout)
    assert r.returncode >= 0, "crashed: %s" % r.stderr
    return r


def test_flag_errors(tensord):
    r = run_server_cli("--model_base_path=/nonexistent", "--no_such_flag=1")
    assert r.returncode == 255 and "unknown flag: --no_such_flag=1" in r.stderr and "--rest_api_port" in r.stderr
    r = run_server_cli("--model_base_path=/x", "--port=abc")
    assert r.returncode == 255 and "port" in r.stderr
    r = run_server_cli("--model_base_path=/x", "--use_alts_credentials")
    assert r.returncode == 255 and "flag --use_alts_credentials is not supported yet by tensord" in r.stderr
    r = run_server_cli("--port=8500")
    assert r.returncode == 255 and "model_base_path" in r.stderr
    r = run_server_cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("TensorFlow ModelServer: ")
    r = run_server_cli("--model_base_path=/x", "--port=0")
    assert r.returncode == 255 and "Failed to start server. Error:" in r.stderr


def test_broken_model_fails_startup(tensord, fixtures_dir, tmp_path):
    bad = tdata(fixtures_dir, "bad_half_plus_two", "00000123")
    if not os.path.isdir(bad):
        pytest.skip("bad_half_plus_two fixture layout differs")
    base = version_base(tmp_path / "bad", {1: bad})
    # every load error is retried --max_num_load_retries times (TF's default: 5, a minute apart)
    r = run_server_cli("--port=%d" % 1, "--rest_api_port=0", "--model_name=bad", "--model_base_path=" + base,
                       "--max_num_load_retries=0")
    assert r.returncode == 255, r.stdout + r.stderr
    assert "Failed to start server. Error:" in r.stderr


def test_serve_subcommand_and_sigterm(tensord, fixtures_dir, tmp_path):
    base = version_base(tmp_path / "m", {5: tdata(fixtures_dir, "saved_model_half_plus_two_cpu", "00000123")})
    rest_port = free_port()
    s = ModelServer([tensord, "serve", "--port=%d" % free_port(), "--rest_api_port=%d" % rest_port,
                     "--model_name=m", "--model_base_path=" + base], str(tmp_path / "serve.log"))
    try:
        s.wait_ready()
        assert s.get("/v1/models/m").json()["model_version_status"][0]["version"] == "5"
    finally:
        assert s.stop() == 0
    out = s.output()
    assert "Exporting HTTP/REST API at:localhost:%d" % rest_port in out
    assert "Running gRPC ModelServer at 0.0.0.0:" in out
    assert "shutting down" in out


def test_waits_for_first_version(model_servers, fixtures_dir, tmp_path):
    """No version dir yet: the server polls without listening (TF Serving), then serves once one appears."""
    base = tmp_path / "later"
    s = model_servers("later", str(base), extra=["--file_system_poll_wait_seconds=1"], wait=False)
    time.sleep(1.5)
    assert s.proc.poll() is None, s.output()
    version_base(base, {7: tdata(fixtures_dir, "saved_model_half_plus_two_cpu", "00000123")})
    s.wait_ready(timeout=15)
    assert s.post("/v1/models/later:predict", {"instances": [2.0]}).json() == {"predictions": [3.0]}


# ---- hot loading ----

def test_hot_load_new_version(model_servers, fixtures_dir, tmp_path):
    base = version_base(tmp_path / "hot", {1: tdata(fixtures_dir, "saved_model_half_plus_two_cpu", "00000123")})
    s = model_servers("hot", base, extra=["--file_system_poll_wait_seconds=1"])
    assert s.post("/v1/models/hot:predict", {"instances": [1.0]}).json() == {"predictions": [2.5]}
    # half_plus_three arrives as version 2 (copied, as a deployment would)
    shutil.copytree(tdata(fixtures_dir, "saved_model_half_plus_three", "00000123"), os.path.join(base, "2.tmp"))
    os.rename(os.path.join(base, "2.tmp"), os.path.join(base, "2"))
    deadline = time.time() + 10
    while time.time() < deadline:
        r = s.post("/v1/models/hot:predict", {"instances": [1.0]})
        assert r.status == 200, r.body  # never a gap while switching
        if r.json() == {"predictions": [3.5]}:
            break
        time.sleep(0.1)
    else:
        pytest.fail("version 2 was not served within 10 s:\n" + s.output())
    status = s.get("/v1/models/hot").json()["model_version_status"]
    assert status[0]["version"] == "2" and status[0]["state"] == "AVAILABLE"
    assert s.get("/v1/models/hot/metadata").json()["model_spec"]["version"] == "2"


# ---- real models ----

def load_mnist(fixtures_dir, n):
    d = os.path.join(fixtures_dir, "datasets")
    with open(os.path.join(d, "mnist10k-images.idx3-ubyte"), "rb") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:n]
    with open(os.path.join(d, "mnist10k-labels.idx1-ubyte"), "rb") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return images, labels


def test_mnist_accuracy(model_servers, fixtures_dir, tmp_path):
    src = os.path.join(fixtures_dir, "models", "mnist_seoinjae", "1")
    s = model_servers("mnist", version_base(tmp_path / "mnist", {1: src}))
    images, labels = load_mnist(fixtures_dir, 1000)
    x = images.astype(np.float32) / 255.0
    predicted = []
    for i in range(0, len(x), 250):
        r = s.post("/v1/models/mnist:predict", {"instances": x[i:i + 250].tolist()})
        assert r.status == 200, r.body[:500]
        p = np.array(r.json()["predictions"])
        assert p.shape == (min(250, len(x) - i), 10)
        predicted.append(p.argmax(1))
    acc = float((np.concatenate(predicted) == labels).mean())
    print("mnist_seoinjae over REST: accuracy %.4f on %d digits" % (acc, len(labels)))
    assert acc >= 0.97


def test_iris_estimator(model_servers, fixtures_dir, tmp_path):
    src = os.path.join(fixtures_dir, "models", "iris_estimator_raw", "1560841190")
    s = model_servers("iris", version_base(tmp_path / "iris", {1560841190: src}))
    species = {"setosa": 0, "versicolor": 1, "virginica": 2}
    with open(os.path.join(fixtures_dir, "datasets", "iris.csv")) as f:
        rows = list(csv.DictReader(f))
    keys = {"SepalLength": "sepal_length", "SepalWidth": "sepal_width", "PetalLength": "petal_length",
            "PetalWidth": "petal_width"}
    # row format: one object per flower
    instances = [{k: float(row[c]) for k, c in keys.items()} for row in rows]
    r = s.post("/v1/models/iris:predict", {"signature_name": "predict", "instances": instances})
    assert r.status == 200, r.body[:500]
    preds = r.json()["predictions"]
    assert len(preds) == len(rows)
    assert set(preds[0]) == {"class_ids", "classes", "logits", "probabilities"}
    class_ids = np.array([p["class_ids"][0] for p in preds])
    truth = np.array([species[row["species"]] for row in rows])
    acc = float((class_ids == truth).mean())
    print("iris_estimator_raw over REST: accuracy %.4f on %d flowers" % (acc, len(rows)))
    assert acc >= 0.9
    np.testing.assert_allclose([sum(p["probabilities"]) for p in preds], 1.0, rtol=1e-5)
    # columnar format gives the same answer
    r = s.post("/v1/models/iris:predict",
               {"signature_name": "predict",
                "inputs": {k: [float(row[c]) for row in rows[:5]] for k, c in keys.items()}})
    assert r.status == 200, r.body[:500]
    assert r.json()["outputs"]["class_ids"] == [[int(c)] for c in class_ids[:5]]
