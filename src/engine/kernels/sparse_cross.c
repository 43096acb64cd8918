/* sparse_cross.c — SparseCross: feature crosses of sparse and dense columns (TF's
 * tensorflow/core/kernels/sparse_cross_op.cc, used by tf.feature_column.crossed_column).
 *
 * Inputs: indices*N, values:sparse_types, shapes*N (N 2-D sparse columns), dense_inputs:dense_types
 * (rank-2 dense columns). Columns are ordered sparse first, then dense. For each batch row b the
 * output holds every combination (cartesian product, last column varying fastest) of the row's
 * features; output_indices are (b, k) for the k-th cross of row b, output_shape is
 * [batch, max crosses per row].
 *
 * out_type picks the crosser, as TF's kernel registration does (the hashed_output attr is not
 * read by TF's kernel either):
 *   DT_INT64  — hashed: h = hash_key; for each feature h = FingerprintCat64(h, f) where f is
 *               Fingerprint64(bytes) for strings and the value itself (as uint64) for int64;
 *               result h % num_buckets (unsigned) when num_buckets > 0, else h % INT64_MAX.
 *   DT_STRING — features (int64 in decimal) joined with "_X_".
 * SparseCrossV2 (tf.sparse.cross with a separator) is the string form with the separator taken
 * from its trailing scalar `sep` input.
 * Sparse rows are read like TF's ExtractFeatureData: indices must be grouped by batch in
 * ascending order; entries whose batch index does not match the row being scanned are skipped
 * over silently (never read out of bounds). Sizes that overflow fail cleanly.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "util/farmhash.h"
#include "util/mem.h"

#define CROSS_SEPARATOR "_X_"

typedef struct cross_column {
  const td_tensor *values; /* sparse: the values vector; dense: the [batch, width] matrix */
  int64_t *start;          /* sparse: per-row first value index (NULL for dense) */
  int64_t *count;          /* sparse: per-row feature count (NULL for dense) */
  int64_t width;           /* dense: features per row */
} cross_column;

typedef struct cross_job {
  td_kctx *ctx;
  int ncols;
  cross_column *cols;
  int64_t batch;
  uint64_t hash_key;
  int64_t num_buckets;
  const char *sep; /* string crosses: the separator (not NUL-terminated) */
  size_t sep_len;
} cross_job;

static int64_t feature_count(const cross_column *c, int64_t b) { return c->start ? c->count[b] : c->width; }

static int64_t feature_index(const cross_column *c, int64_t b, int64_t n) {
  return c->start ? c->start[b] + n : b * c->width + n;
}

/* The hashed form of one feature: Fingerprint64 of string bytes, int64 values as is. */
static uint64_t feature_hash(const cross_column *c, int64_t b, int64_t n) {
  int64_t i = feature_index(c, b, n);
  if (c->values->dtype == TD_DT_STRING) {
    td_string s = td_str(c->values)[i];
    return td_fingerprint64(s.len ? s.data : "", s.len);
  }
  return (uint64_t)td_i64(c->values)[i];
}

/* Appends the string form of one feature to *buf (bytes, or int64 in decimal). */
static void feature_append(const cross_column *c, int64_t b, int64_t n, char **buf, size_t *len, size_t *cap) {
  int64_t i = feature_index(c, b, n);
  char num[24];
  const char *p;
  size_t k;
  if (c->values->dtype == TD_DT_STRING) {
    td_string s = td_str(c->values)[i];
    p = s.len ? s.data : "";
    k = s.len;
  } else {
    k = (size_t)snprintf(num, sizeof num, "%" PRId64, td_i64(c->values)[i]);
    p = num;
  }
  if (*len + k > *cap) TD_GROW(*buf, *cap, *len + k);
  if (k) memcpy(*buf + *len, p, k);
  *len += k;
}

/* ---- validation (TF's ValidateInput wording) ---- */

static int is_feature_dtype(td_dtype dt) { return dt == TD_DT_INT64 || dt == TD_DT_STRING; }

static td_code validate(td_kctx *ctx, int n, int ndense) {
  char sb[64];
  const td_tensor *t;
  for (int i = 0; i < n; i++) {
    t = td_k_input(ctx, i);
    if (t->shape.rank != 2)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Input indices should be a matrix but received shape %s at position %d",
                       td_shape_str(&t->shape, sb, sizeof sb), i);
    if (t->shape.dim[1] != 2)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Expected D2 of index to be 2 got %" PRId64 " at position %d",
                       t->shape.dim[1], i);
    if (t->dtype != TD_DT_INT64)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Input indices should be int64, got %s at position %d",
                       td_dtype_name(t->dtype), i);
  }
  for (int i = 0; i < n; i++) {
    t = td_k_input(ctx, n + i);
    if (t->shape.rank != 1)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Input values should be a vector but received shape %s at position %d",
                       td_shape_str(&t->shape, sb, sizeof sb), i);
    int64_t rows = td_k_input(ctx, i)->shape.dim[0];
    if (rows != t->shape.dim[0])
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Expected size of values to be %" PRId64 " got %" PRId64 " at position %d",
                       rows, t->shape.dim[0], i);
    if (!is_feature_dtype(t->dtype))
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "SparseCross: sparse values at position %d have unsupported type %s",
                       i, td_dtype_name(t->dtype));
  }
  for (int i = 0; i < n; i++) {
    t = td_k_input(ctx, 2 * n + i);
    if (t->shape.rank != 1)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Input shapes should be a vector but received shape %s at position %d",
                       td_shape_str(&t->shape, sb, sizeof sb), i);
    if (t->shape.dim[0] != 2 || t->dtype != TD_DT_INT64)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "shape should imply a 2D tensor, but got %s at position %d",
                       td_shape_str(&t->shape, sb, sizeof sb), i);
  }
  for (int i = 0; i < ndense; i++) {
    t = td_k_input(ctx, 3 * n + i);
    if (t->shape.rank != 2)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Dense inputs should be a matrix but received shape %s at position %d",
                       td_shape_str(&t->shape, sb, sizeof sb), i);
    if (!is_feature_dtype(t->dtype))
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "SparseCross: dense input %d has unsupported type %s", i,
                       td_dtype_name(t->dtype));
  }
  return TD_OK;
}

/* TF's CalculateBatchSize: the first sparse shape's dim 0, else the first dense dim 0, else 0. */
static int64_t batch_size(td_kctx *ctx, int n, int ndense) {
  if (n > 0) return td_i64(td_k_input(ctx, 2 * n))[0];
  if (ndense > 0) return td_k_input(ctx, 3 * n)->shape.dim[0];
  return 0;
}

static td_code check_batch_sizes(td_kctx *ctx, int n, int ndense, int64_t batch) {
  for (int i = 0; i < n; i++) {
    int64_t b = td_i64(td_k_input(ctx, 2 * n + i))[0];
    if (b != batch)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Expected batch size %" PRId64 " got %" PRId64 " at position %d", batch,
                       b, i);
  }
  for (int i = 0; i < ndense; i++) {
    int64_t b = td_k_input(ctx, 3 * n + i)->shape.dim[0];
    if (b != batch)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Expected batch size %" PRId64 " got %" PRId64 " at dense tensor %d",
                       batch, b, i);
  }
  if (batch < 0) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Expected a non-negative batch size, got %" PRId64, batch);
  return TD_OK;
}

/* ---- columns ---- */

static void free_columns(cross_column *cols, int ncols) {
  if (!cols) return;
  for (int i = 0; i < ncols; i++) {
    free(cols[i].start);
    free(cols[i].count);
  }
  free(cols);
}

/* TF's ExtractFeatureData for sparse column i: walks the indices once, row by row. */
static void extract_sparse_rows(const td_tensor *indices, int64_t batch, cross_column *c) {
  const int64_t *ind = td_i64(indices);
  int64_t rows = indices->shape.dim[0], cur = 0;
  for (int64_t b = 0; b < batch; b++) {
    c->start[b] = cur;
    int64_t k = 0;
    while (cur < rows && ind[2 * cur] == b) {
      k++;
      cur++;
    }
    c->count[b] = k;
  }
}

static td_code build_columns(cross_job *j, int n, int ndense) {
  j->ncols = n + ndense;
  j->cols = calloc(j->ncols ? (size_t)j->ncols : 1, sizeof *j->cols);
  if (!j->cols) return td_k_fail(j->ctx, TD_RESOURCE_EXHAUSTED, "SparseCross: out of memory");
  for (int i = 0; i < n; i++) {
    cross_column *c = &j->cols[i];
    c->values = td_k_input(j->ctx, n + i);
    size_t rows = j->batch ? (size_t)j->batch : 1;
    if ((uint64_t)j->batch > SIZE_MAX / sizeof(int64_t) ||
        !(c->start = malloc(rows * sizeof(int64_t))) || !(c->count = malloc(rows * sizeof(int64_t))))
      return td_k_fail(j->ctx, TD_RESOURCE_EXHAUSTED, "SparseCross: cannot allocate row tables for batch size %" PRId64,
                       j->batch);
    extract_sparse_rows(td_k_input(j->ctx, i), j->batch, c);
  }
  for (int i = 0; i < ndense; i++) {
    cross_column *c = &j->cols[n + i];
    c->values = td_k_input(j->ctx, 3 * n + i);
    c->width = c->values->shape.dim[1];
  }
  return TD_OK;
}

/* Crosses in row b (0 if any column is empty there); -1 on int64 overflow. */
static int64_t row_cross_count(const cross_job *j, int64_t b) {
  int64_t total = 1;
  for (int i = 0; i < j->ncols; i++) {
    int64_t k = feature_count(&j->cols[i], b);
    if (k == 0) return 0;
    if (total > INT64_MAX / k) return -1;
    total *= k;
  }
  return total;
}

/* ---- crossing ---- */

/* Advances perm (odometer, last column fastest); returns 0 after the last combination. */
static int next_permutation(const cross_job *j, int64_t b, int64_t *perm) {
  for (int i = j->ncols - 1; i >= 0; i--) {
    if (++perm[i] < feature_count(&j->cols[i], b)) return 1;
    perm[i] = 0;
  }
  return 0;
}

static int64_t hash_cross(const cross_job *j, int64_t b, const int64_t *perm) {
  uint64_t h = j->hash_key;
  for (int i = 0; i < j->ncols; i++) h = td_fingerprint_cat64(h, feature_hash(&j->cols[i], b, perm[i]));
  return (int64_t)(j->num_buckets > 0 ? h % (uint64_t)j->num_buckets : h % (uint64_t)INT64_MAX);
}

static void string_cross(const cross_job *j, int64_t b, const int64_t *perm, td_tensor *out, int64_t at, char **buf,
                         size_t *cap) {
  size_t len = 0;
  for (int i = 0; i < j->ncols; i++) {
    if (i && j->sep_len) {
      if (len + j->sep_len > *cap) TD_GROW(*buf, *cap, len + j->sep_len);
      memcpy(*buf + len, j->sep, j->sep_len);
      len += j->sep_len;
    }
    feature_append(&j->cols[i], b, perm[i], buf, &len, cap);
  }
  td_tensor_set_string(out, at, *buf, len);
}

static td_code emit(cross_job *j, td_dtype out_type, const int64_t *row_start, int64_t total, int64_t max_row) {
  td_kctx *ctx = j->ctx;
  td_tensor *indices_out, *shape_out, values_owned = {0}, *values_out = NULL;
  td_shape ishape = td_shape_make(2, (int64_t[]){total, 2}), vshape = td_shape_vector(total);
  TD_TRY(td_k_alloc_output(ctx, 0, TD_DT_INT64, &ishape, &indices_out));
  if (out_type == TD_DT_STRING) {
    td_status st = {0};
    if (td_tensor_alloc(&values_owned, TD_DT_STRING, &vshape, &st) != TD_OK) return td_k_fail(ctx, st.code, "%s", st.msg);
    values_out = &values_owned;
  } else {
    TD_TRY(td_k_alloc_output(ctx, 1, TD_DT_INT64, &vshape, &values_out));
  }
  td_shape sshape = td_shape_vector(2);
  td_code rc = td_k_alloc_output(ctx, 2, TD_DT_INT64, &sshape, &shape_out);
  if (rc != TD_OK) {
    td_tensor_release(&values_owned);
    return rc;
  }
  td_i64(shape_out)[0] = j->batch;
  td_i64(shape_out)[1] = max_row;

  int64_t *perm = calloc(j->ncols ? (size_t)j->ncols : 1, sizeof *perm);
  char *buf = NULL;
  size_t cap = 0;
  int64_t *ind = td_i64(indices_out);
  for (int64_t b = 0; b < j->batch && j->ncols > 0; b++) {
    int64_t at = row_start[b], end = row_start[b + 1];
    if (at == end) continue;
    memset(perm, 0, (size_t)j->ncols * sizeof *perm);
    for (int64_t k = 0; at < end; k++, at++) {
      ind[2 * at] = b;
      ind[2 * at + 1] = k;
      if (out_type == TD_DT_STRING) string_cross(j, b, perm, values_out, at, &buf, &cap);
      else td_i64(values_out)[at] = hash_cross(j, b, perm);
      next_permutation(j, b, perm);
    }
  }
  free(buf);
  free(perm);
  if (out_type == TD_DT_STRING) {
    td_k_set_output(ctx, 1, &values_owned);
    td_tensor_release(&values_owned);
  }
  return TD_OK;
}

/* Sizes the output from the per-row cross counts, then fills it. */
static td_code cross(cross_job *j, td_dtype out_type) {
  int64_t *row_start = malloc(((size_t)j->batch + 1) * sizeof *row_start);
  if (!row_start) return td_k_fail(j->ctx, TD_RESOURCE_EXHAUSTED, "SparseCross: out of memory");
  int64_t total = 0, max_row = 0;
  row_start[0] = 0;
  for (int64_t b = 0; b < j->batch; b++) {
    int64_t k = j->ncols ? row_cross_count(j, b) : 0;
    if (k < 0 || total > INT64_MAX / 2 - k) {
      free(row_start);
      return td_k_fail(j->ctx, TD_INVALID_ARGUMENT, "SparseCross: too many crosses in batch row %" PRId64, b);
    }
    total += k;
    row_start[b + 1] = total;
    if (k > max_row) max_row = k;
  }
  td_code rc = emit(j, out_type, row_start, total, max_row);
  free(row_start);
  return rc;
}

/* Both ops: `extra` trailing inputs after the columns (SparseCrossV2's sep). */
static td_code sparse_cross(td_kctx *ctx, int extra, td_dtype out_type, const char *sep, size_t sep_len) {
  const td_node *node = td_k_node(ctx);
  int n = (int)td_attr_int(node, "N", 0);
  const int *types;
  int ndense = (int)td_attr_list_type(node, "dense_types", &types);
  if (n < 0 || ndense < 0 || 3 * n + ndense + extra != td_k_num_inputs(ctx))
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "%s: expected %d inputs for N=%d and %d dense inputs, got %d",
                     td_node_op(node), 3 * n + ndense + extra, n, ndense, td_k_num_inputs(ctx));
  TD_TRY(validate(ctx, n, ndense));
  cross_job j = {ctx, 0, NULL, batch_size(ctx, n, ndense), (uint64_t)td_attr_int(node, "hash_key", 0),
                 td_attr_int(node, "num_buckets", 0), sep, sep_len};
  TD_TRY(check_batch_sizes(ctx, n, ndense, j.batch));
  if ((uint64_t)j.batch >= SIZE_MAX / sizeof(int64_t) / 2)
    return td_k_fail(ctx, TD_RESOURCE_EXHAUSTED, "%s: batch size %" PRId64 " is too large", td_node_op(node), j.batch);
  td_code rc = build_columns(&j, n, ndense);
  if (rc == TD_OK) rc = cross(&j, out_type);
  free_columns(j.cols, j.ncols);
  return rc;
}

td_code td_k_sparse_cross(td_kctx *ctx) {
  td_dtype out_type = td_attr_type(td_k_node(ctx), "out_type", TD_DT_INT64);
  if (out_type != TD_DT_INT64 && out_type != TD_DT_STRING)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "SparseCross: out_type must be int64 or string, got %s",
                     td_dtype_name(out_type));
  return sparse_cross(ctx, 0, out_type, CROSS_SEPARATOR, sizeof CROSS_SEPARATOR - 1);
}

td_code td_k_sparse_cross_v2(td_kctx *ctx) {
  int last = td_k_num_inputs(ctx) - 1;
  const td_tensor *sep = last >= 0 ? td_k_input(ctx, last) : NULL;
  char sb[64];
  if (!sep || sep->dtype != TD_DT_STRING || sep->shape.rank != 0)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Input separator should be a scalar but received shape %s",
                     sep ? td_shape_str(&sep->shape, sb, sizeof sb) : "<none>");
  td_string s = td_str(sep)[0];
  return sparse_cross(ctx, 1, TD_DT_STRING, s.len ? s.data : "", s.len);
}
