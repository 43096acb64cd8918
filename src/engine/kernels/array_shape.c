/* array_shape.c — shape-only and generator kernels: Reshape, Shape, ShapeN, Size, Rank,
 * ExpandDims, Squeeze, Fill, Range.
 *
 * Invariants: Reshape / ExpandDims / Squeeze never copy data (td_k_forward views the input);
 * shape outputs are int32 or int64 per out_type; all size arithmetic is overflow-checked and
 * bad sizes fail with TF's messages instead of allocating.
 */
#include <math.h>
#include <string.h>

#include "engine/kernels/array_internal.h"

/* Writes the dims of s into vector output `out` (int32 or int64). */
static td_code write_dims(td_kctx *c, td_tensor *out, const int64_t *dims, int n) {
  for (int k = 0; k < n; k++) {
    if (out->dtype == TD_DT_INT64) {
      td_i64(out)[k] = dims[k];
    } else {
      if (dims[k] > INT32_MAX)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "Shape output type is 32-bit but dim %d is %lld", k,
                         (long long)dims[k]);
      td_i32(out)[k] = (int32_t)dims[k];
    }
  }
  return TD_OK;
}

static td_code check_out_type(td_kctx *c, td_dtype dt) {
  if (!td_array_is_index_dtype(dt))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "out_type must be int32 or int64, got %s", td_dtype_name(dt));
  return TD_OK;
}

td_code td_k_array_shape(td_kctx *c) {
  td_dtype dt = td_attr_type(td_k_node(c), "out_type", TD_DT_INT32);
  TD_TRY(check_out_type(c, dt));
  int n = td_k_num_outputs(c);
  for (int i = 0; i < n; i++) {
    const td_tensor *in = td_k_input(c, i);
    td_shape vs = td_shape_vector(in->shape.rank);
    td_tensor *out;
    TD_TRY(td_k_alloc_output(c, i, dt, &vs, &out));
    TD_TRY(write_dims(c, out, in->shape.dim, in->shape.rank));
  }
  return TD_OK;
}

td_code td_k_array_size(td_kctx *c) {
  td_dtype dt = td_attr_type(td_k_node(c), "out_type", TD_DT_INT32);
  TD_TRY(check_out_type(c, dt));
  int64_t n = td_tensor_num_elements(td_k_input(c, 0));
  td_shape ss = td_shape_scalar();
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, dt, &ss, &out));
  if (dt == TD_DT_INT32 && n > INT32_MAX)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Number of elements was larger than representable by 32-bit output type");
  return write_dims(c, out, &n, 1);
}

td_code td_k_array_rank(td_kctx *c) {
  td_shape ss = td_shape_scalar();
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_INT32, &ss, &out));
  td_i32(out)[0] = td_k_input(c, 0)->shape.rank;
  return TD_OK;
}

td_code td_k_array_reshape(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *sizes = td_k_input(c, 1);
  char sb[TD_ARRAY_SHAPE_BUF];
  if (sizes->shape.rank > 1 || !td_array_is_index_dtype(sizes->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "sizes input must be 1-D, not %s",
                     td_array_shape_str(&sizes->shape, sb, sizeof sb));
  int64_t n = td_tensor_num_elements(sizes);
  if (n > TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Reshape to rank %lld is not supported (max %d)", (long long)n, TD_MAX_RANK);
  td_shape shape = {.rank = (int)n};
  int unknown = -1, has_zero = 0;
  int64_t product = 1;
  for (int d = 0; d < shape.rank; d++) {
    int64_t size = td_array_index_at(sizes, d);
    shape.dim[d] = size;
    if (size == -1) {
      if (unknown != -1)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "Only one input size may be -1, not both %d and %d", unknown, d);
      unknown = d;
    } else if (size < 0) {
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Size %d must be non-negative, not %lld", d, (long long)size);
    } else if (size == 0) {
      has_zero = 1;
    } else if (__builtin_mul_overflow(product, size, &product)) {
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Reshape: requested shape overflows int64");
    }
  }
  int64_t in_n = td_tensor_num_elements(in);
  if (unknown != -1) {
    /* TF: zero dims of the input are ignored when the requested shape has a zero dim too. */
    int64_t counted = 1;
    int in_zero = 0;
    for (int d = 0; d < in->shape.rank; d++) {
      if (in->shape.dim[d] > 0 || !has_zero) counted *= in->shape.dim[d];
      else in_zero = 1;
    }
    int64_t missing = counted / product;
    if (!in_zero && product * missing != counted)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Input to reshape is a tensor with %lld values, but the requested shape requires a multiple of %lld",
                       (long long)counted, (long long)product);
    shape.dim[unknown] = missing;
  }
  int64_t out_n = td_shape_num_elements(&shape);
  if (out_n != in_n)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Input to reshape is a tensor with %lld values, but the requested shape has %lld",
                     (long long)in_n, (long long)out_n);
  return td_k_forward(c, 0, 0, &shape);
}

td_code td_k_array_expand_dims(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *dim_t = td_k_input(c, 1);
  if (td_tensor_num_elements(dim_t) != 1 || !td_array_is_index_dtype(dim_t->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "'dim' must be a tensor with a single value");
  int64_t dim = td_array_index_at(dim_t, 0);
  int rank = in->shape.rank;
  if (dim < -1 - rank || dim > rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Tried to expand dim index %lld for tensor with %d dimensions.",
                     (long long)dim, rank);
  if (rank >= TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "ExpandDims: rank %d exceeds the supported maximum %d", rank + 1, TD_MAX_RANK);
  if (dim < 0) dim += rank + 1;
  td_shape shape = {.rank = rank + 1};
  for (int k = 0, j = 0; k < rank + 1; k++) shape.dim[k] = k == dim ? 1 : in->shape.dim[j++];
  return td_k_forward(c, 0, 0, &shape);
}

td_code td_k_array_squeeze(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  int rank = in->shape.rank;
  const int64_t *dims;
  size_t ndims = td_attr_list_int(td_k_node(c), "squeeze_dims", &dims);
  if (!ndims) ndims = td_attr_list_int(td_k_node(c), "axis", &dims);
  int wanted[TD_MAX_RANK] = {0};
  for (size_t i = 0; i < ndims; i++) {
    if (dims[i] < -rank || dims[i] >= rank)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Tried to squeeze dim index %lld for tensor with %d dimensions.",
                       (long long)dims[i], rank);
    wanted[dims[i] < 0 ? dims[i] + rank : dims[i]] = 1;
  }
  td_shape shape = {.rank = 0};
  for (int k = 0; k < rank; k++) {
    int64_t d = in->shape.dim[k];
    if (ndims) {
      if (wanted[k]) {
        if (d != 1)
          return td_k_fail(c, TD_INVALID_ARGUMENT, "Can not squeeze dim[%d], expected a dimension of 1, got %lld", k,
                           (long long)d);
        continue;
      }
    } else if (d == 1) {
      continue;
    }
    shape.dim[shape.rank++] = d;
  }
  return td_k_forward(c, 0, 0, &shape);
}

td_code td_k_array_fill(td_kctx *c) {
  const td_tensor *dims = td_k_input(c, 0), *value = td_k_input(c, 1);
  char sb[TD_ARRAY_SHAPE_BUF];
  if (dims->shape.rank > 1 || !td_array_is_index_dtype(dims->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "dims must be a vector, got shape %s",
                     td_array_shape_str(&dims->shape, sb, sizeof sb));
  if (value->shape.rank != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "value must be a scalar, got shape %s",
                     td_array_shape_str(&value->shape, sb, sizeof sb));
  int64_t n = td_tensor_num_elements(dims);
  if (n > TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Fill: rank %lld exceeds the supported maximum %d", (long long)n, TD_MAX_RANK);
  td_shape shape = {.rank = (int)n};
  for (int k = 0; k < shape.rank; k++) shape.dim[k] = td_array_index_at(dims, k);
  int64_t total;
  TD_TRY(td_array_checked_elements(c, &shape, &total));
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, value->dtype, &shape, &out));
  td_array_fill(out, 0, total, value, 0);
  return TD_OK;
}

/* ---- Range: TF accumulates `val += delta` in T, so each dtype gets its own loop. ---- */

#define TD_ARRAY_RANGE_FILL(name, type)                                                        \
  static void name(void *out, int64_t n, double start, double delta) {                        \
    type *o = (type *)out, v = (type)start, d = (type)delta;                                   \
    for (int64_t i = 0; i < n; i++, v += d) o[i] = v;                                          \
  }
TD_ARRAY_RANGE_FILL(range_fill_f32, float)
TD_ARRAY_RANGE_FILL(range_fill_f64, double)

static void range_fill_i32(void *out, int64_t n, int64_t start, int64_t delta) {
  int32_t *o = out;
  for (int64_t i = 0; i < n; i++) o[i] = (int32_t)(start + i * delta);
}
static void range_fill_i64(void *out, int64_t n, int64_t start, int64_t delta) {
  int64_t *o = out;
  for (int64_t i = 0; i < n; i++) o[i] = start + i * delta;
}

static td_code range_scalar(td_kctx *c, int i, const char *what) {
  const td_tensor *t = td_k_input(c, i);
  char sb[TD_ARRAY_SHAPE_BUF];
  if (td_tensor_num_elements(t) != 1 || t->shape.rank > 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be a scalar, not shape %s", what,
                     td_array_shape_str(&t->shape, sb, sizeof sb));
  if (t->dtype != td_k_input(c, 0)->dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Range: all inputs must have the same dtype");
  return TD_OK;
}

#define TD_ARRAY_RANGE_MAX ((int64_t)1 << 40)

td_code td_k_array_range(td_kctx *c) {
  TD_TRY(range_scalar(c, 0, "start"));
  TD_TRY(range_scalar(c, 1, "limit"));
  TD_TRY(range_scalar(c, 2, "delta"));
  td_dtype dt = td_k_input(c, 0)->dtype;
  int is_int = td_array_is_index_dtype(dt);
  if (!is_int && dt != TD_DT_FLOAT && dt != TD_DT_DOUBLE)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Range does not support dtype %s", td_dtype_name(dt));
  int64_t n;
  if (is_int) {
    int64_t start = td_array_index_at(td_k_input(c, 0), 0), limit = td_array_index_at(td_k_input(c, 1), 0),
            delta = td_array_index_at(td_k_input(c, 2), 0);
    if (delta == 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Requires delta != 0: %lld", (long long)delta);
    if (delta > 0 && start > limit)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Requires start <= limit when delta > 0: %lld/%lld",
                       (long long)start, (long long)limit);
    if (delta < 0 && start < limit)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Requires start >= limit when delta < 0: %lld/%lld",
                       (long long)start, (long long)limit);
    uint64_t span = start < limit ? (uint64_t)limit - (uint64_t)start : (uint64_t)start - (uint64_t)limit;
    uint64_t step = delta < 0 ? 0 - (uint64_t)delta : (uint64_t)delta;
    uint64_t un = span / step + (span % step != 0);
    if (un > (uint64_t)TD_ARRAY_RANGE_MAX)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Requires ((limit - start) / delta) <= %lld", (long long)TD_ARRAY_RANGE_MAX);
    n = (int64_t)un;
    td_shape vs = td_shape_vector(n);
    td_tensor *out;
    TD_TRY(td_k_alloc_output(c, 0, dt, &vs, &out));
    (dt == TD_DT_INT64 ? range_fill_i64 : range_fill_i32)(out->data, n, start, delta);
    return TD_OK;
  }
  double start = td_tensor_get_double(td_k_input(c, 0), 0), limit = td_tensor_get_double(td_k_input(c, 1), 0),
         delta = td_tensor_get_double(td_k_input(c, 2), 0);
  if (delta == 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Requires delta != 0: %g", delta);
  if (delta > 0 && start > limit)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Requires start <= limit when delta > 0: %g/%g", start, limit);
  if (delta < 0 && start < limit)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Requires start >= limit when delta < 0: %g/%g", start, limit);
  double size = dt == TD_DT_FLOAT ? (double)ceilf(fabsf((float)((float)limit - (float)start) / (float)delta))
                                  : ceil(fabs((limit - start) / delta));
  if (!(size <= (double)TD_ARRAY_RANGE_MAX))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Requires ((limit - start) / delta) <= %lld", (long long)TD_ARRAY_RANGE_MAX);
  n = (int64_t)size;
  td_shape vs = td_shape_vector(n);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, dt, &vs, &out));
  (dt == TD_DT_FLOAT ? range_fill_f32 : range_fill_f64)(out->data, n, start, delta);
  return TD_OK;
}
