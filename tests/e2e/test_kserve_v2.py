"""test_kserve_v2.py — the KServe V2 / Open Inference Protocol front end (issue 15 part 1), over
real sockets with clients written from the spec (peer-servers.md §4): `requests` for REST, grpcio
generic unary calls with messages compiled from proto/inference/grpc_service.proto for gRPC.

Most tests use models written by tools/gen_models.py (half_plus_two_tf1: x float [-1,1] →
y = 0.5 x + 2; json_types: Identity ops over every common dtype, one signature per dtype), so
they need no ../shared. The corpus test (REST V2 == gRPC V2 == TF Serving API == the recorded
expected outputs) skips when the shared fixtures are absent.
Expected values are numpy / hand-derived, never taken from tensord.
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading

import numpy as np
import pytest

requests = pytest.importorskip("requests")
grpc = pytest.importorskip("grpc")

import grpc_client as gc  # noqa: E402
from conftest import FIXTURES, REPO, TENSORD_BIN, free_port  # noqa: E402

V2 = "/inference.GRPCInferenceService/"

_v2pb = None


def v2pb():
    """The inference.* message classes, compiled once from the repo's proto into a temp dir."""
    global _v2pb
    if _v2pb is None:
        out = tempfile.mkdtemp(prefix="td_v2_pb_")
        protoc = shutil.which("protoc")
        if not protoc:
            pytest.skip("protoc not found (apt-get install protobuf-compiler)")
        subprocess.run([protoc, "-I" + os.path.join(REPO, "proto"), "--python_out=" + out,
                        "inference/grpc_service.proto"], check=True, cwd=os.path.join(REPO, "proto"))
        sys.path.insert(0, out)
        import importlib
        _v2pb = importlib.import_module("inference.grpc_service_pb2")
    return _v2pb


class V2Server:
    """tensord serving a model config on fresh REST + gRPC ports."""

    def __init__(self, models, tmp, args=()):
        cfg = os.path.join(str(tmp), "models.config")
        with open(cfg, "w") as f:
            f.write("model_config_list {\n")
            for name, base in models.items():
                base, extra = base if isinstance(base, tuple) else (base, "")
                f.write('  config { name: "%s" base_path: "%s" model_platform: "tensorflow" %s }\n'
                        % (name, base, extra))
            f.write("}\n")
        self.port, self.rest_port = free_port(), free_port()
        self.log = open(os.path.join(str(tmp), "tensord.log"), "w+")
        args = [TENSORD_BIN, "--port=%d" % self.port, "--rest_api_port=%d" % self.rest_port,
                "--model_config_file=%s" % cfg, "--file_system_poll_wait_seconds=0"] + list(args)
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.url = "http://127.0.0.1:%d" % self.rest_port
        target = "127.0.0.1:%d" % self.port
        if not gc.wait_grpc(target, self.proc, 60):
            self.stop()
            raise AssertionError("tensord did not start:\n" + self.output())
        self.channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", -1)])
        import time
        deadline = time.time() + 60
        while time.time() < deadline and requests.get(self.url + "/v2/health/ready").status_code != 200:
            time.sleep(0.1)

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def call(self, method, request, response_cls, timeout=30):
        return self.channel.unary_unary(V2 + method, request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=response_cls.FromString)(request, timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        assert rc == 0, "tensord exited with %d:\n%s" % (rc, self.output()[-4000:])


@pytest.fixture(scope="module")
def srv(tensord, generated_models, tmp_path_factory):
    s = V2Server({"hpt": os.path.join(generated_models, "half_plus_two_tf1"),
                  "types": os.path.join(generated_models, "json_types")}, tmp_path_factory.mktemp("v2"))
    yield s
    if hasattr(s, "channel"):
        s.channel.close()
    s.stop()


def infer(srv, model, body, path_version=None, headers=None, raw=None):
    path = "/v2/models/%s%s/infer" % (model, "/versions/%s" % path_version if path_version else "")
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(srv.url + path, data=data, headers=headers or {"Content-Type": "application/json"})


def binary_body(header, tensors):
    """The binary tensor extension: JSON header then the raw tensors; returns (body, headers)."""
    h = json.dumps(header).encode()
    body = h + b"".join(tensors)
    return body, {"Inference-Header-Content-Length": str(len(h)), "Content-Type": "application/octet-stream"}


def raw_bytes_tensor(values):
    return b"".join(struct.pack("<I", len(v)) + v for v in values)


def parse_binary_response(r):
    """(header dict, {output name: numpy array}) of a binary-extension response."""
    hl = int(r.headers["Inference-Header-Content-Length"])
    header = json.loads(r.content[:hl])
    off, arrays = hl, {}
    np_types = {"FP32": "<f4", "FP64": "<f8", "INT32": "<i4", "INT64": "<i8", "BOOL": "u1", "UINT8": "u1"}
    for o in header["outputs"]:
        size = o.get("parameters", {}).get("binary_data_size")
        if size is None:
            continue
        chunk = r.content[off:off + size]
        off += size
        if o["datatype"] == "BYTES":
            vals, p = [], 0
            while p < len(chunk):
                n = struct.unpack_from("<I", chunk, p)[0]
                vals.append(chunk[p + 4:p + 4 + n])
                p += 4 + n
            arrays[o["name"]] = np.array(vals, dtype=object).reshape(o["shape"])
        else:
            arrays[o["name"]] = np.frombuffer(chunk, dtype=np_types[o["datatype"]]).reshape(o["shape"])
    assert off == len(r.content), "binary response has trailing bytes"
    return header, arrays


X = np.array([[1.0], [2.0], [5.0], [-3.5]], np.float32)
Y = 0.5 * X + 2.0


# ---------------------------------------------------------------------------------------------
# health, server and model metadata

def test_health_and_server_metadata(srv):
    r = requests.get(srv.url + "/v2/health/live")
    assert r.status_code == 200 and r.json() == {"live": True}
    r = requests.get(srv.url + "/v2/health/ready")
    assert r.status_code == 200 and r.json() == {"ready": True}
    r = requests.get(srv.url + "/v2")
    assert r.status_code == 200
    meta = r.json()
    assert meta["name"] == "tensord" and isinstance(meta["version"], str)
    assert "binary_tensor_data" in meta["extensions"]
    r = requests.get(srv.url + "/v2/models/hpt/ready")
    assert r.status_code == 200 and r.json() == {"name": "hpt", "ready": True}
    assert requests.get(srv.url + "/v2/models/hpt/versions/1/ready").status_code == 200
    assert requests.get(srv.url + "/v2/models/hpt/versions/7/ready").status_code == 503
    r = requests.get(srv.url + "/v2/models/nope/ready")
    assert r.status_code == 404 and "error" in r.json()


def test_model_metadata_rest(srv):
    r = requests.get(srv.url + "/v2/models/hpt")
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "hpt", "versions": ["1"], "platform": "tensorflow_savedmodel",
                        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 1]}],
                        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}]}
    assert requests.get(srv.url + "/v2/models/hpt/versions/1").json()["name"] == "hpt"
    r = requests.get(srv.url + "/v2/models/hpt/versions/9")
    assert r.status_code == 404 and "not found" in r.json()["error"].lower()
    r = requests.get(srv.url + "/v2/models/types")
    names = {t["name"]: t for t in r.json()["inputs"]}
    assert names["str_tensor"]["datatype"] == "BYTES" and names["double_tensor"]["datatype"] == "FP64"
    assert names["int_tensor"]["datatype"] == "INT32"
    assert names["float_tensor"]["shape"] == [-1]  # unknown rank: one variable dim
    # Triton's model configuration (REST): the signature with max_batch_size 0
    r = requests.get(srv.url + "/v2/models/hpt/versions/1/config")
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "hpt", "platform": "tensorflow_savedmodel", "backend": "tensorflow",
                        "max_batch_size": 0, "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [-1, 1]}],
                        "output": [{"name": "y", "data_type": "TYPE_FP32", "dims": [-1, 1]}]}
    cfg = requests.get(srv.url + "/v2/models/types/config").json()
    assert {t["name"]: t["data_type"] for t in cfg["input"]}["str_tensor"] == "TYPE_STRING"
    assert requests.get(srv.url + "/v2/models/nope/config").status_code == 404


def test_grpc_health_and_metadata(srv):
    pb = v2pb()
    assert srv.call("ServerLive", pb.ServerLiveRequest(), pb.ServerLiveResponse).live
    assert srv.call("ServerReady", pb.ServerReadyRequest(), pb.ServerReadyResponse).ready
    assert srv.call("ModelReady", pb.ModelReadyRequest(name="hpt"), pb.ModelReadyResponse).ready
    assert not srv.call("ModelReady", pb.ModelReadyRequest(name="hpt", version="3"), pb.ModelReadyResponse).ready
    m = srv.call("ServerMetadata", pb.ServerMetadataRequest(), pb.ServerMetadataResponse)
    assert m.name == "tensord" and "binary_tensor_data" in m.extensions
    md = srv.call("ModelMetadata", pb.ModelMetadataRequest(name="hpt", version="1"), pb.ModelMetadataResponse)
    assert md.name == "hpt" and list(md.versions) == ["1"] and md.platform == "tensorflow_savedmodel"
    assert [(t.name, t.datatype, list(t.shape)) for t in md.inputs] == [("x", "FP32", [-1, 1])]
    assert [(t.name, t.datatype, list(t.shape)) for t in md.outputs] == [("y", "FP32", [-1, 1])]
    with pytest.raises(grpc.RpcError) as e:
        srv.call("ModelMetadata", pb.ModelMetadataRequest(name="nope"), pb.ModelMetadataResponse)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


# ---------------------------------------------------------------------------------------------
# REST infer

@pytest.mark.parametrize("nested", [True, False])
def test_infer_json(srv, nested):
    data = X.tolist() if nested else X.ravel().tolist()
    r = infer(srv, "hpt", {"id": "req-42", "inputs": [{"name": "x", "shape": [4, 1], "datatype": "FP32",
                                                       "data": data}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_name"] == "hpt" and body["model_version"] == "1" and body["id"] == "req-42"
    (out,) = body["outputs"]
    assert out["name"] == "y" and out["datatype"] == "FP32" and out["shape"] == [4, 1]
    np.testing.assert_allclose(np.array(out["data"], np.float32).reshape(4, 1), Y)


def test_infer_version_in_path_and_label(srv):
    body = {"inputs": [{"name": "x", "shape": [1, 1], "datatype": "FP32", "data": [4.0]}]}
    r = infer(srv, "hpt", body, path_version="1")
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [4.0]
    r = infer(srv, "hpt", body, path_version="2")
    assert r.status_code == 404 and "error" in r.json()


def test_infer_binary_equals_json(srv):
    header = {"inputs": [{"name": "x", "shape": [4, 1], "datatype": "FP32",
                          "parameters": {"binary_data_size": X.nbytes}}],
              "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}
    body, headers = binary_body(header, [X.astype("<f4").tobytes()])
    r = infer(srv, "hpt", None, raw=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/octet-stream"
    h, arrays = parse_binary_response(r)
    assert h["outputs"][0]["parameters"]["binary_data_size"] == 16
    np.testing.assert_array_equal(arrays["y"], Y)
    # the JSON form of the same request gives the same numbers
    j = infer(srv, "hpt", {"inputs": [{"name": "x", "shape": [4, 1], "datatype": "FP32", "data": X.tolist()}]})
    np.testing.assert_array_equal(np.array(j.json()["outputs"][0]["data"], np.float32).reshape(4, 1), arrays["y"])
    # binary input, JSON output; and JSON input with binary_data_output
    header["outputs"] = [{"name": "y"}]
    body, headers = binary_body(header, [X.astype("<f4").tobytes()])
    r = infer(srv, "hpt", None, raw=body, headers=headers)
    assert r.headers["Content-Type"] == "application/json"
    assert "Inference-Header-Content-Length" not in r.headers
    np.testing.assert_array_equal(np.array(r.json()["outputs"][0]["data"], np.float32).reshape(4, 1), Y)
    r = infer(srv, "hpt", {"parameters": {"binary_data_output": True},
                           "inputs": [{"name": "x", "shape": [4, 1], "datatype": "FP32", "data": X.tolist()}]})
    _, arrays = parse_binary_response(r)
    np.testing.assert_array_equal(arrays["y"], Y)


def test_infer_raw_binary_request(srv):
    """Inference-Header-Content-Length: 0 — the body is the model's one input; outputs come back binary."""
    r = infer(srv, "hpt", None, raw=X.astype("<f4").tobytes(),
              headers={"Inference-Header-Content-Length": "0", "Content-Type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    h, arrays = parse_binary_response(r)
    assert h["outputs"][0]["shape"] == [4, 1]
    np.testing.assert_array_equal(arrays["y"], Y)
    r = infer(srv, "hpt", None, raw=b"\0" * 6, headers={"Inference-Header-Content-Length": "0"})
    assert r.status_code == 400 and "unexpected size 6" in r.json()["error"]
    # json_types' serving_default has 4 inputs: no raw request
    r = infer(srv, "types", None, raw=b"\0" * 8, headers={"Inference-Header-Content-Length": "0"})
    assert r.status_code == 400 and "exactly 1 input" in r.json()["error"]


def test_infer_dtypes_json_and_binary(srv):
    """Every common datatype through the json_types Identity signatures, JSON and binary forms."""
    cases = [("int32", "int_tensor", "INT32", np.array([[1, -2], [3, 2147483647]], np.int32)),
             ("int64", "int64_tensor", "INT64", np.array([-(2 ** 62), 7, 2 ** 40], np.int64)),
             ("double", "double_tensor", "FP64", np.array([0.1, -1e300, 3.25], np.float64)),
             ("float", "float_tensor", "FP32", np.array([[1.5], [-0.25]], np.float32)),
             ("bool", "bool_tensor", "BOOL", np.array([True, False, True], np.bool_))]
    for sig, name, dt, a in cases:
        req = {"parameters": {"signature_name": sig},
               "inputs": [{"name": name, "shape": list(a.shape), "datatype": dt, "data": a.tolist()}]}
        r = infer(srv, "types", req)
        assert r.status_code == 200, (sig, r.text)
        (out,) = r.json()["outputs"]
        assert out["name"] == name and out["datatype"] == dt and out["shape"] == list(a.shape)
        np.testing.assert_array_equal(np.array(out["data"], a.dtype).reshape(a.shape), a)
        le = a.astype(a.dtype.newbyteorder("<")) if a.dtype.itemsize > 1 else a
        header = {"parameters": {"signature_name": sig, "binary_data_output": True},
                  "inputs": [{"name": name, "shape": list(a.shape), "datatype": dt,
                              "parameters": {"binary_data_size": a.nbytes}}]}
        body, headers = binary_body(header, [le.tobytes()])
        r = infer(srv, "types", None, raw=body, headers=headers)
        assert r.status_code == 200, (sig, r.text)
        _, arrays = parse_binary_response(r)
        np.testing.assert_array_equal(arrays[name].astype(a.dtype), a)


def test_infer_bytes(srv):
    vals = [b"hello", b"", "caf\u00e9".encode()]
    r = infer(srv, "types", {"parameters": {"signature_name": "bytes"},
                             "inputs": [{"name": "str_tensor", "shape": [3], "datatype": "BYTES",
                                         "data": [v.decode() for v in vals]}]})
    assert r.status_code == 200, r.text
    (out,) = r.json()["outputs"]
    assert out["name"] == "str_tensor_bytes" and out["datatype"] == "BYTES" and out["shape"] == [3]
    assert out["data"] == [v.decode() for v in vals]
    # binary BYTES: 4-byte little-endian length before each element, both ways
    header = {"parameters": {"signature_name": "bytes", "binary_data_output": True},
              "inputs": [{"name": "str_tensor", "shape": [3], "datatype": "BYTES",
                          "parameters": {"binary_data_size": len(raw_bytes_tensor(vals))}}]}
    body, headers = binary_body(header, [raw_bytes_tensor(vals)])
    r = infer(srv, "types", None, raw=body, headers=headers)
    assert r.status_code == 200, r.text
    _, arrays = parse_binary_response(r)
    assert list(arrays["str_tensor_bytes"]) == vals


def test_infer_multiple_inputs_binary_order_and_requested_outputs(srv):
    """serving_default of json_types has 4 inputs; binary tensors follow the JSON order; outputs come
    back in the order requested."""
    i32 = np.array([3, 4], np.int32)
    f32 = np.array([0.5, 1.5], np.float32)
    f64 = np.array([2.25, -8.0], np.float64)
    strs = [b"a", b"bc"]
    header = {"inputs": [
        {"name": "double_tensor", "shape": [2], "datatype": "FP64", "parameters": {"binary_data_size": 16}},
        {"name": "str_tensor", "shape": [2], "datatype": "BYTES", "data": ["a", "bc"]},
        {"name": "int_tensor", "shape": [2], "datatype": "INT32", "parameters": {"binary_data_size": 8}},
        {"name": "float_tensor", "shape": [2], "datatype": "FP32", "data": f32.tolist()}],
        "outputs": [{"name": "int_tensor"}, {"name": "double_tensor", "parameters": {"binary_data": True}},
                    {"name": "str_tensor_bytes"}]}
    body, headers = binary_body(header, [f64.astype("<f8").tobytes(), i32.astype("<i4").tobytes()])
    r = infer(srv, "types", None, raw=body, headers=headers)
    assert r.status_code == 200, r.text
    h, arrays = parse_binary_response(r)
    assert [o["name"] for o in h["outputs"]] == ["int_tensor", "double_tensor", "str_tensor_bytes"]
    assert h["outputs"][0]["data"] == [3, 4]
    np.testing.assert_array_equal(arrays["double_tensor"], f64)
    assert h["outputs"][2]["data"] == ["a", "bc"]
    assert strs == [s.encode() for s in h["outputs"][2]["data"]]


# ---------------------------------------------------------------------------------------------
# gRPC infer

def grpc_request(pb, model, name, dt, a, raw=False, version="", signature=None, outputs=()):
    req = pb.ModelInferRequest(model_name=model, model_version=version, id="g-1")
    if signature:
        req.parameters["signature_name"].string_param = signature
    t = req.inputs.add(name=name, datatype=dt, shape=list(a.shape))
    if raw:
        if dt == "BYTES":
            req.raw_input_contents.append(raw_bytes_tensor(list(a.ravel())))
        else:
            req.raw_input_contents.append(a.astype(a.dtype.newbyteorder("<") if a.dtype.itemsize > 1 else a.dtype)
                                          .tobytes())
    else:
        field = {"FP32": "fp32_contents", "FP64": "fp64_contents", "INT32": "int_contents",
                 "INT64": "int64_contents", "BOOL": "bool_contents", "BYTES": "bytes_contents"}[dt]
        getattr(t.contents, field).extend(a.ravel().tolist())
    for o in outputs:
        req.outputs.add(name=o)
    return req


def grpc_output(resp, i, np_dtype):
    o = resp.outputs[i]
    if resp.raw_output_contents:
        raw = resp.raw_output_contents[i]
        if o.datatype == "BYTES":
            vals, p = [], 0
            while p < len(raw):
                n = struct.unpack_from("<I", raw, p)[0]
                vals.append(raw[p + 4:p + 4 + n])
                p += 4 + n
            return np.array(vals, dtype=object).reshape(list(o.shape))
        return np.frombuffer(raw, dtype=np.dtype(np_dtype).newbyteorder("<")).reshape(list(o.shape))
    field = {"FP32": "fp32_contents", "FP64": "fp64_contents", "INT32": "int_contents", "INT64": "int64_contents",
             "BOOL": "bool_contents", "BYTES": "bytes_contents"}[o.datatype]
    vals = list(getattr(o.contents, field))
    return np.array(vals, dtype=object if o.datatype == "BYTES" else np_dtype).reshape(list(o.shape))


@pytest.mark.parametrize("raw", [False, True])
def test_grpc_infer(srv, raw):
    pb = v2pb()
    resp = srv.call("ModelInfer", grpc_request(pb, "hpt", "x", "FP32", X, raw=raw), pb.ModelInferResponse)
    assert resp.model_name == "hpt" and resp.model_version == "1" and resp.id == "g-1"
    assert bool(resp.raw_output_contents) == raw  # outputs mirror the request's form
    assert resp.outputs[0].name == "y" and resp.outputs[0].datatype == "FP32" and list(resp.outputs[0].shape) == [4, 1]
    np.testing.assert_array_equal(grpc_output(resp, 0, np.float32), Y)


@pytest.mark.parametrize("raw", [False, True])
def test_grpc_infer_dtypes(srv, raw):
    pb = v2pb()
    cases = [("int32", "int_tensor", "INT32", np.array([1, -2, 2 ** 31 - 1], np.int32)),
             ("int64", "int64_tensor", "INT64", np.array([[-(2 ** 62)], [9]], np.int64)),
             ("double", "double_tensor", "FP64", np.array([0.1, 2.5], np.float64)),
             ("bool", "bool_tensor", "BOOL", np.array([True, False], np.bool_)),
             ("bytes", "str_tensor", "BYTES", np.array([b"x", b"", b"\x00\xff"], dtype=object))]
    for sig, name, dt, a in cases:
        resp = srv.call("ModelInfer", grpc_request(pb, "types", name, dt, a, raw=raw, signature=sig),
                        pb.ModelInferResponse)
        got = grpc_output(resp, 0, a.dtype if a.dtype != object else object)
        assert resp.outputs[0].datatype == dt
        assert list(resp.outputs[0].shape) == list(a.shape)
        if dt == "BYTES":
            assert list(got.ravel()) == list(a.ravel())
        else:
            np.testing.assert_array_equal(got, a)


def test_grpc_errors(srv):
    pb = v2pb()

    def code_of(req):
        with pytest.raises(grpc.RpcError) as e:
            srv.call("ModelInfer", req, pb.ModelInferResponse)
        return e.value.code(), e.value.details()

    assert code_of(grpc_request(pb, "nope", "x", "FP32", X))[0] == grpc.StatusCode.NOT_FOUND
    assert code_of(grpc_request(pb, "hpt", "x", "FP32", X, version="5"))[0] == grpc.StatusCode.NOT_FOUND
    code, msg = code_of(grpc_request(pb, "hpt", "x", "FP64", X.astype(np.float64)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "FP64" in msg and "FP32" in msg
    req = grpc_request(pb, "hpt", "x", "FP32", X, raw=True)
    req.raw_input_contents[0] = req.raw_input_contents[0][:-1]  # one byte short
    code, msg = code_of(req)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "unexpected size 15" in msg
    req = grpc_request(pb, "hpt", "x", "FP32", X)
    del req.inputs[0].contents.fp32_contents[-1]  # 3 values for shape [4,1]
    assert code_of(req)[0] == grpc.StatusCode.INVALID_ARGUMENT
    req = grpc_request(pb, "hpt", "x", "FP32", X)
    req.inputs[0].datatype = "FLOAT32"
    code, msg = code_of(req)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "FLOAT32" in msg
    code, msg = code_of(grpc_request(pb, "hpt", "x", "FP32", X, outputs=["nope"]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "nope" in msg
    with pytest.raises(grpc.RpcError) as e:  # load/unload: test_kserve_v2_repository.py
        srv.call("RepositoryModelLoad", pb.RepositoryModelLoadRequest(model_name="nope"),
                 pb.RepositoryModelLoadResponse)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert e.value.details() == "Model nope is not in the model repository"
    # still serving
    resp = srv.call("ModelInfer", grpc_request(pb, "hpt", "x", "FP32", X), pb.ModelInferResponse)
    np.testing.assert_array_equal(grpc_output(resp, 0, np.float32), Y)


# ---------------------------------------------------------------------------------------------
# model repository extension: index (load / unload of real models: test_kserve_v2_repository.py)

def test_repository_index(srv):
    want = [{"name": "hpt", "version": "1", "state": "READY", "reason": ""},
            {"name": "types", "version": "1", "state": "READY", "reason": ""}]
    r = requests.post(srv.url + "/v2/repository/index")
    assert r.status_code == 200, r.text
    assert sorted(r.json(), key=lambda m: m["name"]) == want
    r = requests.post(srv.url + "/v2/repository/index", data=json.dumps({"ready": True}))
    assert sorted(r.json(), key=lambda m: m["name"]) == want
    r = requests.post(srv.url + "/v2/repository/index", data="{\"ready\": 3}")
    assert r.status_code == 400 and "boolean" in r.json()["error"]
    r = requests.post(srv.url + "/v2/repository/models/nope/unload")
    assert r.status_code == 404 and r.json() == {"error": "Model nope is not in the model repository"}
    assert "model_repository" in requests.get(srv.url + "/v2").json()["extensions"]
    assert requests.get(srv.url + "/v2/models").json() == {"models": ["hpt", "types"]}
    pb = v2pb()
    idx = srv.call("RepositoryIndex", pb.RepositoryIndexRequest(ready=True), pb.RepositoryIndexResponse)
    assert sorted((m.name, m.version, m.state, m.reason) for m in idx.models) == \
        [(w["name"], w["version"], w["state"], w["reason"]) for w in want]


# ---------------------------------------------------------------------------------------------
# REST bad input: clear errors, nothing else lost

def test_rest_bad_input(srv):
    good = {"inputs": [{"name": "x", "shape": [4, 1], "datatype": "FP32", "data": X.tolist()}]}

    def err(r, status):
        assert r.status_code == status, r.text
        assert r.headers["Content-Type"] == "application/json"
        e = r.json()["error"]
        assert isinstance(e, str) and e
        return e

    assert "JSON Parse error" in err(infer(srv, "hpt", None, raw=b'{"inputs": [ {"name": "x",'), 400)
    assert "JSON Parse error" in err(infer(srv, "hpt", None, raw=b""), 400)
    assert "inputs" in err(infer(srv, "hpt", {"id": "1"}), 400)
    bad = json.loads(json.dumps(good))
    bad["inputs"][0]["shape"] = [3, 1]  # 4 values for 3 elements
    assert "unexpected number of elements" in err(infer(srv, "hpt", bad), 400)
    bad["inputs"][0]["shape"] = [5, 1]
    assert "unexpected number of elements" in err(infer(srv, "hpt", bad), 400)
    bad = json.loads(json.dumps(good))
    bad["inputs"][0]["datatype"] = "FLOAT"
    assert "invalid datatype 'FLOAT'" in err(infer(srv, "hpt", bad), 400)
    bad["inputs"][0]["datatype"] = "INT32"
    assert "expects 'FP32'" in err(infer(srv, "hpt", bad), 400)
    bad = json.loads(json.dumps(good))
    bad["inputs"][0]["data"] = [[1.0], ["a"], [2.0], [3.0]]
    assert "expected a number" in err(infer(srv, "hpt", bad), 400)
    bad = json.loads(json.dumps(good))
    bad["inputs"][0]["name"] = "z"
    assert "z" in err(infer(srv, "hpt", bad), 400)
    del bad["inputs"][0]["shape"]
    assert "shape" in err(infer(srv, "hpt", bad), 400)
    assert "Servable not found" in err(infer(srv, "nope", good), 404)
    err(infer(srv, "hpt", good, path_version="12"), 404)
    bad = json.loads(json.dumps(good))
    bad["outputs"] = [{"name": "nope"}]
    assert "nope" in err(infer(srv, "hpt", bad), 400)
    # INT8 out of range for the type
    r = infer(srv, "types", {"parameters": {"signature_name": "int32"},
                             "inputs": [{"name": "int_tensor", "shape": [1], "datatype": "INT32",
                                         "data": [2 ** 31]}]})
    assert "range of INT32" in err(r, 400)
    # binary extension: header length longer than the body, sizes that do not add up
    h = json.dumps({"inputs": [{"name": "x", "shape": [4, 1], "datatype": "FP32",
                                "parameters": {"binary_data_size": 16}}]}).encode()
    r = infer(srv, "hpt", None, raw=h + X.tobytes(),
              headers={"Inference-Header-Content-Length": str(len(h) + 100)})
    assert "longer than the request body" in err(r, 400)
    r = infer(srv, "hpt", None, raw=h + X.tobytes()[:8], headers={"Inference-Header-Content-Length": str(len(h))})
    assert "runs past the end" in err(r, 400)
    r = infer(srv, "hpt", None, raw=h + X.tobytes() + b"xx",
              headers={"Inference-Header-Content-Length": str(len(h))})
    assert "binary data" in err(r, 400)
    r = infer(srv, "hpt", None, raw=h + X.tobytes(), headers={"Inference-Header-Content-Length": "abc"})
    err(r, 400)
    # unknown endpoints and methods
    err(requests.get(srv.url + "/v2/models/hpt/bogus"), 404)
    err(requests.get(srv.url + "/v2/models/hpt/infer"), 400)
    # nothing else lost
    r = infer(srv, "hpt", good)
    assert r.status_code == 200
    np.testing.assert_allclose(np.array(r.json()["outputs"][0]["data"], np.float32).reshape(4, 1), Y)
    assert requests.get(srv.url + "/v1/models/hpt").status_code == 200


def test_concurrent_rest_and_grpc(srv):
    pb = v2pb()
    errors = []

    def worker(k):
        try:
            for i in range(20):
                a = np.full((3, 1), k * 100 + i, np.float32)
                if k % 2:
                    resp = srv.call("ModelInfer", grpc_request(pb, "hpt", "x", "FP32", a, raw=True),
                                    pb.ModelInferResponse)
                    got = grpc_output(resp, 0, np.float32)
                else:
                    r = infer(srv, "hpt", {"inputs": [{"name": "x", "shape": [3, 1], "datatype": "FP32",
                                                       "data": a.tolist()}]})
                    got = np.array(r.json()["outputs"][0]["data"], np.float32).reshape(3, 1)
                np.testing.assert_array_equal(got, 0.5 * a + 2)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    # V2 infer calls are requests in the metrics: a Predict on the port's entrypoint
    text = requests.get(srv.url + "/monitoring/prometheus/metrics").text
    for api, entry in (("predict", "REST"), ("Predict", "GRPC")):
        line = [ln for ln in text.splitlines() if ln.startswith(
            ':tensorflow:serving:request_latency_count{model_name="hpt",API="%s",entrypoint="%s"}' % (api, entry))]
        assert line and int(line[0].split()[-1]) >= 60, (api, entry, line)


# ---------------------------------------------------------------------------------------------
# versions and labels: the same registry as the TF Serving API

def test_versions_and_labels(tensord, generated_models, tmp_path):
    base = tmp_path / "hp_versions"
    base.mkdir()
    for v in (3, 7):
        os.symlink(os.path.join(generated_models, "half_plus_two_tf1", "1"), str(base / str(v)))
    extra = ("model_version_policy { all {} } version_labels { key: 'stable' value: 3 } "
             "version_labels { key: 'canary' value: 7 }")
    s = V2Server({"hp": (str(base), extra)}, tmp_path)
    try:
        body = {"inputs": [{"name": "x", "shape": [1, 1], "datatype": "FP32", "data": [2.0]}]}
        for v, want in ((None, "7"), ("3", "3"), ("7", "7"), ("stable", "3"), ("canary", "7")):
            r = infer(s, "hp", body, path_version=v)
            assert r.status_code == 200, (v, r.text)
            assert r.json()["model_version"] == want and r.json()["outputs"][0]["data"] == [3.0]
        r = infer(s, "hp", body, path_version="nope")
        assert r.status_code == 400 and r.json() == {"error": "Unrecognized servable version label: nope"}
        assert requests.get(s.url + "/v2/models/hp").json()["versions"] == ["3", "7"]
        assert requests.get(s.url + "/v2/models/hp/versions/stable/ready").status_code == 200
        pb = v2pb()
        resp = s.call("ModelInfer", grpc_request(pb, "hp", "x", "FP32", X, version="stable"), pb.ModelInferResponse)
        assert resp.model_version == "3"
        idx = s.call("RepositoryIndex", pb.RepositoryIndexRequest(), pb.RepositoryIndexResponse)
        assert [(m.name, m.version, m.state) for m in idx.models] == [("hp", "7", "READY"), ("hp", "3", "READY")]
    finally:
        s.channel.close()
        s.stop()


# ---------------------------------------------------------------------------------------------
# authority: V2 calls need the bearer token, V2 health stays open (as /healthz, grpc.health.v1)

def test_bearer_token_and_model_names(tensord, generated_models, tmp_path):
    token = "v2-secret-token"
    (tmp_path / "tokens.txt").write_text(token + "\n")
    s = V2Server.__new__(V2Server)
    s.port, s.rest_port = free_port(), free_port()
    s.log = open(str(tmp_path / "tensord.log"), "w+")
    s.proc = subprocess.Popen([TENSORD_BIN, "--port=%d" % s.port, "--rest_api_port=%d" % s.rest_port,
                               "--model_name=hpt", "--model_base_path=" + os.path.join(generated_models,
                                                                                       "half_plus_two_tf1"),
                               "--auth_token_file=%s" % (tmp_path / "tokens.txt")],
                              stdout=s.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    s.url = "http://127.0.0.1:%d" % s.rest_port
    try:
        import time
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(s.url + "/v2/health/ready", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        body = {"inputs": [{"name": "x", "shape": [4, 1], "datatype": "FP32", "data": X.tolist()}]}
        assert requests.get(s.url + "/v2/health/live").status_code == 200
        assert requests.get(s.url + "/v2/health/ready").status_code == 200
        r = infer(s, "hpt", body)
        assert r.status_code == 401 and "bearer token" in r.json()["error"]
        assert requests.get(s.url + "/v2/models/hpt").status_code == 401
        auth = {"Authorization": "Bearer " + token}
        r = infer(s, "hpt", body, headers=auth)
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(np.array(r.json()["outputs"][0]["data"], np.float32).reshape(4, 1), Y)
        r = requests.get(s.url + "/v2/models/h%01pt", headers=auth)  # a control byte in the name
        assert r.status_code == 400 and "control character" in r.json()["error"]
        pb = v2pb()
        s.channel = grpc.insecure_channel("127.0.0.1:%d" % s.port)
        assert s.call("ServerLive", pb.ServerLiveRequest(), pb.ServerLiveResponse).live
        with pytest.raises(grpc.RpcError) as e:
            s.call("ModelInfer", grpc_request(pb, "hpt", "x", "FP32", X), pb.ModelInferResponse)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        md = [("authorization", "Bearer " + token)]
        stub = s.channel.unary_unary(V2 + "ModelInfer", request_serializer=lambda m: m.SerializeToString(),
                                     response_deserializer=pb.ModelInferResponse.FromString)
        resp = stub(grpc_request(pb, "hpt", "x", "FP32", X), timeout=30, metadata=md)
        np.testing.assert_array_equal(grpc_output(resp, 0, np.float32), Y)
        with pytest.raises(grpc.RpcError) as e:
            stub(grpc_request(pb, "h\x00pt", "x", "FP32", X), timeout=30, metadata=md)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "NUL or control" in e.value.details()
        s.channel.close()
    finally:
        s.stop()


# ---------------------------------------------------------------------------------------------
# corpus: V2 REST == V2 gRPC == TF Serving API == recorded expectations

CORPUS = ["rnn_gru_coinflip", "embedding_spam_joker666", "textvec_if_vectorizer_twrzeszcz"]


@pytest.fixture(scope="module")
def corpus_srv(tensord, tmp_path_factory):
    models = os.path.join(FIXTURES, "models")
    if not os.path.isdir(models):
        pytest.skip("shared fixtures not found at %s" % FIXTURES)
    present = {m: os.path.join(models, m) for m in CORPUS if os.path.isdir(os.path.join(models, m))}
    if not present:
        pytest.skip("none of the corpus models is present")
    s = V2Server(present, tmp_path_factory.mktemp("v2corpus"))
    s.models = present
    yield s
    s.channel.close()
    s.stop()


def expected_of(model_dir):
    with open(os.path.join(model_dir, "extras", "expected_output.txt")) as f:
        for line in f:
            if line.startswith("expected_json:"):
                return json.loads(line[len("expected_json:"):])
    return None


@pytest.mark.parametrize("model", CORPUS)
def test_corpus_v2_rest_grpc_tf_agree(corpus_srv, model):
    if model not in corpus_srv.models:
        pytest.skip("fixture model absent: %s" % model)
    d = corpus_srv.models[model]
    with open(os.path.join(d, "extras", "request.json")) as f:
        tf_req = json.load(f)
    expected = expected_of(d)
    meta = requests.get(corpus_srv.url + "/v2/models/" + model).json()
    (inp,) = meta["inputs"]
    (out,) = meta["outputs"]
    dt = inp["datatype"]
    np_dt = {"FP32": np.float32, "FP64": np.float64, "INT32": np.int32, "INT64": np.int64, "BYTES": object}[dt]
    a = np.array(tf_req["instances"], dtype=np_dt)
    if dt == "BYTES":
        a = np.array([s.encode() for s in a.ravel()], dtype=object).reshape(a.shape)
    # TF Serving API
    tf = requests.post(corpus_srv.url + "/v1/models/%s:predict" % model, data=json.dumps(tf_req))
    assert tf.status_code == 200, tf.text
    tf_out = np.array(tf.json()["predictions"])
    # V2 REST (JSON)
    data = [s.decode() for s in a.ravel()] if dt == "BYTES" else a.tolist()
    r = requests.post(corpus_srv.url + "/v2/models/%s/infer" % model,
                      data=json.dumps({"inputs": [{"name": inp["name"], "shape": list(a.shape), "datatype": dt,
                                                   "data": data}]}))
    assert r.status_code == 200, r.text
    (o,) = r.json()["outputs"]
    assert o["name"] == out["name"] and o["datatype"] == out["datatype"]
    rest_out = np.array(o["data"]).reshape(o["shape"])
    # V2 gRPC (raw)
    pb = v2pb()
    resp = corpus_srv.call("ModelInfer", grpc_request(pb, model, inp["name"], dt, a, raw=True), pb.ModelInferResponse)
    np_out = {"FP32": np.float32, "FP64": np.float64, "INT32": np.int32, "INT64": np.int64}[o["datatype"]]
    grpc_out = grpc_output(resp, 0, np_out)
    np.testing.assert_array_equal(rest_out.astype(np_out), grpc_out)
    np.testing.assert_allclose(rest_out, tf_out.reshape(rest_out.shape), rtol=1e-6, atol=1e-6)
    if expected and expected.get("path") == ["predictions"]:
        np.testing.assert_allclose(rest_out, np.array(expected["value"]).reshape(rest_out.shape),
                                   atol=expected.get("atol", 1e-5), rtol=expected.get("rtol", 0))
