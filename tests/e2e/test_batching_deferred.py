"""test_batching_deferred.py — deferred gRPC replies with --enable_batching (issue 14, point 2),
on the real binary.

A batched gRPC Predict no longer holds a worker thread while it waits in its batch: with
--grpc_max_threads=2, 200 concurrent one-row Predicts all get their own rows back (0.5 * x + 2,
matrix_half_plus_two, computed with numpy) and the processed_batch_size histogram shows
batches of more than 2 rows — impossible while each waiting call held one of the 2 workers.
SIGTERM while such calls wait in a long batch window answers every one of them (drain);
a drain deadline that passes first ends them CANCELLED or UNAVAILABLE, and the server still
exits 0 with no sanitizer report.

REST the same way: with --rest_api_num_threads=2, 48 concurrent one-row REST predicts are all
answered with their own rows and batches of more than 2 rows form (a waiting request's
connection is suspended instead of holding one of the 2 HTTP threads); SIGTERM with REST
requests in a 30 s window and a 1 s drain answers them all (the batcher is flushed at stop).
"""

import json
import os
import re
import signal
import sys
import threading
import time

import grpc
import numpy as np
import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_client as gc  # noqa: E402
from conftest import FIXTURES  # noqa: E402

MATRIX = os.path.join(FIXTURES, "tfserving_testdata", "_extra_batching_testdata", "matrix_half_plus_two")
METRICS = "/monitoring/prometheus/metrics"
HIST = ":tensorflow:serving:batching_session:processed_batch_size"
BAD_OUTPUT = ("AddressSanitizer", "runtime error:", "assertion failed", "LeakSanitizer")

pytestmark = pytest.mark.skipif(not os.path.isdir(MATRIX), reason="fixtures absent")


def batching_args(tmp_path, timeout_micros, extra=()):
    p = tmp_path / "batching.txt"
    p.write_text("max_batch_size { value: 256 } batch_timeout_micros { value: %d } "
                 "max_enqueued_batches { value: 1000 } num_batch_threads { value: 1 }" % timeout_micros)
    return ["--enable_batching", "--batching_parameters_file=%s" % p, "--grpc_max_threads=2"] + list(extra)


def grpc_port(server):
    return int([a for a in server.args if a.startswith("--port=")][0].split("=")[1])


def batches_over(text, rows):
    """How many batches of more than `rows` rows the processed_batch_size histogram counts."""
    total = re.search(r"^%s_count(?:\{\})? (\S+)$" % re.escape(HIST), text, re.M)
    assert total, "no %s histogram in the metrics" % HIST
    at_most = 0.0
    for le, v in re.findall(r'^%s_bucket\{le="([^"]+)"\} (\S+)$' % re.escape(HIST), text, re.M):
        if le != "+Inf" and float(le) <= rows:
            at_most = max(at_most, float(v))
    return float(total.group(1)) - at_most


def predict_futures(port, n, timeout):
    """n one-row Predicts in flight at once over 4 channels: [(x, future)]."""
    pb = gc.protos()
    clients = [gc.Client("127.0.0.1:%d" % port) for _ in range(4)]
    calls = []
    for i in range(n):
        x = np.arange(9, dtype=np.float32).reshape(1, 3, 3) + 10 * i
        req = pb.PredictRequest()
        gc.model_spec(req.model_spec, "matrix")
        req.inputs["x"].CopyFrom(gc.tensor(x, content=True))
        calls.append((x, clients[i % 4].Predict.future(req, timeout=timeout)))
    return clients, calls


def test_200_calls_wait_without_threads(model_servers, tmp_path):
    # 20 ms windows: the calls that arrive while one runs wait in the next batch, without threads
    s = model_servers("matrix", MATRIX, batching_args(tmp_path, 20000))
    port = grpc_port(s)
    clients, calls = predict_futures(port, 200, 60)
    for x, f in calls:
        y = gc.to_numpy(f.result().outputs["y"])
        np.testing.assert_array_equal(y, 0.5 * x + 2)
    for c in clients:
        c.close()
    text = s.get(METRICS).body
    assert batches_over(text, 2) > 0, text
    # other methods and an unbatched error still answer on the synchronous path
    pb = gc.protos()
    client = gc.Client("127.0.0.1:%d" % port)
    req = pb.GetModelStatusRequest()
    req.model_spec.name = "matrix"
    assert client.GetModelStatus(req, timeout=10).model_version_status[0].state == 30  # AVAILABLE
    bad = pb.PredictRequest()
    gc.model_spec(bad.model_spec, "matrix")
    bad.inputs["x"].CopyFrom(gc.tensor(np.zeros((300, 3, 3), np.float32), content=True))
    with pytest.raises(grpc.RpcError) as e:
        client.Predict(bad, timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Task size 300 is larger than maximum input batch size 256" in e.value.details()
    client.close()


def test_deadline_expires_in_the_batch_window(model_servers, tmp_path):
    s = model_servers("matrix", MATRIX, batching_args(tmp_path, 1000000))
    pb = gc.protos()
    client = gc.Client("127.0.0.1:%d" % grpc_port(s))
    req = pb.PredictRequest()
    gc.model_spec(req.model_spec, "matrix")
    req.inputs["x"].CopyFrom(gc.tensor(np.ones((1, 3, 3), np.float32), content=True))
    with pytest.raises(grpc.RpcError) as e:
        client.Predict(req, timeout=0.2)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # the server is still fine: a call with room for the window succeeds
    y = gc.to_numpy(client.Predict(req, timeout=30).outputs["y"])
    np.testing.assert_array_equal(y, np.full((1, 3, 3), 2.5, np.float32))
    client.close()


def sigterm_and_wait(s, timeout=60):
    s.proc.send_signal(signal.SIGTERM)
    rc = s.proc.wait(timeout)
    out = s.output()
    assert rc == 0, "exit code %d:\n%s" % (rc, out[-4000:])
    for bad in BAD_OUTPUT:
        assert bad not in out, out[-4000:]


def test_sigterm_answers_deferred_calls(model_servers, tmp_path):
    # every call waits in one 1.5 s window when the signal lands; the drain answers them all
    s = model_servers("matrix", MATRIX, batching_args(tmp_path, 1500000, ["--drain_timeout_seconds=60"]))
    clients, calls = predict_futures(grpc_port(s), 100, 60)
    time.sleep(0.5)
    sigterm_and_wait(s)
    for x, f in calls:
        np.testing.assert_array_equal(gc.to_numpy(f.result().outputs["y"]), 0.5 * x + 2)
    for c in clients:
        c.close()


def test_drain_deadline_cancels_deferred_calls(model_servers, tmp_path):
    # a 30 s window outlasts the 1 s drain: the calls end CANCELLED/UNAVAILABLE (or answered),
    # never hang, and the server exits 0 well before the window would have closed
    s = model_servers("matrix", MATRIX, batching_args(tmp_path, 30000000, ["--drain_timeout_seconds=1"]))
    clients, calls = predict_futures(grpc_port(s), 50, 60)
    time.sleep(0.5)
    start = time.time()
    sigterm_and_wait(s, timeout=25)
    assert time.time() - start < 20
    ok = (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
    for x, f in calls:
        try:
            np.testing.assert_array_equal(gc.to_numpy(f.result(timeout=30).outputs["y"]), 0.5 * x + 2)
        except grpc.RpcError as e:
            assert e.code() in ok, e
    for c in clients:
        c.close()


def rest_predicts(server, n, timeout=60):
    """n one-row REST predicts sent at once (one thread each): [(x, status, body)]."""
    results = [None] * n

    def one(i):
        x = (np.arange(9, dtype=np.float32).reshape(1, 3, 3) + 10 * i)
        try:
            r = requests.post("http://127.0.0.1:%d/v1/models/matrix:predict" % server.rest_port,
                              data=json.dumps({"instances": x.tolist()}), timeout=timeout)
            results[i] = (x, r.status_code, r.text)
        except Exception as e:  # recorded, asserted below
            results[i] = (x, None, repr(e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    return ts, results


def assert_rest_rows(ts, results):
    for t in ts:
        t.join(90)
    for x, status, body in results:
        assert status == 200, body
        np.testing.assert_array_equal(np.array(json.loads(body)["predictions"], np.float32), 0.5 * x + 2)


def test_rest_requests_wait_without_threads(model_servers, tmp_path):
    # 50 ms windows; 48 requests > 2 HTTP threads: batches of more than 2 rows form only if
    # waiting requests hold no thread
    s = model_servers("matrix", MATRIX, batching_args(tmp_path, 50000, ["--rest_api_num_threads=2"]))
    ts, results = rest_predicts(s, 48)
    assert_rest_rows(ts, results)
    text = s.get(METRICS).body
    assert batches_over(text, 2) > 0, text
    # errors are still answered synchronously, and the server keeps serving
    bad = s.request("POST", "/v1/models/matrix:predict", json.dumps({"inputs": {"nope": [1.0]}}))
    assert bad.status == 400 and "Missing named input: x" in bad.body, bad.body
    ok = s.request("POST", "/v1/models/matrix:predict", json.dumps({"instances": [[[0.0] * 3] * 3]}))
    assert ok.status == 200 and json.loads(ok.body)["predictions"] == [[[2.0] * 3] * 3], ok.body


def test_sigterm_answers_deferred_rest_requests(model_servers, tmp_path):
    # a 30 s window outlasts the 1 s drain: stopping flushes the batcher, so every waiting REST
    # request is answered and the server exits 0 long before the window would have closed
    s = model_servers("matrix", MATRIX, batching_args(tmp_path, 30000000,
                                                      ["--rest_api_num_threads=2", "--drain_timeout_seconds=1"]))
    ts, results = rest_predicts(s, 16)
    time.sleep(0.7)
    start = time.time()
    sigterm_and_wait(s, timeout=25)
    assert time.time() - start < 20
    assert_rest_rows(ts, results)
