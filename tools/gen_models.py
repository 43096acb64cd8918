#!/usr/bin/python3
"""gen_models.py OUT_DIR — writes small, deterministic SavedModels without TensorFlow.

Protos come from the repo's own proto/ files (protoc --python_out at start), checkpoints from
the pure-Python TensorBundle writer in tools/savedmodel_writer.py. Every model is written to
OUT_DIR/<name>/1/ (TF Serving layout: <base>/<model>/<version>/).

Models
------
half_plus_two_tf1
    TF1 SavedModelBuilder style. VariableV2 `a`, `b` (float scalars) whose graph initializers
    are 0.0 — only the checkpoint holds a=0.5, b=2.0, so a correct answer proves the restore
    ran. `a/read`, `b/read` Identity; y = Add(Mul(a/read, x), b/read).
    Saver `save/`: save/Const (PlaceholderWithDefault of save/filename), RestoreV2 with
    tensor_names/shape_and_slices Consts, save/Assign(_1), save/restore_shard and
    save/restore_all NoOps; SaveV2 + save/control_dependency for the save path.
    saver_def {filename "save/Const:0", restore "save/restore_all", V2}. Checkpoint keys "a", "b".
    Signatures:
      serving_default  (predict)   x: float [-1,1] "x:0"  ->  y: float [-1,1] "y:0"
      regress_x_to_y   (regress)   inputs: string (serialized tf.Example, unknown shape)
                                   -> outputs: float [-1,1]   (ParseExample, dense "x" float [1],
                                   required: empty default)
      classify_x_to_y  (classify)  inputs: same -> scores: float [-1,1]
half_plus_two_tf2
    TF2 tf.saved_model.save style, default attrs stripped (meta_info_def.stripped_default_attrs).
    VarHandleOp `a`, `b`; Placeholder serving_default_x; StatefulPartitionedCall ->
    __inference_signature_wrapper_N -> StatefulPartitionedCall -> __inference_half_plus_two_N
    (ReadVariableOp, Mul, AddV2, Identity; FunctionDef edges like "Mul:z:0").
    Restore: saver_filename Placeholder + StatefulPartitionedCall_2 into
    __inference__traced_restore_N (RestoreV2 of "a/.ATTRIBUTES/VARIABLE_VALUE",
    "b/.ATTRIBUTES/VARIABLE_VALUE", "_CHECKPOINTABLE_OBJECT_GRAPH" -> Identity ->
    AssignVariableOp). __saved_model_init_op signature naming a NoOp.
    Signatures: serving_default (predict) x: float [-1,1] -> y: float [-1,1].
mnist_mlp
    TF2 style dense classifier 784 -> 64 relu -> 10 softmax, trained here in numpy (seeded SGD)
    on the first 8000 digits of ../shared/fixtures/datasets/mnist10k-* when present, else on a
    deterministic synthetic 10-class dataset. Input x: float [-1,784] = pixels / 255.
    Outputs: classes int64 [-1] (ArgMax), probabilities float [-1,10] (Softmax). Keras-style
    checkpoint keys layer_with_weights-{0,1}/{kernel,bias}/.ATTRIBUTES/VARIABLE_VALUE.
    Next to the version dir: OUT_DIR/mnist_mlp/eval.npz (held-out x, labels — the last 2000
    digits or synthetic test samples) and training.json (dataset, numpy accuracy on eval.npz).
json_types
    TF1-style graph of Placeholders and Identity ops only (no variables) to exercise the REST JSON
    codec with every common dtype (tfserving-api.md §1.6/§1.7 conformance cases). Placeholders
    int_tensor int32, str_tensor string, float_tensor float, double_tensor double, int64_tensor
    int64, bool_tensor bool; all of unknown shape. Signatures (all predict):
      serving_default  inputs int_tensor, str_tensor, float_tensor, double_tensor -> outputs of
                       the same names (Identity) plus str_tensor_bytes (string, b64 in REST JSON)
      int32 / string / float / double / int64 / bool
                       one input <dtype-ish>_tensor -> one output of the same alias
                       ("string" returns str_tensor_bytes as well, so rows hold two outputs)
      bytes            str_tensor -> str_tensor_bytes only

Usage: /usr/bin/python3 tools/gen_models.py OUT_DIR [--fixtures DIR] [--only NAME,...]
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import savedmodel_writer as W  # noqa: E402
from savedmodel_writer import Attr, FunctionBuilder, GraphBuilder, tensor_info  # noqa: E402

DT_FLOAT, DT_INT32, DT_STRING, DT_INT64, DT_RESOURCE = 1, 3, 7, 9, 20
DT_FLOAT_REF = 101
PREDICT = "tensorflow/serving/predict"
REGRESS = "tensorflow/serving/regress"
CLASSIFY = "tensorflow/serving/classify"
CPU = "/device:CPU:0"


def new_saved_model(pb, tf_version, producer, min_consumer=0, stripped=False):
    sm = pb.saved_model.SavedModel(saved_model_schema_version=1)
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    mg.meta_info_def.tensorflow_version = tf_version
    mg.meta_info_def.tensorflow_git_version = "v" + tf_version + "-0-g0000000"
    mg.meta_info_def.meta_graph_version = "v" + tf_version
    if stripped:
        mg.meta_info_def.stripped_default_attrs = True
    mg.graph_def.versions.producer = producer
    if min_consumer:
        mg.graph_def.versions.min_consumer = min_consumer
    return sm, mg


def write_saved_model(export_dir, sm, variables):
    os.makedirs(os.path.join(export_dir, "variables"), exist_ok=True)
    with open(os.path.join(export_dir, "saved_model.pb"), "wb") as f:
        f.write(W.serialize(sm))
    W.write_bundle(os.path.join(export_dir, "variables", "variables"), variables)


def add_signature(mg, key, method, inputs, outputs):
    """inputs/outputs: [(alias, tensor name, dtype, dims or None)]."""
    sig = mg.signature_def[key]
    sig.method_name = method
    for alias, name, dt, dims in inputs:
        tensor_info(sig.inputs[alias], name, dt, dims)
    for alias, name, dt, dims in outputs:
        tensor_info(sig.outputs[alias], name, dt, dims)
    return sig


# ---------------------------------------------------------------------------------------------
# TF1: half_plus_two_tf1

def tf1_variable(g, name, init_value):
    g.const(name + "/initial_value", np.float32(init_value))
    g.node(name, "VariableV2", container=Attr.s(""), dtype=Attr.type(DT_FLOAT), shape=Attr.shape([]),
           shared_name=Attr.s(""))
    g.node(name + "/Assign", "Assign", [name, name + "/initial_value"], T=Attr.type(DT_FLOAT),
           _class=Attr.strs(["loc:@" + name]), use_locking=Attr.b(True), validate_shape=Attr.b(True))
    g.node(name + "/read", "Identity", [name], T=Attr.type(DT_FLOAT), _class=Attr.strs(["loc:@" + name]))


def tf1_saver(g, mg, var_names):
    n = len(var_names)
    g.const("save/filename/input", b"model")
    g.node("save/filename", "PlaceholderWithDefault", ["save/filename/input"], dtype=Attr.type(DT_STRING),
           shape=Attr.shape([]))
    g.node("save/Const", "PlaceholderWithDefault", ["save/filename"], dtype=Attr.type(DT_STRING),
           shape=Attr.shape([]))
    for what in ("SaveV2", "RestoreV2"):
        g.const("save/%s/tensor_names" % what, [v.encode() for v in var_names], device=CPU if what[0] == "R" else None)
        g.const("save/%s/shape_and_slices" % what, [b""] * n, device=CPU if what[0] == "R" else None)
    g.node("save/SaveV2", "SaveV2", ["save/Const", "save/SaveV2/tensor_names", "save/SaveV2/shape_and_slices"]
           + var_names, dtypes=Attr.types([DT_FLOAT] * n))
    g.node("save/control_dependency", "Identity", ["save/Const", "^save/SaveV2"], T=Attr.type(DT_STRING),
           _class=Attr.strs(["loc:@save/Const"]))
    g.node("save/RestoreV2", "RestoreV2", ["save/Const", "save/RestoreV2/tensor_names",
                                           "save/RestoreV2/shape_and_slices"],
           device=CPU, dtypes=Attr.types([DT_FLOAT] * n))
    assigns = []
    for i, v in enumerate(var_names):
        name = "save/Assign" + ("_%d" % i if i else "")
        g.node(name, "Assign", [v, "save/RestoreV2" + (":%d" % i if i else "")], T=Attr.type(DT_FLOAT),
               _class=Attr.strs(["loc:@" + v]), use_locking=Attr.b(True), validate_shape=Attr.b(True))
        assigns.append("^" + name)
    g.node("save/restore_shard", "NoOp", assigns)
    g.node("save/restore_all", "NoOp", ["^save/restore_shard"])
    sd = mg.saver_def
    sd.filename_tensor_name = "save/Const:0"
    sd.save_tensor_name = "save/control_dependency:0"
    sd.restore_op_name = "save/restore_all"
    sd.max_to_keep = 5
    sd.keep_checkpoint_every_n_hours = 10000.0
    sd.version = 2  # V2


def gen_half_plus_two_tf1(pb, export_dir):
    sm, mg = new_saved_model(pb, "1.15.5", 134)
    g = GraphBuilder(mg.graph_def)
    tf1_variable(g, "a", 0.0)  # the checkpoint, not the initializer, holds 0.5 / 2.0
    tf1_variable(g, "b", 0.0)
    # predict path
    g.node("x", "Placeholder", dtype=Attr.type(DT_FLOAT), shape=Attr.shape([-1, 1]))
    g.node("Mul", "Mul", ["a/read", "x"], T=Attr.type(DT_FLOAT))
    g.node("Add", "Add", ["Mul", "b/read"], T=Attr.type(DT_FLOAT))
    g.node("y", "Identity", ["Add"], T=Attr.type(DT_FLOAT))
    # tf.Example path (regress / classify)
    g.node("tf_example", "Placeholder", dtype=Attr.type(DT_STRING), shape=Attr.shape(None))
    g.const("ParseExample/Const", np.zeros([0], np.float32))  # empty default = required feature
    g.const("ParseExample/ParseExample/names", np.zeros([0], object), dtype=DT_STRING)
    g.const("ParseExample/ParseExample/dense_keys_0", b"x")
    g.node("ParseExample/ParseExample", "ParseExample",
           ["tf_example", "ParseExample/ParseExample/names", "ParseExample/ParseExample/dense_keys_0",
            "ParseExample/Const"],
           Ndense=Attr.i(1), Nsparse=Attr.i(0), Tdense=Attr.types([DT_FLOAT]), dense_shapes=Attr.shapes([[1]]),
           sparse_types=Attr.types([]))
    g.node("parsed_x", "Identity", ["ParseExample/ParseExample"], T=Attr.type(DT_FLOAT))
    g.node("Mul_1", "Mul", ["a/read", "parsed_x"], T=Attr.type(DT_FLOAT))
    g.node("Add_1", "Add", ["Mul_1", "b/read"], T=Attr.type(DT_FLOAT))
    g.node("parsed_y", "Identity", ["Add_1"], T=Attr.type(DT_FLOAT))
    g.node("init", "NoOp", ["^a/Assign", "^b/Assign"])
    tf1_saver(g, mg, ["a", "b"])
    add_signature(mg, "serving_default", PREDICT, [("x", "x:0", DT_FLOAT, [-1, 1])],
                  [("y", "y:0", DT_FLOAT, [-1, 1])])
    ex_in = [("inputs", "tf_example:0", DT_STRING, None)]
    add_signature(mg, "regress_x_to_y", REGRESS, ex_in, [("outputs", "parsed_y:0", DT_FLOAT, [-1, 1])])
    add_signature(mg, "classify_x_to_y", CLASSIFY, ex_in, [("scores", "parsed_y:0", DT_FLOAT, [-1, 1])])
    write_saved_model(export_dir, sm, [("a", np.float32(0.5)), ("b", np.float32(2.0))])


# ---------------------------------------------------------------------------------------------
# TF2: the common tf.saved_model.save skeleton

def _pb_len(field, payload):
    return W.varint(field << 3 | 2) + W.varint(len(payload)) + payload


def trackable_object_graph(var_paths):
    """Serialized TrackableObjectGraph: root -> one child per variable path component chain."""
    nodes = [[]]  # per node: list of encoded fields
    children = {}  # (parent id, local name) -> id
    for path, key in var_paths:
        parent = 0
        parts = path.split("/")
        for depth, part in enumerate(parts):
            if (parent, part) not in children:
                children[(parent, part)] = len(nodes)
                nodes.append([])
                ref = W.varint(1 << 3) + W.varint(children[(parent, part)]) + _pb_len(2, part.encode())
                nodes[parent].append(_pb_len(1, ref))
            parent = children[(parent, part)]
        attr = _pb_len(1, b"VARIABLE_VALUE") + _pb_len(2, path.encode()) + _pb_len(3, key.encode())
        nodes[parent].append(_pb_len(2, attr))
    return b"".join(_pb_len(1, b"".join(n)) for n in nodes)


class TF2Model:
    """A tf.saved_model.save-shaped MetaGraphDef with one serving function.

    variables: [(node name, checkpoint key, numpy value)] in the order they are captured.
    inputs/outputs: [(alias, dtype, dims)]; outputs must be sorted by alias (TF's flattening).
    body(fb, input_args, resource_args) -> [function tensor per output] builds the inner function.
    """

    def __init__(self, pb, tf_version, producer, fn_name, variables, inputs, outputs, body):
        self.pb = pb
        self.sm, self.mg = new_saved_model(pb, tf_version, producer, 12, stripped=True)
        self.variables = variables
        g = GraphBuilder(self.mg.graph_def)
        lib = self.mg.graph_def.library
        ids = iter(range(100, 10000, 17))
        var_names = [v[0] for v in variables]
        for name, _, value in variables:
            g.node(name, "VarHandleOp", dtype=Attr.type(W.NP_TO_DT[value.dtype]), shape=Attr.shape(list(value.shape)),
                   shared_name=Attr.s(name))
        for alias, dt, dims in inputs:
            g.node("serving_default_" + alias, "Placeholder", dtype=Attr.type(dt), shape=Attr.shape(dims))
        in_types = [dt for _, dt, _ in inputs]
        out_types = [dt for _, dt, _ in outputs]
        tin = in_types + [DT_RESOURCE] * len(variables)
        ro = list(range(len(inputs), len(tin)))
        ret_args = ["identity"] + ["identity_%d" % i for i in range(1, len(outputs))]
        # inner function
        inner = "__inference_%s_%d" % (fn_name, next(ids))
        res_args = [n.replace("/", "_").lower() + "_readvariableop_resource" for n in var_names]
        fb = FunctionBuilder(lib, inner, [(a, dt) for (a, dt, _) in inputs] + [(r, DT_RESOURCE) for r in res_args],
                             list(zip(ret_args, out_types)))
        results = body(fb, [a for a, _, _ in inputs], res_args)
        reads = ["^" + nd.name for nd in fb.f.node_def if nd.op == "ReadVariableOp"]
        for i, (arg, tensor, dt) in enumerate(zip(ret_args, results, out_types)):
            fb.node("Identity" + ("_%d" % i if i else ""), "Identity", [tensor, "^NoOp"], T=Attr.type(dt))
            fb.ret(arg, "Identity%s:output:0" % ("_%d" % i if i else ""))
        fb.node("NoOp", "NoOp", reads)
        # signature wrapper
        wrapper = "__inference_signature_wrapper_%d" % next(ids)
        cap = ["unknown"] + ["unknown_%d" % i for i in range(len(variables) - 1)]
        wb = FunctionBuilder(lib, wrapper, [(a, dt) for (a, dt, _) in inputs] + [(c, DT_RESOURCE) for c in cap],
                             list(zip(ret_args, out_types)))
        wb.node("StatefulPartitionedCall", "StatefulPartitionedCall", [a for a, _, _ in inputs] + cap,
                Tin=Attr.types(tin), Tout=Attr.types(out_types), _collective_manager_ids=Attr.ints([]),
                _read_only_resource_inputs=Attr.ints(ro), f=Attr.func(inner))
        for i, arg in enumerate(ret_args):
            wb.node("Identity" + ("_%d" % i if i else ""), "Identity",
                    ["StatefulPartitionedCall:output:%d" % i, "^NoOp"], T=Attr.type(out_types[i]))
            wb.ret(arg, "Identity%s:output:0" % ("_%d" % i if i else ""))
        wb.node("NoOp", "NoOp", ["^StatefulPartitionedCall"])
        wb.control_ret("StatefulPartitionedCall")
        g.node("StatefulPartitionedCall", "StatefulPartitionedCall",
               ["serving_default_" + a for a, _, _ in inputs] + var_names,
               Tin=Attr.types(tin), Tout=Attr.types(out_types), _collective_manager_ids=Attr.ints([]),
               _read_only_resource_inputs=Attr.ints(ro), f=Attr.func(wrapper))
        # save / restore
        keys = [k for _, k, _ in variables] + ["_CHECKPOINTABLE_OBJECT_GRAPH"]
        self.object_graph = trackable_object_graph([(n, k) for n, k, _ in variables])
        dtypes = [W.NP_TO_DT[v.dtype] for _, _, v in variables]
        g.node("saver_filename", "Placeholder", dtype=Attr.type(DT_STRING), shape=Attr.shape([]))
        save_fn = self._save_function(lib, "__inference__traced_save_%d" % next(ids), var_names, keys, dtypes)
        restore_fn = self._restore_function(lib, "__inference__traced_restore_%d" % next(ids), var_names, keys, dtypes)
        for node, fn in (("StatefulPartitionedCall_1", save_fn), ("StatefulPartitionedCall_2", restore_fn)):
            g.node(node, "StatefulPartitionedCall", ["saver_filename"] + var_names,
                   Tin=Attr.types([DT_STRING] + [DT_RESOURCE] * len(variables)), Tout=Attr.types([DT_STRING]),
                   _collective_manager_ids=Attr.ints([]), _read_only_resource_inputs=Attr.ints([]), f=Attr.func(fn))
        g.node("NoOp", "NoOp")
        sd = self.mg.saver_def
        sd.filename_tensor_name = "saver_filename:0"
        sd.save_tensor_name = "StatefulPartitionedCall_1:0"
        sd.restore_op_name = "StatefulPartitionedCall_2"
        sd.version = 2
        init = self.mg.signature_def["__saved_model_init_op"]
        tensor_info(init.outputs["__saved_model_init_op"], "NoOp", 0, None)
        outs = [(alias, "StatefulPartitionedCall:%d" % i, dt, dims) for i, (alias, dt, dims) in enumerate(outputs)]
        add_signature(self.mg, "serving_default", PREDICT,
                      [(a, "serving_default_%s:0" % a, dt, dims) for a, dt, dims in inputs], outs)
        self._object_graph_def()

    def _save_function(self, lib, name, var_names, keys, dtypes):
        fb = FunctionBuilder(lib, name, [("file_prefix", DT_STRING)] +
                             [("savev2_" + v.replace("/", "_").lower(), DT_RESOURCE) for v in var_names],
                             [("identity_1", DT_STRING)])
        reads = []
        for i, v in enumerate(var_names):
            fb.node("ReadVariableOp_%d" % i, "ReadVariableOp", ["savev2_" + v.replace("/", "_").lower()],
                    dtype=Attr.type(dtypes[i]))
            reads.append("ReadVariableOp_%d:value:0" % i)
        fb.const("SaveV2/tensor_names", [k.encode() for k in keys])
        fb.const("SaveV2/shape_and_slices", [b""] * len(keys))
        fb.const("Const", self.object_graph)
        fb.node("SaveV2", "SaveV2", ["file_prefix", "SaveV2/tensor_names:output:0", "SaveV2/shape_and_slices:output:0"]
                + reads + ["Const:output:0"], dtypes=Attr.types(dtypes + [DT_STRING]))
        fb.node("Identity", "Identity", ["file_prefix", "^SaveV2"], T=Attr.type(DT_STRING))
        fb.node("Identity_1", "Identity", ["Identity:output:0", "^NoOp"], T=Attr.type(DT_STRING))
        fb.node("NoOp", "NoOp", ["^SaveV2"])
        fb.ret("identity_1", "Identity_1:output:0")
        return name

    def _restore_function(self, lib, name, var_names, keys, dtypes):
        args = ["assignvariableop%s_%s" % ("_%d" % i if i else "", v.replace("/", "_").lower())
                for i, v in enumerate(var_names)]
        n = len(var_names)
        fb = FunctionBuilder(lib, name, [("file_prefix", DT_STRING)] + [(a, DT_RESOURCE) for a in args],
                             [("identity_%d" % (n + 1), DT_STRING)])
        fb.const("RestoreV2/tensor_names", [k.encode() for k in keys])
        fb.const("RestoreV2/shape_and_slices", [b""] * len(keys))
        fb.node("RestoreV2", "RestoreV2", ["file_prefix", "RestoreV2/tensor_names:output:0",
                                           "RestoreV2/shape_and_slices:output:0"],
                dtypes=Attr.types(dtypes + [DT_STRING]))
        assigns = []
        for i, a in enumerate(args):
            sfx = "_%d" % i if i else ""
            fb.node("Identity" + sfx, "Identity", ["RestoreV2:tensors:%d" % i], T=Attr.type(dtypes[i]))
            fb.node("AssignVariableOp" + sfx, "AssignVariableOp", [a, "Identity%s:output:0" % sfx],
                    dtype=Attr.type(dtypes[i]))
            assigns.append("AssignVariableOp" + sfx)
            fb.control_ret("AssignVariableOp" + sfx)
        fb.node("NoOp", "NoOp")
        fb.node("Identity_%d" % n, "Identity", ["file_prefix"] + ["^" + a for a in assigns] + ["^NoOp"],
                T=Attr.type(DT_STRING))
        fb.node("Identity_%d" % (n + 1), "Identity", ["Identity_%d:output:0" % n, "^NoOp_1"], T=Attr.type(DT_STRING))
        fb.node("NoOp_1", "NoOp", ["^" + a for a in assigns])
        fb.ret("identity_%d" % (n + 1), "Identity_%d:output:0" % (n + 1))
        return name

    def _object_graph_def(self):
        og = self.mg.object_graph_def
        root = og.nodes.add()
        root.user_object.identifier = "_generic_user_object"
        root.user_object.version.producer = 1
        root.user_object.version.min_consumer = 1
        for i, (name, _, value) in enumerate(self.variables):
            c = root.children.add()
            c.node_id = i + 1
            c.local_name = name.replace("/", "_")
            v = og.nodes.add().variable
            v.dtype = W.NP_TO_DT[value.dtype]
            shape = W.shape_proto(list(value.shape), v.shape)
            v.shape.SetInParent()
            del shape
            v.trainable = True
            v.name = name

    def write(self, export_dir):
        tensors = [(k, v) for _, k, v in self.variables] + [("_CHECKPOINTABLE_OBJECT_GRAPH", self.object_graph)]
        write_saved_model(export_dir, self.sm, tensors)


def gen_half_plus_two_tf2(pb, export_dir):
    def body(fb, ins, res):
        fb.node("Mul/ReadVariableOp", "ReadVariableOp", [res[0]], dtype=Attr.type(DT_FLOAT))
        fb.node("Mul", "Mul", ["Mul/ReadVariableOp:value:0", ins[0]], T=Attr.type(DT_FLOAT))
        fb.node("Add/ReadVariableOp", "ReadVariableOp", [res[1]], dtype=Attr.type(DT_FLOAT))
        fb.node("Add", "AddV2", ["Mul:z:0", "Add/ReadVariableOp:value:0"], T=Attr.type(DT_FLOAT))
        return ["Add:z:0"]

    variables = [("a", "a/.ATTRIBUTES/VARIABLE_VALUE", np.float32(0.5)),
                 ("b", "b/.ATTRIBUTES/VARIABLE_VALUE", np.float32(2.0))]
    variables = [(n, k, np.asarray(v)) for n, k, v in variables]
    m = TF2Model(pb, "2.11.0", 1205, "half_plus_two", variables, [("x", DT_FLOAT, [-1, 1])],
                 [("y", DT_FLOAT, [-1, 1])], body)
    m.write(export_dir)


# ---------------------------------------------------------------------------------------------
# mnist_mlp

def load_mnist(fixtures):
    img = os.path.join(fixtures or "", "datasets", "mnist10k-images.idx3-ubyte")
    lab = os.path.join(fixtures or "", "datasets", "mnist10k-labels.idx1-ubyte")
    if not (fixtures and os.path.isfile(img) and os.path.isfile(lab)):
        return None
    x = np.fromfile(img, dtype=np.uint8, offset=16).reshape(-1, 784)
    y = np.fromfile(lab, dtype=np.uint8, offset=8).astype(np.int64)
    return x.astype(np.float32) / 255.0, y


def synthetic_digits(n, seed=7):
    """10 fixed random 'prototype' images plus noise; deterministic, easily separable."""
    rng = np.random.default_rng(seed)
    protos = (rng.random((10, 784)) < 0.2).astype(np.float32)
    labels = rng.integers(0, 10, n)
    x = np.clip(protos[labels] * rng.uniform(0.6, 1.0, (n, 1)) + rng.normal(0, 0.25, (n, 784)), 0, 1)
    return x.astype(np.float32), labels.astype(np.int64)


def mlp_forward(x, w1, b1, w2, b2):
    h = np.maximum(x @ w1 + b1, 0)
    z = h @ w2 + b2
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return h, e / e.sum(axis=1, keepdims=True)


def train_mlp(x, y, hidden=64, epochs=8, lr=0.1, batch=32, seed=1):
    rng = np.random.default_rng(seed)
    w1 = (rng.normal(0, np.sqrt(2 / 784), (784, hidden))).astype(np.float32)
    b1 = np.zeros(hidden, np.float32)
    w2 = (rng.normal(0, np.sqrt(2 / hidden), (hidden, 10))).astype(np.float32)
    b2 = np.zeros(10, np.float32)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = order[s:s + batch]
            xb, yb = x[idx], y[idx]
            h, p = mlp_forward(xb, w1, b1, w2, b2)
            d = p.copy()
            d[np.arange(len(idx)), yb] -= 1
            d /= len(idx)
            gw2, gb2 = h.T @ d, d.sum(0)
            dh = (d @ w2.T) * (h > 0)
            gw1, gb1 = xb.T @ dh, dh.sum(0)
            w1 -= lr * gw1
            b1 -= lr * gb1
            w2 -= lr * gw2
            b2 -= lr * gb2
        lr *= 0.7
    return [a.astype(np.float32) for a in (w1, b1, w2, b2)]


def gen_mnist_mlp(pb, export_dir, fixtures):
    data = load_mnist(fixtures)
    if data is not None:
        dataset = "mnist10k (../shared/fixtures/datasets): train [0,8000), eval [8000,10000)"
        x, y = data
        xtr, ytr, xev, yev = x[:8000], y[:8000], x[8000:], y[8000:]
    else:
        dataset = "synthetic (gen_models.synthetic_digits): train 6000, eval 2000"
        x, y = synthetic_digits(8000)
        xtr, ytr, xev, yev = x[:6000], y[:6000], x[6000:], y[6000:]
    w1, b1, w2, b2 = train_mlp(xtr, ytr)
    _, p = mlp_forward(xev, w1, b1, w2, b2)
    acc = float((p.argmax(1) == yev).mean())

    def body(fb, ins, res):
        fb.const("Reshape/shape", np.array([-1, 784], np.int32))
        fb.node("Reshape", "Reshape", [ins[0], "Reshape/shape:output:0"], T=Attr.type(DT_FLOAT))
        prev = "Reshape:output:0"
        for layer, (rk, rb) in enumerate([(res[0], res[1]), (res[2], res[3])]):
            n = "dense" + ("_%d" % layer if layer else "")
            fb.node(n + "/MatMul/ReadVariableOp", "ReadVariableOp", [rk], dtype=Attr.type(DT_FLOAT))
            fb.node(n + "/MatMul", "MatMul", [prev, n + "/MatMul/ReadVariableOp:value:0"], T=Attr.type(DT_FLOAT))
            fb.node(n + "/BiasAdd/ReadVariableOp", "ReadVariableOp", [rb], dtype=Attr.type(DT_FLOAT))
            fb.node(n + "/BiasAdd", "BiasAdd", [n + "/MatMul:product:0", n + "/BiasAdd/ReadVariableOp:value:0"],
                    T=Attr.type(DT_FLOAT))
            if layer == 0:
                fb.node(n + "/Relu", "Relu", [n + "/BiasAdd:output:0"], T=Attr.type(DT_FLOAT))
                prev = n + "/Relu:activations:0"
            else:
                fb.node(n + "/Softmax", "Softmax", [n + "/BiasAdd:output:0"], T=Attr.type(DT_FLOAT))
        fb.const("ArgMax/dimension", np.int32(1))
        fb.node("ArgMax", "ArgMax", ["dense_1/Softmax:softmax:0", "ArgMax/dimension:output:0"], T=Attr.type(DT_FLOAT))
        return ["ArgMax:output:0", "dense_1/Softmax:softmax:0"]

    variables = [("dense/kernel", "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE", w1),
                 ("dense/bias", "layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE", b1),
                 ("dense_1/kernel", "layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE", w2),
                 ("dense_1/bias", "layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE", b2)]
    m = TF2Model(pb, "2.11.0", 1205, "mnist_mlp", variables, [("x", DT_FLOAT, [-1, 784])],
                 [("classes", DT_INT64, [-1]), ("probabilities", DT_FLOAT, [-1, 10])], body)
    m.write(export_dir)
    base = os.path.dirname(export_dir)
    np.savez(os.path.join(base, "eval.npz"), x=xev, labels=yev, w1=w1, b1=b1, w2=w2, b2=b2)
    with open(os.path.join(base, "training.json"), "w") as f:
        json.dump({"dataset": dataset, "input": "float32 [-1,784] = pixel / 255",
                   "numpy_eval_accuracy": acc, "eval_size": int(len(yev))}, f, indent=1, sort_keys=True)
    return acc


# ---------------------------------------------------------------------------------------------
# json_types: Identity passthroughs per dtype (for the REST codec)

DT_DOUBLE, DT_BOOL = 2, 10
JSON_TYPES = [("int_tensor", DT_INT32), ("str_tensor", DT_STRING), ("float_tensor", DT_FLOAT),
              ("double_tensor", DT_DOUBLE), ("int64_tensor", DT_INT64), ("bool_tensor", DT_BOOL)]


def gen_json_types(pb, export_dir):
    sm, mg = new_saved_model(pb, "1.15.5", 134)
    g = GraphBuilder(mg.graph_def)
    dtype = dict(JSON_TYPES)
    for name, dt in JSON_TYPES:
        g.node(name, "Placeholder", dtype=Attr.type(dt), shape=Attr.shape(None))
        g.node(name + "_out", "Identity", [name], T=Attr.type(dt))
    g.node("str_tensor_bytes_out", "Identity", ["str_tensor"], T=Attr.type(DT_STRING))

    def io(aliases, out=False):
        return [(a, "%s_out:0" % a if out else "%s:0" % a, dtype[a.replace("_bytes", "")], None) for a in aliases]

    main = ["int_tensor", "str_tensor", "float_tensor", "double_tensor"]
    add_signature(mg, "serving_default", PREDICT, io(main), io(main + ["str_tensor_bytes"], out=True))
    singles = {"int32": "int_tensor", "float": "float_tensor", "double": "double_tensor", "int64": "int64_tensor",
               "bool": "bool_tensor"}
    for key, alias in singles.items():
        add_signature(mg, key, PREDICT, io([alias]), io([alias], out=True))
    add_signature(mg, "string", PREDICT, io(["str_tensor"]), io(["str_tensor", "str_tensor_bytes"], out=True))
    add_signature(mg, "bytes", PREDICT, io(["str_tensor"]), io(["str_tensor_bytes"], out=True))
    os.makedirs(export_dir, exist_ok=True)
    with open(os.path.join(export_dir, "saved_model.pb"), "wb") as f:
        f.write(W.serialize(sm))


MODELS = {
    "half_plus_two_tf1": lambda pb, d, fx: gen_half_plus_two_tf1(pb, d),
    "half_plus_two_tf2": lambda pb, d, fx: gen_half_plus_two_tf2(pb, d),
    "mnist_mlp": gen_mnist_mlp,
    "json_types": lambda pb, d, fx: gen_json_types(pb, d),
}



# ---------------------------------------------------------------------------------------------
# partial_ops / unsupported_ops: signatures that need ops tensord has no kernel for.
#
# partial_ops (TF1 style, no variables): x float [-1,1] Placeholder.
#   serving_default (predict)  x -> y = Mul(x, 2.0)                        (servable)
#   needs_missing   (predict)  x -> z = TdMissingOpA(x),
#                                   w = PartitionedCall(x) of td_missing_fn, whose node uses
#                                       TdMissingOpB                          (not servable)
#   The model loads, serves serving_default, and answers needs_missing with
#   FAILED_PRECONDITION naming both ops.
# unsupported_ops: every signature needs missing ops, so loading fails with one error naming
#   TdMissingOpA (graph), TdMissingOpB (a PartitionedCall'd function) and TdMissingOpC (a
#   function named only in a func attr, as While bodies are):
#   serving_default x -> z = TdMissingOpA(x), w = PartitionedCall(td_missing_fn)
#   other           x -> v = TdLoopLike(x) with attr body = td_missing_body (uses TdMissingOpC)


def _missing_ops_graph(pb, mg):
    g = GraphBuilder(mg.graph_def)
    g.node("x", "Placeholder", dtype=Attr.type(DT_FLOAT), shape=Attr.shape([-1, 1]))
    g.const("two", np.float32(2.0))
    g.node("y", "Mul", ["x", "two"], T=Attr.type(DT_FLOAT))
    g.node("z", "TdMissingOpA", ["x"], T=Attr.type(DT_FLOAT))
    fb = FunctionBuilder(mg.graph_def.library, "td_missing_fn", [("a", DT_FLOAT)], [("out", DT_FLOAT)],
                         stateful=False)
    fb.node("inner", "TdMissingOpB", ["a"], T=Attr.type(DT_FLOAT))
    fb.ret("out", "inner:y:0")
    g.node("w", "PartitionedCall", ["x"], Tin=Attr.types([DT_FLOAT]), Tout=Attr.types([DT_FLOAT]),
           f=Attr.func("td_missing_fn"))
    body = FunctionBuilder(mg.graph_def.library, "td_missing_body", [("a", DT_FLOAT)], [("out", DT_FLOAT)],
                           stateful=False)
    body.node("step", "TdMissingOpC", ["a"], T=Attr.type(DT_FLOAT))
    body.ret("out", "step:y:0")
    g.node("v", "TdLoopLike", ["x"], T=Attr.types([DT_FLOAT]), body=Attr.func("td_missing_body"))
    return g


def _write_pb(export_dir, sm):
    os.makedirs(export_dir, exist_ok=True)
    with open(os.path.join(export_dir, "saved_model.pb"), "wb") as f:
        f.write(W.serialize(sm))


def gen_partial_ops(pb, export_dir):
    sm, mg = new_saved_model(pb, "2.15.0", 1645)
    _missing_ops_graph(pb, mg)
    x = [("x", "x:0", DT_FLOAT, [-1, 1])]
    add_signature(mg, "serving_default", PREDICT, x, [("y", "y:0", DT_FLOAT, [-1, 1])])
    add_signature(mg, "needs_missing", PREDICT, x, [("z", "z:0", DT_FLOAT, [-1, 1]), ("w", "w:0", DT_FLOAT, [-1, 1])])
    _write_pb(export_dir, sm)


def gen_unsupported_ops(pb, export_dir):
    sm, mg = new_saved_model(pb, "2.15.0", 1645)
    _missing_ops_graph(pb, mg)
    x = [("x", "x:0", DT_FLOAT, [-1, 1])]
    add_signature(mg, "serving_default", PREDICT, x, [("z", "z:0", DT_FLOAT, [-1, 1]), ("w", "w:0", DT_FLOAT, [-1, 1])])
    add_signature(mg, "other", PREDICT, x, [("v", "v:0", DT_FLOAT, [-1, 1])])
    _write_pb(export_dir, sm)


# sparse_signature: TensorInfos that are not plain tensor names (their `name`, a oneof member,
# is unset). x float [-1,1] -> y = Mul(x, 2.0); idx / shp int64 constants.
#   serving_default (predict)  x -> y                                           (servable)
#   sparse_out      (predict)  x -> sp = CooSparse(values y:0, indices idx:0, dense_shape shp:0)
#   composite_in    (predict)  rt = CompositeTensor(components [x:0]) -> y
#   no_name         (predict)  x -> o, a TensorInfo with a dtype and no encoding (name unset)
#   The model loads, serves serving_default, and the other three answer why they are not served.
def gen_sparse_signature(pb, export_dir):
    sm, mg = new_saved_model(pb, "2.15.0", 1645)
    g = GraphBuilder(mg.graph_def)
    g.node("x", "Placeholder", dtype=Attr.type(DT_FLOAT), shape=Attr.shape([-1, 1]))
    g.const("two", np.float32(2.0))
    g.node("y", "Mul", ["x", "two"], T=Attr.type(DT_FLOAT))
    g.const("idx", np.zeros((1, 2), np.int64))
    g.const("shp", np.array([1, 1], np.int64))
    x = [("x", "x:0", DT_FLOAT, [-1, 1])]
    y = [("y", "y:0", DT_FLOAT, [-1, 1])]
    add_signature(mg, "serving_default", PREDICT, x, y)
    sp = add_signature(mg, "sparse_out", PREDICT, x, []).outputs["sp"]
    sp.dtype = DT_FLOAT
    sp.coo_sparse.values_tensor_name = "y:0"
    sp.coo_sparse.indices_tensor_name = "idx:0"
    sp.coo_sparse.dense_shape_tensor_name = "shp:0"
    rt = add_signature(mg, "composite_in", PREDICT, [], y).inputs["rt"]
    tensor_info(rt.composite_tensor.components.add(), "x:0", DT_FLOAT, [-1, 1])
    add_signature(mg, "no_name", PREDICT, x, []).outputs["o"].dtype = DT_FLOAT  # no encoding at all
    _write_pb(export_dir, sm)


MODELS.update({
    "partial_ops": lambda pb, d, fx: gen_partial_ops(pb, d),
    "unsupported_ops": lambda pb, d, fx: gen_unsupported_ops(pb, d),
    "sparse_signature": lambda pb, d, fx: gen_sparse_signature(pb, d),
})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    default_fx = os.environ.get("TD_FIXTURES") or os.path.join(W.REPO, "..", "shared", "fixtures")
    ap.add_argument("--fixtures", default=default_fx, help="shared fixtures dir (MNIST digits); optional")
    ap.add_argument("--only", default="", help="comma-separated model names")
    args = ap.parse_args(argv)
    pb = W.load_protos()
    names = [n for n in args.only.split(",") if n] or list(MODELS)
    for name in names:
        if name not in MODELS:
            ap.error("unknown model %r (known: %s)" % (name, ", ".join(MODELS)))
        t0 = time.time()
        export_dir = os.path.join(args.out_dir, name, "1")
        res = MODELS[name](pb, export_dir, args.fixtures)
        extra = " numpy accuracy %.4f" % res if isinstance(res, float) else ""
        print("%s: %s (%.1fs)%s" % (name, export_dir, time.time() - t0, extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
