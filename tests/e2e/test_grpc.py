"""test_grpc.py — tensord's gRPC API as a real TensorFlow Serving client sees it (grpcio +
protoc-generated messages, see grpc_client.py): Predict (typed values, tensor_content, scalars,
DT_STRING in and out, large messages, concurrency), MNIST accuracy, Classify / Regress /
MultiInference with tf.Examples, GetModelMetadata, GetModelStatus, TF Serving's error codes,
and REST/gRPC agreement.

Servers: `tensord --port=P --model_name=.. --model_base_path=..` (TENSORD_BIN).
"""

import json
import os
import struct
import sys
import threading
import urllib.request

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import FIXTURES, TENSORD_BIN  # noqa: E402
import grpc_client as gc  # noqa: E402

grpc = pytest.importorskip("grpc")

HPT = os.path.join(FIXTURES, "tfserving_testdata", "saved_model_half_plus_two_cpu")
MNIST = os.path.join(FIXTURES, "models", "mnist_seoinjae")
IRIS = os.path.join(FIXTURES, "models", "iris_estimator_raw")
DATASETS = os.path.join(FIXTURES, "datasets")


def serve(name, base, tensor_content=False, rest=False):
    """`tensord --port=.. [--rest_api_port=..]` serving base as `name` (skips when the fixture is absent)."""
    if not os.path.isdir(base):
        pytest.skip("fixture model absent: %s" % base)
    extra = ["--enable_serialization_as_tensor_content=true"] if tensor_content else []
    s = gc.start_tensord(TENSORD_BIN, name, base, extra=extra, rest=rest, timeout=30)
    assert s is not None, "tensord at %s did not answer gRPC" % TENSORD_BIN
    return s


def check_stopped(s):
    """Stops the server; it must exit cleanly (0: no crash, no sanitizer report)."""
    rc = s.stop()
    assert rc == 0, "server exited with %d:\n%s" % (rc, s.proc.stderr.read().decode(errors="replace")[-3000:])


@pytest.fixture(scope="module")
def pb():
    return gc.protos()


@pytest.fixture(scope="module")
def hpt():
    s = serve("half_plus_two", HPT)
    c = gc.Client(s.target)
    yield c
    c.close()
    check_stopped(s)


def predict_request(pb, name, inputs, signature=None, version=None, label=None, output_filter=()):
    req = pb.PredictRequest()
    gc.model_spec(req.model_spec, name, version=version, label=label, signature=signature)
    for k, v in inputs.items():
        req.inputs[k].CopyFrom(v)
    req.output_filter.extend(output_filter)
    return req


def error_of(fn, *args, **kw):
    with pytest.raises(grpc.RpcError) as e:
        fn(*args, **kw)
    return e.value.code(), e.value.details()


# ---- Predict ----

@pytest.mark.parametrize("content", [False, True])
def test_predict_half_plus_two(pb, hpt, content):
    x = np.array([[1.0], [2.0], [5.0]], np.float32)
    resp = hpt.Predict(predict_request(pb, "half_plus_two", {"x": gc.tensor(x, content=content)}), timeout=10)
    assert resp.model_spec.name == "half_plus_two"
    assert resp.model_spec.version.value == 123
    assert resp.model_spec.signature_name == "serving_default"
    assert list(resp.outputs) == ["y"]
    y = resp.outputs["y"]
    assert y.dtype == pb.DT_FLOAT and not y.tensor_content  # typed fields by default
    np.testing.assert_array_equal(gc.to_numpy(y), [[2.5], [3.0], [4.5]])


def test_predict_scalar_without_shape(pb, hpt):
    t = pb.TensorProto(dtype=pb.DT_FLOAT, float_val=[2.0])  # no tensor_shape = scalar
    resp = hpt.Predict(predict_request(pb, "half_plus_two", {"x": t}), timeout=10)
    y = resp.outputs["y"]
    assert y.HasField("tensor_shape") and len(y.tensor_shape.dim) == 0
    assert list(y.float_val) == [3.0]


def test_predict_version_and_label_and_filter(pb, hpt):
    x = gc.tensor(np.array([[4.0]], np.float32))
    resp = hpt.Predict(predict_request(pb, "half_plus_two", {"x": x}, version=123, output_filter=["y"]), timeout=10)
    assert gc.to_numpy(resp.outputs["y"]).tolist() == [[4.0]]
    code, msg = error_of(hpt.Predict, predict_request(pb, "half_plus_two", {"x": x}, output_filter=["nope"]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "output tensor alias not found in signature: nope" in msg


def test_predict_string_input(pb, hpt):
    """DT_STRING input: serialized tf.Examples into the classify signature through Predict."""
    exs = [gc.example(x=20.0).SerializeToString(), gc.example(x=10.0).SerializeToString()]
    req = predict_request(pb, "half_plus_two", {"inputs": gc.tensor(np.array(exs, dtype=object))},
                          signature="classify_x_to_y")
    resp = hpt.Predict(req, timeout=10)
    assert resp.model_spec.signature_name == "classify_x_to_y"
    np.testing.assert_array_equal(gc.to_numpy(resp.outputs["scores"]), [[12.0], [7.0]])


def test_predict_large_message(pb, hpt):
    """Bigger than gRPC's 4 MiB default: the server accepts up to INT32_MAX like TF Serving."""
    x = np.arange(2_000_000, dtype=np.float32).reshape(-1, 1)  # 8 MB
    resp = hpt.Predict(predict_request(pb, "half_plus_two", {"x": gc.tensor(x, content=True)}), timeout=30)
    y = gc.to_numpy(resp.outputs["y"])
    assert y.shape == (2_000_000, 1) and y[10, 0] == 7.0 and y[-1, 0] == np.float32(0.5 * 1999999 + 2)


def test_predict_concurrent(pb, hpt):
    errors, results = [], {}

    def worker(k):
        try:
            for i in range(15):
                v = float(k * 100 + i)
                resp = hpt.Predict(predict_request(pb, "half_plus_two", {"x": gc.tensor(np.array([[v]], np.float32))}),
                                   timeout=20)
                results[(k, i)] = gc.to_numpy(resp.outputs["y"])[0, 0] == 0.5 * v + 2
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 120 and all(results.values())


# ---- Classify / Regress / MultiInference ----

def example_request(cls, pb, signature, examples, context=None):
    req = cls()
    gc.model_spec(req.model_spec, "half_plus_two", signature=signature)
    if context is None:
        req.input.example_list.examples.extend(examples)
    else:
        req.input.example_list_with_context.examples.extend(examples)
        req.input.example_list_with_context.context.CopyFrom(context)
    return req


def test_regress_and_classify(pb, hpt):
    resp = hpt.Regress(example_request(pb.RegressionRequest, pb, "regress_x_to_y", [gc.example(x=80.0)]), timeout=10)
    assert [r.value for r in resp.result.regressions] == [42.0]
    assert resp.model_spec.signature_name == "regress_x_to_y" and resp.model_spec.version.value == 123
    resp = hpt.Classify(example_request(pb.ClassificationRequest, pb, "classify_x_to_y",
                                        [gc.example(x=20.0), gc.example(x=10.0)]), timeout=10)
    assert [[(c.label, c.score) for c in cl.classes] for cl in resp.result.classifications] == [[("", 12.0)], [("", 7.0)]]


def test_regress_with_context(pb, hpt):
    # the example's own x wins over the context's (proto merge), empty examples take the context's
    req = example_request(pb.RegressionRequest, pb, "regress_x_to_y", [gc.example(x=80.0), pb.Example()],
                          context=gc.example(x=20.0))
    resp = hpt.Regress(req, timeout=10)
    assert [r.value for r in resp.result.regressions] == [42.0, 12.0]


def test_multi_inference(pb, hpt):
    req = pb.MultiInferenceRequest()
    for sig, method in (("regress_x_to_y", "regress"), ("classify_x_to_y", "classify")):
        t = req.tasks.add()
        gc.model_spec(t.model_spec, "half_plus_two", signature=sig)
        t.method_name = "tensorflow/serving/" + method
    req.input.example_list.examples.extend([gc.example(x=80.0)])
    resp = hpt.MultiInference(req, timeout=10)
    assert resp.results[0].regression_result.regressions[0].value == 42.0
    assert resp.results[1].classification_result.classifications[0].classes[0].score == 42.0
    req.tasks[1].model_spec.name = "other"
    code, msg = error_of(hpt.MultiInference, req)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "same model name" in msg
    req.tasks[1].model_spec.name = "half_plus_two"
    req.tasks[1].method_name = "tensorflow/serving/predict"
    code, msg = error_of(hpt.MultiInference, req)
    assert code == grpc.StatusCode.UNIMPLEMENTED


# ---- metadata / status ----

def test_get_model_metadata(pb, hpt):
    req = pb.GetModelMetadataRequest(metadata_field=["signature_def"])
    req.model_spec.name = "half_plus_two"
    resp = hpt.GetModelMetadata(req, timeout=10)
    assert resp.model_spec.name == "half_plus_two" and resp.model_spec.version.value == 123
    anyv = resp.metadata["signature_def"]
    assert anyv.type_url == "type.googleapis.com/tensorflow.serving.SignatureDefMap"
    m = pb.SignatureDefMap.FromString(anyv.value)
    with open(os.path.join(FIXTURES, "tfserving_testdata", "half_plus_two_model_metadata.json")) as f:
        want = json.load(f)["metadata"]["signature_def"]["signature_def"]
    assert sorted(m.signature_def) == sorted(want)
    assert m.signature_def["serving_default"].inputs["x"].name == want["serving_default"]["inputs"]["x"]["name"]
    req.metadata_field[:] = ["bogus"]
    assert error_of(hpt.GetModelMetadata, req) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                   "Metadata field bogus is not supported")


def test_get_model_status(pb, hpt):
    req = pb.GetModelStatusRequest()
    req.model_spec.name = "half_plus_two"
    resp = hpt.GetModelStatus(req, timeout=10)
    assert [(s.version, s.state, s.status.error_code) for s in resp.model_version_status] == [(123, 30, 0)]
    req.model_spec.version.value = 7
    assert error_of(hpt.GetModelStatus, req) == (grpc.StatusCode.NOT_FOUND,
                                                 "Could not find version 7 of model half_plus_two")


# ---- errors ----

def test_error_codes(pb, hpt):
    x = {"x": gc.tensor(np.array([[1.0]], np.float32))}
    cases = [
        (predict_request(pb, "nope", x), grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(nope)"),
        (predict_request(pb, "half_plus_two", x, version=7), grpc.StatusCode.NOT_FOUND,
         "Servable not found for request: Specific(half_plus_two, 7)"),
        (predict_request(pb, "half_plus_two", x, label="nolabel"), grpc.StatusCode.INVALID_ARGUMENT,
         "Unrecognized servable version label: nolabel"),
        (predict_request(pb, "half_plus_two", x, signature="nosig"), grpc.StatusCode.FAILED_PRECONDITION,
         'Serving signature key "nosig" not found.'),
        (predict_request(pb, "half_plus_two", {"z": x["x"]}), grpc.StatusCode.INVALID_ARGUMENT,
         "input tensor alias not found in signature: z. Inputs expected to be in the set {x}."),
        (pb.PredictRequest(), grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec"),
    ]
    for req, code, msg in cases:
        assert error_of(hpt.Predict, req, timeout=10) == (code, msg)
    bad = pb.TensorProto(dtype=pb.DT_FLOAT, float_val=[1, 2, 3])
    bad.tensor_shape.dim.add().size = 2
    assert error_of(hpt.Predict, predict_request(pb, "half_plus_two", {"x": bad})) == (
        grpc.StatusCode.INVALID_ARGUMENT, "tensor parsing error: x")
    req = example_request(pb.RegressionRequest, pb, "nosig", [gc.example(x=1.0)])
    assert error_of(hpt.Regress, req) == (grpc.StatusCode.INVALID_ARGUMENT,
                                          "No signature was found with the name: nosig")
    req = example_request(pb.ClassificationRequest, pb, "classify_x_to_y", [])
    assert error_of(hpt.Classify, req) == (grpc.StatusCode.INVALID_ARGUMENT, "Input is empty.")
    # an empty reload request changes nothing and succeeds, as in TF Serving
    assert hpt.HandleReloadConfigRequest(pb.ReloadConfigRequest()).status.error_code == 0
    with pytest.raises(grpc.RpcError) as e:
        hpt.raw("/tensorflow.serving.PredictionService/NoSuchMethod", b"")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


# ---- real models ----

def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows, cols)
    return np.frombuffer(data, np.uint8, offset=8)


def test_mnist_accuracy(pb):
    images = os.path.join(DATASETS, "mnist10k-images.idx3-ubyte")
    if not os.path.isfile(images):
        pytest.skip("MNIST IDX files absent")
    x = read_idx(images)[:1000].astype(np.float32) / 255.0
    labels = read_idx(os.path.join(DATASETS, "mnist10k-labels.idx1-ubyte"))[:1000]
    s = serve("mnist", MNIST)
    c = gc.Client(s.target)
    try:
        preds = []
        for i in range(0, 1000, 250):
            req = predict_request(pb, "mnist", {"flatten_input": gc.tensor(x[i:i + 250], content=True)})
            preds.append(gc.to_numpy(c.Predict(req, timeout=30).outputs["dense_1"]))
        acc = float(np.mean(np.argmax(np.concatenate(preds), axis=1) == labels))
        assert acc >= 0.97, acc
    finally:
        c.close()
        check_stopped(s)


def test_iris_string_outputs(pb):
    """iris_estimator_raw (predict signature only): DT_STRING and DT_INT64 outputs, tensor_content on."""
    s = serve("iris", IRIS, tensor_content=True)
    c = gc.Client(s.target)
    try:
        rows = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], np.float32)
        names = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
        req = predict_request(pb, "iris", {n: gc.tensor(rows[:, i]) for i, n in enumerate(names)}, signature="predict")
        resp = c.Predict(req, timeout=20)
        assert sorted(resp.outputs) == ["class_ids", "classes", "logits", "probabilities"]
        probs = resp.outputs["probabilities"]
        assert probs.tensor_content and not probs.float_val  # --enable_serialization_as_tensor_content
        p = gc.to_numpy(probs)
        assert p.shape == (2, 3) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
        classes = resp.outputs["classes"]
        assert classes.dtype == pb.DT_STRING and len(classes.string_val) == 2  # strings stay typed
        ids = gc.to_numpy(resp.outputs["class_ids"]).ravel().tolist()
        assert [b.decode() for b in classes.string_val] == [str(i) for i in ids]
    finally:
        c.close()
        check_stopped(s)


# ---- REST and gRPC agree ----

def test_rest_and_grpc_agree(pb):
    s = serve("half_plus_two", HPT, rest=True)
    c = gc.Client(s.target)
    try:
        x = [[1.0], [2.5], [-3.0]]
        g = gc.to_numpy(c.Predict(predict_request(pb, "half_plus_two", {"x": gc.tensor(np.array(x, np.float32))}),
                                  timeout=10).outputs["y"]).tolist()
        body = json.dumps({"instances": x}).encode()
        url = "http://127.0.0.1:%d/v1/models/half_plus_two:predict" % s.rest_port
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as r:
            rest = json.load(r)["predictions"]
        assert rest == g
        req = example_request(pb.RegressionRequest, pb, "regress_x_to_y", [gc.example(x=80.0)])
        g = [r.value for r in c.Regress(req, timeout=10).result.regressions]
        url = "http://127.0.0.1:%d/v1/models/half_plus_two:regress" % s.rest_port
        body = json.dumps({"signature_name": "regress_x_to_y", "examples": [{"x": 80.0}]}).encode()
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as r:
            assert json.load(r)["results"] == g
    finally:
        c.close()
        check_stopped(s)


def test_grpc_max_threads(pb):
    """--grpc_max_threads sets the number of gRPC worker threads (each serves one call at a time),
    so more calls can wait in batches; the server answers the same."""
    if not os.path.isdir(HPT):
        pytest.skip("fixture model absent: %s" % HPT)

    def threads(server):  # the gRPC workers, by the name tensord gives them
        task = "/proc/%d/task" % server.proc.pid
        names = []
        for t in os.listdir(task):
            with open(os.path.join(task, t, "comm")) as f:
                names.append(f.read().strip())
        return names.count("td-grpc-worker")

    counts = {}
    for n in (0, 12):
        s = gc.start_tensord(TENSORD_BIN, "hpt", HPT, extra=["--grpc_max_threads=%d" % n], timeout=30)
        assert s is not None
        try:
            client = gc.Client(s.target)
            req = pb.PredictRequest()
            gc.model_spec(req.model_spec, "hpt")
            req.inputs["x"].CopyFrom(gc.tensor([1.0, 2.0], dtype=np.float32))
            assert list(gc.to_numpy(client.Predict(req, timeout=10).outputs["y"])) == [2.5, 3.0]
            client.close()
            counts[n] = threads(s)
        finally:
            check_stopped(s)
    assert counts == {0: max(os.cpu_count() or 2, 2), 12: 12}, counts
