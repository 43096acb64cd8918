"""test_tflite.py — TFLite models served with --prefer_tflite_model (src/tflite/): TF Serving's
testPredictOnTfLite / testPredictWithSignatureDefOnTfLite ported to plain gRPC, the same models
over REST (predict + metadata) and KServe V2 infer, answers equal to the SavedModel twin's, the ParseExampleV2
model, and the flag's absence (a tflite-only version then has no SavedModel to load).

Servers: `tensord --port=.. --prefer_tflite_model=true ...` (TENSORD_BIN); skips when
../shared fixtures are absent. Expected values are hand-derived (y = 0.5·x + 2; ParseExample
defaults 0.0 / "missing").
"""

import json
import os
import sys
import urllib.request

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import FIXTURES, TENSORD_BIN  # noqa: E402
import grpc_client as gc  # noqa: E402

grpc = pytest.importorskip("grpc")

TD = os.path.join(FIXTURES, "tfserving_testdata")
HPT_TFLITE = os.path.join(TD, "saved_model_half_plus_two_tflite")
HPT_TFLITE_SIGDEF = os.path.join(TD, "saved_model_half_plus_two_tflite_with_sigdef")
PARSE_EXAMPLE = os.path.join(TD, "parse_example_tflite")
HPT_CPU = os.path.join(TD, "saved_model_half_plus_two_cpu")


def serve(base, name="default", tflite=True, rest=True):
    if not os.path.isdir(base):
        pytest.skip("fixture model absent: %s" % base)
    if not os.path.isfile(TENSORD_BIN):
        pytest.skip("tensord binary not found at %s" % TENSORD_BIN)
    extra = ["--prefer_tflite_model=true"] if tflite else []
    s = gc.start_tensord(TENSORD_BIN, name, base, extra=extra, rest=rest, timeout=30)
    assert s is not None, "tensord did not answer gRPC for %s" % base
    return s


def stop(s):
    rc = s.stop()
    assert rc == 0, "server exited with %d:\n%s" % (rc, s.proc.stderr.read().decode(errors="replace")[-3000:])


def rest(s, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (s.rest_port, path), data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def predict_request(pb, name, inputs, signature=None, output_filter=()):
    req = pb.PredictRequest()
    gc.model_spec(req.model_spec, name, signature=signature)
    for k, t in inputs.items():
        req.inputs[k].CopyFrom(t)
    req.output_filter.extend(output_filter)
    return req


@pytest.fixture(scope="module")
def pb():
    return gc.protos()


def verify_predict(pb, s, name="default"):
    """TF Serving's VerifyPredictRequest(expected_output=3.0, specify_output=False): x=[2.0]
    (shape [1]) → outputs {'y': [3.0]}, version 123."""
    c = gc.Client(s.target)
    try:
        resp = c.Predict(predict_request(pb, name, {"x": gc.tensor(np.array([2.0], np.float32))}), timeout=10)
    finally:
        c.close()
    assert list(resp.outputs) == ["y"]
    y = resp.outputs["y"]
    assert y.dtype == pb.DT_FLOAT
    assert gc.to_numpy(y).tolist() == [3.0]
    assert resp.model_spec.name == name and resp.model_spec.version.value == 123
    assert resp.model_spec.signature_name == "serving_default"


def test_predict_on_tflite(pb):
    """testPredictOnTfLite."""
    s = serve(HPT_TFLITE)
    try:
        verify_predict(pb, s)
    finally:
        stop(s)


def test_predict_with_signature_def_on_tflite(pb):
    """testPredictWithSignatureDefOnTfLite: the SignatureDef from signature_defs_metadata maps x to
    tensor tflite_input (stored as 'tflite_input:0') and y to 'y'."""
    s = serve(HPT_TFLITE_SIGDEF)
    try:
        verify_predict(pb, s)
        st, meta = rest(s, "GET", "/v1/models/default/metadata")
        assert st == 200
        sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
        assert sig["inputs"]["x"]["name"] == "tflite_input"
        assert sig["outputs"]["y"]["name"] == "y"
        assert sig["method_name"] == "tensorflow/serving/predict"
    finally:
        stop(s)


@pytest.mark.parametrize("base", [HPT_TFLITE, HPT_TFLITE_SIGDEF])
def test_tflite_equals_saved_model_twin(pb, base):
    """REST and gRPC answers of the TFLite model equal the SavedModel twin's (half_plus_two_cpu)."""
    xs = [[1.0], [2.0], [5.0], [-3.5]]
    twin = serve(HPT_CPU, tflite=False)
    try:
        st, want = rest(twin, "POST", "/v1/models/default:predict", {"instances": xs})
        assert st == 200
    finally:
        stop(twin)
    assert want["predictions"] == [[2.5], [3.0], [4.5], [0.25]]
    s = serve(base)
    try:
        st, got = rest(s, "POST", "/v1/models/default:predict", {"instances": xs})
        assert st == 200 and got == want
        st, got = rest(s, "POST", "/v1/models/default:predict", {"inputs": {"x": [1.0, 2.0, 3.0]}})
        assert st == 200 and got == {"outputs": [2.5, 3.0, 3.5]}
        # KServe V2 on the same port answers the same
        st, got = rest(s, "POST", "/v2/models/default/infer",
                       {"inputs": [{"name": "x", "shape": [4, 1], "datatype": "FP32", "data": [1, 2, 5, -3.5]}]})
        assert st == 200, got
        assert got["outputs"][0]["name"] == "y" and got["outputs"][0]["data"] == [2.5, 3.0, 4.5, 0.25]
        c = gc.Client(s.target)
        try:
            x = np.array(xs, np.float32)
            resp = c.Predict(predict_request(pb, "default", {"x": gc.tensor(x, content=True)}), timeout=10)
            np.testing.assert_array_equal(gc.to_numpy(resp.outputs["y"]), np.array(want["predictions"], np.float32))
        finally:
            c.close()
    finally:
        stop(s)


def test_tflite_default_signature_metadata():
    """No signature metadata: serving_default from subgraph 0 (keys = tensor names, shapes = dims)."""
    s = serve(HPT_TFLITE)
    try:
        st, meta = rest(s, "GET", "/v1/models/default/metadata")
        assert st == 200
        sigs = meta["metadata"]["signature_def"]["signature_def"]
        assert list(sigs) == ["serving_default"]
        x = sigs["serving_default"]["inputs"]["x"]
        assert x["name"] == "x" and x["dtype"] == "DT_FLOAT"
        assert [d["size"] for d in x["tensor_shape"]["dim"]] == ["1", "1"]
        assert sigs["serving_default"]["outputs"]["y"]["dtype"] == "DT_FLOAT"
        # a wrong dtype is rejected like any signature input
        st, err = rest(s, "POST", "/v1/models/default:predict", {"instances": ["a"]})
        assert st == 400 and "error" in err
    finally:
        stop(s)


def test_parse_example_tflite(pb):
    """ParseExampleV2 as a TFLite custom op: dense x (float, default 0.0) and y (string, default
    'missing'), outputs keyed by their tensor names."""
    s = serve(PARSE_EXAMPLE)
    try:
        exs = [gc.example(x=1.5).SerializeToString(), gc.example(y="hello").SerializeToString(),
               gc.example(x=-2.0, y="both").SerializeToString(), pb.Example().SerializeToString()]
        c = gc.Client(s.target)
        try:
            resp = c.Predict(predict_request(pb, "default", {"input": gc.tensor(np.array(exs, dtype=object))}),
                             timeout=10)
        finally:
            c.close()
        assert sorted(resp.outputs) == ["ParseExample/ParseExampleV2", "ParseExample/ParseExampleV2:1"]
        np.testing.assert_array_equal(gc.to_numpy(resp.outputs["ParseExample/ParseExampleV2"]),
                                      np.array([[1.5], [0.0], [-2.0], [0.0]], np.float32))
        assert gc.to_numpy(resp.outputs["ParseExample/ParseExampleV2:1"]).tolist() == \
            [[b"missing"], [b"hello"], [b"both"], [b"missing"]]
        st, meta = rest(s, "GET", "/v1/models/default/metadata")
        sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
        assert sig["inputs"]["input"]["name"] == "input" and sig["inputs"]["input"]["dtype"] == "DT_STRING"
        assert sig["outputs"]["ParseExample/ParseExampleV2"]["name"] == "ParseExample/ParseExampleV2"
        # REST: b64 strings
        import base64
        st, got = rest(s, "POST", "/v1/models/default:predict",
                       {"inputs": {"input": [{"b64": base64.b64encode(exs[2]).decode()}]}})
        assert st == 200, got
        assert got["outputs"]["ParseExample/ParseExampleV2"] == [[-2.0]]
        assert got["outputs"]["ParseExample/ParseExampleV2:1"] == [["both"]]
    finally:
        stop(s)


def test_without_flag_tflite_only_version_does_not_load():
    """Without --prefer_tflite_model the version dir holds no SavedModel: the load fails and the
    server exits at startup with the SavedModel reader's NOT_FOUND, as TF Serving does."""
    import subprocess
    if not os.path.isdir(HPT_TFLITE) or not os.path.isfile(TENSORD_BIN):
        pytest.skip("fixture or binary absent")
    r = subprocess.run([TENSORD_BIN, "--port=%d" % gc.free_port(), "--model_name=default",
                        "--model_base_path=%s" % HPT_TFLITE, "--file_system_poll_wait_seconds=0", "--max_num_load_retries=0"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode > 0, r.stderr[-2000:]
    assert "Could not find SavedModel .pb or .pbtxt" in r.stderr


def test_corrupt_tflite_fails_load_cleanly(tmp_path):
    """A truncated model.tflite is a load error naming the file (never a crash)."""
    import subprocess
    src = os.path.join(HPT_TFLITE, "00000123", "model.tflite")
    if not os.path.isfile(src) or not os.path.isfile(TENSORD_BIN):
        pytest.skip("fixture or binary absent")
    d = tmp_path / "m" / "1"
    d.mkdir(parents=True)
    with open(src, "rb") as f:
        (d / "model.tflite").write_bytes(f.read()[:300])
    # freshly written: model.tflite marks the version complete at once (no 5 s settling wait),
    # so the single poll of --file_system_poll_wait_seconds=0 loads it
    r = subprocess.run([TENSORD_BIN, "--port=%d" % gc.free_port(), "--model_name=default", "--prefer_tflite_model=true",
                        "--model_base_path=%s" % (tmp_path / "m"), "--file_system_poll_wait_seconds=0", "--max_num_load_retries=0"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode > 0, r.stderr[-2000:]
    assert "model.tflite" in r.stderr and ("DATA_LOSS" in r.stderr or "INVALID_ARGUMENT" in r.stderr), r.stderr[-2000:]
