#!/usr/bin/python3
"""gen_warmup.py — writes a SavedModel warmup file (tfserving-api.md §5):
<version_dir>/assets.extra/tf_serving_warmup_requests, a TFRecord of tensorflow.serving.PredictionLog.

Usage:
  gen_warmup.py VERSION_DIR [--model NAME] [--predict ALIAS=V1,V2,...] [--signature SIG]
                [--regress FEATURE=VALUE --regress_signature SIG] [--copies N] [--corrupt]

  --predict      a predict_log record whose request feeds a 1-D float tensor to ALIAS (repeatable)
  --regress      a regress_log record with one tf.Example {FEATURE: [VALUE]} (float)
  --copies       write every record N times (default 1)
  --corrupt      flip one bit of the last record's data checksum (for negative tests)

Message classes come from `protoc --python_out` of the repo's proto/ into a temp dir (python3-protobuf
only; no TensorFlow). The file is rewritten, never appended. Exit code 0 on success.
"""

import argparse
import importlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTO_DIR = os.path.join(REPO, "proto")
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def load_protos():
    out = tempfile.mkdtemp(prefix="td_warmup_pb_")
    files = [os.path.join(sub, f) for sub in ("tensorflow", "tensorflow_serving")
             for f in sorted(os.listdir(os.path.join(PROTO_DIR, sub))) if f.endswith(".proto")]
    protoc = shutil.which("protoc")
    if not protoc:
        sys.exit("gen_warmup.py: protoc not found (apt-get install protobuf-compiler)")
    subprocess.run([protoc, "-I" + PROTO_DIR, "--python_out=" + out] + files, check=True, cwd=PROTO_DIR)
    for sub in ("tensorflow", "tensorflow_serving"):
        open(os.path.join(out, sub, "__init__.py"), "a").close()
    sys.path.insert(0, out)
    return (importlib.import_module("tensorflow_serving.prediction_log_pb2"),
            importlib.import_module("tensorflow.types_pb2"))


# ---- TFRecord framing: CRC32C (Castagnoli, reflected 0x82F63B78), masked ----

_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data):
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data))


# ---- records ----

def predict_log(pl, types, model, signature, alias, values):
    log = pl.PredictionLog()
    req = log.predict_log.request
    req.model_spec.name = model
    if signature:
        req.model_spec.signature_name = signature
    t = req.inputs[alias]
    t.dtype = types.DT_FLOAT
    t.tensor_shape.dim.add().size = len(values)
    t.float_val.extend(values)
    return log


def regress_log(pl, model, signature, feature, value):
    log = pl.PredictionLog()
    req = log.regress_log.request
    req.model_spec.name = model
    req.model_spec.signature_name = signature
    ex = req.input.example_list.examples.add()
    ex.features.feature[feature].float_list.value.append(value)
    return log


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("version_dir")
    ap.add_argument("--model", default="model")
    ap.add_argument("--predict", action="append", default=[], metavar="ALIAS=V1,V2")
    ap.add_argument("--signature", default="")
    ap.add_argument("--regress", action="append", default=[], metavar="FEATURE=VALUE")
    ap.add_argument("--regress_signature", default="regress_x_to_y")
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--corrupt", action="store_true")
    a = ap.parse_args(argv)
    pl, types = load_protos()
    logs = []
    for spec in a.predict:
        alias, _, vals = spec.partition("=")
        logs.append(predict_log(pl, types, a.model, a.signature, alias, [float(v) for v in vals.split(",")]))
    for spec in a.regress:
        feature, _, val = spec.partition("=")
        logs.append(regress_log(pl, a.model, a.regress_signature, feature, float(val)))
    records = [tfrecord(log.SerializeToString()) for log in logs] * a.copies
    if a.corrupt and records:
        last = bytearray(records[-1])
        last[-1] ^= 1
        records[-1] = bytes(last)
    path = os.path.join(a.version_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"".join(records))
    print("wrote %d warmup record(s) to %s" % (len(records), path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
