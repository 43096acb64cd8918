/* tensor.c — tensor storage: refcounted buffers, shapes, element access.
 * Invariant: an owned tensor's buf->data == t->data only for the first view; views made by
 * forwarding keep buf and may point anywhere inside it. STRING/RESOURCE/VARIANT buffers own
 * their elements (string bytes / td_resource references) and free them with the buffer.
 * VARIANT elements are td_resource objects too (e.g. kind "tensor_list", kernels/tensor_list.c);
 * a NULL element is an empty variant. td_tensor_copy of a VARIANT tensor takes new references
 * to the same objects: variant objects are immutable once shared (writers copy on write). */
#include "engine/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* One tensor may not exceed 16 GiB: a client-controlled size (Fill, Pad, Resize) must fail
 * with RESOURCE_EXHAUSTED rather than drive the process into the OOM killer. */
#define TD_MAX_TENSOR_BYTES ((size_t)1 << 34)

void td_resource_ref(td_resource *r) { atomic_fetch_add(&r->refs, 1); }

void td_resource_unref(td_resource *r) {
  if (!r || atomic_fetch_sub(&r->refs, 1) != 1) return;
  char *name = r->name;
  r->destroy(r);
  free(name);
}

td_shape td_shape_make(int rank, const int64_t *dims) {
  td_shape s = {.rank = rank};
  for (int i = 0; i < rank && i < TD_MAX_RANK; i++) s.dim[i] = dims[i];
  return s;
}
td_shape td_shape_scalar(void) { return (td_shape){.rank = 0}; }
td_shape td_shape_vector(int64_t n) { return (td_shape){.rank = 1, .dim = {n}}; }

int64_t td_shape_num_elements(const td_shape *s) {
  if (s->rank < 0) return -1;
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->dim[i] < 0) return -1;
    if (__builtin_mul_overflow(n, s->dim[i], &n)) n = INT64_MAX; /* saturates (0 dims still win) */
  }
  return n;
}

int td_shape_equal(const td_shape *a, const td_shape *b) {
  if (a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->dim[i] != b->dim[i]) return 0;
  return 1;
}

char *td_shape_str(const td_shape *s, char *buf, size_t n) {
  if (s->rank < 0) {
    snprintf(buf, n, "<unknown>");
    return buf;
  }
  size_t o = 0;
  o += (size_t)snprintf(buf + o, n > o ? n - o : 0, "[");
  for (int i = 0; i < s->rank; i++) {
    if (s->dim[i] < 0)
      o += (size_t)snprintf(buf + o, n > o ? n - o : 0, "%s?", i ? "," : "");
    else
      o += (size_t)snprintf(buf + o, n > o ? n - o : 0, "%s%lld", i ? "," : "", (long long)s->dim[i]);
  }
  snprintf(buf + o, n > o ? n - o : 0, "]");
  return buf;
}

static void buffer_free(td_buffer *b) {
  if (b->release) { /* external storage: numeric only (td_tensor_external) */
    b->release(b->release_ctx);
    free(b);
    return;
  }
  if (b->dtype == TD_DT_STRING) {
    td_string *s = b->data;
    for (size_t i = 0; i < b->nelem; i++) free(s[i].data);
  } else if (td_dtype_holds_resources(b->dtype)) {
    td_resource **r = b->data;
    for (size_t i = 0; i < b->nelem; i++) td_resource_unref(r[i]);
  }
  free(b->data);
  free(b);
}

static td_code tensor_alloc(td_tensor *t, td_dtype dtype, const td_shape *shape, int zero, td_status *st) {
  td_tensor_clear(t);
  size_t esize = td_dtype_size(dtype);
  if (!esize) return td_status_set(st, TD_INVALID_ARGUMENT, "cannot allocate a tensor of dtype %d", dtype);
  if (shape->rank < 0 || shape->rank > TD_MAX_RANK)
    return td_status_set(st, TD_INVALID_ARGUMENT, "cannot allocate a tensor of rank %d", shape->rank);
  size_t n = 1;
  for (int i = 0; i < shape->rank; i++) {
    if (shape->dim[i] < 0) return td_status_set(st, TD_INVALID_ARGUMENT, "cannot allocate a tensor with unknown dimension");
    if (shape->dim[i] && n > TD_MAX_TENSOR_BYTES / (size_t)shape->dim[i])
      return td_status_set(st, TD_RESOURCE_EXHAUSTED, "tensor too large");
    n *= (size_t)shape->dim[i];
  }
  if (n > TD_MAX_TENSOR_BYTES / esize) return td_status_set(st, TD_RESOURCE_EXHAUSTED, "tensor too large");
  td_buffer *b = malloc(sizeof *b);
  void *data = zero ? calloc(n ? n : 1, esize) : malloc((n ? n : 1) * esize);
  if (!b || !data) {
    free(b);
    free(data);
    return td_status_set(st, TD_RESOURCE_EXHAUSTED, "OOM when allocating tensor with %zu elements of %s", n,
                         td_dtype_name(dtype));
  }
  atomic_init(&b->refs, 1);
  b->data = data;
  b->nbytes = n * esize;
  b->dtype = dtype;
  b->nelem = n;
  b->release = NULL;
  b->release_ctx = NULL;
  t->dtype = dtype;
  t->shape = *shape;
  t->data = data;
  t->buf = b;
  return TD_OK;
}

td_code td_tensor_alloc(td_tensor *t, td_dtype dtype, const td_shape *shape, td_status *st) {
  return tensor_alloc(t, dtype, shape, 1, st);
}

td_code td_tensor_alloc_uninit(td_tensor *t, td_dtype dtype, const td_shape *shape, td_status *st) {
  if (!td_dtype_is_plain(dtype))
    return td_status_set(st, TD_INVALID_ARGUMENT, "uninitialized storage for a tensor of %s", td_dtype_name(dtype));
  return tensor_alloc(t, dtype, shape, 0, st);
}

td_code td_tensor_external(td_tensor *t, td_dtype dtype, const td_shape *shape, void *data,
                           void (*release)(void *ctx), void *ctx, td_status *st) {
  td_tensor_clear(t);
  size_t esize = td_dtype_size(dtype);
  if (!esize || !td_dtype_is_plain(dtype) || !release)
    return td_status_set(st, TD_INVALID_ARGUMENT, "cannot wrap external memory as a tensor of dtype %d", dtype);
  int64_t n = td_shape_num_elements(shape);
  if (n < 0 || shape->rank > TD_MAX_RANK || (uint64_t)n > TD_MAX_TENSOR_BYTES / esize)
    return td_status_set(st, TD_INVALID_ARGUMENT, "cannot wrap external memory with this shape");
  td_buffer *b = td_xmalloc(sizeof *b);
  atomic_init(&b->refs, 1);
  b->data = data;
  b->nbytes = (size_t)n * esize;
  b->dtype = dtype;
  b->nelem = (size_t)n;
  b->release = release;
  b->release_ctx = ctx;
  *t = (td_tensor){.dtype = dtype, .shape = *shape, .data = data, .buf = b};
  return TD_OK;
}

int td_tensor_is_external(const td_tensor *t) { return t->buf && t->buf->release; }

td_tensor td_tensor_borrow(td_dtype dtype, const td_shape *shape, void *data) {
  return (td_tensor){.dtype = dtype, .shape = *shape, .data = data, .buf = NULL};
}

td_tensor td_tensor_ref(const td_tensor *t) {
  if (t->buf) atomic_fetch_add(&t->buf->refs, 1);
  return *t;
}

void td_tensor_release(td_tensor *t) {
  if (t->buf && atomic_fetch_sub(&t->buf->refs, 1) == 1) buffer_free(t->buf);
  td_tensor_clear(t);
}

int64_t td_tensor_num_elements(const td_tensor *t) { return td_shape_num_elements(&t->shape); }

size_t td_tensor_nbytes(const td_tensor *t) {
  int64_t n = td_tensor_num_elements(t);
  return n < 0 ? 0 : (size_t)n * td_dtype_size(t->dtype);
}

td_code td_tensor_copy(td_tensor *dst, const td_tensor *src, td_status *st) {
  TD_TRY(td_tensor_alloc(dst, src->dtype, &src->shape, st));
  int64_t n = td_tensor_num_elements(src);
  if (src->dtype == TD_DT_STRING) {
    for (int64_t i = 0; i < n; i++) td_tensor_set_string(dst, i, td_str(src)[i].data, td_str(src)[i].len);
  } else if (td_dtype_holds_resources(src->dtype)) {
    for (int64_t i = 0; i < n; i++) td_tensor_set_resource(dst, i, td_res(src)[i]);
  } else if (n > 0) {
    memcpy(dst->data, src->data, td_tensor_nbytes(src));
  }
  return TD_OK;
}

void td_tensor_set_string(td_tensor *t, int64_t i, const char *bytes, size_t len) {
  td_string *s = &td_str(t)[i];
  free(s->data);
  s->data = td_xmalloc(len + 1);
  if (len) memcpy(s->data, bytes, len);
  s->data[len] = 0;
  s->len = len;
}

void td_tensor_set_resource(td_tensor *t, int64_t i, td_resource *r) {
  td_resource **slot = &td_res(t)[i];
  if (r) td_resource_ref(r);
  td_resource_unref(*slot);
  *slot = r;
}

int64_t td_tensor_get_int(const td_tensor *t, int64_t i) {
  switch (t->dtype) {
    case TD_DT_INT32: case TD_DT_QINT32: return ((const int32_t *)t->data)[i];
    case TD_DT_INT64: return ((const int64_t *)t->data)[i];
    case TD_DT_INT16: case TD_DT_QINT16: return ((const int16_t *)t->data)[i];
    case TD_DT_INT8: case TD_DT_QINT8: return ((const int8_t *)t->data)[i];
    case TD_DT_UINT8: case TD_DT_QUINT8: case TD_DT_BOOL: return ((const uint8_t *)t->data)[i];
    case TD_DT_UINT16: case TD_DT_QUINT16: return ((const uint16_t *)t->data)[i];
    case TD_DT_UINT32: return ((const uint32_t *)t->data)[i];
    case TD_DT_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
    default: return (int64_t)td_tensor_get_double(t, i);
  }
}

double td_tensor_get_double(const td_tensor *t, int64_t i) {
  switch (t->dtype) {
    case TD_DT_FLOAT: return ((const float *)t->data)[i];
    case TD_DT_DOUBLE: return ((const double *)t->data)[i];
    case TD_DT_HALF: return td_half_to_float(((const uint16_t *)t->data)[i]);
    case TD_DT_BFLOAT16: return td_bf16_to_float(((const uint16_t *)t->data)[i]);
    case TD_DT_UINT64: return (double)((const uint64_t *)t->data)[i];
    case TD_DT_STRING: case TD_DT_RESOURCE: case TD_DT_VARIANT: case TD_DT_COMPLEX64: case TD_DT_COMPLEX128:
      return 0;
    default: return (double)td_tensor_get_int(t, i);
  }
}

/* double → int64 without undefined behaviour: NaN and out-of-range values give INT64_MIN (what
 * x86's cvttsd2si does); narrower integer types then wrap, as TF's static_cast of an int does. */
static int64_t double_to_i64(double v) {
  return v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? (int64_t)v : INT64_MIN;
}

static uint64_t double_to_u64(double v) {
  if (v >= 9223372036854775808.0 && v < 18446744073709551616.0) return (uint64_t)(v - 9223372036854775808.0) ^ (UINT64_C(1) << 63);
  return (uint64_t)double_to_i64(v);
}

void td_tensor_set_double(td_tensor *t, int64_t i, double v) {
  switch (t->dtype) {
    case TD_DT_FLOAT: ((float *)t->data)[i] = (float)v; break;
    case TD_DT_DOUBLE: ((double *)t->data)[i] = v; break;
    case TD_DT_HALF: ((uint16_t *)t->data)[i] = td_float_to_half((float)v); break;
    case TD_DT_BFLOAT16: ((uint16_t *)t->data)[i] = td_float_to_bf16((float)v); break;
    case TD_DT_INT32: case TD_DT_QINT32: ((int32_t *)t->data)[i] = (int32_t)double_to_i64(v); break;
    case TD_DT_INT64: ((int64_t *)t->data)[i] = double_to_i64(v); break;
    case TD_DT_INT16: case TD_DT_QINT16: ((int16_t *)t->data)[i] = (int16_t)double_to_i64(v); break;
    case TD_DT_INT8: case TD_DT_QINT8: ((int8_t *)t->data)[i] = (int8_t)double_to_i64(v); break;
    case TD_DT_UINT8: case TD_DT_QUINT8: ((uint8_t *)t->data)[i] = (uint8_t)double_to_i64(v); break;
    case TD_DT_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
    case TD_DT_UINT16: case TD_DT_QUINT16: ((uint16_t *)t->data)[i] = (uint16_t)double_to_i64(v); break;
    case TD_DT_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)double_to_i64(v); break;
    case TD_DT_UINT64: ((uint64_t *)t->data)[i] = double_to_u64(v); break;
    default: break;
  }
}
