/* test_math_einsum_gemm.c — Einsum's strided float path (math_einsum_gemm.c) against a naive
 * double-precision reference: Keras MultiHeadAttention's equations at odd sizes (per-head
 * row-strided views, strided output), transposed operands, several batch dims, and the
 * constant-weight projections that go to oneDNN's inner product (weights a graph Const, oneDNN
 * on and off). Runs through a session so the right operand is a real callable constant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "engine/kernels/nn.h"
#include "kernels/nn_test_util.h"

/* out = einsum(eq, a, b) in double for letter-only equations "xx,yy->zz" (no broadcasting). */
static void naive(const char *eq, const td_tensor *a, const td_tensor *b, double *out, int64_t nout) {
  char sub[3][16] = {{0}};
  int ns = 0, len = 0;
  for (const char *p = eq; *p; p++) {
    if (*p == ',' || *p == '-') {
      ns++, len = 0;
      p += *p == '-';
      continue;
    }
    sub[ns][len++] = *p;
  }
  const td_tensor *ops[2] = {a, b};
  int64_t size[128] = {0};
  char labels[16];
  int nl = 0;
  for (int i = 0; i < 2; i++)
    for (int k = 0; sub[i][k]; k++) {
      int l = (unsigned char)sub[i][k];
      if (!size[l]) labels[nl++] = (char)l;
      size[l] = ops[i]->shape.dim[k];
    }
  memset(out, 0, sizeof *out * (size_t)nout);
  int64_t val[128] = {0}, total = 1;
  for (int i = 0; i < nl; i++) total *= size[(unsigned char)labels[i]];
  for (int64_t it = 0; it < total; it++) {
    for (int64_t i = nl - 1, r = it; i >= 0; i--) {
      int l = (unsigned char)labels[i];
      val[l] = r % size[l];
      r /= size[l];
    }
    double prod = 1;
    for (int i = 0; i < 2; i++) {
      int64_t off = 0;
      for (int k = 0; sub[i][k]; k++) off = off * ops[i]->shape.dim[k] + val[(unsigned char)sub[i][k]];
      prod *= td_f32(ops[i])[off];
    }
    int64_t o = 0;
    for (int k = 0; sub[2][k]; k++) o = o * size[(unsigned char)sub[2][k]] + val[(unsigned char)sub[2][k]];
    out[o] += prod;
  }
}

typedef struct gcase {
  const char *eq;
  int ra, rb;
  int64_t da[4], db[4];
} gcase;

static void check(const gcase *g, int dnnl) {
  td_tensor x = nn_random_tensor(g->ra, g->da), w = nn_random_tensor(g->rb, g->db);
  td_nn_set_dnnl_enabled(dnnl);
  Tensorflow__NodeDef *nd = nn_named("Einsum", "op");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_int(nd, "N", 2);
  td_test_attr_str(nd, "equation", g->eq);
  td_status st = {0};
  td_tensor got;
  td_code code = nn_run_chain(nd, &x, &w, NULL, NULL, 0, &got, &st);
  td_nn_set_dnnl_enabled(1);
  if (code != TD_OK) fprintf(stderr, "%s: %s\n", g->eq, st.msg);
  assert_int_equal(code, TD_OK);
  int64_t n = td_tensor_num_elements(&got);
  double *want = malloc(sizeof *want * (size_t)(n ? n : 1));
  naive(g->eq, &x, &w, want, n);
  for (int64_t i = 0; i < n; i++)
    if (fabs(td_f32(&got)[i] - want[i]) > 1e-4 * (1 + fabs(want[i]))) {
      fprintf(stderr, "  %s dnnl=%d elem %lld: got %g want %g\n", g->eq, dnnl, (long long)i, td_f32(&got)[i], want[i]);
      fail();
    }
  free(want);
  td_tensor_release(&got);
  td_tensor_release(&x);
  td_tensor_release(&w);
}

static void test_einsum_strided(void **state) {
  (void)state;
  static const gcase cases[] = {
      /* Keras MultiHeadAttention: projections, scores, context, output projection */
      {"abc,cde->abde", 3, 3, {2, 7, 12}, {12, 3, 5}},
      {"abcd,cde->abe", 4, 3, {2, 7, 3, 5}, {3, 5, 12}},
      {"aecd,abcd->acbe", 4, 4, {2, 9, 3, 5}, {2, 7, 3, 5}},
      {"acbe,aecd->abcd", 4, 4, {2, 3, 7, 9}, {2, 9, 3, 5}},
      {"abc,cd->abd", 3, 2, {1, 1, 17}, {17, 33}}, /* one row */
      /* transposed operands (the unit-stride group is the rows) and strided output rows */
      {"bji,bjk->bik", 3, 3, {3, 5, 4}, {3, 5, 6}},
      {"bij,bkj->bik", 3, 3, {3, 4, 5}, {3, 6, 5}},
      {"bji,bkj->bik", 3, 3, {3, 5, 4}, {3, 6, 5}},
      {"bij,bjk->ibk", 3, 3, {3, 4, 5}, {3, 5, 6}},
      {"abij,abjk->baik", 4, 4, {2, 3, 4, 5}, {2, 3, 5, 6}},
      {"ij,jk->ik", 2, 2, {64, 48}, {48, 40}},
      {"ij,kj->ik", 2, 2, {64, 48}, {40, 48}},
      /* not collapsible: the general path must still agree */
      {"ikj,jk->i", 3, 2, {3, 4, 5}, {5, 4}},
      {"bij,bjk->bki", 3, 3, {2, 3, 4}, {2, 4, 2}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    check(&cases[i], 1);
    check(&cases[i], 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_einsum_strided),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
