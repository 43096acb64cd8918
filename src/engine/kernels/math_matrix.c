/* math_matrix.c — band and diagonal kernels on the innermost [M, N] matrices: MatrixBandPart,
 * MatrixDiag / MatrixDiagPart / MatrixSetDiag in their V1, V2 and V3 forms.
 *
 * Diagonal d (= j - i) of an [M, N] matrix has length min(M + min(0, d), N - max(0, d)); a
 * band k = [lower, upper] is stored as [upper - d][offset + p] (p = position along the
 * diagonal), where offset = max_diag_len - len(d) when that diagonal is right-aligned: V3's
 * `align` (superdiagonals by its first word, subdiagonals by its second; the main diagonal is
 * left-aligned if either says LEFT), V1/V2 behave as LEFT_LEFT. With lower == upper the
 * num_diags dim is absent. Type-generic (elements move with td_array_copy / td_array_fill).
 * Invariants: k, shapes and num_rows/num_cols are validated with TF's texts before data moves.
 */
#include <string.h>

#include "engine/kernels/array_internal.h"

typedef struct band {
  int64_t lo, hi;      /* diagonal indices */
  int left_super, left_sub;
  int64_t m, n, maxlen; /* matrix dims, longest diagonal in the band */
} band;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static int64_t diag_len(const band *b, int64_t d) { return min64(b->m + min64(0, d), b->n - max64(0, d)); }
static int64_t diag_offset(const band *b, int64_t d) {
  int left = (d >= 0 && b->left_super) || (d <= 0 && b->left_sub);
  return left ? 0 : b->maxlen - diag_len(b, d);
}

/* version 3 reads `align`; 1 and 2 are LEFT_LEFT. */
static td_code read_align(td_kctx *c, int version, band *b) {
  b->left_super = b->left_sub = 1;
  if (version < 3) return TD_OK;
  const td_node *node = td_k_node(c);
  if (!td_node_attr(node, "align") || td_attr_str_eq(node, "align", "RIGHT_LEFT")) b->left_super = 0;
  else if (td_attr_str_eq(node, "align", "LEFT_RIGHT")) b->left_sub = 0;
  else if (td_attr_str_eq(node, "align", "RIGHT_RIGHT")) b->left_super = b->left_sub = 0;
  else if (!td_attr_str_eq(node, "align", "LEFT_LEFT"))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid align attr: must be one of LEFT_RIGHT, RIGHT_LEFT, LEFT_LEFT, RIGHT_RIGHT");
  return TD_OK;
}

static td_code read_k(td_kctx *c, const td_tensor *k, band *b) {
  int64_t n = td_tensor_num_elements(k);
  if (k->dtype != TD_DT_INT32 && k->dtype != TD_DT_INT64)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "diag_index must be int32, got %s", td_dtype_name(k->dtype));
  if (k->shape.rank > 1 || n < 1 || n > 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "diag_index must be a scalar or vector with at most 2 elements, received %lld",
                     (long long)n);
  b->lo = td_array_index_at(k, 0);
  b->hi = n == 2 ? td_array_index_at(k, 1) : b->lo;
  if (b->lo > b->hi)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "lower_diag_index must not be larger than upper_diag_index: %lld > %lld",
                     (long long)b->lo, (long long)b->hi);
  return TD_OK;
}

/* Scalar padding value (element 0 of t, same dtype as the data) or NULL = zeros. */
static td_code check_pad(td_kctx *c, const td_tensor *pad, td_dtype dt) {
  if (pad && (pad->dtype != dt || td_tensor_num_elements(pad) != 1))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "padding_value must be a scalar of the diagonal's type");
  return TD_OK;
}

/* Walks every (batch, d, p): diagonal element index (in [batch, num_diags, maxlen]) and matrix
 * element index (in [batch, m, n]); dir 0 = matrix <- diag, 1 = diag <- matrix. */
static void move_diags(const band *b, int64_t nbatch, td_tensor *dst, const td_tensor *src, int to_diag) {
  int64_t nd = b->hi - b->lo + 1;
  for (int64_t bi = 0; bi < nbatch; bi++)
    for (int64_t d = b->hi; d >= b->lo; d--) {
      int64_t len = diag_len(b, d), off = diag_offset(b, d);
      int64_t drow = (bi * nd + (b->hi - d)) * b->maxlen + off;
      for (int64_t p = 0; p < len; p++) {
        int64_t i = d >= 0 ? p : p - d, j = d >= 0 ? p + d : p;
        int64_t mi = (bi * b->m + i) * b->n + j;
        if (to_diag) td_array_copy(dst, drow + p, src, mi, 1);
        else td_array_copy(dst, mi, src, drow + p, 1);
      }
    }
}

/* MatrixDiag, V2, V3: diagonal [..., (num_diags,) maxlen] -> [..., M, N]. */
static td_code matrix_diag(td_kctx *c, int version) {
  const td_tensor *diag = td_k_input(c, 0), *pad = NULL;
  char b1[TD_ARRAY_SHAPE_BUF];
  band b = {0};
  int64_t rows = -1, cols = -1;
  TD_TRY(read_align(c, version, &b));
  if (version > 1) {
    TD_TRY(read_k(c, td_k_input(c, 1), &b));
    TD_TRY(td_array_scalar_index(c, td_k_input(c, 2), "num_rows", &rows));
    TD_TRY(td_array_scalar_index(c, td_k_input(c, 3), "num_cols", &cols));
    pad = td_k_input(c, 4);
    TD_TRY(check_pad(c, pad, diag->dtype));
  }
  int r = diag->shape.rank, single = b.lo == b.hi;
  if (r < (single ? 1 : 2))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "diagonal must be at least %s, received shape: %s", single ? "1-dim" : "2-dim",
                     td_array_shape_str(&diag->shape, b1, sizeof b1));
  int64_t nd = b.hi - b.lo + 1;
  if (!single && diag->shape.dim[r - 2] != nd)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "The number of diagonals provided in the input does not match the lower_diag_index and upper_diag_index range.");
  b.maxlen = diag->shape.dim[r - 1];
  int64_t min_rows = b.maxlen - min64(b.hi, 0), min_cols = b.maxlen + max64(b.lo, 0);
  if (rows != -1 && rows < min_rows)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "The number of rows is too small.");
  if (cols != -1 && cols < min_cols)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "The number of columns is too small.");
  if (rows == -1 && cols == -1) rows = cols = max64(min_rows, min_cols);
  else if (rows == -1) rows = min_rows;
  else if (cols == -1) cols = min_cols;
  if (rows != min_rows && cols != min_cols)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "The number of rows or columns is not consistent with the specified d_lower, d_upper, and diagonal.");
  b.m = rows, b.n = cols;
  int brank = r - (single ? 1 : 2);
  if (brank + 2 > TD_MAX_RANK) return td_k_fail(c, TD_INVALID_ARGUMENT, "MatrixDiag: output rank too large");
  td_shape os = td_shape_make(brank, diag->shape.dim);
  os.dim[os.rank++] = rows;
  os.dim[os.rank++] = cols;
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, diag->dtype, &os, &out));
  int64_t nout = td_tensor_num_elements(out);
  if (nout == 0) return TD_OK;
  if (pad) td_array_fill(out, 0, nout, pad, 0);
  move_diags(&b, td_array_dims_product(&os, 0, brank), out, diag, 0);
  return TD_OK;
}

/* MatrixDiagPart, V2, V3: [..., M, N] -> [..., (num_diags,) maxlen]. */
static td_code matrix_diag_part(td_kctx *c, int version) {
  const td_tensor *in = td_k_input(c, 0), *pad = NULL;
  char b1[TD_ARRAY_SHAPE_BUF];
  band b = {0};
  TD_TRY(read_align(c, version, &b));
  if (version > 1) {
    TD_TRY(read_k(c, td_k_input(c, 1), &b));
    pad = td_k_input(c, 2);
    TD_TRY(check_pad(c, pad, in->dtype));
  }
  int r = in->shape.rank;
  if (r < 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be at least 2-dim, received shape: %s",
                     td_array_shape_str(&in->shape, b1, sizeof b1));
  b.m = in->shape.dim[r - 2], b.n = in->shape.dim[r - 1];
  if (!((-b.m < b.lo || b.m == 0) && b.lo < max64(b.n, 1)) || !((-b.m < b.hi || b.m == 0) && b.hi < max64(b.n, 1)))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Diagonal index out of bounds: [%lld, %lld] for a %lldx%lld matrix",
                     (long long)b.lo, (long long)b.hi, (long long)b.m, (long long)b.n);
  b.maxlen = max64(0, min64(b.m + min64(b.hi, 0), b.n - max64(b.lo, 0)));
  td_shape os = td_shape_make(r - 2, in->shape.dim);
  if (b.lo != b.hi) os.dim[os.rank++] = b.hi - b.lo + 1;
  os.dim[os.rank++] = b.maxlen;
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, &os, &out));
  int64_t nout = td_tensor_num_elements(out);
  if (nout == 0) return TD_OK;
  if (pad) td_array_fill(out, 0, nout, pad, 0);
  move_diags(&b, td_array_dims_product(&in->shape, 0, r - 2), out, in, 1);
  return TD_OK;
}

/* MatrixSetDiag, V2, V3: input [..., M, N] with its band replaced by diagonal. */
static td_code matrix_set_diag(td_kctx *c, int version) {
  const td_tensor *in = td_k_input(c, 0), *diag = td_k_input(c, 1);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  band b = {0};
  TD_TRY(read_align(c, version, &b));
  if (version > 1) TD_TRY(read_k(c, td_k_input(c, 2), &b));
  int r = in->shape.rank;
  if (r < 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be at least 2-dim, received shape: %s",
                     td_array_shape_str(&in->shape, b1, sizeof b1));
  if (diag->dtype != in->dtype) return td_k_fail(c, TD_INVALID_ARGUMENT, "diagonal must have the input's type");
  b.m = in->shape.dim[r - 2], b.n = in->shape.dim[r - 1];
  if (!((-b.m < b.lo || b.m == 0) && b.lo < max64(b.n, 1)) || !((-b.m < b.hi || b.m == 0) && b.hi < max64(b.n, 1)))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Diagonal index out of bounds: [%lld, %lld] for a %lldx%lld matrix",
                     (long long)b.lo, (long long)b.hi, (long long)b.m, (long long)b.n);
  b.maxlen = max64(0, min64(b.m + min64(b.hi, 0), b.n - max64(b.lo, 0)));
  td_shape want = td_shape_make(r - 2, in->shape.dim);
  if (b.lo != b.hi) want.dim[want.rank++] = b.hi - b.lo + 1;
  want.dim[want.rank++] = b.maxlen;
  if (!td_shape_equal(&want, &diag->shape))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "diagonal must have shape %s, received shape: %s",
                     td_array_shape_str(&want, b1, sizeof b1), td_array_shape_str(&diag->shape, b2, sizeof b2));
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, &in->shape, &out));
  int64_t nout = td_tensor_num_elements(out);
  if (nout == 0) return TD_OK;
  td_array_copy(out, 0, in, 0, nout);
  move_diags(&b, td_array_dims_product(&in->shape, 0, r - 2), out, diag, 0);
  return TD_OK;
}

td_code td_k_math_matrix_diag(td_kctx *c) { return matrix_diag(c, 1); }
td_code td_k_math_matrix_diag_v2(td_kctx *c) { return matrix_diag(c, 2); }
td_code td_k_math_matrix_diag_v3(td_kctx *c) { return matrix_diag(c, 3); }
td_code td_k_math_matrix_diag_part(td_kctx *c) { return matrix_diag_part(c, 1); }
td_code td_k_math_matrix_diag_part_v2(td_kctx *c) { return matrix_diag_part(c, 2); }
td_code td_k_math_matrix_diag_part_v3(td_kctx *c) { return matrix_diag_part(c, 3); }
td_code td_k_math_matrix_set_diag(td_kctx *c) { return matrix_set_diag(c, 1); }
td_code td_k_math_matrix_set_diag_v2(td_kctx *c) { return matrix_set_diag(c, 2); }
td_code td_k_math_matrix_set_diag_v3(td_kctx *c) { return matrix_set_diag(c, 3); }

/* MatrixBandPart: keeps (i, j) with (lower < 0 || i - j <= lower) && (upper < 0 || j - i <= upper). */
td_code td_k_math_matrix_band_part(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  char b1[TD_ARRAY_SHAPE_BUF];
  int64_t lower, upper;
  TD_TRY(td_array_scalar_index(c, td_k_input(c, 1), "num_lower", &lower));
  TD_TRY(td_array_scalar_index(c, td_k_input(c, 2), "num_upper", &upper));
  int r = in->shape.rank;
  if (r < 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be at least 2-dim, received shape: %s",
                     td_array_shape_str(&in->shape, b1, sizeof b1));
  int64_t m = in->shape.dim[r - 2], n = in->shape.dim[r - 1];
  if (lower > m) return td_k_fail(c, TD_INVALID_ARGUMENT, "num_lower must be negative or less or equal to number of rows (%lld) got: %lld", (long long)m, (long long)lower);
  if (upper > n) return td_k_fail(c, TD_INVALID_ARGUMENT, "num_upper must be negative or less or equal to number of columns (%lld) got: %lld", (long long)n, (long long)upper);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, &in->shape, &out));
  int64_t nb = td_array_dims_product(&in->shape, 0, r - 2);
  for (int64_t bi = 0; bi < nb; bi++)
    for (int64_t i = 0; i < m; i++) {
      int64_t j0 = lower < 0 ? 0 : max64(0, i - lower), j1 = upper < 0 ? n : min64(n, i + upper + 1);
      if (j1 > j0) td_array_copy(out, (bi * m + i) * n + j0, in, (bi * m + i) * n + j0, j1 - j0);
    }
  return TD_OK;
}
