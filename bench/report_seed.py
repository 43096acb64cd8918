#!/usr/bin/python3
"""report_seed.py — the "seed workload" section of the benchmark report (rows from seed_bench.py).

  report_seed.py RAW.jsonl      prints the section (markdown tables)
  seed_section(rows) -> (lines, dict)   for bench/report.py: rows are all parsed JSON lines,
                                        only kind == "seed" ones are used.

Aggregation over rounds: MNIST req/s and img/s = the best round; p50/p99 = median over rounds;
bytes per image are fixed by the request (first row). gRPC/REST = best gRPC img/s / best REST img/s
at the same batch. Iris: median of the per-round medians, overall min, median of the per-round
p90s, and the lowest per-round accuracy. Rows with "error" (failed pre-check) are listed, not
aggregated. The TF Serving figures are the seed's own (its machine, its batch), not measured here.
"""
import json
import statistics
import sys

SEED_TFS = {"rest": 7680, "grpc": 25961}  # img/s, reported by the seed for TF Serving


def mnist_agg(rows):
    """(batch, server batching, proto) → {img_per_s, rps, p50_ms, p99_ms, req/resp bytes per image,
    accuracy, rounds}."""
    agg = {}
    key = lambda r: (r["batch"], bool(r.get("batching")), r["proto"])  # noqa: E731
    for k in sorted({key(r) for r in rows}):
        rs = [r for r in rows if key(r) == k]
        best = max(rs, key=lambda r: r["rps"])
        agg[k] = {
            "rps": best["rps"], "img_per_s": best["img_per_s"],
            "p50_ms": statistics.median(r["p50_ms"] for r in rs),
            "p99_ms": statistics.median(r["p99_ms"] for r in rs),
            "req_bytes_per_img": rs[0]["req_bytes_per_img"], "resp_bytes_per_img": rs[0]["resp_bytes_per_img"],
            "accuracy": min(r["accuracy"] for r in rs), "rounds": len(rs), "conns": rs[0]["conns"]}
    return agg


def iris_agg(rows):
    return {"median_ms": statistics.median(r["median_ms"] for r in rows), "min_ms": min(r["min_ms"] for r in rows),
            "p90_ms": statistics.median(r["p90_ms"] for r in rows), "accuracy": min(r["accuracy"] for r in rows),
            "req_bytes": rows[0]["req_bytes"], "resp_bytes": rows[0]["resp_bytes"], "rows": rows[0]["rows"],
            "calls": rows[0]["calls"], "rounds": len(rows)}


def fmt(v, nd=0):
    return "—" if v is None else "{:,.{}f}".format(v, nd)


def mnist_lines(agg):
    conns = next(iter(agg.values()))["conns"]
    lines = ["MNIST (mnist_seoinjae, real digits) images/s, tensord; REST = `wrk -t1 -c%d`, gRPC = "
             "`h2load -c%d -m1` (best round; p50/p99 median of rounds)" % (conns, conns), "",
             "| batch | REST img/s | gRPC img/s | gRPC/REST | REST p50 / p99 ms | gRPC p50 / p99 ms "
             "| REST B/img req / resp | gRPC B/img req / resp | accuracy |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for b, batched in sorted({(b, batched) for b, batched, _ in agg}):
        rest, grpc = agg.get((b, batched, "rest")), agg.get((b, batched, "grpc"))
        ratio = grpc["img_per_s"] / rest["img_per_s"] if rest and grpc else None

        def col(d, fields, nd):
            return " / ".join(fmt(d[f], nd) for f in fields) if d else "—"
        accs = [d["accuracy"] for d in (rest, grpc) if d]
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            "%d, server batching" % b if batched else "%d" % b, col(rest, ["img_per_s"], 0), col(grpc, ["img_per_s"], 0), fmt(ratio, 2),
            col(rest, ["p50_ms", "p99_ms"], 2), col(grpc, ["p50_ms", "p99_ms"], 2),
            col(rest, ["req_bytes_per_img", "resp_bytes_per_img"], 0),
            col(grpc, ["req_bytes_per_img", "resp_bytes_per_img"], 0), fmt(min(accs), 2)))
    lines.append("| seed: TF Serving | %s | %s | %s | reported by the seed on its machine (batch not stated), "
                 "not measured here | | | | |" % (fmt(SEED_TFS["rest"]), fmt(SEED_TFS["grpc"]),
                                                  fmt(SEED_TFS["grpc"] / SEED_TFS["rest"], 2)))
    lines += ["", "Bytes on the wire per image: REST = HTTP request/response body only (headers excluded); "
              "gRPC = protobuf message + 5-byte gRPC prefix (HTTP/2 HEADERS/trailers and frame headers "
              "excluded). REST sends JSON floats of x/255 (float64 repr); gRPC sends float32 tensor_content. "
              "Accuracy = argmax vs label on the batch, checked once before each load run. \"server batching\": "
              "the same one-image requests to a server started with --enable_batching (max_batch_size 128, "
              "batch_timeout_micros 0, num_batch_threads = cores)."]
    return lines


def iris_lines(d):
    return ["", "Iris (iris_estimator_raw), %d rows in one gRPC Predict, %d sequential grpcio calls per round, "
            "%d round(s), send → decoded answer:" % (d["rows"], d["calls"], d["rounds"]), "",
            "| median ms | min ms | p90 ms | accuracy | request bytes | response bytes |",
            "|---:|---:|---:|---:|---:|---:|",
            "| %.2f | %.2f | %.2f | %.3f | %s | %s |" % (d["median_ms"], d["min_ms"], d["p90_ms"], d["accuracy"],
                                                       fmt(d["req_bytes"]), fmt(d["resp_bytes"]))]


def seed_section(rows):
    """All raw rows → (text lines, dict for results.json) for the kind == "seed" rows."""
    seed = [r for r in rows if r.get("kind") == "seed"]
    errors = [r for r in seed if "error" in r]
    mnist = [r for r in seed if r["what"] == "mnist" and "error" not in r]
    iris = [r for r in seed if r["what"] == "iris1000"]
    lines, res = [], {"seed_reported_tfserving_img_per_s": SEED_TFS, "errors": errors}
    if mnist:
        agg = mnist_agg(mnist)
        res["mnist"] = [dict(batch=b, server_batching=s, proto=p, **v) for (b, s, p), v in agg.items()]
        lines += mnist_lines(agg)
    if iris:
        res["iris1000"] = iris_agg(iris)
        lines += iris_lines(res["iris1000"])
    for e in errors:
        lines.append("  not measured: %s %s batch %s round %s: %s" % (
            e["what"], e.get("proto", ""), e.get("batch", ""), e["round"], e["error"]))
    return lines, res


def main():
    with open(sys.argv[1]) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    lines, _ = seed_section(rows)
    print("\n".join(lines) if lines else "no seed rows in %s" % sys.argv[1])


if __name__ == "__main__":
    main()
