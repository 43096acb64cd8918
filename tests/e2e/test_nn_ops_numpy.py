"""test_nn_ops_numpy.py — small SavedModels with the nn / image / spectral ops of issue 11, run
through `tensord run` and compared with references computed here in numpy (never with tensord's
own output): Conv2DBackpropInput vs a numpy scatter-add, FFT/RFFT/IRFFT vs numpy.fft (complex64
built by Complex and read back by Real/Imag/ComplexAbs inside the graph), NonMaxSuppressionV5
vs a Python transcription of the documented greedy / soft-NMS algorithm, CropAndResize vs the
documented bilinear sampling, ImageProjectiveTransformV3 vs a numpy translation, and the
stateless random ops' determinism.
"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import REPO, run_outputs  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "tools"))
import savedmodel_writer as W  # noqa: E402
from savedmodel_writer import Attr, GraphBuilder, tensor_info  # noqa: E402

DT_FLOAT, DT_INT32, DT_INT64, DT_COMPLEX64 = 1, 3, 9, 8
RNG = np.random.default_rng(5)


def model(tmp_path, feeds, body, outputs):
    """feeds: {name: array}; body(g) adds nodes; outputs: {key: (tensor name, dtype)}."""
    pb = W.load_protos()
    sm = pb.saved_model.SavedModel(saved_model_schema_version=1)
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    mg.graph_def.versions.producer = 1645
    g = GraphBuilder(mg.graph_def)
    sig = mg.signature_def["serving_default"]
    sig.method_name = "tensorflow/serving/predict"
    for name, a in feeds.items():
        dt = W.NP_TO_DT[a.dtype]
        g.node(name, "Placeholder", dtype=Attr.type(dt), shape=Attr.shape(list(a.shape)))
        tensor_info(sig.inputs[name], name + ":0", dt, list(a.shape))
    body(g)
    for key, (tensor, dt) in outputs.items():
        tensor_info(sig.outputs[key], tensor, dt, None)
    d = os.path.join(str(tmp_path), "m%d" % len(os.listdir(str(tmp_path))), "1")
    os.makedirs(d)
    with open(os.path.join(d, "saved_model.pb"), "wb") as f:
        f.write(W.serialize(sm))
    return run_outputs(d, tmp_path, inputs=feeds)


def conv_transpose_ref(dy, f, in_shape, stride, padding):
    n, h, w, c = in_shape
    kh, kw, _, oc = f.shape
    _, oh, ow, _ = dy.shape
    if padding == "SAME":
        pt = max((oh - 1) * stride + kh - h, 0) // 2
        pl = max((ow - 1) * stride + kw - w, 0) // 2
    else:
        pt = pl = 0
    dx = np.zeros(in_shape, np.float64)
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(kh):
                for kx in range(kw):
                    iy, ix = oy * stride - pt + ky, ox * stride - pl + kx
                    if 0 <= iy < h and 0 <= ix < w:
                        dx[:, iy, ix, :] += dy[:, oy, ox, :] @ f[ky, kx].T
    return dx


@pytest.mark.parametrize("stride,padding,size", [(2, "SAME", 8), (1, "VALID", 7), (3, "SAME", 10)])
def test_conv2d_transpose(tmp_path, stride, padding, size):
    in_shape = (2, size, size, 3)
    f = RNG.standard_normal((3, 3, 3, 4)).astype(np.float32)
    o = (size + stride - 1) // stride if padding == "SAME" else (size - 3) // stride + 1
    dy = RNG.standard_normal((2, o, o, 4)).astype(np.float32)

    def body(g):
        g.const("sizes", np.array(in_shape, np.int32))
        g.const("filter", f)
        g.node("op", "Conv2DBackpropInput", ["sizes", "filter", "dy"], T=Attr.type(DT_FLOAT),
               strides=Attr.ints([1, stride, stride, 1]), padding=Attr.s(padding))

    res = model(tmp_path, {"dy": dy}, body, {"y": ("op:0", DT_FLOAT)})
    np.testing.assert_allclose(res["y"], conv_transpose_ref(dy, f, in_shape, stride, padding), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [8, 12, 31])
def test_fft_family(tmp_path, n):
    re = RNG.standard_normal((3, n)).astype(np.float32)
    im = RNG.standard_normal((3, n)).astype(np.float32)
    fl = n - 2  # RFFT crops to fft_length

    def body(g):
        g.node("z", "Complex", ["re", "im"], T=Attr.type(DT_FLOAT), Tout=Attr.type(DT_COMPLEX64))
        g.node("fft", "FFT", ["z"], Tcomplex=Attr.type(DT_COMPLEX64))
        g.node("fre", "Real", ["fft"], T=Attr.type(DT_COMPLEX64), Tout=Attr.type(DT_FLOAT))
        g.node("fim", "Imag", ["fft"], T=Attr.type(DT_COMPLEX64), Tout=Attr.type(DT_FLOAT))
        g.const("fl", np.array([fl], np.int32))
        g.node("rfft", "RFFT", ["re", "fl"])
        g.node("mag", "ComplexAbs", ["rfft"], T=Attr.type(DT_COMPLEX64), Tout=Attr.type(DT_FLOAT))
        g.node("back", "IRFFT", ["rfft", "fl"])

    res = model(tmp_path, {"re": re, "im": im}, body,
                {"fre": ("fre:0", DT_FLOAT), "fim": ("fim:0", DT_FLOAT), "mag": ("mag:0", DT_FLOAT),
                 "back": ("back:0", DT_FLOAT)})
    want = np.fft.fft(re.astype(np.float64) + 1j * im.astype(np.float64))
    np.testing.assert_allclose(res["fre"], want.real, atol=1e-4)
    np.testing.assert_allclose(res["fim"], want.imag, atol=1e-4)
    np.testing.assert_allclose(res["mag"], np.abs(np.fft.rfft(re, fl)), atol=1e-4)
    np.testing.assert_allclose(res["back"], np.fft.irfft(np.fft.rfft(re, fl), fl), atol=1e-5)


def soft_nms_ref(boxes, scores, max_out, iou_thr, score_thr, sigma):
    def iou(a, b):
        ay0, ay1 = sorted((a[0], a[2])); ax0, ax1 = sorted((a[1], a[3]))
        by0, by1 = sorted((b[0], b[2])); bx0, bx1 = sorted((b[1], b[3]))
        aa, ba = (ay1 - ay0) * (ax1 - ax0), (by1 - by0) * (bx1 - bx0)
        if aa <= 0 or ba <= 0:
            return 0.0
        inter = max(min(ay1, by1) - max(ay0, by0), 0) * max(min(ax1, bx1) - max(ax0, bx0), 0)
        return inter / (aa + ba - inter)

    cands = [[float(s), i, 0] for i, s in enumerate(scores) if s > score_thr]
    sel, sel_scores = [], []
    while len(sel) < max_out and cands:
        cands.sort(key=lambda c: (-c[0], c[1]))
        s, i, begin = cands.pop(0)
        orig, hard = s, False
        for j in range(len(sel) - 1, begin - 1, -1):
            sim = iou(boxes[i], boxes[sel[j]])
            s *= np.exp(-0.5 / sigma * sim * sim) if sigma > 0 and sim <= iou_thr else (1.0 if sim <= iou_thr else 0.0)
            if sigma == 0 and sim > iou_thr:
                hard = True
                break
            if s <= score_thr:
                break
        if hard:
            continue
        if s == orig:
            sel.append(i)
            sel_scores.append(s)
        elif s > score_thr:
            cands.append([s, i, len(sel)])
    return sel, sel_scores


@pytest.mark.parametrize("sigma,iou", [(0.0, 0.5), (0.5, 1.0), (0.3, 0.7)])
def test_nms_v5(tmp_path, sigma, iou):
    y = RNG.uniform(0, 5, 40).astype(np.float32)
    x = RNG.uniform(0, 5, 40).astype(np.float32)
    boxes = np.stack([y, x, y + RNG.uniform(0.5, 2, 40), x + RNG.uniform(0.5, 2, 40)], 1).astype(np.float32)
    scores = RNG.uniform(0, 1, 40).astype(np.float32)

    def body(g):
        g.const("max", np.array(12, np.int32))
        g.const("iou", np.array(iou, np.float32))
        g.const("thr", np.array(0.1, np.float32))
        g.const("sigma", np.array(sigma, np.float32))
        g.node("op", "NonMaxSuppressionV5", ["boxes", "scores", "max", "iou", "thr", "sigma"], T=Attr.type(DT_FLOAT),
               pad_to_max_output_size=Attr.b(False))

    res = model(tmp_path, {"boxes": boxes, "scores": scores}, body,
                {"idx": ("op:0", DT_INT32), "sc": ("op:1", DT_FLOAT), "n": ("op:2", DT_INT32)})
    sel, sc = soft_nms_ref(boxes.astype(np.float64), scores, 12, iou, 0.1, sigma)
    assert list(res["idx"]) == sel
    np.testing.assert_allclose(res["sc"], sc, rtol=1e-5)
    assert int(res["n"]) == len(sel)


def crop_ref(img, boxes, ind, ch, cw, extrap=0.0):
    _, h, w, d = img.shape
    out = np.zeros((len(boxes), ch, cw, d), np.float64)
    for b, (y1, x1, y2, x2) in enumerate(boxes):
        for yy in range(ch):
            iy = y1 * (h - 1) + yy * (y2 - y1) * (h - 1) / (ch - 1) if ch > 1 else 0.5 * (y1 + y2) * (h - 1)
            for xx in range(cw):
                ix = x1 * (w - 1) + xx * (x2 - x1) * (w - 1) / (cw - 1) if cw > 1 else 0.5 * (x1 + x2) * (w - 1)
                if not (0 <= iy <= h - 1 and 0 <= ix <= w - 1):
                    out[b, yy, xx] = extrap
                    continue
                t, l = int(np.floor(iy)), int(np.floor(ix))
                bt, r = int(np.ceil(iy)), int(np.ceil(ix))
                fy, fx = iy - t, ix - l
                im = img[ind[b]]
                top = im[t, l] + (im[t, r] - im[t, l]) * fx
                bot = im[bt, l] + (im[bt, r] - im[bt, l]) * fx
                out[b, yy, xx] = top + (bot - top) * fy
    return out


def test_crop_and_resize(tmp_path):
    img = RNG.standard_normal((2, 7, 9, 3)).astype(np.float32)
    boxes = np.array([[0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], [-0.2, 0.3, 0.5, 1.2], [0.6, 0.6, 0.3, 0.1]], np.float32)
    ind = np.array([0, 1, 1, 0], np.int32)

    def body(g):
        g.const("ind", ind)
        g.const("size", np.array([5, 4], np.int32))
        g.node("op", "CropAndResize", ["img", "boxes", "ind", "size"], T=Attr.type(DT_FLOAT), extrapolation_value=Attr.f(-2.0))

    res = model(tmp_path, {"img": img, "boxes": boxes}, body, {"y": ("op:0", DT_FLOAT)})
    np.testing.assert_allclose(res["y"], crop_ref(img.astype(np.float64), boxes.astype(np.float64), ind, 5, 4, -2.0),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["REFLECT", "WRAP", "NEAREST", "CONSTANT"])
def test_projective_translate(tmp_path, mode):
    """Integer translations with NEAREST interpolation: out[y, x] = in[map(y - dy), map(x - dx)]."""
    img = RNG.integers(0, 255, (2, 6, 7, 2)).astype(np.float32)
    dx, dy = 3, -2
    t = np.array([[1, 0, -dx, 0, 1, -dy, 0, 0]], np.float32)

    def body(g):
        g.const("t", t)
        g.const("shape", np.array([6, 7], np.int32))
        g.const("fill", np.array(-1.0, np.float32))
        g.node("op", "ImageProjectiveTransformV3", ["img", "t", "shape", "fill"], dtype=Attr.type(DT_FLOAT),
               interpolation=Attr.s("NEAREST"), fill_mode=Attr.s(mode))

    res = model(tmp_path, {"img": img}, body, {"y": ("op:0", DT_FLOAT)})

    def m(c, n):  # numpy's pad modes are the same maps for in-range periods
        if 0 <= c < n:
            return c
        if mode == "NEAREST":
            return min(max(c, 0), n - 1)
        if mode == "WRAP":
            return c % n
        if mode == "REFLECT":
            c = c % (2 * n)
            return c if c < n else 2 * n - 1 - c
        return None

    want = np.empty_like(img)
    for y in range(6):
        for x in range(7):
            sy, sx = m(y - dy, 6), m(x - dx, 7)
            want[:, y, x] = -1.0 if sy is None or sx is None else img[:, sy, sx]
    np.testing.assert_array_equal(res["y"], want)


def test_stateless_random_deterministic(tmp_path):
    def body(g):
        g.const("shape", np.array([4, 5], np.int32))
        g.node("u", "StatelessRandomUniform", ["shape", "seed"], dtype=Attr.type(DT_FLOAT), T=Attr.type(DT_INT32),
               Tseed=Attr.type(DT_INT64))
        g.node("kc", "StatelessRandomGetKeyCounter", ["seed"], Tseed=Attr.type(DT_INT64))
        g.const("alg", np.array(1, np.int32))
        g.node("u2", "StatelessRandomUniformV2", ["shape", "kc:0", "kc:1", "alg"], dtype=Attr.type(DT_FLOAT),
               Tshape=Attr.type(DT_INT32))

    seed = np.array([7, 9], np.int64)
    a = model(tmp_path, {"seed": seed}, body, {"u": ("u:0", DT_FLOAT), "u2": ("u2:0", DT_FLOAT)})
    b = model(tmp_path, {"seed": seed}, body, {"u": ("u:0", DT_FLOAT), "u2": ("u2:0", DT_FLOAT)})
    assert a["u"].shape == (4, 5)
    np.testing.assert_array_equal(a["u"], b["u"])
    np.testing.assert_array_equal(a["u"], a["u2"])
    assert ((a["u"] >= 0) & (a["u"] < 1)).all() and len(np.unique(a["u"])) == 20
