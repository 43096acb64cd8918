/* tensor_proto.c — TensorProto <-> td_tensor, following TF's decoding rules:
 * tensor_content wins; otherwise the typed *_val field, whose last value repeats to fill
 * the shape; no values = zeros; more values than elements = INVALID_ARGUMENT.
 * Repeating (or zero-filling) lets a few bytes describe a huge tensor, so the bytes a decode
 * will materialize are computed first, in real bytes (a STRING element is sizeof(td_string)
 * plus a copy of its bytes and a NUL, repeated fills included), and charged to the request's
 * budget (util/budget.h) before anything is allocated. Without a budget (model files, tools)
 * a filled tensor may not exceed MAX_FILLED_BYTES (RESOURCE_EXHAUSTED). */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/budget.h"
#include "util/mem.h"

#define MAX_FILLED_BYTES ((int64_t)256 << 20)

td_code td_shape_from_proto(const Tensorflow__TensorShapeProto *p, td_shape *out, td_status *st) {
  memset(out, 0, sizeof *out);
  if (!p) return TD_OK; /* absent shape = scalar */
  if (p->unknown_rank) {
    out->rank = -1;
    return TD_OK;
  }
  if (p->n_dim > TD_MAX_RANK)
    return td_status_set(st, TD_INVALID_ARGUMENT, "tensor rank %zu exceeds the supported maximum of %d",
                         p->n_dim, TD_MAX_RANK);
  out->rank = (int)p->n_dim;
  for (size_t i = 0; i < p->n_dim; i++) out->dim[i] = p->dim[i]->size < 0 ? -1 : p->dim[i]->size;
  return TD_OK;
}

/* Typed value field for a dtype: count and element reader. */
typedef struct typed_vals {
  size_t n;
  const void *v;
  int kind; /* 0 float, 1 double, 2 int32, 3 int64, 4 bool, 5 uint32, 6 uint64, 7 half bits */
} typed_vals;

static typed_vals vals_for(const Tensorflow__TensorProto *p, td_dtype dt) {
  switch (dt) {
    case TD_DT_FLOAT: return (typed_vals){p->n_float_val, p->float_val, 0};
    case TD_DT_DOUBLE: return (typed_vals){p->n_double_val, p->double_val, 1};
    case TD_DT_INT32: case TD_DT_INT16: case TD_DT_INT8: case TD_DT_UINT8: case TD_DT_UINT16:
    case TD_DT_QINT8: case TD_DT_QUINT8: case TD_DT_QINT16: case TD_DT_QUINT16: case TD_DT_QINT32:
      return (typed_vals){p->n_int_val, p->int_val, 2};
    case TD_DT_INT64: return (typed_vals){p->n_int64_val, p->int64_val, 3};
    case TD_DT_BOOL: return (typed_vals){p->n_bool_val, p->bool_val, 4};
    case TD_DT_UINT32: return (typed_vals){p->n_uint32_val, p->uint32_val, 5};
    case TD_DT_UINT64: return (typed_vals){p->n_uint64_val, p->uint64_val, 6};
    case TD_DT_HALF: case TD_DT_BFLOAT16: return (typed_vals){p->n_half_val, p->half_val, 7};
    case TD_DT_COMPLEX64: return (typed_vals){p->n_scomplex_val / 2, p->scomplex_val, 8}; /* (re, im) pairs */
    case TD_DT_COMPLEX128: return (typed_vals){p->n_dcomplex_val / 2, p->dcomplex_val, 9};
    default: return (typed_vals){0, NULL, -1};
  }
}

static void put_typed(td_tensor *t, int64_t i, const typed_vals *tv, size_t j) {
  switch (tv->kind) {
    case 0: td_tensor_set_double(t, i, ((const float *)tv->v)[j]); break;
    case 1: td_tensor_set_double(t, i, ((const double *)tv->v)[j]); break;
    case 2: td_tensor_set_double(t, i, ((const int32_t *)tv->v)[j]); break;
    case 3: if (t->dtype == TD_DT_INT64) td_i64(t)[i] = ((const int64_t *)tv->v)[j];
            else td_tensor_set_double(t, i, (double)((const int64_t *)tv->v)[j]);
            break;
    case 4: td_tensor_set_double(t, i, ((const protobuf_c_boolean *)tv->v)[j] ? 1 : 0); break;
    case 5: td_tensor_set_double(t, i, ((const uint32_t *)tv->v)[j]); break;
    case 6: ((uint64_t *)t->data)[i] = ((const uint64_t *)tv->v)[j]; break;
    case 7: ((uint16_t *)t->data)[i] = (uint16_t)((const int32_t *)tv->v)[j]; break;
    case 8: memcpy((float *)t->data + 2 * i, (const float *)tv->v + 2 * j, 2 * sizeof(float)); break;
    case 9: memcpy((double *)t->data + 2 * i, (const double *)tv->v + 2 * j, 2 * sizeof(double)); break;
  }
}

/* Bytes decoding p (dtype dt, n elements, `given` values) stores: strings in full. */
static int64_t materialized_bytes(const Tensorflow__TensorProto *p, td_dtype dt, int64_t n) {
  if (dt != TD_DT_STRING) {
    size_t esz = dt == TD_DT_RESOURCE ? sizeof(void *) : td_dtype_size(dt);
    return td_budget_bytes(n, (int64_t)esz, 0);
  }
  int64_t bytes = td_budget_bytes(n, (int64_t)sizeof(td_string), 0);
  size_t given = p->n_string_val < (uint64_t)n ? p->n_string_val : (size_t)n;
  for (size_t j = 0; j < given; j++) bytes = td_budget_bytes(1, (int64_t)p->string_val[j].len + 1, bytes);
  if (given && (int64_t)given < n)
    bytes = td_budget_bytes(n - (int64_t)given, (int64_t)p->string_val[given - 1].len + 1, bytes);
  return bytes;
}

td_code td_tensor_from_proto(const Tensorflow__TensorProto *p, td_tensor *out, td_status *st) {
  return td_tensor_from_proto_budget(p, out, NULL, NULL, st);
}

td_code td_tensor_from_proto_budget(const Tensorflow__TensorProto *p, td_tensor *out, td_budget *budget,
                                    const char *what, td_status *st) {
  memset(out, 0, sizeof *out);
  td_dtype dt = (td_dtype)p->dtype;
  if (!td_dtype_valid(dt) || dt == TD_DT_VARIANT)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Unsupported or invalid tensor dtype %s (%d)",
                         td_dtype_enum_name(dt), (int)p->dtype);
  td_shape shape;
  TD_TRY(td_shape_from_proto(p->tensor_shape, &shape, st));
  if (shape.rank < 0) return td_status_set(st, TD_INVALID_ARGUMENT, "TensorProto has an unknown rank");
  for (int i = 0; i < shape.rank; i++)
    if (shape.dim[i] < 0) return td_status_set(st, TD_INVALID_ARGUMENT, "TensorProto has a negative dimension");
  int64_t elems = td_shape_num_elements(&shape);
  size_t given = dt == TD_DT_STRING ? p->n_string_val
                 : p->tensor_content.len ? p->tensor_content.len / (td_dtype_size(dt) ? td_dtype_size(dt) : 1)
                                          : vals_for(p, dt).n;
  if ((int64_t)given > elems && elems >= 0 && dt != TD_DT_RESOURCE && !p->tensor_content.len)
    return td_status_set(st, TD_INVALID_ARGUMENT, "TensorProto holds more values than its shape has elements");
  int64_t bytes = materialized_bytes(p, dt, elems < 0 ? INT64_MAX : elems);
  if (budget) {
    TD_TRY(td_budget_charge(budget, 1, bytes, what ? what : "a TensorProto", st));
  } else if ((int64_t)given < elems && bytes > MAX_FILLED_BYTES) {
    return td_status_set(st, TD_RESOURCE_EXHAUSTED,
                         "TensorProto of %lld elements with %zu values given: filling it would take more than %lld "
                         "bytes",
                         (long long)elems, given, (long long)MAX_FILLED_BYTES);
  }
  TD_TRY(td_tensor_alloc(out, dt, &shape, st));
  int64_t n = td_tensor_num_elements(out);
  if (dt == TD_DT_STRING) {
    if ((int64_t)p->n_string_val > n) goto too_many;
    for (int64_t i = 0; i < n && p->n_string_val; i++) {
      size_t j = (size_t)i < p->n_string_val ? (size_t)i : p->n_string_val - 1;
      td_tensor_set_string(out, i, (const char *)p->string_val[j].data, p->string_val[j].len);
    }
    return TD_OK;
  }
  if (dt == TD_DT_RESOURCE) return TD_OK; /* handles cannot be materialized from protos */
  if (p->tensor_content.len) {
    if (p->tensor_content.len != td_tensor_nbytes(out)) {
      td_tensor_release(out);
      return td_status_set(st, TD_INVALID_ARGUMENT,
                           "tensor_content holds %zu bytes but the shape needs %zu", p->tensor_content.len,
                           (size_t)n * td_dtype_size(dt));
    }
    memcpy(out->data, p->tensor_content.data, p->tensor_content.len);
    return TD_OK;
  }
  typed_vals tv = vals_for(p, dt);
  if ((int64_t)tv.n > n) goto too_many;
  for (int64_t i = 0; i < n && tv.n; i++) put_typed(out, i, &tv, (size_t)i < tv.n ? (size_t)i : tv.n - 1);
  return TD_OK;
too_many:
  td_tensor_release(out);
  return td_status_set(st, TD_INVALID_ARGUMENT, "TensorProto holds more values than its shape has elements");
}

td_code td_tensor_to_proto(const td_tensor *t, int as_content, Tensorflow__TensorProto **out, td_status *st) {
  *out = NULL;
  td_dtype dt = td_dtype_base(t->dtype);
  if (dt != t->dtype) return td_status_set(st, TD_INVALID_ARGUMENT, "cannot encode a reference tensor");
  Tensorflow__TensorProto *p = td_xmalloc(sizeof *p);
  tensorflow__tensor_proto__init(p);
  p->dtype = (Tensorflow__DataType)dt;
  Tensorflow__TensorShapeProto *sp = td_xmalloc(sizeof *sp);
  tensorflow__tensor_shape_proto__init(sp);
  p->tensor_shape = sp;
  if (t->shape.rank > 0) {
    sp->n_dim = (size_t)t->shape.rank;
    sp->dim = td_xcalloc(sp->n_dim, sizeof *sp->dim);
    for (int i = 0; i < t->shape.rank; i++) {
      sp->dim[i] = td_xmalloc(sizeof *sp->dim[i]);
      tensorflow__tensor_shape_proto__dim__init(sp->dim[i]);
      sp->dim[i]->size = t->shape.dim[i];
    }
  }
  int64_t n = td_tensor_num_elements(t);
  size_t un = (size_t)(n > 0 ? n : 0);
  if (dt == TD_DT_STRING) {
    p->n_string_val = un;
    p->string_val = td_xcalloc(un ? un : 1, sizeof *p->string_val);
    for (size_t i = 0; i < un; i++) {
      td_string s = td_str(t)[i];
      p->string_val[i].data = td_xmalloc(s.len + 1);
      if (s.len) memcpy(p->string_val[i].data, s.data, s.len);
      p->string_val[i].len = s.len;
    }
    *out = p;
    return TD_OK;
  }
  if (dt == TD_DT_RESOURCE || dt == TD_DT_VARIANT) {
    tensorflow__tensor_proto__free_unpacked(p, NULL);
    return td_status_set(st, TD_INVALID_ARGUMENT, "cannot encode a %s tensor", td_dtype_name(dt));
  }
  size_t nbytes = td_tensor_nbytes(t);
  if (as_content) {
    p->tensor_content.data = td_xmalloc(nbytes ? nbytes : 1);
    if (nbytes) memcpy(p->tensor_content.data, t->data, nbytes);
    p->tensor_content.len = nbytes;
    *out = p;
    return TD_OK;
  }
  typed_vals tv = vals_for(p, dt);
  switch (tv.kind) {
#define FILL(field, ctype, expr)                                         \
  p->n_##field = un;                                                    \
  p->field = td_xcalloc(un ? un : 1, sizeof(ctype));                    \
  for (size_t i = 0; i < un; i++) p->field[i] = (ctype)(expr);          \
  break;
    case 0: FILL(float_val, float, td_f32(t)[i])
    case 1: FILL(double_val, double, td_f64(t)[i])
    case 2: FILL(int_val, int32_t, td_tensor_get_int(t, (int64_t)i))
    case 3: FILL(int64_val, int64_t, td_i64(t)[i])
    case 4: FILL(bool_val, protobuf_c_boolean, td_u8(t)[i] != 0)
    case 5: FILL(uint32_val, uint32_t, ((const uint32_t *)t->data)[i])
    case 6: FILL(uint64_val, uint64_t, ((const uint64_t *)t->data)[i])
    case 7: FILL(half_val, int32_t, ((const uint16_t *)t->data)[i])
    case 8: un *= 2; FILL(scomplex_val, float, ((const float *)t->data)[i])
    case 9: un *= 2; FILL(dcomplex_val, double, ((const double *)t->data)[i])
#undef FILL
    default:
      tensorflow__tensor_proto__free_unpacked(p, NULL);
      return td_status_set(st, TD_INVALID_ARGUMENT, "cannot encode a %s tensor", td_dtype_name(dt));
  }
  *out = p;
  return TD_OK;
}
