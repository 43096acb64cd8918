"""test_batching.py — server-side batching (--enable_batching, --batching_parameters_file) on the
real tensord binary, as TF Serving clients see it (tfserving-api.md §4.6).

Concurrent REST and gRPC clients each get exactly their own rows back while the metrics show
fewer batch runs than requests; classify/regress signatures work batched; a request larger
than max_batch_size gets TF's error; bad batching setups stop the server at start-up with
"Failed to start server".
"""

import concurrent.futures
import os
import re
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_client as gc  # noqa: E402
from conftest import FIXTURES, TENSORD_BIN  # noqa: E402

MATRIX = os.path.join(FIXTURES, "tfserving_testdata", "_extra_batching_testdata", "matrix_half_plus_two")
HPT = os.path.join(FIXTURES, "tfserving_testdata", "saved_model_half_plus_two_cpu")
METRICS = "/monitoring/prometheus/metrics"

pytestmark = pytest.mark.skipif(not os.path.isdir(MATRIX), reason="fixtures absent")


def params_file(tmp_path, text):
    p = tmp_path / "batching.txt"
    p.write_text(text)
    return str(p)


def metric(text, name):
    """The value of an unlabelled sample `name` in a Prometheus exposition (0 if absent)."""
    m = re.search(r"^%s(?:\{\})? (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else 0.0


def grpc_port(server):
    return int([a for a in server.args if a.startswith("--port=")][0].split("=")[1])


@pytest.fixture(scope="module")
def batching_server(model_servers, tmp_path_factory):
    # One batch thread and a 3 ms window: concurrent requests pile up into shared batches.
    text = ("max_batch_size { value: 32 } batch_timeout_micros { value: 3000 } "
            "max_enqueued_batches { value: 1000 } num_batch_threads { value: 1 }")
    path = params_file(tmp_path_factory.mktemp("batching"), text)
    return model_servers("matrix", MATRIX, ["--enable_batching", "--batching_parameters_file=" + path])


def test_concurrent_rest_and_grpc_each_get_their_rows(batching_server):
    s = batching_server
    client = gc.Client("127.0.0.1:%d" % grpc_port(s))
    pb = gc.protos()
    before = s.get(METRICS).body

    def call(i):
        rows = 1 + i % 3
        x = (np.arange(rows * 9, dtype=np.float32).reshape(rows, 3, 3) + 100 * i)
        if i % 2:
            r = s.post("/v1/models/matrix:predict", {"instances": x.tolist()})
            assert r.status == 200, r.body
            y = np.array(r.json()["predictions"], np.float32)
        else:
            req = pb.PredictRequest()
            gc.model_spec(req.model_spec, "matrix")
            req.inputs["x"].CopyFrom(gc.tensor(x, content=True))
            y = gc.to_numpy(client.Predict(req, timeout=30).outputs["y"])
        assert y.shape == (rows, 3, 3)
        np.testing.assert_array_equal(y, 0.5 * x + 2)
        return rows

    n = 192
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        assert sum(ex.map(call, range(n))) == sum(1 + i % 3 for i in range(n))
    client.close()
    after = s.get(METRICS).body
    runs = metric(after, ":tensorflow:serving:batching_session:wrapped_run_count") - \
        metric(before, ":tensorflow:serving:batching_session:wrapped_run_count")
    batches = metric(after, ":tensorflow:serving:batching_session:processed_batch_size_count") - \
        metric(before, ":tensorflow:serving:batching_session:processed_batch_size_count")
    assert runs == n
    assert 0 < batches < n  # several requests shared a run
    assert 'thread_pool_name="batch_threads"' in after


def test_task_larger_than_max_batch_size(batching_server):
    x = np.zeros((33, 3, 3)).tolist()
    r = batching_server.post("/v1/models/matrix:predict", {"instances": x})
    assert r.status == 400
    assert r.json() == {"error": "Task size 33 is larger than maximum input batch size 32"}


def test_classify_and_regress_batched(model_servers):
    s = model_servers("hpt", HPT, ["--enable_batching"])
    plain = model_servers("hpt", HPT)
    for verb, sig in (("classify", "classify_x_to_y"), ("regress", "regress_x_to_y")):
        body = {"signature_name": sig, "examples": [{"x": 1.0}, {"x": 3.0}]}
        a, b = s.post("/v1/models/hpt:" + verb, body), plain.post("/v1/models/hpt:" + verb, body)
        assert a.status == 200 and a.json() == b.json(), (a.body, b.body)
    r = s.post("/v1/models/hpt:predict", {"instances": [1.0, 2.0, 5.0]})
    assert r.json() == {"predictions": [2.5, 3.0, 4.5]}
    assert 'thread_pool_name="model_server_batch_threads"' in s.get(METRICS).body


def test_per_model_batching_parameters(model_servers, tmp_path):
    """A version's batching_params.pbtxt applies with --enable_per_model_batching_parameters."""
    version = tmp_path / "matrix" / "1"
    version.mkdir(parents=True)
    for name in os.listdir(os.path.join(MATRIX, "1")):
        os.symlink(os.path.join(MATRIX, "1", name), version / name)
    (version / "batching_params.pbtxt").write_text("max_batch_size { value: 2 }")
    x = np.ones((3, 3, 3)).tolist()
    own = model_servers("matrix", str(tmp_path / "matrix"),
                        ["--enable_batching", "--enable_per_model_batching_parameters"])
    r = own.post("/v1/models/matrix:predict", {"instances": x})
    assert r.status == 400 and r.json() == {"error": "Task size 3 is larger than maximum input batch size 2"}
    assert own.post("/v1/models/matrix:predict", {"instances": x[:2]}).status == 200
    server_wide = model_servers("matrix", str(tmp_path / "matrix"), ["--enable_batching"])
    assert server_wide.post("/v1/models/matrix:predict", {"instances": x}).status == 200


@pytest.mark.parametrize("args, text, error", [
    (["--batching_parameters_file=%s"], "max_batch_size { value: 8 }",
     "--batching_parameters_file is set but batching is not enabled (--enable_batching)"),
    (["--enable_batching", "--batching_parameters_file=%s"], "max_batch_size { value: 8 } allowed_batch_sizes: [4]",
     "Last entry in allowed_batch_sizes must match max_batch_size; last entry was 4; expected 8"),
    (["--enable_batching", "--batching_parameters_file=%s"], "max_batch_size: {", "Invalid --batching_parameters_file"),
])
def test_bad_batching_setup_fails_startup(tmp_path, args, text, error):
    path = params_file(tmp_path, text)
    r = subprocess.run([TENSORD_BIN, "--model_name=m", "--model_base_path=" + MATRIX, "--port=0",
                        "--grpc_socket_path=" + str(tmp_path / "g.sock")] + [a.replace("%s", path) for a in args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 255
    assert "Failed to start server. Error: INVALID_ARGUMENT" in r.stderr and error in r.stderr, r.stdout + r.stderr
