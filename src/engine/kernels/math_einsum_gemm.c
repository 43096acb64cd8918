/* math_einsum_gemm.c — Einsum's float fast path: the product straight from the operands'
 * strides into the output, no operand or product copies.
 *
 * Two-operand float Einsum (math_einsum.c) classifies labels into batch, free-left (rows, m),
 * free-right (cols, n) and contracted (k). When, in each operand and in the output, the labels of
 * every GEMM axis group collapse to one stride (consecutive in memory, as in Keras
 * MultiHeadAttention's "aecd,abcd->acbe" / "acbe,aecd->abcd": a head's [seq, dim] matrix is a
 * row-strided view of [batch, seq, heads, dim]) and one group of each matrix is unit-stride, the
 * product is one strided sgemm per batch element (lda/ldb/ldc carry the strides, transpose flags
 * pick the unit-stride group) written into output 0 in place. A product with no batch dims whose
 * right operand is a callable constant in plain [k, n] layout (the projections "abc,cde->abde",
 * "abcd,cde->abe") goes to oneDNN's inner product with the weights reordered once per node
 * (td_nn_conv_dnnl, as MatMul does): OpenBLAS re-packs B on every call.
 * Anything else (sum-only labels, repeated labels, broadcast size-1 labels, empty dims,
 * non-collapsible groups) returns "not handled" and the general path runs.
 * Invariants: reads only inside the operands' shapes; reentrant (no state here; oneDNN plans
 * live in the step state nn_dnnl.c keeps).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/math_internal.h"
#include "engine/kernels/math_einsum.h"
#include "engine/kernels/nn.h"

#define FREE_STRIDE (-1) /* a group of total size 1: any stride will do */

/* Element stride of label l in a tensor with labels lab[0..rank) and shape dims; 0 if l is
 * absent, -2 if it occurs twice or its dim differs from size (a broadcast). */
static int64_t label_stride(const int *lab, int rank, const int64_t *dims, int l, int64_t size) {
  int64_t s = 1, found = 0;
  for (int a = rank - 1; a >= 0; a--) {
    if (lab[a] == l) {
      if (found || dims[a] != size) return -2;
      found = s;
    }
    s *= dims[a];
  }
  return found;
}

/* Collapses labels g[0..n) (row-major within the group) to one stride; returns FREE_STRIDE for
 * a group of total size 1, -2 if the group is not one strided run in this tensor. */
static int64_t group_stride(const int *lab, int rank, const int64_t *dims, const int *g, int n,
                            const int64_t *size) {
  int64_t stride = FREE_STRIDE, expect = -1;
  for (int i = n - 1; i >= 0; i--) {
    if (size[g[i]] == 1) continue;
    int64_t s = label_stride(lab, rank, dims, g[i], size[g[i]]);
    if (s <= 0) return -2;
    if (stride == FREE_STRIDE) stride = s;
    else if (s != expect) return -2;
    expect = s * size[g[i]];
  }
  return stride;
}

static int is_unit(int64_t s) { return s == 1 || s == FREE_STRIDE; }
static int64_t or_default(int64_t s, int64_t d) { return s == FREE_STRIDE ? d : s; }
static int fits(int64_t v) { return v >= 1 && v <= INT_MAX; }

/* One operand as a GEMM matrix [rows, cols]: *trans = 0 when cols are unit-stride (ld = row
 * stride), 1 when rows are (ld = col stride). Returns 0 or -1 (no such layout). */
static int matrix_layout(int64_t srow, int64_t scol, int64_t rows, int64_t cols, int *trans, int64_t *ld) {
  if (is_unit(scol) && (srow == FREE_STRIDE || srow >= cols)) {
    *trans = 0;
    *ld = or_default(srow, cols);
    return fits(*ld) ? 0 : -1;
  }
  if (is_unit(srow) && (scol == FREE_STRIDE || scol >= rows)) {
    *trans = 1;
    *ld = or_default(scol, rows);
    return fits(*ld) ? 0 : -1;
  }
  return -1;
}

int td_math_einsum_gemm(td_kctx *c, const td_einsum_gemm *e, td_code *rc) {
  const td_tensor *L = e->l, *R = e->r;
  if (L->dtype != TD_DT_FLOAT || R->dtype != TD_DT_FLOAT || e->nb > TD_MAX_RANK) return 0;
  int64_t m = 1, n = 1, k = 1, nbatch = 1;
  for (int i = 0; i < e->nlf; i++) m *= e->size[e->lf[i]];
  for (int i = 0; i < e->nrf; i++) n *= e->size[e->rf[i]];
  for (int i = 0; i < e->nc; i++) k *= e->size[e->con[i]];
  for (int i = 0; i < e->nb; i++) nbatch *= e->size[e->batch[i]];
  if (!fits(m) || !fits(n) || !fits(k) || nbatch < 1) return 0; /* empty or huge: general path */
  td_shape os = {.rank = e->orank};
  for (int i = 0; i < e->orank; i++) os.dim[i] = e->size[e->olab[i]];
  const int64_t *ld_ = L->shape.dim, *rd_ = R->shape.dim;
  /* every axis of an operand must be a batch/free/contracted label of its own size */
  int64_t lsm = group_stride(e->llab, L->shape.rank, ld_, e->lf, e->nlf, e->size);
  int64_t lsk = group_stride(e->llab, L->shape.rank, ld_, e->con, e->nc, e->size);
  int64_t rsk = group_stride(e->rlab, R->shape.rank, rd_, e->con, e->nc, e->size);
  int64_t rsn = group_stride(e->rlab, R->shape.rank, rd_, e->rf, e->nrf, e->size);
  int64_t osm = group_stride(e->olab, os.rank, os.dim, e->lf, e->nlf, e->size);
  int64_t osn = group_stride(e->olab, os.rank, os.dim, e->rf, e->nrf, e->size);
  if (lsm == -2 || lsk == -2 || rsk == -2 || rsn == -2 || osm == -2 || osn == -2) return 0;
  int64_t nl = 1, nr = 1;
  for (int a = 0; a < L->shape.rank; a++) nl *= ld_[a];
  for (int a = 0; a < R->shape.rank; a++) nr *= rd_[a];
  if (nl != nbatch * m * k || nr != nbatch * k * n) return 0; /* a label outside the groups */
  int ta, tb;
  int64_t lda, ldb;
  if (matrix_layout(lsm, lsk, m, k, &ta, &lda) != 0 || matrix_layout(rsk, rsn, k, n, &tb, &ldb) != 0) return 0;
  if (!is_unit(osn) || (osm != FREE_STRIDE && osm < n)) return 0;
  int64_t ldc = or_default(osm, n);
  if (!fits(ldc)) return 0;
  int64_t bl[TD_MAX_RANK], br[TD_MAX_RANK], bo[TD_MAX_RANK], bs[TD_MAX_RANK];
  for (int i = 0; i < e->nb; i++) {
    int l = e->batch[i];
    bs[i] = e->size[l];
    bl[i] = label_stride(e->llab, L->shape.rank, ld_, l, bs[i]);
    br[i] = label_stride(e->rlab, R->shape.rank, rd_, l, bs[i]);
    bo[i] = label_stride(e->olab, os.rank, os.dim, l, bs[i]);
    if (bl[i] <= 0 || br[i] <= 0 || bo[i] <= 0) return 0;
  }

  td_tensor *o;
  *rc = td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &os, &o);
  if (*rc != TD_OK) return 1;
  const float *a = td_f32(L), *b = td_f32(R);
  float *out = td_f32(o);
  if (nbatch == 1 && !ta && !tb && lda == k && ldb == n && ldc == n && e->r_const && td_nn_dnnl_enabled() &&
      td_nn_matmul_dnnl(c, m, n, k, a, b, NULL, out) == 0)
    return 1;
  int64_t idx[TD_MAX_RANK] = {0}, offl = 0, offr = 0, offo = 0;
  for (int64_t it = 0; it < nbatch; it++) {
    td_math_sgemm_fast(ta, tb, m, n, k, a + offl, lda, b + offr, ldb, 0.0f, out + offo, ldc);
    for (int i = e->nb - 1; i >= 0; i--) { /* next batch index, offsets updated incrementally */
      if (++idx[i] < bs[i]) {
        offl += bl[i], offr += br[i], offo += bo[i];
        break;
      }
      offl -= bl[i] * (bs[i] - 1), offr -= br[i] * (bs[i] - 1), offo -= bo[i] * (bs[i] - 1);
      idx[i] = 0;
    }
  }
  return 1;
}
