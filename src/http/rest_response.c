/* rest_response.c — predict / classify / regress results → TF Serving's response JSON
 * (json_tensor.cc MakeJsonFromTensors and friends, §1.7 and §1.9 of the API reference).
 *
 * Layout is compact ("{"predictions": [[2.5, 3.0]]}"); clients parse it. Values: floats via
 * TF's WriteDecimal (json_float.c), integers bare (written without printf), bools true/false, strings escaped, and outputs whose
 * alias ends in "_bytes" as {"b64": "<base64>"}. Nesting follows the tensor's rank (at most
 * TD_MAX_RANK), never client input. On error `out` may hold a partial document; callers
 * discard it.
 */
#include <stdint.h>
#include <string.h>

#include "http/rest_json_internal.h"
#include "util/base64.h"

#define TD_REST_MAX_OUTPUTS 1024

typedef void (*elem_writer)(td_buf *out, const td_tensor *t, int64_t i);

static void w_float(td_buf *out, const td_tensor *t, int64_t i) { td_json_write_float(out, td_f32(t)[i]); }
static void w_double(td_buf *out, const td_tensor *t, int64_t i) { td_json_write_double(out, td_f64(t)[i]); }
/* Decimal integers without printf (what %" PRId64 " / %" PRIu64 " print). */
static void put_uint(td_buf *out, uint64_t v, int negative) {
  char d[21];
  int k = sizeof d;
  do d[--k] = (char)('0' + v % 10); while ((v /= 10) != 0);
  if (negative) d[--k] = '-';
  td_buf_append(out, d + k, sizeof d - (size_t)k);
}
static void w_signed(td_buf *out, const td_tensor *t, int64_t i) {
  int64_t v = td_tensor_get_int(t, i);
  put_uint(out, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}
static void w_uint64(td_buf *out, const td_tensor *t, int64_t i) { put_uint(out, ((const uint64_t *)t->data)[i], 0); }
static void w_uint32(td_buf *out, const td_tensor *t, int64_t i) { put_uint(out, ((const uint32_t *)t->data)[i], 0); }
static void w_uint16(td_buf *out, const td_tensor *t, int64_t i) { put_uint(out, ((const uint16_t *)t->data)[i], 0); }
static void w_uint8(td_buf *out, const td_tensor *t, int64_t i) { put_uint(out, td_u8(t)[i], 0); }
static void w_bool(td_buf *out, const td_tensor *t, int64_t i) { td_buf_puts(out, td_u8(t)[i] ? "true" : "false"); }
static void w_string(td_buf *out, const td_tensor *t, int64_t i) {
  td_json_write_string(out, td_str(t)[i].data, td_str(t)[i].len);
}
static void w_b64(td_buf *out, const td_tensor *t, int64_t i) {
  td_buf_puts(out, "{\"b64\": \"");
  td_base64_encode(td_str(t)[i].data, td_str(t)[i].len, out);
  td_buf_puts(out, "\"}");
}

static const struct {
  td_dtype dtype;
  elem_writer fn;
} writer_table[] = {
    {TD_DT_FLOAT, w_float},   {TD_DT_DOUBLE, w_double}, {TD_DT_INT8, w_signed},    {TD_DT_INT16, w_signed},
    {TD_DT_INT32, w_signed},  {TD_DT_INT64, w_signed},  {TD_DT_UINT8, w_uint8},    {TD_DT_UINT16, w_uint16},
    {TD_DT_UINT32, w_uint32}, {TD_DT_UINT64, w_uint64}, {TD_DT_BOOL, w_bool},      {TD_DT_STRING, w_string},
};

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static td_code writer_for(const td_named_tensor *nt, elem_writer *fn, td_status *st) {
  if (nt->tensor.dtype == TD_DT_STRING && ends_with(nt->name, "_bytes")) {
    *fn = w_b64;
    return TD_OK;
  }
  for (size_t i = 0; i < sizeof writer_table / sizeof *writer_table; i++)
    if (writer_table[i].dtype == nt->tensor.dtype) {
      *fn = writer_table[i].fn;
      return TD_OK;
    }
  return td_status_set(st, TD_INVALID_ARGUMENT, "Failed to write JSON value for tensor type: %s",
                       td_dtype_name(nt->tensor.dtype));
}

/* Writes dims [level, rank) of t starting at element *next (advanced), as nested lists. */
static void write_nested(td_buf *out, const td_tensor *t, elem_writer fn, int level, int64_t *next) {
  if (level == t->shape.rank) {
    fn(out, t, (*next)++);
    return;
  }
  td_buf_putc(out, '[');
  for (int64_t i = 0; i < t->shape.dim[level]; i++) {
    if (i) td_buf_append(out, ", ", 2);
    write_nested(out, t, fn, level + 1, next);
  }
  td_buf_putc(out, ']');
}

static int64_t elements_from(const td_shape *s, int level) {
  int64_t n = 1;
  for (int i = level; i < s->rank; i++) n *= s->dim[i];
  return n;
}

static td_code write_row_format(const td_named_tensor *outputs, int n, td_buf *out, td_status *st) {
  int64_t batch = 0;
  for (int j = 0; j < n; j++) {
    const td_tensor *t = &outputs[j].tensor;
    if (t->shape.rank < 1)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Tensor name: %s has no shape information ", outputs[j].name);
    if (j == 0) batch = t->shape.dim[0];
    else if (t->shape.dim[0] != batch)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Tensor name: %s has inconsistent batch size: %lld expecting: %lld",
                           outputs[j].name, (long long)t->shape.dim[0], (long long)batch);
  }
  elem_writer fns[TD_REST_MAX_OUTPUTS] = {0};
  if (n > TD_REST_MAX_OUTPUTS) return td_status_set(st, TD_UNIMPLEMENTED, "Too many outputs: %d", n);
  for (int j = 0; j < n; j++)
    if (batch > 0) TD_TRY(writer_for(&outputs[j], &fns[j], st));
  td_buf_puts(out, "{\"predictions\": [");
  for (int64_t b = 0; b < batch; b++) {
    if (b) td_buf_append(out, ", ", 2);
    if (n > 1) td_buf_putc(out, '{');
    for (int j = 0; j < n; j++) {
      const td_tensor *t = &outputs[j].tensor;
      if (n > 1) {
        if (j) td_buf_append(out, ", ", 2);
        td_json_write_string(out, outputs[j].name, strlen(outputs[j].name));
        td_buf_append(out, ": ", 2);
      }
      int64_t next = b * elements_from(&t->shape, 1);
      write_nested(out, t, fns[j], 1, &next);
    }
    if (n > 1) td_buf_putc(out, '}');
  }
  td_buf_puts(out, "]}");
  return TD_OK;
}

static td_code write_columnar(const td_named_tensor *outputs, int n, td_buf *out, td_status *st) {
  elem_writer fns[TD_REST_MAX_OUTPUTS] = {0};
  if (n > TD_REST_MAX_OUTPUTS) return td_status_set(st, TD_UNIMPLEMENTED, "Too many outputs: %d", n);
  for (int j = 0; j < n; j++) {
    const td_tensor *t = &outputs[j].tensor;
    if (t->shape.rank < 0)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Tensor name: %s has no shape information ", outputs[j].name);
    if (elements_from(&t->shape, 0) > 0) TD_TRY(writer_for(&outputs[j], &fns[j], st));
  }
  td_buf_puts(out, n > 1 ? "{\"outputs\": {" : "{\"outputs\": ");
  for (int j = 0; j < n; j++) {
    if (n > 1) {
      if (j) td_buf_append(out, ", ", 2);
      td_json_write_string(out, outputs[j].name, strlen(outputs[j].name));
      td_buf_append(out, ": ", 2);
    }
    int64_t next = 0;
    write_nested(out, &outputs[j].tensor, fns[j], 0, &next);
  }
  td_buf_puts(out, n > 1 ? "}}" : "}");
  return TD_OK;
}

td_code td_rest_predict_response(int row_format, const td_named_tensor *outputs, int n, td_buf *out, td_status *st) {
  if (n <= 0) return td_status_set(st, TD_INVALID_ARGUMENT, "Cannot convert empty tensor map to JSON");
  return row_format ? write_row_format(outputs, n, out, st) : write_columnar(outputs, n, out, st);
}

td_code td_rest_classify_response(const td_classify_result *r, td_buf *out, td_status *st) {
  if (!r || r->n_examples <= 0)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Cannot convert empty ClassificationResults to JSON");
  td_buf_puts(out, "{\"results\": [");
  for (int e = 0; e < r->n_examples; e++) {
    if (e) td_buf_append(out, ", ", 2);
    td_buf_putc(out, '[');
    for (int k = 0; k < r->n_classes; k++) {
      const td_class *c = &r->classes[(size_t)e * (size_t)r->n_classes + (size_t)k];
      if (k) td_buf_append(out, ", ", 2);
      td_buf_putc(out, '[');
      td_json_write_string(out, c->label.data, c->label.len);
      td_buf_append(out, ", ", 2);
      td_json_write_float(out, c->score);
      td_buf_putc(out, ']');
    }
    td_buf_putc(out, ']');
  }
  td_buf_puts(out, "]}");
  return TD_OK;
}

td_code td_rest_regress_response(const float *values, int n, td_buf *out, td_status *st) {
  if (n <= 0) return td_status_set(st, TD_INVALID_ARGUMENT, "Cannot convert empty RegressionResults to JSON");
  td_buf_puts(out, "{\"results\": [");
  for (int i = 0; i < n; i++) {
    if (i) td_buf_append(out, ", ", 2);
    td_json_write_float(out, values[i]);
  }
  td_buf_puts(out, "]}");
  return TD_OK;
}
