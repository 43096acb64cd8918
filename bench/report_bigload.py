"""report_bigload.py — the big-model load section of bench/report.py (rows from bigload_bench.py).

Per engine, the median over rounds of ready_ms, load_ms, anon_kb and file_kb. "anon over tiny"
is tensord's Anonymous RSS minus that of the same server holding a 16-row table: what the weights
cost in anonymous memory (goal: < 10% of the weight bytes); ORT's figures are its own growth
over node's state before InferenceSession.create. Outputs agree when every engine's checksum of
y on the same ids matches tensord's.
"""
import statistics

ORDER = ["tensord", "tensord-noverify", "tensord-copy", "tensord-tiny", "ort"]
LABEL = {"tensord": "tensord (mapped, crc verified)", "tensord-noverify": "tensord (mapped, TD_CHECKPOINT_VERIFY=0)",
         "tensord-copy": "tensord (TD_CHECKPOINT_MMAP=0: read+copy)", "tensord-tiny": "tensord, 16-row table",
         "ort": "ONNX Runtime (create + first run)"}


def _med(rs, k):
    v = [r[k] for r in rs if r.get(k) is not None]
    return statistics.median(v) if v else None


def bigload_section(rows):
    """Returns (text lines, results dict or None)."""
    by = {}
    for r in rows:
        if r.get("kind") == "bigload":
            by.setdefault(r["engine"], []).append(r)
    if not by:
        return [], None
    wb = max(r["weight_bytes"] for rs in by.values() for r in rs)
    res = {"weight_bytes": wb, "engines": []}
    ref = by.get("tensord", [{}])[-1].get("checksum")
    lines = ["", "Big-model load: %.0f MiB float32 embedding table + dense head, warm page cache (median of rounds)" %
             (wb / 2**20),
             "  %-44s %9s %9s %9s %9s %8s  %s" % ("engine", "load ms", "ready ms", "anon MiB", "file MiB", "anon/W",
                                                 "outputs")]
    for e in sorted(by, key=lambda x: ORDER.index(x) if x in ORDER else 99):
        rs = by[e]
        d = {"engine": e, "rounds": len(rs)}
        for k in ("ready_ms", "load_ms", "anon_kb", "file_kb"):
            d[k] = _med(rs, k)
        d["checksum"] = rs[-1].get("checksum")
        d["anon_over_weights"] = round(d["anon_kb"] * 1024 / wb, 4) if d["anon_kb"] is not None else None
        agree = "-" if ref is None or e == "tensord-tiny" else (
            "ok" if abs(d["checksum"] - ref) <= 1e-4 * max(1.0, abs(ref)) else "DIFFER (%g vs %g)" % (d["checksum"], ref))
        res["engines"].append(d)
        f = lambda v, s=1.0: "%9.1f" % (v / s) if v is not None else "%9s" % "-"
        lines.append("  %-44s %s %s %s %s %7.1f%%  %s" % (LABEL.get(e, e), f(d["load_ms"]), f(d["ready_ms"]),
                                                         f(d["anon_kb"], 1024), f(d["file_kb"], 1024),
                                                         100 * (d["anon_over_weights"] or 0), agree))
    eng = {d["engine"]: d for d in res["engines"]}
    if "tensord" in eng and "tensord-tiny" in eng:
        over = (eng["tensord"]["anon_kb"] - eng["tensord-tiny"]["anon_kb"]) * 1024
        res["anon_over_tiny_bytes"] = over
        res["anon_over_tiny_pct_of_weights"] = round(100.0 * over / wb, 2)
        lines.append("  tensord's anon RSS over the tiny-model server: %.1f MiB = %.2f%% of the weights (goal < 10%%)" %
                     (over / 2**20, res["anon_over_tiny_pct_of_weights"]))
    if "ort" in eng:
        for e in ("tensord", "tensord-noverify"):
            if e in eng and eng[e]["load_ms"] and eng["ort"]["load_ms"]:
                res["load_ratio_%s_over_ort" % e] = round(eng[e]["load_ms"] / eng["ort"]["load_ms"], 4)
                lines.append("  %s load / ORT session creation: %.3f" % (e, res["load_ratio_%s_over_ort" % e]))
    return lines, res


def bigload_markdown(res):
    """The section as a markdown table (bench/out/results.md)."""
    if not res:
        return []
    md = ["", "| big-model load (%.0f MiB table, warm cache) | load ms | start → first predict ms | anon MiB | "
              "file MiB | anon / weights |" % (res["weight_bytes"] / 2**20), "|---|---:|---:|---:|---:|---:|"]
    for d in res["engines"]:
        md.append("| %s | %s | %.1f | %.1f | %.1f | %.1f%% |" % (
            LABEL.get(d["engine"], d["engine"]), "%.1f" % d["load_ms"] if d["load_ms"] is not None else "-",
            d["ready_ms"], d["anon_kb"] / 1024, d["file_kb"] / 1024, 100 * (d["anon_over_weights"] or 0)))
    if "anon_over_tiny_pct_of_weights" in res:
        md.append("")
        md.append("tensord's anonymous RSS over the same server with a 16-row table: %.2f%% of the weight bytes." %
                  res["anon_over_tiny_pct_of_weights"])
    return md
