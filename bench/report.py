#!/usr/bin/python3
"""report.py RAW.jsonl OUT_DIR — the table, OUT_DIR/results.json and (with gnuplot) OUT_DIR/plot.png.

Aggregation over rounds: engine latency = the best (lowest) per-round median and the lowest
single-call min; REST/gRPC = best round req/s and that round's p50/p99; cold start = median
ready_ms and median idle VmRSS; the seed workload: see report_seed.py. Ratios are tensord / anchor: latency < 1 means tensord is
faster; for req/s, tensord / echo < 1 is the share of the bare HTTP server's rate tensord keeps.
"""
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

from report_bigload import bigload_markdown, bigload_section
from report_seed import seed_section


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_rev():
    """Read-only: the commit benchmarked and whether the tree had local changes."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except OSError:
        return None


def versions(rows):
    v = {}
    for r in rows:
        if r.get("kind") == "engine" and r.get("version"):
            v[r["engine"]] = r["version"]
    for tool, args in (("wrk", ["wrk", "-v"]), ("h2load", ["h2load", "--version"])):
        if shutil.which(tool):
            o = subprocess.run(args, capture_output=True, text=True)
            v[tool] = ((o.stdout or o.stderr).strip().splitlines() or [""])[0]
    return v


MODEL_ORDER = {"mlp": 0, "cnn": 1, "deepfm": 2, "lstm": 3, "gru": 4, "bert": 5, "mobilenet": 6}


def main():
    raw, out = sys.argv[1], sys.argv[2]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[3:] if a.startswith("--") and "=" in a)
    rows = [json.loads(line) for line in open(raw) if line.strip()]
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "cpu": cpu_model(), "cores": os.cpu_count(), "loadavg_at_end": os.getloadavg(),
            "note": "indicative only: shared VM, other processes running; compare ratios, not absolute times",
            "options": opts, "git": git_rev(), "versions": versions(rows)}
    res = {"meta": meta, "engine": [], "rest": [], "grpc": [], "cold": []}

    # ---- engine
    eng = {}
    for r in rows:
        if r["kind"] == "engine":
            eng.setdefault((r["threads"], r["model"], r["batch"]), {}).setdefault(r["engine"], []).append(r)
    lines = []
    if eng:
        lines.append("Engine latency (ms per call; best-of-rounds median / min) and ratios tensord/anchor (<1 = tensord faster)")
        hdr = "%-4s %-9s %5s | %-17s %-17s %-17s | %-11s %-11s | %s" % (
            "thr", "mdl", "batch", "tensord", "ort", "torch", "td/ort", "td/torch", "outputs agree")
        lines += [hdr, "-" * len(hdr)]
    for (th, model, batch), by in sorted(eng.items(), key=lambda kv: (kv[0][0], MODEL_ORDER.get(kv[0][1], 9), kv[0][1], kv[0][2])):
        entry = {"threads": th, "model": model, "batch": batch}
        cells = {}
        for e, rs in by.items():
            med = min(x["median_ms"] for x in rs)
            mn = min(x["min_ms"] for x in rs)
            entry[e] = {"median_ms": med, "min_ms": mn, "rounds": len(rs), "iters": rs[0]["iters"],
                        "checksum": rs[-1]["checksum"], "version": rs[0].get("version")}
            cells[e] = "%7.3f / %7.3f" % (med, mn)
        td = entry.get("tensord")
        ratios = {}
        agree = []
        for a in ("ort", "torch"):
            if td and a in entry:
                ratios[a] = {"median": round(td["median_ms"] / entry[a]["median_ms"], 3),
                             "min": round(td["min_ms"] / entry[a]["min_ms"], 3)}
                c0, c1 = td["checksum"], entry[a]["checksum"]
                agree.append("%s %s" % (a, "ok" if abs(c0 - c1) <= 1e-4 * max(1.0, abs(c1)) else
                                        "DIFFER (%g vs %g)" % (c0, c1)))
        for a in ratios:  # per-round paired ratios (same round = adjacent runs), median over rounds
            td_r = {x["round"]: x["median_ms"] for x in by["tensord"]}
            pr = [td_r[x["round"]] / x["median_ms"] for x in by[a] if x["round"] in td_r]
            if pr:
                ratios[a]["paired_median"] = round(statistics.median(pr), 3)
        entry["ratio_tensord_over"] = ratios
        res["engine"].append(entry)
        rc = lambda a: ("%5.2f/%5.2f" % (ratios[a]["median"], ratios[a]["min"])) if a in ratios else "-"
        lines.append("%-4d %-9s %5d | %-17s %-17s %-17s | %-11s %-11s | %s" % (
            th, model, batch, cells.get("tensord", "-"), cells.get("ort", "-"), cells.get("torch", "-"),
            rc("ort"), rc("torch"), ", ".join(agree)))

    # ---- REST / gRPC
    for kind in ("rest", "grpc"):
        by = {}
        for r in rows:
            if r["kind"] == kind and "rps" in r:
                by.setdefault(r["server"], []).append(r)
        for server, rs in by.items():
            best = max(rs, key=lambda x: x["rps"])
            d = {"server": server, "rounds": len(rs), "conns": best["conns"], "rps": best["rps"],
                 "all_rps": [x["rps"] for x in rs]}
            for k in ("p50_ms", "p99_ms", "mean_ms", "errors", "grpc_status"):
                if k in best:
                    d[k] = best[k]
            res[kind].append(d)
    rest = {d["server"]: d for d in res["rest"]}
    if rest:
        lines += ["", "REST predict, half_plus_two, wrk -t1 -c%d (best round)" % next(iter(rest.values()))["conns"]]
        for s in ("tensord", "echo"):
            if s in rest:
                d = rest[s]
                lines.append("  %-8s %10.0f req/s   p50 %.3f ms   p99 %.3f ms   non-2xx %d" % (
                    s, d["rps"], d["p50_ms"], d["p99_ms"], d["errors"]))
        if "tensord" in rest and "echo" in rest:
            rr = {x["round"]: x for x in rows if x["kind"] == "rest" and x["server"] == "echo" and "rps" in x}
            paired = [x["rps"] / rr[x["round"]]["rps"] for x in rows
                      if x["kind"] == "rest" and x["server"] == "tensord" and "rps" in x and x["round"] in rr]
            res["rest_ratio_tensord_over_echo"] = {
                "rps": round(rest["tensord"]["rps"] / rest["echo"]["rps"], 3),
                "rps_paired_median": round(statistics.median(paired), 3) if paired else None,
                "p50": round(rest["tensord"]["p50_ms"] / rest["echo"]["p50_ms"], 3)}
            q = res["rest_ratio_tensord_over_echo"]
            lines.append("  tensord/echo: req/s %.2f (best rounds), %.2f (median of per-round pairs); p50 %.2f" % (
                q["rps"], q["rps_paired_median"] or 0, q["p50"]))
    grpc = {d["server"]: d for d in res["grpc"]}
    if grpc:
        lines += ["", "gRPC Predict, half_plus_two, h2load -c%d -m1 (best round)" % next(iter(grpc.values()))["conns"]]
    for s in ("tensord", "echo"):
        if s in grpc:
            d = grpc[s]
            lines.append("  %-8s %10.0f req/s   mean %.3f ms   failed %s   grpc-status %s%s" % (
                s, d["rps"], d.get("mean_ms") or 0, d.get("errors"), d.get("grpc_status"),
                "" if d.get("grpc_status") in (0, None) else "  <-- calls FAIL, rate is meaningless"))
    if "tensord" in grpc and "echo" in grpc:
        gr = {x["round"]: x for x in rows if x["kind"] == "grpc" and x["server"] == "echo" and "rps" in x}
        paired = [x["rps"] / gr[x["round"]]["rps"] for x in rows
                  if x["kind"] == "grpc" and x["server"] == "tensord" and "rps" in x and x["round"] in gr]
        res["grpc_ratio_tensord_over_echo"] = {
            "rps": round(grpc["tensord"]["rps"] / grpc["echo"]["rps"], 3),
            "rps_paired_median": round(statistics.median(paired), 3) if paired else None}
        q = res["grpc_ratio_tensord_over_echo"]
        lines.append("  tensord/echo: req/s %.2f (best rounds), %.2f (median of per-round pairs)" % (
            q["rps"], q["rps_paired_median"] or 0))
    if "tensord" in grpc and "tensord" in rest:
        res["grpc_over_rest_rps_tensord"] = round(grpc["tensord"]["rps"] / rest["tensord"]["rps"], 3)

    # ---- cold start
    cold = {}
    for r in rows:
        if r["kind"] == "cold":
            cold.setdefault(r["server"], []).append(r)
    if cold:
        lines += ["", "Cold start (process start -> first 200 predict) and idle RSS (median of rounds)"]
    for s, rs in cold.items():
        d = {"server": s, "rounds": len(rs), "ready_ms": statistics.median(x["ready_ms"] for x in rs),
             "rss_kb": statistics.median(x["rss_kb"] for x in rs), "threads": rs[0].get("threads")}
        res["cold"].append(d)
        lines.append("  %-8s ready %8.1f ms   VmRSS %7.1f MiB   threads %s" % (s, d["ready_ms"], d["rss_kb"] / 1024,
                                                                            d["threads"]))

    seed_lines, res["seed"] = seed_section(rows)
    if seed_lines:
        lines += [""] + seed_lines
    big_lines, res["bigload"] = bigload_section(rows)
    lines += big_lines

    lines += ["", "(%s, %s cores, %s; loadavg %s — indicative only)" % (
        meta["cpu"], meta["cores"], meta["date"], " ".join("%.2f" % x for x in meta["loadavg_at_end"]))]
    print("\n".join(lines))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(out, "results.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(markdown(res, seed_lines)) + "\n")
    plot(res, out)


def markdown(res, seed_lines):
    """The same results as markdown tables (bench/out/results.md, for the README and docs)."""
    meta = res["meta"]
    md = ["%s, %s cores, %s, tree %s, options %s; ORT %s, torch %s. Ratios are tensord / anchor "
          "(latency: < 1 = tensord faster); cells are best-of-rounds median ms." % (
              meta["cpu"], meta["cores"], meta["date"], meta["git"], meta["options"],
              meta["versions"].get("ort", "-"), meta["versions"].get("torch", "-"))]
    if res["engine"]:
        md += ["", "| threads | model | batch | tensord | ORT | torch | tensord/ORT (paired) | tensord/torch (paired) |",
               "|---:|---|---:|---:|---:|---:|---:|---:|"]
        for e in res["engine"]:
            cell = lambda a: "%.3g" % e[a]["median_ms"] if a in e else "-"
            r = e["ratio_tensord_over"]
            ratio = lambda a: ("%.2f (%.2f)" % (r[a]["median"], r[a].get("paired_median", r[a]["median"]))
                               if a in r else "-")
            md.append("| %d | %s | %d | %s | %s | %s | %s | %s |" % (
                e["threads"], e["model"], e["batch"], cell("tensord"), cell("ort"), cell("torch"), ratio("ort"),
                ratio("torch")))
    srv = [("REST predict req/s (wrk -c16)", "rest", "rest_ratio_tensord_over_echo"),
           ("gRPC Predict req/s (h2load -c16 -m1)", "grpc", "grpc_ratio_tensord_over_echo")]
    rows = []
    for label, kind, key in srv:
        by = {d["server"]: d for d in res[kind]}
        if "tensord" in by and "echo" in by and key in res:
            q = res[key]
            rows.append("| %s | %.0f | %.0f | %.2f (%.2f) |" % (label, by["tensord"]["rps"], by["echo"]["rps"], q["rps"],
                                                             q["rps_paired_median"] or 0))
    cold = {d["server"]: d for d in res["cold"]}
    if "tensord" in cold:
        rows.append("| cold start → first predict, ms | %.1f | %s | |" % (
            cold["tensord"]["ready_ms"], "%.1f" % cold["echo"]["ready_ms"] if "echo" in cold else "-"))
        rows.append("| idle VmRSS, MiB | %.1f | %s | |" % (
            cold["tensord"]["rss_kb"] / 1024, "%.1f" % (cold["echo"]["rss_kb"] / 1024) if "echo" in cold else "-"))
    if rows:
        md += ["", "| server, half_plus_two | tensord | bare echo server | tensord / echo (paired) |",
               "|---|---:|---:|---:|"] + rows
    if seed_lines:
        md += [""] + seed_lines
    md += bigload_markdown(res.get("bigload"))
    return md


def plot(res, out):
    if not shutil.which("gnuplot") or not res["engine"]:
        return
    dat = os.path.join(out, "engine_ratios.dat")
    with open(dat, "w") as f:
        f.write("# label td/ort td/torch (best-of-rounds median latency ratio)\n")
        for e in res["engine"]:
            r = e["ratio_tensord_over"]
            f.write('"%s b%d t%d" %s %s\n' % (e["model"], e["batch"], e["threads"],
                                             r.get("ort", {}).get("median", "NaN"),
                                             r.get("torch", {}).get("median", "NaN")))
    series = [(a, t) for a, t in (("ort", "tensord / onnxruntime"), ("torch", "tensord / torch"))
              if any(a in e["ratio_tensord_over"] for e in res["engine"])]
    if not series:
        return
    cols = ["'%s' using %d:xtic(1) title '%s'" % (dat, 2 + ("ort", "torch").index(a), t) for a, t in series]
    script = """
set terminal pngcairo size 1200,560 noenhanced
set output '%s'
set title 'tensord engine latency / anchor latency (below 1 = tensord faster; indicative)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:1.3]
set key top left horizontal
set rmargin 8
set bmargin 7
set grid ytics
set xtics rotate by -30
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2
plot %s
""" % (os.path.join(out, "plot.png"), ", ".join(cols))
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        print("bench: gnuplot failed: " + r.stderr.strip()[-300:], file=sys.stderr)


if __name__ == "__main__":
    main()
