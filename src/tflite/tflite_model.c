/* tflite_model.c — reads a .tflite FlatBuffer into td_tfl_model (see tflite_model.h).
 * Invariant: on success every tensor index held by an operator, subgraph or SignatureDef is
 * in range (or -1 for an omitted optional operator input), every constant's bytes lie inside
 * the file, and a typed constant holds at least numel × element-size bytes. */
#include "tflite/tflite_model.h"

#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "util/mem.h"

static const char *const builtin_names[] = {
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE",
    "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
    "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU",
    "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
    "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB",
    "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP",
    "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM",
    "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE",
    "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT",
    "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT",
    "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL",
    "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS",
    "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU",
    "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE",
    "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM",
    "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D",
    "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE",
    "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "BROADCAST_ARGS",
    "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE",
    "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2",
    "UNSORTED_SEGMENT_MIN", "SIGN",
};

const char *td_tfl_builtin_name(int code) {
  if (code < 0 || (size_t)code >= sizeof builtin_names / sizeof *builtin_names) return NULL;
  return builtin_names[code];
}

static const struct {
  const char *name;
  size_t size;
} types[] = {
    {"FLOAT32", 4}, {"FLOAT16", 2}, {"INT32", 4},     {"UINT8", 1},      {"INT64", 8},   {"STRING", 0},
    {"BOOL", 1},    {"INT16", 2},   {"COMPLEX64", 8}, {"INT8", 1},       {"FLOAT64", 8}, {"COMPLEX128", 16},
    {"UINT64", 8},  {"RESOURCE", 0}, {"VARIANT", 0},  {"UINT32", 4},     {"UINT16", 2},  {"INT4", 0},
    {"BFLOAT16", 2},
};

size_t td_tfl_type_size(int type) {
  return type >= 0 && (size_t)type < sizeof types / sizeof *types ? types[type].size : 0;
}

const char *td_tfl_type_name(int type) {
  return type >= 0 && (size_t)type < sizeof types / sizeof *types ? types[type].name : "UNKNOWN";
}

static char *dup_n(const char *s, size_t n) {
  char *d = td_xmalloc(n + 1);
  if (n) memcpy(d, s, n);
  d[n] = 0;
  return d;
}

static char *fb_strdup(td_fb *fb, const td_fb_table *t, int id) {
  size_t n;
  const char *s = td_fb_string(fb, t, id, &n);
  return dup_n(s ? s : "", s ? n : 0);
}

/* An int vector field as a heap int array (at most max entries). */
static int *int_vec(td_fb *fb, const td_fb_table *t, int id, int *n) {
  td_fb_vec v = td_fb_vector(fb, t, id, 4);
  *n = (int)v.n;
  int *out = td_xcalloc((size_t)v.n + 1, sizeof *out);
  for (uint32_t i = 0; i < v.n && td_fb_ok(fb); i++) out[i] = td_fb_vec_i32(fb, &v, i);
  return out;
}

typedef struct buffer_ref {
  const uint8_t *data;
  size_t len;
} buffer_ref;

static void read_quant(td_fb *fb, const td_fb_table *t, td_tfl_quant *q) {
  td_fb_table qt = td_fb_table_at(fb, t, 4);
  if (!qt.pos) return;
  td_fb_vec sc = td_fb_vector(fb, &qt, 2, 4);
  td_fb_vec zp = td_fb_vector(fb, &qt, 3, 8);
  if (!sc.n || !td_fb_ok(fb)) return;
  q->n = (int)sc.n;
  q->scale = td_xcalloc(sc.n, sizeof *q->scale);
  q->zero_point = td_xcalloc(sc.n, sizeof *q->zero_point);
  for (uint32_t i = 0; i < sc.n; i++) {
    q->scale[i] = td_fb_vec_f32(fb, &sc, i);
    q->zero_point[i] = i < zp.n ? td_fb_vec_i64(fb, &zp, i) : 0;
  }
  q->axis = td_fb_i32(fb, &qt, 6, 0);
}

static td_code read_tensor(td_fb *fb, const td_fb_table *t, const buffer_ref *bufs, uint32_t nbufs, td_tfl_tensor *out,
                           td_status *st) {
  td_fb_vec shape = td_fb_vector(fb, t, 0, 4);
  if (shape.n > TD_TFL_MAX_RANK)
    return td_status_set(st, TD_INVALID_ARGUMENT, "tensor has rank %u, more than %d", shape.n, TD_TFL_MAX_RANK);
  out->rank = (int)shape.n;
  for (uint32_t i = 0; i < shape.n; i++) out->dims[i] = td_fb_vec_i32(fb, &shape, i);
  td_fb_vec sig = td_fb_vector(fb, t, 7, 4);
  if (sig.n && sig.n == shape.n) {
    out->has_signature = 1;
    for (uint32_t i = 0; i < sig.n; i++) out->sig_dims[i] = td_fb_vec_i32(fb, &sig, i);
  }
  out->type = td_fb_i8(fb, t, 1, 0);
  out->name = fb_strdup(fb, t, 3);
  out->is_variable = td_fb_u8(fb, t, 5, 0) != 0;
  uint32_t b = td_fb_u32(fb, t, 2, 0);
  if (b >= nbufs && nbufs > 0)
    return td_status_set(st, TD_INVALID_ARGUMENT, "tensor '%s' refers to buffer %u of %u", out->name, b, nbufs);
  if (b > 0 && b < nbufs && bufs[b].len > 0) {
    out->data = bufs[b].data;
    out->nbytes = bufs[b].len;
  }
  read_quant(fb, t, &out->q);
  for (int i = 0; i < out->rank; i++)
    if (out->dims[i] < 0 && out->data)
      return td_status_set(st, TD_INVALID_ARGUMENT, "constant tensor '%s' has a negative dimension", out->name);
  if (out->data && out->type != TD_TFL_STRING) {
    size_t es = td_tfl_type_size(out->type);
    uint64_t n = 1;
    for (int i = 0; i < out->rank; i++) {
      n *= (uint64_t)out->dims[i];
      if (n > ((uint64_t)1 << 40)) break;
    }
    if (es && n * es > out->nbytes)
      return td_status_set(st, TD_INVALID_ARGUMENT, "constant tensor '%s' holds %zu bytes, its shape needs %llu",
                           out->name, out->nbytes, (unsigned long long)(n * es));
  }
  return TD_OK;
}

static td_code check_index(int idx, int n, int allow_omitted, const char *what, td_status *st) {
  if ((idx == -1 && allow_omitted) || (idx >= 0 && idx < n)) return TD_OK;
  return td_status_set(st, TD_INVALID_ARGUMENT, "%s refers to tensor %d, the subgraph has %d", what, idx, n);
}

typedef struct td_tfl_opcode {
  int builtin, version;
  char *custom;
} opcode;

static td_code read_op(td_fb *fb, const td_fb_table *t, const opcode *codes, uint32_t ncodes, int ntensors,
                       td_tfl_op *op, td_status *st) {
  uint32_t oc = td_fb_u32(fb, t, 0, 0);
  if (oc >= ncodes)
    return td_status_set(st, TD_INVALID_ARGUMENT, "operator refers to opcode %u, the model has %u", oc, ncodes);
  op->builtin = codes[oc].builtin;
  op->version = codes[oc].version;
  op->custom_code = codes[oc].custom;
  op->in = int_vec(fb, t, 1, &op->nin);
  op->out = int_vec(fb, t, 2, &op->nout);
  op->options_type = td_fb_u8(fb, t, 3, 0);
  op->options = td_fb_table_at(fb, t, 4);
  td_fb_vec co = td_fb_vector(fb, t, 5, 1);
  if (co.n) {
    op->custom_options = fb->buf + co.pos;
    op->custom_options_len = co.n;
  }
  if (!td_fb_ok(fb)) return TD_OK; /* reported by the caller */
  for (int i = 0; i < op->nin; i++) TD_TRY(check_index(op->in[i], ntensors, 1, "operator input", st));
  for (int i = 0; i < op->nout; i++) TD_TRY(check_index(op->out[i], ntensors, 0, "operator output", st));
  return TD_OK;
}

static td_code read_subgraph(td_fb *fb, const td_fb_table *t, const buffer_ref *bufs, uint32_t nbufs,
                             const opcode *codes, uint32_t ncodes, td_tfl_subgraph *sg, td_status *st) {
  sg->name = fb_strdup(fb, t, 4);
  td_fb_vec tv = td_fb_vector(fb, t, 0, 4);
  sg->ntensors = (int)tv.n;
  sg->tensors = td_xcalloc((size_t)tv.n + 1, sizeof *sg->tensors);
  for (uint32_t i = 0; i < tv.n && td_fb_ok(fb); i++) {
    td_fb_table tt = td_fb_vec_table(fb, &tv, i);
    if (td_fb_ok(fb)) TD_TRY(read_tensor(fb, &tt, bufs, nbufs, &sg->tensors[i], st));
  }
  sg->in = int_vec(fb, t, 1, &sg->nin);
  sg->out = int_vec(fb, t, 2, &sg->nout);
  for (int i = 0; i < sg->nin && td_fb_ok(fb); i++) TD_TRY(check_index(sg->in[i], sg->ntensors, 0, "subgraph input", st));
  for (int i = 0; i < sg->nout && td_fb_ok(fb); i++)
    TD_TRY(check_index(sg->out[i], sg->ntensors, 0, "subgraph output", st));
  td_fb_vec ov = td_fb_vector(fb, t, 3, 4);
  sg->nops = (int)ov.n;
  sg->ops = td_xcalloc((size_t)ov.n + 1, sizeof *sg->ops);
  for (uint32_t i = 0; i < ov.n && td_fb_ok(fb); i++) {
    td_fb_table ot = td_fb_vec_table(fb, &ov, i);
    if (td_fb_ok(fb)) TD_TRY(read_op(fb, &ot, codes, ncodes, sg->ntensors, &sg->ops[i], st));
  }
  return TD_OK;
}

static td_code read_maps(td_fb *fb, const td_fb_table *t, int id, td_tfl_tensor_map **out, int *n) {
  td_fb_vec v = td_fb_vector(fb, t, id, 4);
  *n = (int)v.n;
  *out = td_xcalloc((size_t)v.n + 1, sizeof **out);
  for (uint32_t i = 0; i < v.n && td_fb_ok(fb); i++) {
    td_fb_table mt = td_fb_vec_table(fb, &v, i);
    (*out)[i].name = fb_strdup(fb, &mt, 0);
    (*out)[i].tensor = (int)td_fb_u32(fb, &mt, 1, 0);
  }
  return TD_OK;
}

static td_code parse(td_tfl_model *m, td_status *st) {
  td_fb *fb = &m->fb;
  td_fb_table root = td_fb_root(fb);
  if (!td_fb_ok(fb)) return TD_DATA_LOSS;
  m->version = td_fb_u32(fb, &root, 0, 0);
  m->description = fb_strdup(fb, &root, 3);
  /* buffers */
  td_fb_vec bv = td_fb_vector(fb, &root, 4, 4);
  buffer_ref *bufs = td_xcalloc((size_t)bv.n + 1, sizeof *bufs);
  for (uint32_t i = 0; i < bv.n && td_fb_ok(fb); i++) {
    td_fb_table bt = td_fb_vec_table(fb, &bv, i);
    td_fb_vec d = td_fb_vector(fb, &bt, 0, 1);
    uint64_t off = td_fb_u64(fb, &bt, 1, 0), size = td_fb_u64(fb, &bt, 2, 0);
    if (d.n) {
      bufs[i].data = fb->buf + d.pos;
      bufs[i].len = d.n;
    } else if (off > 1) {
      if (off > m->len || size > m->len - off) {
        free(bufs);
        return td_status_set(st, TD_DATA_LOSS, "buffer %u lies outside the file (offset %llu, size %llu)", i,
                             (unsigned long long)off, (unsigned long long)size);
      }
      bufs[i].data = m->file + off;
      bufs[i].len = (size_t)size;
    }
  }
  /* operator codes */
  td_fb_vec cv = td_fb_vector(fb, &root, 1, 4);
  opcode *codes = td_xcalloc((size_t)cv.n + 1, sizeof *codes);
  for (uint32_t i = 0; i < cv.n && td_fb_ok(fb); i++) {
    td_fb_table ct = td_fb_vec_table(fb, &cv, i);
    int dep = td_fb_i8(fb, &ct, 0, 0);
    int code = td_fb_i32(fb, &ct, 3, 0);
    codes[i].builtin = code > dep ? code : dep;
    codes[i].version = td_fb_i32(fb, &ct, 2, 1);
    size_t n;
    const char *s = td_fb_string(fb, &ct, 1, &n);
    if (s) codes[i].custom = dup_n(s, n);
  }
  td_code code = TD_OK;
  /* subgraphs */
  td_fb_vec sv = td_fb_vector(fb, &root, 2, 4);
  m->nsub = (int)sv.n;
  m->subs = td_xcalloc((size_t)sv.n + 1, sizeof *m->subs);
  for (uint32_t i = 0; i < sv.n && td_fb_ok(fb) && code == TD_OK; i++) {
    td_fb_table t = td_fb_vec_table(fb, &sv, i);
    if (td_fb_ok(fb)) code = read_subgraph(fb, &t, bufs, bv.n, codes, cv.n, &m->subs[i], st);
    if (code != TD_OK) td_status_prefix(st, "subgraph %u", i);
  }
  /* metadata */
  td_fb_vec mv = td_fb_vector(fb, &root, 6, 4);
  m->meta = td_xcalloc((size_t)mv.n + 1, sizeof *m->meta);
  for (uint32_t i = 0; i < mv.n && td_fb_ok(fb) && code == TD_OK; i++) {
    td_fb_table t = td_fb_vec_table(fb, &mv, i);
    td_tfl_metadata *md = &m->meta[m->nmeta++];
    md->name = fb_strdup(fb, &t, 0);
    uint32_t b = td_fb_u32(fb, &t, 1, 0);
    if (b < bv.n) {
      md->data = bufs[b].data;
      md->len = bufs[b].len;
    }
  }
  /* SignatureDefs */
  td_fb_vec gv = td_fb_vector(fb, &root, 7, 4);
  m->sigdefs = td_xcalloc((size_t)gv.n + 1, sizeof *m->sigdefs);
  for (uint32_t i = 0; i < gv.n && td_fb_ok(fb) && code == TD_OK; i++) {
    td_fb_table t = td_fb_vec_table(fb, &gv, i);
    td_tfl_sigdef *sd = &m->sigdefs[m->nsigdefs++];
    read_maps(fb, &t, 0, &sd->in, &sd->nin);
    read_maps(fb, &t, 1, &sd->out, &sd->nout);
    sd->key = fb_strdup(fb, &t, 2);
    sd->subgraph = (int)td_fb_u32(fb, &t, 4, 0);
    if (!td_fb_ok(fb)) break;
    if (sd->subgraph < 0 || sd->subgraph >= m->nsub) {
      code = td_status_set(st, TD_INVALID_ARGUMENT, "SignatureDef '%s' refers to subgraph %d of %d", sd->key,
                           sd->subgraph, m->nsub);
      break;
    }
    const td_tfl_subgraph *sg = &m->subs[sd->subgraph];
    for (int k = 0; k < sd->nin && code == TD_OK; k++) code = check_index(sd->in[k].tensor, sg->ntensors, 0, "SignatureDef input", st);
    for (int k = 0; k < sd->nout && code == TD_OK; k++) code = check_index(sd->out[k].tensor, sg->ntensors, 0, "SignatureDef output", st);
  }
  free(bufs);
  m->_codes = codes; /* ops point at the custom-code strings; freed with the model */
  m->_ncodes = (int)cv.n;
  if (code != TD_OK) return code;
  if (!td_fb_ok(fb)) return TD_DATA_LOSS;
  if (m->version != 3)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Model provided has model identifier '%u', should be '3'", m->version);
  if (m->nsub < 1) return td_status_set(st, TD_INVALID_ARGUMENT, "the model has no subgraphs");
  return TD_OK;
}

td_code td_tfl_model_parse(const void *bytes, size_t len, const char *what, td_tfl_model **out, td_status *st) {
  *out = NULL;
  td_tfl_model *m = td_xcalloc(1, sizeof *m);
  m->file = td_xmalloc(len + 1);
  if (len) memcpy(m->file, bytes, len);
  m->len = len;
  td_fb_init(&m->fb, m->file, len);
  td_code code = parse(m, st);
  if (code == TD_DATA_LOSS && m->fb.bad)
    code = td_status_set(st, TD_DATA_LOSS, "Failed to parse TFLite model %s: %s", what, m->fb.why);
  else if (code != TD_OK)
    td_status_prefix(st, "Invalid TFLite model %s", what);
  if (code != TD_OK) {
    td_tfl_model_free(m);
    return code;
  }
  *out = m;
  return TD_OK;
}

td_code td_tfl_model_read(const char *path, td_tfl_model **out, td_status *st) {
  char *data;
  size_t len;
  *out = NULL;
  TD_TRY(td_read_file(path, &data, &len, st));
  td_code code = td_tfl_model_parse(data, len, path, out, st);
  free(data);
  return code;
}

void td_tfl_model_free(td_tfl_model *m) {
  if (!m) return;
  for (int i = 0; i < m->nsub; i++) {
    td_tfl_subgraph *sg = &m->subs[i];
    for (int k = 0; k < sg->ntensors; k++) {
      free(sg->tensors[k].name);
      free(sg->tensors[k].q.scale);
      free(sg->tensors[k].q.zero_point);
    }
    for (int k = 0; k < sg->nops; k++) {
      free(sg->ops[k].in);
      free(sg->ops[k].out);
    }
    free(sg->tensors);
    free(sg->ops);
    free(sg->in);
    free(sg->out);
    free(sg->name);
  }
  free(m->subs);
  for (int i = 0; i < m->nmeta; i++) free(m->meta[i].name);
  free(m->meta);
  for (int i = 0; i < m->nsigdefs; i++) {
    td_tfl_sigdef *sd = &m->sigdefs[i];
    for (int k = 0; k < sd->nin; k++) free(sd->in[k].name);
    for (int k = 0; k < sd->nout; k++) free(sd->out[k].name);
    free(sd->in);
    free(sd->out);
    free(sd->key);
  }
  free(m->sigdefs);
  for (int i = 0; i < m->_ncodes; i++) free(m->_codes[i].custom);
  free(m->_codes);
  free(m->description);
  free(m->file);
  free(m);
}

const td_tfl_metadata *td_tfl_model_metadata(const td_tfl_model *m, const char *name) {
  for (int i = 0; i < m->nmeta; i++)
    if (!strcmp(m->meta[i].name, name)) return &m->meta[i];
  return NULL;
}
