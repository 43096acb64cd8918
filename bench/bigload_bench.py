#!/usr/bin/python3
"""bigload_bench.py — loading a large embedding model: time and memory (issue 14 point 4).

Called by bench/run.sh (section "bigload"; --skip bigload skips it). The model is generated at
bench time by tools/gen_big_model.py into --models (default 1,000,000 x 128 float32 = 512 MB
table + a dense head; reused while its parameters match), never committed, with its ONNX twin
(the same weights as external data) for ONNX Runtime. Appends JSON lines to --out:
  {"kind":"bigload","engine":E,"round":r,"ready_ms":..,"load_ms":..,"anon_kb":..,"file_kb":..,
   "weight_bytes":..,"checksum":..}
  E = "tensord"          default: weights mapped, crc32c verified on the mapping (TF's check)
      "tensord-noverify" TD_CHECKPOINT_VERIFY=0: mapped, checksums of mapped entries skipped
      "tensord-copy"     TD_CHECKPOINT_MMAP=0: read + copy (tensord before the mapping)
      "tensord-tiny"     the same graph with a 16-row table: the server's own memory
      "ort"              bench/ort_load.js: InferenceSession.create + first run in node
  tensord: ready_ms = Popen -> first 200 answer to a predict (polled every 2 ms), load_ms = the
  server's own "Successfully loaded servable ... in X ms", anon_kb / file_kb = Anonymous and
  Rss - Anonymous of /proc/PID/smaps_rollup after that predict. ort: ready_ms = create + first
  run, load_ms = create, anon_kb / file_kb = growth of node's own figures over its state before
  create (V8 and the addon already loaded). The page cache is warm (the files were just written
  or read): this measures what the loader itself costs, not the disk.
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
IDS = [[(i * 7919 + k * 104729) % 16 for k in range(8)] for i in range(4)]  # valid for every table


def smaps(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Rss", "Anonymous"):
                out[k] = int(v.split()[0])
    return out["Anonymous"], out["Rss"] - out["Anonymous"]


def predict(port, fields):
    body = json.dumps({"instances": [row[:fields] for row in IDS]}).encode()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("POST", "/v1/models/bigemb:predict", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return json.loads(data)["predictions"] if r.status == 200 else None
    except (OSError, ValueError):
        return None


def checksum(y):
    flat = [v for row in y for v in (row if isinstance(row, list) else [row])]
    return round(sum(v * (i % 7 + 1) for i, v in enumerate(flat)), 6)


def run_tensord(a, base, env_extra, port):
    env = dict(os.environ)
    env.update(env_extra)
    log = os.path.join(a.models, "tensord_%d.log" % port)
    t0 = time.perf_counter()
    with open(log, "w") as lf:
        p = subprocess.Popen([a.tensord, "--port=%d" % (port + 1), "--rest_api_port=%d" % port,
                              "--model_name=bigemb", "--model_base_path=" + base], stdout=lf, stderr=subprocess.STDOUT,
                             env=env)
    try:
        y = None
        while time.perf_counter() - t0 < 120 and p.poll() is None:
            y = predict(port, a.fields)
            if y is not None:
                break
            time.sleep(0.002)
        ready = (time.perf_counter() - t0) * 1e3
        if y is None:
            raise RuntimeError("tensord never answered:\n" + open(log).read()[-2000:])
        anon, filekb = smaps(p.pid)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    m = re.search(r"Successfully loaded servable version \{name: bigemb version: 1\} in ([0-9.]+) ms", open(log).read())
    return {"ready_ms": round(ready, 2), "load_ms": float(m.group(1)) if m else None, "anon_kb": anon,
            "file_kb": filekb, "checksum": checksum(y)}


def generate(a):
    stamp = os.path.join(a.models, "stamp.json")
    want = {"vocab": a.vocab, "dim": a.dim, "fields": a.fields, "onnx": bool(a.ort), "v": 1}
    try:
        if json.load(open(stamp)) == want:
            return
    except (OSError, ValueError):
        pass
    os.makedirs(a.models, exist_ok=True)
    gen = [sys.executable, os.path.join(REPO, "tools", "gen_big_model.py")]
    onnx = ["--onnx", os.path.join(a.models, "bigemb.onnx")] if a.ort else []
    subprocess.run(gen + [os.path.join(a.models, "bigemb"), "--vocab", str(a.vocab), "--dim", str(a.dim),
                          "--fields", str(a.fields)] + onnx, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(gen + [os.path.join(a.models, "tiny"), "--vocab", "16", "--dim", str(a.dim), "--fields",
                          str(a.fields)], check=True, stdout=subprocess.DEVNULL)
    json.dump(want, open(stamp, "w"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tensord", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--port", type=int, default=20500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ort", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--vocab", type=int, default=1000000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--fields", type=int, default=8)
    a = ap.parse_args()
    a.models = os.path.abspath(a.models)
    generate(a)
    weight_bytes = a.vocab * a.dim * 4
    big, tiny = os.path.join(a.models, "bigemb"), os.path.join(a.models, "tiny")
    modes = [("tensord", big, {}), ("tensord-noverify", big, {"TD_CHECKPOINT_VERIFY": "0"}),
             ("tensord-copy", big, {"TD_CHECKPOINT_MMAP": "0"}), ("tensord-tiny", tiny, {})]
    with open(a.out, "a") as out:
        for r in range(1, a.rounds + 1):
            for name, base, env in modes:
                print("bench: bigload %s round %d/%d" % (name, r, a.rounds), file=sys.stderr)
                d = run_tensord(a, base, env, a.port)
                d.update(kind="bigload", engine=name, round=r, weight_bytes=weight_bytes if base == big else a.dim * 64)
                out.write(json.dumps(d) + "\n")
                out.flush()
            if a.ort:
                print("bench: bigload ort round %d/%d" % (r, a.rounds), file=sys.stderr)
                o = subprocess.run(["node", os.path.join(HERE, "ort_load.js"), os.path.join(a.models, "bigemb.onnx"),
                                    json.dumps([row[:a.fields] for row in IDS]), str(a.threads)],
                                   capture_output=True, text=True, timeout=600)
                if o.returncode != 0:
                    print("bench: ort_load.js failed: " + o.stderr[-500:], file=sys.stderr)
                    continue
                d = json.loads(o.stdout.strip().splitlines()[-1])
                d.update(kind="bigload", round=r, weight_bytes=weight_bytes)
                out.write(json.dumps(d) + "\n")
                out.flush()


if __name__ == "__main__":
    main()
