"""test_health.py — the standard grpc.health.v1.Health service on the gRPC port (issue 12,
point 7): Check and Watch for "" and tensorflow.serving.PredictionService follow readiness
(SERVING with the model loaded, NOT_SERVING once draining); unknown services are NOT_FOUND
(Check) / SERVICE_UNKNOWN (Watch); a Watch stream sees NOT_SERVING on SIGTERM, then ends.

Messages are written by hand from health.proto's field table (HealthCheckRequest{string
service = 1}, HealthCheckResponse{ServingStatus status = 1}; SERVING = 1, NOT_SERVING = 2,
SERVICE_UNKNOWN = 3) and sent through grpcio's generic calls.
"""

import os
import signal
import subprocess
import sys
import time

import grpc
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_client as gc  # noqa: E402
from conftest import FIXTURES, free_port  # noqa: E402

HPT = os.path.join(FIXTURES, "tfserving_testdata", "saved_model_half_plus_two_cpu")
MATRIX = os.path.join(FIXTURES, "tfserving_testdata", "_extra_batching_testdata", "matrix_half_plus_two")
CHECK = "/grpc.health.v1.Health/Check"
WATCH = "/grpc.health.v1.Health/Watch"
SERVING, NOT_SERVING, SERVICE_UNKNOWN = 1, 2, 3

pytestmark = pytest.mark.skipif(not os.path.isdir(HPT), reason="fixtures absent")


def request(service):
    data = service.encode()
    assert len(data) < 128
    return (b"\x0a" + bytes([len(data)]) + data) if data else b""


def status_of(response):
    if response == b"":
        return 0  # UNKNOWN, the proto3 default, is not written
    assert len(response) == 2 and response[0] == 0x08, response
    return response[1]


@pytest.fixture
def server(tensord, tmp_path):
    procs = []

    def start(base=HPT, name="hpt", extra=()):
        port = free_port()
        log = open(str(tmp_path / ("tensord_%d.log" % port)), "w")
        p = subprocess.Popen([tensord, "--port=%d" % port, "--model_name=" + name, "--model_base_path=" + base]
                             + list(extra), stdout=log, stderr=subprocess.STDOUT)
        procs.append(p)
        assert gc.wait_grpc("127.0.0.1:%d" % port, p, 60)
        return p, grpc.insecure_channel("127.0.0.1:%d" % port)

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_check(server):
    _, ch = server()
    check = ch.unary_unary(CHECK)
    assert status_of(check(request(""), timeout=10)) == SERVING
    assert status_of(check(request("tensorflow.serving.PredictionService"), timeout=10)) == SERVING
    with pytest.raises(grpc.RpcError) as e:
        check(request("no.such.Service"), timeout=10)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:  # a malformed request is not a crash
        check(b"\x0a\x10abc", timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    ch.close()


def test_watch_unknown_service(server):
    _, ch = server()
    it = ch.unary_stream(WATCH)(request("no.such.Service"), timeout=10)
    assert status_of(next(it)) == SERVICE_UNKNOWN
    it.cancel()
    ch.close()


def test_watch_and_check_follow_the_drain(server, tmp_path):
    if not os.path.isdir(MATRIX):
        pytest.skip("fixtures absent")
    params = tmp_path / "batching.txt"  # a call held 2 s in a batch keeps the drain going
    params.write_text("max_batch_size { value: 8 } batch_timeout_micros { value: 2000000 } "
                      "num_batch_threads { value: 1 }")
    proc, ch = server(MATRIX, "matrix", ["--enable_batching", "--batching_parameters_file=%s" % params])
    watch = ch.unary_stream(WATCH)(request(""), timeout=30)
    assert status_of(next(watch)) == SERVING
    pb = gc.protos()
    import numpy as np
    req = pb.PredictRequest()
    gc.model_spec(req.model_spec, "matrix")
    req.inputs["x"].CopyFrom(gc.tensor(np.ones((1, 3, 3), np.float32), content=True))
    predict = ch.unary_unary(gc.PREDICTION + "Predict", request_serializer=pb.PredictRequest.SerializeToString,
                             response_deserializer=pb.PredictResponse.FromString)
    slow = predict.future(req, timeout=30)
    time.sleep(0.3)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    assert status_of(next(watch)) == NOT_SERVING
    assert time.time() - t0 < 2
    assert status_of(ch.unary_unary(CHECK)(request(""), timeout=5)) == NOT_SERVING
    np.testing.assert_array_equal(gc.to_numpy(slow.result(timeout=30).outputs["y"]), np.full((1, 3, 3), 2.5))
    with pytest.raises(grpc.RpcError) as e:  # the stream ends when the server goes
        next(watch)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert proc.wait(30) == 0
    ch.close()
