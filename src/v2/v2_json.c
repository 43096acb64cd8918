/* v2_json.c — the V2 REST JSON codec (see v2_json.h).
 *
 * The header is scanned once with the pull reader (members in any order; unknown members and
 * parameters skipped); each input's "data" is only recorded as a span and decoded after the
 * model's signature said which dtype to expect. Decoding walks nested arrays iteratively
 * (bounded depth), checks each leaf's JSON type and range, and never writes past the shape's
 * element count. Invariant: a tensor is allocated only when its element count is at most the
 * span's byte length (every leaf needs a byte) and after its bytes are charged to the budget.
 */
#include "v2/v2_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "util/mem.h"

#define MAX_DATA_DEPTH 64

static int key_is(const td_json_str *k, const char *s) { return strlen(s) == k->len && !memcmp(k->data, s, k->len); }

/* ---- header scan ---- */

static td_code want(td_json_reader *r, int type, const char *what, td_status *st) {
  int t = td_json_peek(r);
  if (t < 0) return td_json_error_status(r, st);
  if (t == type || (type == TD_JSON_TRUE && t == TD_JSON_FALSE)) return TD_OK;
  return td_status_set(st, TD_INVALID_ARGUMENT, "%s must be %s", what,
                       type == TD_JSON_STRING ? "a string" : type == TD_JSON_OBJECT ? "an object"
                       : type == TD_JSON_ARRAY ? "an array" : type == TD_JSON_TRUE ? "a boolean" : "a number");
}

static td_code read_str(td_json_reader *r, const char *what, char **out, td_status *st) {
  TD_TRY(want(r, TD_JSON_STRING, what, st));
  td_json_str s;
  if (td_json_read_string(r, &s) != 0) return td_json_error_status(r, st);
  free(*out);
  *out = td_xstrndup(s.data, s.len);
  return TD_OK;
}

static td_code read_bool(td_json_reader *r, const char *what, int *out, td_status *st) {
  TD_TRY(want(r, TD_JSON_TRUE, what, st));
  td_json_type lit;
  if (td_json_read_literal(r, &lit) != 0) return td_json_error_status(r, st);
  *out = lit == TD_JSON_TRUE;
  return TD_OK;
}

static td_code read_int(td_json_reader *r, const char *what, int64_t *out, td_status *st) {
  TD_TRY(want(r, TD_JSON_NUMBER, what, st));
  td_json_number n;
  if (td_json_read_number(r, &n) != 0) return td_json_error_status(r, st);
  if (!td_json_number_is_int64(&n) || td_json_number_int64(&n) < 0)
    return td_status_set(st, TD_INVALID_ARGUMENT, "%s must be a non-negative integer", what);
  *out = td_json_number_int64(&n);
  return TD_OK;
}

/* Walks a "parameters" object; `on` handles the keys it knows (returns 1 when it consumed the
 * value), the others are skipped. */
typedef td_code (*param_fn)(void *ctx, const td_json_str *key, td_json_reader *r, int *used, td_status *st);

static td_code read_params(td_json_reader *r, const char *what, param_fn on, void *ctx, td_status *st) {
  TD_TRY(want(r, TD_JSON_OBJECT, what, st));
  td_json_iter it = TD_JSON_ITER_INIT;
  td_json_str key;
  int more;
  while ((more = td_json_object_next(r, &it, &key)) == 1) {
    int used = 0;
    TD_TRY(on(ctx, &key, r, &used, st));
    if (!used && td_json_skip(r) != 0) break;
  }
  if (more != 0 || r->err) return td_json_error_status(r, st);
  return TD_OK;
}

static td_code request_param(void *ctx, const td_json_str *key, td_json_reader *r, int *used, td_status *st) {
  v2_json_req *req = ctx;
  if (key_is(key, "signature_name")) {
    *used = 1;
    return read_str(r, "parameters.signature_name", &req->signature_name, st);
  }
  if (key_is(key, "binary_data_output")) {
    *used = 1;
    return read_bool(r, "parameters.binary_data_output", &req->binary_output, st);
  }
  return TD_OK;
}

static td_code input_param(void *ctx, const td_json_str *key, td_json_reader *r, int *used, td_status *st) {
  v2_json_input *in = ctx;
  if (!key_is(key, "binary_data_size")) return TD_OK;
  *used = 1;
  return read_int(r, "parameters.binary_data_size", &in->binary_size, st);
}

static td_code output_param(void *ctx, const td_json_str *key, td_json_reader *r, int *used, td_status *st) {
  v2_json_output *out = ctx;
  if (!key_is(key, "binary_data")) return TD_OK;
  *used = 1;
  return read_bool(r, "parameters.binary_data", &out->binary, st);
}

static td_code read_shape(td_json_reader *r, v2_json_input *in, td_status *st) {
  TD_TRY(want(r, TD_JSON_ARRAY, "shape", st));
  td_json_iter it = TD_JSON_ITER_INIT;
  int more;
  in->n_dims = 0;
  in->has_shape = 1;
  while ((more = td_json_array_next(r, &it)) == 1) {
    int64_t d;
    TD_TRY(read_int(r, "every shape dimension", &d, st));
    if (in->n_dims == TD_MAX_RANK)
      return td_status_set(st, TD_INVALID_ARGUMENT, "shape has more than %d dimensions", TD_MAX_RANK);
    in->dims[in->n_dims++] = d;
  }
  if (more != 0) return td_json_error_status(r, st);
  return TD_OK;
}

static td_code read_input(td_json_reader *r, v2_json_input *in, td_status *st) {
  TD_TRY(want(r, TD_JSON_OBJECT, "every element of 'inputs'", st));
  td_json_iter it = TD_JSON_ITER_INIT;
  td_json_str key;
  int more;
  while ((more = td_json_object_next(r, &it, &key)) == 1) {
    if (key_is(&key, "name")) TD_TRY(read_str(r, "input 'name'", &in->name, st));
    else if (key_is(&key, "datatype")) TD_TRY(read_str(r, "input 'datatype'", &in->datatype, st));
    else if (key_is(&key, "shape")) TD_TRY(read_shape(r, in, st));
    else if (key_is(&key, "parameters")) TD_TRY(read_params(r, "input 'parameters'", input_param, in, st));
    else if (key_is(&key, "data")) {
      if (td_json_skip_span(r, &in->data_start, &in->data_end) != 0) break;
    } else if (td_json_skip(r) != 0) break;
  }
  if (more != 0 || r->err) return td_json_error_status(r, st);
  if (!in->name) return td_status_set(st, TD_INVALID_ARGUMENT, "an inference input is missing 'name'");
  if (!in->datatype)
    return td_status_set(st, TD_INVALID_ARGUMENT, "inference input '%s' is missing 'datatype'", in->name);
  if (!in->has_shape) return td_status_set(st, TD_INVALID_ARGUMENT, "inference input '%s' is missing 'shape'", in->name);
  if (in->binary_size >= 0 && in->data_end)
    return td_status_set(st, TD_INVALID_ARGUMENT,
                         "inference input '%s' has both 'data' and parameters.binary_data_size", in->name);
  if (in->binary_size < 0 && !in->data_end)
    return td_status_set(st, TD_INVALID_ARGUMENT, "inference input '%s' has no 'data'", in->name);
  return TD_OK;
}

static td_code read_output(td_json_reader *r, v2_json_output *out, td_status *st) {
  TD_TRY(want(r, TD_JSON_OBJECT, "every element of 'outputs'", st));
  td_json_iter it = TD_JSON_ITER_INIT;
  td_json_str key;
  int more;
  while ((more = td_json_object_next(r, &it, &key)) == 1) {
    if (key_is(&key, "name")) TD_TRY(read_str(r, "output 'name'", &out->name, st));
    else if (key_is(&key, "parameters")) TD_TRY(read_params(r, "output 'parameters'", output_param, out, st));
    else if (td_json_skip(r) != 0) break;
  }
  if (more != 0 || r->err) return td_json_error_status(r, st);
  if (!out->name) return td_status_set(st, TD_INVALID_ARGUMENT, "a requested output is missing 'name'");
  return TD_OK;
}

static td_code scan_object(td_json_reader *r, v2_json_req *req, td_status *st) {
  TD_TRY(want(r, TD_JSON_OBJECT, "the inference request", st));
  td_json_iter it = TD_JSON_ITER_INIT;
  td_json_str key;
  int more, has_inputs = 0;
  while ((more = td_json_object_next(r, &it, &key)) == 1) {
    if (key_is(&key, "id")) {
      TD_TRY(read_str(r, "'id'", &req->id, st));
    } else if (key_is(&key, "parameters")) {
      TD_TRY(read_params(r, "'parameters'", request_param, req, st));
    } else if (key_is(&key, "inputs")) {
      TD_TRY(want(r, TD_JSON_ARRAY, "'inputs'", st));
      has_inputs = 1;
      td_json_iter e = TD_JSON_ITER_INIT;
      int m;
      while ((m = td_json_array_next(r, &e)) == 1) {
        TD_GROW(req->inputs, req->cap_inputs, req->n_inputs + 1);
        v2_json_input *in = &req->inputs[req->n_inputs++];
        memset(in, 0, sizeof *in);
        in->binary_size = -1;
        TD_TRY(read_input(r, in, st));
      }
      if (m != 0) return td_json_error_status(r, st);
    } else if (key_is(&key, "outputs")) {
      TD_TRY(want(r, TD_JSON_ARRAY, "'outputs'", st));
      td_json_iter e = TD_JSON_ITER_INIT;
      int m;
      while ((m = td_json_array_next(r, &e)) == 1) {
        TD_GROW(req->outputs, req->cap_outputs, req->n_outputs + 1);
        v2_json_output *out = &req->outputs[req->n_outputs++];
        memset(out, 0, sizeof *out);
        out->binary = -1;
        TD_TRY(read_output(r, out, st));
      }
      if (m != 0) return td_json_error_status(r, st);
    } else if (td_json_skip(r) != 0) {
      break;
    }
  }
  if (more != 0 || r->err) return td_json_error_status(r, st);
  if (!has_inputs) return td_status_set(st, TD_INVALID_ARGUMENT, "the inference request has no 'inputs'");
  return TD_OK;
}

td_code v2_json_scan(const char *body, size_t len, v2_json_req *req, td_status *st) {
  memset(req, 0, sizeof *req);
  req->binary_output = -1;
  td_json_reader r;
  td_json_reader_init(&r, body, len);
  td_code code = scan_object(&r, req, st);
  td_json_reader_free(&r);
  return code;
}

/* A body that is empty (no parameters) or one JSON object `what`: each key's value goes to on_key,
 * which reads or skips it; the first error ends the scan. */
typedef td_code (*body_key_fn)(td_json_reader *r, const td_json_str *key, void *ctx, td_status *st);

static td_code scan_optional_object(const char *body, size_t len, const char *what, body_key_fn on_key, void *ctx,
                                    td_status *st) {
  td_json_reader r;
  td_json_reader_init(&r, body, len);
  td_code code = TD_OK;
  if (!td_json_at_end(&r)) {
    code = want(&r, TD_JSON_OBJECT, what, st);
    td_json_iter it = TD_JSON_ITER_INIT;
    td_json_str key;
    int more = 0;
    while (code == TD_OK && (more = td_json_object_next(&r, &it, &key)) == 1) code = on_key(&r, &key, ctx, st);
    if (code == TD_OK && (more != 0 || r.err)) code = td_json_error_status(&r, st);
  }
  td_json_reader_free(&r);
  return code;
}

static td_code skip_value(td_json_reader *r, td_status *st) {
  return td_json_skip(r) != 0 ? td_json_error_status(r, st) : TD_OK;
}

static td_code index_key(td_json_reader *r, const td_json_str *key, void *ready_only, td_status *st) {
  return key_is(key, "ready") ? read_bool(r, "'ready'", ready_only, st) : skip_value(r, st);
}

td_code v2_json_scan_index(const char *body, size_t len, int *ready_only, td_status *st) {
  *ready_only = 0;
  return scan_optional_object(body, len, "the repository index request", index_key, ready_only, st);
}

/* "config" or "file:<path>": a load that would override the model's config or files. */
static int is_override_key(const td_json_str *k) {
  return key_is(k, "config") || (k->len >= 5 && !memcmp(k->data, "file:", 5));
}

/* Load/unload body: only the keys of "parameters" matter (*overrides |= an override key). */
static td_code repository_key(td_json_reader *r, const td_json_str *key, void *overrides, td_status *st) {
  if (!key_is(key, "parameters")) return skip_value(r, st);
  TD_TRY(want(r, TD_JSON_OBJECT, "'parameters'", st));
  td_json_iter it = TD_JSON_ITER_INIT;
  td_json_str pkey;
  int more;
  while ((more = td_json_object_next(r, &it, &pkey)) == 1) {
    *(int *)overrides |= is_override_key(&pkey);
    if (td_json_skip(r) != 0) break;
  }
  return more != 0 || r->err ? td_json_error_status(r, st) : TD_OK;
}

td_code v2_json_scan_repository(const char *body, size_t len, int *overrides, td_status *st) {
  *overrides = 0;
  return scan_optional_object(body, len, "the repository request", repository_key, overrides, st);
}

void v2_json_req_free(v2_json_req *req) {
  for (int i = 0; i < req->n_inputs; i++) {
    free(req->inputs[i].name);
    free(req->inputs[i].datatype);
  }
  for (int i = 0; i < req->n_outputs; i++) free(req->outputs[i].name);
  free(req->inputs);
  free(req->outputs);
  free(req->id);
  free(req->signature_name);
  memset(req, 0, sizeof *req);
}

/* ---- data decode ---- */

typedef struct leaf_ctx {
  td_json_reader *r;
  const char *input;
  td_tensor *t;
  td_budget *b;
} leaf_ctx;

static td_code leaf_error(leaf_ctx *c, const char *expected, td_status *st) {
  return td_status_set(st, TD_INVALID_ARGUMENT, "unable to parse 'data' of inference input '%s': expected %s",
                       c->input, expected);
}

/* Integer range per dtype (unsigned types: min 0). */
static int int_in_range(td_dtype dt, const td_json_number *n) {
  if (n->is_double) return 0;
  switch (dt) {
  case TD_DT_INT8: return td_json_number_is_int32(n) && n->mag <= (n->negative ? 128u : 127u);
  case TD_DT_INT16: return td_json_number_is_int32(n) && n->mag <= (n->negative ? 32768u : 32767u);
  case TD_DT_INT32: return td_json_number_is_int32(n);
  case TD_DT_INT64: return td_json_number_is_int64(n);
  case TD_DT_UINT8: return !n->negative && n->mag <= 255u;
  case TD_DT_UINT16: return !n->negative && n->mag <= 65535u;
  case TD_DT_UINT32: return td_json_number_is_uint32(n);
  case TD_DT_UINT64: return td_json_number_is_uint64(n);
  default: return 0;
  }
}

static td_code read_leaf(leaf_ctx *c, int type, int64_t i, td_status *st) {
  td_dtype dt = c->t->dtype;
  if (dt == TD_DT_BOOL) {
    if (type != TD_JSON_TRUE && type != TD_JSON_FALSE) return leaf_error(c, "true or false", st);
    td_json_type lit;
    if (td_json_read_literal(c->r, &lit) != 0) return td_json_error_status(c->r, st);
    td_u8(c->t)[i] = lit == TD_JSON_TRUE;
    return TD_OK;
  }
  if (dt == TD_DT_STRING) {
    if (type != TD_JSON_STRING) return leaf_error(c, "a string", st);
    td_json_str s;
    if (td_json_read_string(c->r, &s) != 0) return td_json_error_status(c->r, st);
    TD_TRY(td_budget_charge(c->b, 1, (int64_t)s.len + 1, c->input, st));
    td_tensor_set_string(c->t, i, s.data, s.len);
    return TD_OK;
  }
  if (type != TD_JSON_NUMBER) return leaf_error(c, "a number", st);
  double d;
  if ((dt == TD_DT_FLOAT || dt == TD_DT_DOUBLE) && td_json_read_plain_double(c->r, &d)) { /* fast path */
    if (dt == TD_DT_FLOAT) td_f32(c->t)[i] = (float)d; /* plain decimals of <= 19 digits: in range */
    else td_f64(c->t)[i] = d;
    return TD_OK;
  }
  td_json_number n;
  if (td_json_read_number(c->r, &n) != 0) return td_json_error_status(c->r, st);
  switch (dt) {
  case TD_DT_FLOAT:
    td_f32(c->t)[i] = n.d >= 0x1.ffffffp127 ? INFINITY : n.d <= -0x1.ffffffp127 ? -INFINITY : (float)n.d;
    return TD_OK;
  case TD_DT_DOUBLE: td_f64(c->t)[i] = n.d; return TD_OK;
  case TD_DT_HALF:
  case TD_DT_BFLOAT16: td_tensor_set_double(c->t, i, n.d); return TD_OK;
  default: break;
  }
  if (!int_in_range(dt, &n)) {
    char what[64];
    snprintf(what, sizeof what, "an integer in the range of %s", td_v2_datatype(dt));
    return leaf_error(c, what, st);
  }
  if (dt == TD_DT_UINT64) ((uint64_t *)c->t->data)[i] = td_json_number_uint64(&n);
  else if (dt == TD_DT_UINT32) ((uint32_t *)c->t->data)[i] = (uint32_t)td_json_number_uint64(&n);
  else if (dt == TD_DT_INT64) td_i64(c->t)[i] = td_json_number_int64(&n);
  else td_tensor_set_double(c->t, i, (double)td_json_number_int64(&n)); /* 8..32-bit: exact */
  return TD_OK;
}

/* got: elements found; more != 0: "more than got" (counting stopped). */
static td_code count_error(const char *input, const td_shape *shape, int64_t got, int more, td_status *st) {
  char s[128];
  return td_status_set(st, TD_INVALID_ARGUMENT,
                       "unexpected number of elements for inference input '%s': shape %s has %lld, 'data' holds %s%lld",
                       input, td_shape_str(shape, s, sizeof s), (long long)td_shape_num_elements(shape),
                       more ? "more than " : "", (long long)got);
}

td_code v2_json_decode_data(const char *input, td_dtype dt, const td_shape *shape, const char *body, size_t start,
                            size_t end, td_budget *b, td_tensor *out, td_status *st) {
  memset(out, 0, sizeof *out);
  int64_t n = td_shape_num_elements(shape);
  if (n > (int64_t)(end - start)) /* every element needs at least a byte */
    return td_status_set(st, TD_INVALID_ARGUMENT, "unexpected number of elements for inference input '%s': 'data' is too short for its shape", input);
  TD_TRY(td_budget_charge(b, n, (int64_t)td_dtype_size(dt), input, st));
  TD_TRY(td_tensor_alloc(out, dt, shape, st));
  td_json_reader r;
  td_json_reader_init(&r, body + start, end - start);
  leaf_ctx c = {&r, input, out, b};
  td_json_iter it[MAX_DATA_DEPTH];
  int depth = 0;
  int64_t i = 0;
  td_code code = TD_OK;
  int t = td_json_peek(&r);
  if (t != TD_JSON_ARRAY) {
    code = t < 0 ? td_json_error_status(&r, st) : leaf_error(&c, "an array", st);
    depth = -1;
  } else {
    it[0] = (td_json_iter)TD_JSON_ITER_INIT;
  }
  while (code == TD_OK && depth >= 0) {
    int more = td_json_array_next(&r, &it[depth]);
    if (more < 0) {
      code = td_json_error_status(&r, st);
    } else if (more == 0) {
      depth--;
    } else if ((t = td_json_peek(&r)) == TD_JSON_ARRAY) {
      if (depth + 1 == MAX_DATA_DEPTH) code = leaf_error(&c, "at most 64 nested arrays", st);
      else it[++depth] = (td_json_iter)TD_JSON_ITER_INIT;
    } else if (t < 0) {
      code = td_json_error_status(&r, st);
    } else if (i == n) {
      code = count_error(input, shape, n, 1, st);
    } else {
      code = read_leaf(&c, t, i++, st);
    }
  }
  if (code == TD_OK && i != n) code = count_error(input, shape, i, 0, st);
  td_json_reader_free(&r);
  if (code != TD_OK) td_tensor_release(out);
  return code;
}

/* ---- writing ---- */

void v2_json_write_shape(const td_shape *s, td_buf *out) {
  td_buf_putc(out, '[');
  for (int i = 0; i < s->rank; i++) td_buf_printf(out, "%s%lld", i ? "," : "", (long long)s->dim[i]);
  td_buf_putc(out, ']');
}

void v2_json_write_data(const td_tensor *t, td_buf *out) {
  int64_t n = td_tensor_num_elements(t);
  td_buf_putc(out, '[');
  for (int64_t i = 0; i < n; i++) {
    if (i) td_buf_putc(out, ',');
    switch (t->dtype) {
    case TD_DT_FLOAT: td_json_write_float(out, td_f32(t)[i]); break;
    case TD_DT_DOUBLE: td_json_write_double(out, td_f64(t)[i]); break;
    case TD_DT_HALF:
    case TD_DT_BFLOAT16: td_json_write_float(out, (float)td_tensor_get_double(t, i)); break;
    case TD_DT_BOOL: td_buf_puts(out, td_u8(t)[i] ? "true" : "false"); break;
    case TD_DT_STRING: td_json_write_string(out, td_str(t)[i].data ? td_str(t)[i].data : "", td_str(t)[i].len); break;
    case TD_DT_UINT64: td_buf_printf(out, "%llu", (unsigned long long)((const uint64_t *)t->data)[i]); break;
    case TD_DT_UINT32: td_buf_printf(out, "%lu", (unsigned long)((const uint32_t *)t->data)[i]); break;
    default: td_buf_printf(out, "%lld", (long long)td_tensor_get_int(t, i)); break;
    }
  }
  td_buf_putc(out, ']');
}
