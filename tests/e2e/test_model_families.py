"""test_model_families.py — the Keras / TF2 model families of the shared corpus (RNNs, embeddings,
TextVectorization, attention, ...) answer their published requests correctly over REST and gRPC.

Each ../shared/fixtures/models/NAME/extras/expected_output.txt holds `expected_json:` lines
(and `expected_json_long:` for request_long.json) whose values came from independent numpy
forward passes, several cross-checked against TensorFlow's printed outputs. For every such
model: serve it, POST extras/request*.json to :predict, follow the line's "path" into the JSON
answer and compare with "value" within "atol"; then send the same inputs as a gRPC
PredictRequest (dtypes from the SavedModel's signature) and require the same numbers.
A model missing from the corpus is not an error: the test list is read from the corpus.
"""
import glob
import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_client as gc  # noqa: E402
from conftest import FIXTURES  # noqa: E402

grpc = pytest.importorskip("grpc")


def _cases():
    out = []
    for exp in sorted(glob.glob(os.path.join(FIXTURES, "models", "*", "extras", "expected_output.txt"))):
        extras = os.path.dirname(exp)
        name = os.path.basename(os.path.dirname(extras))
        for line in open(exp, encoding="utf-8"):
            for key, req in (("expected_json:", "request.json"), ("expected_json_long:", "request_long.json")):
                if line.startswith(key) and os.path.isfile(os.path.join(extras, req)):
                    out.append(pytest.param(name, req, json.loads(line[len(key):]), id="%s-%s" % (name, req[:-5])))
    return out or [pytest.param(None, None, None, id="no-corpus")]


CASES = _cases()


def _signature(model_dir, key):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
    import savedmodel_writer as W  # noqa: E402
    pb = W.load_protos()
    sm = pb.saved_model.SavedModel()
    sm.ParseFromString(open(os.path.join(model_dir, "saved_model.pb"), "rb").read())
    mg = [m for m in sm.meta_graphs if "serve" in m.meta_info_def.tags][0]
    return mg.signature_def[key]


NP_TYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_, 7: object}


def _grpc_inputs(request, sig):
    """The REST request's inputs as {alias: numpy array of the signature's dtype}."""
    aliases = sorted(sig.inputs)
    if "instances" in request:
        rows = request["instances"]
        if rows and isinstance(rows[0], dict):
            cols = {a: [r[a] for r in rows] for a in aliases}
        else:
            assert len(aliases) == 1, aliases
            cols = {aliases[0]: rows}
    else:
        inputs = request["inputs"]
        cols = inputs if isinstance(inputs, dict) else {aliases[0]: inputs}
    out = {}
    for a, v in cols.items():
        npt = NP_TYPES[sig.inputs[a].dtype]
        if npt is object:
            out[a] = np.array([s.encode() for s in np.array(v, dtype=object).ravel()], dtype=object).reshape(
                np.array(v, dtype=object).shape)
        else:
            out[a] = np.array(v, dtype=np.float64).astype(npt)
    return out


def _follow(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def _grpc_value(resp, path):
    """The output the REST path names: predictions/outputs of a single-output signature, or
    outputs/<name>."""
    names = sorted(resp.outputs)
    if len(path) > 1:
        return gc.to_numpy(resp.outputs[path[1]])
    assert len(names) == 1, "path %s is ambiguous for outputs %s" % (path, names)
    return gc.to_numpy(resp.outputs[names[0]])


def _compare(where, got, exp):
    want = np.array(exp["value"])
    got = np.asarray(got)
    assert got.shape == want.shape, "%s: shape %s, expected %s" % (where, got.shape, want.shape)
    if np.issubdtype(want.dtype, np.integer) and "atol" not in exp:
        np.testing.assert_array_equal(got, want, err_msg=where)
    else:
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want.astype(np.float64),
                                   atol=exp.get("atol", 1e-5), rtol=0, err_msg=where)


def _tileable(request, expected):
    """Row requests whose expected value is one entry per row of "predictions"."""
    rows = request.get("instances")
    return (isinstance(rows, list) and rows and not isinstance(rows[0], dict) and expected["path"] == ["predictions"]
            and isinstance(expected["value"], list) and len(expected["value"]) == len(rows))


BATCH_CASES = [c for c in CASES if c.values[0] is not None and _tileable(
    json.load(open(os.path.join(FIXTURES, "models", c.values[0], "extras", c.values[1]), encoding="utf-8")),
    c.values[2])] or [pytest.param(None, None, None, id="no-corpus")]


@pytest.mark.parametrize("name,req_file,expected", BATCH_CASES)
def test_family_model_answers_at_batch_40(name, req_file, expected, fixtures_dir, model_servers):
    """The published rows repeated (rotated) to 40 or more, on 2 intra-op threads: every row's
    answer is its own. At this batch a recurrent layer's loop runs its rows in parallel (20+ per thread,
    docs/engine.md), so this checks the split on real Keras loops against the same numpy
    values."""
    if name is None:
        pytest.skip("no row request with per-row expected predictions under %s" % FIXTURES)
    base = os.path.join(fixtures_dir, "models", name)
    request = json.load(open(os.path.join(base, "extras", req_file), encoding="utf-8"))
    rows, want = request["instances"], expected["value"]
    n = len(rows)
    # copy j rotated by j rows, so no two row ranges a split could take hold the same rows
    order = [(i + j) % n for j in range(-(-40 // n)) for i in range(n)]
    request = dict(request, instances=[rows[i] for i in order])
    server = model_servers("m", base, ("--tensorflow_intra_op_parallelism=2",))
    r = server.post("/v1/models/m:predict", request)
    assert r.status == 200, "%s REST: %d %s\n%s" % (name, r.status, r.body[:2000], server.output()[-3000:])
    _compare(name + " REST, batch %d" % len(order), r.json()["predictions"], dict(expected, value=[want[i] for i in order]))


@pytest.mark.parametrize("name,req_file,expected", CASES)
def test_family_model_answers(name, req_file, expected, fixtures_dir, model_servers):
    if name is None:
        pytest.skip("no model with extras/expected_output.txt under %s" % FIXTURES)
    base = os.path.join(fixtures_dir, "models", name)
    request = json.load(open(os.path.join(base, "extras", req_file), encoding="utf-8"))
    server = model_servers("m", base)
    r = server.post("/v1/models/m:predict", request)
    assert r.status == 200, "%s REST: %d %s\n%s" % (name, r.status, r.body[:2000], server.output()[-3000:])
    _compare(name + " REST", _follow(r.json(), expected["path"]), expected)

    version_dir = sorted(d for d in glob.glob(os.path.join(base, "*")) if os.path.basename(d).isdigit())[-1]
    sig_key = request.get("signature_name", "serving_default")
    sig = _signature(version_dir, sig_key)
    grpc_port = int([a for a in server.args if a.startswith("--port=")][0].split("=")[1])
    client = gc.Client("127.0.0.1:%d" % grpc_port)
    try:
        pb = gc.protos()
        req = pb.PredictRequest()
        gc.model_spec(req.model_spec, "m", signature=sig_key)
        for a, v in _grpc_inputs(request, sig).items():
            req.inputs[a].CopyFrom(gc.tensor(v))
        resp = client.Predict(req, timeout=60)
    finally:
        client.close()
    _compare(name + " gRPC", _grpc_value(resp, expected["path"]), expected)
