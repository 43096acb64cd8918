"""test_metrics.py — Prometheus monitoring and SavedModel warmup on the real tensord binary
(tfserving-api.md §5, §6).

Metrics: after REST and gRPC requests, GET /monitoring/prometheus/metrics (on by default) is
`text/plain; version=0.0.4` with TF Serving's names and labels; request counters moved by exactly
the requests sent; histogram buckets are cumulative and end at _count; --monitoring_config_file
moves or disables the endpoint.
Warmup: a version dir with a warmup file written by tools/gen_warmup.py is replayed at load (log
line, warmup metrics); a later version whose warmup file is corrupt fails to load (END with
DATA_LOSS) while the earlier version keeps serving; --enable_model_warmup=false skips the file.
"""

import os
import re
import shutil
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import FIXTURES, REPO  # noqa: E402

HPT = os.path.join(FIXTURES, "tfserving_testdata", "saved_model_half_plus_two_cpu")
HPT_VERSION = os.path.join(HPT, "00000123")
METRICS = "/monitoring/prometheus/metrics"
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """Prometheus text → ({metric name: type}, [(sample name, {labels}, float value)])."""
    types, samples = {}, []
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        m = LINE.match(line)
        assert m, "bad exposition line: %r" % line
        samples.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return types, samples


def value(samples, name, **labels):
    found = [v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items())]
    return sum(found) if found else 0


def scrape(server, path=METRICS):
    r = server.get(path)
    assert r.status == 200, r.body
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4"
    return parse(r.body)


def check_histograms(types, samples):
    """Every histogram series: cumulative buckets, le ascending, +Inf last and == _count."""
    for name, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for n, l, v in samples:
            if n == name + "_bucket":
                key = tuple(sorted((k, x) for k, x in l.items() if k != "le"))
                series.setdefault(key, []).append((l["le"], v))
        assert series, name
        for key, buckets in series.items():
            les = [float(le) for le, _ in buckets]
            counts = [v for _, v in buckets]
            assert buckets[-1][0] == "+Inf" and les == sorted(les), (name, key)
            assert counts == sorted(counts), (name, key, counts)
            assert counts[-1] == value(samples, name + "_count", **dict(key)), (name, key)


@pytest.fixture(scope="module")
def hpt_server(model_servers, fixtures_dir):
    if not os.path.isdir(HPT):
        pytest.skip("fixture model absent: %s" % HPT)
    return model_servers("half_plus_two", HPT)


def test_counters_after_rest_and_grpc(hpt_server):
    gc = pytest.importorskip("grpc_client")
    s = hpt_server
    for _ in range(2):
        assert s.post("/v1/models/half_plus_two:predict", {"instances": [1.0, 2.0]}).status == 200
    assert s.post("/v1/models/half_plus_two:regress",
                  {"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}]}).status == 200
    assert s.post("/v1/models/no_such_model:predict", {"instances": [1.0]}).status == 404
    pb = gc.protos()
    grpc_port = int([a for a in s.args if a.startswith("--port=")][0].split("=")[1])
    client = gc.Client("127.0.0.1:%d" % grpc_port)
    try:
        req = pb.PredictRequest()
        req.model_spec.name = "half_plus_two"
        req.inputs["x"].CopyFrom(gc.tensor([1.0, 2.0, 3.0], dtype="float32"))
        client.Predict(req, timeout=10)
        rreq = pb.RegressionRequest()
        rreq.model_spec.name = "half_plus_two"
        rreq.model_spec.signature_name = "regress_x_to_y"
        rreq.input.example_list.examples.add().features.feature["x"].float_list.value.append(3.0)
        client.Regress(rreq, timeout=10)
    finally:
        client.close()

    types, samples = scrape(s)
    rc = ":tensorflow:serving:request_count"
    assert types[rc] == "counter"
    assert value(samples, rc, model_name="half_plus_two", status="OK") == 5
    # unconfigured names share one series (issue 12.6: bogus names must not grow the page)
    assert value(samples, rc, model_name="__unknown__", status="NOT_FOUND") == 1
    assert value(samples, rc, model_name="no_such_model", status="NOT_FOUND") == 0
    lat = ":tensorflow:serving:request_latency_count"
    assert types[":tensorflow:serving:request_latency"] == "histogram"
    assert value(samples, lat, model_name="half_plus_two", API="predict", entrypoint="REST") == 2
    assert value(samples, lat, model_name="half_plus_two", API="regress", entrypoint="REST") == 1
    assert value(samples, lat, model_name="half_plus_two", API="Predict", entrypoint="GRPC") == 1
    assert value(samples, lat, model_name="half_plus_two", API="Regress", entrypoint="GRPC") == 1
    assert value(samples, ":tensorflow:serving:runtime_latency_count", model_name="half_plus_two",
                 runtime="TF1") == 5
    assert value(samples, ":tensorflow:cc:saved_model:load_attempt_count", status="success") == 1
    # the 33 exponential latency buckets (10 * 1.8^i µs) and +Inf
    les = [l["le"] for n, l, _ in samples if n == lat.replace("_count", "_bucket") and l["API"] == "predict"]
    assert len(les) == 34 and les[0] == "10" and les[1] == "18" and les[-1] == "+Inf"
    check_histograms(types, samples)
    assert list(types) == sorted(types)  # families sorted by name


def test_monitoring_config_file(model_servers, fixtures_dir, tmp_path):
    if not os.path.isdir(HPT):
        pytest.skip("fixture model absent: %s" % HPT)
    moved = tmp_path / "moved.pbtxt"
    moved.write_text('prometheus_config { enable: true path: "/my/metrics" }\n')
    s = model_servers("half_plus_two", HPT, extra=["--monitoring_config_file=%s" % moved])
    scrape(s, "/my/metrics")
    assert s.get(METRICS).status == 404
    off = tmp_path / "off.pbtxt"
    off.write_text("prometheus_config { enable: false }\n")
    s = model_servers("half_plus_two", HPT, extra=["--monitoring_config_file=%s" % off])
    assert s.get(METRICS).status == 404
    assert s.post("/v1/models/half_plus_two:predict", {"instances": [1.0]}).status == 200


def copy_version(src, dst):
    shutil.copytree(src, dst)
    for root, dirs, files in os.walk(dst):
        for n in dirs + files:
            os.chmod(os.path.join(root, n), 0o755)


def gen_warmup(version_dir, *args):
    r = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen_warmup.py"), version_dir] + list(args),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_warmup_replay_and_corrupt_version(model_servers, fixtures_dir, tmp_path):
    if not os.path.isdir(HPT_VERSION):
        pytest.skip("fixture model absent: %s" % HPT_VERSION)
    base = tmp_path / "hpt"
    v1 = str(base / "1")
    copy_version(HPT_VERSION, v1)
    gen_warmup(v1, "--model", "hpt", "--predict", "x=1,2,3", "--regress", "x=4")
    s = model_servers("hpt", str(base), extra=["--num_request_iterations_for_warmup=3",
                                                "--max_num_load_retries=0", "--file_system_poll_wait_seconds=1"])
    assert "Finished reading warmup data for model at %s" % v1 in s.output()
    assert "Number of warmup records read: 2." in s.output()
    types, samples = scrape(s)
    assert value(samples, ":tensorflow:serving:model_warmup_records_read", model_path=v1, status="OK") == 2
    assert value(samples, ":tensorflow:serving:model_warmup_latency_count", model_path=v1, status="OK") == 1
    # warmup requests are not counted as served requests
    assert value(samples, ":tensorflow:serving:request_count", model_name="hpt") == 0

    # version 2 arrives with a corrupt warmup file: it fails, version 1 keeps serving
    staging = str(tmp_path / "staging")
    copy_version(HPT_VERSION, staging)
    gen_warmup(staging, "--model", "hpt", "--predict", "x=1", "--corrupt")
    os.rename(staging, str(base / "2"))
    deadline = time.time() + 15
    v2 = None
    while time.time() < deadline:
        st = s.get("/v1/models/hpt").json()
        v2 = [v for v in st.get("model_version_status", []) if v["version"] == "2"]
        if v2 and v2[0]["state"] == "END":
            break
        time.sleep(0.2)
    assert v2 and v2[0]["state"] == "END", st
    assert v2[0]["status"]["error_code"] == "DATA_LOSS", v2
    assert "Please verify your warmup data is in TFRecord format." in v2[0]["status"]["error_message"]
    r = s.post("/v1/models/hpt:predict", {"instances": [2.0]})
    assert r.status == 200 and r.json()["predictions"] == [3.0]
    types, samples = scrape(s)
    v2_path = str(base / "2")
    assert value(samples, ":tensorflow:serving:model_warmup_records_read", model_path=v2_path,
                 status="DATA_LOSS") == 0
    assert value(samples, ":tensorflow:serving:model_warmup_latency_count", model_path=v2_path,
                 status="DATA_LOSS") == 1


def test_warmup_disabled_skips_file(model_servers, fixtures_dir, tmp_path):
    if not os.path.isdir(HPT_VERSION):
        pytest.skip("fixture model absent: %s" % HPT_VERSION)
    v1 = str(tmp_path / "hpt" / "1")
    copy_version(HPT_VERSION, v1)
    gen_warmup(v1, "--model", "hpt", "--predict", "x=1", "--corrupt")
    s = model_servers("hpt", str(tmp_path / "hpt"), extra=["--enable_model_warmup=false"])
    assert "Finished reading warmup data" not in s.output() and "No warmup data file" not in s.output()
    assert s.post("/v1/models/hpt:predict", {"instances": [2.0]}).json()["predictions"] == [3.0]
