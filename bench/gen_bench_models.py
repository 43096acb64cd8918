#!/usr/bin/python3
"""gen_bench_models.py OUT_DIR [NAME,...] — the benchmark models, with identical weights, in three forms.

For each model NAME in {mlp, cnn, deepfm} (and lstm, gru, bert, mobilenet: bench_twins.py):
  OUT_DIR/NAME/1/            TF1-style SavedModel (VariableV2 + Saver restore from a TensorBundle
                             checkpoint, written with tools/savedmodel_writer.py; no TensorFlow)
  OUT_DIR/NAME.onnx          the same network as ONNX (opset 13), when python3-onnx is importable
  OUT_DIR/NAME.npz           the raw weights (TF layouts) for the PyTorch driver (torch_bench.py)

Models (float32, random seeded He-init weights; the values do not matter for timing):
  mlp  x [-1,784] -> Dense 512 relu -> Dense 256 relu -> Dense 10 -> Softmax  (output "y")
  cnn  x [-1,28,28,1] (NHWC) -> Conv3x3x32 VALID relu -> MaxPool2 -> Conv3x3x64 VALID relu
       -> MaxPool2 -> Flatten (5*5*64) -> Dense 128 relu -> Dense 10 -> Softmax       (output "y")
       The ONNX/torch form is NCHW; with one channel the [N,28,28,1] and [N,1,28,28] buffers are
       byte-identical, so every driver feeds the same bytes. The first dense layer's rows are
       permuted from HWC to CHW flatten order so all three produce the same numbers.
  deepfm  ids [-1,39] int64 (one id per sparse field, all fields share one vocabulary of 100,000)
       -> emb = Gather(E [100000,16], ids) [N,39,16], lin = Gather(W [100000,1], ids) [N,39,1]
       first order  sum_f lin                                              [N,1]
       FM term      0.5 * sum_k((sum_f emb)^2 - sum_f emb^2)               [N,1]
       deep         Reshape(emb, [N,624]) -> Dense 400 relu x3 -> Dense 1 [N,1]
       y = Sigmoid(bias + first order + FM term + deep)                   (output "y", [N,1])

Every float driver fills x with x[i] = ((i * 7919) % 256) / 255; for deepfm ids[i] =
(i * 7919) % 100000 over the flat [N,39] index i. Each prints a checksum
sum_i y[i] * (i % 7 + 1) of the output so run.sh can check the engines agree.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import savedmodel_writer as W  # noqa: E402
from savedmodel_writer import Attr, GraphBuilder, tensor_info  # noqa: E402

sys.path.insert(0, HERE)
import bench_twins as T  # noqa: E402

DT_FLOAT = 1
DT_INT32 = 3
DT_INT64 = 9
PREDICT = "tensorflow/serving/predict"


def he(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def mlp_weights(rng):
    w = {}
    for i, (a, b) in enumerate([(784, 512), (512, 256), (256, 10)]):
        w["d%d_w" % i] = he(rng, (a, b), a)
        w["d%d_b" % i] = (rng.standard_normal(b) * 0.01).astype(np.float32)
    return w


VOCAB, FIELDS, EMB = 100000, 39, 16


def deepfm_weights(rng):
    w = {
        "emb": (rng.standard_normal((VOCAB, EMB)) * 0.05).astype(np.float32),
        "lin": (rng.standard_normal((VOCAB, 1)) * 0.05).astype(np.float32),
        "bias": np.array([0.1], np.float32),
    }
    for i, (a, b) in enumerate([(FIELDS * EMB, 400), (400, 400), (400, 400), (400, 1)]):
        w["d%d_w" % i] = he(rng, (a, b), a)
        w["d%d_b" % i] = (rng.standard_normal(b) * 0.01).astype(np.float32)
    return w


def cnn_weights(rng):
    return {
        "c0_w": he(rng, (3, 3, 1, 32), 9), "c0_b": (rng.standard_normal(32) * 0.01).astype(np.float32),
        "c1_w": he(rng, (3, 3, 32, 64), 288), "c1_b": (rng.standard_normal(64) * 0.01).astype(np.float32),
        "d0_w": he(rng, (1600, 128), 1600), "d0_b": (rng.standard_normal(128) * 0.01).astype(np.float32),
        "d1_w": he(rng, (128, 10), 128), "d1_b": (rng.standard_normal(10) * 0.01).astype(np.float32),
    }


# ---------------------------------------------------------------------------------------------
# SavedModel (TF1 style: variables restored from the checkpoint by the saver)

def _variable(g, name, shape):
    g.node(name, "VariableV2", container=Attr.s(""), dtype=Attr.type(DT_FLOAT), shape=Attr.shape(list(shape)),
           shared_name=Attr.s(""))
    g.node(name + "/read", "Identity", [name], T=Attr.type(DT_FLOAT), _class=Attr.strs(["loc:@" + name]))
    return name + "/read"


def _saver(g, mg, names):
    n = len(names)
    g.const("save/filename/input", b"model")
    g.node("save/Const", "PlaceholderWithDefault", ["save/filename/input"], dtype=Attr.type(7), shape=Attr.shape([]))
    g.const("save/RestoreV2/tensor_names", [v.encode() for v in names], device="/device:CPU:0")
    g.const("save/RestoreV2/shape_and_slices", [b""] * n, device="/device:CPU:0")
    g.node("save/RestoreV2", "RestoreV2", ["save/Const", "save/RestoreV2/tensor_names",
                                           "save/RestoreV2/shape_and_slices"],
           device="/device:CPU:0", dtypes=Attr.types([DT_FLOAT] * n))
    deps = []
    for i, v in enumerate(names):
        a = "save/Assign" + ("_%d" % i if i else "")
        g.node(a, "Assign", [v, "save/RestoreV2" + (":%d" % i if i else "")], T=Attr.type(DT_FLOAT),
               _class=Attr.strs(["loc:@" + v]), use_locking=Attr.b(True), validate_shape=Attr.b(True))
        deps.append("^" + a)
    g.node("save/restore_all", "NoOp", deps)
    sd = mg.saver_def
    sd.filename_tensor_name = "save/Const:0"
    sd.restore_op_name = "save/restore_all"
    sd.version = 2


def _deepfm_body(g, v, dense):
    """The DeepFM graph after the ids placeholder; returns the logit node's name."""
    F = Attr.type(DT_FLOAT)
    g.const("axis0", np.array(0, np.int32))
    g.const("fields_axis", np.array([1], np.int32))
    g.const("k_axis", np.array([1], np.int32))
    g.const("half", np.array(0.5, np.float32))
    g.const("deep/shape", np.array([-1, FIELDS * EMB], np.int32))
    gather = dict(Tparams=F, Tindices=Attr.type(DT_INT64), Taxis=Attr.type(DT_INT32), batch_dims=Attr.i(0))
    g.node("e", "GatherV2", [v["emb"], "ids", "axis0"], **gather)
    g.node("l", "GatherV2", [v["lin"], "ids", "axis0"], **gather)

    def reduce_sum(out, x, axis, keep):
        g.node(out, "Sum", [x, axis], T=F, Tidx=Attr.type(DT_INT32), keep_dims=Attr.b(keep))

    reduce_sum("first_order", "l", "fields_axis", False)                   # [N,1]
    reduce_sum("fm/sum", "e", "fields_axis", False)                        # [N,16]
    g.node("fm/sum_sq", "Square", ["fm/sum"], T=F)
    g.node("fm/sq", "Square", ["e"], T=F)
    reduce_sum("fm/sq_sum", "fm/sq", "fields_axis", False)                   # [N,16]
    g.node("fm/diff", "Sub", ["fm/sum_sq", "fm/sq_sum"], T=F)
    reduce_sum("fm/dot", "fm/diff", "k_axis", True)                          # [N,1]
    g.node("fm/term", "Mul", ["half", "fm/dot"], T=F)
    g.node("deep/flat", "Reshape", ["e", "deep/shape"], T=F, Tshape=Attr.type(DT_INT32))
    h = "deep/flat"
    for i in range(3):
        h = dense(h, i, True)
    h = dense(h, 3, False)                                                   # [N,1]
    g.node("logit/a", "AddV2", ["first_order", "fm/term"], T=F)
    g.node("logit/b", "AddV2", ["logit/a", h], T=F)
    g.node("logit", "AddV2", ["logit/b", v["bias"]], T=F)
    return "logit"


def write_savedmodel(export_dir, name, w):
    pb = W.load_protos()
    sm = pb.saved_model.SavedModel(saved_model_schema_version=1)
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    mg.meta_info_def.tensorflow_version = "1.15.5"
    mg.graph_def.versions.producer = 134
    g = GraphBuilder(mg.graph_def)
    F = Attr.type(DT_FLOAT)
    v = {k: _variable(g, k, a.shape) for k, a in w.items()}

    def dense(prev, i, act):
        g.node("d%d/MatMul" % i, "MatMul", [prev, v["d%d_w" % i]], T=F, transpose_a=Attr.b(False),
               transpose_b=Attr.b(False))
        g.node("d%d/BiasAdd" % i, "BiasAdd", ["d%d/MatMul" % i, v["d%d_b" % i]], T=F, data_format=Attr.s("NHWC"))
        if act:
            g.node("d%d/Relu" % i, "Relu", ["d%d/BiasAdd" % i], T=F)
            return "d%d/Relu" % i
        return "d%d/BiasAdd" % i

    in_name, in_type, out_dims = "x", DT_FLOAT, [-1, 10]
    if name == "mlp":
        in_dims = [-1, 784]
        g.node("x", "Placeholder", dtype=F, shape=Attr.shape(in_dims))
        h = dense("x", 0, True)
        h = dense(h, 1, True)
        h = dense(h, 2, False)
    elif name == "deepfm":
        in_name, in_type, in_dims, out_dims = "ids", DT_INT64, [-1, FIELDS], [-1, 1]
        g.node("ids", "Placeholder", dtype=Attr.type(DT_INT64), shape=Attr.shape(in_dims))
        h = _deepfm_body(g, v, dense)
    else:
        in_dims = [-1, 28, 28, 1]
        g.node("x", "Placeholder", dtype=F, shape=Attr.shape(in_dims))
        h = "x"
        for i in range(2):
            c = "c%d" % i
            g.node(c + "/Conv2D", "Conv2D", [h, v[c + "_w"]], T=F, padding=Attr.s("VALID"),
                   strides=Attr.ints([1, 1, 1, 1]), dilations=Attr.ints([1, 1, 1, 1]), data_format=Attr.s("NHWC"),
                   use_cudnn_on_gpu=Attr.b(True), explicit_paddings=Attr.ints([]))
            g.node(c + "/BiasAdd", "BiasAdd", [c + "/Conv2D", v[c + "_b"]], T=F, data_format=Attr.s("NHWC"))
            g.node(c + "/Relu", "Relu", [c + "/BiasAdd"], T=F)
            g.node("p%d" % i, "MaxPool", [c + "/Relu"], T=F, ksize=Attr.ints([1, 2, 2, 1]),
                   strides=Attr.ints([1, 2, 2, 1]), padding=Attr.s("VALID"), data_format=Attr.s("NHWC"))
            h = "p%d" % i
        g.const("flatten/shape", np.array([-1, 1600], np.int32))
        g.node("flatten", "Reshape", [h, "flatten/shape"], T=F, Tshape=Attr.type(3))
        h = dense("flatten", 0, True)
        h = dense(h, 1, False)
    g.node("y", "Sigmoid" if name == "deepfm" else "Softmax", [h], T=F)
    _saver(g, mg, sorted(w))
    sig = mg.signature_def["serving_default"]
    sig.method_name = PREDICT
    tensor_info(sig.inputs[in_name], in_name + ":0", in_type, in_dims)
    tensor_info(sig.outputs["y"], "y:0", DT_FLOAT, out_dims)
    os.makedirs(os.path.join(export_dir, "variables"), exist_ok=True)
    with open(os.path.join(export_dir, "saved_model.pb"), "wb") as f:
        f.write(W.serialize(sm))
    W.write_bundle(os.path.join(export_dir, "variables", "variables"), [(k, w[k]) for k in sorted(w)])


def write_twin_savedmodel(export_dir, name, w):
    """lstm / gru / bert / mobilenet (bench_twins.py): the same TF1 variable + saver scaffolding,
    the model graph (with its While functions in the library) from bench_twins.build_graph."""
    pb = W.load_protos()
    sm = pb.saved_model.SavedModel(saved_model_schema_version=1)
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    mg.meta_info_def.tensorflow_version = "2.15.0"
    mg.graph_def.versions.producer = 1645
    g = GraphBuilder(mg.graph_def)
    v = {k: _variable(g, k, a.shape) for k, a in w.items()}
    in_dims = [-1] + T.INPUT_DIMS[name]
    g.node("x", "Placeholder", dtype=Attr.type(DT_FLOAT), shape=Attr.shape(in_dims))
    out = T.build_graph(name, g, mg.graph_def.library, v)
    _saver(g, mg, sorted(w))
    sig = mg.signature_def["serving_default"]
    sig.method_name = PREDICT
    tensor_info(sig.inputs["x"], "x:0", DT_FLOAT, in_dims)
    tensor_info(sig.outputs["y"], out + ":0", DT_FLOAT, T.OUTPUT_DIMS[name])
    os.makedirs(os.path.join(export_dir, "variables"), exist_ok=True)
    with open(os.path.join(export_dir, "saved_model.pb"), "wb") as f:
        f.write(W.serialize(sm))
    W.write_bundle(os.path.join(export_dir, "variables", "variables"), [(k, w[k]) for k in sorted(w)])


# ---------------------------------------------------------------------------------------------
# ONNX (NCHW) and torch weights

def nchw_weights(name, w):
    """The TF weights in ONNX/torch layouts: conv OIHW, dense [in,out] with CHW flatten rows."""
    o = dict(w)
    if name == "cnn":
        o["c0_w"] = np.ascontiguousarray(w["c0_w"].transpose(3, 2, 0, 1))
        o["c1_w"] = np.ascontiguousarray(w["c1_w"].transpose(3, 2, 0, 1))
        o["d0_w"] = np.ascontiguousarray(w["d0_w"].reshape(5, 5, 64, 128).transpose(2, 0, 1, 3).reshape(1600, 128))
    return o


def write_onnx(path, name, w):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    o = nchw_weights(name, w)
    inits = [numpy_helper.from_array(a, k) for k, a in sorted(o.items())]
    nodes = []

    def dense(prev, i, act):
        out = "d%d" % i
        nodes.append(helper.make_node("Gemm", [prev, "d%d_w" % i, "d%d_b" % i], [out]))
        if act:
            nodes.append(helper.make_node("Relu", [out], [out + "_r"]))
            return out + "_r"
        return out

    out_dims = ["N", 10]
    if name == "deepfm":
        x = helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", FIELDS])
        out_dims = ["N", 1]
        for k, a in (("axes1", [1]), ("deep_shape", [-1, FIELDS * EMB])):
            inits.append(numpy_helper.from_array(np.array(a, np.int64), k))
        inits.append(numpy_helper.from_array(np.array(0.5, np.float32), "half"))
        mk = helper.make_node
        nodes += [mk("Gather", ["emb", "ids"], ["e"], axis=0), mk("Gather", ["lin", "ids"], ["l"], axis=0),
                  mk("ReduceSum", ["l", "axes1"], ["first"], keepdims=0),
                  mk("ReduceSum", ["e", "axes1"], ["s"], keepdims=0), mk("Mul", ["s", "s"], ["s2"]),
                  mk("Mul", ["e", "e"], ["e2"]), mk("ReduceSum", ["e2", "axes1"], ["q"], keepdims=0),
                  mk("Sub", ["s2", "q"], ["diff"]), mk("ReduceSum", ["diff", "axes1"], ["dot"], keepdims=1),
                  mk("Mul", ["half", "dot"], ["fm"]), mk("Reshape", ["e", "deep_shape"], ["flat"])]
        h = "flat"
        for i in range(3):
            h = dense(h, i, True)
        h = dense(h, 3, False)
        nodes += [mk("Add", ["first", "fm"], ["la"]), mk("Add", ["la", h], ["lb"]),
                  mk("Add", ["lb", "bias"], ["logit"]), mk("Sigmoid", ["logit"], ["y"])]
    elif name == "mlp":
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 784])
        h = dense("x", 0, True)
        h = dense(h, 1, True)
        h = dense(h, 2, False)
    else:
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])
        h = "x"
        for i in range(2):
            c = "c%d" % i
            nodes.append(helper.make_node("Conv", [h, c + "_w", c + "_b"], [c], kernel_shape=[3, 3]))
            nodes.append(helper.make_node("Relu", [c], [c + "_r"]))
            nodes.append(helper.make_node("MaxPool", [c + "_r"], ["p%d" % i], kernel_shape=[2, 2], strides=[2, 2]))
            h = "p%d" % i
        nodes.append(helper.make_node("Flatten", [h], ["flat"], axis=1))
        h = dense("flat", 0, True)
        h = dense(h, 1, False)
    if name != "deepfm":
        nodes.append(helper.make_node("Softmax", [h], ["y"], axis=-1))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, out_dims)
    graph = helper.make_graph(nodes, name, [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tensord-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(HERE, "out", "models")
    have_onnx = True
    try:
        import onnx  # noqa: F401
    except ImportError:
        have_onnx = False
        print("gen_bench_models: python3-onnx not importable; skipping .onnx files", file=sys.stderr)
    only = set(argv[2].split(",")) if len(argv) > 2 else set()  # optional: only these models
    for name, make in (("mlp", mlp_weights), ("cnn", cnn_weights), ("deepfm", deepfm_weights)):
        if only and name not in only:
            continue
        w = make(np.random.default_rng(20261125 + len(name)))
        write_savedmodel(os.path.join(out, name, "1"), name, w)
        np.savez(os.path.join(out, name + ".npz"), **nchw_weights(name, w))
        if have_onnx:
            write_onnx(os.path.join(out, name + ".onnx"), name, w)
    for i, name in enumerate(T.NAMES):
        if only and name not in only:
            continue
        w = T.WEIGHTS[name](np.random.default_rng(20261207 + i))
        write_twin_savedmodel(os.path.join(out, name, "1"), name, w)
        np.savez(os.path.join(out, name + ".npz"), **w)  # TF layouts; torch_twins.py converts
        if have_onnx:
            import onnx
            model = T.onnx_model(name, w)
            onnx.checker.check_model(model)
            onnx.save(model, os.path.join(out, name + ".onnx"))
    print("gen_bench_models: wrote %s" % out)


if __name__ == "__main__":
    main(sys.argv)
