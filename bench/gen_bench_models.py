#!/usr/bin/python3
"""gen_bench_models.py OUT_DIR — the benchmark models, with identical weights, in three forms.

For each model NAME in {mlp, cnn}:
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

Every driver fills x with x[i] = ((i * 7919) % 256) / 255 and prints a checksum
sum_i y[i] * (i % 7 + 1) of the output so run.sh can check the engines agree.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import savedmodel_writer as W  # noqa: E402
from savedmodel_writer import Attr, GraphBuilder, tensor_info  # noqa: E402

DT_FLOAT = 1
PREDICT = "tensorflow/serving/predict"


def he(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def mlp_weights(rng):
    w = {}
    for i, (a, b) in enumerate([(784, 512), (512, 256), (256, 10)]):
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

    if name == "mlp":
        in_dims = [-1, 784]
        g.node("x", "Placeholder", dtype=F, shape=Attr.shape(in_dims))
        h = dense("x", 0, True)
        h = dense(h, 1, True)
        h = dense(h, 2, False)
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
    g.node("y", "Softmax", [h], T=F)
    _saver(g, mg, sorted(w))
    sig = mg.signature_def["serving_default"]
    sig.method_name = PREDICT
    tensor_info(sig.inputs["x"], "x:0", DT_FLOAT, in_dims)
    tensor_info(sig.outputs["y"], "y:0", DT_FLOAT, [-1, 10])
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

    if name == "mlp":
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
    nodes.append(helper.make_node("Softmax", [h], ["y"], axis=-1))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])
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
    for name, make in (("mlp", mlp_weights), ("cnn", cnn_weights)):
        w = make(np.random.default_rng(20261125 + len(name)))
        write_savedmodel(os.path.join(out, name, "1"), name, w)
        np.savez(os.path.join(out, name + ".npz"), **nchw_weights(name, w))
        if have_onnx:
            write_onnx(os.path.join(out, name + ".onnx"), name, w)
    print("gen_bench_models: wrote %s" % out)


if __name__ == "__main__":
    main(sys.argv)
