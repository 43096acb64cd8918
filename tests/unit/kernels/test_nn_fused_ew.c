/* test_nn_fused_ew.c — the exact-GELU chain and Keras' moments-form LayerNorm that opt_nn_fuse.c
 * fuses into one step each (kernels/nn_fused_ew.c). LayerNorm: both operand orders, axis -1,
 * rank-1 and 1 (not the last: scale still along the last axis), against a double reference, the pass off and a fetched mean. GELU: Keras' forms (x * 1/sqrt2 or x / sqrt2, constants on either side of
 * the commutative ops) against libm's erf in double, and against the same graph with the pass
 * off or with an intermediate fetched (which must keep the steps apart), over sizes that leave
 * vector remainders and values past erf's clamp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "engine/opt_nn_fuse.h"
#include "kernels/nn_test_util.h"

/* A float node op(a, b); b NULL: op(a). */
static Tensorflow__NodeDef *op2(const char *op, const char *name, const char *a, const char *b) {
  Tensorflow__NodeDef *nd = nn_named(op, name);
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  nn_set_inputs(nd, a, b);
  return nd;
}

static Tensorflow__NodeDef *scalar(const char *name, float v) {
  Tensorflow__NodeDef *nd = nn_named("Const", name);
  td_test_attr_type(nd, "dtype", TD_DT_FLOAT);
  td_tensor t = td_test_tensor(TD_DT_FLOAT, 0, NULL, &v);
  td_test_attr_tensor(nd, "value", &t);
  td_tensor_release(&t);
  return nd;
}

/* Runs the graph of nodes[0..nn) (freed after) on x fed as "x:0" and returns "y:0"; also fetches
 * `extra` (released) when not NULL: a fetched intermediate must keep the pattern unfused. */
static td_tensor run_graph(Tensorflow__NodeDef **nodes, int nn, const td_tensor *x, const char *extra) {
  td_tensor out;
  td_status st = {0};
  td_code code = nn_run_nodes(nodes, nn, x, "y:0", extra, 0, &out, &st);
  if (code != TD_OK) fprintf(stderr, "run failed: %s\n", st.msg);
  assert_int_equal(code, TD_OK);
  return out;
}

/* x → gelu; div: x / sqrt2 instead of x * (1/sqrt2); swap: constants first; fetch_erf: the
 * Erf output is fetched too. */
static td_tensor run(const td_tensor *x, int div, int swap, int fetch_erf) {
  Tensorflow__NodeDef *nodes[10];
  int nn = 0;
  nodes[nn] = nn_named("Placeholder", "x");
  td_test_attr_type(nodes[nn++], "dtype", TD_DT_FLOAT);
  nodes[nn++] = scalar("k", div ? 1.4142135623730951f : 0.7071067811865476f);
  nodes[nn++] = scalar("one", 1.0f);
  nodes[nn++] = scalar("half", 0.5f);
  nodes[nn++] = div ? op2("RealDiv", "s", "x", "k") : swap ? op2("Mul", "s", "k", "x") : op2("Mul", "s", "x", "k");
  nodes[nn++] = op2("Erf", "erf", "s", NULL);
  nodes[nn++] = swap ? op2("AddV2", "p", "erf", "one") : op2("AddV2", "p", "one", "erf");
  nodes[nn++] = swap ? op2("Mul", "hx", "x", "half") : op2("Mul", "hx", "half", "x");
  nodes[nn++] = swap ? op2("Mul", "y", "p", "hx") : op2("Mul", "y", "hx", "p");
  return run_graph(nodes, nn, x, fetch_erf ? "erf:0" : NULL);
}

static void test_gelu_fused(void **state) {
  (void)state;
  static const int64_t sizes[][2] = {{1, 1}, {3, 37}, {64, 130}};
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    td_tensor x = nn_random_tensor(2, sizes[si]);
    int64_t n = td_tensor_num_elements(&x);
    for (int64_t i = 0; i < n; i++) td_f32(&x)[i] *= 7; /* past erf's clamp at |x/sqrt2| = 4 */
    for (int form = 0; form < 3; form++)
      for (int mode = 0; mode < 3; mode++) { /* fused, pass off, Erf fetched */
        td_nn_fuse_enabled = mode != 1;
        td_tensor y = run(&x, form == 2, form == 1, mode == 2);
        td_nn_fuse_enabled = 1;
        assert_true(td_shape_equal(&y.shape, &x.shape));
        for (int64_t i = 0; i < n; i++) {
          double v = td_f32(&x)[i], want = 0.5 * v * (1 + erf(v / sqrt(2.0)));
          if (fabs(td_f32(&y)[i] - want) > 2e-6 * (1 + fabs(want))) {
            fprintf(stderr, "  form %d mode %d x=%g: got %.9g want %.9g\n", form, mode, v, td_f32(&y)[i], want);
            fail();
          }
        }
        td_tensor_release(&y);
      }
    td_tensor_release(&x);
  }
}

static Tensorflow__NodeDef *vec(const char *name, int64_t n, float base) {
  Tensorflow__NodeDef *nd = nn_named("Const", name);
  td_test_attr_type(nd, "dtype", TD_DT_FLOAT);
  float *v = malloc(sizeof *v * (size_t)n);
  for (int64_t i = 0; i < n; i++) v[i] = base + 0.01f * (float)(i % 13);
  td_tensor t = td_test_tensor(TD_DT_FLOAT, 1, &n, v);
  td_test_attr_tensor(nd, "value", &t);
  td_tensor_release(&t);
  free(v);
  return nd;
}

static Tensorflow__NodeDef *mean(const char *name, const char *in) {
  Tensorflow__NodeDef *nd = op2("Mean", name, in, "axes");
  td_test_attr_bool(nd, "keep_dims", 1);
  return nd;
}

/* x → Keras' LayerNormalization (moments form, as the transformer fixture exports it: mean
 * through StopGradient into SquaredDifference); swap: commutative operands the other way round,
 * axis -1 instead of rank-1; fetch_mean keeps the steps apart. */
static td_tensor run_ln(const td_tensor *x, int swap, int fetch_mean, int axis1) {
  Tensorflow__NodeDef *nodes[20];
  int nn = 0, rank = x->shape.rank;
  int64_t n = x->shape.dim[rank - 1];
  nodes[nn] = nn_named("Placeholder", "x");
  td_test_attr_type(nodes[nn++], "dtype", TD_DT_FLOAT);
  int32_t ax = axis1 ? 1 : swap ? -1 : rank - 1;
  int64_t one = 1;
  Tensorflow__NodeDef *axes = nn_named("Const", "axes");
  td_test_attr_type(axes, "dtype", TD_DT_INT32);
  td_tensor at = td_test_tensor(TD_DT_INT32, 1, &one, &ax);
  td_test_attr_tensor(axes, "value", &at);
  td_tensor_release(&at);
  nodes[nn++] = axes;
  nodes[nn++] = scalar("eps", 1e-3f);
  nodes[nn++] = vec("gamma", n, 0.9f);
  nodes[nn++] = vec("beta", n, -0.1f);
  nodes[nn++] = mean("mean", "x");
  nodes[nn++] = op2("StopGradient", "sg", "mean", NULL);
  nodes[nn++] = swap ? op2("SquaredDifference", "sqd", "sg", "x") : op2("SquaredDifference", "sqd", "x", "sg");
  nodes[nn++] = mean("var", "sqd");
  nodes[nn++] = swap ? op2("AddV2", "ve", "eps", "var") : op2("AddV2", "ve", "var", "eps");
  nodes[nn++] = op2("Rsqrt", "rs", "ve", NULL);
  nodes[nn++] = swap ? op2("Mul", "inv", "gamma", "rs") : op2("Mul", "inv", "rs", "gamma");
  nodes[nn++] = swap ? op2("Mul", "xs", "inv", "x") : op2("Mul", "xs", "x", "inv");
  nodes[nn++] = swap ? op2("Mul", "ms", "inv", "mean") : op2("Mul", "ms", "mean", "inv");
  nodes[nn++] = op2("Sub", "shift", "beta", "ms");
  nodes[nn++] = swap ? op2("AddV2", "y", "shift", "xs") : op2("AddV2", "y", "xs", "shift");
  return run_graph(nodes, nn, x, fetch_mean ? "mean:0" : NULL);
}

static void test_layer_norm_fused(void **state) {
  (void)state;
  static const int64_t dims[][3] = {{2, 3, 256}, {1, 5, 7}, {4, 1, 33}};
  for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
    td_tensor x = nn_random_tensor(3, dims[di]);
    int64_t n = dims[di][2], rows = td_tensor_num_elements(&x) / n;
    for (int64_t i = 0; i < td_tensor_num_elements(&x); i++) td_f32(&x)[i] = td_f32(&x)[i] * 3 + 1;
    for (int variant = 0; variant < 3; variant++) /* operand orders; axis 1 (not the last) */
      for (int mode = 0; mode < 3; mode++) { /* fused, pass off, mean fetched */
        td_nn_fuse_enabled = mode != 1;
        td_tensor y = run_ln(&x, variant == 1, mode == 2, variant == 2);
        td_nn_fuse_enabled = 1;
        assert_true(td_shape_equal(&y.shape, &x.shape));
        /* reduce over axis 1 ([d0, d1, d2]: stride d2) or axis 2 (stride 1); scale by last index */
        int64_t d0 = dims[di][0], d1 = dims[di][1], d2 = dims[di][2];
        int64_t na = variant == 2 ? d1 : d2, inner = variant == 2 ? d2 : 1, outer = rows * n / (na * inner);
        for (int64_t o = 0; o < outer; o++)
          for (int64_t in = 0; in < inner; in++) {
            const float *xr = td_f32(&x) + o * na * inner + in;
            double m = 0, v = 0;
            for (int64_t k = 0; k < na; k++) m += xr[k * inner];
            m /= (double)na;
            for (int64_t k = 0; k < na; k++) v += (xr[k * inner] - m) * (xr[k * inner] - m);
            v /= (double)na;
            for (int64_t k = 0; k < na; k++) {
              int64_t idx = o * na * inner + in + k * inner, i = idx % n;
              double want = (xr[k * inner] - m) / sqrt(v + 1e-3) * (0.9 + 0.01 * (double)(i % 13)) + (-0.1 + 0.01 * (double)(i % 13));
              double got = td_f32(&y)[idx];
              if (fabs(got - want) > 1e-4 * (1 + fabs(want))) {
                fprintf(stderr, "  LN variant %d mode %d elem %lld: got %.9g want %.9g\n", variant, mode, (long long)idx, got, want);
                fail();
              }
            }
          }
        (void)d0;
        td_tensor_release(&y);
      }
    td_tensor_release(&x);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gelu_fused),
      cmocka_unit_test(test_layer_norm_fused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
