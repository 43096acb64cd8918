"""test_manager.py — the model manager end to end on the real binary: --model_config_file with two
models, version policies and labels (REST and gRPC), gRPC HandleReloadConfigRequest (add/remove,
TF's error texts), config-file polling, hot swaps under a load generator with zero failed
requests, a broken version that leaves the old one serving, label rules, /healthz and /readyz.

Run with: /usr/bin/python3 -m pytest tests/e2e/test_manager.py
Invariants: everything is written under pytest tmp dirs (fixtures are copied or symlinked,
never modified); every server is stopped and must exit 0.
"""

import http.client
import json
import os
import shutil
import subprocess
import threading
import time

import grpc
import pytest

from conftest import ModelServer, free_port
import grpc_client as gc

TESTDATA = "tfserving_testdata"


def tdata(fixtures_dir, *parts):
    return os.path.join(fixtures_dir, TESTDATA, *parts)


def model_entry(name, base, policy="", labels=None):
    labels = "".join(" version_labels { key: '%s' value: %d }" % kv for kv in (labels or {}).items())
    return "  config { name: '%s' base_path: '%s' model_platform: 'tensorflow' %s%s }\n" % (name, base, policy, labels)


def write_config(path, *entries):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        f.write("model_config_list {\n" + "".join(entries) + "}\n")
    os.replace(tmp, str(path))  # the poller never sees a half-written file


def start(tensord, tmp_path, config, extra=(), wait=True):
    grpc_port = free_port()
    args = [tensord, "--port=%d" % grpc_port, "--rest_api_port=%d" % free_port(), "--model_config_file=%s" % config,
            "--max_num_load_retries=0"] + list(extra)
    s = ModelServer(args, str(tmp_path / ("tensord_%d.log" % time.time_ns())))
    s.grpc_target = "127.0.0.1:%d" % grpc_port
    return s.wait_ready() if wait else s


def predict(server, path, x=2.0):
    r = server.post(path, {"instances": [x]})
    return r.status, (r.json() if r.body else None)


def grpc_version(client, name, label=None, version=None):
    pb = gc.protos()
    req = pb.PredictRequest()
    gc.model_spec(req.model_spec, name, version=version, label=label)
    req.inputs["x"].CopyFrom(gc.tensor([2.0], dtype="float32", shape=[1]))
    return client.Predict(req, timeout=10).model_spec.version.value


def reload_request(*models):
    """models: (name, base_path, labels dict or None, specific versions or None)."""
    pb = gc.protos()
    req = pb.ReloadConfigRequest()
    for name, base, labels, versions in models:
        c = req.config.model_config_list.config.add(name=name, base_path=base, model_platform="tensorflow")
        for k, v in (labels or {}).items():
            c.version_labels[k] = v
        if versions:
            c.model_version_policy.specific.versions.extend(versions)
    return req


@pytest.fixture(scope="module")
def bases(fixtures_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    hp2 = str(root / "hp2")
    shutil.copytree(tdata(fixtures_dir, "saved_model_half_plus_two_2_versions"), hp2)
    hp3 = str(root / "hp3")
    shutil.copytree(tdata(fixtures_dir, "saved_model_half_plus_three"), hp3)
    return {"hp2": hp2, "hp3": hp3, "root": root}


def test_config_file_labels_and_grpc_reload(tensord, bases, tmp_path):
    cfg = tmp_path / "models.config"
    write_config(cfg, model_entry("hp2", bases["hp2"], "model_version_policy { specific { versions: 123 versions: 124 } }",
                                  {"stable": 123, "canary": 124}),
                 model_entry("hp3", bases["hp3"]))
    s = start(tensord, tmp_path, cfg)
    client = gc.Client(s.grpc_target)
    try:
        status = s.get("/v1/models/hp2").json()["model_version_status"]
        assert [(v["version"], v["state"]) for v in status] == [("124", "AVAILABLE"), ("123", "AVAILABLE")]
        assert predict(s, "/v1/models/hp2/labels/stable:predict") == (200, {"predictions": [3.0]})
        assert predict(s, "/v1/models/hp2/labels/canary:predict") == (200, {"predictions": [3.0]})
        assert predict(s, "/v1/models/hp3:predict") == (200, {"predictions": [4.0]})
        code, body = predict(s, "/v1/models/hp2/labels/nope:predict")
        assert code == 400 and body == {"error": "Unrecognized servable version label: nope"}
        assert grpc_version(client, "hp2", label="stable") == 123
        assert grpc_version(client, "hp2", label="canary") == 124
        assert grpc_version(client, "hp2") == 124
        assert s.get("/healthz").status == 200 and s.get("/healthz").body == "ok"
        assert s.get("/readyz").status == 200
        listed = {m["name"]: m for m in s.get("/v1/models").json()["models"]}  # tensord extension: the model list
        assert {v["version"] for v in listed["hp2"]["model_version_status"]} >= {"123", "124"}, listed

        # reload: hp3 leaves, hp3b arrives, labels swap
        resp = client.HandleReloadConfigRequest(reload_request(
            ("hp2", bases["hp2"], {"stable": 124, "canary": 123}, [123, 124]), ("hp3b", bases["hp3"], None, None)),
            timeout=30)
        assert resp.status.error_code == 0
        assert grpc_version(client, "hp2", label="stable") == 124
        assert predict(s, "/v1/models/hp3b:predict") == (200, {"predictions": [4.0]})
        code, body = predict(s, "/v1/models/hp3:predict")
        assert code == 404 and body == {"error": "Servable not found for request: Latest(hp3)"}

        # errors: TF's texts, nothing changes
        errors = [
            (reload_request(("hp2", bases["hp2"], {"stable": 999}, [123, 124]), ("hp3b", bases["hp3"], None, None)),
             grpc.StatusCode.FAILED_PRECONDITION,
             "Request to assign label to version 999 of model hp2, which is not currently available for inference"),
            (reload_request(("a", bases["hp3"], None, None), ("a", bases["hp3"], None, None)),
             grpc.StatusCode.INVALID_ARGUMENT, "Illegal to list model a multiple times in config list"),
            (reload_request(("a", "relative/x", None, None)), grpc.StatusCode.INVALID_ARGUMENT,
             "Expected model a to have an absolute path or URI; got base_path()=relative/x"),
        ]
        for req, code, msg in errors:
            with pytest.raises(grpc.RpcError) as e:
                client.HandleReloadConfigRequest(req, timeout=30)
            assert e.value.code() == code and e.value.details() == msg
        bad_platform = reload_request(("a", bases["hp3"], None, None))
        bad_platform.config.model_config_list.config[0].model_platform = "pytorch"
        with pytest.raises(grpc.RpcError) as e:
            client.HandleReloadConfigRequest(bad_platform, timeout=30)
        assert e.value.details() == "Model a requested unsupported platform pytorch"
        assert grpc_version(client, "hp2", label="stable") == 124
        assert predict(s, "/v1/models/hp3b:predict")[0] == 200
    finally:
        client.close()
        assert s.stop() == 0


def test_bad_config_files_fail_startup(tensord, fixtures_dir, bases, tmp_path):
    r = subprocess.run([tensord, "--port=%d" % free_port(), "--model_config_file=" +
                        tdata(fixtures_dir, "bad_model_config.txt")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 255
    assert "Error parsing text-format tensorflow.serving.ModelServerConfig" in r.stderr
    cfg = tmp_path / "labels.config"
    write_config(cfg, model_entry("hp3", bases["hp3"], "", {"stable": 7}))
    r = subprocess.run([tensord, "--port=%d" % free_port(), "--model_config_file=%s" % cfg], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 255
    assert ("Failed to start server. Error: FAILED_PRECONDITION: Request to assign label to version 7 of model hp3, "
            "which is not currently available for inference") in r.stderr
    # the fixture's good config, placeholders substituted
    with open(tdata(fixtures_dir, "good_model_config.txt")) as f:
        text = f.read().replace("${TEST_HALF_PLUS_TWO_DIR}", bases["hp2"]).replace("${TEST_HALF_PLUS_THREE_DIR}",
                                                                                  bases["hp3"])
    good = tmp_path / "good.config"
    good.write_text(text)
    s = start(tensord, tmp_path, good)
    try:
        assert predict(s, "/v1/models/half_plus_two:predict") == (200, {"predictions": [3.0]})
        assert predict(s, "/v1/models/half_plus_three:predict") == (200, {"predictions": [4.0]})
    finally:
        assert s.stop() == 0


class LoadGenerator(threading.Thread):
    """Sends predict requests back to back; counts the ones that did not answer 200."""

    def __init__(self, port, path):
        super().__init__(daemon=True)
        self.port, self.path = port, path
        self.stop_flag = threading.Event()
        self.ok, self.failed, self.failures = 0, 0, []

    def run(self):
        body = json.dumps({"instances": [2.0]})
        while not self.stop_flag.is_set():
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                c.request("POST", self.path, body)
                r = c.getresponse()
                data = r.read()
                c.close()
                if r.status == 200:
                    self.ok += 1
                else:
                    self.failed += 1
                    self.failures.append((r.status, data[:200]))
            except Exception as e:  # noqa: BLE001 — any failure counts
                self.failed += 1
                self.failures.append(repr(e))


def copy_version(src, base, version):
    """Copies into a hidden temp name, then renames: the version appears complete at once."""
    tmp = os.path.join(base, ".tmp_%d" % version)
    shutil.copytree(src, tmp)
    os.rename(tmp, os.path.join(base, str(version)))


def wait_version(server, name, version, state="AVAILABLE", timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = server.get("/v1/models/%s/versions/%d" % (name, version))
        if r.status == 200 and r.json()["model_version_status"][0]["state"] == state:
            return r.json()["model_version_status"][0]
        time.sleep(0.1)
    raise AssertionError("version %d of %s never became %s:\n%s" % (version, name, state, server.output()))


def test_hot_swaps_under_load_and_broken_version(tensord, fixtures_dir, tmp_path):
    hp2 = tdata(fixtures_dir, "saved_model_half_plus_two_cpu", "00000123")
    hp3 = tdata(fixtures_dir, "saved_model_half_plus_three", "00000123")
    base = str(tmp_path / "swap")
    os.makedirs(base)
    copy_version(hp2, base, 1)
    cfg = tmp_path / "swap.config"
    write_config(cfg, model_entry("m", base))
    s = start(tensord, tmp_path, cfg, ["--file_system_poll_wait_seconds=1"])
    gen = LoadGenerator(s.rest_port, "/v1/models/m:predict")
    gen.start()
    try:
        for v, src, want in ((2, hp3, 4.0), (3, hp2, 3.0), (4, hp3, 4.0)):
            copy_version(src, base, v)
            wait_version(s, "m", v)
            wait_version(s, "m", v - 1, state="END")
            assert predict(s, "/v1/models/m:predict") == (200, {"predictions": [want]})
        # a broken version: END with its error, version 4 keeps serving
        os.makedirs(os.path.join(base, "5"))
        with open(os.path.join(hp2, "saved_model.pb"), "rb") as f:
            head = f.read(100)
        with open(os.path.join(base, "5", "saved_model.pb"), "wb") as f:
            f.write(head)
        st = wait_version(s, "m", 5, state="END")
        assert st["status"]["error_code"] != "OK" and st["status"]["error_message"]
        time.sleep(1.2)
        assert predict(s, "/v1/models/m:predict") == (200, {"predictions": [4.0]})
        assert s.get("/readyz").status == 200
    finally:
        gen.stop_flag.set()
        gen.join(15)
        assert s.stop() == 0
    print("load generator: %d ok, %d failed" % (gen.ok, gen.failed))
    assert gen.ok > 20, "load generator barely ran: %d ok" % gen.ok
    assert gen.failed == 0, "failed requests during swaps: %r" % gen.failures[:5]


def test_config_file_poll_and_labels_for_unavailable_versions(tensord, fixtures_dir, tmp_path):
    hp2 = tdata(fixtures_dir, "saved_model_half_plus_two_cpu", "00000123")
    hp3 = tdata(fixtures_dir, "saved_model_half_plus_three", "00000123")
    base = str(tmp_path / "lab")
    os.makedirs(base)
    copy_version(hp2, base, 1)
    cfg = tmp_path / "poll.config"
    policy = "model_version_policy { all {} }"
    write_config(cfg, model_entry("m", base, policy, {"now": 1, "next": 2}))
    s = start(tensord, tmp_path, cfg, ["--file_system_poll_wait_seconds=1", "--model_config_file_poll_wait_seconds=1",
                                       "--allow_version_labels_for_unavailable_models"])
    try:
        assert predict(s, "/v1/models/m/labels/now:predict") == (200, {"predictions": [3.0]})
        code, body = predict(s, "/v1/models/m/labels/next:predict")
        assert code == 404 and body == {"error": "Servable not found for request: Specific(m, 2)"}
        copy_version(hp3, base, 2)
        wait_version(s, "m", 2)
        assert predict(s, "/v1/models/m/labels/next:predict") == (200, {"predictions": [4.0]})
        # the config file changes: a second model appears, readiness follows
        write_config(cfg, model_entry("m", base, policy, {"now": 1, "next": 2}), model_entry("ghost", base + "_none"))
        deadline = time.time() + 10
        while s.get("/readyz").status != 503 and time.time() < deadline:
            time.sleep(0.1)
        assert s.get("/readyz").status == 503
        assert predict(s, "/v1/models/m/labels/now:predict")[0] == 200  # others unaffected
        write_config(cfg, model_entry("m", base, policy, {"now": 1, "next": 2}), model_entry("m2", base))
        deadline = time.time() + 10
        while predict(s, "/v1/models/m2:predict")[0] != 200 and time.time() < deadline:
            time.sleep(0.1)
        assert predict(s, "/v1/models/m2:predict") == (200, {"predictions": [4.0]})
        assert s.get("/readyz").status == 200
    finally:
        assert s.stop() == 0


def test_parallel_loads_of_real_models(tensord, fixtures_dir, tmp_path):
    """--num_load_threads=4: a config of real exports (TF1 and TF2, estimators, Keras) loads in
    parallel and every model answers as when loaded alone."""
    models = os.path.join(fixtures_dir, "models")
    entries = [model_entry("hpt", tdata(fixtures_dir, "saved_model_half_plus_two_cpu")),
               model_entry("hpt_tf2", tdata(fixtures_dir, "saved_model_half_plus_two_tf2_cpu"))]
    for name in ("mnist_seoinjae", "mnist_dstoryz", "iris_estimator_raw", "census_wide_deep_coby"):
        entries.append(model_entry(name, os.path.join(models, name)))
    config = tmp_path / "models.config"
    write_config(config, *entries)
    s = start(tensord, tmp_path, str(config), ["--num_load_threads=4"])
    try:
        for e in ("hpt", "hpt_tf2", "mnist_seoinjae", "mnist_dstoryz", "iris_estimator_raw", "census_wide_deep_coby"):
            r = s.get("/v1/models/" + e)
            assert r.status == 200 and r.json()["model_version_status"][0]["state"] == "AVAILABLE", r.body
        assert predict(s, "/v1/models/hpt:predict") == (200, {"predictions": [3.0]})
        assert predict(s, "/v1/models/hpt_tf2:predict") == (200, {"predictions": [3.0]})
        r = s.post("/v1/models/mnist_seoinjae:predict", {"instances": [[[0.0] * 28] * 28]})
        assert r.status == 200 and len(r.json()["predictions"][0]) == 10
    finally:
        assert s.stop() == 0
    assert s.output().count("Successfully loaded servable version") == 6
