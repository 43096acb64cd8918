"""test_kserve_v2_repository.py — the KServe V2 model repository extension's load / unload (issue 15
part 1) on the real binary, with clients written from the spec (peer-servers.md §4.1, §4.5):
REST POST /v2/repository/models/{name}/(load|unload) and /v2/repository/index, gRPC
RepositoryModelLoad / RepositoryModelUnload / RepositoryIndex.

Semantics checked (core/manager.h "the model repository"): the repository is the model config;
unload stops serving a model on every API (V2 REST, V2 gRPC, TF /v1) and the index shows it
UNAVAILABLE / "unloaded"; load serves it again (its newest version, its labels); unknown names are
NOT_FOUND / 404; --enable_model_management=false refuses both (PERMISSION_DENIED / 403) after the
bearer token check; a HandleReloadConfigRequest replaces the repository and serves every model it
names again; the other model keeps answering while one is unloaded and loaded (0 failures);
with --model_name the repository is that one model.

Uses tools/gen_models.py's half_plus_two_tf1 (y = 0.5 x + 2), no ../shared. Expected values are
hand-derived, never taken from tensord.
"""

import json
import os
import subprocess
import threading
import time

import numpy as np
import pytest

requests = pytest.importorskip("requests")
grpc = pytest.importorskip("grpc")

import grpc_client as gc  # noqa: E402
from test_kserve_v2 import V2Server, X, Y, grpc_output, grpc_request, infer, v2pb  # noqa: E402

BODY = {"inputs": [{"name": "x", "shape": [4, 1], "datatype": "FP32", "data": X.tolist()}]}
NOT_FOUND_TEXT = "Servable not found for request: Latest(%s)"


def versioned_base(generated_models, tmp_path, name, versions):
    """A base path whose version dirs (symlinks to half_plus_two_tf1/1) are the given numbers."""
    base = tmp_path / name
    base.mkdir()
    for v in versions:
        os.symlink(os.path.join(generated_models, "half_plus_two_tf1", "1"), str(base / str(v)))
    return str(base)


def repo(s, model, action, body=None, headers=None):
    return requests.post(s.url + "/v2/repository/models/%s/%s" % (model, action),
                         data=None if body is None else json.dumps(body), headers=headers)


def grpc_repo(s, model, action, metadata=None, **params):
    pb = v2pb()
    if action == "load":
        req, resp, method = pb.RepositoryModelLoadRequest(model_name=model), pb.RepositoryModelLoadResponse, \
            "RepositoryModelLoad"
    else:
        req, resp, method = pb.RepositoryModelUnloadRequest(model_name=model), pb.RepositoryModelUnloadResponse, \
            "RepositoryModelUnload"
    for k, v in params.items():
        req.parameters[k].string_param = v
    stub = s.channel.unary_unary("/inference.GRPCInferenceService/" + method,
                                 request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=resp.FromString)
    return stub(req, timeout=60, metadata=metadata)


def grpc_code(fn, *args, **kw):
    with pytest.raises(grpc.RpcError) as e:
        fn(*args, **kw)
    return e.value.code(), e.value.details()


def index(s, ready=None):
    body = None if ready is None else json.dumps({"ready": ready})
    r = requests.post(s.url + "/v2/repository/index", data=body)
    assert r.status_code == 200, r.text
    return sorted((m["name"], m.get("version"), m["state"], m["reason"]) for m in r.json())


def grpc_index(s, ready=False):
    pb = v2pb()
    idx = s.call("RepositoryIndex", pb.RepositoryIndexRequest(ready=ready), pb.RepositoryIndexResponse)
    return sorted((m.name, m.version or None, m.state, m.reason) for m in idx.models)


def tf_predict(s, model):
    r = requests.post(s.url + "/v1/models/%s:predict" % model, data=json.dumps({"instances": [[1.0], [2.0]]}))
    return r.status_code, r.json()


def check_serving(s, model, version):
    """The model answers on V2 REST, V2 gRPC and the TF API, with the expected version."""
    r = infer(s, model, BODY)
    assert r.status_code == 200, r.text
    assert r.json()["model_version"] == version
    np.testing.assert_allclose(np.array(r.json()["outputs"][0]["data"], np.float32).reshape(4, 1), Y)
    pb = v2pb()
    resp = s.call("ModelInfer", grpc_request(pb, model, "x", "FP32", X, raw=True), pb.ModelInferResponse)
    assert resp.model_version == version
    np.testing.assert_array_equal(grpc_output(resp, 0, np.float32), Y)
    assert tf_predict(s, model) == (200, {"predictions": [[2.5], [3.0]]})
    assert requests.get(s.url + "/v2/models/%s/ready" % model).status_code == 200


def check_not_serving(s, model):
    """Every API answers the TF-Serving not-found error; readiness is false (not 404)."""
    r = infer(s, model, BODY)
    assert r.status_code == 404 and r.json() == {"error": NOT_FOUND_TEXT % model}
    pb = v2pb()
    code, msg = grpc_code(s.call, "ModelInfer", grpc_request(pb, model, "x", "FP32", X), pb.ModelInferResponse)
    assert code == grpc.StatusCode.NOT_FOUND and msg == NOT_FOUND_TEXT % model
    assert tf_predict(s, model) == (404, {"error": NOT_FOUND_TEXT % model})
    r = requests.get(s.url + "/v2/models/%s/ready" % model)
    assert r.status_code == 503 and r.json() == {"name": model, "ready": False}
    assert not s.call("ModelReady", pb.ModelReadyRequest(name=model), pb.ModelReadyResponse).ready


@pytest.fixture
def two(tensord, generated_models, tmp_path):
    """hp (versions 3 and 7, latest → 7; label stable → 3 with the all policy) and other (1)."""
    hp = versioned_base(generated_models, tmp_path, "hp", (3, 7))
    s = V2Server({"hp": (hp, "model_version_policy { all {} } version_labels { key: 'stable' value: 3 }"),
                  "other": os.path.join(generated_models, "half_plus_two_tf1")}, tmp_path,
                 args=["--max_num_load_retries=0"])  # a broken version fails at once (default: 5 x 60 s)
    s.hp_base = hp
    yield s
    s.channel.close()
    s.stop()


def test_unload_then_load(two):
    s = two
    check_serving(s, "hp", "7")
    assert index(s) == [("hp", "3", "READY", ""), ("hp", "7", "READY", ""), ("other", "1", "READY", "")]

    r = repo(s, "hp", "unload")
    assert r.status_code == 200, r.text
    check_not_serving(s, "hp")
    check_serving(s, "other", "1")
    want = [("hp", "3", "UNAVAILABLE", "unloaded"), ("hp", "7", "UNAVAILABLE", "unloaded"),
            ("other", "1", "READY", "")]
    assert index(s) == want and grpc_index(s) == want
    assert index(s, ready=True) == [("other", "1", "READY", "")] == grpc_index(s, ready=True)
    assert requests.get(s.url + "/v2/models").json() == {"models": ["other"]}
    assert requests.get(s.url + "/v2/health/ready").status_code == 200  # every served model is ready
    assert repo(s, "hp", "unload").status_code == 200  # idempotent
    grpc_repo(s, "hp", "unload")

    grpc_repo(s, "hp", "load")  # answers once the model is READY
    check_serving(s, "hp", "7")
    r = infer(s, "hp", BODY, path_version="stable")  # labels come back with the model
    assert r.status_code == 200 and r.json()["model_version"] == "3"
    assert index(s) == [("hp", "3", "READY", ""), ("hp", "7", "READY", ""), ("other", "1", "READY", "")]

    grpc_repo(s, "hp", "unload")
    check_not_serving(s, "hp")
    r = repo(s, "hp", "load", body={"parameters": {"unrelated": True}})
    assert r.status_code == 200, r.text
    check_serving(s, "hp", "7")
    assert repo(s, "hp", "load").status_code == 200  # a served model: rescanned, still serving
    check_serving(s, "hp", "7")


def test_load_picks_up_new_version_and_reports_errors(two, generated_models):
    s = two
    os.symlink(os.path.join(generated_models, "half_plus_two_tf1", "1"), os.path.join(s.hp_base, "9"))
    assert repo(s, "hp", "load").status_code == 200  # the rescan loads version 9 (polling is off)
    check_serving(s, "hp", "9")
    # a broken newest version: the model keeps serving 9 and the index shows the error
    broken = os.path.join(s.hp_base, "11")
    os.mkdir(broken)
    with open(os.path.join(broken, "saved_model.pb"), "wb") as f:
        f.write(b"not a SavedModel")
    assert repo(s, "hp", "load").status_code == 200
    check_serving(s, "hp", "9")
    rows = [r for r in index(s) if r[:2] == ("hp", "11")]
    assert len(rows) == 1 and rows[0][2] == "UNAVAILABLE" and rows[0][3], rows
    # unloaded, then loaded with only broken versions: the loader's error, nothing served
    assert repo(s, "hp", "unload").status_code == 200
    for v in ("3", "7", "9"):
        os.unlink(os.path.join(s.hp_base, v))
    r = repo(s, "hp", "load")
    assert r.status_code == 500, r.text  # the loader's DATA_LOSS (a corrupt saved_model.pb)
    assert r.json()["error"].startswith("Model hp version 11 failed to load: Can't parse "), r.text
    code, msg = grpc_code(grpc_repo, s, "hp", "load")
    assert code == grpc.StatusCode.DATA_LOSS and msg == r.json()["error"]
    check_not_serving(s, "hp")
    check_serving(s, "other", "1")


def test_unknown_names_and_bad_requests(two):
    s = two
    for action in ("load", "unload"):
        r = repo(s, "nope", action)
        assert r.status_code == 404 and r.json() == {"error": "Model nope is not in the model repository"}
        code, msg = grpc_code(grpc_repo, s, "nope", action)
        assert code == grpc.StatusCode.NOT_FOUND and msg == "Model nope is not in the model repository"
        code, msg = grpc_code(grpc_repo, s, "", action)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and msg == "Missing model name in request."
        r = repo(s, "h%01p", action)
        assert r.status_code == 400 and "control character" in r.json()["error"]
        r = repo(s, "hp%00x", action)  # never cut to "hp"
        assert r.status_code == 400 and "control character" in r.json()["error"]
        code, msg = grpc_code(grpc_repo, s, "hp\x00x", action)  # read from the wire, not the C string
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "NUL or control" in msg
        r = requests.get(s.url + "/v2/repository/models/hp/" + action)
        assert r.status_code == 400 and "use POST" in r.json()["error"]
    r = requests.post(s.url + "/v2/repository/models/hp/unload", data="{\"parameters\": {\"a\": ")
    assert r.status_code == 400 and "JSON Parse error" in r.json()["error"]
    r = requests.post(s.url + "/v2/repository/models/hp/unload", data="{\"parameters\": 3}")
    assert r.status_code == 400 and r.json() == {"error": "'parameters' must be an object"}
    r = requests.post(s.url + "/v2/repository/models/hp/unload", data="[1]")
    assert r.status_code == 400 and r.json() == {"error": "the repository request must be an object"}
    r = repo(s, "hp", "load", body={"parameters": {"config": "{\"backend\": \"onnx\"}"}})
    assert r.status_code == 501 and "'config' or 'file:'" in r.json()["error"]
    code, msg = grpc_code(grpc_repo, s, "hp", "load", **{"file:1/model.savedmodel": "eA=="})
    assert code == grpc.StatusCode.UNIMPLEMENTED and "'config' or 'file:'" in msg
    # nothing was lost
    check_serving(s, "hp", "7")
    check_serving(s, "other", "1")


def test_reload_config_serves_unloaded_models_again(two, generated_models):
    s = two
    assert repo(s, "hp", "unload").status_code == 200
    assert repo(s, "other", "unload").status_code == 200
    assert requests.get(s.url + "/v2/health/ready").status_code == 503  # nothing served
    pb = gc.protos()
    req = pb.ReloadConfigRequest()
    for name, base in (("hp", s.hp_base), ("other", os.path.join(generated_models, "half_plus_two_tf1"))):
        req.config.model_config_list.config.add(name=name, base_path=base, model_platform="tensorflow")
    client = gc.Client("127.0.0.1:%d" % s.port)
    try:
        assert client.HandleReloadConfigRequest(req, timeout=60).status.error_code == 0
    finally:
        client.close()
    check_serving(s, "hp", "7")
    check_serving(s, "other", "1")
    assert index(s, ready=True) == [("hp", "7", "READY", ""), ("other", "1", "READY", "")]  # latest policy now


def test_other_model_keeps_answering(two):
    """Predicts on `other` (V2 REST, V2 gRPC, TF REST in turn) loop while hp is unloaded and
    loaded five times: no request fails."""
    s = two
    pb = v2pb()
    stop = threading.Event()
    results = {"ok": 0, "failed": []}

    def loop():
        i = 0
        while not stop.is_set():
            try:
                if i % 3 == 0:
                    r = infer(s, "other", BODY)
                    ok = r.status_code == 200 and r.json()["outputs"][0]["data"] == Y.ravel().tolist()
                elif i % 3 == 1:
                    resp = s.call("ModelInfer", grpc_request(pb, "other", "x", "FP32", X), pb.ModelInferResponse)
                    ok = np.array_equal(grpc_output(resp, 0, np.float32), Y)
                else:
                    ok = tf_predict(s, "other") == (200, {"predictions": [[2.5], [3.0]]})
            except Exception as e:  # noqa: BLE001 — any failure counts
                ok, r = False, e
            if ok:
                results["ok"] += 1
            else:
                results["failed"].append(i)
            i += 1

    t = threading.Thread(target=loop)
    t.start()
    try:
        for _ in range(5):
            assert repo(s, "hp", "unload").status_code == 200
            check_not_serving(s, "hp")
            grpc_repo(s, "hp", "load")
            check_serving(s, "hp", "7")
    finally:
        stop.set()
        t.join(60)
    assert results["failed"] == [] and results["ok"] > 10, results


def test_management_disabled_and_auth(tensord, generated_models, tmp_path):
    token = "repo-secret"
    (tmp_path / "tokens.txt").write_text(token + "\n")
    s = V2Server({"hp": os.path.join(generated_models, "half_plus_two_tf1")}, tmp_path,
                 args=["--enable_model_management=false", "--auth_token_file=%s" % (tmp_path / "tokens.txt")])
    try:
        auth = {"Authorization": "Bearer " + token}
        md = [("authorization", "Bearer " + token)]
        refused = "Model management is disabled on this server (--enable_model_management=false)"
        for action in ("load", "unload"):
            r = repo(s, "hp", action)
            assert r.status_code == 401 and "bearer token" in r.json()["error"]  # the token first
            code, _ = grpc_code(grpc_repo, s, "hp", action)
            assert code == grpc.StatusCode.UNAUTHENTICATED
            r = repo(s, "hp", action, headers=auth)
            assert r.status_code == 403 and r.json() == {"error": refused}
            r = repo(s, "nope", action, headers=auth)  # refused before any lookup
            assert r.status_code == 403
            code, msg = grpc_code(grpc_repo, s, "hp", action, metadata=md)
            assert code == grpc.StatusCode.PERMISSION_DENIED and msg == refused
        r = requests.post(s.url + "/v2/repository/index", headers=auth)  # reading stays allowed
        assert r.status_code == 200 and r.json() == [{"name": "hp", "version": "1", "state": "READY", "reason": ""}]
        r = infer(s, "hp", BODY, headers=auth)
        assert r.status_code == 200 and r.json()["model_version"] == "1"
    finally:
        s.channel.close()
        s.stop()


def test_single_model_flags(tensord, generated_models, tmp_path):
    """--model_name / --model_base_path: the repository is that one model."""
    s = V2Server.__new__(V2Server)
    s.port, s.rest_port = gc.free_port(), gc.free_port()
    s.log = open(str(tmp_path / "tensord.log"), "w+")
    s.proc = subprocess.Popen([tensord, "--port=%d" % s.port, "--rest_api_port=%d" % s.rest_port, "--model_name=solo",
                               "--model_base_path=" + os.path.join(generated_models, "half_plus_two_tf1")],
                              stdout=s.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    s.url = "http://127.0.0.1:%d" % s.rest_port
    try:
        assert gc.wait_grpc("127.0.0.1:%d" % s.port, s.proc, 60), s.output()
        s.channel = grpc.insecure_channel("127.0.0.1:%d" % s.port)
        deadline = time.time() + 60
        while time.time() < deadline and requests.get(s.url + "/v2/health/ready").status_code != 200:
            time.sleep(0.1)
        assert index(s) == [("solo", "1", "READY", "")]
        assert repo(s, "solo", "unload").status_code == 200
        check_not_serving(s, "solo")
        assert requests.get(s.url + "/v2/health/ready").status_code == 503  # nothing served
        assert repo(s, "other", "load").status_code == 404
        grpc_repo(s, "solo", "load")
        check_serving(s, "solo", "1")
        assert requests.get(s.url + "/v2/health/ready").status_code == 200
    finally:
        if hasattr(s, "channel"):
            s.channel.close()
        s.stop()
