/* rest_predict.c — predict request JSON → input tensors (TF Serving json_tensor.cc
 * FillPredictRequestFromJson, §1.6 of the API reference).
 *
 * td_rest_predict_scan validates the whole body once (skipping is iterative, so any
 * nesting depth is fine) and records the instances / inputs span. The conversion then
 * walks that span: a value's dense shape comes from descending into element [0] at each
 * level, and leaves are parsed straight into the tensor buffer.
 *
 * Fast path / exact path: values are first filled optimistically (list sizes checked as
 * they are seen). Only when that fails is the value walked again in TF's exact order
 * (each list's size checked before its elements, nothing written) to produce TF's error
 * text. Shapes are capped at TD_MAX_RANK dims, which also bounds every loop's depth.
 * Invariant: a tensor is only allocated when its element count is at most the body size
 * (each leaf needs at least one byte), and every tensor and string copy is charged to the
 * request's budget (req->budget, util/budget.h) before it is allocated.
 */
#include <math.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "http/rest_fast.h"
#include "http/rest_json_internal.h"
#include "util/mem.h"

/* ---- scan ---- */
void td_rest_predict_req_free(td_rest_predict_req *req) {
  free(req->signature_name);
  req->signature_name = NULL;
  td_rest_fast_release(req->fast_doc);
  req->fast_doc = NULL;
}

static td_code scan_slow(const char *body, size_t len, td_rest_predict_req *req, td_status *st);

/* The fast path first (simdjson, http/rest_fast.h); the pull reader for everything else. */
td_code td_rest_predict_scan(const char *body, size_t len, td_rest_predict_req *req, td_status *st) {
  td_rest_fast_scan_result f;
  if (!td_rest_fast_scan(body, len, &f)) return scan_slow(body, len, req, st);
  memset(req, 0, sizeof *req);
  req->body = body;
  req->len = len;
  req->fast_doc = f.doc;
  if (f.signature_name) req->signature_name = td_xstrndup(f.signature_name, f.signature_len);
  req->row_format = f.has_instances;
  req->num_instances = f.instances_array ? f.num_instances : 0;
  if (f.has_instances && f.has_inputs) req->layout_error = TD_REST_BOTH_KEYS;
  else if (!f.has_instances && !f.has_inputs) req->layout_error = TD_REST_NO_KEY;
  return TD_OK;
}

static td_code scan_slow(const char *body, size_t len, td_rest_predict_req *req, td_status *st) {
  memset(req, 0, sizeof *req);
  req->body = body;
  req->len = len;
  if (len == 0) return td_status_set(st, TD_INVALID_ARGUMENT, "JSON Parse error: The document is empty"); /* TF: no offset */
  td_json_reader r;
  td_json_reader_init(&r, body, len);
  td_code code = TD_OK;
  int t = td_json_peek(&r);
  if (t == TD_JSON_OBJECT) {
    td_json_iter it = TD_JSON_ITER_INIT;
    td_json_str key;
    int has_sig = 0, bad_sig = 0, has_instances = 0, has_inputs = 0, more;
    while ((more = td_json_object_next(&r, &it, &key)) == 1) {
      if (!has_sig && rest_key_eq(&key, "signature_name")) {
        has_sig = 1;
        td_json_str name;
        if (td_json_peek(&r) == TD_JSON_STRING && td_json_read_string(&r, &name) == 0) {
          req->signature_name = td_xstrndup(name.data, name.len);
          continue;
        }
        bad_sig = 1;
      } else if (!has_instances && rest_key_eq(&key, "instances")) {
        has_instances = 1;
        req->row_format = 1;
        if (td_json_peek(&r) != TD_JSON_ARRAY) {
          if (td_json_skip_span(&r, &req->value_start, &req->value_end) != 0) break;
          continue;
        }
        /* One pass: count the instances while skipping them. */
        req->value_start = td_json_offset(&r);
        td_json_iter elems = TD_JSON_ITER_INIT;
        int elem;
        while ((elem = td_json_array_next(&r, &elems)) == 1 && td_json_skip(&r) == 0) req->num_instances++;
        if (elem != 0) break;
        req->value_end = td_json_offset(&r);
        continue;
      } else if (!has_inputs && rest_key_eq(&key, "inputs")) {
        has_inputs = 1;
        size_t s, e;
        if (td_json_skip_span(&r, &s, &e) != 0) break;
        if (!has_instances) {
          req->value_start = s;
          req->value_end = e;
        }
        continue;
      }
      if (td_json_skip(&r) != 0) break;
    }
    if (more != 0 || r.err) code = td_json_error_status(&r, st);
    else if (bad_sig) code = td_status_set(st, TD_INVALID_ARGUMENT, "'signature_name' key must be a string value.");
    else if (has_instances && has_inputs) req->layout_error = TD_REST_BOTH_KEYS;
    else if (!has_instances && !has_inputs) req->layout_error = TD_REST_NO_KEY;
  } else if (t >= 0) {
    const char *save = r.p;
    if (td_json_skip(&r) != 0) {
      code = td_json_error_status(&r, st);
    } else {
      r.p = save;
      td_buf text;
      td_buf_init(&text);
      rest_value_text(&r, &text);
      code = td_status_set(st, TD_INVALID_ARGUMENT, "JSON Value: %s Is not object", text.data ? text.data : "");
      td_buf_release(&text);
    }
  } else {
    code = td_json_error_status(&r, st);
  }
  td_json_reader_free(&r);
  if (code != TD_OK) td_rest_predict_req_free(req);
  return code;
}

/* ---- leaves: one JSON value → one tensor element ---- */
typedef struct fill_ctx {
  td_json_reader *r;
  td_dtype dtype;
  td_tensor *t; /* NULL: validate only */
  td_buf *scratch;
  td_budget *budget; /* string bytes are charged here (NULL: unbudgeted) */
} fill_ctx;

typedef td_code (*leaf_fn)(fill_ctx *c, int type, int64_t idx, td_status *st);

static td_code value_error(fill_ctx *c, td_code code, const char *fmt_before, const char *fmt_after, td_status *st) {
  td_buf text;
  td_buf_init(&text);
  rest_value_text(c->r, &text);
  code = td_status_set(st, code, "%s%s%s", fmt_before, text.data ? text.data : "", fmt_after);
  td_buf_release(&text);
  return code;
}

static td_code type_error(fill_ctx *c, int type, td_status *st) {
  char after[128];
  snprintf(after, sizeof after, " Type: %s is not of expected type: %s", td_json_type_name((td_json_type)type),
           td_dtype_name(c->dtype));
  return value_error(c, TD_INVALID_ARGUMENT, "JSON Value: ", after, st);
}

static td_code read_number(fill_ctx *c, int type, td_json_number *n, td_status *st) {
  if (type != TD_JSON_NUMBER) return type_error(c, type, st);
  if (td_json_read_number(c->r, n) != 0) return td_json_error_status(c->r, st);
  return TD_OK;
}

/* double → float without undefined behaviour for out-of-range values (IEEE rounding). */
static float to_float(double d) {
  if (d >= 0x1.ffffffp127) return INFINITY;
  if (d <= -0x1.ffffffp127) return -INFINITY;
  return (float)d;
}

static td_code leaf_float(fill_ctx *c, int type, int64_t idx, td_status *st) {
  td_json_number n;
  if (type != TD_JSON_NUMBER || !td_json_read_plain_double(c->r, &n.d)) TD_TRY(read_number(c, type, &n, st));
  if (c->t) td_f32(c->t)[idx] = to_float(n.d);
  return TD_OK;
}

static td_code leaf_double(fill_ctx *c, int type, int64_t idx, td_status *st) {
  td_json_number n;
  if (type != TD_JSON_NUMBER || !td_json_read_plain_double(c->r, &n.d)) TD_TRY(read_number(c, type, &n, st));
  if (c->t) td_f64(c->t)[idx] = n.d;
  return TD_OK;
}

/* Integer leaves: accept(number) decides, then the value is stored with C conversion
 * (TF stores 8/16-bit types through int_val without a range check). */
#define INT_LEAF(fn, ctype, accept, value)                                                  \
  static td_code fn(fill_ctx *c, int type, int64_t idx, td_status *st) {                   \
    td_json_number n;                                                                       \
    if (type != TD_JSON_NUMBER) return type_error(c, type, st);                             \
    const char *save = c->r->p;                                                             \
    if (td_json_read_number(c->r, &n) != 0) return td_json_error_status(c->r, st);          \
    if (!accept(&n)) {                                                                      \
      c->r->p = save;                                                                       \
      return type_error(c, type, st);                                                       \
    }                                                                                       \
    if (c->t) ((ctype *)c->t->data)[idx] = (ctype)value(&n);                                \
    return TD_OK;                                                                           \
  }
INT_LEAF(leaf_int32, int32_t, td_json_number_is_int32, td_json_number_int64)
INT_LEAF(leaf_int16, int16_t, td_json_number_is_int32, td_json_number_int64)
INT_LEAF(leaf_int8, int8_t, td_json_number_is_int32, td_json_number_int64)
INT_LEAF(leaf_uint8, uint8_t, td_json_number_is_int32, td_json_number_int64)
INT_LEAF(leaf_int64, int64_t, td_json_number_is_int64, td_json_number_int64)
INT_LEAF(leaf_uint32, uint32_t, td_json_number_is_uint32, td_json_number_uint64)
INT_LEAF(leaf_uint64, uint64_t, td_json_number_is_uint64, td_json_number_uint64)

static td_code leaf_bool(fill_ctx *c, int type, int64_t idx, td_status *st) {
  if (type != TD_JSON_TRUE && type != TD_JSON_FALSE) return type_error(c, type, st);
  td_json_type lit;
  if (td_json_read_literal(c->r, &lit) != 0) return td_json_error_status(c->r, st);
  if (c->t) td_u8(c->t)[idx] = lit == TD_JSON_TRUE;
  return TD_OK;
}

static td_code leaf_string(fill_ctx *c, int type, int64_t idx, td_status *st) {
  if (type == TD_JSON_STRING) {
    td_json_str s;
    if (td_json_read_string(c->r, &s) != 0) return td_json_error_status(c->r, st);
    if (c->t) TD_TRY(td_budget_charge(c->budget, 1, (int64_t)s.len + 1, "a string value", st));
    if (c->t) td_tensor_set_string(c->t, idx, s.data, s.len);
    return TD_OK;
  }
  if (type != TD_JSON_OBJECT) return type_error(c, type, st);
  if (!rest_is_b64_object(c->r))
    return value_error(c, TD_INVALID_ARGUMENT, "JSON Value: ", " not formatted correctly for base64 data", st);
  TD_TRY(rest_read_b64_object(c->r, c->scratch, st));
  if (c->t) TD_TRY(td_budget_charge(c->budget, 1, (int64_t)c->scratch->len + 1, "a base64 string value", st));
  if (c->t) td_tensor_set_string(c->t, idx, c->scratch->data, c->scratch->len);
  return TD_OK;
}

static td_code leaf_unimplemented(fill_ctx *c, int type, int64_t idx, td_status *st) {
  char after[96];
  snprintf(after, sizeof after, " to type: %s", td_dtype_name(c->dtype));
  return value_error(c, TD_UNIMPLEMENTED, "Conversion of JSON Value: ", after, st);
}

static const struct {
  td_dtype dtype;
  leaf_fn fn;
} leaf_table[] = {
    {TD_DT_FLOAT, leaf_float},   {TD_DT_DOUBLE, leaf_double}, {TD_DT_INT32, leaf_int32},
    {TD_DT_INT16, leaf_int16},   {TD_DT_INT8, leaf_int8},     {TD_DT_UINT8, leaf_uint8},
    {TD_DT_INT64, leaf_int64},   {TD_DT_UINT32, leaf_uint32}, {TD_DT_UINT64, leaf_uint64},
    {TD_DT_BOOL, leaf_bool},     {TD_DT_STRING, leaf_string},
};

static leaf_fn leaf_for(td_dtype dt) {
  for (size_t i = 0; i < sizeof leaf_table / sizeof *leaf_table; i++)
    if (leaf_table[i].dtype == dt) return leaf_table[i].fn;
  return leaf_unimplemented;
}

/* ---- shapes and the tensor walk ---- */
/* TF's GetDenseTensorShape: descend into element [0] while it is a list. */
static td_code dense_shape(td_json_reader *r, td_shape *shape, td_status *st) {
  const char *save = r->p;
  shape->rank = 0;
  td_code code = TD_OK;
  while (td_json_peek(r) == TD_JSON_ARRAY) {
    if (shape->rank == TD_MAX_RANK) {
      code = td_status_set(st, TD_INVALID_ARGUMENT, "JSON list nesting exceeds the maximum tensor rank: %d",
                           TD_MAX_RANK);
      break;
    }
    long long n = rest_count_elements(r);
    shape->dim[shape->rank++] = n;
    if (n == 0) break;
    td_json_iter it = TD_JSON_ITER_INIT;
    (void)td_json_array_next(r, &it); /* step into element [0] */
  }
  r->p = save;
  return code;
}

static td_code size_error(long long got, int level, long long want, td_status *st) {
  return td_status_set(st, TD_INVALID_ARGUMENT, "Encountered list at unexpected size: %lld at level: %d expected size: %lld",
                       got, level, want);
}

/* TF's FillTensorProto for the value at the reader against shape, leaves going to
 * elements [base, base + num_elements(shape)). exact: TF's check order, no fast exits. */
static td_code fill_walk(fill_ctx *c, leaf_fn leaf, const td_shape *shape, int64_t base, int exact, td_status *st) {
  td_json_reader *r = c->r;
  td_json_iter it[TD_MAX_RANK];
  int64_t seen[TD_MAX_RANK];
  int64_t idx = base;
  int level = 0;
  for (;;) {
    int type = td_json_peek(r);
    if (type < 0) return td_json_error_status(r, st);
    if (type == TD_JSON_ARRAY) {
      if (level >= shape->rank)
        return td_status_set(st, TD_INVALID_ARGUMENT, "Encountered list at unexpected level: %d expected < %d", level,
                             shape->rank);
      if (exact) {
        long long n = rest_count_elements(r);
        if (n != shape->dim[level]) return size_error(n, level, shape->dim[level], st);
      }
      it[level] = (td_json_iter)TD_JSON_ITER_INIT;
      seen[level] = 0;
      if (td_json_array_next(r, &it[level]) == 1) {
        if (shape->dim[level] == 0) return size_error(-1, level, 0, st); /* fast path only */
        seen[level] = 1;
        level++;
        continue;
      }
      if (shape->dim[level] != 0) return size_error(0, level, shape->dim[level], st);
    } else {
      if (level != shape->rank) {
        char after[96];
        snprintf(after, sizeof after, " found at incorrect level: %d in the JSON DOM. Expected at level: %d", level + 1,
                 shape->rank);
        return value_error(c, TD_INVALID_ARGUMENT, "JSON Value: ", after, st);
      }
      TD_TRY(leaf(c, type, idx, st));
      idx++;
    }
    /* The value at `level` is complete: advance the enclosing lists. */
    for (;;) {
      if (level == 0) return TD_OK;
      int more = td_json_array_next(r, &it[level - 1]);
      if (more < 0) return td_json_error_status(r, st);
      if (more) {
        if (seen[level - 1] >= shape->dim[level - 1]) return size_error(-1, level - 1, shape->dim[level - 1], st);
        seen[level - 1]++;
        break;
      }
      if (seen[level - 1] != shape->dim[level - 1]) return size_error(seen[level - 1], level - 1, shape->dim[level - 1], st);
      level--;
    }
  }
}

/* Fills the value at the reader (against shape) into c->t at base; on failure re-walks it
 * in TF's exact order for TF's error text. Leaves the reader after the value on success. */
static td_code fill_value(fill_ctx *c, leaf_fn leaf, const td_shape *shape, int64_t base, td_status *st) {
  const char *start = c->r->p;
  td_code code = fill_walk(c, leaf, shape, base, 0, st);
  if (code == TD_OK) return TD_OK;
  c->r->p = start;
  td_tensor *t = c->t;
  c->t = NULL;
  td_status exact;
  td_status_clear(&exact);
  td_code exact_code = fill_walk(c, leaf, shape, base, 1, &exact);
  c->t = t;
  if (exact_code != TD_OK) {
    if (st) *st = exact;
    return exact_code;
  }
  return code;
}

static int64_t shape_elements(const td_shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->dim[i] != 0 && n > INT64_MAX / s->dim[i]) return INT64_MAX;
    n *= s->dim[i];
  }
  return n;
}

/* ---- columnar ("inputs") ---- */
/* The error for a tensor that was never allocated although its walk succeeded. */
static td_code unallocated_error(td_dtype dtype, td_status *st) {
  if (!td_dtype_size(dtype))
    return td_status_set(st, TD_UNIMPLEMENTED, "Conversion of JSON Value to type: %s", td_dtype_name(dtype));
  return td_status_set(st, TD_RESOURCE_EXHAUSTED, "Request tensor is too large");
}

/* Allocates t (dtype, shape) unless its element count exceeds the body size (then the
 * request must be malformed) or the dtype has no storage; t then stays zeroed and the walk
 * runs in validate-only mode. The tensor's bytes are charged to the budget first (over it:
 * the budget's error; string bytes are charged as they are copied). */
static td_code alloc_bounded(td_tensor *t, td_dtype dtype, const td_shape *shape, const td_rest_predict_req *req,
                             const char *alias, td_status *st) {
  memset(t, 0, sizeof *t);
  int64_t n = shape_elements(shape);
  if (!td_dtype_size(dtype) || n > (int64_t)req->len) return TD_OK;
  char what[160];
  snprintf(what, sizeof what, "input '%.100s'", alias);
  TD_TRY(td_budget_charge(req->budget, n, (int64_t)td_dtype_size(dtype), what, st));
  return td_tensor_alloc(t, dtype, shape, st);
}

static td_code fill_whole(td_json_reader *r, const td_rest_predict_req *req, const td_sig_tensor *info,
                          td_tensor *out, td_buf *scratch, td_status *st) {
  td_dtype dtype = info->dtype;
  td_shape shape;
  TD_TRY(dense_shape(r, &shape, st));
  TD_TRY(alloc_bounded(out, dtype, &shape, req, info->alias, st));
  fill_ctx c = {r, dtype, out->buf ? out : NULL, scratch, req->budget};
  TD_TRY(fill_value(&c, leaf_for(dtype), &shape, 0, st));
  return c.t ? TD_OK : unallocated_error(dtype, st);
}

static td_code columnar_inputs(td_json_reader *r, const td_rest_predict_req *req, const td_signature *sig,
                               td_named_tensor *in, int *n, td_buf *scratch, td_status *st) {
  if (td_json_peek(r) != TD_JSON_OBJECT || rest_is_b64_object(r)) {
    if (sig->num_inputs > 1)
      return td_status_set(st, TD_INVALID_ARGUMENT,
                           "inputs is a plain value/list, but expecting an object as multiple input tensors required "
                           "as per tensorinfo_map");
    in[0].name = sig->inputs[0].alias;
    *n = 1;
    return fill_whole(r, req, &sig->inputs[0], &in[0].tensor, scratch, st);
  }
  const char *object = r->p;
  for (int j = 0; j < sig->num_inputs; j++) {
    const char *alias = sig->inputs[j].alias;
    r->p = object;
    td_json_iter it = TD_JSON_ITER_INIT;
    td_json_str key;
    int found = 0, more;
    while ((more = td_json_object_next(r, &it, &key)) == 1) {
      if (rest_key_eq(&key, alias)) { found = 1; break; }
      if (td_json_skip(r) != 0) break;
    }
    if (!found) return td_status_set(st, TD_INVALID_ARGUMENT, "Missing named input: %s in 'inputs' object.", alias);
    in[j].name = alias;
    *n = j + 1;
    TD_TRY(fill_whole(r, req, &sig->inputs[j], &in[j].tensor, scratch, st));
  }
  return TD_OK;
}

/* ---- row ("instances") ---- */
typedef struct row_input {
  int started;     /* instance shape known */
  int seen;        /* present in the current element */
  td_shape inst;   /* instance shape (from the first instance) */
  int64_t inst_size;
} row_input;

/* TF's AddInstanceItem for instance i of input j. */
static td_code add_instance_item(td_json_reader *r, const td_rest_predict_req *req, const td_sig_tensor *info,
                                 row_input *ri, td_tensor *t, long long i, td_buf *scratch, td_status *st) {
  leaf_fn leaf = leaf_for(info->dtype);
  fill_ctx c = {r, info->dtype, NULL, scratch, req->budget};
  if (!ri->started) {
    TD_TRY(dense_shape(r, &ri->inst, st));
    if (ri->inst.rank + 1 > TD_MAX_RANK)
      return td_status_set(st, TD_INVALID_ARGUMENT, "JSON list nesting exceeds the maximum tensor rank: %d",
                           TD_MAX_RANK);
    ri->started = 1;
    ri->inst_size = shape_elements(&ri->inst);
    td_shape full = {.rank = ri->inst.rank + 1};
    full.dim[0] = req->num_instances;
    memcpy(full.dim + 1, ri->inst.dim, sizeof(int64_t) * (size_t)ri->inst.rank);
    if (ri->inst_size != INT64_MAX) TD_TRY(alloc_bounded(t, info->dtype, &full, req, info->alias, st));
  }
  c.t = t->buf ? t : NULL;
  const char *start = r->p;
  int64_t base = ri->inst_size == INT64_MAX ? 0 : (int64_t)i * ri->inst_size;
  if (fill_walk(&c, leaf, &ri->inst, base, 0, NULL) == TD_OK) return TD_OK;
  /* TF's order: this instance's own shape, its fill errors, then size / shape vs the first. */
  r->p = start;
  c.t = NULL;
  td_shape own;
  TD_TRY(dense_shape(r, &own, st));
  TD_TRY(fill_walk(&c, leaf, &own, 0, 1, st));
  int64_t own_size = shape_elements(&own);
  if (own_size != ri->inst_size)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Expecting tensor size: %lld but got: %lld", (long long)ri->inst_size,
                         (long long)own_size);
  char a[256], b[256];
  return td_status_set(st, TD_INVALID_ARGUMENT, "Expecting shape %s but got: %s", td_shape_str(&ri->inst, a, sizeof a),
                       td_shape_str(&own, b, sizeof b));
}

static td_code wrap_element_error(long long i, const char *key, size_t key_len, td_status *inner, td_status *st) {
  if (key)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Failed to process element: %lld key: %.*s of 'instances' list. Error: %s: %s",
                         i, (int)key_len, key, td_code_name(inner->code), inner->msg);
  return td_status_set(st, TD_INVALID_ARGUMENT, "Failed to process element: %lld of 'instances' list. Error: %s: %s", i,
                       td_code_name(inner->code), inner->msg);
}

static int is_element_object(td_json_reader *r) {
  return td_json_peek(r) == TD_JSON_OBJECT && !rest_is_b64_object(r);
}

static int find_input(const td_signature *sig, const td_json_str *key) {
  for (int j = 0; j < sig->num_inputs; j++)
    if (rest_key_eq(key, sig->inputs[j].alias)) return j;
  return -1;
}

static td_code keys_error(td_json_reader *r, const char *element, long long i, const td_signature *sig, td_status *st) {
  td_buf text, names;
  td_buf_init(&text);
  td_buf_init(&names);
  const char *save = r->p;
  r->p = element;
  rest_value_text(r, &text);
  r->p = save;
  for (int j = 0; j < sig->num_inputs; j++) {
    if (j) td_buf_putc(&names, ',');
    td_buf_puts(&names, sig->inputs[j].alias);
  }
  td_code code = td_status_set(st, TD_INVALID_ARGUMENT,
                               "Failed to process element: %lld of 'instances' list. JSON object: %s keys must be equal "
                               "to: %s",
                               i, text.data ? text.data : "", names.data ? names.data : "");
  td_buf_release(&text);
  td_buf_release(&names);
  return code;
}

static td_code row_inputs(td_json_reader *r, const td_rest_predict_req *req, const td_signature *sig,
                          td_named_tensor *in, int *n, td_buf *scratch, td_status *st) {
  if (td_json_peek(r) != TD_JSON_ARRAY)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Expecting 'instances' to be an list/array");
  if (req->num_instances == 0) return td_status_set(st, TD_INVALID_ARGUMENT, "No values in 'instances' array");
  td_json_iter it = TD_JSON_ITER_INIT;
  (void)td_json_array_next(r, &it);
  int objects = is_element_object(r);
  if (!objects && sig->num_inputs > 1)
    return td_status_set(st, TD_INVALID_ARGUMENT,
                         "instances is a plain list, but expecting list of objects as multiple input tensors required "
                         "as per tensorinfo_map");
  int ninputs = objects ? sig->num_inputs : 1;
  for (int j = 0; j < ninputs; j++) in[j].name = sig->inputs[j].alias;
  *n = ninputs;
  row_input *ri = td_xcalloc((size_t)ninputs, sizeof *ri);
  td_status inner;
  td_status_clear(&inner);
  td_buf key_copy;
  td_buf_init(&key_copy);
  td_code code = TD_OK;
  for (long long i = 0; code == TD_OK; i++) {
    if (i > 0) {
      int more = td_json_array_next(r, &it);
      if (more <= 0) break;
    }
    if (!objects) {
      if (is_element_object(r)) {
        code = td_status_set(st, TD_INVALID_ARGUMENT, "Expecting value/list but got object at item %lld of input list", i);
      } else if (add_instance_item(r, req, &sig->inputs[0], &ri[0], &in[0].tensor, i, scratch, &inner) != TD_OK) {
        code = wrap_element_error(i, NULL, 0, &inner, st);
      }
      continue;
    }
    if (!is_element_object(r)) {
      code = td_status_set(st, TD_INVALID_ARGUMENT, "Expecting object but got list at item %lld of input list", i);
      continue;
    }
    const char *element = r->p;
    for (int j = 0; j < ninputs; j++) ri[j].seen = 0;
    td_json_iter members = TD_JSON_ITER_INIT;
    td_json_str key;
    int all_once = 1;
    while (code == TD_OK && td_json_object_next(r, &members, &key) == 1) {
      /* key may live in the reader's scratch, which look-aheads reuse: keep a copy. */
      td_buf_reset(&key_copy);
      td_buf_append(&key_copy, key.data, key.len);
      int j = find_input(sig, &key);
      if (j < 0) {
        td_status_set(&inner, TD_INVALID_ARGUMENT, "JSON object: does not have named input: %.*s", (int)key.len,
                      key.data);
      } else if (ri[j].seen) {
        td_status_set(&inner, TD_INVALID_ARGUMENT, "JSON object: has duplicate named input: %.*s", (int)key.len, key.data);
        j = -1;
      } else if (add_instance_item(r, req, &sig->inputs[j], &ri[j], &in[j].tensor, i, scratch, &inner) == TD_OK) {
        ri[j].seen = 1;
        continue;
      } else {
        j = -1;
      }
      code = wrap_element_error(i, key_copy.data, key_copy.len, &inner, st);
    }
    for (int j = 0; j < ninputs && code == TD_OK; j++) all_once &= ri[j].seen;
    if (code == TD_OK && !all_once) code = keys_error(r, element, i, sig, st);
  }
  if (code == TD_OK) {
    for (int j = 0; j < ninputs; j++)
      if (!in[j].tensor.buf) code = unallocated_error(sig->inputs[j].dtype, st);
  }
  free(ri);
  td_buf_release(&key_copy);
  return code;
}

/* ---- the fast path: dense numeric values straight from simdjson's tape ---- */
static int fast_kind(td_dtype dt, td_rest_fast_kind *kind) {
  static const struct {
    td_dtype dtype;
    td_rest_fast_kind kind;
  } kinds[] = {{TD_DT_FLOAT, TD_REST_FAST_F32}, {TD_DT_DOUBLE, TD_REST_FAST_F64}, {TD_DT_INT32, TD_REST_FAST_I32},
               {TD_DT_INT64, TD_REST_FAST_I64}, {TD_DT_BOOL, TD_REST_FAST_BOOL}};
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    if (kinds[i].dtype == dt) return *kind = kinds[i].kind, 1;
  return 0;
}

/* One input from the fast document: 1 filled (t owned, budget charged), 0 not handled. */
static int fast_input(const td_rest_predict_req *req, const td_sig_tensor *info, const char *alias, td_tensor *t) {
  td_shape shape;
  td_rest_fast_kind kind;
  if (!fast_kind(info->dtype, &kind)) return 0;
  if (!td_rest_fast_shape(req->fast_doc, req->row_format, alias, TD_MAX_RANK, &shape.rank, shape.dim)) return 0;
  td_status st;
  td_status_clear(&st);
  if (alloc_bounded(t, info->dtype, &shape, req, info->alias, &st) != TD_OK || !t->buf) return 0;
  return td_rest_fast_fill(req->fast_doc, req->row_format, alias, shape.rank, shape.dim, kind, t->data);
}

/* Every input the request provides, or 0 (nothing allocated, nothing charged): then the pull
 * reader decides, errors included. Inputs follow the pull reader's choice of value: row
 * format needs one input; columnar "inputs" is the value itself for one input when it is
 * not an object (td_rest_fast_shape refuses an object then), else the member per alias. */
static int fast_inputs(const td_rest_predict_req *req, const td_signature *sig, td_named_tensor *in, int *n) {
  if (req->row_format && (sig->num_inputs != 1 || req->num_instances == 0)) return 0;
  int64_t used = req->budget ? req->budget->used : 0;
  int ok = 1, j = 0;
  for (; ok && j < sig->num_inputs; j++) {
    const td_sig_tensor *info = &sig->inputs[j];
    in[j].name = info->alias;
    if (req->row_format || sig->num_inputs == 1) ok = fast_input(req, info, NULL, &in[j].tensor);
    if (!req->row_format && (sig->num_inputs > 1 || !ok)) {
      td_tensor_release(&in[j].tensor);
      ok = fast_input(req, info, info->alias, &in[j].tensor);
    }
  }
  if (ok) {
    *n = sig->num_inputs;
    return 1;
  }
  for (int k = 0; k < j; k++) {
    td_tensor_release(&in[k].tensor);
    memset(&in[k], 0, sizeof in[k]);
  }
  if (req->budget) req->budget->used = used; /* nothing of it is kept */
  return 0;
}

/* ---- entry point ---- */
void td_rest_inputs_free(td_named_tensor *inputs, int n) {
  if (!inputs) return;
  for (int i = 0; i < n; i++) td_tensor_release(&inputs[i].tensor);
  free(inputs);
}

td_code td_rest_predict_inputs(const td_rest_predict_req *req, const td_signature *sig, td_named_tensor **inputs,
                               int *n, td_status *st) {
  *inputs = NULL;
  *n = 0;
  if (sig->num_inputs == 0)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Failed to get input map for signature: %s",
                         req->signature_name && *req->signature_name ? req->signature_name : "DEFAULT");
  if (req->layout_error == TD_REST_BOTH_KEYS)
    return td_status_set(st, TD_INVALID_ARGUMENT,
                         "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist ");
  if (req->layout_error == TD_REST_NO_KEY)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Missing 'inputs' or 'instances' key");
  td_named_tensor *in = td_xcalloc((size_t)sig->num_inputs, sizeof *in);
  int count = 0;
  if (req->fast_doc && fast_inputs(req, sig, in, &count)) {
    *inputs = in;
    *n = count;
    return TD_OK;
  }
  if (req->fast_doc) { /* the pull reader needs the spans the fast scan did not record */
    td_rest_predict_req slow;
    td_code code = scan_slow(req->body, req->len, &slow, st);
    if (code == TD_OK) {
      slow.budget = req->budget;
      code = td_rest_predict_inputs(&slow, sig, inputs, n, st);
    }
    td_rest_predict_req_free(&slow);
    free(in);
    return code;
  }
  td_json_reader r;
  td_json_reader_init(&r, req->body, req->value_end);
  r.p = r.begin + req->value_start;
  td_buf scratch;
  td_buf_init(&scratch);
  td_code code = req->row_format ? row_inputs(&r, req, sig, in, &count, &scratch, st)
                                 : columnar_inputs(&r, req, sig, in, &count, &scratch, st);
  td_buf_release(&scratch);
  td_json_reader_free(&r);
  if (code != TD_OK) {
    td_rest_inputs_free(in, sig->num_inputs);
    return code;
  }
  *inputs = in;
  *n = count;
  return TD_OK;
}
