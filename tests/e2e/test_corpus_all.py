"""test_corpus_all.py — breadth sweep: every SavedModel in the shared corpus loads and every
signature answers.

For each export dir <fixtures>/{models,tfserving_testdata,tfserving_testdata/_extra_batching_testdata}/
<name>/<version>/ holding saved_model.pb(txt) (tflite-only dirs and bad_half_plus_two have none
and are not collected):
  * `tensord show --dir D --all` exits 0 and lists every signature key;
  * every signature with inputs answers `tensord run` on a representative input built from its
    TensorInfo: numeric inputs get a batch of 2 (-1 dims → 2 for the batch, 1 elsewhere; unknown
    shape → [2,1]); string inputs are fed serialized tf.Examples with the features the model's
    ParseExample reads (FEATURES below), except census, whose raw string/float placeholders take
    its own extras/test_instance.json row. Every output must be present, numeric outputs finite,
    and outputs declared [-1,...] must carry the batch size. The half_plus_two/three family is
    checked exactly (y = 0.5x + 2, y2 = 0.5x + 3, y3 = 0.5x2 + 3, half_plus_three y = 0.5x + 3).
  * extras with known answers: mnist_gihants/extras/0.png → expected_output_0png.txt.
  * saved_model_counter over gRPC (its signatures have no inputs): state persists between calls.
Deeper per-family checks (MNIST accuracy, estimators) live in test_corpus_models.py and
test_estimators.py; this file is about breadth.
"""

import glob
import json
import os
import struct
import zlib

import numpy as np
import pytest
from google.protobuf import text_format

from conftest import FIXTURES, run_cli, run_outputs
import savedmodel_writer as W

DT_INVALID, DT_FLOAT, DT_DOUBLE, DT_INT32, DT_STRING, DT_INT64, DT_BOOL = 0, 1, 2, 3, 7, 9, 10
NP_DTYPES = {DT_FLOAT: np.float32, DT_DOUBLE: np.float64, DT_INT32: np.int32, DT_INT64: np.int64, DT_BOOL: np.bool_}
BATCH = 2
MKL_CONV = ("regress_x2_to_y3", "regress_x_to_y2")  # mkl: y + Conv2D output [1,10,10,1] (batch 1 only)
XS, X2S = [1.0, 3.0], [2.0, 4.0]  # tf.Example values for the half_plus family
# tf.Example features per model (from each graph's ParseExample dense/sparse keys).
FEATURES = {
    "iris_iiithf": lambda i: {"petal-length": [1.4 + i], "petal-width": [0.2 + i], "sepal-length": [5.1],
                              "sepal-width": [3.5]},
    "mnist_tf1_chandra": lambda i: {"x": [0.5 * i] * 784},
    "stfs_estimator": lambda i: {"a": ["word%d" % i], "b": [1.0 + i]},
}


def _export_dirs():
    pats = ["models/*/*", "tfserving_testdata/*/*", "tfserving_testdata/_extra_batching_testdata/*/*"]
    out = []
    for p in pats:
        for d in sorted(glob.glob(os.path.join(FIXTURES, p))):
            if os.path.isfile(os.path.join(d, "saved_model.pb")) or os.path.isfile(os.path.join(d, "saved_model.pbtxt")):
                out.append(os.path.relpath(d, FIXTURES))
    return out or ["<no fixtures>"]


EXPORTS = _export_dirs()


def _signatures(model_dir):
    pb = W.load_protos()
    sm = pb.saved_model.SavedModel()
    if os.path.isfile(os.path.join(model_dir, "saved_model.pb")):
        sm.ParseFromString(open(os.path.join(model_dir, "saved_model.pb"), "rb").read())
    else:
        text_format.Parse(open(os.path.join(model_dir, "saved_model.pbtxt")).read(), sm)
    mg = [m for m in sm.meta_graphs if sorted(m.meta_info_def.tags) == ["serve"]][0]
    return {k: v for k, v in mg.signature_def.items() if k != "__saved_model_init_op"}


def _dims(ti):
    if not ti.HasField("tensor_shape") or ti.tensor_shape.unknown_rank:
        return None
    return [d.size for d in ti.tensor_shape.dim]


def _model_name(rel):
    return rel.split("/")[-2]


def _is_example_input(sig, ti):
    """Serialized tf.Examples: string inputs of rank <= 1, and the tf_example placeholders old
    exports record as DT_FLOAT / DT_INVALID (TF Serving trusts the graph, not the TensorInfo).
    A string input of rank >= 2 ([batch, 1], as Keras TextVectorization takes) is text."""
    if ti.dtype == DT_STRING:
        dims = _dims(ti)
        return dims is None or len(dims) <= 1
    return ti.name.startswith("tf_example") or ti.dtype == DT_INVALID


def _text_feed(ti, batch):
    """A [batch, 1, ...] string input: short lowercase sentences, one per row."""
    dims = _dims(ti)
    shape = [batch] + [1 if d < 0 else d for d in dims[1:]]
    words = ["the board proposed a dividend", "net sales rose", "profit fell sharply", "no change"]
    return np.array([words[i % len(words)] for i in range(int(np.prod(shape)))], dtype=object).reshape(shape)


def _examples_literal(rel, n):
    make = FEATURES.get(_model_name(rel), lambda i: {"x": [XS[i]], "x2": [X2S[i]]})
    return json.dumps([make(i) for i in range(n)])


def _numeric_feed(ti, batch):
    dims = _dims(ti)
    shape = [batch, 1] if dims is None else [batch if (i == 0 and d < 0) else (1 if d < 0 else d)
                                             for i, d in enumerate(dims)]
    n = int(np.prod(shape)) if shape else 1
    dt = NP_DTYPES[ti.dtype]
    return (np.arange(n) % 7 * 2 + 1).astype(dt).reshape(shape)  # 1, 3, 5, ... (exact in float)


def _census_feeds(fixtures_dir, sig):
    row = json.load(open(os.path.join(fixtures_dir, "models", "census_wide_deep_coby", "extras", "test_instance.json")))
    feeds = {}
    for alias, ti in sig.inputs.items():
        dt = np.object_ if ti.dtype == DT_STRING else NP_DTYPES[ti.dtype]
        feeds[alias] = np.array([row[alias]] * BATCH, dtype=dt)
    return feeds


def _half_plus_expected(rel, key, alias_fed, fed):
    """The family's formula for what was fed; None when it has no closed form."""
    if "mkl" in rel and key in MKL_CONV:
        return None
    if isinstance(fed, str):  # examples
        x = np.array(X2S if "x2_to_y3" in key else XS, np.float32)[:BATCH]
    else:
        x = fed.astype(np.float32)
    plus3 = "half_plus_three" in rel or "x2_to_y3" in key or "x_to_y2" in key
    return np.float32(0.5) * x + np.float32(3 if plus3 else 2)


def _run_signature(fixtures_dir, rel, tmp_path, key, sig):
    """Runs one signature; returns (outputs, batch, what was fed per alias)."""
    model_dir = os.path.join(fixtures_dir, rel)
    batch = 1 if ("mkl" in rel and key in MKL_CONV) else BATCH
    inputs, examples, fed, exprs = {}, {}, {}, {}
    if _model_name(rel) == "census_wide_deep_coby":
        inputs = _census_feeds(fixtures_dir, sig)
        fed = dict(inputs)
        exprs = {}
        for alias, v in list(inputs.items()):
            if v.dtype == np.object_:  # strings go through --input_exprs (npy has no object arrays)
                exprs[alias] = repr([str(s) for s in v])
                del inputs[alias]
        return run_outputs(model_dir, tmp_path, signature=key, inputs=inputs, exprs=exprs), BATCH, fed
    for alias, ti in sig.inputs.items():
        if _is_example_input(sig, ti):
            examples[alias] = fed[alias] = _examples_literal(rel, batch)
        elif ti.dtype == DT_STRING:  # text: npy has no object arrays, so a literal
            fed[alias] = _text_feed(ti, batch)
            exprs[alias] = repr(fed[alias].tolist())
        else:
            inputs[alias] = fed[alias] = _numeric_feed(ti, batch)
    if any(isinstance(v, np.ndarray) and v.ndim and v.shape[0] != batch for v in fed.values()):
        batch = None  # a fixed-size input (TF2 half_plus_two's [1]): no batch dimension to check
    return run_outputs(model_dir, tmp_path, signature=key, inputs=inputs or None, exprs=exprs or None,
                       examples=examples or None), batch, fed


@pytest.mark.parametrize("rel", EXPORTS)
def test_show_all(tensord, fixtures_dir, rel):
    r = run_cli("show", "--dir", os.path.join(fixtures_dir, rel), "--all")
    assert r.returncode == 0, r.stderr
    for key in _signatures(os.path.join(fixtures_dir, rel)):
        assert "signature_def['%s']" % key in r.stdout, key


@pytest.mark.parametrize("rel", EXPORTS)
def test_every_signature_answers(tensord, fixtures_dir, tmp_path, rel):
    sigs = _signatures(os.path.join(fixtures_dir, rel))
    assert sigs, "no signatures"
    checked = []
    for key, sig in sorted(sigs.items()):
        if not sig.inputs or _model_name(rel) == "saved_model_counter":
            continue  # counter: stateful scalar signatures, mostly without inputs; see test_counter_*
        out, batch, fed = _run_signature(fixtures_dir, rel, tmp_path, key, sig)
        assert sorted(out) == sorted(sig.outputs), (key, sorted(out))
        for alias, got in out.items():
            where = "%s %s:%s" % (rel, key, alias)
            dims = _dims(sig.outputs[alias])
            if got.dtype.kind in "fc":
                assert np.all(np.isfinite(got)), where
            if dims is not None and got.ndim == len(dims):
                for d, (want, have) in enumerate(zip(dims, got.shape)):
                    assert want < 0 or want == have, (where, dims, got.shape)
            if batch and dims and dims[0] == -1:
                assert got.ndim >= 1 and got.shape[0] == batch, (where, got.shape)
            if "half_plus" in rel:
                (alias_fed, value), = fed.items()
                want = _half_plus_expected(rel, key, alias_fed, value)
                if want is not None:
                    np.testing.assert_array_equal(got.ravel(), want.ravel(), err_msg=where)
        checked.append(key)
    print("%s: %s" % (rel, ", ".join(checked) or "(no signature with inputs)"))


# ---- extras with known answers ----

def _png_gray8(data):
    """Decodes an 8-bit grayscale, non-interlaced PNG (all five row filters) into uint8 [h,w]."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        (n,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, color, interlace) == (8, 0, 0), "only 8-bit gray non-interlaced"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, rows, prev = zlib.decompress(idat), [], [0] * w
    for y in range(h):
        f, line = raw[y * (w + 1)], list(raw[y * (w + 1) + 1:(y + 1) * (w + 1)])
        for x in range(w):
            a, b, c = (line[x - 1] if x else 0), prev[x], (prev[x - 1] if x else 0)
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return np.array(rows, np.uint8)


def test_mnist_gihants_expected_output(tensord, fixtures_dir, tmp_path):
    extras = os.path.join(fixtures_dir, "models", "mnist_gihants", "extras")
    if not os.path.isfile(os.path.join(extras, "expected_output_0png.txt")):
        pytest.skip("mnist_gihants extras not found")
    img = _png_gray8(open(os.path.join(extras, "0.png"), "rb").read())
    assert img.shape == (28, 28)
    lines = open(os.path.join(extras, "expected_output_0png.txt")).read().splitlines()
    want = np.array(json.loads([ln for ln in lines if ln.startswith("[")][0]), np.float64)
    feed = (img.astype(np.float32) / np.float32(255.0)).reshape(1, 28, 28)
    out = run_outputs(os.path.join(fixtures_dir, "models", "mnist_gihants", "1"), tmp_path, inputs={"flatten_input": feed})
    got = out["dense"]
    assert got.shape == (1, 10)
    np.testing.assert_allclose(got[0], want, rtol=1e-4, atol=1e-7)
    assert int(got[0].argmax()) == 0


# ---- saved_model_counter: stateful signatures over gRPC ----

@pytest.fixture(scope="module")
def counter(tensord, fixtures_dir):
    import grpc_client as gc
    base = os.path.join(fixtures_dir, "tfserving_testdata", "saved_model_counter")
    if not os.path.isdir(base):
        pytest.skip("saved_model_counter not found")
    server = gc.start_tensord(tensord, "counter", base)
    assert server is not None, "tensord did not serve saved_model_counter"
    client = gc.Client(server.target)
    yield gc, client
    client.close()
    assert server.stop() == 0


def _counter_call(counter, signature, delta=None):
    gc, client = counter
    pb = gc.protos()
    req = pb.PredictRequest()
    req.model_spec.name = "counter"
    req.model_spec.signature_name = signature
    if delta is not None:
        req.inputs["delta"].CopyFrom(gc.tensor(np.float32(delta)))
    resp = client.Predict(req, timeout=10)
    out = gc.to_numpy(resp.outputs["output"])
    assert resp.outputs["output"].dtype == pb.DT_FLOAT  # the FLOAT_REF signature output is served as float
    return float(out)


def test_counter_state_persists(counter):
    assert _counter_call(counter, "reset_counter") == 0.0
    assert _counter_call(counter, "get_counter") == 0.0
    assert _counter_call(counter, "incr_counter") == 1.0
    assert _counter_call(counter, "incr_counter") == 2.0
    assert _counter_call(counter, "incr_counter_by", delta=3.0) == 5.0
    assert _counter_call(counter, "get_counter") == 5.0
    assert _counter_call(counter, "reset_counter") == 0.0
    assert _counter_call(counter, "get_counter") == 0.0
