"""savedmodel_writer.py — write (and read back) TensorFlow SavedModels without TensorFlow.

Building blocks used by tools/gen_models.py and the e2e tests:

  * load_protos()        compiles the repo's proto/ files with protoc --python_out into a temp
                         dir and imports them (returns a namespace of *_pb2 modules).
  * crc32c / mask_crc    CRC-32C (Castagnoli) and LevelDB's masking, table driven.
  * write_sstable()      a LevelDB-format table (as written by TF's tensorflow/core/lib/io):
                         prefix-compressed data blocks with a restart point every 16 keys,
                         raw (type 0) blocks with a masked-crc32c trailer, an empty metaindex,
                         an index block and the 48-byte footer with magic 0xdb4775248b80fb57.
  * write_bundle()       a V2 TensorBundle checkpoint (variables.index + variables.data-*).
  * read_sstable() / read_bundle()  an independent reader used to self-check the writer and by
                         tests to get the weights of generated models back.
  * GraphBuilder / FunctionBuilder  small helpers that emit NodeDefs with typed attrs.

Invariants: output is deterministic (no timestamps, protobuf maps serialized with
deterministic=True); keys in an SSTable are strictly increasing bytewise; all numbers are
little-endian. Only /usr/bin/python3 with numpy + google.protobuf (3.x/4.x) is needed.
"""

import atexit
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import types

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------------------------------------
# protos

_PROTOS = None


def load_protos(proto_dir=None):
    """Generates python bindings for proto/tensorflow/*.proto and imports them (cached)."""
    global _PROTOS
    if _PROTOS is not None:
        return _PROTOS
    proto_dir = proto_dir or os.path.join(REPO, "proto")
    out = tempfile.mkdtemp(prefix="td_pyproto_")
    atexit.register(shutil.rmtree, out, True)
    files = sorted(os.path.join("tensorflow", f) for f in os.listdir(os.path.join(proto_dir, "tensorflow"))
                   if f.endswith(".proto"))
    # google/protobuf/{any,wrappers}.proto come from the installed protobuf package.
    subprocess.run(["protoc", "-I", proto_dir, "--python_out=" + out] + files, check=True)
    sys.path.insert(0, out)
    import importlib
    ns = types.SimpleNamespace()
    for f in files:
        mod = os.path.splitext(os.path.basename(f))[0] + "_pb2"
        setattr(ns, mod[:-4], importlib.import_module("tensorflow." + mod))
    _PROTOS = ns
    return ns


def serialize(msg):
    return msg.SerializeToString(deterministic=True)


# ---------------------------------------------------------------------------------------------
# crc32c + varints

def _make_crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _make_crc_table()


def crc32c(data, crc=0):
    """CRC-32C of data, optionally extending a previous (unmasked) crc."""
    c = crc ^ 0xFFFFFFFF
    t = _CRC_TABLE
    for b in bytes(data):
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def mask_crc(c):
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def unmask_crc(m):
    rot = (m - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(buf, pos):
    shift = result = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("bad varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


# ---------------------------------------------------------------------------------------------
# LevelDB table

TABLE_MAGIC = 0xDB4775248B80FB57
RESTART_INTERVAL = 16


def _common_prefix(a, b):
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def build_block(entries, restart_interval=RESTART_INTERVAL):
    """Block contents (without trailer) for sorted (key, value) byte pairs."""
    buf = bytearray()
    restarts = []
    prev = b""
    for i, (k, v) in enumerate(entries):
        if i % restart_interval == 0:
            restarts.append(len(buf))
            shared = 0
        else:
            shared = _common_prefix(prev, k)
        buf += varint(shared) + varint(len(k) - shared) + varint(len(v)) + k[shared:] + v
        prev = k
    if not restarts:
        restarts = [0]
    for r in restarts:
        buf += struct.pack("<I", r)
    buf += struct.pack("<I", len(restarts))
    return bytes(buf)


def _shortest_separator(start, limit):
    """LevelDB BytewiseComparator::FindShortestSeparator."""
    n = _common_prefix(start, limit)
    if n < min(len(start), len(limit)):
        b = start[n]
        if b < 0xFF and b + 1 < limit[n]:
            return start[:n] + bytes([b + 1])
    return start


def _short_successor(key):
    for i, b in enumerate(key):
        if b != 0xFF:
            return key[:i] + bytes([b + 1])
    return key


def _block_handle(offset, size):
    return varint(offset) + varint(size)


def write_sstable(path, entries, block_size=256 * 1024):
    """Writes sorted (key bytes, value bytes) pairs as a LevelDB table with raw blocks."""
    keys = [k for k, _ in entries]
    if any(a >= b for a, b in zip(keys, keys[1:])):
        raise ValueError("sstable keys must be strictly increasing")
    out = bytearray()

    def emit(contents):
        off = len(out)
        trailer_crc = mask_crc(crc32c(contents + b"\x00"))
        out.extend(contents + b"\x00" + struct.pack("<I", trailer_crc))
        return off, len(contents)

    # split into data blocks of roughly block_size bytes
    blocks, cur, cur_size = [], [], 0
    for k, v in entries:
        cur.append((k, v))
        cur_size += len(k) + len(v) + 3
        if cur_size >= block_size:
            blocks.append(cur)
            cur, cur_size = [], 0
    if cur or not blocks:
        blocks.append(cur)
    index = []
    for bi, blk in enumerate(blocks):
        off, size = emit(build_block(blk))
        last = blk[-1][0] if blk else b""
        if bi + 1 < len(blocks):
            sep = _shortest_separator(last, blocks[bi + 1][0][0])
        else:
            sep = _short_successor(last)
        index.append((sep, _block_handle(off, size)))
    meta_off, meta_size = emit(build_block([]))
    idx_off, idx_size = emit(build_block(index, restart_interval=1))
    footer = _block_handle(meta_off, meta_size) + _block_handle(idx_off, idx_size)
    footer += b"\x00" * (40 - len(footer)) + struct.pack("<Q", TABLE_MAGIC)
    out.extend(footer)
    with open(path, "wb") as f:
        f.write(out)


def _read_block(data, off, size):
    if off + size + 5 > len(data):
        raise ValueError("block out of range")
    contents = data[off:off + size]
    btype = data[off + size]
    (crc,) = struct.unpack_from("<I", data, off + size + 1)
    if unmask_crc(crc) != crc32c(data[off:off + size + 1]):
        raise ValueError("block crc mismatch")
    if btype != 0:
        raise ValueError("compressed block (type %d) not supported by this reader" % btype)
    return contents


def _parse_block(contents):
    (nrestarts,) = struct.unpack_from("<I", contents, len(contents) - 4)
    end = len(contents) - 4 - 4 * nrestarts
    pos, prev, out = 0, b"", []
    while pos < end:
        shared, pos = read_varint(contents, pos)
        non_shared, pos = read_varint(contents, pos)
        vlen, pos = read_varint(contents, pos)
        key = prev[:shared] + contents[pos:pos + non_shared]
        pos += non_shared
        out.append((key, contents[pos:pos + vlen]))
        pos += vlen
        prev = key
    return out


def read_sstable(path):
    """Returns [(key, value)] of a raw-block LevelDB table (verifies crcs and magic)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 48:
        raise ValueError("table too short")
    footer = data[-48:]
    if struct.unpack_from("<Q", footer, 40)[0] != TABLE_MAGIC:
        raise ValueError("bad table magic")
    pos = 0
    _, pos = read_varint(footer, pos)
    _, pos = read_varint(footer, pos)
    idx_off, pos = read_varint(footer, pos)
    idx_size, pos = read_varint(footer, pos)
    out = []
    for _, handle in _parse_block(_read_block(data, idx_off, idx_size)):
        off, p = read_varint(handle, 0)
        size, _ = read_varint(handle, p)
        out.extend(_parse_block(_read_block(data, off, size)))
    return out


# ---------------------------------------------------------------------------------------------
# TensorBundle

NP_TO_DT = {np.dtype("float32"): 1, np.dtype("float64"): 2, np.dtype("int32"): 3, np.dtype("uint8"): 4,
            np.dtype("int16"): 5, np.dtype("int8"): 6, np.dtype("int64"): 9, np.dtype("bool"): 10}
DT_STRING = 7
DT_RESOURCE = 20
DT_TO_NP = {v: k for k, v in NP_TO_DT.items()}


def _string_tensor_bytes(strings):
    lengths = bytearray()
    crc = 0
    for s in strings:
        lengths += varint(len(s))
        crc = crc32c(struct.pack("<I", len(s)) if len(s) <= 0xFFFFFFFF else struct.pack("<Q", len(s)), crc)
    len_crc = struct.pack("<I", mask_crc(crc))
    crc = crc32c(len_crc, crc)
    body = b"".join(strings)
    crc = crc32c(body, crc)
    return bytes(lengths) + len_crc + body, crc


def write_bundle(prefix, tensors, num_shards=1, shard_of=None):
    """Writes <prefix>.index and <prefix>.data-SSSSS-of-NNNNN.

    tensors: list of (key, value) where value is a numpy array (numeric) or a list/tuple of
    bytes (a 1-D DT_STRING tensor) or a bytes object (a scalar DT_STRING tensor).
    shard_of(key) -> shard id (default 0). Tensors go into the data files in list order."""
    pb = load_protos()
    datas = [bytearray() for _ in range(num_shards)]
    entries = {}
    for key, value in tensors:
        shard = shard_of(key) if shard_of else 0
        e = pb.tensor_bundle.BundleEntryProto()
        if isinstance(value, (bytes, list, tuple)):
            strings = [value] if isinstance(value, bytes) else list(value)
            raw, crc = _string_tensor_bytes(strings)
            e.dtype = DT_STRING
            e.shape.SetInParent()
            if not isinstance(value, bytes):
                e.shape.dim.add().size = len(strings)
        else:
            arr = np.asarray(value)  # (ascontiguousarray would turn scalars into [1])
            arr = np.require(arr.astype(arr.dtype.newbyteorder("<"), copy=False), requirements="C")
            raw = arr.tobytes()
            crc = crc32c(raw)
            e.dtype = NP_TO_DT[arr.dtype.newbyteorder("=")]
            e.shape.SetInParent()  # TF always writes the shape field, even for scalars
            for d in arr.shape:
                e.shape.dim.add().size = d
        e.shard_id = shard
        e.offset = len(datas[shard])
        e.size = len(raw)
        e.crc32c = mask_crc(crc)
        datas[shard].extend(raw)
        entries[key.encode()] = serialize(e)
    header = pb.tensor_bundle.BundleHeaderProto(num_shards=num_shards)
    header.version.producer = 1
    table = [(b"", serialize(header))] + sorted(entries.items())
    write_sstable(prefix + ".index", table)
    for i, d in enumerate(datas):
        with open("%s.data-%05d-of-%05d" % (prefix, i, num_shards), "wb") as f:
            f.write(d)


def read_bundle(prefix):
    """Returns {key: numpy array | list of bytes} for a bundle written with raw index blocks."""
    pb = load_protos()
    table = read_sstable(prefix + ".index")
    if not table or table[0][0] != b"":
        raise ValueError("missing bundle header")
    header = pb.tensor_bundle.BundleHeaderProto.FromString(table[0][1])
    files = {}
    out = {}
    for key, val in table[1:]:
        e = pb.tensor_bundle.BundleEntryProto.FromString(val)
        if e.shard_id not in files:
            with open("%s.data-%05d-of-%05d" % (prefix, e.shard_id, header.num_shards), "rb") as f:
                files[e.shard_id] = f.read()
        raw = files[e.shard_id][e.offset:e.offset + e.size]
        shape = [d.size for d in e.shape.dim]
        if e.dtype == DT_STRING:
            n = int(np.prod(shape)) if shape else 1
            pos, lens = 0, []
            for _ in range(n):
                ln, pos = read_varint(raw, pos)
                lens.append(ln)
            pos += 4
            strs = []
            for ln in lens:
                strs.append(bytes(raw[pos:pos + ln]))
                pos += ln
            _, crc = _string_tensor_bytes(strs)
            value = strs
        else:
            crc = crc32c(raw)
            value = np.frombuffer(raw, dtype=DT_TO_NP[e.dtype].newbyteorder("<")).reshape(shape)
        if mask_crc(crc) != e.crc32c:
            raise ValueError("crc mismatch for %r" % key)
        out[key.decode()] = value
    return out


# ---------------------------------------------------------------------------------------------
# graph building

def tensor_proto(value, dtype=None):
    """TensorProto for a numpy-convertible value or bytes/list of bytes (DT_STRING).
    Scalars and small vectors use the typed *_val fields (as TF does); larger ones tensor_content."""
    pb = load_protos()
    t = pb.tensor.TensorProto()
    if isinstance(value, bytes) or (isinstance(value, (list, tuple)) and value and isinstance(value[0], bytes)) \
            or dtype == DT_STRING:
        arr = np.array(value, dtype=object)
        t.dtype = DT_STRING
        for d in arr.shape:
            t.tensor_shape.dim.add().size = d
        t.string_val.extend(arr.reshape(-1).tolist())
        return t
    arr = np.asarray(value, dtype=DT_TO_NP[dtype] if dtype else None)
    t.dtype = NP_TO_DT[arr.dtype]
    for d in arr.shape:
        t.tensor_shape.dim.add().size = d
    flat = arr.reshape(-1)
    if flat.size > 4:
        t.tensor_content = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    elif arr.dtype == np.float32:
        t.float_val.extend(flat.tolist())
    elif arr.dtype == np.float64:
        t.double_val.extend(flat.tolist())
    elif arr.dtype == np.int64:
        t.int64_val.extend(flat.tolist())
    elif arr.dtype == np.bool_:
        t.bool_val.extend(flat.tolist())
    else:
        t.int_val.extend(flat.tolist())
    return t


def shape_proto(dims, msg=None):
    """dims None = unknown rank; a list of ints (-1 = unknown)."""
    pb = load_protos()
    s = msg if msg is not None else pb.tensor_shape.TensorShapeProto()
    if dims is None:
        s.unknown_rank = True
    else:
        for d in dims:
            s.dim.add().size = d
    return s


class Attr:
    """Tagged attr values: node(..., T=Attr.type(1), shape=Attr.shape([-1, 1]), ...)."""

    def __init__(self, fill):
        self.fill = fill

    @staticmethod
    def type(dt):
        return Attr(lambda a: setattr(a, "type", dt))

    @staticmethod
    def types(dts):
        return Attr(lambda a: (a.list.SetInParent(), a.list.type.extend(dts)))

    @staticmethod
    def shape(dims):
        return Attr(lambda a: (a.shape.SetInParent(), shape_proto(dims, a.shape)))

    @staticmethod
    def shapes(list_of_dims):
        def fill(a):
            a.list.SetInParent()
            for dims in list_of_dims:
                shape_proto(dims, a.list.shape.add())
        return Attr(fill)

    @staticmethod
    def i(v):
        return Attr(lambda a: setattr(a, "i", v))

    @staticmethod
    def ints(vs):
        return Attr(lambda a: (a.list.SetInParent(), a.list.i.extend(vs)))

    @staticmethod
    def f(v):
        return Attr(lambda a: setattr(a, "f", v))

    @staticmethod
    def b(v):
        return Attr(lambda a: setattr(a, "b", v))

    @staticmethod
    def s(v):
        return Attr(lambda a: setattr(a, "s", v.encode() if isinstance(v, str) else v))

    @staticmethod
    def strs(vs):
        return Attr(lambda a: (a.list.SetInParent(), a.list.s.extend([v.encode() for v in vs])))

    @staticmethod
    def tensor(value, dtype=None):
        return Attr(lambda a: a.tensor.CopyFrom(tensor_proto(value, dtype)))

    @staticmethod
    def func(name):
        return Attr(lambda a: setattr(a.func, "name", name))


def fill_node(nd, name, op, inputs=(), device=None, **attrs):
    nd.name = name
    nd.op = op
    nd.input.extend(inputs)
    if device:
        nd.device = device
    for k in sorted(attrs):
        attrs[k].fill(nd.attr[k])
    return nd


class GraphBuilder:
    """Appends NodeDefs to a GraphDef; const() adds a Const with dtype/value attrs."""

    def __init__(self, graph_def):
        self.g = graph_def

    def node(self, name, op, inputs=(), device=None, **attrs):
        return fill_node(self.g.node.add(), name, op, inputs, device, **attrs)

    def const(self, name, value, dtype=None, device=None):
        t = tensor_proto(value, dtype)
        return self.node(name, "Const", (), device, dtype=Attr.type(t.dtype), value=Attr(lambda a: a.tensor.CopyFrom(t)))


class FunctionBuilder:
    """Builds one FunctionDef: args (name, dtype[, handle dtype]), nodes, ret map."""

    def __init__(self, library, name, inputs, outputs, stateful=True):
        self.f = library.function.add()
        sig = self.f.signature
        sig.name = name
        for i, (arg, dt) in enumerate(inputs):
            a = sig.input_arg.add()
            a.name = arg
            a.type = dt
            self.f.arg_attr[i].attr["_user_specified_name"].s = arg.encode()
        for arg, dt in outputs:
            a = sig.output_arg.add()
            a.name = arg
            a.type = dt
        sig.is_stateful = stateful

    def node(self, name, op, inputs=(), **attrs):
        return fill_node(self.f.node_def.add(), name, op, inputs, None, **attrs)

    def const(self, name, value, dtype=None):
        t = tensor_proto(value, dtype)
        return self.node(name, "Const", (), dtype=Attr.type(t.dtype), value=Attr(lambda a: a.tensor.CopyFrom(t)))

    def ret(self, arg, tensor):
        self.f.ret[arg] = tensor

    def control_ret(self, name):
        self.f.signature.control_output.append(name)
        self.f.control_ret[name] = name


def tensor_info(ti, name, dtype, dims):
    """Fills a TensorInfo: dims None = unknown rank, "scalar" handled by []."""
    ti.name = name
    ti.dtype = dtype
    shape_proto(dims, ti.tensor_shape)
    return ti
