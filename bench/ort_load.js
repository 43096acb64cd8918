// ort_load.js — ONNX Runtime's side of the big-model load bench (bench/bigload_bench.py).
//
// usage: node ort_load.js MODEL.onnx IDS_JSON THREADS
//
// Times InferenceSession.create (CPU EP, graph optimizations 'all') and the first run on the
// int64 ids IDS_JSON ([[...], ...]), and reports how much this process's Anonymous and
// file-backed (Rss - Anonymous) memory in /proc/self/smaps_rollup grew over its state just
// before create (node, V8 and the addon already loaded). Prints one JSON line (engine "ort")
// with the same fields as the tensord rows: ready_ms (create + first run), load_ms (create),
// anon_kb, file_kb, checksum of y.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function smaps() {
  const m = {};
  for (const line of fs.readFileSync('/proc/self/smaps_rollup', 'utf8').split('\n')) {
    const [k, v] = line.split(':');
    if (k === 'Rss' || k === 'Anonymous') m[k] = parseInt(v, 10);
  }
  return { anon: m.Anonymous, file: m.Rss - m.Anonymous };
}

async function main() {
  const [file, idsJson, th] = process.argv.slice(2);
  const rows = JSON.parse(idsJson);
  const before = smaps();
  const t0 = performance.now();
  const sess = await ort.InferenceSession.create(file, {
    intraOpNumThreads: +th, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const t1 = performance.now();
  const ids = new BigInt64Array(rows.flat().map((v) => BigInt(v)));
  const out = await sess.run({ ids: new ort.Tensor('int64', ids, [rows.length, rows[0].length]) });
  const t2 = performance.now();
  const after = smaps();
  const y = out.y.data;
  let checksum = 0;
  for (let i = 0; i < y.length; i++) checksum += y[i] * (i % 7 + 1);
  const r = (v) => Math.round(v * 100) / 100;
  console.log(JSON.stringify({
    engine: 'ort', version: ort.env.versions.node, ready_ms: r(t2 - t0), load_ms: r(t1 - t0),
    anon_kb: after.anon - before.anon, file_kb: after.file - before.file,
    checksum: Math.round(checksum * 1e6) / 1e6,
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
