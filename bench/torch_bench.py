#!/usr/bin/python3
"""torch_bench.py MODEL.npz BATCH ITERS WARMUP THREADS — times PyTorch (eager, inference_mode).
(lstm, gru, bert and mobilenet are built by torch_twins.py.)

Builds the same network as gen_bench_models.py from the .npz weights (already in NCHW/OIHW
layouts), feeds x[i] = ((i*7919)%256)/255 (deepfm: ids[i] = (i*7919)%100000) and prints
one JSON line like engine_bench.c (engine "torch"). Set OPENBLAS_NUM_THREADS/OMP_NUM_THREADS=THREADS
in the environment too (Debian's torch uses OpenBLAS); torch.set_num_threads(THREADS) is applied here.
"""
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch_twins as TW  # noqa: E402  (lstm, gru, bert, mobilenet)


class DeepFM(nn.Module):
    """gen_bench_models.py's deepfm: shared embedding, first-order + FM terms, MLP 400x3."""

    def __init__(self, w, lin):
        super().__init__()
        self.emb = torch.from_numpy(w["emb"])
        self.lin = torch.from_numpy(w["lin"])
        self.bias = torch.from_numpy(w["bias"])
        self.deep = nn.Sequential(lin(0), nn.ReLU(), lin(1), nn.ReLU(), lin(2), nn.ReLU(), lin(3))

    def forward(self, ids):
        e = nn.functional.embedding(ids, self.emb)                      # [N,39,16]
        first = nn.functional.embedding(ids, self.lin).sum(dim=1)       # [N,1]
        s = e.sum(dim=1)
        fm = 0.5 * (s * s - (e * e).sum(dim=1)).sum(dim=1, keepdim=True)
        return torch.sigmoid(first + fm + self.deep(e.reshape(e.shape[0], -1)) + self.bias)


def build(name, w):
    def lin(i):
        m = nn.Linear(*w["d%d_w" % i].shape)
        m.weight.data = torch.from_numpy(np.ascontiguousarray(w["d%d_w" % i].T))
        m.bias.data = torch.from_numpy(w["d%d_b" % i])
        return m

    if name == "deepfm":
        return DeepFM(w, lin).eval()
    if name == "mlp":
        layers = [lin(0), nn.ReLU(), lin(1), nn.ReLU(), lin(2)]
    else:
        layers = []
        for i in range(2):
            c = nn.Conv2d(w["c%d_w" % i].shape[1], w["c%d_w" % i].shape[0], 3)
            c.weight.data = torch.from_numpy(w["c%d_w" % i])
            c.bias.data = torch.from_numpy(w["c%d_b" % i])
            layers += [c, nn.ReLU(), nn.MaxPool2d(2)]
        layers += [nn.Flatten(), lin(0), nn.ReLU(), lin(1)]
    return nn.Sequential(*layers, nn.Softmax(dim=1)).eval()


def main():
    path, batch, iters, warmup, threads = sys.argv[1], *map(int, sys.argv[2:6])
    torch.set_num_threads(threads)
    name = os.path.basename(path).split(".")[0]
    t0 = time.perf_counter()
    if name in TW.INPUT_DIMS:
        model = TW.build(name, dict(np.load(path)))
        dims = [batch] + TW.INPUT_DIMS[name]
    else:
        model = build(name, dict(np.load(path)))
        dims = {"mlp": [batch, 784], "cnn": [batch, 1, 28, 28], "deepfm": [batch, 39]}[name]
    load_ms = (time.perf_counter() - t0) * 1e3
    i = np.arange(int(np.prod(dims)), dtype=np.int64)
    if name == "deepfm":
        x = torch.from_numpy(((i * 7919) % 100000).reshape(dims))
    else:
        x = torch.from_numpy((((i * 7919) % 256) / 255.0).astype(np.float32).reshape(dims))
    t = []
    with torch.inference_mode():
        for it in range(-warmup, iters):
            s = time.perf_counter()
            y = model(x)
            e = (time.perf_counter() - s) * 1e3
            if it >= 0:
                t.append(e)
    yf = y.numpy().reshape(-1).astype(np.float64)
    checksum = float(np.sum(yf * (np.arange(yf.size) % 7 + 1)))
    mean = sum(t) / len(t)
    t.sort()
    print(json.dumps({"engine": "torch", "version": torch.__version__, "batch": batch, "threads": threads,
                      "iters": iters, "median_ms": round(t[iters // 2], 4), "mean_ms": round(mean, 4),
                      "p90_ms": round(t[int(0.9 * (iters - 1) + 0.5)], 4), "min_ms": round(t[0], 4),
                      "load_ms": round(load_ms, 2), "checksum": round(checksum, 6)}))


if __name__ == "__main__":
    main()
