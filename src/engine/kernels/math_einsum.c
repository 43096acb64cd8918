/* math_einsum.c — Einsum (one or two operands) as strided copies + a batched GEMM.
 *
 * The equation is parsed into label ids (A-Z = 0..25, a-z = 26..51, the k-th broadcast dim of
 * an ellipsis = 52 + k, right-aligned across operands). Each operand is then brought into a
 * layout of distinct labels with ONE strided copy (td_array_walk_copy): a label repeated within
 * an operand walks with the sum of its axes' strides (= the diagonal), labels that occur in no
 * other operand and not in the output go last and are summed away. With two operands the labels
 * fall into batch (both + output), contracted (both, not output), free-left and free-right; the
 * product is [batch, free-left, free-right] = sum over contracted, one gemm per batch
 * (td_math_gemm, math_matmul.c), and a last strided copy puts the output labels in order. A
 * label of size 1 in one operand and n in the other (broadcasting) is dropped from the size-1
 * operand, so batch dims always match. Operands already in a usable layout (possibly through
 * the gemm's transpose flags) and outputs already in order are used in place — no copy.
 * Float products whose label groups are strided runs in both operands and the output (Keras
 * attention's per-head views, projections) skip all of this: math_einsum_gemm.c.
 * Invariants: everything is validated before data is read; temporaries are owned tensors
 * released before returning; reentrant (no state).
 */
#include <stdio.h>
#include <string.h>

#include "engine/kernels/array_internal.h"
#include "engine/kernels/math_einsum.h"
#include "engine/kernels/math_internal.h"

#define NLAB 64
#define ELL0 52
#define EQ_MAX 256

typedef struct operand {
  int rank;
  int lab[TD_MAX_RANK];
} operand;

static int letter_id(char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return 26 + (ch - 'a');
  return -1;
}
static char id_letter(int id) { return id < 26 ? (char)('A' + id) : id < 52 ? (char)('a' + id - 26) : '.'; }

/* Parses one subscript s[0..n) into raw ids (-2 marks the ellipsis). Returns the count or -1. */
static int parse_subscript(const char *s, size_t n, int *ids, int *has_ell) {
  int cnt = 0;
  *has_ell = 0;
  for (size_t i = 0; i < n;) {
    if (s[i] == ' ') { i++; continue; }
    if (s[i] == '.') {
      if (i + 2 >= n || s[i + 1] != '.' || s[i + 2] != '.' || *has_ell) return -1;
      *has_ell = 1;
      if (cnt >= 2 * TD_MAX_RANK) return -1;
      ids[cnt++] = -2;
      i += 3;
      continue;
    }
    int id = letter_id(s[i]);
    if (id < 0 || cnt >= 2 * TD_MAX_RANK) return -1;
    ids[cnt++] = id;
    i++;
  }
  return cnt;
}

/* Expands raw ids with the ellipsis for an operand of `rank`; ne = its ellipsis dim count. */
static int expand(const int *ids, int cnt, int has_ell, int rank, int ell_total, operand *op) {
  int nl = cnt - has_ell, ne = rank - nl;
  if (ne < 0 || (!has_ell && ne != 0) || rank > TD_MAX_RANK) return -1;
  op->rank = 0;
  for (int i = 0; i < cnt; i++) {
    if (ids[i] == -2) {
      for (int j = 0; j < ne; j++) op->lab[op->rank++] = ELL0 + (ell_total - ne) + j;
    } else {
      op->lab[op->rank++] = ids[i];
    }
  }
  return 0;
}

/* Sum of the input rows of length `inner` into out[outer] (contiguous source). */
static void reduce_rows(const td_tensor *src, td_tensor *dst, int64_t outer, int64_t inner) {
  switch (src->dtype) {
#define RED(DT, T, ACC)                                                              \
  case DT: {                                                                         \
    const T *s = src->data;                                                          \
    T *d = dst->data;                                                                \
    for (int64_t o = 0; o < outer; o++) {                                            \
      ACC acc = 0;                                                                   \
      for (int64_t i = 0; i < inner; i++) acc += (ACC)s[o * inner + i];              \
      d[o] = (T)acc;                                                                 \
    }                                                                                \
    return;                                                                          \
  }
    RED(TD_DT_FLOAT, float, double)
    RED(TD_DT_DOUBLE, double, double)
    RED(TD_DT_INT32, int32_t, uint32_t)
    RED(TD_DT_INT64, int64_t, uint64_t)
    RED(TD_DT_UINT32, uint32_t, uint32_t)
    RED(TD_DT_UINT64, uint64_t, uint64_t)
#undef RED
    default:
      for (int64_t o = 0; o < outer; o++) {
        double acc = 0;
        for (int64_t i = 0; i < inner; i++) acc += td_tensor_get_double(src, o * inner + i);
        td_tensor_set_double(dst, o, acc);
      }
      return;
  }
}

/* Labels of op in the layout `order[0..n)` (distinct ids present in op, dropped labels absent):
 * 1 if op's own axes already are that layout (size-1 dropped axes ignored). */
static int is_identity(const operand *op, const uint8_t *dropped, const int *order, int n) {
  int k = 0;
  for (int a = 0; a < op->rank; a++) {
    if (dropped[op->lab[a]]) continue;
    if (k >= n || order[k] != op->lab[a]) return 0;
    k++;
  }
  return k == n;
}

/* Brings input `t` (labels op) into layout order[0..n) with labels sum[0..ns) summed away.
 * *res is either a borrowed view of t (identity) or an owned temporary (released by the caller
 * via td_tensor_release; borrowed tensors release as a no-op). */
static td_code prepare(td_kctx *c, const td_tensor *t, const operand *op, const uint8_t *dropped,
                       const int *order, int n, const int *sum, int ns, const int64_t *size,
                       td_tensor *res) {
  if (ns == 0 && is_identity(op, dropped, order, n)) {
    td_shape s = {.rank = n};
    for (int i = 0; i < n; i++) s.dim[i] = size[order[i]];
    *res = td_tensor_borrow(t->dtype, &s, t->data);
    return TD_OK;
  }
  int64_t stride[TD_MAX_RANK];
  td_array_strides(&t->shape, stride);
  td_array_walk w = {.rank = n + ns};
  td_shape full = {.rank = 0}, kept = {.rank = n};
  int64_t dst_stride = 1;
  for (int i = n + ns - 1; i >= 0; i--) {
    int l = i < n ? order[i] : sum[i - n];
    if (__builtin_mul_overflow(dst_stride, size[l], &(int64_t){0}))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Einsum operand too large");
    int64_t ss = 0;
    for (int a = 0; a < op->rank; a++)
      if (op->lab[a] == l) ss += stride[a];
    w.dim[i] = size[l];
    w.src_stride[i] = ss;
    w.dst_stride[i] = dst_stride;
    dst_stride *= size[l];
  }
  int64_t inner = 1;
  for (int i = 0; i < n + ns; i++) {
    if (full.rank < TD_MAX_RANK) full.dim[full.rank++] = w.dim[i];
    if (i < n) kept.dim[i] = w.dim[i];
    else inner *= w.dim[i];
  }
  if (n + ns > TD_MAX_RANK) { /* more distinct labels than a tensor may hold: flatten */
    full.rank = 1;
    full.dim[0] = dst_stride;
  }
  td_status st;
  td_status_clear(&st);
  td_tensor tmp;
  if (td_tensor_alloc(&tmp, t->dtype, &full, &st) != TD_OK)
    return td_k_fail(c, st.code, "%s", st.msg);
  if (dst_stride > 0) td_array_walk_copy(&tmp, 0, t, 0, &w);
  if (ns == 0) {
    tmp.shape = kept;
    *res = tmp;
    return TD_OK;
  }
  td_tensor red;
  if (td_tensor_alloc(&red, t->dtype, &kept, &st) != TD_OK) {
    td_tensor_release(&tmp);
    return td_k_fail(c, st.code, "%s", st.msg);
  }
  int64_t outer = td_shape_num_elements(&kept);
  if (outer > 0) reduce_rows(&tmp, &red, outer, inner);
  td_tensor_release(&tmp);
  *res = red;
  return TD_OK;
}

/* Writes the product/operand `src` (labels from[0..n), contiguous) into output 0 in the order
 * of out labels (a permutation of from). */
static td_code emit(td_kctx *c, td_tensor *src, const int *from, const operand *out, const int64_t *size) {
  td_shape os = {.rank = out->rank};
  for (int i = 0; i < out->rank; i++) os.dim[i] = size[out->lab[i]];
  int same = 1;
  for (int i = 0; i < out->rank; i++) same &= from[i] == out->lab[i];
  td_tensor *o;
  if (same) {
    if (!src->buf) return td_k_forward(c, 0, 0, &os); /* a view of input 0 */
    src->shape = os; /* owned temporary: hand it over */
    td_k_set_output(c, 0, src);
    return TD_OK;
  }
  TD_TRY(td_k_alloc_output_uninit(c, 0, src->dtype, &os, &o));
  if (td_tensor_num_elements(o) == 0) return TD_OK;
  int64_t sstride[TD_MAX_RANK], s = 1;
  for (int i = out->rank - 1; i >= 0; i--) {
    sstride[i] = s;
    s *= size[from[i]];
  }
  td_array_walk w = {.rank = out->rank};
  int64_t ds = 1;
  for (int i = out->rank - 1; i >= 0; i--) {
    w.dim[i] = os.dim[i];
    w.dst_stride[i] = ds;
    ds *= os.dim[i];
    for (int j = 0; j < out->rank; j++)
      if (from[j] == out->lab[i]) w.src_stride[i] = sstride[j];
  }
  td_array_walk_copy(o, 0, src, 0, &w);
  return TD_OK;
}

static int contains(const int *v, int n, int x) {
  for (int i = 0; i < n; i++)
    if (v[i] == x) return 1;
  return 0;
}

td_code td_k_math_einsum(td_kctx *c) {
  const td_node *node = td_k_node(c);
  int nin = td_k_num_inputs(c);
  size_t eqlen = 0;
  const char *eqa = td_attr_str(node, "equation", &eqlen);
  char eq[EQ_MAX + 1], b1[TD_MATH_SHAPE_BUF];
  if (!eqa || eqlen > EQ_MAX) return td_k_fail(c, TD_INVALID_ARGUMENT, "Einsum: missing or too long equation");
  memcpy(eq, eqa, eqlen);
  eq[eqlen] = 0;
  if (nin < 1 || nin > 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expecting 1 or 2 input subscripts in equation '%s' but got: %d", eq, nin);
  const td_tensor *in[2] = {td_k_input(c, 0), nin > 1 ? td_k_input(c, 1) : NULL};
  td_dtype dt = in[0]->dtype;
  if (nin == 2 && in[1]->dtype != dt)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Einsum operands must have the same type: %s vs. %s",
                     td_dtype_name(dt), td_dtype_name(in[1]->dtype));
  if (!td_math_gemm_supported(dt)) return td_math_fail_dtype(c, "T", dt);

  /* ---- parse ---- */
  const char *arrow = strstr(eq, "->");
  if (arrow && strstr(arrow + 2, "->"))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expecting exactly one '->' in einsum equation: %s", eq);
  size_t lhs_len = arrow ? (size_t)(arrow - eq) : eqlen;
  int raw[2][2 * TD_MAX_RANK], rawn[2], ell[2], nsub = 0;
  for (size_t s = 0, i = 0; i <= lhs_len; i++) {
    if (i < lhs_len && eq[i] != ',') continue;
    if (nsub >= 2) { nsub++; break; }
    rawn[nsub] = parse_subscript(eq + s, i - s, raw[nsub], &ell[nsub]);
    if (rawn[nsub] < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid Einsum equation: %s", eq);
    nsub++;
    s = i + 1;
  }
  if (nsub != nin)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expecting %d input subscripts in equation '%s' but got: %d", nin, eq, nsub);
  int ell_total = 0;
  for (int i = 0; i < nin; i++) {
    int ne = in[i]->shape.rank - (rawn[i] - ell[i]);
    if (ell[i] && ne > ell_total) ell_total = ne;
  }
  operand op[2], out = {0};
  for (int i = 0; i < nin; i++)
    if (expand(raw[i], rawn[i], ell[i], in[i]->shape.rank, ell_total, &op[i]) != 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Input %d to Einsum has rank %d, which does not match its subscripts in equation '%s'",
                       i, in[i]->shape.rank, eq);
  int count[NLAB] = {0};
  for (int i = 0; i < nin; i++)
    for (int a = 0; a < op[i].rank; a++) count[op[i].lab[a]]++;
  if (arrow) {
    int ids[2 * TD_MAX_RANK], oell;
    int n = parse_subscript(arrow + 2, strlen(arrow + 2), ids, &oell);
    if (n < 0 || n - oell + (oell ? ell_total : 0) > TD_MAX_RANK)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid Einsum equation: %s", eq);
    expand(ids, n, oell, n - oell + (oell ? ell_total : 0), ell_total, &out);
    for (int a = 0; a < out.rank; a++) {
      int l = out.lab[a];
      if (l < ELL0 && !count[l])
        return td_k_fail(c, TD_INVALID_ARGUMENT, "Output subscript '%c' does not appear in the input subscripts of equation '%s'",
                         id_letter(l), eq);
      for (int b = 0; b < a; b++)
        if (out.lab[b] == l)
          return td_k_fail(c, TD_INVALID_ARGUMENT, "Output subscripts in equation '%s' must be unique", eq);
    }
  } else {
    for (int j = 0; j < ell_total; j++) out.lab[out.rank++] = ELL0 + j;
    for (int l = 0; l < ELL0; l++)
      if (count[l] == 1) {
        if (out.rank >= TD_MAX_RANK) return td_k_fail(c, TD_INVALID_ARGUMENT, "Einsum output rank too large");
        out.lab[out.rank++] = l;
      }
  }

  /* ---- sizes (ellipsis dims and size-1 labels broadcast across operands) ---- */
  int64_t size[NLAB], opsize[2][NLAB];
  for (int l = 0; l < NLAB; l++) size[l] = opsize[0][l] = opsize[1][l] = -1;
  for (int i = 0; i < nin; i++)
    for (int a = 0; a < op[i].rank; a++) {
      int l = op[i].lab[a];
      int64_t d = in[i]->shape.dim[a];
      if (opsize[i][l] >= 0 && opsize[i][l] != d)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected dimension %lld at axis %d of the input shaped %s but got dimension %lld",
                         (long long)opsize[i][l], a, td_math_shape_str(&in[i]->shape, b1), (long long)d);
      opsize[i][l] = d;
    }
  uint8_t dropped[2][NLAB];
  memset(dropped, 0, sizeof dropped);
  for (int l = 0; l < NLAB; l++) {
    int64_t s0 = opsize[0][l], s1 = nin > 1 ? opsize[1][l] : -1;
    if (s0 >= 0 && s1 >= 0 && s0 != s1) {
      if (s0 != 1 && s1 != 1) {
        int ax = 0;
        while (ax < op[1].rank && op[1].lab[ax] != l) ax++;
        return td_k_fail(c, TD_INVALID_ARGUMENT,
                         "Expected dimension %lld at axis %d of the input shaped %s but got dimension %lld",
                         (long long)s0, ax, td_math_shape_str(&in[1]->shape, b1), (long long)s1);
      }
      dropped[s0 == 1 ? 0 : 1][l] = 1;
    }
    size[l] = s0 >= 0 && !dropped[0][l] ? s0 : s1 >= 0 ? s1 : s0;
  }
  for (int a = 0; a < out.rank; a++)
    if (size[out.lab[a]] < 0) size[out.lab[a]] = 1; /* an ellipsis dim no operand has */

  int in_out[NLAB] = {0};
  for (int a = 0; a < out.rank; a++) in_out[out.lab[a]] = 1;
  /* distinct labels per operand (after drops), in first-appearance order */
  int has[2][NLAB];
  memset(has, 0, sizeof has);
  for (int i = 0; i < nin; i++)
    for (int a = 0; a < op[i].rank; a++)
      if (!dropped[i][op[i].lab[a]]) has[i][op[i].lab[a]] = 1;

  if (nin == 1) {
    int sum[NLAB], ns = 0;
    for (int a = 0; a < op[0].rank; a++) {
      int l = op[0].lab[a];
      if (!in_out[l] && !contains(sum, ns, l)) sum[ns++] = l;
    }
    td_tensor r;
    TD_TRY(prepare(c, in[0], &op[0], dropped[0], out.lab, out.rank, sum, ns, size, &r));
    td_code rc = emit(c, &r, out.lab, &out, size);
    td_tensor_release(&r);
    return rc;
  }

  /* ---- two operands: classify ---- */
  int batch[NLAB], nb = 0, con[NLAB], nc = 0, fa[NLAB], nfa = 0, fb[NLAB], nfb = 0;
  int sa[NLAB], nsa = 0, sb[NLAB], nsb = 0;
  for (int a = 0; a < out.rank; a++) {
    int l = out.lab[a];
    if (has[0][l] && has[1][l]) batch[nb++] = l;
    else if (has[0][l]) fa[nfa++] = l;
    else if (has[1][l]) fb[nfb++] = l;
  }
  for (int i = 0; i < 2; i++)
    for (int a = 0; a < op[i].rank; a++) {
      int l = op[i].lab[a];
      if (in_out[l] || dropped[i][l]) continue;
      if (has[0][l] && has[1][l]) {
        if (i == 0 && !contains(con, nc, l)) con[nc++] = l;
      } else if (i == 0 && !contains(sa, nsa, l)) {
        sa[nsa++] = l;
      } else if (i == 1 && !contains(sb, nsb, l)) {
        sb[nsb++] = l;
      }
    }
  /* output labels an operand lacks entirely (ellipsis dims of size 1 nobody has) are free-left */
  for (int a = 0; a < out.rank; a++) {
    int l = out.lab[a];
    if (!has[0][l] && !has[1][l]) fa[nfa++] = l;
  }
  /* put the operand whose free labels come first in the output on the left */
  int swap = 0;
  if (nfa && nfb) {
    int pa = 0, pb = 0;
    for (int a = 0; a < out.rank; a++) {
      if (out.lab[a] == fa[0]) pa = a;
      if (out.lab[a] == fb[0]) pb = a;
    }
    swap = pb < pa;
  }
  const td_tensor *L = in[swap], *R = in[!swap];
  const operand *lo = &op[swap], *ro = &op[!swap];
  const uint8_t *ld = dropped[swap], *rd = dropped[!swap];
  int *lf = swap ? fb : fa, nlf = swap ? nfb : nfa, *rf = swap ? fa : fb, nrf = swap ? nfa : nfb;
  int *ls = swap ? sb : sa, nls = swap ? nsb : nsa, *rs = swap ? sa : sb, nrs = swap ? nsa : nsb;
  int64_t nbatch = 1, m = 1, n = 1, k = 1;
  int ovf = 0;
  for (int i = 0; i < nb; i++) ovf |= __builtin_mul_overflow(nbatch, size[batch[i]], &nbatch);
  for (int i = 0; i < nlf; i++) ovf |= __builtin_mul_overflow(m, size[lf[i]], &m);
  for (int i = 0; i < nrf; i++) ovf |= __builtin_mul_overflow(n, size[rf[i]], &n);
  for (int i = 0; i < nc; i++) ovf |= __builtin_mul_overflow(k, size[con[i]], &k);
  if (ovf) return td_k_fail(c, TD_INVALID_ARGUMENT, "Einsum dimensions too large in equation '%s'", eq);
  if (nls == 0 && nrs == 0) { /* float: straight from the strides into the output (math_einsum_gemm.c) */
    td_einsum_gemm eg = {.l = L, .r = R, .llab = lo->lab, .rlab = ro->lab, .olab = out.lab, .orank = out.rank,
                         .size = size, .batch = batch, .lf = lf, .rf = rf, .con = con, .nb = nb, .nlf = nlf,
                         .nrf = nrf, .nc = nc, .r_const = td_k_input_is_const(c, !swap)};
    td_code grc;
    if (td_math_einsum_gemm(c, &eg, &grc)) return grc;
  }
  /* layouts: left [batch, free, con] (ta=0) or [batch, con, free] (ta=1); right [batch, con,
   * free] (tb=0) or [batch, free, con] (tb=1); prefer one the operand already has */
  int lord[2][NLAB], rord[2][NLAB], nl = nb + nlf + nc, nr = nb + nrf + nc;
  for (int t = 0; t < 2; t++) {
    int p = 0, q = 0;
    for (int i = 0; i < nb; i++) lord[t][p++] = batch[i], rord[t][q++] = batch[i];
    for (int s = 0; s < 2; s++) {
      int first_free = (s == 0) != (t == 1);
      if (first_free) for (int i = 0; i < nlf; i++) lord[t][p++] = lf[i];
      else for (int i = 0; i < nc; i++) lord[t][p++] = con[i];
      if (!first_free) for (int i = 0; i < nrf; i++) rord[t][q++] = rf[i];
      else for (int i = 0; i < nc; i++) rord[t][q++] = con[i];
    }
  }
  int ta = nls == 0 && !is_identity(lo, ld, lord[0], nl) && is_identity(lo, ld, lord[1], nl);
  int tb = nrs == 0 && !is_identity(ro, rd, rord[0], nr) && is_identity(ro, rd, rord[1], nr);
  if (nl > TD_MAX_RANK || nr > TD_MAX_RANK || nb + nlf + nrf > TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Einsum: too many distinct labels in equation '%s'", eq);
  td_tensor pl, pr, prod;
  TD_TRY(prepare(c, L, lo, ld, lord[ta], nl, ls, nls, size, &pl));
  td_code rc = prepare(c, R, ro, rd, rord[tb], nr, rs, nrs, size, &pr);
  if (rc != TD_OK) {
    td_tensor_release(&pl);
    return rc;
  }
  td_shape ps = {.rank = 0};
  int from[TD_MAX_RANK];
  for (int i = 0; i < nb; i++) from[ps.rank] = batch[i], ps.dim[ps.rank++] = size[batch[i]];
  for (int i = 0; i < nlf; i++) from[ps.rank] = lf[i], ps.dim[ps.rank++] = size[lf[i]];
  for (int i = 0; i < nrf; i++) from[ps.rank] = rf[i], ps.dim[ps.rank++] = size[rf[i]];
  td_status st;
  td_status_clear(&st);
  rc = td_tensor_alloc(&prod, dt, &ps, &st);
  if (rc != TD_OK) {
    rc = td_k_fail(c, st.code, "%s", st.msg);
  } else {
    size_t es = td_dtype_size(dt);
    for (int64_t b = 0; b < nbatch && m > 0 && n > 0 && k > 0 && rc == TD_OK; b++)
      if (td_math_gemm(dt, ta, tb, m, n, k, (const char *)pl.data + b * m * k * (int64_t)es, ta ? m : k,
                       (const char *)pr.data + b * k * n * (int64_t)es, tb ? k : n,
                       (char *)prod.data + b * m * n * (int64_t)es) != 0)
        rc = td_k_fail(c, TD_INVALID_ARGUMENT, "Einsum dimensions too large");
    if (rc == TD_OK) rc = emit(c, &prod, from, &out, size);
    td_tensor_release(&prod);
  }
  td_tensor_release(&pl);
  td_tensor_release(&pr);
  return rc;
}
