"""test_hardening_batching.py — issue 12 point 4: with --enable_batching one client's malformed
requests (wrong dtype, wrong shape) fail alone, never the other clients' requests they would
have shared a batch with; a request whose deadline passed while it waited in a batch does not
run.

The model is generated (tools/gen_models.py half_plus_two_tf1: x float [-1, 1] → y = 0.5 x + 2),
so nothing needs ../shared. 127.0.0.1 only, bounded in time.
"""

import concurrent.futures
import os
import re
import subprocess
import sys

import grpc
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_client as gc  # noqa: E402
from conftest import REPO  # noqa: E402

METRICS = "/monitoring/prometheus/metrics"
BATCH_RUNS = ":tensorflow:serving:batching_session:processed_batch_size_count"
TASKS = ":tensorflow:serving:batching_session:wrapped_run_count"


@pytest.fixture(scope="module")
def hpt_base(tmp_path_factory):
    out = tmp_path_factory.mktemp("batching_models")
    r = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen_models.py"), str(out),
                        "--only", "half_plus_two_tf1"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return str(out / "half_plus_two_tf1")


def metric(text, name):
    m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else 0.0


def grpc_port(server):
    return int([a for a in server.args if a.startswith("--port=")][0].split("=")[1])


def batching(model_servers, hpt_base, tmp_path, text, extra=()):
    path = tmp_path / "batching.txt"
    path.write_text(text)
    return model_servers("hpt", hpt_base, ["--enable_batching", "--batching_parameters_file=%s" % path] + list(extra))


def predict_request(x, dtype="float32", shape=None):
    pb = gc.protos()
    req = pb.PredictRequest()
    gc.model_spec(req.model_spec, "hpt")
    req.inputs["x"].CopyFrom(gc.tensor(np.asarray(x, dtype=dtype), shape=shape))
    return req


def test_malformed_client_fails_alone(model_servers, hpt_base, tmp_path):
    # One batch thread and a 5 ms window: concurrent requests share batches.
    s = batching(model_servers, hpt_base, tmp_path,
                 "max_batch_size { value: 64 } batch_timeout_micros { value: 5000 } "
                 "max_enqueued_batches { value: 1000 } num_batch_threads { value: 1 }")
    client = gc.Client("127.0.0.1:%d" % grpc_port(s))
    before = s.get(METRICS).body

    def good(i):
        x = np.array([[float(i)], [float(i) + 0.5]], np.float32)
        if i % 3 == 0:
            r = s.post("/v1/models/hpt:predict", {"instances": x.tolist()})
            if r.status != 200:
                return "REST %d %s" % (r.status, r.body)
            y = np.array(r.json()["predictions"], np.float32)
        else:
            try:
                y = gc.to_numpy(client.Predict(predict_request(x), timeout=30).outputs["y"])
            except grpc.RpcError as e:
                return "gRPC %s %s" % (e.code(), e.details())
        return None if np.array_equal(y, 0.5 * x + 2) else "wrong rows %r for %r" % (y, x)

    def bad(i):
        kind = i % 3
        if kind == 0:
            req = predict_request([[1], [2]], dtype="int32")  # wrong dtype
        elif kind == 1:
            req = predict_request([[1.0, 2.0, 3.0]])  # wrong inner dim: [1, 3] for [-1, 1]
        else:
            req = predict_request([1.0, 2.0])  # wrong rank
        try:
            client.Predict(req, timeout=30)
            return kind == 0 and "int32 request succeeded"
        except grpc.RpcError as e:
            return None if e.code() == grpc.StatusCode.INVALID_ARGUMENT or kind != 0 else "bad: %s" % e.code()

    n = 240
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        results = list(ex.map(lambda i: ("bad", bad(i)) if i % 4 == 3 else ("good", good(i)), range(n)))
    client.close()
    good_failures = [r for kind, r in results if kind == "good" and r]
    assert good_failures == [], "%d of %d good requests failed, e.g. %s" % (
        len(good_failures), sum(1 for k, _ in results if k == "good"), good_failures[:3])
    assert [r for kind, r in results if kind == "bad" and r] == []
    after = s.get(METRICS).body
    tasks = metric(after, TASKS) - metric(before, TASKS)
    runs = metric(after, BATCH_RUNS) - metric(before, BATCH_RUNS)
    assert tasks == n * 3 // 4  # every good request went through the batcher, no bad one did
    assert 0 < runs < tasks  # and good requests still shared batches


def test_expired_requests_do_not_run(model_servers, hpt_base, tmp_path):
    """A 400 ms batch window and calls with a 100 ms deadline: every call expires while it
    waits, leaves its batch and costs no run; a call without a deadline still runs."""
    s = batching(model_servers, hpt_base, tmp_path,
                 "max_batch_size { value: 64 } batch_timeout_micros { value: 400000 } "
                 "max_enqueued_batches { value: 1000 } num_batch_threads { value: 1 }")
    client = gc.Client("127.0.0.1:%d" % grpc_port(s))
    before = s.get(METRICS).body

    def expiring(i):
        try:
            client.Predict(predict_request([[float(i)]]), timeout=0.1)
            return "answered"
        except grpc.RpcError as e:
            return None if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED else str(e.code())

    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        assert list(ex.map(expiring, range(10))) == [None] * 10
    # the server side let them go (or is about to): give the batch window time to pass
    import time
    time.sleep(0.6)
    mid = s.get(METRICS).body
    assert metric(mid, BATCH_RUNS) - metric(before, BATCH_RUNS) == 0
    assert metric(mid, TASKS) - metric(before, TASKS) == 0
    resp = client.Predict(predict_request([[4.0]]), timeout=30)
    assert list(gc.to_numpy(resp.outputs["y"]).ravel()) == [4.0]
    after = s.get(METRICS).body
    assert metric(after, BATCH_RUNS) - metric(before, BATCH_RUNS) == 1
    client.close()
