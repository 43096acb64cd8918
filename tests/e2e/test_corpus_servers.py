"""test_corpus_servers.py — every shared-corpus model through the real front ends: each export
is served by `tensord --port --rest_api_port`, and every signature with inputs is called over
REST and over gRPC with the same representative input (test_corpus_all.py builds it); the two
answers must agree and be complete and finite. Predict signatures go through :predict /
Predict; tf.Example signatures whose method is classify or regress go through :classify /
Classify and :regress / Regress, as TF Serving clients call them."""
import base64
import json
import os
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_client as gc  # noqa: E402
import test_corpus_all as corpus  # noqa: E402
from conftest import FIXTURES, TENSORD_BIN  # noqa: E402

grpc = pytest.importorskip("grpc")


def _features(rel, i):
    make = corpus.FEATURES.get(corpus._model_name(rel), lambda j: {"x": [corpus.XS[j]], "x2": [corpus.X2S[j]]})
    return make(i)


def _rest(server, path, body):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (server.rest_port, path), data=json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _json_value(a):
    if a.dtype == np.object_:
        return [s if isinstance(s, str) else {"b64": base64.b64encode(s).decode()} for s in a.ravel()] \
            if a.ndim == 1 else [_json_value(x) for x in a]
    return a.tolist()


def _same(where, rest_value, proto):
    got = gc.to_numpy(proto)
    if got.dtype == np.object_:
        want = np.array(rest_value, dtype=object).reshape(got.shape)
        dec = np.vectorize(lambda b: b.decode("utf-8", "replace") if isinstance(b, bytes) else b)(got) if got.size else got
        assert (dec == want).all(), where
        return
    want = np.array(rest_value, dtype=np.float64).reshape(got.shape)
    assert np.all(np.isfinite(got)) or not np.issubdtype(got.dtype, np.floating), where
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=1e-6, atol=1e-7, err_msg=where)


def _predict_feeds(rel, key, sig):
    batch = 1 if ("mkl" in rel and key in corpus.MKL_CONV) else corpus.BATCH
    if corpus._model_name(rel) == "census_wide_deep_coby":
        return corpus._census_feeds(FIXTURES, sig)
    feeds = {}
    for alias, ti in sig.inputs.items():
        if corpus._is_example_input(sig, ti):
            feeds[alias] = np.array([gc.example(**_features(rel, i)).SerializeToString() for i in range(batch)],
                                    dtype=object)
        elif ti.dtype == corpus.DT_STRING:
            feeds[alias] = corpus._text_feed(ti, batch)
        else:
            feeds[alias] = corpus._numeric_feed(ti, batch)
    return feeds


def _check_predict(server, client, pb, rel, key, sig):
    feeds = _predict_feeds(rel, key, sig)
    status, rest = _rest(server, "/v1/models/m:predict",
                         {"signature_name": key, "inputs": {a: _json_value(v) for a, v in feeds.items()}})
    assert status == 200, (rel, key, rest)
    req = pb.PredictRequest()
    gc.model_spec(req.model_spec, "m", signature=key)
    for a, v in feeds.items():
        req.inputs[a].CopyFrom(gc.tensor(v))
    resp = client.Predict(req, timeout=60)
    assert sorted(resp.outputs) == sorted(sig.outputs), (rel, key)
    outs = rest["outputs"] if len(sig.outputs) > 1 else {next(iter(sig.outputs)): rest["outputs"]}
    for alias in sig.outputs:
        _same("%s %s:%s" % (rel, key, alias), outs[alias], resp.outputs[alias])


def _check_examples(server, client, pb, rel, key, method):
    batch = 1 if ("mkl" in rel and key in corpus.MKL_CONV) else corpus.BATCH  # its conv branch is batch 1
    feats = [_features(rel, i) for i in range(batch)]
    status, rest = _rest(server, "/v1/models/m:%s" % method, {"signature_name": key, "examples": feats})
    assert status == 200, (rel, key, rest)
    req = (pb.ClassificationRequest if method == "classify" else pb.RegressionRequest)()
    gc.model_spec(req.model_spec, "m", signature=key)
    for f in feats:
        req.input.example_list.examples.add().CopyFrom(gc.example(**f))
    where = "%s %s" % (rel, key)
    if method == "classify":
        got = client.Classify(req, timeout=60).result.classifications
        assert len(got) == len(rest["results"]) == batch, where
        for g, r in zip(got, rest["results"]):
            assert [c.label.decode() if isinstance(c.label, bytes) else c.label for c in g.classes] == [x[0] for x in r]
            np.testing.assert_allclose([c.score for c in g.classes], [x[1] for x in r], rtol=1e-6, err_msg=where)
    else:
        got = [x.value for x in client.Regress(req, timeout=60).result.regressions]
        np.testing.assert_allclose(got, rest["results"], rtol=1e-6, err_msg=where)
        assert np.all(np.isfinite(got)), where


@pytest.mark.parametrize("rel", corpus.EXPORTS)
def test_rest_and_grpc_answer_alike(tmp_path, rel):
    model_dir = os.path.join(FIXTURES, rel)
    if not os.path.isdir(model_dir):
        pytest.skip("fixtures absent (../shared not beside the checkout)")
    sigs = {k: s for k, s in corpus._signatures(model_dir).items() if s.inputs}
    if not sigs or corpus._model_name(rel) == "saved_model_counter":
        pytest.skip("no signature with inputs (the counter model is covered by test_corpus_all)")
    base = tmp_path / "base"
    base.mkdir()
    os.symlink(model_dir, base / "1")
    server = gc.start_tensord(TENSORD_BIN, "m", str(base), rest=True, timeout=60)
    assert server is not None, "tensord did not start for %s" % rel
    client = gc.Client(server.target)
    pb = gc.protos()
    try:
        for key, sig in sorted(sigs.items()):
            method = sig.method_name.rsplit("/", 1)[-1]
            example_input = len(sig.inputs) == 1 and corpus._is_example_input(sig, next(iter(sig.inputs.values())))
            # mkl's x2_to_y3 / x_to_y2 add a [1,10,10,1] conv branch: not a valid regression
            # output (TF Serving's regressor rejects it too), so those are called as predict.
            conv_branch = "mkl" in rel and key in corpus.MKL_CONV
            if example_input and method in ("classify", "regress") and not conv_branch:
                _check_examples(server, client, pb, rel, key, method)
            elif all(ti.dtype != corpus.DT_INVALID for ti in sig.inputs.values()):
                _check_predict(server, client, pb, rel, key, sig)
    finally:
        client.close()
        assert server.stop() == 0
