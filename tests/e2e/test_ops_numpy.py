"""test_ops_numpy.py — single-op SavedModels run through `tensord run`, compared with numpy.

Each case writes a tiny TF1-style SavedModel (tools/savedmodel_writer.py): one Placeholder per
input (in0, in1, ...), the op under test, an Identity per output (out0, ...), one predict
signature; then runs `tensord run --inputs ... --outdir` and compares every output with a
reference computed here in numpy (never with tensord's own output). Error cases check the exit
status and TF's error text. Covers the array / math ops of issue 11 (Einsum and the rest).
"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import REPO, run_cli, run_outputs  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "tools"))
import savedmodel_writer as W  # noqa: E402
from savedmodel_writer import Attr, GraphBuilder, tensor_info  # noqa: E402

PREDICT = "tensorflow/serving/predict"
DT_STRING = 7


def _dt(x):
    if isinstance(x, int):
        return x
    return W.NP_TO_DT[np.dtype(x)]


def _attr(v):
    if isinstance(v, Attr):
        return v
    if isinstance(v, bool):
        return Attr.b(v)
    if isinstance(v, int):
        return Attr.i(v)
    if isinstance(v, float):
        return Attr.f(v)
    if isinstance(v, str):
        return Attr.s(v)
    if isinstance(v, (list, tuple)) and all(isinstance(e, int) and not isinstance(e, bool) for e in v):
        return Attr.ints(list(v))
    if isinstance(v, type) or isinstance(v, np.dtype):
        return Attr.type(_dt(v))
    raise TypeError("attr value %r" % (v,))


def build_model(path, op, ins, attrs, out_dtypes, consts=None):
    """ins: list of numpy arrays (fed) ; consts: {index: array} inputs baked in as Const."""
    pb = W.load_protos()
    sm = pb.saved_model.SavedModel(saved_model_schema_version=1)
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    mg.meta_info_def.tensorflow_version = "2.15.0"
    mg.graph_def.versions.producer = 1645
    g = GraphBuilder(mg.graph_def)
    sig = mg.signature_def["serving_default"]
    sig.method_name = PREDICT
    names = []
    for i, a in enumerate(ins):
        name = "in%d" % i
        if consts and i in consts:
            g.const(name, a)
        else:
            dt = DT_STRING if a.dtype.kind in "SUO" else _dt(a.dtype)
            g.node(name, "Placeholder", dtype=Attr.type(dt), shape=Attr.shape(list(a.shape)))
            tensor_info(sig.inputs[name], name + ":0", dt, list(a.shape))
        names.append(name)
    g.node("op", op, names, **{k: _attr(v) for k, v in attrs.items()})
    for j, dt in enumerate(out_dtypes):
        dt = _dt(dt)
        g.node("out%d" % j, "Identity", ["op:%d" % j], T=Attr.type(dt))
        tensor_info(sig.outputs["out%d" % j], "out%d:0" % j, dt, None)
    d = os.path.join(str(path), "m%d" % len(os.listdir(str(path))), "1")
    os.makedirs(d)
    with open(os.path.join(d, "saved_model.pb"), "wb") as f:
        f.write(W.serialize(sm))
    return d


def run_op(tmp_path, op, ins, attrs=None, nout=1, out_dtypes=None, consts=None):
    """Runs op on ins; returns the list of outputs."""
    ins = [np.asarray(a) for a in ins]
    out_dtypes = out_dtypes or [ins[0].dtype] * nout
    d = build_model(tmp_path, op, ins, attrs or {}, out_dtypes, consts)
    feeds = {"in%d" % i: a for i, a in enumerate(ins) if not (consts and i in consts)}
    res = run_outputs(d, tmp_path, inputs=feeds)
    return [res["out%d" % j] for j in range(len(out_dtypes))]


def run_op_error(tmp_path, op, ins, attrs=None, nout=1, out_dtypes=None, consts=None):
    """Runs op expecting failure; returns stderr + stdout."""
    ins = [np.asarray(a) for a in ins]
    out_dtypes = out_dtypes or [ins[0].dtype] * nout
    d = build_model(tmp_path, op, ins, attrs or {}, out_dtypes, consts)
    specs = []
    for i, a in enumerate(ins):
        if consts and i in consts:
            continue
        p = tmp_path / ("err_in%d_%d.npy" % (i, len(os.listdir(str(tmp_path)))))
        np.save(p, a)
        specs.append("in%d=%s" % (i, p))
    args = ["run", "--dir", d]
    if specs:
        args += ["--inputs", ";".join(specs)]
    r = run_cli(*args)
    assert r.returncode != 0, "expected failure, got:\n" + r.stdout
    return r.stderr + r.stdout


def check(got, want, atol=1e-5, rtol=1e-5):
    want = np.asarray(want)
    assert got.shape == want.shape, "shape %s, want %s" % (got.shape, want.shape)
    if want.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, atol=atol, rtol=rtol)
    else:
        assert got.dtype == want.dtype, "dtype %s, want %s" % (got.dtype, want.dtype)
        np.testing.assert_array_equal(got, want)


RNG = np.random.default_rng(11)


def rnd(*shape, dtype=np.float32):
    if np.dtype(dtype).kind == "f":
        return RNG.standard_normal(shape).astype(dtype)
    return RNG.integers(-5, 6, size=shape).astype(dtype)


# ---------------------------------------------------------------------------------------------
# Einsum

EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("abc,cde->abde", [(2, 30, 6), (6, 2, 32)]),           # Keras EinsumDense (MHA projections)
    ("aecd,abcd->acbe", [(2, 5, 2, 8), (2, 7, 2, 8)]),      # MHA scores
    ("acbe,aecd->abcd", [(2, 2, 7, 5), (2, 5, 2, 8)]),      # MHA attention output
    ("abcd,cde->abe", [(2, 7, 2, 8), (2, 8, 6)]),           # MHA output projection
    ("bij,bjk->bik", [(3, 2, 4), (3, 4, 5)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),                         # Hadamard (batch only)
    ("i,j->ij", [(3,), (4,)]),                               # outer product
    ("i,i->", [(5,), (5,)]),                                 # dot
    ("ii->i", [(4, 4)]),                                     # diagonal
    ("ii", [(4, 4)]),                                        # trace (implicit)
    ("ij->ji", [(3, 5)]),                                    # transpose
    ("ijk->", [(2, 3, 4)]),                                  # full sum
    ("ij->i", [(3, 5)]),                                     # row sum
    ("...ij,...jk->...ik", [(2, 3, 4, 5), (3, 5, 2)]),       # broadcast batch via ellipsis
    ("...ij,...jk->...ik", [(1, 3, 4), (2, 4, 5)]),          # size-1 batch broadcast
    ("ij,jk", [(2, 3), (3, 4)]),                             # implicit output
    ("bii,bij->bj", [(2, 3, 3), (2, 3, 4)]),                 # diagonal inside a product
    ("ijk,jil->kl", [(2, 3, 4), (3, 2, 5)]),                 # two contracted labels, transposed
    ("ab,cd->", [(2, 3), (4, 5)]),                           # summed labels on both sides
    ("i...->...", [(3, 2, 4)]),
    ("bxy,bzy->bxz", [(2, 3, 4), (2, 5, 4)]),                # right operand used transposed
    ("bkm,bkn->bmn", [(2, 4, 3), (2, 4, 5)]),                # left operand used transposed
    ("ij,jk->ik", [(0, 4), (4, 5)]),                         # empty
    ("ij,jk->ik", [(3, 0), (0, 5)]),                         # empty contraction: zeros
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES, ids=["%s-%d" % (c[0], i) for i, c in enumerate(EINSUM_CASES)])
def test_einsum_float(tensord, tmp_path, eq, shapes):
    ins = [rnd(*s) for s in shapes]
    got = run_op(tmp_path, "Einsum", ins, {"equation": eq, "N": len(ins), "T": np.float32})[0]
    want = np.einsum(eq, *[a.astype(np.float64) for a in ins]).astype(np.float32)
    check(got, want, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int64])
def test_einsum_dtypes(tensord, tmp_path, dtype):
    a, b = rnd(2, 3, 4, dtype=dtype), rnd(2, 4, 3, dtype=dtype)
    got = run_op(tmp_path, "Einsum", [a, b], {"equation": "bij,bjk->bki", "N": 2, "T": dtype})[0]
    check(got, np.einsum("bij,bjk->bki", a, b))


@pytest.mark.parametrize("eq,shapes,needle", [
    ("ij,jk->ik", [(3, 4), (5, 6)], "Expected dimension"),
    ("ij,jk->ik", [(3, 4, 1), (4, 6)], "rank 3"),
    ("ij,jk->iz", [(3, 4), (4, 6)], "Output subscript 'z'"),
    ("ij->ik->i", [(3, 4)], "exactly one '->'"),
])
def test_einsum_errors(tensord, tmp_path, eq, shapes, needle):
    ins = [rnd(*s) for s in shapes]
    if eq.count(",") + 1 != len(ins):
        ins = ins[:eq.split("->")[0].count(",") + 1]
    err = run_op_error(tmp_path, "Einsum", ins, {"equation": eq, "N": len(ins), "T": np.float32})
    assert needle in err, err


def _erf(x):
    import math
    return np.vectorize(math.erf)(x)


def test_gelu_erf_and_layer_norm_compose(tensord, tmp_path):
    """Keras GELU (approximate=False) = 0.5 x (1 + erf(x / sqrt 2)); LayerNormalization =
    (x - mean) * rsqrt(var + eps) * gamma + beta — both graphs of existing ops; check values."""
    x = rnd(2, 5).astype(np.float32)
    pb = W.load_protos()
    sm = pb.saved_model.SavedModel(saved_model_schema_version=1)
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    g = GraphBuilder(mg.graph_def)
    F = Attr.type(1)
    g.node("x", "Placeholder", dtype=F, shape=Attr.shape([2, 5]))
    g.const("rs2", np.float32(1 / np.sqrt(2)))
    g.const("half", np.float32(0.5))
    g.const("one", np.float32(1.0))
    g.node("s", "Mul", ["x", "rs2"], T=F)
    g.node("e", "Erf", ["s"], T=F)
    g.node("p", "AddV2", ["e", "one"], T=F)
    g.node("h", "Mul", ["x", "half"], T=F)
    g.node("gelu", "Mul", ["h", "p"], T=F)
    g.const("axis", np.int32(-1))
    g.const("eps", np.float32(1e-6))
    g.const("gamma", np.float32([1, 2, 3, 4, 5]))
    g.const("beta", np.float32([0.5, 0, -0.5, 0, 1]))
    g.node("mean", "Mean", ["gelu", "axis"], T=F, Tidx=Attr.type(3), keep_dims=Attr.b(True))
    g.node("d", "SquaredDifference", ["gelu", "mean"], T=F)
    g.node("var", "Mean", ["d", "axis"], T=F, Tidx=Attr.type(3), keep_dims=Attr.b(True))
    g.node("ve", "AddV2", ["var", "eps"], T=F)
    g.node("rs", "Rsqrt", ["ve"], T=F)
    g.node("c", "Sub", ["gelu", "mean"], T=F)
    g.node("n", "Mul", ["c", "rs"], T=F)
    g.node("ng", "Mul", ["n", "gamma"], T=F)
    g.node("ln", "AddV2", ["ng", "beta"], T=F)
    sig = mg.signature_def["serving_default"]
    sig.method_name = PREDICT
    tensor_info(sig.inputs["x"], "x:0", 1, [2, 5])
    tensor_info(sig.outputs["gelu"], "gelu:0", 1, None)
    tensor_info(sig.outputs["ln"], "ln:0", 1, None)
    d = tmp_path / "gelu_ln" / "1"
    os.makedirs(d)
    (d / "saved_model.pb").write_bytes(W.serialize(sm))
    res = run_outputs(str(d), tmp_path, inputs={"x": x})
    xd = x.astype(np.float64)
    gelu = 0.5 * xd * (1 + _erf(xd / np.sqrt(2)))
    mu = gelu.mean(-1, keepdims=True)
    var = ((gelu - mu) ** 2).mean(-1, keepdims=True)
    ln = (gelu - mu) / np.sqrt(var + 1e-6) * np.array([1, 2, 3, 4, 5]) + np.array([0.5, 0, -0.5, 0, 1])
    check(res["gelu"], gelu, atol=1e-5)
    check(res["ln"], ln, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# GatherNd / ScatterNd / TensorScatter*

def _gather_nd(params, indices, batch_dims=0):
    if batch_dims == 0:
        q = indices.shape[-1]
        flat = indices.reshape(-1, q)
        rows = [params[tuple(r)] for r in flat]
        return np.array(rows, dtype=params.dtype).reshape(indices.shape[:-1] + params.shape[q:])
    return np.stack([_gather_nd(params[b], indices[b], batch_dims - 1) for b in range(params.shape[0])])


@pytest.mark.parametrize("itype", [np.int32, np.int64])
def test_gather_nd(tensord, tmp_path, itype):
    p = rnd(3, 4, 5)
    for idx in ([[0, 1], [2, 3], [1, 0]], [[[2]], [[0]]], [[0, 1, 2], [2, 3, 4]]):
        idx = np.array(idx, dtype=itype)
        got = run_op(tmp_path, "GatherNd", [p, idx], {"Tparams": np.float32, "Tindices": itype})[0]
        check(got, _gather_nd(p, idx))


def test_gather_nd_batch_dims_and_types(tensord, tmp_path):
    p = rnd(2, 3, 4, dtype=np.int64)
    idx = np.array([[[1], [0]], [[2], [2]]], dtype=np.int32)
    got = run_op(tmp_path, "GatherNd", [p, idx], {"Tparams": np.int64, "Tindices": np.int32, "batch_dims": 1})[0]
    check(got, _gather_nd(p, idx, 1))
    b = np.array([[True, False], [False, True]])
    got = run_op(tmp_path, "GatherNd", [b, np.array([[1, 1], [0, 1]], np.int32)], {"Tparams": np.bool_, "Tindices": np.int32})[0]
    check(got, np.array([True, False]))
    # empty indices
    got = run_op(tmp_path, "GatherNd", [p, np.zeros((0, 2), np.int32)], {"Tparams": np.int64, "Tindices": np.int32})[0]
    check(got, np.zeros((0, 4), np.int64))


def test_gather_nd_error(tensord, tmp_path):
    p = rnd(3, 2)
    err = run_op_error(tmp_path, "GatherNd", [p, np.array([[0], [5]], np.int32)], {"Tparams": np.float32, "Tindices": np.int32})
    assert "indices[1] = [5] does not index into param shape [3,2]" in err, err


def test_scatter_nd(tensord, tmp_path):
    idx = np.array([[4], [3], [1], [7], [1]], np.int32)
    upd = np.array([9, 10, 11, 12, 13], np.float32)
    got = run_op(tmp_path, "ScatterNd", [idx, upd, np.array([8], np.int32)], {"T": np.float32, "Tindices": np.int32})[0]
    want = np.zeros(8, np.float32)
    np.add.at(want, idx[:, 0], upd)
    check(got, want)
    idx = np.array([[0, 1], [2, 0]], np.int64)
    upd = rnd(2, 3, dtype=np.int64)
    got = run_op(tmp_path, "ScatterNd", [idx, upd, np.array([3, 2, 3], np.int64)], {"T": np.int64, "Tindices": np.int64})[0]
    want = np.zeros((3, 2, 3), np.int64)
    want[0, 1] += upd[0]
    want[2, 0] += upd[1]
    check(got, want)
    err = run_op_error(tmp_path, "ScatterNd", [np.array([[8]], np.int32), np.float32([1]), np.array([8], np.int32)],
                       {"T": np.float32, "Tindices": np.int32})
    assert "indices[0] = [8] does not index into shape [8]" in err, err


@pytest.mark.parametrize("op,fn", [("TensorScatterUpdate", None), ("TensorScatterAdd", np.add),
                                   ("TensorScatterSub", np.subtract), ("TensorScatterMax", np.maximum),
                                   ("TensorScatterMin", np.minimum)])
def test_tensor_scatter(tensord, tmp_path, op, fn):
    t = rnd(4, 3)
    idx = np.array([[2], [0]], np.int32)
    upd = rnd(2, 3)
    want = t.copy()
    for r, i in enumerate(idx[:, 0]):
        want[i] = upd[r] if fn is None else fn(want[i], upd[r])
    got = run_op(tmp_path, op, [t, idx, upd], {"T": np.float32, "Tindices": np.int32})[0]
    check(got, want)


# ---------------------------------------------------------------------------------------------
# space / batch / depth

def _space_to_batch(x, block, pads):
    m = len(block)
    padw = [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)] * (x.ndim - 1 - m)
    xp = np.pad(x, padw)
    b = x.shape[0]
    shp = [b]
    for k in range(m):
        shp += [xp.shape[1 + k] // block[k], block[k]]
    shp += list(x.shape[1 + m:])
    y = xp.reshape(shp)
    perm = [2 + 2 * k for k in range(m)] + [0] + [1 + 2 * k for k in range(m)] + list(range(1 + 2 * m, len(shp)))
    y = y.transpose(perm)
    return y.reshape([b * int(np.prod(block))] + [xp.shape[1 + k] // block[k] for k in range(m)] + list(x.shape[1 + m:]))


def test_space_to_batch_and_back(tensord, tmp_path):
    x = rnd(2, 4, 6, 3)
    block, pads = np.array([2, 3], np.int32), np.array([[0, 2], [1, 2]], np.int32)
    got = run_op(tmp_path, "SpaceToBatchND", [x, block, pads], {"T": np.float32, "Tblock_shape": np.int32, "Tpaddings": np.int32})[0]
    want = _space_to_batch(x, [2, 3], [[0, 2], [1, 2]])
    check(got, want)
    back = run_op(tmp_path, "BatchToSpaceND", [want, block, pads], {"T": np.float32, "Tblock_shape": np.int32, "Tcrops": np.int32})[0]
    check(back, x)
    err = run_op_error(tmp_path, "SpaceToBatchND", [x, np.array([4, 4], np.int32), np.zeros((2, 2), np.int32)],
                       {"T": np.float32, "Tblock_shape": np.int32, "Tpaddings": np.int32})
    assert "is not divisible by block_shape" in err, err


def test_depth_space(tensord, tmp_path):
    x = rnd(2, 4, 6, 3)
    bs = 2
    n, h, w, c = x.shape
    want = x.reshape(n, h // bs, bs, w // bs, bs, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h // bs, w // bs, c * bs * bs)
    got = run_op(tmp_path, "SpaceToDepth", [x], {"T": np.float32, "block_size": bs})[0]
    check(got, want)
    back = run_op(tmp_path, "DepthToSpace", [want], {"T": np.float32, "block_size": bs})[0]
    check(back, x)


# ---------------------------------------------------------------------------------------------
# matrix band / diag

def test_matrix_band_part(tensord, tmp_path):
    x = rnd(2, 4, 5)
    for lo, hi in ((1, 0), (-1, 1), (0, -1), (2, 2)):
        i, j = np.meshgrid(np.arange(4), np.arange(5), indexing="ij")
        keep = ((lo < 0) | (i - j <= lo)) & ((hi < 0) | (j - i <= hi))
        got = run_op(tmp_path, "MatrixBandPart", [x, np.int64(lo), np.int64(hi)], {"T": np.float32, "Tindex": np.int64})[0]
        check(got, np.where(keep, x, 0))


def test_matrix_diag_v1(tensord, tmp_path):
    d = rnd(2, 3)
    got = run_op(tmp_path, "MatrixDiag", [d], {"T": np.float32})[0]
    check(got, np.stack([np.diag(r) for r in d]))
    x = rnd(2, 3, 4)
    got = run_op(tmp_path, "MatrixDiagPart", [x], {"T": np.float32})[0]
    check(got, np.stack([np.diag(m) for m in x]))
    got = run_op(tmp_path, "MatrixSetDiag", [x, d], {"T": np.float32})[0]
    want = x.copy()
    for b in range(2):
        for i in range(3):
            want[b, i, i] = d[b, i]
    check(got, want)


def _diag_part_v3(x, lo, hi, pad, align):
    m, n = x.shape[-2:]
    maxlen = min(m + min(hi, 0), n - max(lo, 0))
    out = []
    for d in range(hi, lo - 1, -1):
        diag = np.diagonal(x, offset=d, axis1=-2, axis2=-1)
        ln = diag.shape[-1]
        left = (d >= 0 and align.split("_")[0] == "LEFT") or (d <= 0 and align.split("_")[1] == "LEFT")
        padw = [(0, 0)] * (x.ndim - 2) + [(0, maxlen - ln) if left else (maxlen - ln, 0)]
        out.append(np.pad(diag, padw, constant_values=pad))
    r = np.stack(out, axis=-2)
    return r[..., 0, :] if lo == hi else r


@pytest.mark.parametrize("align", ["RIGHT_LEFT", "LEFT_RIGHT", "LEFT_LEFT", "RIGHT_RIGHT"])
def test_matrix_diag_v3_roundtrip(tensord, tmp_path, align):
    x = rnd(2, 3, 4)
    k = np.array([-1, 2], np.int32)
    want = _diag_part_v3(x, -1, 2, 9.0, align)
    got = run_op(tmp_path, "MatrixDiagPartV3", [x, k, np.float32(9)], {"T": np.float32, "align": align})[0]
    check(got, want)
    # MatrixDiagV3 back into a 3x4 matrix: in-band entries from x, the rest the padding value
    i, j = np.meshgrid(np.arange(3), np.arange(4), indexing="ij")
    band = (j - i >= -1) & (j - i <= 2)
    m = run_op(tmp_path, "MatrixDiagV3", [want, k, np.int32(3), np.int32(4), np.float32(-1)],
               {"T": np.float32, "align": align})[0]
    check(m, np.where(band, x, -1))
    # MatrixSetDiagV3 on zeros gives the band
    s = run_op(tmp_path, "MatrixSetDiagV3", [np.zeros_like(x), want, k], {"T": np.float32, "align": align})[0]
    check(s, np.where(band, x, 0))


def test_matrix_diag_v2_single(tensord, tmp_path):
    d = np.arange(1, 4, dtype=np.int32)
    got = run_op(tmp_path, "MatrixDiagV2", [d, np.int32(1), np.int32(-1), np.int32(-1), np.int32(0)], {"T": np.int32})[0]
    check(got, np.diag(d, 1).astype(np.int32))


# ---------------------------------------------------------------------------------------------
# misc array ops

def test_ensure_shape(tensord, tmp_path):
    x = rnd(2, 3)
    got = run_op(tmp_path, "EnsureShape", [x], {"T": np.float32, "shape": Attr.shape([-1, 3])})[0]
    check(got, x)
    err = run_op_error(tmp_path, "EnsureShape", [x], {"T": np.float32, "shape": Attr.shape([2, 4])})
    assert "Shape of tensor in0 [2,3] is not compatible with expected shape [2,4]." in err, err


def test_broadcast_args_linspace_roll(tensord, tmp_path):
    got = run_op(tmp_path, "BroadcastArgs", [np.array([2, 1, 3], np.int32), np.array([4, 1], np.int32)], {"T": np.int32})[0]
    check(got, np.array(np.broadcast_shapes((2, 1, 3), (4, 1)), np.int32))
    err = run_op_error(tmp_path, "BroadcastArgs", [np.array([2, 3], np.int64), np.array([4], np.int64)], {"T": np.int64})
    assert "Incompatible shapes: [2,3] vs. [4]" in err, err
    got = run_op(tmp_path, "LinSpace", [np.float32(1), np.float32(2), np.int32(5)], {"T": np.float32, "Tidx": np.int32})[0]
    check(got, np.linspace(1, 2, 5, dtype=np.float32))
    x = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    got = run_op(tmp_path, "Roll", [x, np.array([1, -2, 5], np.int32), np.array([2, 1, -1], np.int64)],
                 {"T": np.int64, "Tshift": np.int32, "Taxis": np.int64})[0]
    check(got, np.roll(x, (1, -2, 5), axis=(2, 1, -1)))
    got = run_op(tmp_path, "Roll", [np.arange(5, dtype=np.float64), np.int32(2), np.int32(0)],
                 {"T": np.float64, "Tshift": np.int32, "Taxis": np.int32})[0]
    check(got, np.roll(np.arange(5, dtype=np.float64), 2))


def test_invert_permutation_concat_offset_reverse_sequence(tensord, tmp_path):
    p = np.array([3, 4, 0, 2, 1], np.int32)
    got = run_op(tmp_path, "InvertPermutation", [p], {"T": np.int32})[0]
    check(got, np.argsort(p).astype(np.int32))
    err = run_op_error(tmp_path, "InvertPermutation", [np.array([0, 0], np.int32)], {"T": np.int32})
    assert "0 is duplicated in the input." in err, err
    outs = run_op(tmp_path, "ConcatOffset", [np.int32(1), np.array([2, 3, 7], np.int32), np.array([2, 5, 7], np.int32),
                                             np.array([2, 1, 7], np.int32)], {"N": 3}, out_dtypes=[np.int32] * 3)
    for o, w in zip(outs, ([0, 0, 0], [0, 3, 0], [0, 8, 0])):
        check(o, np.array(w, np.int32))
    x = rnd(3, 5, 2)
    lens = np.array([2, 5, 0], np.int64)
    want = x.copy()
    for b, n in enumerate(lens):
        want[b, :n] = x[b, :n][::-1]
    got = run_op(tmp_path, "ReverseSequence", [x, lens], {"T": np.float32, "Tlen": np.int64, "seq_dim": 1, "batch_dim": 0})[0]
    check(got, want)


# ---------------------------------------------------------------------------------------------
# stitch / partition / segments

def test_dynamic_stitch_partition(tensord, tmp_path):
    i0, i1 = np.array([6], np.int32), np.array([[4, 1], [5, 2]], np.int32)
    d0, d1 = rnd(1, 2), rnd(2, 2, 2)
    want = np.zeros((7, 2), np.float32)
    want[i0.ravel()] = d0.reshape(-1, 2)
    want[i1.ravel()] = d1.reshape(-1, 2)
    for op in ("DynamicStitch", "ParallelDynamicStitch"):
        got = run_op(tmp_path, op, [i0, i1, d0, d1], {"T": np.float32, "N": 2}, out_dtypes=[np.float32])[0]
        check(got[[1, 2, 4, 5, 6]], want[[1, 2, 4, 5, 6]])
    data = rnd(5, 3)
    parts = np.array([1, 0, 1, 2, 1], np.int32)
    outs = run_op(tmp_path, "DynamicPartition", [data, parts], {"T": np.float32, "num_partitions": 3},
                  out_dtypes=[np.float32] * 3)
    for p in range(3):
        check(outs[p], data[parts == p])
    err = run_op_error(tmp_path, "DynamicPartition", [data, np.array([1, 0, 3, 2, 1], np.int32)],
                       {"T": np.float32, "num_partitions": 3}, out_dtypes=[np.float32] * 3)
    assert "partitions[2] = 3 is not in [0, 3)" in err, err


@pytest.mark.parametrize("op,fn,init", [("UnsortedSegmentSum", np.add, 0), ("UnsortedSegmentProd", np.multiply, 1),
                                        ("UnsortedSegmentMax", np.maximum, np.finfo(np.float32).min),
                                        ("UnsortedSegmentMin", np.minimum, np.finfo(np.float32).max)])
def test_unsorted_segment(tensord, tmp_path, op, fn, init):
    data = rnd(6, 2)
    ids = np.array([3, 0, -1, 3, 1, 0], np.int64)
    want = np.full((5, 2), init, np.float32)
    for i, s in enumerate(ids):
        if s >= 0:
            want[s] = fn(want[s], data[i])
    got = run_op(tmp_path, op, [data, ids, np.int32(5)], {"T": np.float32, "Tindices": np.int64, "Tnumsegments": np.int32})[0]
    check(got, want)


@pytest.mark.parametrize("op", ["SegmentSum", "SegmentMean", "SegmentMax", "SegmentMin", "SegmentProd"])
def test_sorted_segment(tensord, tmp_path, op):
    data = rnd(6, 3)
    ids = np.array([0, 0, 2, 2, 2, 4], np.int32)
    red = {"SegmentSum": np.sum, "SegmentMean": np.mean, "SegmentMax": np.max, "SegmentMin": np.min, "SegmentProd": np.prod}[op]
    want = np.zeros((5, 3), np.float32)
    for s in range(5):
        if (ids == s).any():
            want[s] = red(data[ids == s], axis=0)
    got = run_op(tmp_path, op, [data, ids], {"T": np.float32, "Tindices": np.int32})[0]
    check(got, want)
    got = run_op(tmp_path, op, [(data * 3).astype(np.int32), ids], {"T": np.int32, "Tindices": np.int32})[0]
    wi = np.zeros((5, 3), np.int64)
    di = (data * 3).astype(np.int32).astype(np.int64)
    for s in range(5):
        if (ids == s).any():
            v = red(di[ids == s], axis=0) if op != "SegmentMean" else np.trunc(di[ids == s].sum(0) / (ids == s).sum())
            wi[s] = v
    check(got, wi.astype(np.int32))
    err = run_op_error(tmp_path, op, [data, np.array([0, 1, 0, 2, 2, 2], np.int32)], {"T": np.float32, "Tindices": np.int32})
    assert "segment ids are not increasing" in err, err


# ---------------------------------------------------------------------------------------------
# element-wise extras, reductions, checks

def test_bitwise_and_shifts(tensord, tmp_path):
    for dt in (np.int32, np.int64, np.uint8):
        a = np.array([[12, 7, 255 if dt == np.uint8 else -9]], dt)
        b = np.array([3, 1, 2], dt)
        for op, fn in (("BitwiseAnd", np.bitwise_and), ("BitwiseOr", np.bitwise_or), ("BitwiseXor", np.bitwise_xor),
                       ("LeftShift", np.left_shift), ("RightShift", np.right_shift)):
            got = run_op(tmp_path, op, [a, b], {"T": dt})[0]
            check(got, fn(a, b).astype(dt))


def test_mul_no_nan_xlogy_xdivy(tensord, tmp_path):
    x = np.array([0, 2, 3, 0], np.float32)
    y = np.array([np.inf, 0.5, 4, 0], np.float32)
    with np.errstate(all="ignore"):
        check(run_op(tmp_path, "MulNoNan", [x, y], {"T": np.float32})[0], np.where(y == 0, 0, x * y))
        check(run_op(tmp_path, "Xlogy", [x, y], {"T": np.float32})[0], np.where(x == 0, 0, x * np.log(y)))
        check(run_op(tmp_path, "Xdivy", [x, y], {"T": np.float32})[0], np.where(x == 0, 0, x / y))


def test_euclidean_norm(tensord, tmp_path):
    x = rnd(2, 3, 4)
    got = run_op(tmp_path, "EuclideanNorm", [x, np.array([-1, 0], np.int32)], {"T": np.float32, "Tidx": np.int32})[0]
    check(got, np.sqrt((x.astype(np.float64) ** 2).sum(axis=(0, 2))))
    got = run_op(tmp_path, "EuclideanNorm", [x, np.int32(1)], {"T": np.float32, "Tidx": np.int32, "keep_dims": True})[0]
    check(got, np.sqrt((x.astype(np.float64) ** 2).sum(axis=1, keepdims=True)))


def test_check_numerics_assert_print(tensord, tmp_path):
    x = rnd(3)
    check(run_op(tmp_path, "CheckNumerics", [x], {"T": np.float32, "message": "m"})[0], x)
    err = run_op_error(tmp_path, "CheckNumerics", [np.array([1, np.nan], np.float32)], {"T": np.float32, "message": "bad x"})
    assert "bad x : Tensor had NaN values" in err, err
    err = run_op_error(tmp_path, "CheckNumerics", [np.array([np.inf, np.nan], np.float32)], {"T": np.float32, "message": "m"})
    assert "Tensor had Inf and NaN values" in err, err
    got = run_op(tmp_path, "Print", [x, np.array([1, 2, 3, 4], np.int32)],
                 {"T": np.float32, "U": Attr.types([3]), "message": "here"})[0]
    check(got, x)
    got = run_op(tmp_path, "StringFormat", [np.arange(10, dtype=np.int32), np.float32(2.5)],
                 {"T": Attr.types([3, 1]), "template": "x={} y={}", "placeholder": "{}"}, out_dtypes=[DT_STRING])[0]
    assert got.reshape(-1)[0] in (b"x=[0 1 2 ... 7 8 9] y=2.5", "x=[0 1 2 ... 7 8 9] y=2.5"), got


def test_assert(tensord, tmp_path):
    """Assert has no outputs: a graph Identity(x) with a control dependency on the Assert."""
    def model(cond):
        pb = W.load_protos()
        sm = pb.saved_model.SavedModel(saved_model_schema_version=1)
        mg = sm.meta_graphs.add()
        mg.meta_info_def.tags.append("serve")
        g = GraphBuilder(mg.graph_def)
        g.node("x", "Placeholder", dtype=Attr.type(3), shape=Attr.shape([3]))
        g.const("c", np.bool_(cond))
        g.const("msg", b"x is bad:")
        g.node("a", "Assert", ["c", "msg", "x"], T=Attr.types([7, 3]), summarize=Attr.i(2))
        g.node("y", "Identity", ["x", "^a"], T=Attr.type(3))
        sig = mg.signature_def["serving_default"]
        sig.method_name = PREDICT
        tensor_info(sig.inputs["x"], "x:0", 3, [3])
        tensor_info(sig.outputs["y"], "y:0", 3, None)
        d = tmp_path / ("assert_%d" % cond) / "1"
        os.makedirs(d)
        (d / "saved_model.pb").write_bytes(W.serialize(sm))
        return str(d)
    x = np.array([5, 6, 7], np.int32)
    check(run_outputs(model(True), tmp_path, inputs={"x": x})["y"], x)
    p = tmp_path / "x.npy"
    np.save(p, x)
    r = run_cli("run", "--dir", model(False), "--inputs", "x=%s" % p)
    assert r.returncode != 0
    assert "assertion failed: [x is bad:] [5 6...]" in r.stderr + r.stdout, r.stderr


def test_fake_quant(tensord, tmp_path):
    x = np.linspace(-8, 8, 41).astype(np.float32)

    def ref(x, mn, mx, bits=8, narrow=False):
        # TF's Nudge, all in float32 (zero point 127.5 rounds half away from zero)
        f = np.float32
        qmin, qmax = f(1 if narrow else 0), f(2 ** bits - 1)
        scale = (f(mx) - f(mn)) / (qmax - qmin)
        zp = qmin - f(mn) / scale
        zp = qmin if zp < qmin else qmax if zp > qmax else f(np.floor(zp + f(0.5)))
        nmin, nmax = (qmin - zp) * scale, (qmax - zp) * scale
        cl = np.clip(x, nmin, nmax)
        return (np.floor((cl - nmin) * (f(1) / scale) + f(0.5)) * scale + nmin).astype(np.float32)
    got = run_op(tmp_path, "FakeQuantWithMinMaxArgs", [x], {"min": -6.0, "max": 6.0})[0]
    check(got, ref(x, -6.0, 6.0), atol=1e-5)
    got = run_op(tmp_path, "FakeQuantWithMinMaxVars", [x, np.float32(-1), np.float32(3)], {"num_bits": 4, "narrow_range": True})[0]
    check(got, ref(x, -1.0, 3.0, 4, True), atol=1e-5)


def test_softmax_cross_entropy(tensord, tmp_path):
    x = rnd(3, 4).astype(np.float64)
    lab = np.abs(rnd(3, 4).astype(np.float64))
    lab /= lab.sum(1, keepdims=True)
    lse = np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True)) + x.max(1, keepdims=True)
    sm = np.exp(x - lse)
    loss, bp = run_op(tmp_path, "SoftmaxCrossEntropyWithLogits", [x, lab], {"T": np.float64}, nout=2)
    check(loss, (lab * (lse - x)).sum(1))
    check(bp, sm - lab)
    cls = np.array([1, 0, 3], np.int64)
    onehot = np.eye(4)[cls]
    loss, bp = run_op(tmp_path, "SparseSoftmaxCrossEntropyWithLogits", [x, cls], {"T": np.float64, "Tlabels": np.int64},
                      out_dtypes=[np.float64, np.float64])
    check(loss, (onehot * (lse - x)).sum(1))
    check(bp, sm - onehot)
    err = run_op_error(tmp_path, "SparseSoftmaxCrossEntropyWithLogits", [x, np.array([1, 4, 0], np.int32)],
                       {"T": np.float64, "Tlabels": np.int32}, out_dtypes=[np.float64, np.float64])
    assert "Received a label value of 4 which is outside the valid range of [0, 4)." in err, err


def test_matrix_inverse_determinant(tensord, tmp_path):
    a = rnd(2, 3, 3).astype(np.float64) + 3 * np.eye(3)
    check(run_op(tmp_path, "MatrixInverse", [a], {"T": np.float64})[0], np.linalg.inv(a), atol=1e-9)
    check(run_op(tmp_path, "MatrixInverse", [a], {"T": np.float64, "adjoint": True})[0],
          np.linalg.inv(np.swapaxes(a, -1, -2)), atol=1e-9)
    check(run_op(tmp_path, "MatrixDeterminant", [a.astype(np.float32)], {"T": np.float32})[0],
          np.linalg.det(a).astype(np.float32), atol=1e-3)
    err = run_op_error(tmp_path, "MatrixInverse", [np.ones((2, 2), np.float32)], {"T": np.float32})
    assert "Input is not invertible." in err, err


def test_unique_v2_list_diff(tensord, tmp_path):
    x = np.array([[1, 0, 1], [1, 0, 1], [2, 0, 2], [1, 0, 1]], np.int64)
    y, idx = run_op(tmp_path, "UniqueV2", [x, np.array([0], np.int64)], {"T": np.int64, "Taxis": np.int64},
                    out_dtypes=[np.int64, np.int32])
    check(y, np.array([[1, 0, 1], [2, 0, 2]], np.int64))
    check(idx, np.array([0, 0, 1, 0], np.int32))
    y, idx = run_op(tmp_path, "UniqueV2", [x, np.array([-1], np.int32)], {"T": np.int64, "Taxis": np.int32, "out_idx": np.int64},
                    out_dtypes=[np.int64, np.int64])
    check(y, x[:, :2])
    check(idx, np.array([0, 1, 0], np.int64))
    v = np.array([3, 1, 3, 2, 1], np.float32)
    y, idx = run_op(tmp_path, "UniqueV2", [v, np.zeros(0, np.int64)], {"T": np.float32, "Taxis": np.int64},
                    out_dtypes=[np.float32, np.int32])
    check(y, np.array([3, 1, 2], np.float32))
    check(idx, np.array([0, 1, 0, 2, 1], np.int32))
    a, b = np.array([1, 2, 3, 4, 5, 6], np.int32), np.array([1, 3, 5], np.int32)
    out, idx = run_op(tmp_path, "ListDiff", [a, b], {"T": np.int32}, out_dtypes=[np.int32, np.int32])
    check(out, np.array([2, 4, 6], np.int32))
    check(idx, np.array([1, 3, 5], np.int32))


# ---------------------------------------------------------------------------------------------
# strings through the type-generic ops, empty tensors

def _s(a):
    return np.array([x.decode() if isinstance(x, bytes) else x for x in np.asarray(a).reshape(-1)]).reshape(np.shape(a))


def test_strings_type_generic(tensord, tmp_path):
    p = np.array([["a", "bé"], ["ccc", "d€"], ["", "f"]])
    got = run_op(tmp_path, "GatherNd", [p, np.array([[1, 1], [2, 0]], np.int64)], {"Tparams": DT_STRING, "Tindices": np.int64},
                 out_dtypes=[DT_STRING])[0]
    assert _s(got).tolist() == ["d€", ""]
    got = run_op(tmp_path, "Roll", [p, np.int32(1), np.int32(0)], {"T": DT_STRING, "Tshift": np.int32, "Taxis": np.int32},
                 out_dtypes=[DT_STRING])[0]
    assert _s(got).tolist() == np.roll(p, 1, axis=0).tolist()
    got = run_op(tmp_path, "DynamicStitch", [np.array([1, 0], np.int32), np.array([2], np.int32), np.array(["x", "y"]),
                                             np.array(["z"])], {"T": DT_STRING, "N": 2}, out_dtypes=[DT_STRING])[0]
    assert _s(got).tolist() == ["y", "x", "z"]
    got = run_op(tmp_path, "TensorScatterUpdate", [p, np.array([[0, 1]], np.int32), np.array(["new"])],
                 {"T": DT_STRING, "Tindices": np.int32}, out_dtypes=[DT_STRING])[0]
    want = p.copy().astype(object)
    want[0, 1] = "new"
    assert _s(got).tolist() == want.tolist()


def test_empty_tensors(tensord, tmp_path):
    e = np.zeros((0, 3), np.float32)
    check(run_op(tmp_path, "Roll", [e, np.int32(2), np.int32(1)], {"T": np.float32, "Tshift": np.int32, "Taxis": np.int32})[0], e)
    check(run_op(tmp_path, "MatrixBandPart", [np.zeros((2, 0, 3), np.float32), np.int64(0), np.int64(-1)],
                 {"T": np.float32, "Tindex": np.int64})[0], np.zeros((2, 0, 3), np.float32))
    check(run_op(tmp_path, "UnsortedSegmentSum", [e, np.zeros(0, np.int32), np.int32(2)],
                 {"T": np.float32, "Tindices": np.int32, "Tnumsegments": np.int32})[0], np.zeros((2, 3), np.float32))
    check(run_op(tmp_path, "SegmentSum", [e, np.zeros(0, np.int32)], {"T": np.float32, "Tindices": np.int32})[0],
          np.zeros((0, 3), np.float32))
    check(run_op(tmp_path, "SpaceToDepth", [np.zeros((0, 4, 4, 1), np.float32)], {"T": np.float32, "block_size": 2})[0],
          np.zeros((0, 2, 2, 4), np.float32))
    check(run_op(tmp_path, "ScatterNd", [np.zeros((0, 1), np.int32), np.zeros((0, 2), np.float32), np.array([3, 2], np.int32)],
                 {"T": np.float32, "Tindices": np.int32})[0], np.zeros((3, 2), np.float32))
    check(run_op(tmp_path, "EuclideanNorm", [e, np.int32(0)], {"T": np.float32, "Tidx": np.int32})[0], np.zeros(3, np.float32))


@pytest.mark.parametrize("op", ["a-b", "b-a", "intersection", "union"])
def test_dense_to_dense_set_operation(tensord, tmp_path, op):
    a = np.array([[[1, 3, 3, 5], [2, 2, 2, 2]], [[7, 1, 4, 0], [9, 8, 7, 6]]], np.int64)
    b = np.array([[[5, 1, 6], [2, 4, 4]], [[0, 0, 0], [1, 2, 3]]], np.int64)
    fn = {"a-b": lambda x, y: x - y, "b-a": lambda x, y: y - x, "intersection": lambda x, y: x & y,
          "union": lambda x, y: x | y}[op]
    rows = {(i, j): sorted(fn(set(a[i, j]), set(b[i, j]))) for i in range(2) for j in range(2)}
    maxlen = max(len(v) for v in rows.values())
    want_idx = [[i, j, k] for (i, j), v in sorted(rows.items()) for k in range(len(v))]
    want_val = [x for _, v in sorted(rows.items()) for x in v]
    idx, val, shp = run_op(tmp_path, "DenseToDenseSetOperation", [a, b], {"T": np.int64, "set_operation": op},
                           out_dtypes=[np.int64, np.int64, np.int64])
    check(idx, np.array(want_idx, np.int64).reshape(-1, 3))
    check(val, np.array(want_val, np.int64))
    check(shp, np.array([2, 2, maxlen], np.int64))
