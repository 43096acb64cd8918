#!/usr/bin/python3
"""seed_bench.py — the seed's workload against tensord: MNIST images/s over REST vs gRPC, bytes on
the wire per image, and the iris estimator with 1000 rows per gRPC Predict timed to the answer.

  seed_bench.py --tensord BUILD/tensord --fixtures ../shared/fixtures --out RAW.jsonl
                [--port 19500] [--duration 10s] [--rounds 3] [--quick 0|1] [--conns 16]
                [--batches 1,100] [--iris-calls 30]

Servers (all started once, stopped on exit; --tensorflow_intra_op_parallelism=1 when the flag
exists): `tensord --port=P+1 --rest_api_port=P --model_name=mnist
--model_base_path=FIXTURES/models/mnist_seoinjae`, the same on P+3/P+2 for `iris`
(FIXTURES/models/iris_estimator_raw), and mnist again on P+5/P+4 with server-side batching
(--enable_batching, BATCHING_PARAMS below), which only the one-image-per-request runs also use
(rows with "batching": true).

MNIST (mnist_seoinjae, signature serving_default: flatten_input float[-1,28,28] → dense_1
float[-1,10] softmax). The first B digits of FIXTURES/datasets/mnist10k-images.idx3-ubyte, /255.
One request per B is built up front and replayed with a C load generator, C connections:
  * REST: `wrk -t1 -cC --latency`, POST /v1/models/mnist:predict with
    {"instances": x.tolist()} where x = uint8 images / 255.0 (float64, json.dumps' shortest repr,
    what a Keras-style seed client sends), shape [B,28,28].
  * gRPC: `h2load -cC -m1` posting one gRPC-framed PredictRequest (model_spec mnist,
    signature serving_default, flatten_input as a DT_FLOAT TensorProto with tensor_content = packed
    little-endian float32, what tf.make_tensor_proto puts on the wire); p50/p99 come from h2load's
    --log-file per-request times.
Before each load run one Python call (http.client / grpcio) sends the very same bytes and checks
HTTP 200 / gRPC status OK and that argmax(dense_1) matches the labels for >= 90% of the batch;
otherwise the load run is skipped and the row carries "error" (h2load itself only sees HTTP-level
success, wrk only non-2xx). "errors" = wrk's non-2xx count / h2load's failed requests.
Bytes per image: REST = request / response *body* bytes / B (HTTP headers excluded); gRPC =
(protobuf message bytes + 5-byte gRPC frame prefix) / B for request and response (HTTP/2 HEADERS
frames, trailers and frame headers excluded).

Iris (iris_estimator_raw, signature predict: four float[-1] feature tensors, tensor_content):
FIXTURES/datasets/iris.csv's 150 rows repeated to 1000 rows in one PredictRequest; one untimed
warm-up call, then --iris-calls sequential grpcio calls, each timed from the stub call (request
serialization included) to the decoded class_ids; accuracy = class_ids vs the species labels.

Rounds alternate REST and gRPC for each B, then iris. Output: one JSON line per measurement,
appended to --out:
  {"kind":"seed","what":"mnist","proto":"rest"|"grpc","batch":B,"round":r,"conns":C,"rps":..,
   "img_per_s":..,"p50_ms":..,"p99_ms":..,"req_bytes_per_img":..,"resp_bytes_per_img":..,
   "accuracy":..,"errors":..}
  {"kind":"seed","what":"iris1000","round":r,"calls":N,"rows":1000,"median_ms":..,"min_ms":..,
   "p90_ms":..,"accuracy":..,"req_bytes":..,"resp_bytes":..}
Responses use tensord's defaults (float_val, as TF Serving without
--enable_serialization_as_tensor_content). --quick 1: one round, 1 s per load run, 5 iris calls
(~5 s). Missing wrk or h2load skips that protocol with a note on stderr. The load generators share
the machine's cores with tensord. Nothing here asserts a timing.
"""
import argparse
import csv
import http.client
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import grpc_client as gc  # noqa: E402
from server_bench import stop, unit_ms  # noqa: E402

PREDICT_PATH = "/tensorflow.serving.PredictionService/Predict"
IRIS_NAMES = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
IRIS_COLS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
SPECIES = ["setosa", "versicolor", "virginica"]


def note(msg):
    print("seed_bench: " + msg, file=sys.stderr)


# ---- data ----

def read_idx(path):
    """MNIST IDX file → uint8 array (images [N,28,28] or labels [N])."""
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist(fixtures):
    d = os.path.join(fixtures, "datasets")
    return (read_idx(os.path.join(d, "mnist10k-images.idx3-ubyte")),
            read_idx(os.path.join(d, "mnist10k-labels.idx1-ubyte")))


def iris_1000(fixtures):
    """The 150 iris.csv rows repeated to 1000: (features float32 [1000,4], label ids [1000])."""
    with open(os.path.join(fixtures, "datasets", "iris.csv")) as f:
        rows = list(csv.DictReader(f))
    pick = [rows[i % len(rows)] for i in range(1000)]
    x = np.array([[float(r[c]) for c in IRIS_COLS] for r in pick], np.float32)
    return x, np.array([SPECIES.index(r["species"]) for r in pick])


# ---- requests ----

def rest_body(images):
    return json.dumps({"instances": (images / 255.0).tolist()}).encode()


def grpc_request(images):
    pb = gc.protos()
    req = pb.PredictRequest()
    gc.model_spec(req.model_spec, "mnist", signature="serving_default")
    req.inputs["flatten_input"].CopyFrom(gc.tensor(images.astype(np.float32) / 255.0, content=True))
    return req.SerializeToString()


def grpc_frame(msg):
    return b"\x00" + struct.pack(">I", len(msg)) + msg


def accuracy(scores, labels):
    return float(np.mean(np.argmax(np.asarray(scores), axis=1) == labels))


def check_rest(port, body, labels):
    """One POST with http.client: (accuracy, response body bytes, error or None)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        c.request("POST", "/v1/models/mnist:predict", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    if r.status != 200:
        return 0.0, len(data), "HTTP %d: %s" % (r.status, data[:200])
    return accuracy(json.loads(data)["predictions"], labels), len(data), None


def check_grpc(client, msg, labels):
    """One Predict with grpcio on the raw message: (accuracy, response bytes incl. prefix, error)."""
    import grpc
    try:
        raw = client.raw(PREDICT_PATH, msg, timeout=60)
    except grpc.RpcError as e:
        return 0.0, 0, "gRPC %s: %s" % (e.code(), e.details())
    out = gc.protos().PredictResponse.FromString(raw).outputs["dense_1"]
    return accuracy(gc.to_numpy(out), labels), len(raw) + 5, None


# ---- load generators ----

def write_tmp(tmp, name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def run_wrk(port, duration, conns, lua):
    cmd = ["wrk", "-t1", "-c%d" % conns, "-d" + duration, "--latency", "-s", lua,
           "http://127.0.0.1:%d/v1/models/mnist:predict" % port]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        r[key] = round(unit_ms(re.search(r"^\s+%s%%\s+(\S+)" % pct, out, re.M).group(1)), 4)
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    r["errors"] = int(m.group(1)) if m else 0
    e = re.search(r"Socket errors:.*", out)
    if e:
        r["socket_errors"] = e.group(0)
    return r


def run_h2load(port, duration, conns, body_file, log_file):
    secs = max(1, int(unit_ms(duration) / 1000))
    cmd = ["h2load", "-c%d" % conns, "-m1", "-D%d" % secs, "-d", body_file, "--log-file=" + log_file,
           "-H", "content-type: application/grpc", "-H", "te: trailers",
           "http://127.0.0.1:%d%s" % (port, PREDICT_PATH)]
    if os.path.exists(log_file):
        os.unlink(log_file)
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    m = re.search(r"finished in .*?, ([\d.]+) req/s", out)
    s = re.search(r"requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed", out)
    us = []
    if os.path.exists(log_file):
        with open(log_file) as f:
            us = [int(line.split("\t")[2]) for line in f if line.strip()]
    if not m or not us:
        return {"error": "h2load: " + out[-400:]}
    return {"rps": float(m.group(1)), "errors": int(s.group(1)) if s else None,
            "p50_ms": round(float(np.percentile(us, 50)) / 1e3, 4),
            "p99_ms": round(float(np.percentile(us, 99)) / 1e3, 4)}


# ---- servers ----

# Server-side batching for the one-image-per-request runs: TF Serving's CPU recipe (batch threads =
# cores, no timeout: whatever queued while the threads were busy forms the next batch).
BATCHING_PARAMS = ("max_batch_size { value: 128 } batch_timeout_micros { value: 0 } "
                   "max_enqueued_batches { value: 1000 } num_batch_threads { value: %d }" % (os.cpu_count() or 1))


def server_cmd(tensord, name, base, grpc_port, rest_port):
    cmd = [tensord, "--port=%d" % grpc_port, "--rest_api_port=%d" % rest_port, "--model_name=" + name,
           "--model_base_path=" + os.path.abspath(base)]
    flags = subprocess.run([tensord, "serve", "--help"], capture_output=True, text=True)
    if "--tensorflow_intra_op_parallelism" in flags.stdout + flags.stderr:
        cmd.append("--tensorflow_intra_op_parallelism=1")
    return cmd


def start_server(cmd, log):
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


def wait_available(p, rest_port, name, limit=60.0):
    """Polls GET /v1/models/NAME until the model is AVAILABLE; False if it never is."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit and p.poll() is None:
        try:
            c = http.client.HTTPConnection("127.0.0.1", rest_port, timeout=1)
            c.request("GET", "/v1/models/" + name)
            r = c.getresponse()
            ok = r.status == 200 and b"AVAILABLE" in r.read()
            c.close()
            if ok:
                return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


# ---- measurements ----

class MnistCase:
    """One batch size: the request bytes for both protocols, the files the load tools read."""

    def __init__(self, images, labels, tmp):
        self.batch, self.labels = len(labels), labels
        self.rest = rest_body(images)
        self.grpc = grpc_request(images)
        body_file = write_tmp(tmp, "rest_%d.json" % self.batch, self.rest)
        self.lua = write_tmp(tmp, "post_%d.lua" % self.batch, (
            'local f = assert(io.open("%s", "rb"))\nwrk.body = f:read("*a")\nf:close()\n'
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n' % body_file).encode())
        self.grpc_file = write_tmp(tmp, "grpc_%d.bin" % self.batch, grpc_frame(self.grpc))
        self.h2log = os.path.join(tmp, "h2load_%d.log" % self.batch)


def mnist_rest(case, a, port):
    acc, resp_bytes, err = check_rest(port, case.rest, case.labels)
    row = {"req_bytes_per_img": len(case.rest) / case.batch, "resp_bytes_per_img": resp_bytes / case.batch,
           "accuracy": acc}
    if err or acc < 0.9:
        return dict(row, error=err or "accuracy %.2f < 0.9" % acc)
    return dict(row, **run_wrk(port, a.duration, a.conns, case.lua))


def mnist_grpc(case, a, port, client):
    acc, resp_bytes, err = check_grpc(client, case.grpc, case.labels)
    row = {"req_bytes_per_img": (len(case.grpc) + 5) / case.batch, "resp_bytes_per_img": resp_bytes / case.batch,
           "accuracy": acc}
    if err or acc < 0.9:
        return dict(row, error=err or "accuracy %.2f < 0.9" % acc)
    return dict(row, **run_h2load(port, a.duration, a.conns, case.grpc_file, case.h2log))


def iris_request(x):
    pb = gc.protos()
    req = pb.PredictRequest()
    gc.model_spec(req.model_spec, "iris", signature="predict")
    for i, n in enumerate(IRIS_NAMES):
        req.inputs[n].CopyFrom(gc.tensor(x[:, i], content=True))
    return req


def iris_round(client, req, truth, calls):
    """Untimed warm-up (sizes), then `calls` sequential Predicts timed to the decoded class_ids."""
    raw = client.raw(PREDICT_PATH, req.SerializeToString(), timeout=60)
    ids = gc.to_numpy(gc.protos().PredictResponse.FromString(raw).outputs["class_ids"]).ravel()
    acc = float(np.mean(ids == truth))
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        gc.to_numpy(client.Predict(req, timeout=60).outputs["class_ids"])
        times.append((time.perf_counter() - t0) * 1e3)
    return {"calls": calls, "rows": len(truth), "median_ms": round(float(np.median(times)), 3),
            "min_ms": round(min(times), 3), "p90_ms": round(float(np.percentile(times, 90)), 3),
            "accuracy": acc, "req_bytes": req.ByteSize() + 5, "resp_bytes": len(raw) + 5}


# ---- main ----

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tensord", required=True)
    ap.add_argument("--fixtures", default=os.path.join(HERE, "..", "..", "shared", "fixtures"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--port", type=int, default=19500)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", type=int, default=0)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--batches", default="1,100")
    ap.add_argument("--iris-calls", type=int, default=30)
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.duration, a.iris_calls = 1, "1s", 5
    return a


def main():
    a = parse_args()
    have_wrk, have_h2 = shutil.which("wrk") is not None, shutil.which("h2load") is not None
    if not have_wrk:
        note("wrk not installed; skipping MNIST over REST")
    if not have_h2:
        note("h2load not installed (nghttp2-client); skipping MNIST over gRPC")
    images, labels = mnist(a.fixtures)
    iris_x, iris_truth = iris_1000(a.fixtures)
    models = os.path.join(a.fixtures, "models")
    mnist_dir = os.path.join(models, "mnist_seoinjae")
    procs, clients = {}, {}
    with tempfile.TemporaryDirectory(prefix="td_seed_bench_") as tmp, open(a.out, "a") as out:
        batching = write_tmp(tmp, "batching.txt", BATCHING_PARAMS.encode())
        # server → (model name, base path, gRPC port, REST port, extra flags)
        servers = {"mnist": ("mnist", mnist_dir, a.port + 1, a.port, []),
                   "iris": ("iris", os.path.join(models, "iris_estimator_raw"), a.port + 3, a.port + 2, []),
                   "mnist_batched": ("mnist", mnist_dir, a.port + 5, a.port + 4,
                                     ["--enable_batching", "--batching_parameters_file=" + batching])}
        try:
            for name, (model, base, gport, rport, extra) in servers.items():
                log = os.path.join(tmp, name + ".log")
                with open(log, "wb") as f:
                    procs[name] = start_server(server_cmd(a.tensord, model, base, gport, rport) + extra, f)
                if not wait_available(procs[name], rport, model):
                    with open(log, "rb") as f:
                        sys.stderr.write(f.read()[-2000:].decode(errors="replace"))
                    raise SystemExit("seed_bench: %s never became AVAILABLE on port %d" % (name, rport))
                clients[name] = gc.Client("127.0.0.1:%d" % gport)
            cases = [MnistCase(images[:b], labels[:b], tmp) for b in map(int, a.batches.split(","))]
            iris_req = iris_request(iris_x)
            runs = [(proto, batched, fn) for proto, batched, have, fn in (
                ("rest", False, have_wrk, lambda case: mnist_rest(case, a, a.port)),
                ("grpc", False, have_h2, lambda case: mnist_grpc(case, a, a.port + 1, clients["mnist"])),
                ("rest", True, have_wrk, lambda case: mnist_rest(case, a, a.port + 4)),
                ("grpc", True, have_h2, lambda case: mnist_grpc(case, a, a.port + 5, clients["mnist_batched"])))
                if have]
            for r in range(1, a.rounds + 1):
                for case in cases:
                    base = {"kind": "seed", "what": "mnist", "batch": case.batch, "round": r, "conns": a.conns}
                    for proto, batched, fn in runs:
                        if batched and case.batch != 1:
                            continue
                        base["batching"] = batched
                        note("mnist %s batch=%d%s round %d/%d" % (proto, case.batch, " (server batching)" if batched
                                                                 else "", r, a.rounds))
                        d = fn(case)
                        if "rps" in d:
                            d["img_per_s"] = round(d["rps"] * case.batch, 1)
                        out.write(json.dumps(dict(base, proto=proto, **d)) + "\n")
                        out.flush()
                note("iris1000 round %d/%d (%d calls)" % (r, a.rounds, a.iris_calls))
                d = iris_round(clients["iris"], iris_req, iris_truth, a.iris_calls)
                out.write(json.dumps(dict({"kind": "seed", "what": "iris1000", "round": r}, **d)) + "\n")
                out.flush()
        finally:
            for c in clients.values():
                c.close()
            for p in procs.values():
                stop(p)


if __name__ == "__main__":
    main()
