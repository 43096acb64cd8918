// ort_bench.js — times ONNX Runtime (onnxruntime-node, CPU EP) on one ONNX model.
//
// usage: node ort_bench.js MODEL.onnx BATCH ITERS WARMUP THREADS
//
// Input "x" of shape [BATCH, ...rest] where rest is [784] for mlp, [1,28,28] for cnn, [50,64] for
// lstm/gru, [128,256] for bert and [224,224,3] for mobilenet (NHWC), filled with
// x[i] = ((i*7919)%256)/255; for deepfm input "ids" int64 [BATCH,39] with ids[i] = (i*7919)%100000:
// the same values every driver feeds.
// Prints one JSON line like engine_bench.c (engine "ort"). Timing is around session.run only
// (the N-API call is synchronous work on ORT's side; the await adds a microtask hop).
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

async function main() {
  const [file, b, n, w, th] = process.argv.slice(2);
  const batch = +b, iters = +n, warmup = +w, threads = +th;
  const t0 = performance.now();
  const sess = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const loadMs = performance.now() - t0;
  const name = path.basename(file).split('.')[0];
  const rest = {
    mlp: [784], cnn: [1, 28, 28], deepfm: [39], lstm: [50, 64], gru: [50, 64], bert: [128, 256],
    mobilenet: [224, 224, 3],
  }[name];
  const dims = [batch, ...rest];
  const count = dims.reduce((a, c) => a * c, 1);
  let feeds;
  if (name === 'deepfm') {
    const ids = new BigInt64Array(count);
    for (let i = 0; i < count; i++) ids[i] = BigInt((i * 7919) % 100000);
    feeds = { ids: new ort.Tensor('int64', ids, dims) };
  } else {
    const x = new Float32Array(count);
    for (let i = 0; i < count; i++) x[i] = ((i * 7919) % 256) / 255;
    feeds = { x: new ort.Tensor('float32', x, dims) };
  }
  const t = [];
  let out;
  for (let it = -warmup; it < iters; it++) {
    const s = performance.now();
    out = await sess.run(feeds);
    const e = performance.now() - s;
    if (it >= 0) t.push(e);
  }
  const y = out.y.data;
  let checksum = 0;
  for (let i = 0; i < y.length; i++) checksum += y[i] * (i % 7 + 1);
  const sum = t.reduce((a, c) => a + c, 0);
  t.sort((a, c) => a - c);
  const r = (v) => Math.round(v * 1e4) / 1e4;
  console.log(JSON.stringify({
    engine: 'ort', version: ort.env.versions.node, batch, threads, iters,
    median_ms: r(t[Math.floor(iters / 2)]), mean_ms: r(sum / iters), p90_ms: r(t[Math.round(0.9 * (iters - 1))]),
    min_ms: r(t[0]), load_ms: Math.round(loadMs * 100) / 100, checksum: Math.round(checksum * 1e6) / 1e6,
  }));
}
main().catch((e) => { console.error('ort_bench:', e); process.exit(1); });
