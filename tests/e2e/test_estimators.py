"""test_estimators.py — tf.estimator exports served by the real `tensord` over REST.

Covers the estimator deliverables of the REST issue:
  * census_wide_deep_coby: the wide&deep census model (crossed columns → SparseCross hashing,
    embeddings, linear + DNN heads) with its real input row from extras/test_instance.json. Its
    signatures are predict signatures over raw placeholders, so it is served through :predict
    (row and columnar forms must agree); :classify is refused as TF Serving refuses it.
  * iris_estimator_raw: raw-feature receiver, predict over iris.csv (150 flowers) and the
    model's own extras/iris_test.csv.
  * iris_iiithf: tf.Example receiver; serving_default is a classify signature over tf_example
    whose class labels come from an index_to_string lookup table.
  * stfs_estimator: binary linear classifier over tf.Example (a sparse string feature "a" and a
    dense float "b"); checks well-formed classify results.
Accuracy numbers are printed (pytest -s shows them). Every server is stopped at module end and
must exit 0.
"""

import csv
import json
import os

import numpy as np
import pytest

from conftest import version_base
from farmhash_ref import fingerprint64  # tools/ (conftest puts it on sys.path)
from savedmodel_writer import read_bundle

SPECIES = ["setosa", "versicolor", "virginica"]


def model_dir(fixtures_dir, name):
    path = os.path.join(fixtures_dir, "models", name)
    if not os.path.isdir(path):
        pytest.skip("model fixture %s not found" % path)
    return path


def serve(model_servers, fixtures_dir, tmp_path_factory, name, version):
    src = os.path.join(model_dir(fixtures_dir, name), str(version))
    return model_servers(name, version_base(tmp_path_factory.mktemp(name) / name, {version: src}))


@pytest.fixture(scope="module")
def iris_rows(fixtures_dir):
    with open(os.path.join(fixtures_dir, "datasets", "iris.csv")) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 150
    return rows


def post_ok(server, path, body):
    r = server.post(path, body)
    assert r.status == 200, (path, r.status, r.body[:800])
    return r.json()


# ---------------------------------------------------------------- census wide & deep

CENSUS = "census_wide_deep_coby"


@pytest.fixture(scope="module")
def census(model_servers, fixtures_dir, tmp_path_factory):
    return serve(model_servers, fixtures_dir, tmp_path_factory, CENSUS, 1511606217)


@pytest.fixture(scope="module")
def census_row(fixtures_dir):
    with open(os.path.join(model_dir(fixtures_dir, CENSUS), "extras", "test_instance.json")) as f:
        return json.load(f)


# ---- an independent numpy reference of the census model, straight from its checkpoint ----
# linear: bias + sum over C1..C26 of W_Ck[Fingerprint64(Ck) % 1000] (categorical_column_with_
# hash_bucket, sum combiner) + the two crossed columns, whose bucket is TF's SparseCross hash:
# FingerprintCat64 chained from hash_key 0xDECAFCAFFE over Fingerprint64 of each feature, % 1000.
# The cross inputs are in the graph's order (the column *name* is sorted, the inputs are not):
# C1_X_C1 = (C1, C1), C10_X_C4_X_C5 = (C4, C5, C10).
# dnn: 4 relu layers over the 13 numeric features concatenated in name order (I1, I10..I13, I2..I9).
# P(label=1) = sigmoid(linear + dnn).

U64 = (1 << 64) - 1


def _shift_mix(v):
    return v ^ (v >> 47)


def fingerprint_cat64(fp1, fp2):
    mul = 0xC6A4A7935BD1E995
    r = fp1 ^ mul
    r ^= (_shift_mix((fp2 * mul) & U64) * mul) & U64
    r = (r * mul) & U64
    r = (_shift_mix(r) * mul) & U64
    return _shift_mix(r)


def census_reference(weights, row):
    fp = lambda s: fingerprint64(s.encode())
    lin = float(weights["linear/linear_model/bias_weights"][0])
    for i in range(1, 27):
        lin += float(weights["linear/linear_model/C%d/weights" % i][fp(row["C%d" % i]) % 1000, 0])
    for name, cols in (("C1_X_C1", ("C1", "C1")), ("C10_X_C4_X_C5", ("C4", "C5", "C10"))):
        h = 0xDECAFCAFFE
        for c in cols:
            h = fingerprint_cat64(h, fp(row[c]))
        lin += float(weights["linear/linear_model/%s/weights" % name][h % 1000, 0])
    x = np.array([[float(row[c]) for c in sorted("I%d" % i for i in range(1, 14))]], np.float32)
    for layer in range(4):
        x = np.maximum(x @ weights["dnn/hiddenlayer_%d/weights" % layer] + weights["dnn/hiddenlayer_%d/biases" % layer], 0)
    dnn = float((x @ weights["dnn/logits/weights"] + weights["dnn/logits/biases"])[0, 0])
    return 1.0 / (1.0 + np.exp(-(lin + dnn)))


@pytest.fixture(scope="module")
def census_weights(fixtures_dir):
    prefix = os.path.join(model_dir(fixtures_dir, CENSUS), "1511606217", "variables", "variables")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in read_bundle(prefix).items()}


def check_probability_pairs(preds):
    p = np.array([q["probabilities"] for q in preds], dtype=np.float64)
    assert p.shape[1] == 2
    assert np.all((p >= 0) & (p <= 1)), p
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    for q in preds:
        assert q["classes"] == ["0", "1"]
    return p


def test_census_real_row(census, census_row, census_weights):
    out = post_ok(census, "/v1/models/%s:predict" % CENSUS, {"instances": [census_row]})
    preds = out["predictions"]
    assert len(preds) == 1 and set(preds[0]) == {"classes", "probabilities"}
    p = check_probability_pairs(preds)
    want = census_reference(census_weights, census_row)
    print("census wide&deep, real row: P(label=1) = %.7f (numpy reference %.7f)" % (p[0, 1], want))
    assert abs(p[0, 1] - want) < 1e-5
    # The same row through the other signature, and in columnar form, gives the same answer.
    alt = post_ok(census, "/v1/models/%s:predict" % CENSUS,
                  {"signature_name": "default_input_alternative:None", "instances": [census_row]})
    np.testing.assert_allclose(alt["predictions"][0]["probabilities"], p[0], rtol=1e-6)
    col = post_ok(census, "/v1/models/%s:predict" % CENSUS, {"inputs": {k: [v] for k, v in census_row.items()}})
    np.testing.assert_allclose(col["outputs"]["probabilities"][0], p[0], rtol=1e-6)


def test_census_batch_and_row_independence(census, census_row, census_weights):
    """Crossed/hashed features are per row: a batch answers each row as if it came alone, and
    every row matches the numpy reference."""
    rng = np.random.RandomState(7)
    rows = [census_row]
    for _ in range(7):
        r = dict(census_row)
        for k in rng.choice(sorted(census_row), 12, replace=False):
            r[k] = ("%08x" % rng.randint(1 << 30)) if k.startswith("C") else float(rng.randint(0, 50))
        rows.append(r)
    one = post_ok(census, "/v1/models/%s:predict" % CENSUS, {"instances": [rows[3]]})["predictions"]
    batch = post_ok(census, "/v1/models/%s:predict" % CENSUS, {"instances": rows})["predictions"]
    p = check_probability_pairs(batch)
    np.testing.assert_allclose(p[3], one[0]["probabilities"], rtol=1e-5)
    want = np.array([census_reference(census_weights, r) for r in rows])
    np.testing.assert_allclose(p[:, 1], want, atol=1e-5)
    assert len(set(np.round(p[:, 1], 6))) > 1, "different rows should not all score identically"


def test_census_classify_refused(census, census_row):
    """Its signatures are predict signatures: TF Serving's Classify refuses them (400)."""
    r = census.post("/v1/models/%s:classify" % CENSUS, {"examples": [census_row]})
    assert r.status == 400, r.body
    assert "error" in r.json()


def test_census_bad_input_is_an_error_not_a_crash(census, census_row):
    row = dict(census_row)
    del row["C3"]
    r = census.post("/v1/models/%s:predict" % CENSUS, {"instances": [row]})
    assert r.status == 400, r.body
    r = census.post("/v1/models/%s:predict" % CENSUS, {"instances": [dict(census_row, I1="not a number")]})
    assert r.status == 400, r.body


# ---------------------------------------------------------------- iris_estimator_raw (predict)

IRIS_RAW = "iris_estimator_raw"
RAW_KEYS = {"SepalLength": "sepal_length", "SepalWidth": "sepal_width", "PetalLength": "petal_length",
            "PetalWidth": "petal_width"}


@pytest.fixture(scope="module")
def iris_raw(model_servers, fixtures_dir, tmp_path_factory):
    return serve(model_servers, fixtures_dir, tmp_path_factory, IRIS_RAW, 1560841190)


def test_iris_raw_all_150_columnar(iris_raw, iris_rows):
    out = post_ok(iris_raw, "/v1/models/%s:predict" % IRIS_RAW,
                  {"signature_name": "predict",
                   "inputs": {k: [float(r[c]) for r in iris_rows] for k, c in RAW_KEYS.items()}})["outputs"]
    ids = np.array(out["class_ids"]).reshape(-1)
    truth = np.array([SPECIES.index(r["species"]) for r in iris_rows])
    acc = float((ids == truth).mean())
    print("iris_estimator_raw (columnar): accuracy %.4f on %d flowers" % (acc, len(truth)))
    assert acc >= 0.9
    probs = np.array(out["probabilities"])
    assert probs.shape == (150, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert np.array_equal(probs.argmax(axis=1), ids)
    assert [c[0] for c in out["classes"]] == [str(i) for i in ids]


def test_iris_raw_own_test_set(iris_raw, fixtures_dir):
    """extras/iris_test.csv (header: count, nfeatures, names; rows: 4 features + label id)."""
    with open(os.path.join(model_dir(fixtures_dir, IRIS_RAW), "extras", "iris_test.csv")) as f:
        rows = [line.strip().split(",") for line in f if line.strip()][1:]
    names = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
    instances = [{n: float(v) for n, v in zip(names, r[:4])} for r in rows]
    preds = post_ok(iris_raw, "/v1/models/%s:predict" % IRIS_RAW,
                    {"signature_name": "predict", "instances": instances})["predictions"]
    acc = float(np.mean([p["class_ids"][0] == int(r[4]) for p, r in zip(preds, rows)]))
    print("iris_estimator_raw on its iris_test.csv: accuracy %.4f on %d flowers" % (acc, len(rows)))
    assert acc >= 0.9


# ---------------------------------------------------------------- iris_iiithf (tf.Example classify)

IRIS_EX = "iris_iiithf"
EX_KEYS = {"sepal-length": "sepal_length", "sepal-width": "sepal_width", "petal-length": "petal_length",
           "petal-width": "petal_width"}
EX_LABELS = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]


@pytest.fixture(scope="module")
def iris_ex(model_servers, fixtures_dir, tmp_path_factory):
    return serve(model_servers, fixtures_dir, tmp_path_factory, IRIS_EX, 1)


def test_iris_example_classify_150(iris_ex, iris_rows):
    examples = [{k: float(r[c]) for k, c in EX_KEYS.items()} for r in iris_rows]
    results = post_ok(iris_ex, "/v1/models/%s:classify" % IRIS_EX, {"examples": examples})["results"]
    assert len(results) == 150
    top = []
    for res in results:
        # each result: [[label, score], ...] with the 3 labels of the lookup table, sorted by
        # score (the graph's TopKV2).
        assert len(res) == 3
        labels = [lab for lab, _ in res]
        scores = [s for _, s in res]
        assert sorted(labels) == EX_LABELS
        assert scores == sorted(scores, reverse=True)
        top.append(labels[0])
    truth = ["Iris-" + r["species"] for r in iris_rows]
    acc = float(np.mean([t == p for t, p in zip(truth, top)]))
    print("iris_iiithf (tf.Example, :classify): accuracy %.4f on %d flowers" % (acc, len(truth)))
    assert acc >= 0.9


def test_iris_example_predict_signature_agrees(iris_ex, iris_rows):
    """Its 'predict' signature feeds x (in the graph: Identity of the parsed features concatenated
    as sepal-length, sepal-width, petal-length, petal-width): same argmax as classify."""
    x = [[float(r[c]) for c in ("sepal_length", "sepal_width", "petal_length", "petal_width")] for r in iris_rows[:20]]
    scores = np.array(post_ok(iris_ex, "/v1/models/%s:predict" % IRIS_EX,
                              {"signature_name": "predict", "instances": x})["predictions"])
    examples = [{k: float(r[c]) for k, c in EX_KEYS.items()} for r in iris_rows[:20]]
    results = post_ok(iris_ex, "/v1/models/%s:classify" % IRIS_EX, {"examples": examples})["results"]
    assert [EX_LABELS[i] for i in scores.argmax(axis=1)] == [res[0][0] for res in results]


def test_iris_example_missing_feature_is_an_error(iris_ex):
    """Dense features without defaults are required: TF's ParseExample error, HTTP 400."""
    r = iris_ex.post("/v1/models/%s:classify" % IRIS_EX, {"examples": [{"sepal-length": 5.0}]})
    assert r.status == 400, r.body
    assert "error" in r.json()


# ---------------------------------------------------------------- stfs_estimator (classify)

STFS = "stfs_estimator"


@pytest.fixture(scope="module")
def stfs(model_servers, fixtures_dir, tmp_path_factory):
    return serve(model_servers, fixtures_dir, tmp_path_factory, STFS, 1533527330)


def test_stfs_estimator_classify(stfs):
    examples = [{"a": "x", "b": 1.0}, {"a": ["hello", "y"], "b": 2.5}, {"b": -3.0}, {"a": "", "b": 0.0}]
    for sig in (None, "default_input_alternative:None"):
        body = {"examples": examples}
        if sig:
            body["signature_name"] = sig
        results = post_ok(stfs, "/v1/models/%s:classify" % STFS, body)["results"]
        assert len(results) == len(examples)
        for res in results:
            assert [lab for lab, _ in res] == ["0", "1"]
            s = [score for _, score in res]
            assert all(0.0 <= v <= 1.0 for v in s)
            assert abs(sum(s) - 1.0) < 1e-5
        if sig is None:
            first = results
        else:
            assert results == first
    # the model is a real linear model: different inputs give different scores
    assert len({round(res[1][1], 6) for res in first}) > 1
