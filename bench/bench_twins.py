"""bench_twins.py — the benchmark models of today's serving families, in two forms each:
a TF2-shaped SavedModel (tools/savedmodel_writer.py, no TensorFlow) and ONNX for ONNX Runtime.
gen_bench_models.py calls write_twin(); torch_bench.py builds the PyTorch form from the same
.npz weights (torch_twins.py). Weights are float32, seeded, stored in TF layouts in the .npz.

  lstm  x [-1,50,64] -> Keras LSTM(128) (implementation 2, sigmoid/tanh, gates i,f,c,o), last h
        SavedModel: Transpose -> TensorListFromTensor, StatelessWhile over time whose body does
        TensorListGetItem, MatMul(x_t, W) + MatMul(h, U), BiasAdd, Split(4), gates,
        TensorListSetItem; TensorListStack after the loop, last step by StridedSlice   [N,128]
        ONNX: LSTM (gates reordered to i,o,f,c), Y_h squeezed.
  gru   the same with Keras GRU(128), reset_after=True (TF2's default): two GEMMs + biases per
        step, h = z*h + (1-z)*tanh(x_h + r*(h.U_h + b_h)); ONNX GRU linear_before_reset=1.
  bert  x [-1,128,256] (embedded tokens) -> 4 post-LN encoder layers, hidden 256, 4 heads of 64,
        FFN 1024 with exact GELU 0.5*x*(1+erf(x/sqrt 2)), LayerNorm eps 1e-5           [N,128,256]
        SavedModel: attention as Keras MultiHeadAttention exports it (Einsum "abc,cde->abde"
        projections, "aecd,abcd->acbe" scores, Softmax, "acbe,aecd->abcd" context,
        "abcd,cde->abe" output); LayerNorm as moments (Mean, SquaredDifference, Rsqrt); FFN
        as Reshape + MatMul + BiasAdd. ONNX: MatMul/Transpose attention, LayerNormalization
        (opset 17), Erf GELU.
  mobilenet  x [-1,224,224,3] NHWC -> MobileNetV2 (width 1.0; BatchNorm folded into conv
        biases): stem Conv 3x3/2 32, 17 inverted residual blocks (expand 1x1, depthwise 3x3,
        project 1x1, ReLU6), Conv 1x1 1280, global average, Dense 1000, Softmax  [N,1000]
        SavedModel: Conv2D / DepthwiseConv2dNative (SAME, which for stride 2 on even sizes pads
        bottom/right by one as Keras' correct_pad does) + BiasAdd + Relu6, AddV2, Mean, MatMul.
        ONNX: NHWC input transposed once, Conv (group = C for depthwise), Clip(0,6).

Every input is filled with x[i] = ((i*7919) % 256) / 255 over its flat NHWC/row-major index, as
for the other models, so all drivers feed the same bytes.
"""

import numpy as np

from savedmodel_writer import Attr, FunctionBuilder, GraphBuilder  # noqa: E402

DT_FLOAT, DT_INT32, DT_BOOL, DT_VARIANT = 1, 3, 10, 21
SEQ, INP, HID = 50, 64, 128
BSEQ, BHID, HEADS, HDIM, FFN, LAYERS = 128, 256, 4, 64, 1024, 4
LN_EPS = 1e-5
MBV2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

INPUT_DIMS = {"lstm": [SEQ, INP], "gru": [SEQ, INP], "bert": [BSEQ, BHID], "mobilenet": [224, 224, 3]}
OUTPUT_DIMS = {"lstm": [-1, HID], "gru": [-1, HID], "bert": [-1, BSEQ, BHID], "mobilenet": [-1, 1000]}
NAMES = ("lstm", "gru", "bert", "mobilenet")


def _u(rng, shape, fan_in):
    lim = np.sqrt(1.0 / fan_in)
    return rng.uniform(-lim, lim, shape).astype(np.float32)


def lstm_weights(rng):
    b = np.zeros(4 * HID, np.float32)
    b[HID:2 * HID] = 1.0  # Keras unit_forget_bias
    b += (rng.standard_normal(4 * HID) * 0.01).astype(np.float32)
    return {"kernel": _u(rng, (INP, 4 * HID), INP), "rkernel": _u(rng, (HID, 4 * HID), HID), "bias": b}


def gru_weights(rng):
    return {"kernel": _u(rng, (INP, 3 * HID), INP), "rkernel": _u(rng, (HID, 3 * HID), HID),
            "bias": (rng.standard_normal((2, 3 * HID)) * 0.05).astype(np.float32)}


def bert_weights(rng):
    w = {}
    for l in range(LAYERS):
        p = "l%d_" % l
        for t in "qkv":
            w[p + t + "_w"] = _u(rng, (BHID, HEADS, HDIM), BHID)
            w[p + t + "_b"] = (rng.standard_normal((HEADS, HDIM)) * 0.02).astype(np.float32)
        w[p + "o_w"] = _u(rng, (HEADS, HDIM, BHID), BHID)
        w[p + "o_b"] = (rng.standard_normal(BHID) * 0.02).astype(np.float32)
        w[p + "f1_w"] = _u(rng, (BHID, FFN), BHID)
        w[p + "f1_b"] = (rng.standard_normal(FFN) * 0.02).astype(np.float32)
        w[p + "f2_w"] = _u(rng, (FFN, BHID), FFN)
        w[p + "f2_b"] = (rng.standard_normal(BHID) * 0.02).astype(np.float32)
        for n in ("ln1", "ln2"):
            w[p + n + "_g"] = (1 + rng.standard_normal(BHID) * 0.1).astype(np.float32)
            w[p + n + "_b"] = (rng.standard_normal(BHID) * 0.1).astype(np.float32)
    return w


def mobilenet_layers():
    """(name, kind, cin, cout, stride, act) in order; kind conv3 / dw / pw; 'add NAME' marks a residual."""
    layers = [("stem", "conv3", 3, 32, 2, True)]
    cin, bi = 32, 0
    for t, c, n, s in MBV2:
        for i in range(n):
            stride = s if i == 0 else 1
            p = "b%d_" % bi
            hidden = cin * t
            if t != 1:
                layers.append((p + "exp", "pw", cin, hidden, 1, True))
            layers.append((p + "dw", "dw", hidden, hidden, stride, True))
            layers.append((p + "proj", "pw", hidden, c, 1, False))
            if stride == 1 and cin == c:
                layers.append((p + "add", "add", c, c, 1, False))
            cin, bi = c, bi + 1
    layers.append(("head", "pw", cin, 1280, 1, True))
    return layers


def mobilenet_weights(rng):
    w = {}
    for name, kind, cin, cout, _, act in mobilenet_layers():
        if kind == "add":
            continue
        if kind == "dw":
            w[name + "_w"] = (rng.standard_normal((3, 3, cin, 1)) * np.sqrt(2.0 / 9)).astype(np.float32)
        else:
            k = 3 if kind == "conv3" else 1
            fan = k * k * cin
            gain = 2.0 if act else 1.0
            w[name + "_w"] = (rng.standard_normal((k, k, cin, cout)) * np.sqrt(gain / fan)).astype(np.float32)
        w[name + "_b"] = (rng.standard_normal(cout) * 0.05).astype(np.float32)
    w["fc_w"] = _u(rng, (1280, 1000), 1280)
    w["fc_b"] = (rng.standard_normal(1000) * 0.01).astype(np.float32)
    return w


WEIGHTS = {"lstm": lstm_weights, "gru": gru_weights, "bert": bert_weights, "mobilenet": mobilenet_weights}

# ---------------------------------------------------------------------------------------------
# SavedModel graphs. `v` maps weight names to the graph tensors that read them.

F = Attr.type(DT_FLOAT)
I32 = Attr.type(DT_INT32)


def _zeros_state(g, x):
    """Keras' initial state: Fill(Pack([Shape(x)[0], HID]), 0.0)."""
    g.node("rnn/Shape", "Shape", [x], T=F, out_type=I32)
    for n, val in (("b", [0]), ("e", [1]), ("s", [1])):
        g.const("rnn/slice_" + n, np.array(val, np.int32))
    g.node("rnn/batch", "StridedSlice", ["rnn/Shape", "rnn/slice_b", "rnn/slice_e", "rnn/slice_s"], T=I32,
           Index=I32, shrink_axis_mask=Attr.i(1), begin_mask=Attr.i(0), end_mask=Attr.i(0),
           ellipsis_mask=Attr.i(0), new_axis_mask=Attr.i(0))
    g.const("rnn/units", np.array(HID, np.int32))
    g.node("rnn/zeros_shape", "Pack", ["rnn/batch", "rnn/units"], T=I32, N=Attr.i(2), axis=Attr.i(0))
    g.const("rnn/zero", np.array(0.0, np.float32))
    g.node("rnn/zeros", "Fill", ["rnn/zeros_shape", "rnn/zero"], T=F, index_type=I32)
    return "rnn/zeros"


def _rnn_cell(fb, kind):
    """The loop body's cell: reads args x_t (via GetItem), h, [c], kernel, rkernel, bias;
    returns (h_new tensor, c_new tensor or None)."""
    fb.const("elem_shape", np.array([-1, INP], np.int32))
    fb.node("x_t", "TensorListGetItem", ["in_ta", "time", "elem_shape"], element_dtype=F)
    fb.const("split_dim", np.array(-1, np.int32))
    if kind == "lstm":
        fb.node("mx", "MatMul", ["x_t:item:0", "kernel"], T=F, transpose_a=Attr.b(False), transpose_b=Attr.b(False))
        fb.node("mh", "MatMul", ["h", "rkernel"], T=F, transpose_a=Attr.b(False), transpose_b=Attr.b(False))
        fb.node("z", "AddV2", ["mx:product:0", "mh:product:0"], T=F)
        fb.node("zb", "BiasAdd", ["z:z:0", "bias"], T=F, data_format=Attr.s("NHWC"))
        fb.node("gates", "Split", ["split_dim", "zb:output:0"], T=F, num_split=Attr.i(4))
        fb.node("i", "Sigmoid", ["gates:output:0"], T=F)
        fb.node("f", "Sigmoid", ["gates:output:1"], T=F)
        fb.node("g", "Tanh", ["gates:output:2"], T=F)
        fb.node("o", "Sigmoid", ["gates:output:3"], T=F)
        fb.node("fc", "Mul", ["f:y:0", "c"], T=F)
        fb.node("ig", "Mul", ["i:y:0", "g:y:0"], T=F)
        fb.node("c_new", "AddV2", ["fc:z:0", "ig:z:0"], T=F)
        fb.node("tc", "Tanh", ["c_new:z:0"], T=F)
        fb.node("h_new", "Mul", ["o:y:0", "tc:y:0"], T=F)
        return "h_new:z:0", "c_new:z:0"
    fb.node("biases", "Unpack", ["bias"], T=F, num=Attr.i(2), axis=Attr.i(0))
    fb.node("mx", "MatMul", ["x_t:item:0", "kernel"], T=F, transpose_a=Attr.b(False), transpose_b=Attr.b(False))
    fb.node("mxb", "BiasAdd", ["mx:product:0", "biases:output:0"], T=F, data_format=Attr.s("NHWC"))
    fb.node("mh", "MatMul", ["h", "rkernel"], T=F, transpose_a=Attr.b(False), transpose_b=Attr.b(False))
    fb.node("mhb", "BiasAdd", ["mh:product:0", "biases:output:1"], T=F, data_format=Attr.s("NHWC"))
    fb.node("xs", "Split", ["split_dim", "mxb:output:0"], T=F, num_split=Attr.i(3))
    fb.node("hs", "Split", ["split_dim", "mhb:output:0"], T=F, num_split=Attr.i(3))
    fb.node("za", "AddV2", ["xs:output:0", "hs:output:0"], T=F)
    fb.node("zg", "Sigmoid", ["za:z:0"], T=F)
    fb.node("ra", "AddV2", ["xs:output:1", "hs:output:1"], T=F)
    fb.node("rg", "Sigmoid", ["ra:z:0"], T=F)
    fb.node("rh", "Mul", ["rg:y:0", "hs:output:2"], T=F)
    fb.node("ha", "AddV2", ["xs:output:2", "rh:z:0"], T=F)
    fb.node("hh", "Tanh", ["ha:z:0"], T=F)
    fb.node("zh", "Mul", ["zg:y:0", "h"], T=F)
    fb.const("one", np.array(1.0, np.float32))
    fb.node("omz", "Sub", ["one:output:0", "zg:y:0"], T=F)
    fb.node("omzh", "Mul", ["omz:z:0", "hh:y:0"], T=F)
    fb.node("h_new", "AddV2", ["zh:z:0", "omzh:z:0"], T=F)
    return "h_new:z:0", None


def rnn_graph(g, lib, kind, v):
    """Keras RNN as TF2 exports it: While over time with TensorLists. Returns the output tensor."""
    g.const("rnn/perm", np.array([1, 0, 2], np.int32))
    g.node("rnn/transpose", "Transpose", ["x", "rnn/perm"], T=F, Tperm=I32)
    g.const("rnn/in_shape", np.array([-1, INP], np.int32))
    g.node("rnn/in_ta", "TensorListFromTensor", ["rnn/transpose", "rnn/in_shape"], element_dtype=F, shape_type=I32)
    g.const("rnn/out_shape", np.array([-1, HID], np.int32))
    g.const("rnn/steps", np.array(SEQ, np.int32))
    g.node("rnn/out_ta", "TensorListReserve", ["rnn/out_shape", "rnn/steps"], element_dtype=F, shape_type=I32)
    zeros = _zeros_state(g, "x")
    g.const("rnn/i0", np.array(0, np.int32))
    states = [("h", DT_FLOAT)] + ([("c", DT_FLOAT)] if kind == "lstm" else [])
    args = [("loop_counter", DT_INT32), ("max_iter", DT_INT32), ("time", DT_INT32), ("out_ta", DT_VARIANT)] + \
        states + [("in_ta", DT_VARIANT), ("kernel", DT_FLOAT), ("rkernel", DT_FLOAT), ("bias", DT_FLOAT)]
    types = [dt for _, dt in args]
    cname, bname = "rnn_%s_while_cond" % kind, "rnn_%s_while_body" % kind
    cond = FunctionBuilder(lib, cname, args, [("identity", DT_BOOL)], stateful=False)
    cond.node("lc", "Less", ["loop_counter", "max_iter"], T=I32)
    cond.const("steps", np.array(SEQ, np.int32))
    cond.node("lt", "Less", ["time", "steps:output:0"], T=I32)
    cond.node("and", "LogicalAnd", ["lc:z:0", "lt:z:0"])
    cond.ret("identity", "and:z:0")
    body = FunctionBuilder(lib, bname, args, [(n + "_out", dt) for n, dt in args], stateful=False)
    h_new, c_new = _rnn_cell(body, kind)
    body.node("set", "TensorListSetItem", ["out_ta", "time", h_new], element_dtype=F)
    body.const("one_i", np.array(1, np.int32))
    body.node("lc1", "AddV2", ["loop_counter", "one_i:output:0"], T=I32)
    body.node("t1", "AddV2", ["time", "one_i:output:0"], T=I32)
    rets = {"loop_counter": "lc1:z:0", "time": "t1:z:0", "out_ta": "set:output_handle:0", "h": h_new}
    if c_new:
        rets["c"] = c_new
    for n, _ in args:
        body.ret(n + "_out", rets.get(n, n))
    ins = ["rnn/i0", "rnn/steps", "rnn/i0", "rnn/out_ta", zeros] + ([zeros] if kind == "lstm" else []) + \
        ["rnn/in_ta", v["kernel"], v["rkernel"], v["bias"]]
    g.node("rnn/while", "StatelessWhile", ins, T=Attr.types(types), cond=Attr.func(cname), body=Attr.func(bname),
           parallel_iterations=Attr.i(32))
    g.node("rnn/stack", "TensorListStack", ["rnn/while:3", "rnn/out_shape"], element_dtype=F,
           num_elements=Attr.i(SEQ))
    for n, val in (("b", [-1]), ("e", [0]), ("s", [1])):
        g.const("rnn/last_" + n, np.array(val, np.int32))
    g.node("y", "StridedSlice", ["rnn/stack", "rnn/last_b", "rnn/last_e", "rnn/last_s"], T=F, Index=I32,
           shrink_axis_mask=Attr.i(1), begin_mask=Attr.i(0), end_mask=Attr.i(1), ellipsis_mask=Attr.i(0),
           new_axis_mask=Attr.i(0))
    return "y"


def _layer_norm(g, p, x, gamma, beta):
    g.node(p + "/mean", "Mean", [x, "ln_axes"], T=F, Tidx=I32, keep_dims=Attr.b(True))
    g.node(p + "/sqd", "SquaredDifference", [x, p + "/mean"], T=F)
    g.node(p + "/var", "Mean", [p + "/sqd", "ln_axes"], T=F, Tidx=I32, keep_dims=Attr.b(True))
    g.node(p + "/var_eps", "AddV2", [p + "/var", "ln_eps"], T=F)
    g.node(p + "/rsqrt", "Rsqrt", [p + "/var_eps"], T=F)
    g.node(p + "/inv", "Mul", [p + "/rsqrt", gamma], T=F)
    g.node(p + "/xs", "Mul", [x, p + "/inv"], T=F)
    g.node(p + "/ms", "Mul", [p + "/mean", p + "/inv"], T=F)
    g.node(p + "/shift", "Sub", [beta, p + "/ms"], T=F)
    g.node(p + "/out", "AddV2", [p + "/xs", p + "/shift"], T=F)
    return p + "/out"


def bert_graph(g, v):
    g.const("ln_axes", np.array([-1], np.int32))
    g.const("ln_eps", np.array(LN_EPS, np.float32))
    g.const("scale", np.array(1.0 / np.sqrt(HDIM), np.float32))
    g.const("flat_shape", np.array([-1, BHID], np.int32))
    g.const("seq_shape", np.array([-1, BSEQ, BHID], np.int32))
    g.const("half", np.array(0.5, np.float32))
    g.const("one", np.array(1.0, np.float32))
    g.const("rsqrt2", np.array(1.0 / np.sqrt(2.0), np.float32))
    x = "x"
    for l in range(LAYERS):
        p = "l%d" % l
        w = lambda n: v["%s_%s" % (p, n)]  # noqa: E731
        proj = {}
        for t in "qkv":
            g.node(p + "/" + t, "Einsum", [x, w(t + "_w")], T=F, N=Attr.i(2), equation=Attr.s("abc,cde->abde"))
            g.node(p + "/" + t + "_b", "AddV2", [p + "/" + t, w(t + "_b")], T=F)
            proj[t] = p + "/" + t + "_b"
        g.node(p + "/q_s", "Mul", [proj["q"], "scale"], T=F)
        g.node(p + "/scores", "Einsum", [proj["k"], p + "/q_s"], T=F, N=Attr.i(2), equation=Attr.s("aecd,abcd->acbe"))
        g.node(p + "/probs", "Softmax", [p + "/scores"], T=F)
        g.node(p + "/ctx", "Einsum", [p + "/probs", proj["v"]], T=F, N=Attr.i(2), equation=Attr.s("acbe,aecd->abcd"))
        g.node(p + "/attn", "Einsum", [p + "/ctx", w("o_w")], T=F, N=Attr.i(2), equation=Attr.s("abcd,cde->abe"))
        g.node(p + "/attn_b", "AddV2", [p + "/attn", w("o_b")], T=F)
        g.node(p + "/res1", "AddV2", [x, p + "/attn_b"], T=F)
        x = _layer_norm(g, p + "/ln1", p + "/res1", w("ln1_g"), w("ln1_b"))
        g.node(p + "/flat", "Reshape", [x, "flat_shape"], T=F, Tshape=I32)
        g.node(p + "/f1", "MatMul", [p + "/flat", w("f1_w")], T=F, transpose_a=Attr.b(False), transpose_b=Attr.b(False))
        g.node(p + "/f1_b", "BiasAdd", [p + "/f1", w("f1_b")], T=F, data_format=Attr.s("NHWC"))
        h = p + "/f1_b"
        g.node(p + "/gelu/s", "Mul", [h, "rsqrt2"], T=F)
        g.node(p + "/gelu/erf", "Erf", [p + "/gelu/s"], T=F)
        g.node(p + "/gelu/1p", "AddV2", ["one", p + "/gelu/erf"], T=F)
        g.node(p + "/gelu/hx", "Mul", ["half", h], T=F)
        g.node(p + "/gelu", "Mul", [p + "/gelu/hx", p + "/gelu/1p"], T=F)
        g.node(p + "/f2", "MatMul", [p + "/gelu", w("f2_w")], T=F, transpose_a=Attr.b(False), transpose_b=Attr.b(False))
        g.node(p + "/f2_b", "BiasAdd", [p + "/f2", w("f2_b")], T=F, data_format=Attr.s("NHWC"))
        g.node(p + "/f2_seq", "Reshape", [p + "/f2_b", "seq_shape"], T=F, Tshape=I32)
        g.node(p + "/res2", "AddV2", [x, p + "/f2_seq"], T=F)
        x = _layer_norm(g, p + "/ln2", p + "/res2", w("ln2_g"), w("ln2_b"))
    g.node("y", "Identity", [x], T=F)
    return "y"


def mobilenet_graph(g, v):
    x, block_in, prev = "x", None, None
    conv_common = dict(T=F, padding=Attr.s("SAME"), dilations=Attr.ints([1, 1, 1, 1]), data_format=Attr.s("NHWC"),
                       explicit_paddings=Attr.ints([]))
    for name, kind, _, _, stride, act in mobilenet_layers():
        if kind == "add":
            g.node(name, "AddV2", [block_in, x], T=F)
            x = name
            continue
        if name.split("_")[0] != prev:
            block_in, prev = x, name.split("_")[0]  # the block's input, for its residual
        s = Attr.ints([1, stride, stride, 1])
        if kind == "dw":
            g.node(name + "/conv", "DepthwiseConv2dNative", [x, v[name + "_w"]], strides=s, **conv_common)
        else:
            g.node(name + "/conv", "Conv2D", [x, v[name + "_w"]], strides=s, use_cudnn_on_gpu=Attr.b(True),
                   **conv_common)
        g.node(name + "/bias", "BiasAdd", [name + "/conv", v[name + "_b"]], T=F, data_format=Attr.s("NHWC"))
        x = name + "/bias"
        if act:
            g.node(name + "/relu6", "Relu6", [x], T=F)
            x = name + "/relu6"
    g.const("pool_axes", np.array([1, 2], np.int32))
    g.node("pool", "Mean", [x, "pool_axes"], T=F, Tidx=I32, keep_dims=Attr.b(False))
    g.node("fc/matmul", "MatMul", ["pool", v["fc_w"]], T=F, transpose_a=Attr.b(False), transpose_b=Attr.b(False))
    g.node("fc/bias", "BiasAdd", ["fc/matmul", v["fc_b"]], T=F, data_format=Attr.s("NHWC"))
    g.node("y", "Softmax", ["fc/bias"], T=F)
    return "y"


def build_graph(name, g, lib, v):
    """Adds the model after the placeholder 'x'; returns the output node's name."""
    if name in ("lstm", "gru"):
        return rnn_graph(g, lib, name, v)
    if name == "bert":
        return bert_graph(g, v)
    return mobilenet_graph(g, v)


# ---------------------------------------------------------------------------------------------
# ONNX

def onnx_model(name, w):
    from onnx import TensorProto, helper, numpy_helper
    mk = helper.make_node
    inits, nodes = [], []

    def init(k, a):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(a), k))
        return k

    in_dims = ["N"] + INPUT_DIMS[name]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, in_dims)
    opset = 13
    if name in ("lstm", "gru"):
        nodes.append(mk("Transpose", ["x"], ["xt"], perm=[1, 0, 2]))
        if name == "lstm":
            order = [0, 3, 1, 2]  # Keras i,f,c,o -> ONNX i,o,f,c
            blk = lambda a: np.concatenate([a[..., j * HID:(j + 1) * HID] for j in order], axis=-1)  # noqa: E731
            W = blk(w["kernel"]).T[None]
            R = blk(w["rkernel"]).T[None]
            B = np.concatenate([blk(w["bias"]), np.zeros(4 * HID, np.float32)])[None]
            nodes.append(mk("LSTM", ["xt", init("W", W), init("R", R), init("B", B)], ["Y", "Y_h", "Y_c"],
                            hidden_size=HID))
        else:
            W, R = w["kernel"].T[None], w["rkernel"].T[None]
            B = np.concatenate([w["bias"][0], w["bias"][1]])[None]
            nodes.append(mk("GRU", ["xt", init("W", W), init("R", R), init("B", B)], ["Y", "Y_h"], hidden_size=HID,
                            linear_before_reset=1))
        nodes.append(mk("Squeeze", ["Y_h", init("axes0", np.array([0], np.int64))], ["y"]))
    elif name == "bert":
        opset = 17
        init("heads_shape", np.array([0, BSEQ, HEADS, HDIM], np.int64))
        init("seq_shape", np.array([0, BSEQ, BHID], np.int64))
        init("scale", np.array(1.0 / np.sqrt(HDIM), np.float32))
        init("half", np.array(0.5, np.float32))
        init("one", np.array(1.0, np.float32))
        init("rsqrt2", np.array(1.0 / np.sqrt(2.0), np.float32))
        h = "x"
        for l in range(LAYERS):
            p = "l%d_" % l
            heads = {}
            for t in "qkv":
                nodes.append(mk("MatMul", [h, init(p + t + "_w", w[p + t + "_w"].reshape(BHID, BHID))], [p + t]))
                nodes.append(mk("Add", [p + t, init(p + t + "_b", w[p + t + "_b"].reshape(BHID))], [p + t + "b"]))
                nodes.append(mk("Reshape", [p + t + "b", "heads_shape"], [p + t + "r"]))
                perm = [0, 2, 3, 1] if t == "k" else [0, 2, 1, 3]
                nodes.append(mk("Transpose", [p + t + "r"], [p + t + "t"], perm=perm))
                heads[t] = p + t + "t"
            nodes += [mk("Mul", [heads["q"], "scale"], [p + "qs"]),
                      mk("MatMul", [p + "qs", heads["k"]], [p + "scores"]),
                      mk("Softmax", [p + "scores"], [p + "probs"], axis=-1),
                      mk("MatMul", [p + "probs", heads["v"]], [p + "ctx"]),
                      mk("Transpose", [p + "ctx"], [p + "ctx_t"], perm=[0, 2, 1, 3]),
                      mk("Reshape", [p + "ctx_t", "seq_shape"], [p + "ctx_r"]),
                      mk("MatMul", [p + "ctx_r", init(p + "o_w", w[p + "o_w"].reshape(BHID, BHID))], [p + "o"]),
                      mk("Add", [p + "o", init(p + "o_b", w[p + "o_b"])], [p + "ob"]),
                      mk("Add", [h, p + "ob"], [p + "res1"]),
                      mk("LayerNormalization", [p + "res1", init(p + "ln1_g", w[p + "ln1_g"]),
                                                init(p + "ln1_b", w[p + "ln1_b"])], [p + "ln1"], axis=-1,
                         epsilon=LN_EPS),
                      mk("MatMul", [p + "ln1", init(p + "f1_w", w[p + "f1_w"])], [p + "f1"]),
                      mk("Add", [p + "f1", init(p + "f1_b", w[p + "f1_b"])], [p + "f1b"]),
                      mk("Mul", [p + "f1b", "rsqrt2"], [p + "gs"]),
                      mk("Erf", [p + "gs"], [p + "ge"]),
                      mk("Add", ["one", p + "ge"], [p + "g1"]),
                      mk("Mul", ["half", p + "f1b"], [p + "gh"]),
                      mk("Mul", [p + "gh", p + "g1"], [p + "gelu"]),
                      mk("MatMul", [p + "gelu", init(p + "f2_w", w[p + "f2_w"])], [p + "f2"]),
                      mk("Add", [p + "f2", init(p + "f2_b", w[p + "f2_b"])], [p + "f2b"]),
                      mk("Add", [p + "ln1", p + "f2b"], [p + "res2"]),
                      mk("LayerNormalization", [p + "res2", init(p + "ln2_g", w[p + "ln2_g"]),
                                                init(p + "ln2_b", w[p + "ln2_b"])],
                         ["y" if l == LAYERS - 1 else p + "ln2"], axis=-1, epsilon=LN_EPS)]
            h = p + "ln2"
    else:
        init("clip_lo", np.array(0.0, np.float32))
        init("clip_hi", np.array(6.0, np.float32))
        nodes.append(mk("Transpose", ["x"], ["x_nchw"], perm=[0, 3, 1, 2]))
        h, block_in, prev = "x_nchw", None, None
        for lname, kind, cin, cout, stride, act in mobilenet_layers():
            if kind == "add":
                nodes.append(mk("Add", [block_in, h], [lname]))
                h = lname
                continue
            if lname.split("_")[0] != prev:
                block_in, prev = h, lname.split("_")[0]
            wt = w[lname + "_w"]
            if kind == "dw":
                W, group = wt.transpose(2, 3, 0, 1), cin  # [3,3,C,1] -> [C,1,3,3]
            else:
                W, group = wt.transpose(3, 2, 0, 1), 1
            k = W.shape[-1]
            pads = [0, 0, 0, 0] if k == 1 else ([1, 1, 1, 1] if stride == 1 else [0, 0, 1, 1])
            nodes.append(mk("Conv", [h, init(lname + "_w", W), init(lname + "_b", w[lname + "_b"])], [lname],
                            kernel_shape=[k, k], strides=[stride, stride], pads=pads, group=group))
            h = lname
            if act:
                nodes.append(mk("Clip", [h, "clip_lo", "clip_hi"], [lname + "_r6"]))
                h = lname + "_r6"
        nodes += [mk("GlobalAveragePool", [h], ["pool"]), mk("Flatten", ["pool"], ["flat"], axis=1),
                  mk("Gemm", ["flat", init("fc_w", w["fc_w"]), init("fc_b", w["fc_b"])], ["logits"]),
                  mk("Softmax", ["logits"], ["y"], axis=-1)]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"] + OUTPUT_DIMS[name][1:])
    graph = helper.make_graph(nodes, name, [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="tensord-bench")
    model.ir_version = 8
    return model
