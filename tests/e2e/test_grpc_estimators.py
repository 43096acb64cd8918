"""The iris estimators over gRPC, as the seed's demo client uses them: iris_estimator_raw
Predict with 1000 rows in one request (4 float feature tensors), and iris_iiithf Classify with
tf.Examples — answers must agree with the REST API on the same server."""
import csv
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

RAW = os.path.join(FIXTURES, "models", "iris_estimator_raw")
EXAMPLE = os.path.join(FIXTURES, "models", "iris_iiithf")
IRIS_CSV = os.path.join(FIXTURES, "datasets", "iris.csv")
NAMES = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
CSV_COLS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
SPECIES = ["setosa", "versicolor", "virginica"]


def rows():
    if not os.path.isfile(IRIS_CSV):
        pytest.skip("iris.csv absent (../shared not beside the checkout)")
    with open(IRIS_CSV) as f:
        return list(csv.DictReader(f))


def start(name, base):
    if not os.path.isdir(base):
        pytest.skip("fixture model absent: %s" % base)
    s = gc.start_tensord(TENSORD_BIN, name, base, rest=True, timeout=20)
    if s is None:
        pytest.skip("tensord at %s does not serve gRPC" % TENSORD_BIN)
    return s


def rest_post(s, path, body):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (s.rest_port, path), data=json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def test_iris_raw_1000_rows_in_one_predict():
    data = rows()
    rng = np.random.RandomState(7)
    pick = rng.randint(0, len(data), 1000)
    x = np.array([[float(data[i][c]) for c in CSV_COLS] for i in pick], np.float32)
    truth = np.array([SPECIES.index(data[i]["species"]) for i in pick])
    pb = gc.protos()
    s = start("iris", RAW)
    c = gc.Client(s.target)
    try:
        req = pb.PredictRequest()
        gc.model_spec(req.model_spec, "iris", signature="predict")
        for i, n in enumerate(NAMES):
            req.inputs[n].CopyFrom(gc.tensor(x[:, i], content=True))
        resp = c.Predict(req, timeout=30)
        ids = gc.to_numpy(resp.outputs["class_ids"]).ravel()
        probs = gc.to_numpy(resp.outputs["probabilities"])
        assert probs.shape == (1000, 3)
        acc = float(np.mean(ids == truth))
        print("iris_estimator_raw over gRPC: accuracy %.4f on 1000 rows" % acc)
        assert acc >= 0.9
        rest = rest_post(s, "/v1/models/iris:predict",
                         {"signature_name": "predict", "inputs": {n: x[:50, i].tolist() for i, n in enumerate(NAMES)}})
        assert np.allclose(np.array(rest["outputs"]["probabilities"]), probs[:50], rtol=1e-6, atol=1e-7)
    finally:
        c.close()
        assert s.stop() == 0


def test_iris_example_classify_matches_rest():
    data = rows()
    pb = gc.protos()
    s = start("iris_ex", EXAMPLE)
    c = gc.Client(s.target)
    try:
        req = pb.ClassificationRequest()
        gc.model_spec(req.model_spec, "iris_ex")
        feats = [{k.replace("_", "-"): float(r[k]) for k in CSV_COLS} for r in data]
        for f in feats:
            req.input.example_list.examples.add().CopyFrom(gc.example(**f))
        resp = c.Classify(req, timeout=30)
        got = [[(cl.label, cl.score) for cl in ex.classes] for ex in resp.result.classifications]
        assert len(got) == len(data)
        top = [max(g, key=lambda t: t[1])[0] for g in got]
        acc = float(np.mean([t == "Iris-" + r["species"] for t, r in zip(top, data)]))
        print("iris_iiithf over gRPC Classify: accuracy %.4f on %d flowers" % (acc, len(data)))
        assert acc >= 0.9
        rest = rest_post(s, "/v1/models/iris_ex:classify", {"examples": feats[:20]})["results"]
        for g, r in zip(got[:20], rest):
            assert [lab for lab, _ in r] == [lab for lab, _ in g]
            assert np.allclose([sc for _, sc in r], [sc for _, sc in g], rtol=1e-6)
        assert resp.model_spec.name == "iris_ex" and resp.model_spec.version.value == 1
    finally:
        c.close()
        assert s.stop() == 0
