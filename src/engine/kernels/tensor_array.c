/* tensor_array.c — TF1 TensorArrayV3 and its ops (Write, Read, Gather, Scatter, Concat, Split,
 * Size, Close).
 *
 * A TensorArray is a resource (kind "tensor_array") created fresh by every TensorArrayV3
 * execution and owned only by its handle tensor (a RESOURCE scalar): it lives as long as some
 * value in the run holds the handle, so concurrent runs never share one (TF also scopes
 * TensorArrays to one step). The flow output/input is a float scalar (0) that only orders
 * the ops. Elements are tensor references; a written element is immutable. TF's rules: an
 * index is written at most once; reading an unwritten index fails; with clear_after_read a
 * read empties the element; dynamic_size arrays grow on write; Gather needs equal shapes.
 * A mutex per array guards its elements (runs are single-threaded, but handles may escape).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "util/mem.h"

static const char kTensorArrayKind[] = "tensor_array";

typedef struct tensor_array {
  td_resource base;
  pthread_mutex_t mu;
  td_dtype dtype;
  int dynamic_size, clear_after_read;
  int64_t size;
  td_tensor *elems; /* size entries; dtype INVALID = not written (or cleared) */
  unsigned char *written;
  td_shape element_shape; /* rank -1 = unknown */
} tensor_array;

static void tensor_array_destroy(td_resource *r) {
  tensor_array *ta = (tensor_array *)r;
  for (int64_t i = 0; i < ta->size; i++) td_tensor_release(&ta->elems[i]);
  free(ta->elems);
  free(ta->written);
  pthread_mutex_destroy(&ta->mu);
  free(ta);
}

static td_code scalar_flow(td_kctx *c, int out) {
  td_tensor *flow;
  td_shape scalar = td_shape_scalar();
  return td_k_alloc_output(c, out, TD_DT_FLOAT, &scalar, &flow);
}

static td_code read_int_scalar(td_kctx *c, int in, const char *what, int64_t *out) {
  const td_tensor *t = td_k_input(c, in);
  if (t->dtype != TD_DT_INT32 || td_tensor_num_elements(t) != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be an int32 scalar", what);
  *out = td_i32(t)[0];
  return TD_OK;
}

td_code td_k_tensor_array(td_kctx *c) {
  int64_t size = 0;
  TD_TRY(read_int_scalar(c, 0, "TensorArray size", &size));
  if (size < 0 || size > ((int64_t)1 << 31)) return td_k_fail(c, TD_INVALID_ARGUMENT, "Size should be >= 0.");
  const td_node *n = td_k_node(c);
  tensor_array *ta = td_xcalloc(1, sizeof *ta);
  atomic_init(&ta->base.refs, 1);
  ta->base.kind = kTensorArrayKind;
  ta->base.name = td_xstrdup(td_node_name(n));
  ta->base.destroy = tensor_array_destroy;
  pthread_mutex_init(&ta->mu, NULL);
  ta->dtype = td_attr_type(n, "dtype", TD_DT_INVALID);
  ta->dynamic_size = td_attr_bool(n, "dynamic_size", false);
  ta->clear_after_read = td_attr_bool(n, "clear_after_read", true);
  ta->size = size;
  ta->elems = td_xcalloc((size_t)size + 1, sizeof *ta->elems);
  ta->written = td_xcalloc((size_t)size + 1, 1);
  ta->element_shape.rank = -1;
  const Tensorflow__TensorShapeProto *sp = td_attr_shape(n, "element_shape");
  td_status st;
  if (sp && td_shape_from_proto(sp, &ta->element_shape, &st) != TD_OK) ta->element_shape.rank = -1;
  td_tensor handle;
  td_shape scalar = td_shape_scalar();
  if (td_tensor_alloc(&handle, TD_DT_RESOURCE, &scalar, &st) != TD_OK) {
    td_resource_unref(&ta->base);
    return td_k_fail(c, st.code, "%s", st.msg);
  }
  td_tensor_set_resource(&handle, 0, &ta->base);
  td_resource_unref(&ta->base); /* the handle holds it now */
  td_k_set_output(c, 0, &handle);
  td_tensor_release(&handle);
  return scalar_flow(c, 1);
}

static td_code input_array(td_kctx *c, tensor_array **out) {
  const td_tensor *h = td_k_input(c, 0);
  if (h->dtype != TD_DT_RESOURCE || td_tensor_num_elements(h) != 1 || !td_res(h)[0])
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s: handle is not a TensorArray handle", td_node_op(td_k_node(c)));
  td_resource *r = td_res(h)[0];
  if (r->kind != kTensorArrayKind && strcmp(r->kind, kTensorArrayKind))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "resource '%s' is a %s, not a TensorArray", r->name, r->kind);
  *out = (tensor_array *)r;
  return TD_OK;
}

/* Stores a new reference to v at index (growing a dynamic array); caller holds ta->mu. */
static td_code store_locked(td_kctx *c, tensor_array *ta, int64_t index, const td_tensor *v) {
  if (v->dtype != ta->dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "TensorArray dtype is %s but Op is trying to write dtype %s",
                     td_dtype_name(ta->dtype), td_dtype_name(v->dtype));
  if (index < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Tried to write to index %lld", (long long)index);
  if (index >= ta->size) {
    if (!ta->dynamic_size || index >= ((int64_t)1 << 31))
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Tried to write to index %lld but array is not resizeable and size is: %lld",
                       (long long)index, (long long)ta->size);
    int64_t grown = index + 1;
    ta->elems = td_xrealloc(ta->elems, (size_t)grown * sizeof *ta->elems);
    ta->written = td_xrealloc(ta->written, (size_t)grown);
    memset(ta->elems + ta->size, 0, (size_t)(grown - ta->size) * sizeof *ta->elems);
    memset(ta->written + ta->size, 0, (size_t)(grown - ta->size));
    ta->size = grown;
  }
  if (ta->written[index])
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Could not write to TensorArray index %lld because it has already been written to.",
                     (long long)index);
  td_status st;
  td_tensor owned;
  if (v->buf) owned = td_tensor_ref(v);
  else if (td_tensor_copy(&owned, v, &st) != TD_OK) return td_k_fail(c, st.code, "%s", st.msg);
  ta->elems[index] = owned;
  ta->written[index] = 1;
  return TD_OK;
}

td_code td_k_tensor_array_write(td_kctx *c) {
  tensor_array *ta = NULL;
  int64_t index = 0;
  TD_TRY(input_array(c, &ta));
  TD_TRY(read_int_scalar(c, 1, "index", &index));
  pthread_mutex_lock(&ta->mu);
  td_code code = store_locked(c, ta, index, td_k_input(c, 2));
  pthread_mutex_unlock(&ta->mu);
  return code != TD_OK ? code : scalar_flow(c, 0);
}

/* The element at index, checked; caller holds ta->mu. */
static td_code element_locked(td_kctx *c, tensor_array *ta, int64_t index, const td_tensor **out) {
  if (index < 0 || index >= ta->size)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Tried to read from index %lld but array size is: %lld",
                     (long long)index, (long long)ta->size);
  if (ta->elems[index].dtype == TD_DT_INVALID)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     ta->written[index] ? "Could not read index %lld twice because it was cleared after a previous read "
                                          "(perhaps try setting clear_after_read = false?)."
                                        : "Could not read from TensorArray index %lld because it has not yet been written to.",
                     (long long)index);
  *out = &ta->elems[index];
  return TD_OK;
}

td_code td_k_tensor_array_read(td_kctx *c) {
  tensor_array *ta = NULL;
  int64_t index = 0;
  TD_TRY(input_array(c, &ta));
  TD_TRY(read_int_scalar(c, 1, "index", &index));
  pthread_mutex_lock(&ta->mu);
  const td_tensor *e = NULL;
  td_code code = element_locked(c, ta, index, &e);
  if (code == TD_OK) {
    td_k_set_output(c, 0, e);
    if (ta->clear_after_read) td_tensor_release(&ta->elems[index]);
  }
  pthread_mutex_unlock(&ta->mu);
  return code;
}

/* Copies element `src` (all of it) into row `row` of `dst` (same dtype, row size = src size). */
static void copy_row(td_tensor *dst, int64_t row, const td_tensor *src) {
  int64_t n = td_tensor_num_elements(src);
  if (src->dtype == TD_DT_STRING) {
    for (int64_t i = 0; i < n; i++) td_tensor_set_string(dst, row * n + i, td_str(src)[i].data, td_str(src)[i].len);
  } else {
    size_t bytes = td_tensor_nbytes(src);
    memcpy((char *)dst->data + (size_t)row * bytes, src->data, bytes);
  }
}

td_code td_k_tensor_array_gather(td_kctx *c) {
  tensor_array *ta = NULL;
  TD_TRY(input_array(c, &ta));
  const td_tensor *indices = td_k_input(c, 1);
  if (indices->dtype != TD_DT_INT32 || indices->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "indices must be an int32 vector");
  int64_t n = indices->shape.dim[0];
  pthread_mutex_lock(&ta->mu);
  td_code code = TD_OK;
  td_shape elem = ta->element_shape;
  for (int64_t i = 0; i < n && code == TD_OK; i++) {
    const td_tensor *e = NULL;
    code = element_locked(c, ta, td_i32(indices)[i], &e);
    if (code != TD_OK) break;
    if (i == 0) elem = e->shape;
    else if (!td_shape_equal(&elem, &e->shape))
      code = td_k_fail(c, TD_INVALID_ARGUMENT, "TensorArray has inconsistent shapes: index 0 and %lld differ",
                       (long long)i);
  }
  if (code == TD_OK && (elem.rank < 0 || elem.rank >= TD_MAX_RANK || td_shape_num_elements(&elem) < 0))
    code = td_k_fail(c, TD_UNIMPLEMENTED, "TensorArray has size zero, but element shape is not fully defined.");
  td_tensor owned = {0};
  if (code == TD_OK) {
    td_shape shape = {.rank = elem.rank + 1};
    shape.dim[0] = n;
    for (int d = 0; d < elem.rank; d++) shape.dim[d + 1] = elem.dim[d];
    td_status st;
    if (td_tensor_alloc(&owned, ta->dtype, &shape, &st) != TD_OK) code = td_k_fail(c, st.code, "%s", st.msg);
  }
  for (int64_t i = 0; i < n && code == TD_OK; i++) copy_row(&owned, i, &ta->elems[td_i32(indices)[i]]);
  pthread_mutex_unlock(&ta->mu);
  if (code == TD_OK) td_k_set_output(c, 0, &owned);
  td_tensor_release(&owned);
  return code;
}

td_code td_k_tensor_array_scatter(td_kctx *c) {
  tensor_array *ta = NULL;
  TD_TRY(input_array(c, &ta));
  const td_tensor *indices = td_k_input(c, 1), *value = td_k_input(c, 2);
  if (indices->dtype != TD_DT_INT32 || indices->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "indices must be an int32 vector");
  int64_t n = indices->shape.dim[0];
  if (value->shape.rank < 1 || value->shape.dim[0] != n)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected len(indices) == values.shape[0], but saw: %lld vs. %lld",
                     (long long)n, (long long)(value->shape.rank < 1 ? 0 : value->shape.dim[0]));
  td_shape elem = {.rank = value->shape.rank - 1};
  for (int d = 1; d < value->shape.rank; d++) elem.dim[d - 1] = value->shape.dim[d];
  int64_t per = td_shape_num_elements(&elem);
  size_t row_bytes = (size_t)per * td_dtype_size(value->dtype);
  td_code code = TD_OK;
  pthread_mutex_lock(&ta->mu);
  for (int64_t i = 0; i < n && code == TD_OK; i++) {
    td_tensor row;
    td_status st;
    if (td_tensor_alloc(&row, value->dtype, &elem, &st) != TD_OK) {
      code = td_k_fail(c, st.code, "%s", st.msg);
      break;
    }
    if (value->dtype == TD_DT_STRING)
      for (int64_t j = 0; j < per; j++) {
        const td_string *s = &td_str(value)[i * per + j];
        td_tensor_set_string(&row, j, s->data, s->len);
      }
    else
      memcpy(row.data, (const char *)value->data + (size_t)i * row_bytes, row_bytes);
    code = store_locked(c, ta, td_i32(indices)[i], &row);
    td_tensor_release(&row);
  }
  pthread_mutex_unlock(&ta->mu);
  return code != TD_OK ? code : scalar_flow(c, 0);
}

td_code td_k_tensor_array_size(td_kctx *c) {
  tensor_array *ta = NULL;
  TD_TRY(input_array(c, &ta));
  td_tensor *out;
  td_shape scalar = td_shape_scalar();
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_INT32, &scalar, &out));
  pthread_mutex_lock(&ta->mu);
  td_i32(out)[0] = (int32_t)ta->size;
  pthread_mutex_unlock(&ta->mu);
  return TD_OK;
}

td_code td_k_tensor_array_close(td_kctx *c) {
  tensor_array *ta = NULL;
  TD_TRY(input_array(c, &ta));
  pthread_mutex_lock(&ta->mu);
  for (int64_t i = 0; i < ta->size; i++) td_tensor_release(&ta->elems[i]);
  pthread_mutex_unlock(&ta->mu);
  return TD_OK;
}

/* Copies rows [row0, row0+rows) of the row-major tensor src (row = `per` elements) to dst at
 * element offset `at`. */
static void copy_rows(td_tensor *dst, int64_t at, const td_tensor *src, int64_t row0, int64_t rows, int64_t per) {
  int64_t n = rows * per, from = row0 * per;
  if (src->dtype == TD_DT_STRING) {
    for (int64_t i = 0; i < n; i++)
      td_tensor_set_string(dst, at + i, td_str(src)[from + i].data, td_str(src)[from + i].len);
  } else {
    size_t es = td_dtype_size(src->dtype);
    memcpy((char *)dst->data + (size_t)at * es, (const char *)src->data + (size_t)from * es, (size_t)n * es);
  }
}

/* Shape without dimension 0. */
static td_shape except0(const td_shape *s) {
  td_shape r = {.rank = s->rank - 1};
  for (int d = 1; d < s->rank; d++) r.dim[d - 1] = s->dim[d];
  return r;
}

/* TensorArrayConcatV3: all elements (each at least a vector, equal shapes after dimension 0)
 * joined along dimension 0; lengths[i] = element i's dimension 0. */
td_code td_k_tensor_array_concat(td_kctx *c) {
  tensor_array *ta = NULL;
  TD_TRY(input_array(c, &ta));
  const td_node *n = td_k_node(c);
  pthread_mutex_lock(&ta->mu);
  td_code code = TD_OK;
  td_shape rest = {.rank = -1};
  int64_t total = 0, size = ta->size;
  for (int64_t i = 0; i < size && code == TD_OK; i++) {
    const td_tensor *e = NULL;
    code = element_locked(c, ta, i, &e);
    if (code != TD_OK) break;
    if (e->shape.rank < 1) {
      code = td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Concat saw a scalar shape at index %lld but requires at least vectors.  Did you mean to call "
                       "stack?",
                       (long long)i);
      break;
    }
    td_shape r = except0(&e->shape);
    if (i == 0) rest = r;
    else if (!td_shape_equal(&rest, &r)) {
      char a[160], b[160];
      code = td_k_fail(c, TD_INVALID_ARGUMENT,
                       "TensorArray has inconsistent shapes.  Index 0 has (excepting dimension 0) shape: %s but index "
                       "%lld has (excepting dimension 0) shape: %s",
                       td_shape_str(&rest, a, sizeof a), (long long)i, td_shape_str(&r, b, sizeof b));
    }
    total += e->shape.dim[0];
  }
  if (code == TD_OK && size == 0) {
    const Tensorflow__TensorShapeProto *sp = td_attr_shape(n, "element_shape_except0");
    td_status st;
    if (!sp || td_shape_from_proto(sp, &rest, &st) != TD_OK || rest.rank < 0 || rest.rank >= TD_MAX_RANK ||
        td_shape_num_elements(&rest) < 0)
      code = td_k_fail(c, TD_UNIMPLEMENTED,
                       "TensorArray has size zero, but element_shape_except0 is not fully defined. Currently only "
                       "static shapes are supported when concatenating zero-size TensorArrays.");
  }
  td_tensor value = {0}, *lengths = NULL;
  if (code == TD_OK) {
    td_shape shape = {.rank = rest.rank + 1};
    shape.dim[0] = total;
    for (int d = 0; d < rest.rank; d++) shape.dim[d + 1] = rest.dim[d];
    td_shape lshape = td_shape_vector(size);
    td_status st;
    if (td_tensor_alloc(&value, ta->dtype, &shape, &st) != TD_OK) code = td_k_fail(c, st.code, "%s", st.msg);
    else code = td_k_alloc_output(c, 1, TD_DT_INT64, &lshape, &lengths);
  }
  if (code == TD_OK) {
    int64_t per = td_shape_num_elements(&rest), at = 0;
    for (int64_t i = 0; i < size; i++) {
      const td_tensor *e = &ta->elems[i];
      td_i64(lengths)[i] = e->shape.dim[0];
      copy_rows(&value, at, e, 0, e->shape.dim[0], per);
      at += e->shape.dim[0] * per;
      if (ta->clear_after_read) td_tensor_release(&ta->elems[i]);
    }
  }
  pthread_mutex_unlock(&ta->mu);
  if (code == TD_OK) td_k_set_output(c, 0, &value);
  td_tensor_release(&value);
  return code;
}

/* TensorArraySplitV3: element i = rows [sum(lengths[:i]), sum(lengths[:i+1])) of value. */
td_code td_k_tensor_array_split(td_kctx *c) {
  tensor_array *ta = NULL;
  TD_TRY(input_array(c, &ta));
  const td_tensor *value = td_k_input(c, 1), *lengths = td_k_input(c, 2);
  char buf[160];
  if (lengths->shape.rank != 1 || lengths->dtype != TD_DT_INT64)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected lengths to be a vector, received shape: %s",
                     td_shape_str(&lengths->shape, buf, sizeof buf));
  if (value->shape.rank < 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected value to be at least a vector, but received shape: %s",
                     td_shape_str(&value->shape, buf, sizeof buf));
  int64_t count = lengths->shape.dim[0], sum = 0;
  for (int64_t i = 0; i < count; i++) {
    int64_t l = td_i64(lengths)[i];
    if (l < 0 || l > value->shape.dim[0] || sum > value->shape.dim[0] - l) {
      sum = -1;
      break;
    }
    sum += l;
  }
  if (sum != value->shape.dim[0])
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Expected sum of lengths to be equal to values.shape[0], but sum of lengths is: %lld and value's "
                     "shape is: %s",
                     (long long)sum, td_shape_str(&value->shape, buf, sizeof buf));
  td_shape rest = except0(&value->shape);
  int64_t per = td_shape_num_elements(&rest), row = 0;
  td_code code = TD_OK;
  pthread_mutex_lock(&ta->mu);
  if (!ta->dynamic_size && ta->size != count)
    code = td_k_fail(c, TD_INVALID_ARGUMENT,
                     "TensorArray's size is not equal to the size of lengths (%lld vs. %lld), and the TensorArray is "
                     "not marked as dynamically resizeable",
                     (long long)ta->size, (long long)count);
  for (int64_t i = 0; i < count && code == TD_OK; i++) {
    int64_t l = td_i64(lengths)[i];
    td_shape shape = {.rank = value->shape.rank};
    shape.dim[0] = l;
    for (int d = 0; d < rest.rank; d++) shape.dim[d + 1] = rest.dim[d];
    td_tensor part;
    td_status st;
    if (td_tensor_alloc(&part, value->dtype, &shape, &st) != TD_OK) {
      code = td_k_fail(c, st.code, "%s", st.msg);
      break;
    }
    copy_rows(&part, 0, value, row, l, per);
    row += l;
    code = store_locked(c, ta, i, &part);
    td_tensor_release(&part);
  }
  pthread_mutex_unlock(&ta->mu);
  return code != TD_OK ? code : scalar_flow(c, 0);
}
