/* test_nn_conv_pool.c — the fused Conv2D (+ BiasAdd, Relu / Relu6) → MaxPool step
 * (opt_nn_fuse.c, kernels/nn_conv_pool.c) against a naive double-precision convolution + max
 * pool, and against the same graph built with the pass off: batches that split into several
 * chunks plus a remainder, VALID / SAME pools, strided and overlapping windows, oneDNN on and
 * off (the direct convolution), 1 and 3 intra-op threads (chunks split over threads), and a fetch of the convolution's output, which must keep the
 * steps apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <float.h>

#include "engine/kernels/nn.h"
#include "engine/opt_nn_fuse.h"
#include "kernels/nn_test_util.h"

typedef struct pcase {
  int64_t n, h, w, c, k, oc; /* input [n,h,w,c], filter [k,k,c,oc] */
  const char *conv_pad;
  int64_t pk, ps; /* pool window and stride (square) */
  const char *pool_pad;
  const char *act; /* NULL, "Relu", "Relu6" */
  int bias;
} pcase;

static Tensorflow__NodeDef *node(const char *op, const char *name, const char *in0, const char *in1) {
  Tensorflow__NodeDef *nd = nn_named(op, name);
  td_test_attr_type(nd, strcmp(op, "Const") ? "T" : "dtype", TD_DT_FLOAT);
  if (in0) nn_set_inputs(nd, in0, in1);
  return nd;
}

/* Runs x → Conv2D(w) [→ BiasAdd(b)] [→ act] → MaxPool; fetches the pool (and with
 * fetch_conv the convolution's end too). */
static td_tensor run(const pcase *p, const td_tensor *x, const td_tensor *w, const td_tensor *b, int fetch_conv, int threads) {
  Tensorflow__NodeDef *nodes[8];
  int nn = 0;
  nodes[nn] = nn_named("Placeholder", "x");
  td_test_attr_type(nodes[nn++], "dtype", TD_DT_FLOAT);
  nodes[nn] = node("Const", "w", NULL, NULL);
  td_test_attr_tensor(nodes[nn++], "value", w);
  Tensorflow__NodeDef *conv = node("Conv2D", "conv", "x", "w");
  int64_t ones[4] = {1, 1, 1, 1};
  td_test_attr_ints(conv, "strides", ones, 4);
  td_test_attr_str(conv, "padding", p->conv_pad);
  nodes[nn++] = conv;
  const char *last = "conv";
  if (p->bias) {
    nodes[nn] = node("Const", "b", NULL, NULL);
    td_test_attr_tensor(nodes[nn++], "value", b);
    nodes[nn++] = node("BiasAdd", "ba", last, "b");
    last = "ba";
  }
  if (p->act) {
    nodes[nn++] = node(p->act, "act", last, NULL);
    last = "act";
  }
  Tensorflow__NodeDef *pool = node("MaxPool", "pool", last, NULL);
  int64_t ks[4] = {1, p->pk, p->pk, 1}, st4[4] = {1, p->ps, p->ps, 1};
  td_test_attr_ints(pool, "ksize", ks, 4);
  td_test_attr_ints(pool, "strides", st4, 4);
  td_test_attr_str(pool, "padding", p->pool_pad);
  nodes[nn++] = pool;
  char conv_fetch[16];
  snprintf(conv_fetch, sizeof conv_fetch, "%s:0", last);
  td_tensor out;
  td_status st = {0};
  td_code code = nn_run_nodes(nodes, nn, x, "pool:0", fetch_conv ? conv_fetch : NULL, threads, &out, &st);
  if (code != TD_OK) fprintf(stderr, "run failed: %s\n", st.msg);
  assert_int_equal(code, TD_OK);
  return out;
}

/* SAME / VALID output size and leading pad. */
static int64_t out_size(const char *pad, int64_t in, int64_t k, int64_t s, int64_t *before) {
  if (!strcmp(pad, "SAME")) {
    int64_t o = (in + s - 1) / s, total = (o - 1) * s + k - in;
    *before = total > 0 ? total / 2 : 0;
    return o;
  }
  *before = 0;
  return (in - k) / s + 1;
}

static void naive(const pcase *p, const td_tensor *x, const td_tensor *w, const td_tensor *b, td_tensor *got) {
  int64_t cpt, cpl, ppt, ppl;
  int64_t oh = out_size(p->conv_pad, p->h, p->k, 1, &cpt), ow = out_size(p->conv_pad, p->w, p->k, 1, &cpl);
  int64_t ph = out_size(p->pool_pad, oh, p->pk, p->ps, &ppt), pw = out_size(p->pool_pad, ow, p->pk, p->ps, &ppl);
  assert_int_equal(got->shape.rank, 4);
  assert_true(got->shape.dim[0] == p->n && got->shape.dim[1] == ph && got->shape.dim[2] == pw && got->shape.dim[3] == p->oc);
  double *conv = malloc(sizeof *conv * (size_t)(oh * ow * p->oc));
  const float *xf = td_f32(x), *wf = td_f32(w);
  for (int64_t n = 0; n < p->n; n++) {
    for (int64_t y = 0; y < oh; y++)
      for (int64_t xx = 0; xx < ow; xx++)
        for (int64_t o = 0; o < p->oc; o++) {
          double acc = p->bias ? td_f32(b)[o] : 0;
          for (int64_t ky = 0; ky < p->k; ky++)
            for (int64_t kx = 0; kx < p->k; kx++) {
              int64_t iy = y + ky - cpt, ix = xx + kx - cpl;
              if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) continue;
              for (int64_t ci = 0; ci < p->c; ci++)
                acc += (double)xf[((n * p->h + iy) * p->w + ix) * p->c + ci] * wf[((ky * p->k + kx) * p->c + ci) * p->oc + o];
            }
          if (p->act && acc < 0) acc = 0;
          if (p->act && !strcmp(p->act, "Relu6") && acc > 6) acc = 6;
          conv[(y * ow + xx) * p->oc + o] = acc;
        }
    for (int64_t y = 0; y < ph; y++)
      for (int64_t xx = 0; xx < pw; xx++)
        for (int64_t o = 0; o < p->oc; o++) {
          double m = -DBL_MAX;
          for (int64_t ky = 0; ky < p->pk; ky++)
            for (int64_t kx = 0; kx < p->pk; kx++) {
              int64_t iy = y * p->ps + ky - ppt, ix = xx * p->ps + kx - ppl;
              if (iy >= 0 && iy < oh && ix >= 0 && ix < ow && conv[(iy * ow + ix) * p->oc + o] > m)
                m = conv[(iy * ow + ix) * p->oc + o];
            }
          double g = td_f32(got)[((n * ph + y) * pw + xx) * p->oc + o];
          if (fabs(g - m) > 1e-4 * (1 + fabs(m))) {
            fprintf(stderr, "  n=%lld y=%lld x=%lld o=%lld: got %g want %g\n", (long long)n, (long long)y,
                    (long long)xx, (long long)o, g, m);
            fail();
          }
        }
  }
  free(conv);
}

static void test_conv_pool_fused(void **state) {
  (void)state;
  static const pcase cases[] = {
      /* 26x26x32 conv output = 86 KB/image: 61 images (5.3 MB, over WHOLE_BYTES) = 5 chunks of 12 + 1 */
      {61, 28, 28, 1, 3, 32, "VALID", 2, 2, "VALID", "Relu", 1},
      {37, 28, 28, 1, 3, 32, "VALID", 2, 2, "VALID", "Relu", 1}, /* 3.2 MB: one chunk */
      {5, 13, 13, 32, 3, 64, "VALID", 2, 2, "VALID", "Relu", 1},
      {3, 9, 11, 3, 3, 5, "SAME", 3, 2, "SAME", "Relu6", 1},
      {4, 8, 8, 2, 1, 4, "VALID", 3, 1, "VALID", NULL, 0},
      {2, 7, 7, 4, 3, 8, "SAME", 2, 2, "SAME", NULL, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const pcase *p = &cases[i];
    int64_t xd[4] = {p->n, p->h, p->w, p->c}, wd[4] = {p->k, p->k, p->c, p->oc}, bd[1] = {p->oc};
    td_tensor x = nn_random_tensor(4, xd), w = nn_random_tensor(4, wd), b = nn_random_tensor(1, bd);
    for (int64_t j = 0; j < td_tensor_num_elements(&x); j++) td_f32(&x)[j] *= 4; /* reach Relu6's cap */
    for (int dnnl = 1; dnnl >= 0; dnnl--) {
      td_nn_set_dnnl_enabled(dnnl);
      for (int mode = 0; mode < 4; mode++) { /* fused (1 and 3 threads), pass off, conv output fetched */
        td_nn_fuse_enabled = mode != 2;
        td_tensor got = run(p, &x, &w, &b, mode == 3, mode == 1 ? 3 : 1);
        naive(p, &x, &w, &b, &got);
        td_tensor_release(&got);
      }
    }
    td_nn_fuse_enabled = 1;
    td_nn_set_dnnl_enabled(1);
    td_tensor_release(&x);
    td_tensor_release(&w);
    td_tensor_release(&b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_pool_fused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
