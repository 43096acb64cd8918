#!/usr/bin/python3
"""server_bench.py — REST throughput (wrk), gRPC throughput (h2load) and cold start / idle RSS.

Called by bench/run.sh; appends JSON lines to --out:
  {"kind":"cold","server":"tensord"|"echo","round":r,"ready_ms":..,"rss_kb":..,"hwm_kb":..}
      ready_ms: Popen → first 200 answer to POST /v1/models/half_plus_two:predict (polled every
      2 ms with http.client); rss_kb: VmRSS after the server sat idle for a moment.
  {"kind":"rest","server":..,"round":r,"rps":..,"p50_ms":..,"p99_ms":..,"errors":..,"conns":c}
      wrk -t1 -cC --latency with bench/post.lua ({"instances": [1.0, 2.0, 5.0]}).
  {"kind":"grpc","server":"tensord",...} same fields, from h2load (PredictRequest, unary) when
      h2load is installed, for tensord and for bench/echo_grpc.c (server "echo", the gRPC floor).
tensord and echo_http alternate inside each round so drift hits both alike.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BODY = b'{"instances": [1.0, 2.0, 5.0]}'
PATH = "/v1/models/half_plus_two:predict"


def ready_once(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("POST", PATH, BODY, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status == 200
    except OSError:
        return False


def wait_port(port, p, limit=30.0):
    import socket
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit and p.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.005)
    return False


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    return out


def unit_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", s)
    v, u = float(m.group(1)), m.group(2)
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[u]


def run_wrk(port, duration, conns):
    cmd = ["wrk", "-t1", "-c%d" % conns, "-d" + duration, "--latency", "-s", os.path.join(HERE, "post.lua"),
           "http://127.0.0.1:%d%s" % (port, PATH)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        r[key] = round(unit_ms(re.search(r"^\s+%s%%\s+(\S+)" % pct, out, re.M).group(1)), 4)
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    e = re.search(r"Socket errors:.*", out)
    r["errors"] = int(m.group(1)) if m else 0
    if e:
        r["socket_errors"] = e.group(0)
    return r


def grpc_body():
    sys.path.insert(0, os.path.join(HERE, "..", "tools"))
    from savedmodel_writer import varint

    def ld(field, payload):
        return varint(field << 3 | 2) + varint(len(payload)) + payload
    import struct
    floats = struct.pack("<3f", 1.0, 2.0, 5.0)
    shape = ld(2, varint(1 << 3) + varint(3))                      # TensorShapeProto.dim {size: 3}
    tensor = varint(1 << 3) + varint(1) + ld(2, shape) + ld(5, floats)  # dtype FLOAT, shape, float_val
    req = ld(1, ld(1, b"half_plus_two")) + ld(2, ld(1, b"x") + ld(2, tensor))
    return b"\x00" + struct.pack(">I", len(req)) + req


def grpc_status(port, body_file):
    """One call with nghttp (same package as h2load): the grpc-status trailer, None if unknown.
    h2load only counts HTTP-level success, so this checks the calls really succeed."""
    if not shutil.which("nghttp"):
        return None
    out = subprocess.run(["nghttp", "-v", "-d", body_file, "-H", "content-type: application/grpc", "-H",
                          "te: trailers", "http://127.0.0.1:%d/tensorflow.serving.PredictionService/Predict" % port],
                         capture_output=True).stdout.decode("latin-1")
    m = re.search(r"grpc-status: (\d+)", out)
    return int(m.group(1)) if m else None


def run_h2load(port, duration, conns, body_file):
    st = grpc_status(port, body_file)
    secs = max(1, int(unit_ms(duration) / 1000))
    cmd = ["h2load", "-c%d" % conns, "-m1", "-D%d" % secs, "-d", body_file,
           "-H", "content-type: application/grpc", "-H", "te: trailers",
           "http://127.0.0.1:%d/tensorflow.serving.PredictionService/Predict" % port]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    m = re.search(r"finished in .*?, ([\d.]+) req/s", out)
    s = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed", out)
    lat = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out)
    if not m:
        return {"error": out[-400:], "grpc_status": st}
    return {"grpc_status": st, "rps": float(m.group(1)), "mean_ms": round(unit_ms(lat.group(3)), 4) if lat else None,
            "errors": int(s.group(2)) if s else None}


def start(cmd):
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser()
    for a in ("--out", "--tensord", "--echo", "--echo-grpc", "--model", "--duration", "--skip"):
        ap.add_argument(a, default="")
    ap.add_argument("--quick", type=int, default=0)
    ap.add_argument("--port", type=int, default=18500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=16)
    a = ap.parse_args()
    skip = set(a.skip.split(","))
    have_wrk = shutil.which("wrk") is not None
    have_h2 = shutil.which("h2load") is not None
    if "rest" not in skip and not have_wrk:
        print("bench: wrk not installed; skipping REST throughput", file=sys.stderr)
    body_file = None
    if have_h2 and "rest" not in skip:
        fd, body_file = tempfile.mkstemp(prefix="td_bench_grpc_")
        os.write(fd, grpc_body())
        os.close(fd)
    idle = 0.3 if a.quick else 1.0
    rest_port, grpc_port = a.port, a.port + 1
    servers = {
        "tensord": [a.tensord, "--port=%d" % grpc_port, "--rest_api_port=%d" % rest_port,
                    "--model_name=half_plus_two", "--model_base_path=" + a.model],
        "echo": [a.echo, str(rest_port)],
    }
    with open(a.out, "a") as out:
        def emit(d):
            out.write(json.dumps(d) + "\n")
            out.flush()
        for r in range(1, a.rounds + 1):
            for name, cmd in servers.items():
                print("bench: %s round %d/%d" % (name, r, a.rounds), file=sys.stderr)
                t0 = time.perf_counter()
                p = start(cmd)
                ready = None
                while time.perf_counter() - t0 < 60 and p.poll() is None:
                    if ready_once(rest_port):
                        ready = (time.perf_counter() - t0) * 1e3
                        break
                    time.sleep(0.002)
                if ready is None:
                    print("bench: %s never answered on port %d" % (name, rest_port), file=sys.stderr)
                    stop(p)
                    continue
                time.sleep(idle)
                st = proc_status(p.pid)
                if "cold" not in skip:
                    emit({"kind": "cold", "server": name, "round": r, "ready_ms": round(ready, 2),
                          "rss_kb": st.get("VmRSS"), "hwm_kb": st.get("VmHWM"), "threads": st.get("Threads")})
                if "rest" not in skip and have_wrk:
                    d = run_wrk(rest_port, a.duration, a.conns)
                    emit(dict(kind="rest", server=name, round=r, conns=a.conns, **d))
                    if name == "tensord" and body_file:
                        d = run_h2load(grpc_port, a.duration, a.conns, body_file)
                        emit(dict(kind="grpc", server=name, round=r, conns=a.conns, **d))
                stop(p)
            if body_file and a.echo_grpc:
                p = start([a.echo_grpc, str(grpc_port)])
                if wait_port(grpc_port, p):
                    d = run_h2load(grpc_port, a.duration, a.conns, body_file)
                    emit(dict(kind="grpc", server="echo", round=r, conns=a.conns, **d))
                stop(p)
    if body_file:
        os.unlink(body_file)


if __name__ == "__main__":
    main()
