/* tensor_list_ops.c — whole-list TensorList ops: Stack, Gather, Concat(V2) (reads into one
 * dense tensor; uninitialized items read as zeros) and Scatter(V2), ScatterIntoExistingList,
 * Split (a dense tensor into list items). The list object is in tensor_list_internal.h.
 *
 * Invariants: items made from a dense input are views of its buffer when it owns one (no
 * element copies), copies otherwise; every index is checked before any write; texts are TF's.
 * Stack returns a view instead of a copy when the items already lie back to back in one buffer
 * (a loop's write-once slab, a split loop's merged block, TensorListFromTensor's input): no
 * item region there is ever written again, so the view stays what the list held.
 */
#include <stdio.h>
#include <string.h>

#include "engine/kernels/array_internal.h"
#include "engine/kernels/tensor_list_internal.h"

/* 1 and *out set to a view of the items 0..count-1 as one [count] + es tensor, when they are
 * consecutive regions of one buffer (plain dtypes only); 0 otherwise. */
static int stacked_view(const td_tlist *l, int64_t count, const td_shape *os, const td_shape *es, td_tensor *out) {
  if (count < 1 || count > l->n || !td_dtype_is_plain(l->element_dtype)) return 0;
  const td_tensor *first = &l->items[0];
  size_t nb = td_tensor_nbytes(first);
  if (!first->buf || first->dtype != l->element_dtype || nb == 0) return 0;
  for (int64_t k = 0; k < count; k++) {
    const td_tensor *it = &l->items[k];
    if (it->buf != first->buf || it->dtype != first->dtype || !td_shape_equal(&it->shape, es) ||
        (const char *)it->data != (const char *)first->data + (size_t)k * nb)
      return 0;
  }
  *out = td_tensor_ref(first);
  out->shape = *os;
  return 1;
}

/* Output `out` = [count] + es, rows taken from l->items[idx[k]] (idx NULL = 0..count-1). */
static td_code stack_rows(td_kctx *c, const td_tlist *l, const td_tensor *idx, int64_t count, const td_shape *es) {
  td_shape os = {.rank = es->rank + 1};
  if (os.rank > TD_MAX_RANK) return td_k_fail(c, TD_INVALID_ARGUMENT, "stacked rank exceeds %d", TD_MAX_RANK);
  os.dim[0] = count;
  for (int k = 0; k < es->rank; k++) os.dim[k + 1] = es->dim[k];
  int64_t total;
  TD_TRY(td_array_checked_elements(c, &os, &total));
  td_tensor view;
  if (!idx && stacked_view(l, count, &os, es, &view)) {
    td_k_set_output(c, 0, &view);
    td_tensor_release(&view);
    return TD_OK;
  }
  int all_set = 1; /* every row is copied in: no need to clear the output first */
  for (int64_t k = 0; k < count && all_set; k++)
    all_set = l->items[idx ? td_array_index_at(idx, k) : k].dtype != TD_DT_INVALID;
  td_tensor *o;
  if (all_set && td_dtype_is_plain(l->element_dtype))
    TD_TRY(td_k_alloc_output_uninit(c, 0, l->element_dtype, &os, &o));
  else
    TD_TRY(td_k_alloc_output(c, 0, l->element_dtype, &os, &o));
  int64_t row = td_shape_num_elements(es);
  char s1[TL_SHAPE_BUF], s2[TL_SHAPE_BUF];
  for (int64_t k = 0; k < count; k++) {
    const td_tensor *item = &l->items[idx ? td_array_index_at(idx, k) : k];
    if (item->dtype != TD_DT_INVALID && !td_shape_equal(&item->shape, es))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Incompatible shapes during merge: %s vs. %s",
                       tl_shape_str(es, s1, sizeof s1), tl_shape_str(&item->shape, s2, sizeof s2));
    tl_copy_item(o, k * row, item, row);
  }
  return TD_OK;
}

td_code td_k_tl_stack(td_kctx *c) {
  const td_tlist *l = NULL;
  char sb[TL_SHAPE_BUF];
  TD_TRY(tl_input(c, 0, &l));
  TD_TRY(tl_check_dtype(c, l));
  int64_t want = td_attr_int(td_k_node(c), "num_elements", -1);
  if (want != -1 && want != l->n)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Operation expected a list with %lld elements but got a list with %lld "
                     "elements.", (long long)want, (long long)l->n);
  td_shape es;
  TD_TRY(tl_read_shape(c, l, 1, 1, &es));
  if (!tl_fully_defined(&es)) {
    if (l->n == 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Tried to stack elements of an empty list with non-fully-defined element_shape: %s",
                       tl_shape_str(&es, sb, sizeof sb));
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Tried to stack list which only contains uninitialized tensors and has a non-fully-defined "
                     "element_shape: %s", tl_shape_str(&es, sb, sizeof sb));
  }
  return stack_rows(c, l, NULL, l->n, &es);
}

td_code td_k_tl_gather(td_kctx *c) {
  const td_tlist *l = NULL;
  char sb[TL_SHAPE_BUF];
  TD_TRY(tl_input(c, 0, &l));
  TD_TRY(tl_check_dtype(c, l));
  const td_tensor *idx = td_k_input(c, 1);
  TD_TRY(td_array_check_index_vector(c, idx, "indices", INT64_MAX));
  int64_t count = idx->shape.dim[0];
  for (int64_t k = 0; k < count; k++) {
    int64_t i = td_array_index_at(idx, k);
    if (i < 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Trying to gather element %lld in a list with %lld elements.",
                       (long long)i, (long long)l->n);
    if (i >= l->n)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Index %lld out o range; list only has %lld elements.", (long long)i,
                       (long long)l->n);
  }
  td_shape es;
  TD_TRY(tl_read_shape(c, l, 2, 1, &es));
  if (!tl_fully_defined(&es)) {
    if (count == 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Tried to gather 0-elements from a list with non-fully-defined shape: %s",
                       tl_shape_str(&es, sb, sizeof sb));
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Tried to gather uninitialized tensors from a list with non-fully-defined element_shape: %s",
                     tl_shape_str(&es, sb, sizeof sb));
  }
  return stack_rows(c, l, idx, count, &es);
}

/* ---- dense tensor → items ---- */

/* Writes rows of `t` to l at `idx` (validated: non-negative, < l->n). Later duplicates win. */
static td_code scatter_rows(td_kctx *c, td_tlist *l, const td_tensor *t, const td_tensor *idx) {
  for (int64_t k = 0; k < idx->shape.dim[0]; k++) {
    td_tensor row;
    TD_TRY(tl_slice_rows(c, t, k, 1, 0, &row));
    tl_set(l, td_array_index_at(idx, k), &row);
    td_tensor_release(&row);
  }
  return TD_OK;
}

/* Checks indices against tensor rows; *max_index = largest index (-1 if none). */
static td_code check_scatter(td_kctx *c, const td_tensor *t, const td_tensor *idx, int64_t *max_index) {
  char sb[TL_SHAPE_BUF];
  if (t->shape.rank < 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Tensor must be at least a vector, but saw shape: %s",
                     tl_shape_str(&t->shape, sb, sizeof sb));
  if (!td_array_is_index_dtype(idx->dtype) || idx->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected indices to be a vector, but received shape: %s",
                     tl_shape_str(&idx->shape, sb, sizeof sb));
  if (idx->shape.dim[0] != t->shape.dim[0])
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid number of rows in input tensor. Expected: %lld Actual: %lld",
                     (long long)idx->shape.dim[0], (long long)t->shape.dim[0]);
  *max_index = -1;
  for (int64_t k = 0; k < idx->shape.dim[0]; k++) {
    int64_t i = td_array_index_at(idx, k);
    if (i < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Indices in TensorListScatter must all be non-negative.");
    if (i >= (int64_t)1 << 31)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "TensorListScatter: Trying to scatter at index %lld in list with size "
                       "%lld", (long long)i, (long long)*max_index + 1);
    if (i > *max_index) *max_index = i;
  }
  return TD_OK;
}

/* The element shape of a list made from rows of t: the shape input, checked against t.shape[1:]. */
static td_code rows_shape(td_kctx *c, const td_tensor *t, int shape_in, td_shape *es) {
  char s1[TL_SHAPE_BUF], s2[TL_SHAPE_BUF];
  TD_TRY(tl_shape_input(c, shape_in, es));
  td_shape row = {.rank = t->shape.rank - 1};
  for (int k = 0; k < row.rank; k++) row.dim[k] = t->shape.dim[k + 1];
  if (!tl_compatible(es, &row))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Specified a list with shape %s from a tensor with shape %s",
                     tl_shape_str(es, s1, sizeof s1), tl_shape_str(&row, s2, sizeof s2));
  return TD_OK;
}

static td_code scatter_new(td_kctx *c, int num_in) {
  const td_tensor *t = td_k_input(c, 0), *idx = td_k_input(c, 1);
  int64_t max_index, num = -1;
  TD_TRY(check_scatter(c, t, idx, &max_index));
  if (num_in >= 0) {
    TD_TRY(td_array_scalar_index(c, td_k_input(c, num_in), "num_elements", &num));
    if (num < -1)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "TensorListScatter expects num_elements >= -1, found: %lld",
                       (long long)num);
    if (num > (int64_t)1 << 31) return td_k_fail(c, TD_INVALID_ARGUMENT, "num_elements %lld is too large", (long long)num);
  }
  td_shape es;
  TD_TRY(rows_shape(c, t, 2, &es));
  td_tlist *l = tl_new(t->dtype, &es, -1);
  tl_resize(l, max_index + 1 > num ? max_index + 1 : num);
  td_code rc = scatter_rows(c, l, t, idx);
  if (rc != TD_OK) {
    td_resource_unref(&l->base);
    return rc;
  }
  return tl_output(c, 0, l);
}

td_code td_k_tl_scatter(td_kctx *c) { return scatter_new(c, -1); }
td_code td_k_tl_scatter_v2(td_kctx *c) { return scatter_new(c, 3); }

td_code td_k_tl_scatter_into(td_kctx *c) {
  const td_tlist *in = NULL;
  const td_tensor *t = td_k_input(c, 1), *idx = td_k_input(c, 2);
  char sb[TL_SHAPE_BUF], s2[TL_SHAPE_BUF];
  TD_TRY(tl_input(c, 0, &in));
  if (t->dtype != in->element_dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid data types; op elements %s but list elements %s",
                     td_dtype_name(t->dtype), td_dtype_name(in->element_dtype));
  if (!td_array_is_index_dtype(idx->dtype) || idx->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected indices to be a vector, but received shape: %s",
                     tl_shape_str(&idx->shape, sb, sizeof sb));
  if (t->shape.rank < 1 || idx->shape.dim[0] != t->shape.dim[0])
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected len(indices) == tensor.shape[0], but saw: %lld vs. %lld",
                     (long long)idx->shape.dim[0], (long long)(t->shape.rank < 1 ? 0 : t->shape.dim[0]));
  int64_t max_index;
  TD_TRY(check_scatter(c, t, idx, &max_index));
  td_shape row = {.rank = t->shape.rank - 1};
  for (int k = 0; k < row.rank; k++) row.dim[k] = t->shape.dim[k + 1];
  if (!tl_compatible(&in->element_shape, &row))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Specified a list with shape %s from a tensor with shape %s",
                     tl_shape_str(&in->element_shape, sb, sizeof sb), tl_shape_str(&row, s2, sizeof s2));
  td_tlist *l = NULL;
  TD_TRY(tl_writable(c, 0, &l));
  if (max_index + 1 > l->n) tl_resize(l, max_index + 1);
  td_code rc = scatter_rows(c, l, t, idx);
  if (rc != TD_OK) {
    td_resource_unref(&l->base);
    return rc;
  }
  return tl_output(c, 0, l);
}

td_code td_k_tl_split(td_kctx *c) {
  const td_tensor *t = td_k_input(c, 0), *lengths = td_k_input(c, 2);
  char s1[TL_SHAPE_BUF], s2[TL_SHAPE_BUF];
  td_shape es;
  TD_TRY(tl_shape_input(c, 1, &es));
  if (es.rank == 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "TensorListSplit requires element_shape to be at least of rank 1, but saw: %s",
                     tl_shape_str(&es, s1, sizeof s1));
  if (t->shape.rank < 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Tensor must be at least a vector, but saw shape: %s",
                     tl_shape_str(&t->shape, s1, sizeof s1));
  TD_TRY(td_array_check_index_vector(c, lengths, "lengths", INT64_MAX));
  if (es.rank > 0) {
    td_shape a = {.rank = es.rank - 1}, b = {.rank = t->shape.rank - 1};
    for (int k = 0; k < a.rank; k++) a.dim[k] = es.dim[k + 1];
    for (int k = 0; k < b.rank; k++) b.dim[k] = t->shape.dim[k + 1];
    if (!tl_compatible(&a, &b))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "tensor shape %s is not compatible with element_shape %s",
                       tl_shape_str(&t->shape, s1, sizeof s1), tl_shape_str(&es, s2, sizeof s2));
  }
  int64_t rows = t->shape.dim[0], at = 0, n = lengths->shape.dim[0];
  for (int64_t k = 0; k < n; k++) {
    int64_t len = td_array_index_at(lengths, k);
    if (len < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid value in lengths: %lld", (long long)len);
    if (len > rows - at)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Attempting to slice [%lld, %lld] from tensor with length %lld",
                       (long long)at, (long long)(at + len), (long long)rows);
    at += len;
  }
  if (at != rows)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Unused values in tensor. Length of tensor: %lld Values used: %lld",
                     (long long)rows, (long long)at);
  td_tlist *l = tl_new(t->dtype, &es, -1);
  tl_resize(l, n);
  at = 0;
  for (int64_t k = 0; k < n; k++) {
    int64_t len = td_array_index_at(lengths, k);
    td_code rc = tl_slice_rows(c, t, at, len, 1, &l->items[k]);
    if (rc != TD_OK) {
      td_resource_unref(&l->base);
      return rc;
    }
    at += len;
  }
  return tl_output(c, 0, l);
}

/* ---- Concat ---- */

/* shape_in: index of an element_shape input (ConcatV2) or -1 (Concat: the element_shape attr). */
static td_code concat(td_kctx *c, int shape_in, const td_tensor *leading) {
  const td_tlist *l = NULL;
  char sb[TL_SHAPE_BUF], s2[TL_SHAPE_BUF];
  TD_TRY(tl_input(c, 0, &l));
  TD_TRY(tl_check_dtype(c, l));
  td_shape es;
  TD_TRY(tl_read_shape(c, l, shape_in, 0, &es));
  if (shape_in < 0) {
    const Tensorflow__TensorShapeProto *sp = td_attr_shape(td_k_node(c), "element_shape");
    td_shape attr = {.rank = -1};
    if (sp && td_shape_from_proto(sp, &attr, NULL) != TD_OK) attr.rank = -1;
    TD_TRY(tl_merge(c, &es, &attr, &es));
  }
  if (es.rank == 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Concat requires elements to be at least vectors, found scalars instead.");
  /* The inner shape (dims 1..): from the element shape, else from the initialized items. */
  td_shape inner = {.rank = es.rank < 0 ? -1 : es.rank - 1};
  for (int k = 0; k < inner.rank; k++) inner.dim[k] = es.dim[k + 1];
  int64_t dim0 = es.rank > 0 ? es.dim[0] : -1;
  for (int64_t i = 0; i < l->n; i++) {
    const td_tensor *it = &l->items[i];
    if (it->dtype == TD_DT_INVALID) continue;
    if (it->shape.rank < 1)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Concat requires elements to be at least vectors, found scalars instead.");
    td_shape ir = {.rank = it->shape.rank - 1};
    for (int k = 0; k < ir.rank; k++) ir.dim[k] = it->shape.dim[k + 1];
    if (!tl_compatible(&inner, &ir) || (tl_fully_defined(&inner) && !td_shape_equal(&inner, &ir)))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Incompatible shapes during merge: %s vs. %s",
                       tl_shape_str(&inner, sb, sizeof sb), tl_shape_str(&ir, s2, sizeof s2));
    inner = ir;
  }
  if (!tl_fully_defined(&inner))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "All except the first dimension must be fully defined when concating an "
                     "empty tensor list. element_shape: %s", tl_shape_str(&es, sb, sizeof sb));
  td_tensor *lens;
  td_shape ls = td_shape_vector(l->n);
  TD_TRY(td_k_alloc_output(c, 1, TD_DT_INT64, &ls, &lens));
  int64_t total = 0;
  for (int64_t i = 0; i < l->n; i++) {
    const td_tensor *it = &l->items[i];
    int64_t d;
    if (it->dtype != TD_DT_INVALID) {
      d = it->shape.dim[0];
    } else if (dim0 >= 0) {
      d = dim0;
    } else if (leading && i < td_tensor_num_elements(leading)) {
      d = td_array_index_at(leading, i);
    } else {
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "List contains uninitialized tensor at index %lld but leading_dims has only %lld elements.",
                       (long long)i, (long long)(leading ? td_tensor_num_elements(leading) : 0));
    }
    if (d < 0 || d > INT64_MAX - total)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid leading dimension %lld", (long long)d);
    td_i64(lens)[i] = d;
    total += d;
  }
  td_shape os = {.rank = inner.rank + 1};
  if (os.rank > TD_MAX_RANK) return td_k_fail(c, TD_INVALID_ARGUMENT, "concat rank exceeds %d", TD_MAX_RANK);
  os.dim[0] = total;
  for (int k = 0; k < inner.rank; k++) os.dim[k + 1] = inner.dim[k];
  int64_t nelem;
  TD_TRY(td_array_checked_elements(c, &os, &nelem));
  td_tensor *o;
  TD_TRY(td_k_alloc_output(c, 0, l->element_dtype, &os, &o));
  int64_t row = td_shape_num_elements(&inner), off = 0;
  for (int64_t i = 0; i < l->n; i++) {
    int64_t d = td_i64(lens)[i];
    tl_copy_item(o, off, &l->items[i], d * row);
    off += d * row;
  }
  return TD_OK;
}

td_code td_k_tl_concat(td_kctx *c) { return concat(c, -1, NULL); }

td_code td_k_tl_concat_v2(td_kctx *c) {
  const td_tensor *leading = td_k_input(c, 2);
  if (!td_array_is_index_dtype(leading->dtype) || leading->shape.rank > 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "leading_dims must be an int64 vector");
  return concat(c, 1, leading);
}
