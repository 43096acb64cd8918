"""REST transport behaviour beyond the JSON rules: gzip request bodies (TF Serving gunzips
them) and --rest_api_timeout_in_ms (a run past its deadline answers 504)."""
import gzip
import os

import numpy as np
import pytest

from conftest import version_base

HPT = "tfserving_testdata/saved_model_half_plus_two_cpu/00000123"
CNN = "models/mnist_dstoryz/1"


def need(fixtures_dir, rel):
    path = os.path.join(fixtures_dir, rel)
    if not os.path.isdir(path):
        pytest.skip("fixture %s absent (../shared not beside the checkout)" % path)
    return path


def test_gzip_request_body(fixtures_dir, model_servers, tmp_path):
    s = model_servers("hp", version_base(tmp_path / "hp", {1: need(fixtures_dir, HPT)}))
    body = gzip.compress(b'{"instances": [1.0, 2.0, 5.0]}')
    r = s.post("/v1/models/hp:predict", body, headers={"Content-Encoding": "gzip"})
    assert r.status == 200, r.body
    assert r.json() == {"predictions": [2.5, 3.0, 4.5]}
    r = s.post("/v1/models/hp:predict", body[:-6], headers={"Content-Encoding": "gzip"})
    assert r.status == 400
    assert "decompress" in r.json()["error"]


def test_timeout_answers_504(fixtures_dir, model_servers, tmp_path):
    base = version_base(tmp_path / "cnn", {1: need(fixtures_dir, CNN)})
    s = model_servers("cnn", base, extra=["--rest_api_timeout_in_ms=1"])
    batch = np.random.RandomState(0).rand(1000, 28, 28, 1).round(3).tolist()
    r = s.post("/v1/models/cnn:predict", {"instances": batch})
    assert r.status == 504, r.body[:200]
    assert r.json()["error"] == "Deadline Exceeded"
    fast = model_servers("cnn_fast", base)  # default timeout (30 s): the same request succeeds
    r = fast.post("/v1/models/cnn_fast:predict", {"instances": batch[:2]})
    assert r.status == 200
    assert len(r.json()["predictions"]) == 2
