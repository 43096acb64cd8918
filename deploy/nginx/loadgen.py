#!/usr/bin/python3
"""loadgen.py — a bounded Predict load against a load balancer, for scripts/rolling-update.sh.

Threads send half_plus_two Predict requests (REST through requests.Session keep-alive, gRPC
through one channel per thread, message classes from tests/e2e/grpc_client.py) to 127.0.0.1
only, back to back, until STOP_FILE exists or --max-seconds pass (it always stops by itself).
A request counts as failed on any transport error, non-200 / non-OK status, or a wrong answer
(x/2 + 2 for x in [1, 2, 5]). Each gRPC response names the model version that answered, so
the summary shows the replicas moving from one version to the next.

Prints one JSON object: requests, failures (+ the first errors), latency p50/p99 over the whole
run and over the roll window (ROLL_FILE's mtime .. STOP_FILE's mtime), and gRPC answers per
model version. Exit status 0 unless the generator itself breaks.
"""

import argparse
import json
import os
import sys
import threading
import time

import requests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

X = [1.0, 2.0, 5.0]
Y = [2.5, 3.0, 4.5]


def pct(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples = []  # (start, seconds, ok, proto, version)
        self.errors = []

    def add(self, start, secs, ok, proto, version=None, error=None):
        with self.lock:
            self.samples.append((start, secs, ok, proto, version))
            if error and len(self.errors) < 20:
                self.errors.append(f"{proto} at {start:.3f}: {error}")


def rest_worker(url, model, rec, done):
    s = requests.Session()
    body = json.dumps({"instances": X})
    target = f"{url}/v1/models/{model}:predict"
    while not done.is_set():
        t0 = time.time()
        try:
            r = s.post(target, data=body, timeout=30)
            secs = time.time() - t0
            if r.status_code != 200:
                rec.add(t0, secs, False, "rest", error=f"HTTP {r.status_code} {r.text[:200]}")
            elif r.json().get("predictions") != Y:
                rec.add(t0, secs, False, "rest", error=f"wrong answer {r.text[:200]}")
            else:
                rec.add(t0, secs, True, "rest")
        except Exception as e:  # noqa: BLE001 (every failure is counted, none stops the load)
            rec.add(t0, time.time() - t0, False, "rest", error=repr(e)[:300])


def grpc_worker(target, model, rec, done):
    import grpc_client as gc

    pb = gc.protos()
    client = gc.Client(target)
    req = pb.PredictRequest()
    req.model_spec.name = model
    req.inputs["x"].CopyFrom(gc.tensor([[v] for v in X], dtype="float32"))
    while not done.is_set():
        t0 = time.time()
        try:
            resp = client.Predict(req, timeout=30)
            secs = time.time() - t0
            got = [round(float(v), 6) for v in gc.to_numpy(resp.outputs["y"]).ravel()]
            version = resp.model_spec.version.value
            if got != Y:
                rec.add(t0, secs, False, "grpc", version, error=f"wrong answer {got}")
            else:
                rec.add(t0, secs, True, "grpc", version)
        except Exception as e:  # noqa: BLE001
            msg = f"{e.code()} {e.details()}" if hasattr(e, "code") else repr(e)
            rec.add(t0, time.time() - t0, False, "grpc", error=msg[:300])
    client.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rest", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--grpc", required=True, help="127.0.0.1:PORT")
    ap.add_argument("--model", default="half_plus_two")
    ap.add_argument("--rest-threads", type=int, default=3)
    ap.add_argument("--grpc-threads", type=int, default=2)
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--roll-file", required=True)
    ap.add_argument("--ready-file", help="created once every thread is sending")
    ap.add_argument("--max-seconds", type=float, default=180)
    a = ap.parse_args()
    for u in (a.rest, "http://" + a.grpc):
        if not u.startswith("http://127.0.0.1:"):
            sys.exit("loadgen: 127.0.0.1 targets only")

    import grpc_client as gc
    gc.protos()  # generate the message classes once, before the threads start

    rec, done = Recorder(), threading.Event()
    threads = [threading.Thread(target=rest_worker, args=(a.rest, a.model, rec, done), daemon=True)
               for _ in range(a.rest_threads)]
    threads += [threading.Thread(target=grpc_worker, args=(a.grpc, a.model, rec, done), daemon=True)
                for _ in range(a.grpc_threads)]
    t_start = time.time()
    for t in threads:
        t.start()
    if a.ready_file:
        open(a.ready_file, "w").close()
    while not os.path.exists(a.stop_file) and time.time() - t_start < a.max_seconds:
        time.sleep(0.05)
    timed_out = not os.path.exists(a.stop_file)
    done.set()
    for t in threads:
        t.join(timeout=35)

    roll0 = os.path.getmtime(a.roll_file) if os.path.exists(a.roll_file) else t_start
    roll1 = os.path.getmtime(a.stop_file) if os.path.exists(a.stop_file) else time.time()
    lat = [s[1] for s in rec.samples if s[2]]
    roll_lat = [s[1] for s in rec.samples if s[2] and roll0 <= s[0] <= roll1]
    versions = {}
    for s in rec.samples:
        if s[3] == "grpc" and s[2]:
            versions[str(s[4])] = versions.get(str(s[4]), 0) + 1
    out = {
        "requests": len(rec.samples),
        "failures": sum(1 for s in rec.samples if not s[2]),
        "rest": sum(1 for s in rec.samples if s[3] == "rest"),
        "grpc": sum(1 for s in rec.samples if s[3] == "grpc"),
        "seconds": round(time.time() - t_start, 2),
        "roll_seconds": round(roll1 - roll0, 2),
        "requests_during_roll": sum(1 for s in rec.samples if roll0 <= s[0] <= roll1),
        "p50_ms": round(1000 * pct(lat, 0.50), 2) if lat else None,
        "p99_ms": round(1000 * pct(lat, 0.99), 2) if lat else None,
        "roll_p99_ms": round(1000 * pct(roll_lat, 0.99), 2) if roll_lat else None,
        "roll_max_ms": round(1000 * max(roll_lat), 2) if roll_lat else None,
        "grpc_versions": versions,
        "stopped_by_timeout": timed_out,
        "errors": rec.errors,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
