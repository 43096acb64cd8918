"""test_partial_signatures.py — a model whose signatures partly need unsupported ops still serves the
others; the failed signature answers FAILED_PRECONDITION (REST 400 with TF Serving's error body,
gRPC status) naming every missing op; a model none of whose signatures can be served fails to
load, and the server says why (all missing ops in one line) in its log.

Models: partial_ops / unsupported_ops from tools/gen_models.py (see its docstring). The servable
signature computes y = 2x, so expected values are exact.
"""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from conftest import TENSORD_BIN  # noqa: E402
import grpc_client as gc  # noqa: E402

grpc = pytest.importorskip("grpc")


def rest(port, path, body):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())


@pytest.fixture(scope="module")
def partial(tensord, generated_models):
    s = gc.start_tensord(TENSORD_BIN, "partial", os.path.join(generated_models, "partial_ops"), rest=True, timeout=30)
    assert s is not None, "tensord did not serve partial_ops"
    c = gc.Client(s.target)
    yield s, c
    c.close()
    assert s.stop() == 0, s.proc.stderr.read().decode(errors="replace")[-3000:]


def test_servable_signature_answers(partial):
    s, c = partial
    x = [[1.0], [-2.5], [0.25]]
    code, body = rest(s.rest_port, "/v1/models/partial:predict", {"instances": x})
    assert code == 200, body
    assert body["predictions"] == [[2.0], [-5.0], [0.5]]
    pb = gc.protos()
    req = pb.PredictRequest()
    gc.model_spec(req.model_spec, "partial")
    req.inputs["x"].CopyFrom(gc.tensor(np.array(x, np.float32)))
    y = gc.to_numpy(c.Predict(req, timeout=10).outputs["y"])
    np.testing.assert_array_equal(y, np.float32(2.0) * np.array(x, np.float32))


def test_failed_signature_is_failed_precondition(partial):
    s, c = partial
    code, body = rest(s.rest_port, "/v1/models/partial:predict",
                      {"signature_name": "needs_missing", "instances": [[1.0]]})
    assert code == 400, body
    err = body["error"]
    assert "Signature 'needs_missing' cannot be served: Op type not registered" in err
    assert "'TdMissingOpA'" in err and "'TdMissingOpB'" in err
    pb = gc.protos()
    req = pb.PredictRequest()
    gc.model_spec(req.model_spec, "partial", signature="needs_missing")
    req.inputs["x"].CopyFrom(gc.tensor(np.array([[1.0]], np.float32)))
    with pytest.raises(grpc.RpcError) as e:
        c.Predict(req, timeout=10)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert e.value.details() == err


def test_load_fails_with_every_missing_op(tensord, generated_models, tmp_path):
    """No servable signature: the version fails to load, and the server's log names all the
    missing ops in one error (whatever the server then does without a servable model)."""
    log = tmp_path / "tensord.log"
    with open(log, "w") as f:
        proc = subprocess.Popen([TENSORD_BIN, "--port=%d" % gc.free_port(), "--rest_api_port=%d" % gc.free_port(),
                                 "--model_name=bad", "--model_base_path=" + os.path.join(generated_models, "unsupported_ops"),
                                 "--file_system_poll_wait_seconds=0"], stdout=f, stderr=subprocess.STDOUT)
    try:
        deadline, line = time.time() + 20, None
        while time.time() < deadline and line is None:
            line = next((l for l in log.read_text().splitlines() if "Op type not registered" in l), None)
            if line is None:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        assert line is not None, log.read_text()
        assert "Loading servable: {name: bad version: 1} failed" in line
        for op in ("TdMissingOpA", "TdMissingOpB", "TdMissingOpC"):
            assert "'%s'" % op in line, line
        assert "tensord has no kernel for these ops" in line
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # a server still waiting for its first version may not
                proc.kill()                    # stop on SIGTERM (server behaviour, not this test's subject)
                proc.wait()
    assert proc.returncode >= 0 or proc.returncode == -9, "tensord died of signal %d" % -proc.returncode
