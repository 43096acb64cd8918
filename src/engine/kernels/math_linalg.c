/* math_linalg.c — small dense linear algebra and loss / quantization kernels: MatrixInverse,
 * MatrixDeterminant (LU with partial pivoting in double, per [..., M, M] matrix),
 * FakeQuantWithMinMaxArgs / Vars / VarsPerChannel (TF's nudged quantization grid),
 * SoftmaxCrossEntropyWithLogits and SparseSoftmaxCrossEntropyWithLogits (loss and backprop).
 * Float and double data (compute in double, stored in the input's type).
 * Invariants: shapes / ranges validated with TF's texts first; scratch is malloc'd per call and
 * freed before returning; reentrant.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/array_internal.h"
#include "engine/kernels/math_internal.h"

static int is_fd(td_dtype dt) { return dt == TD_DT_FLOAT || dt == TD_DT_DOUBLE; }

/* LU-decomposes a[n*n] in place; perm gets the row order. Returns the determinant sign
 * (+-1), or 0 if singular. */
static int lu(double *a, int64_t n, int64_t *perm) {
  int sign = 1;
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t k = 0; k < n; k++) {
    int64_t p = k;
    double best = fabs(a[k * n + k]);
    for (int64_t i = k + 1; i < n; i++)
      if (fabs(a[i * n + k]) > best) best = fabs(a[i * n + k]), p = i;
    if (best == 0 || isnan(best)) return 0;
    if (p != k) {
      for (int64_t j = 0; j < n; j++) {
        double t = a[k * n + j];
        a[k * n + j] = a[p * n + j];
        a[p * n + j] = t;
      }
      int64_t t = perm[k];
      perm[k] = perm[p];
      perm[p] = t;
      sign = -sign;
    }
    for (int64_t i = k + 1; i < n; i++) {
      double f = a[i * n + k] /= a[k * n + k];
      for (int64_t j = k + 1; j < n; j++) a[i * n + j] -= f * a[k * n + j];
    }
  }
  return sign;
}

static td_code square_batch(td_kctx *c, const td_tensor *in, int64_t *n, int64_t *nb) {
  char b1[TD_ARRAY_SHAPE_BUF];
  int r = in->shape.rank;
  if (!is_fd(in->dtype)) return td_math_fail_dtype(c, "T", in->dtype);
  if (r < 2) return td_k_fail(c, TD_INVALID_ARGUMENT, "Input must have rank >= 2, got %d", r);
  if (in->shape.dim[r - 1] != in->shape.dim[r - 2])
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input matrices must be squares, got %s", td_array_shape_str(&in->shape, b1, sizeof b1));
  *n = in->shape.dim[r - 1];
  *nb = td_array_dims_product(&in->shape, 0, r - 2);
  return TD_OK;
}

td_code td_k_math_matrix_inverse(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  int adj = td_attr_bool(td_k_node(c), "adjoint", false);
  int64_t n, nb;
  TD_TRY(square_batch(c, in, &n, &nb));
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, &in->shape, &out));
  if (n == 0 || nb == 0) return TD_OK;
  double *a = malloc((size_t)(n * n) * sizeof *a), *x = malloc((size_t)n * sizeof *x);
  int64_t *perm = malloc((size_t)n * sizeof *perm);
  td_code rc = TD_OK;
  if (!a || !x || !perm) rc = td_k_fail(c, TD_RESOURCE_EXHAUSTED, "MatrixInverse: out of memory");
  for (int64_t b = 0; b < nb && rc == TD_OK; b++) {
    int64_t base = b * n * n;
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < n; j++) a[i * n + j] = td_tensor_get_double(in, base + (adj ? j * n + i : i * n + j));
    if (lu(a, n, perm) == 0) {
      rc = td_k_fail(c, TD_INVALID_ARGUMENT, "Input is not invertible.");
      break;
    }
    for (int64_t col = 0; col < n; col++) { /* solve A x = e_col */
      for (int64_t i = 0; i < n; i++) {
        double s = perm[i] == col ? 1 : 0;
        for (int64_t j = 0; j < i; j++) s -= a[i * n + j] * x[j];
        x[i] = s;
      }
      for (int64_t i = n - 1; i >= 0; i--) {
        double s = x[i];
        for (int64_t j = i + 1; j < n; j++) s -= a[i * n + j] * x[j];
        x[i] = s / a[i * n + i];
      }
      for (int64_t i = 0; i < n; i++) td_tensor_set_double(out, base + i * n + col, x[i]);
    }
  }
  free(a);
  free(x);
  free(perm);
  return rc;
}

td_code td_k_math_matrix_determinant(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  int64_t n, nb;
  TD_TRY(square_batch(c, in, &n, &nb));
  td_shape os = td_shape_make(in->shape.rank - 2, in->shape.dim);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, &os, &out));
  double *a = malloc((size_t)(n * n + 1) * sizeof *a);
  int64_t *perm = malloc((size_t)(n + 1) * sizeof *perm);
  if (!a || !perm) {
    free(a);
    free(perm);
    return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "MatrixDeterminant: out of memory");
  }
  for (int64_t b = 0; b < nb; b++) {
    for (int64_t i = 0; i < n * n; i++) a[i] = td_tensor_get_double(in, b * n * n + i);
    int sign = lu(a, n, perm);
    double det = sign;
    for (int64_t i = 0; i < n && sign; i++) det *= a[i * n + i];
    td_tensor_set_double(out, b, det);
  }
  free(a);
  free(perm);
  return TD_OK;
}

/* ---- FakeQuant ---- */
typedef struct nudged {
  float min, max, scale;
} nudged;

static nudged nudge(float min, float max, int64_t bits, int narrow) {
  float qmin = narrow ? 1.0f : 0.0f, qmax = (float)((1 << bits) - 1);
  float scale = (max - min) / (qmax - qmin);
  float zp_from_min = qmin - min / scale;
  float zp = zp_from_min < qmin ? qmin : zp_from_min > qmax ? qmax : roundf(zp_from_min);
  nudged r = {(qmin - zp) * scale, (qmax - zp) * scale, scale};
  return r;
}

static void fake_quant(const float *x, float *y, int64_t n, int64_t stride, nudged q) {
  float inv = 1.0f / q.scale;
  for (int64_t i = 0; i < n; i++) {
    float v = x[i * stride];
    float cl = v < q.min ? q.min : v > q.max ? q.max : v;
    y[i * stride] = floorf((cl - q.min) * inv + 0.5f) * q.scale + q.min;
  }
}

static td_code fq_check(td_kctx *c, float min, float max, int64_t bits) {
  if (bits < 2 || bits > 16)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "num_bits is out of range, expected between 2 and 16, was: %lld", (long long)bits);
  if (!(min < max)) return td_k_fail(c, TD_INVALID_ARGUMENT, "min has to be smaller than max, was: %g >= %g", min, max);
  return TD_OK;
}

/* mode 0 = Args (attrs), 1 = Vars (scalar tensors), 2 = VarsPerChannel (last-dim vectors) */
static td_code fake_quant_kernel(td_kctx *c, int mode) {
  const td_tensor *x = td_k_input(c, 0);
  const td_node *node = td_k_node(c);
  int64_t bits = td_attr_int(node, "num_bits", 8);
  int narrow = td_attr_bool(node, "narrow_range", false);
  if (x->dtype != TD_DT_FLOAT) return td_math_fail_dtype(c, "T", x->dtype);
  int64_t n = td_tensor_num_elements(x), d = 1;
  const td_tensor *mn = NULL, *mx = NULL;
  if (mode > 0) {
    mn = td_k_input(c, 1), mx = td_k_input(c, 2);
    if (mn->dtype != TD_DT_FLOAT || mx->dtype != TD_DT_FLOAT)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "min and max must be float");
    if (mode == 1 && (td_tensor_num_elements(mn) != 1 || td_tensor_num_elements(mx) != 1))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "min and max must be scalars");
    if (mode == 2) {
      d = x->shape.rank ? x->shape.dim[x->shape.rank - 1] : 1;
      if (td_tensor_num_elements(mn) != d || td_tensor_num_elements(mx) != d)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "min and max must have the last dimension of inputs (%lld) elements",
                         (long long)d);
    }
  }
  for (int64_t ch = 0; ch < d; ch++) {
    float lo = mode ? td_f32(mn)[ch] : td_attr_float(node, "min", -6.0f);
    float hi = mode ? td_f32(mx)[ch] : td_attr_float(node, "max", 6.0f);
    TD_TRY(fq_check(c, lo, hi, bits));
  }
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &x->shape, &out));
  if (n == 0) return TD_OK;
  for (int64_t ch = 0; ch < d; ch++) {
    float lo = mode ? td_f32(mn)[ch] : td_attr_float(node, "min", -6.0f);
    float hi = mode ? td_f32(mx)[ch] : td_attr_float(node, "max", 6.0f);
    fake_quant(td_f32(x) + ch, td_f32(out) + ch, (n - ch + d - 1) / d, d, nudge(lo, hi, bits, narrow));
  }
  return TD_OK;
}
td_code td_k_math_fake_quant_args(td_kctx *c) { return fake_quant_kernel(c, 0); }
td_code td_k_math_fake_quant_vars(td_kctx *c) { return fake_quant_kernel(c, 1); }
td_code td_k_math_fake_quant_vars_per_channel(td_kctx *c) { return fake_quant_kernel(c, 2); }

/* ---- softmax cross entropy ---- */
/* loss[b] = sum_j p[b,j] (lse_b - x[b,j]) with p the label row; backprop = softmax - p. The
 * label row is given densely (lab, lstride: 0 = broadcast row) or sparsely (cls >= 0). */
static void xent_row(const td_tensor *x, int64_t xoff, const td_tensor *lab, int64_t loff, int64_t cls, int64_t nc,
                     td_tensor *loss, int64_t b, td_tensor *bp) {
  double mx = -INFINITY, sum = 0, l = 0;
  for (int64_t j = 0; j < nc; j++) {
    double v = td_tensor_get_double(x, xoff + j);
    if (v > mx) mx = v;
  }
  for (int64_t j = 0; j < nc; j++) sum += exp(td_tensor_get_double(x, xoff + j) - mx);
  double lse = mx + log(sum);
  for (int64_t j = 0; j < nc; j++) {
    double v = td_tensor_get_double(x, xoff + j), p = cls >= 0 ? (j == cls) : td_tensor_get_double(lab, loff + j);
    if (p != 0) l += p * (lse - v);
    td_tensor_set_double(bp, b * nc + j, exp(v - lse) - p);
  }
  td_tensor_set_double(loss, b, l);
}

td_code td_k_math_softmax_xent(td_kctx *c) {
  const td_tensor *x = td_k_input(c, 0), *lab = td_k_input(c, 1);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  if (!is_fd(x->dtype)) return td_math_fail_dtype(c, "T", x->dtype);
  if (lab->dtype != x->dtype) return td_k_fail(c, TD_INVALID_ARGUMENT, "labels must have the type of features");
  if (x->shape.rank > 2 || lab->shape.rank > 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "logits and labels must be either 2-dimensional, or broadcasted to be 2-dimensional");
  td_shape xs = x->shape, ls = lab->shape;
  while (xs.rank < 2) memmove(xs.dim + 1, xs.dim, sizeof(int64_t) * (size_t)xs.rank), xs.dim[0] = 1, xs.rank++;
  while (ls.rank < 2) memmove(ls.dim + 1, ls.dim, sizeof(int64_t) * (size_t)ls.rank), ls.dim[0] = 1, ls.rank++;
  int64_t nb = xs.dim[0] == 1 ? ls.dim[0] : xs.dim[0], nc = xs.dim[1] == 1 ? ls.dim[1] : xs.dim[1];
  for (int k = 0; k < 2; k++) {
    int64_t want = k ? nc : nb;
    if ((xs.dim[k] != want && xs.dim[k] != 1) || (ls.dim[k] != want && ls.dim[k] != 1))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "logits and labels must be broadcastable: logits_size=%s labels_size=%s",
                       td_array_shape_str(&x->shape, b1, sizeof b1), td_array_shape_str(&lab->shape, b2, sizeof b2));
  }
  if ((xs.dim[1] == 1 && nc != 1) || (ls.dim[1] == 1 && nc != 1))
    return td_k_fail(c, TD_UNIMPLEMENTED, "broadcasting along the class dimension is not supported");
  td_shape lsh = td_shape_vector(nb), bsh = td_shape_make(2, (int64_t[]){nb, nc});
  td_tensor *loss, *bp;
  TD_TRY(td_k_alloc_output(c, 0, x->dtype, &lsh, &loss));
  TD_TRY(td_k_alloc_output(c, 1, x->dtype, &bsh, &bp));
  for (int64_t b = 0; b < nb && nc > 0; b++)
    xent_row(x, (xs.dim[0] == 1 ? 0 : b) * nc, lab, (ls.dim[0] == 1 ? 0 : b) * nc, -1, nc, loss, b, bp);
  return TD_OK;
}

td_code td_k_math_sparse_softmax_xent(td_kctx *c) {
  const td_tensor *x = td_k_input(c, 0), *lab = td_k_input(c, 1);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  if (!is_fd(x->dtype)) return td_math_fail_dtype(c, "T", x->dtype);
  if (!td_array_is_index_dtype(lab->dtype)) return td_k_fail(c, TD_INVALID_ARGUMENT, "labels must be int32 or int64");
  if (x->shape.rank != 2) return td_k_fail(c, TD_INVALID_ARGUMENT, "logits must be 2-D, but got shape %s", td_array_shape_str(&x->shape, b1, sizeof b1));
  if (lab->shape.rank != 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "labels must be 1-D, but got shape %s", td_array_shape_str(&lab->shape, b1, sizeof b1));
  int64_t nb = x->shape.dim[0], nc = x->shape.dim[1];
  if (lab->shape.dim[0] != nb)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "logits and labels must have the same first dimension, got logits shape %s and labels shape %s",
                     td_array_shape_str(&x->shape, b1, sizeof b1), td_array_shape_str(&lab->shape, b2, sizeof b2));
  if (nc == 0 && nb > 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Must have at least one class, but got logits shape %s", td_array_shape_str(&x->shape, b1, sizeof b1));
  for (int64_t b = 0; b < nb; b++) {
    int64_t v = td_array_index_at(lab, b);
    if (v < 0 || v >= nc) {
      char vals[256];
      size_t len = 0;
      vals[0] = 0;
      for (int64_t i = 0; i < nb && len < sizeof vals - 24; i++)
        len += (size_t)snprintf(vals + len, sizeof vals - len, "%s%lld", i ? " " : "", (long long)td_array_index_at(lab, i));
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Received a label value of %lld which is outside the valid range of [0, %lld).  Label values: %s",
                       (long long)v, (long long)nc, vals);
    }
  }
  td_shape lsh = td_shape_vector(nb);
  td_tensor *loss, *bp;
  TD_TRY(td_k_alloc_output(c, 0, x->dtype, &lsh, &loss));
  TD_TRY(td_k_alloc_output(c, 1, x->dtype, &x->shape, &bp));
  for (int64_t b = 0; b < nb; b++) xent_row(x, b * nc, NULL, 0, td_array_index_at(lab, b), nc, loss, b, bp);
  return TD_OK;
}
