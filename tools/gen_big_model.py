#!/usr/bin/python3
"""gen_big_model.py OUT_BASE [--vocab N] [--dim D] [--fields F] [--versions 1,2] [--onnx PATH]

A large embedding model for the "weights without copies" checks (issue 14 point 4): a Keras-shaped
TF2 SavedModel (tools/gen_models.TF2Model: VarHandleOp variables restored by RestoreV2 from a
TensorBundle, no TensorFlow needed) written to OUT_BASE/<version>/ for each version:

  ids int64 [-1, F] -> ResourceGather(embedding [N, D]) [B, F, D] -> Mean over F [B, D]
      -> MatMul(kernel [D, 1]) -> BiasAdd(bias [1]) -> Sigmoid -> y [B, 1]   (signature serving_default)

Weights are float32, seeded per version (seed + version) so versions give different outputs;
expected(weights, ids) is the numpy reference. The default 1,000,000 x 128 table is 512 MB (the
bench); the e2e test uses a ~20 MB one. --onnx PATH also writes the first version as ONNX with
the weights in external data (PATH.data) for ONNX Runtime's session creation (bench/ort_load.js).

The TensorBundle's crc32c of a 512 MB tensor in pure Python would take minutes: fast_crc32c
computes it with numpy (slicing-by-4 over 4 KiB chunks in parallel lanes, then the chunk CRCs
combined with the GF(2) "append L zero bytes" operator, as zlib's crc32_combine does); tensord
verifies every checksum at load, so a wrong one would fail the load.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_models as G  # noqa: E402
import savedmodel_writer as W  # noqa: E402
from savedmodel_writer import Attr  # noqa: E402

DT_FLOAT, DT_INT32, DT_INT64 = 1, 3, 9

# ---- fast CRC-32C (numpy) ---------------------------------------------------------------------

_T = [np.array(W._CRC_TABLE, dtype=np.uint32)]
for _k in range(1, 4):
    _T.append((_T[-1] >> 8) ^ _T[0][_T[-1] & 0xFF])
_CHUNK = 4096
_SHIFT = None  # 4 byte tables of the "append _CHUNK zero bytes" operator


def _shift_tables():
    global _SHIFT
    if _SHIFT is None:
        t0 = W._CRC_TABLE
        basis = []
        for i in range(32):
            c = 1 << i
            for _ in range(_CHUNK):
                c = t0[c & 0xFF] ^ (c >> 8)
            basis.append(c)
        _SHIFT = []
        for k in range(4):
            tab = [0] * 256
            for v in range(256):
                acc = 0
                for j in range(8):
                    if v >> j & 1:
                        acc ^= basis[8 * k + j]
                tab[v] = acc
            _SHIFT.append(tab)
    return _SHIFT


def fast_crc32c(data, crc=0):
    """CRC-32C of data (bytes-like), optionally extending crc; same results as W.crc32c."""
    n = len(data)
    if crc or n < (1 << 20):
        return _slow_crc32c(data, crc)
    m = n // _CHUNK
    words = np.frombuffer(data, dtype="<u4", count=m * _CHUNK // 4).reshape(m, _CHUNK // 4)
    crcs = np.empty(m, np.uint32)
    t0, t1, t2, t3 = _T
    for r0 in range(0, m, 8192):
        blk = np.ascontiguousarray(words[r0:r0 + 8192].T)  # [words per chunk, lanes]
        c = np.full(blk.shape[1], 0xFFFFFFFF, np.uint32)
        for row in blk:
            c ^= row
            c = t3[c & 0xFF] ^ t2[(c >> 8) & 0xFF] ^ t1[(c >> 16) & 0xFF] ^ t0[c >> 24]
        crcs[r0:r0 + blk.shape[1]] = ~c
    s0, s1, s2, s3 = _shift_tables()
    total = 0
    for x in crcs.tolist():  # crc(A || B) = shift_|B|(crc(A)) ^ crc(B)
        total = s0[total & 0xFF] ^ s1[(total >> 8) & 0xFF] ^ s2[(total >> 16) & 0xFF] ^ s3[total >> 24] ^ x
    return _slow_crc32c(memoryview(data)[m * _CHUNK:], total)


_slow_crc32c = W.crc32c

# ---- the model --------------------------------------------------------------------------------


def make_weights(vocab, dim, seed):
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((vocab, dim), dtype=np.float32)
    emb *= np.float32(0.5)
    kernel = (rng.standard_normal((dim, 1), dtype=np.float32) * np.float32(0.3)).astype(np.float32)
    bias = np.array([0.1 * (seed % 7) - 0.2], np.float32)
    return {"embedding": emb, "kernel": kernel, "bias": bias}


def expected(w, ids):
    """numpy reference: sigmoid(mean_f(E[ids]) @ K + b), float32 [B, 1]."""
    h = w["embedding"][np.asarray(ids)].mean(axis=1, dtype=np.float64)
    z = h @ w["kernel"].astype(np.float64) + w["bias"].astype(np.float64)
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def write_savedmodel(pb, export_dir, w, fields):
    F = Attr.type(DT_FLOAT)

    def body(fb, ins, res):
        fb.node("embedding/embedding_lookup", "ResourceGather", [res[0], ins[0]], dtype=F,
                Tindices=Attr.type(DT_INT64), batch_dims=Attr.i(0), validate_indices=Attr.b(True))
        fb.const("mean/axis", np.array([1], np.int32))
        fb.node("mean", "Mean", ["embedding/embedding_lookup:output:0", "mean/axis:output:0"], T=F,
                Tidx=Attr.type(DT_INT32), keep_dims=Attr.b(False))
        fb.node("dense/MatMul/ReadVariableOp", "ReadVariableOp", [res[1]], dtype=F)
        fb.node("dense/MatMul", "MatMul", ["mean:output:0", "dense/MatMul/ReadVariableOp:value:0"], T=F)
        fb.node("dense/BiasAdd/ReadVariableOp", "ReadVariableOp", [res[2]], dtype=F)
        fb.node("dense/BiasAdd", "BiasAdd", ["dense/MatMul:product:0", "dense/BiasAdd/ReadVariableOp:value:0"], T=F)
        fb.node("dense/Sigmoid", "Sigmoid", ["dense/BiasAdd:output:0"], T=F)
        return ["dense/Sigmoid:y:0"]

    variables = [("embedding/embeddings", "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE", w["embedding"]),
                 ("dense/kernel", "layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE", w["kernel"]),
                 ("dense/bias", "layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE", w["bias"])]
    m = G.TF2Model(pb, "2.11.0", 1205, "bigemb", variables, [("ids", DT_INT64, [-1, fields])],
                   [("y", DT_FLOAT, [-1, 1])], body)
    W.crc32c = fast_crc32c
    try:
        m.write(export_dir)
    finally:
        W.crc32c = _slow_crc32c


def write_onnx(path, w, fields):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # The table goes to PATH.data as raw little-endian bytes, referenced as external data (no
    # 512 MB protobuf copy): location, offset 0, length.
    data_name = os.path.basename(path) + ".data"
    w["embedding"].tofile(path + ".data")
    emb = TensorProto(name="embedding", data_type=TensorProto.FLOAT, dims=list(w["embedding"].shape),
                      data_location=TensorProto.EXTERNAL)
    for k, v in (("location", data_name), ("offset", "0"), ("length", str(w["embedding"].nbytes))):
        e = emb.external_data.add()
        e.key, e.value = k, v
    inits = [emb, numpy_helper.from_array(w["kernel"], "kernel"), numpy_helper.from_array(w["bias"], "bias")]
    nodes = [helper.make_node("Gather", ["embedding", "ids"], ["e"], axis=0),
             helper.make_node("ReduceMean", ["e"], ["h"], axes=[1], keepdims=0),
             helper.make_node("MatMul", ["h", "kernel"], ["z0"]),
             helper.make_node("Add", ["z0", "bias"], ["z"]),
             helper.make_node("Sigmoid", ["z"], ["y"])]
    graph = helper.make_graph(nodes, "bigemb", [helper.make_tensor_value_info("ids", TensorProto.INT64, [None, fields])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_base")
    ap.add_argument("--vocab", type=int, default=1000000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--fields", type=int, default=8)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--versions", default="1")
    ap.add_argument("--onnx", default="", help="also write this ONNX file (+ PATH.data) with the first version's weights")
    args = ap.parse_args(argv)
    pb = W.load_protos()
    for v in [int(x) for x in args.versions.split(",") if x]:
        t0 = time.time()
        w = make_weights(args.vocab, args.dim, args.seed + v)
        export_dir = os.path.join(args.out_base, str(v))
        write_savedmodel(pb, export_dir, w, args.fields)
        if args.onnx and v == int(args.versions.split(",")[0]):
            write_onnx(args.onnx, w, args.fields)
        print("bigemb v%d: %s (%d x %d float32, %.1f MB, %.1fs)" % (
            v, export_dir, args.vocab, args.dim, w["embedding"].nbytes / 1e6, time.time() - t0))
        del w
    return 0


if __name__ == "__main__":
    sys.exit(main())
