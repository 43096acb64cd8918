/* test_math_einsum.c — Einsum against a naive reference (every assignment of every label,
 * products summed into the output element): explicit and implicit outputs, diagonals, sums,
 * transposed operands, batch dims, size-1 broadcasting, empty dims, float / double / int32;
 * plus literal ellipsis cases and TF's error texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "kernels/test_array_util.h"

static Tensorflow__NodeDef *einsum_node(const char *eq, int n, td_dtype t) {
  Tensorflow__NodeDef *nd = at_node("Einsum", t);
  td_test_attr_int(nd, "N", n);
  td_test_attr_str(nd, "equation", eq);
  return nd;
}

/* Naive einsum for letter-only equations with an explicit "->". */
static void naive(const char *eq, const td_tensor *a, const td_tensor *b, double *out, int64_t nout) {
  char sub[3][16] = {{0}};
  int ns = 0, len = 0;
  for (const char *p = eq; *p; p++) {
    if (*p == ',' || (*p == '-' && p[1] == '>')) {
      ns++, len = 0;
      if (*p == '-') p++;
      continue;
    }
    sub[ns][len++] = *p;
  }
  const td_tensor *ops[2] = {a, b};
  int nops = ns; /* ns = index of the output subscript */
  int64_t size[128] = {0};
  char labels[16];
  int nl = 0;
  for (int i = 0; i < nops; i++)
    for (int k = 0; sub[i][k]; k++) {
      int l = (unsigned char)sub[i][k];
      int64_t d = ops[i]->shape.dim[k];
      if (!size[l]) labels[nl++] = (char)l;
      if (size[l] < d || !size[l]) size[l] = d;
    }
  for (int64_t i = 0; i < nout; i++) out[i] = 0;
  int64_t val[128] = {0}, total = 1;
  for (int i = 0; i < nl; i++) total *= size[(unsigned char)labels[i]];
  for (int64_t it = 0; it < total; it++) {
    int64_t r = it;
    for (int i = nl - 1; i >= 0; i--) {
      int l = (unsigned char)labels[i];
      val[l] = r % size[l];
      r /= size[l];
    }
    double prod = 1;
    for (int i = 0; i < nops; i++) {
      int64_t off = 0;
      for (int k = 0; sub[i][k]; k++) {
        int64_t d = ops[i]->shape.dim[k];
        off = off * d + (d == 1 ? 0 : val[(unsigned char)sub[i][k]]);
      }
      prod *= td_tensor_get_double(ops[i], off);
    }
    int64_t o = 0;
    for (int k = 0; sub[nops][k]; k++) o = o * size[(unsigned char)sub[nops][k]] + val[(unsigned char)sub[nops][k]];
    out[o] += prod;
  }
}

static td_tensor filled(td_dtype dt, int rank, const int64_t *dims) {
  td_tensor t = at_tensor(dt, rank, dims, NULL);
  int64_t n = td_tensor_num_elements(&t);
  for (int64_t i = 0; i < n; i++) td_tensor_set_double(&t, i, (double)at_rand_range(-4, 4) * (dt == TD_DT_INT32 ? 1 : 0.25));
  return t;
}

typedef struct ecase {
  const char *eq;
  int ra, rb;
  int64_t da[4], db[4];
} ecase;

static void test_einsum_vs_naive(void **state) {
  static const ecase cases[] = {
      {"ij,jk->ik", 2, 2, {3, 4}, {4, 5}},
      {"ij,kj->ik", 2, 2, {3, 4}, {5, 4}},
      {"ji,jk->ik", 2, 2, {4, 3}, {4, 5}},
      {"bij,bjk->bik", 3, 3, {2, 3, 4}, {2, 4, 2}},
      {"bij,bjk->bki", 3, 3, {2, 3, 4}, {2, 4, 2}},
      {"abc,cde->abde", 3, 3, {2, 3, 4}, {4, 2, 3}},
      {"aecd,abcd->acbe", 4, 4, {2, 3, 2, 4}, {2, 5, 2, 4}},
      {"acbe,aecd->abcd", 4, 4, {2, 2, 5, 3}, {2, 3, 2, 4}},
      {"ii,ij->j", 2, 2, {3, 3}, {3, 4}},
      {"ij,ij->ij", 2, 2, {3, 4}, {3, 4}},
      {"ij,ij->", 2, 2, {3, 4}, {3, 4}},
      {"i,j->ji", 1, 1, {3}, {4}},
      {"ab,cd->ad", 2, 2, {2, 3}, {4, 5}},
      {"bij,jk->bik", 3, 2, {1, 3, 4}, {4, 2}},
      {"bij,bjk->bik", 3, 3, {1, 3, 4}, {3, 4, 2}}, /* size-1 batch broadcast */
      {"ij,jk->ik", 2, 2, {0, 4}, {4, 5}},
      {"ij,jk->ik", 2, 2, {3, 0}, {0, 5}},
      {"iij->ij", 3, 0, {3, 3, 2}, {0}},
      {"ijk->kj", 3, 0, {2, 3, 4}, {0}},
      {"ijk->", 3, 0, {2, 3, 4}, {0}},
  };
  const td_dtype types[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_INT32};
  for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
    for (size_t ti = 0; ti < 3; ti++) {
      const ecase *e = &cases[ci];
      td_dtype dt = types[ti];
      int nin = e->rb ? 2 : 1;
      td_tensor in[2] = {filled(dt, e->ra, e->da), nin > 1 ? filled(dt, e->rb, e->db) : (td_tensor){0}};
      td_tensor keep[2] = {td_tensor_ref(&in[0]), nin > 1 ? td_tensor_ref(&in[1]) : (td_tensor){0}};
      td_tensor out = at_run1(einsum_node(e->eq, nin, dt), in, nin);
      int64_t n = td_tensor_num_elements(&out);
      double *want = calloc((size_t)(n ? n : 1), sizeof *want);
      naive(e->eq, &keep[0], nin > 1 ? &keep[1] : NULL, want, n);
      for (int64_t i = 0; i < n; i++) {
        double got = td_tensor_get_double(&out, i);
        if (fabs(got - want[i]) > 1e-4 * (1 + fabs(want[i]))) {
          fprintf(stderr, "  %s %s elem %lld: got %g want %g\n", e->eq, td_dtype_name(dt), (long long)i, got, want[i]);
          fail();
        }
      }
      free(want);
      td_tensor_release(&out);
      td_tensor_release(&keep[0]);
      td_tensor_release(&keep[1]);
    }
}

static void test_einsum_ellipsis_literal(void **state) {
  /* "...ij,...jk->...ik" with batch [2] vs none: [[1,2],[3,4]] @ [[1],[1]] per batch */
  td_tensor a[2] = {at_tensor(TD_DT_FLOAT, 3, A_DIMS(2, 2, 2), A_F32(1, 2, 3, 4, 5, 6, 7, 8)),
                    at_tensor(TD_DT_FLOAT, 2, A_DIMS(2, 1), A_F32(1, 1))};
  td_tensor out = at_run1(einsum_node("...ij,...jk->...ik", 2, TD_DT_FLOAT), a, 2);
  at_expect(&out, TD_DT_FLOAT, 3, A_DIMS(2, 2, 1), A_F32(3, 7, 11, 15));
  /* implicit "ii" = trace */
  td_tensor b[1] = {at_tensor(TD_DT_INT64, 2, A_DIMS(2, 2), A_I64(1, 2, 3, 4))};
  out = at_run1(einsum_node("ii", 1, TD_DT_INT64), b, 1);
  at_expect(&out, TD_DT_INT64, 0, NULL, A_I64(5));
  /* "i...->..." sums the leading dim */
  td_tensor d[1] = {at_tensor(TD_DT_DOUBLE, 2, A_DIMS(2, 3), A_F64(1, 2, 3, 10, 20, 30))};
  out = at_run1(einsum_node("i...->...", 1, TD_DT_DOUBLE), d, 1);
  at_expect(&out, TD_DT_DOUBLE, 1, A_DIMS(3), A_F64(11, 22, 33));
}

static void test_einsum_errors(void **state) {
  td_tensor a[2] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(3, 4), NULL), at_tensor(TD_DT_FLOAT, 2, A_DIMS(5, 6), NULL)};
  at_expect_error(einsum_node("ij,jk->ik", 2, TD_DT_FLOAT), a, 2, 1, TD_INVALID_ARGUMENT,
                  "Expected dimension 4 at axis 0 of the input shaped [5,6] but got dimension 5");
  td_tensor b[1] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(3, 4), NULL)};
  at_expect_error(einsum_node("ijk->i", 1, TD_DT_FLOAT), b, 1, 1, TD_INVALID_ARGUMENT, "has rank 2");
  td_tensor s[1] = {at_tensor(TD_DT_STRING, 1, A_DIMS(2), A_STR("a", "b"))};
  at_expect_error(einsum_node("i->i", 1, TD_DT_STRING), s, 1, 1, TD_INVALID_ARGUMENT, "No OpKernel");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_einsum_vs_naive),
      cmocka_unit_test(test_einsum_ellipsis_literal),
      cmocka_unit_test(test_einsum_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
