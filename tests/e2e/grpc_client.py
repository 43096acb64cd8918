"""grpc_client.py — a TensorFlow Serving gRPC client for the end-to-end tests, built only from
grpcio + protobuf (no tensorflow-serving-api, no grpc_tools): message classes are generated
with `protoc --python_out` from the repo's own proto/ files into a temp dir, and methods are
called through grpc's generic unary API on their full paths.

Also starts servers: `start_server()` runs `tensord --port=...` and waits until gRPC answers.

Invariants: nothing is written into the repo; every started process is stopped by
ServerProcess.stop() (the pytest fixtures call it).
"""

import atexit
import importlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import grpc

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_DIR = os.path.join(REPO, "proto")

PREDICTION = "/tensorflow.serving.PredictionService/"
MODEL = "/tensorflow.serving.ModelService/"

_pb = None


def protos():
    """Generates (once) and imports the message modules; returns a namespace of classes."""
    global _pb
    if _pb is not None:
        return _pb
    out = tempfile.mkdtemp(prefix="td_grpc_pb_")
    atexit.register(shutil.rmtree, out, True)  # the modules are imported by then
    files = []
    for sub in ("tensorflow", "tensorflow_serving"):  # google/protobuf comes with python3-protobuf
        for f in sorted(os.listdir(os.path.join(PROTO_DIR, sub))):
            if f.endswith(".proto"):
                files.append(os.path.join(sub, f))
    protoc = shutil.which("protoc")
    if not protoc:
        raise RuntimeError("protoc not found (apt-get install protobuf-compiler)")
    subprocess.run([protoc, "-I" + PROTO_DIR, "--python_out=" + out] + files, check=True, cwd=PROTO_DIR)
    for sub in ("tensorflow", "tensorflow_serving"):
        open(os.path.join(out, sub, "__init__.py"), "a").close()
    sys.path.insert(0, out)

    class NS:
        pass

    ns = NS()
    for mod in ("tensorflow.tensor_pb2", "tensorflow.types_pb2", "tensorflow.tensor_shape_pb2",
                "tensorflow.example_pb2", "tensorflow.meta_graph_pb2",
                "tensorflow_serving.predict_pb2", "tensorflow_serving.classification_pb2",
                "tensorflow_serving.regression_pb2", "tensorflow_serving.inference_pb2",
                "tensorflow_serving.get_model_metadata_pb2", "tensorflow_serving.get_model_status_pb2",
                "tensorflow_serving.model_management_pb2", "tensorflow_serving.input_pb2",
                "tensorflow_serving.model_pb2"):
        m = importlib.import_module(mod)
        for name in dir(m):
            if not name.startswith("_"):
                setattr(ns, name, getattr(m, name))
    _pb = ns
    return ns


# (method, request class name, response class name)
METHODS = {
    "Predict": (PREDICTION + "Predict", "PredictRequest", "PredictResponse"),
    "Classify": (PREDICTION + "Classify", "ClassificationRequest", "ClassificationResponse"),
    "Regress": (PREDICTION + "Regress", "RegressionRequest", "RegressionResponse"),
    "MultiInference": (PREDICTION + "MultiInference", "MultiInferenceRequest", "MultiInferenceResponse"),
    "GetModelMetadata": (PREDICTION + "GetModelMetadata", "GetModelMetadataRequest", "GetModelMetadataResponse"),
    "GetModelStatus": (MODEL + "GetModelStatus", "GetModelStatusRequest", "GetModelStatusResponse"),
    "HandleReloadConfigRequest": (MODEL + "HandleReloadConfigRequest", "ReloadConfigRequest",
                                  "ReloadConfigResponse"),
}


class Client:
    """A stub over one channel: client.Predict(request, timeout=...) etc."""

    def __init__(self, target):
        pb = protos()
        self.channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", -1),
                                                              ("grpc.max_receive_message_length", -1)])
        for name, (path, req, resp) in METHODS.items():
            setattr(self, name, self.channel.unary_unary(
                path, request_serializer=getattr(pb, req).SerializeToString,
                response_deserializer=getattr(pb, resp).FromString))

    def raw(self, path, payload, timeout=10):
        """Calls any method with raw request bytes; returns raw response bytes."""
        return self.channel.unary_unary(path)(payload, timeout=timeout)

    def close(self):
        self.channel.close()


# ---- message helpers ----

def tensor(values, dtype=None, shape=None, content=False):
    """numpy array → TensorProto (typed *_val fields, or tensor_content)."""
    import numpy as np
    pb = protos()
    a = np.asarray(values) if dtype is None else np.asarray(values, dtype=dtype)
    t = pb.TensorProto()
    kinds = {np.float32: ("DT_FLOAT", "float_val"), np.float64: ("DT_DOUBLE", "double_val"),
             np.int32: ("DT_INT32", "int_val"), np.int64: ("DT_INT64", "int64_val"),
             np.bool_: ("DT_BOOL", "bool_val")}
    if a.dtype.kind in "SO":
        t.dtype = pb.DT_STRING
        t.string_val.extend([v if isinstance(v, bytes) else str(v).encode() for v in a.ravel()])
    else:
        dt, field = kinds[a.dtype.type]
        t.dtype = getattr(pb, dt)
        if content:
            t.tensor_content = a.astype(a.dtype.newbyteorder("<")).tobytes()
        else:
            getattr(t, field).extend(a.ravel().tolist())
    for d in (a.shape if shape is None else shape):
        t.tensor_shape.dim.add().size = d
    return t


def to_numpy(t):
    """TensorProto → numpy array (typed fields or tensor_content)."""
    import numpy as np
    pb = protos()
    shape = [d.size for d in t.tensor_shape.dim]
    np_types = {pb.DT_FLOAT: (np.float32, "float_val"), pb.DT_DOUBLE: (np.float64, "double_val"),
                pb.DT_INT32: (np.int32, "int_val"), pb.DT_INT64: (np.int64, "int64_val"),
                pb.DT_BOOL: (np.bool_, "bool_val")}
    if t.dtype == pb.DT_STRING:
        return np.array(list(t.string_val), dtype=object).reshape(shape)
    npt, field = np_types[t.dtype]
    if t.tensor_content:
        return np.frombuffer(t.tensor_content, dtype=np.dtype(npt).newbyteorder("<")).reshape(shape)
    return np.array(getattr(t, field), dtype=npt).reshape(shape)


def example(**features):
    """tf.Example from keyword features: floats → float_list, ints → int64_list, bytes/str → bytes_list."""
    pb = protos()
    ex = pb.Example()
    for k, v in features.items():
        vals = v if isinstance(v, (list, tuple)) else [v]
        f = ex.features.feature[k]
        if all(isinstance(x, float) for x in vals):
            f.float_list.value.extend(vals)
        elif all(isinstance(x, int) for x in vals):
            f.int64_list.value.extend(vals)
        else:
            f.bytes_list.value.extend([x.encode() if isinstance(x, str) else x for x in vals])
    return ex


def model_spec(spec, name, version=None, label=None, signature=None):
    spec.name = name
    if version is not None:
        spec.version.value = version
    if label is not None:
        spec.version_label = label
    if signature is not None:
        spec.signature_name = signature
    return spec


# ---- servers ----

def free_port():
    """A fresh port, never the same twice in this process (see conftest.free_port)."""
    from conftest import free_port as shared_free_port
    return shared_free_port()


class ServerProcess:
    def __init__(self, proc, port, rest_port=None):
        self.proc, self.port, self.rest_port = proc, port, rest_port
        self.target = "127.0.0.1:%d" % port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def wait_tcp(host, port, proc, timeout=30.0):
    """True once host:port accepts a TCP connection; False if proc exits or the time runs out."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            with socket.create_connection((host, int(port)), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_grpc(target, proc, timeout=30.0):
    """Waits until target accepts TCP connections and answers a gRPC call (any status but
    UNAVAILABLE). TCP is polled first: a gRPC channel that failed to connect backs off for seconds."""
    host, port = target.rsplit(":", 1)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, int(port)), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    client = Client(target)
    try:
        while time.time() < deadline and proc.poll() is None:
            pb = protos()
            req = pb.GetModelStatusRequest()
            req.model_spec.name = "__probe__"
            try:
                client.GetModelStatus(req, timeout=2)
                return True
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE:
                    return True
            time.sleep(0.1)
        return False
    finally:
        client.close()


def start_tensord(binary, model_name, base_path, extra=(), rest=False, timeout=30.0):
    """`tensord --port=P [--rest_api_port=Q] --model_name=.. --model_base_path=..` ready for gRPC,
    or None if it never answered gRPC (its stderr is then in the exception-free return)."""
    port = free_port()
    rest_port = free_port() if rest else None
    args = [binary, "--port=%d" % port, "--model_name=%s" % model_name, "--model_base_path=%s" % base_path,
            "--file_system_poll_wait_seconds=0"]
    if rest_port:
        args.append("--rest_api_port=%d" % rest_port)
    args += list(extra)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    server = ServerProcess(proc, port, rest_port)
    # tensord opens its gRPC port before its REST port: wait for both.
    if wait_grpc(server.target, proc, timeout) and (not rest_port or wait_tcp("127.0.0.1", rest_port, proc, timeout)):
        return server
    server.stop()
    return None

