/* array_sets.c — DenseToDenseSetOperation (tf.sets.intersection / union / difference on dense
 * inputs): for every index of the leading dims, the set operation of the two last-dim rows,
 * as a SparseTensor (indices int64 [nnz, rank], values, dense_shape int64 [rank] whose last
 * dim is the largest result row). Row results are sorted ascending (TF uses ordered sets;
 * strings by bytes) and duplicates collapse.
 * Invariants: integer and string elements only (TF's registered types); rows are sorted
 * copies of element indices, inputs are never modified; reentrant.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/array_internal.h"

enum { S_AMINUSB, S_BMINUSA, S_INTERSECT, S_UNION };

static int cmp_elem(const td_tensor *a, int64_t i, const td_tensor *b, int64_t j) {
  if (a->dtype == TD_DT_STRING) {
    const td_string *x = &td_str(a)[i], *y = &td_str(b)[j];
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->data, y->data, n) : 0;
    return c ? c : (x->len > y->len) - (x->len < y->len);
  }
  int64_t x = td_tensor_get_int(a, i), y = td_tensor_get_int(b, j);
  return (x > y) - (x < y);
}

/* merge sort of element indices idx[0..n) of t (rows are short) */
static void sort_idx(const td_tensor *t, int64_t *idx, int64_t *tmp, int64_t n) {
  if (n < 2) return;
  int64_t h = n / 2;
  sort_idx(t, idx, tmp, h);
  sort_idx(t, idx + h, tmp, n - h);
  int64_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = cmp_elem(t, idx[j], t, idx[i]) < 0 ? idx[j++] : idx[i++];
  while (i < h) tmp[k++] = idx[i++];
  while (j < n) tmp[k++] = idx[j++];
  memcpy(idx, tmp, (size_t)n * sizeof *idx);
}

/* dedups a sorted index row in place; returns the new length */
static int64_t dedup(const td_tensor *t, int64_t *idx, int64_t n) {
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++)
    if (k == 0 || cmp_elem(t, idx[k - 1], t, idx[i]) != 0) idx[k++] = idx[i];
  return k;
}

/* result of one row pair: (src 0 = a, 1 = b, element index) pairs into out; returns count */
static int64_t row_op(const td_tensor *a, const int64_t *ia, int64_t na, const td_tensor *b, const int64_t *ib,
                      int64_t nb, int op, int64_t *out_src, int64_t *out_idx) {
  int64_t i = 0, j = 0, k = 0;
  while (i < na || j < nb) {
    int c = i >= na ? 1 : j >= nb ? -1 : cmp_elem(a, ia[i], b, ib[j]);
    int take_a = 0, take_b = 0;
    if (c < 0) take_a = op == S_AMINUSB || op == S_UNION;
    else if (c > 0) take_b = op == S_BMINUSA || op == S_UNION;
    else take_a = op == S_INTERSECT || op == S_UNION;
    if (take_a) out_src[k] = 0, out_idx[k++] = ia[i];
    else if (take_b) out_src[k] = 1, out_idx[k++] = ib[j];
    if (c <= 0) i++;
    if (c >= 0) j++;
  }
  return k;
}

td_code td_k_array_dense_to_dense_set_operation(td_kctx *c) {
  const td_tensor *a = td_k_input(c, 0), *b = td_k_input(c, 1);
  const td_node *node = td_k_node(c);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  int op;
  if (td_attr_str_eq(node, "set_operation", "a-b")) op = S_AMINUSB;
  else if (td_attr_str_eq(node, "set_operation", "b-a")) op = S_BMINUSA;
  else if (td_attr_str_eq(node, "set_operation", "intersection")) op = S_INTERSECT;
  else if (td_attr_str_eq(node, "set_operation", "union")) op = S_UNION;
  else return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid set_operation");
  if (a->dtype != b->dtype) return td_k_fail(c, TD_INVALID_ARGUMENT, "set1 and set2 must have the same type");
  if (a->dtype != TD_DT_STRING && !(td_array_is_index_dtype(a->dtype) || a->dtype == TD_DT_INT8 ||
                                    a->dtype == TD_DT_INT16 || a->dtype == TD_DT_UINT8 || a->dtype == TD_DT_UINT16))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid type %s for set operation", td_dtype_name(a->dtype));
  int r = a->shape.rank;
  if (r < 2 || b->shape.rank != r)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Shapes %s and %s must have the same rank >= 2",
                     td_array_shape_str(&a->shape, b1, sizeof b1), td_array_shape_str(&b->shape, b2, sizeof b2));
  for (int k = 0; k < r - 1; k++)
    if (a->shape.dim[k] != b->shape.dim[k])
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Shapes %s and %s must match in all but the last dimension",
                       td_array_shape_str(&a->shape, b1, sizeof b1), td_array_shape_str(&b->shape, b2, sizeof b2));
  int64_t rows = td_array_dims_product(&a->shape, 0, r - 1), la = a->shape.dim[r - 1], lb = b->shape.dim[r - 1];
  int64_t cap = la + lb + 1;
  int64_t *ia = malloc(sizeof(int64_t) * (size_t)(la + 1)), *ib = malloc(sizeof(int64_t) * (size_t)(lb + 1));
  int64_t *tmp = malloc(sizeof(int64_t) * (size_t)cap), *osrc = malloc(sizeof(int64_t) * (size_t)cap);
  int64_t *oidx = malloc(sizeof(int64_t) * (size_t)cap);
  td_code rc = TD_OK;
  if (!ia || !ib || !tmp || !osrc || !oidx) {
    rc = td_k_fail(c, TD_RESOURCE_EXHAUSTED, "set operation: out of memory");
    goto done;
  }
  /* pass 1 counts, pass 2 writes */
  int64_t nnz = 0, maxrow = 0;
  td_tensor *ind = NULL, *val = NULL, *shp = NULL;
  for (int pass = 0; pass < 2 && rc == TD_OK; pass++) {
    int64_t w = 0;
    for (int64_t row = 0; row < rows; row++) {
      for (int64_t i = 0; i < la; i++) ia[i] = row * la + i;
      for (int64_t i = 0; i < lb; i++) ib[i] = row * lb + i;
      sort_idx(a, ia, tmp, la);
      sort_idx(b, ib, tmp, lb);
      int64_t na = dedup(a, ia, la), nb = dedup(b, ib, lb);
      int64_t k = row_op(a, ia, na, b, ib, nb, op, osrc, oidx);
      if (pass == 0) {
        nnz += k;
        if (k > maxrow) maxrow = k;
        continue;
      }
      int64_t coord[TD_MAX_RANK], rem = row;
      for (int d = r - 2; d >= 0; d--) coord[d] = rem % a->shape.dim[d], rem /= a->shape.dim[d];
      for (int64_t e = 0; e < k; e++, w++) {
        for (int d = 0; d < r - 1; d++) td_i64(ind)[w * r + d] = coord[d];
        td_i64(ind)[w * r + r - 1] = e;
        td_array_copy(val, w, osrc[e] ? b : a, oidx[e], 1);
      }
    }
    if (pass == 0) {
      td_shape is = td_shape_make(2, (int64_t[]){nnz, r}), vs = td_shape_vector(nnz), ss = td_shape_vector(r);
      rc = td_k_alloc_output(c, 0, TD_DT_INT64, &is, &ind);
      if (rc == TD_OK) rc = td_k_alloc_output(c, 1, a->dtype, &vs, &val);
      if (rc == TD_OK) rc = td_k_alloc_output(c, 2, TD_DT_INT64, &ss, &shp);
      if (rc == TD_OK) {
        for (int d = 0; d < r - 1; d++) td_i64(shp)[d] = a->shape.dim[d];
        td_i64(shp)[r - 1] = maxrow;
      }
    }
  }
done:
  free(ia);
  free(ib);
  free(tmp);
  free(osrc);
  free(oidx);
  return rc;
}
