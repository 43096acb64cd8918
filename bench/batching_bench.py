#!/usr/bin/python3
"""batching_bench.py — does server-side batching pay (issue 14, point 2)? MNIST MLP
(FIXTURES/models/mnist_seoinjae: flatten → dense → dense_1 softmax), one image per request,
--conns (64) concurrent clients, against two tensord servers: unbatched and --enable_batching
(seed_bench.BATCHING_PARAMS: TF Serving's CPU recipe, batch threads = cores, no window).

  batching_bench.py --tensord BUILD/tensord --fixtures ../shared/fixtures --out RAW.jsonl
                    [--port 19600] [--duration 5s] [--rounds 1] [--conns 64]

gRPC: `h2load -cC -m1` (C connections, one call in flight each — C concurrent clients); REST:
`wrk -t1 -cC`. The request bytes and the correctness check before each run are seed_bench's
(argmax matches the labels). For the batched server the processed_batch_size histogram of
/monitoring/prometheus/metrics is read before and after each run: batches run, mean rows per
batch, and the bucket counts of that run. Replies are deferred on both front ends: a waiting gRPC
Predict holds no worker thread, and a waiting REST predict suspends its connection (MHD
suspend/resume) instead of holding a libmicrohttpd thread.
Output, one JSON line per run appended to --out:
  {"kind":"batching","proto":"grpc"|"rest","batching":bool,"round":r,"conns":C,"rps":..,
   "p50_ms":..,"p99_ms":..,"errors":..,"batches":..,"mean_batch":..,"hist":{"le":count,..}}
and a table on stdout. The load generator shares the machine's cores with tensord; nothing here
asserts a timing.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import seed_bench as sb  # noqa: E402

HIST = ":tensorflow:serving:batching_session:processed_batch_size"


def histogram(rest_port):
    """processed_batch_size: ({le: cumulative count}, count, sum) from the server's metrics."""
    c = http.client.HTTPConnection("127.0.0.1", rest_port, timeout=10)
    c.request("GET", "/monitoring/prometheus/metrics")
    text = c.getresponse().read().decode()
    c.close()
    buckets = {le: float(v) for le, v in
               re.findall(r'^%s_bucket\{le="([^"]+)"\} (\S+)$' % re.escape(HIST), text, re.M)}

    def one(suffix):
        m = re.search(r"^%s_%s(?:\{\})? (\S+)$" % (re.escape(HIST), suffix), text, re.M)
        return float(m.group(1)) if m else 0.0
    return buckets, one("count"), one("sum")


def hist_delta(before, after):
    (b0, n0, s0), (b1, n1, s1) = before, after
    n = n1 - n0
    per = {}
    prev = 0.0
    for le in sorted(b1, key=lambda k: float("inf") if k == "+Inf" else float(k)):
        cum = b1[le] - b0.get(le, 0.0)
        if cum - prev:
            per[le] = int(cum - prev)  # batches with size in (previous le, le]
        prev = cum
    return {"batches": int(n), "mean_batch": round((s1 - s0) / n, 2) if n else None, "hist": per}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tensord", required=True)
    ap.add_argument("--fixtures", default=os.path.join(HERE, "..", "..", "shared", "fixtures"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--port", type=int, default=19600)
    ap.add_argument("--duration", default="5s")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--conns", type=int, default=64)
    a = ap.parse_args()
    mnist_dir = os.path.join(a.fixtures, "models", "mnist_seoinjae")
    if not os.path.isdir(mnist_dir):
        sb.note("no %s; skipping the batching workload" % mnist_dir)
        return
    tools = [p for p, t in (("grpc", "h2load"), ("rest", "wrk")) if shutil.which(t)]
    images, labels = sb.mnist(a.fixtures)
    procs, clients, rows = {}, {}, []
    with tempfile.TemporaryDirectory(prefix="td_batching_bench_") as tmp, open(a.out, "a") as out:
        params = sb.write_tmp(tmp, "batching.txt", sb.BATCHING_PARAMS.encode())
        servers = {False: (a.port + 1, a.port, []),
                   True: (a.port + 3, a.port + 2, ["--enable_batching", "--batching_parameters_file=" + params])}
        try:
            for batched, (gport, rport, extra) in servers.items():
                with open(os.path.join(tmp, "tensord_%d.log" % batched), "wb") as f:
                    procs[batched] = sb.start_server(sb.server_cmd(a.tensord, "mnist", mnist_dir, gport, rport) + extra, f)
                if not sb.wait_available(procs[batched], rport, "mnist"):
                    raise SystemExit("batching_bench: mnist never became AVAILABLE on port %d" % rport)
                clients[batched] = sb.gc.Client("127.0.0.1:%d" % gport)
            case = sb.MnistCase(images[:1], labels[:1], tmp)
            for r in range(1, a.rounds + 1):
                for proto in tools:
                    for batched in (False, True):
                        gport, rport, _ = servers[batched]
                        sb.note("batching %s %s round %d/%d, %d clients" % (
                            proto, "batched" if batched else "unbatched", r, a.rounds, a.conns))
                        before = histogram(rport)
                        d = sb.mnist_grpc(case, a, gport, clients[batched]) if proto == "grpc" else \
                            sb.mnist_rest(case, a, rport)
                        row = {"kind": "batching", "proto": proto, "batching": batched, "round": r, "conns": a.conns}
                        row.update({k: d[k] for k in ("rps", "p50_ms", "p99_ms", "errors", "error") if k in d})
                        if batched:
                            row.update(hist_delta(before, histogram(rport)))
                        out.write(json.dumps(row) + "\n")
                        out.flush()
                        rows.append(row)
        finally:
            for c in clients.values():
                c.close()
            for p in procs.values():
                sb.stop(p)
    print("%-5s %-9s %10s %8s %8s %8s  %s" % ("proto", "batching", "req/s", "p50 ms", "p99 ms", "mean b", "batch sizes"))
    for row in rows:
        print("%-5s %-9s %10s %8s %8s %8s  %s" % (
            row["proto"], "on" if row["batching"] else "off", row.get("rps", row.get("error", "?")),
            row.get("p50_ms", ""), row.get("p99_ms", ""), row.get("mean_batch", "") or "",
            " ".join("<=%s:%d" % kv for kv in row.get("hist", {}).items())))


if __name__ == "__main__":
    main()
