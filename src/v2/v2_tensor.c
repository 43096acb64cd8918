/* v2_tensor.c — V2 datatypes ↔ engine dtypes, shapes, and the raw tensor codec shared by the
 * HTTP binary extension and gRPC raw_*_contents (see v2_internal.h for the layout).
 * Invariants: nothing is allocated before its size is checked against the bytes that describe
 * it and charged to the request's budget; every read is bounds-checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "v2/v2_internal.h"

/* The mapping of peer-servers.md §4.2 (DT_STRING ↔ BYTES, DT_HALF ↔ FP16, ...). */
static const struct {
  const char *name;
  td_dtype dt;
} datatypes[] = {
    {"BOOL", TD_DT_BOOL},   {"UINT8", TD_DT_UINT8},   {"UINT16", TD_DT_UINT16}, {"UINT32", TD_DT_UINT32},
    {"UINT64", TD_DT_UINT64}, {"INT8", TD_DT_INT8},   {"INT16", TD_DT_INT16},   {"INT32", TD_DT_INT32},
    {"INT64", TD_DT_INT64}, {"FP16", TD_DT_HALF},     {"FP32", TD_DT_FLOAT},    {"FP64", TD_DT_DOUBLE},
    {"BF16", TD_DT_BFLOAT16}, {"BYTES", TD_DT_STRING},
};
enum { NUM_DATATYPES = sizeof datatypes / sizeof datatypes[0] };

const char *td_v2_datatype(td_dtype dt) {
  for (int i = 0; i < NUM_DATATYPES; i++)
    if (datatypes[i].dt == dt) return datatypes[i].name;
  return NULL;
}

int td_v2_dtype(const char *name, size_t n, td_dtype *out) {
  for (int i = 0; i < NUM_DATATYPES; i++)
    if (strlen(datatypes[i].name) == n && !memcmp(datatypes[i].name, name, n)) {
      *out = datatypes[i].dt;
      return 1;
    }
  return 0;
}

td_code td_v2_shape(const char *input, const int64_t *dims, size_t n, td_shape *out, td_status *st) {
  if (n > TD_MAX_RANK)
    return td_status_set(st, TD_INVALID_ARGUMENT, "inference input '%s' has rank %zu; at most %d is supported", input,
                         n, TD_MAX_RANK);
  for (size_t i = 0; i < n; i++)
    if (dims[i] < 0)
      return td_status_set(st, TD_INVALID_ARGUMENT, "inference input '%s' has a negative dimension %lld in its shape",
                           input, (long long)dims[i]);
  *out = td_shape_make((int)n, dims);
  if (td_shape_num_elements(out) == INT64_MAX)
    return td_status_set(st, TD_INVALID_ARGUMENT, "inference input '%s' has too many elements", input);
  return TD_OK;
}

static uint32_t read_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static td_code bytes_from_raw(const char *input, const td_shape *shape, const uint8_t *p, size_t len, td_budget *b,
                              td_tensor *out, td_status *st) {
  int64_t n = td_shape_num_elements(shape);
  /* count the elements the bytes hold first: each needs at least its 4-byte prefix */
  int64_t count = 0;
  size_t off = 0;
  while (off < len) {
    if (len - off < 4)
      return td_status_set(st, TD_INVALID_ARGUMENT, "incomplete string length for inference input '%s'", input);
    uint32_t l = read_u32le(p + off);
    off += 4;
    if (l > len - off)
      return td_status_set(st, TD_INVALID_ARGUMENT, "incomplete string data for inference input '%s'", input);
    off += l;
    count++;
  }
  if (count != n)
    return td_status_set(st, TD_INVALID_ARGUMENT,
                         "expected %lld string elements for inference input '%s', got %lld", (long long)n, input,
                         (long long)count);
  TD_TRY(td_budget_charge(b, 1, td_budget_bytes(n, (int64_t)sizeof(td_string) + 1, (int64_t)len), input, st));
  TD_TRY(td_tensor_alloc(out, TD_DT_STRING, shape, st));
  off = 0;
  for (int64_t i = 0; i < n; i++) {
    uint32_t l = read_u32le(p + off);
    td_tensor_set_string(out, i, (const char *)p + off + 4, l);
    off += 4 + (size_t)l;
  }
  return TD_OK;
}

static td_code from_raw(const char *input, td_dtype dt, const td_shape *shape, const uint8_t *p, size_t len,
                         td_budget *b, int borrow, td_tensor *out, td_status *st) {
  memset(out, 0, sizeof *out);
  if (dt == TD_DT_STRING) return bytes_from_raw(input, shape, p, len, b, out, st);
  int64_t n = td_shape_num_elements(shape);
  size_t size = td_dtype_size(dt);
  if (n < 0 || (uint64_t)n > SIZE_MAX / size || (size_t)n * size != len)
    return td_status_set(st, TD_INVALID_ARGUMENT, "unexpected size %zu for inference input '%s', expecting %lld",
                         len, input, (long long)(n >= 0 && (uint64_t)n <= (uint64_t)INT64_MAX / size ? n * (int64_t)size : -1));
  if (borrow && dt != TD_DT_BOOL && ((uintptr_t)p % size) == 0) { /* a view: no copy, no charge */
    *out = td_tensor_borrow(dt, shape, (void *)p);
    return TD_OK;
  }
  TD_TRY(td_budget_charge(b, n, (int64_t)size, input, st));
  TD_TRY(td_tensor_alloc(out, dt, shape, st));
  if (len) memcpy(out->data, p, len);
  if (dt == TD_DT_BOOL)
    for (int64_t i = 0; i < n; i++) td_u8(out)[i] = td_u8(out)[i] != 0;
  return TD_OK;
}

td_code td_v2_tensor_from_raw(const char *input, td_dtype dt, const td_shape *shape, const uint8_t *p, size_t len,
                              td_budget *b, td_tensor *out, td_status *st) {
  return from_raw(input, dt, shape, p, len, b, 0, out, st);
}

td_code td_v2_tensor_view_raw(const char *input, td_dtype dt, const td_shape *shape, const uint8_t *p, size_t len,
                              td_budget *b, td_tensor *out, td_status *st) {
  return from_raw(input, dt, shape, p, len, b, 1, out, st);
}

size_t td_v2_raw_size(const td_tensor *t) {
  int64_t n = td_tensor_num_elements(t);
  if (t->dtype != TD_DT_STRING) return (size_t)n * td_dtype_size(t->dtype);
  size_t total = 0;
  for (int64_t i = 0; i < n; i++) total += 4 + td_str(t)[i].len;
  return total;
}

void td_v2_tensor_write_raw(const td_tensor *t, uint8_t *dst) {
  int64_t n = td_tensor_num_elements(t);
  if (t->dtype != TD_DT_STRING) {
    size_t bytes = (size_t)n * td_dtype_size(t->dtype);
    if (bytes) memcpy(dst, t->data, bytes);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    const td_string *s = &td_str(t)[i];
    uint32_t l = (uint32_t)s->len;
    uint8_t prefix[4] = {(uint8_t)l, (uint8_t)(l >> 8), (uint8_t)(l >> 16), (uint8_t)(l >> 24)};
    memcpy(dst, prefix, 4);
    if (s->len) memcpy(dst + 4, s->data, s->len);
    dst += 4 + s->len;
  }
}

void td_v2_tensor_to_raw(const td_tensor *t, td_buf *out) {
  size_t n = td_v2_raw_size(t);
  td_buf_reserve(out, n);
  td_v2_tensor_write_raw(t, (uint8_t *)out->data + out->len);
  out->len += n;
  out->data[out->len] = '\0';
}
