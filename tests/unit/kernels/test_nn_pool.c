/* test_nn_pool.c — MaxPool / MaxPoolV2 / AvgPool against naive loops: random window sizes,
 * strides, SAME/VALID (and EXPLICIT for MaxPool), NHWC and NCHW, batch > 1, channels 1/3/8;
 * AvgPool's SAME divisor counts only in-image taps. Plus TF's error cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>

#include "kernels/nn_test_util.h"

typedef struct pool_case {
  const char *op; /* MaxPool, MaxPoolV2, AvgPool */
  int64_t n, h, w, c, kh, kw, sh, sw;
  const char *padding;
  int64_t pads[4];
  int nchw;
} pool_case;

static td_tensor pool_reference(const pool_case *k, const float *in) {
  int64_t pt, pl;
  int64_t oh = nn_ref_window(k->padding, k->h, k->kh, 1, k->sh, k->pads[0], k->pads[1], &pt);
  int64_t ow = nn_ref_window(k->padding, k->w, k->kw, 1, k->sw, k->pads[2], k->pads[3], &pl);
  int is_max = strncmp(k->op, "MaxPool", 7) == 0;
  int64_t dims[4] = {k->n, oh, ow, k->c};
  if (k->nchw) dims[1] = k->c, dims[2] = oh, dims[3] = ow;
  td_tensor out = td_test_tensor(TD_DT_FLOAT, 4, dims, NULL);
  for (int64_t n = 0; n < k->n; n++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++)
        for (int64_t ch = 0; ch < k->c; ch++) {
          float best = -FLT_MAX;
          double sum = 0;
          int count = 0;
          for (int64_t ky = 0; ky < k->kh; ky++)
            for (int64_t kx = 0; kx < k->kw; kx++) {
              int64_t iy = oy * k->sh - pt + ky, ix = ox * k->sw - pl + kx;
              if (iy < 0 || iy >= k->h || ix < 0 || ix >= k->w) continue;
              float v = in[nn_idx(k->nchw, n, iy, ix, ch, k->h, k->w, k->c)];
              if (v > best) best = v;
              sum += v;
              count++;
            }
          td_f32(&out)[nn_idx(k->nchw, n, oy, ox, ch, oh, ow, k->c)] =
              is_max ? best : (count ? (float)(sum / count) : 0.0f);
        }
  return out;
}

static Tensorflow__NodeDef *pool_node(const pool_case *k) {
  Tensorflow__NodeDef *nd = td_test_node_new(k->op);
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  if (strcmp(k->op, "MaxPoolV2") != 0) {
    nn_hw_attr(nd, "ksize", k->nchw, k->kh, k->kw);
    nn_hw_attr(nd, "strides", k->nchw, k->sh, k->sw);
  }
  td_test_attr_str(nd, "padding", k->padding);
  if (k->nchw) td_test_attr_str(nd, "data_format", "NCHW");
  if (!strcmp(k->padding, "EXPLICIT")) {
    int64_t p[8] = {0, 0, k->pads[0], k->pads[1], k->pads[2], k->pads[3], 0, 0};
    if (k->nchw) p[2] = 0, p[3] = 0, p[4] = k->pads[0], p[5] = k->pads[1], p[6] = k->pads[2],
                 p[7] = k->pads[3];
    td_test_attr_ints(nd, "explicit_paddings", p, 8);
  }
  return nd;
}

/* Inputs for the op: the image, plus ksize/strides int32 vectors for MaxPoolV2. */
static int pool_inputs(const pool_case *k, td_tensor *in) {
  int64_t dims[4] = {k->n, k->h, k->w, k->c};
  if (k->nchw) dims[1] = k->c, dims[2] = k->h, dims[3] = k->w;
  in[0] = nn_random_tensor(4, dims);
  if (strcmp(k->op, "MaxPoolV2") != 0) return 1;
  int32_t ks[4] = {1, (int32_t)k->kh, (int32_t)k->kw, 1}, st[4] = {1, (int32_t)k->sh, (int32_t)k->sw, 1};
  if (k->nchw) ks[1] = 1, ks[2] = (int32_t)k->kh, ks[3] = (int32_t)k->kw, st[1] = 1,
               st[2] = (int32_t)k->sh, st[3] = (int32_t)k->sw;
  int64_t four = 4;
  in[1] = td_test_tensor(TD_DT_INT32, 1, &four, ks);
  in[2] = td_test_tensor(TD_DT_INT32, 1, &four, st);
  return 3;
}

static void check_case(const pool_case *k) {
  td_tensor in[3], out = {0};
  int nin = pool_inputs(k, in);
  td_tensor want = pool_reference(k, td_f32(&in[0]));
  Tensorflow__NodeDef *nd = pool_node(k);
  td_status st = {0};
  td_code code = td_test_run_op(nd, in, nin, &out, 1, &st);
  if (code != TD_OK) fprintf(stderr, "unexpected failure: %s\n", st.msg);
  assert_int_equal(code, TD_OK);
  assert_true(td_shape_equal(&out.shape, &want.shape));
  if (!nn_close(td_f32(&out), td_f32(&want), td_tensor_num_elements(&want), 1e-6f)) {
    fprintf(stderr, "%s n=%lld h=%lld w=%lld c=%lld k=%lldx%lld s=%lld,%lld %s nchw=%d\n", k->op,
            (long long)k->n, (long long)k->h, (long long)k->w, (long long)k->c, (long long)k->kh,
            (long long)k->kw, (long long)k->sh, (long long)k->sw, k->padding, k->nchw);
    fail();
  }
  td_test_node_free(nd);
  for (int i = 0; i < nin; i++) td_tensor_release(&in[i]);
  td_tensor_release(&out);
  td_tensor_release(&want);
}

static void run_random(const char *op, int allow_explicit, int count) {
  static const int64_t channels[] = {1, 3, 8};
  for (int i = 0; i < count; i++) {
    pool_case k = {.op = op};
    k.n = nn_rand_range(1, 3);
    k.c = channels[nn_rand_range(0, 2)];
    k.kh = nn_rand_range(1, 4);
    k.kw = nn_rand_range(1, 4);
    k.sh = nn_rand_range(1, 3);
    k.sw = nn_rand_range(1, 3);
    k.h = nn_rand_range(k.kh, 11);
    k.w = nn_rand_range(k.kw, 11);
    k.nchw = nn_rand_range(0, 3) == 0;
    int p = (int)nn_rand_range(0, allow_explicit ? 2 : 1);
    k.padding = p == 0 ? "SAME" : p == 1 ? "VALID" : "EXPLICIT";
    /* Explicit pads smaller than the window keep every window non-empty (as TF requires). */
    k.pads[0] = nn_rand_range(0, k.kh - 1), k.pads[1] = nn_rand_range(0, k.kh - 1);
    k.pads[2] = nn_rand_range(0, k.kw - 1), k.pads[3] = nn_rand_range(0, k.kw - 1);
    check_case(&k);
  }
}

static void test_max_pool_random(void **state) { run_random("MaxPool", 1, 80); }
static void test_max_pool_v2_random(void **state) { run_random("MaxPoolV2", 0, 40); }
static void test_avg_pool_random(void **state) { run_random("AvgPool", 0, 80); }

static void test_pool_fixed(void **state) {
  /* Keras MNIST: 2x2/2 VALID on 26x26x32; AvgPool SAME 3x3/1 (edge divisors 4 and 6). */
  pool_case a = {.op = "MaxPool", .n = 3, .h = 26, .w = 26, .c = 32, .kh = 2, .kw = 2, .sh = 2,
                 .sw = 2, .padding = "VALID"};
  pool_case b = {.op = "AvgPool", .n = 2, .h = 5, .w = 4, .c = 3, .kh = 3, .kw = 3, .sh = 1,
                 .sw = 1, .padding = "SAME"};
  check_case(&a);
  check_case(&b);
  /* Batches large enough to be split by image across the intra-op threads (uneven chunks). */
  pool_case big_max = {.op = "MaxPool", .n = 7, .h = 26, .w = 26, .c = 32, .kh = 2, .kw = 2, .sh = 2,
                       .sw = 2, .padding = "VALID"};
  pool_case big_avg = {.op = "AvgPool", .n = 5, .h = 12, .w = 12, .c = 16, .kh = 3, .kw = 3, .sh = 1,
                       .sw = 1, .padding = "SAME"};
  check_case(&big_max);
  check_case(&big_avg);
  /* Exact values: 1..9 in a 3x3 image, AvgPool SAME 2x2/1: corner divides by 4, the last row
   * and column only see 2 (or 1) taps. */
  int64_t dims[4] = {1, 3, 3, 1};
  float v[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  td_tensor in = td_test_tensor(TD_DT_FLOAT, 4, dims, v), out = {0};
  pool_case k = {.op = "AvgPool", .kh = 2, .kw = 2, .sh = 1, .sw = 1, .padding = "SAME"};
  Tensorflow__NodeDef *nd = pool_node(&k);
  td_status st = {0};
  assert_int_equal(td_test_run_op(nd, &in, 1, &out, 1, &st), TD_OK);
  float want[9] = {3, 4, 4.5f, 6, 7, 7.5f, 7.5f, 8.5f, 9};
  assert_true(nn_close(td_f32(&out), want, 9, 1e-6f));
  td_test_node_free(nd);
  td_tensor_release(&in);
  td_tensor_release(&out);
}

/* MaxPool3D / AvgPool3D against a naive loop (NDHWC or NCDHW). */
static void check_pool3d(const char *op, int cf) {
  int64_t n = nn_rand_range(1, 2), c = nn_rand_range(1, 3);
  int64_t k[3] = {nn_rand_range(1, 3), nn_rand_range(1, 3), nn_rand_range(1, 3)};
  int64_t s[3] = {nn_rand_range(1, 2), nn_rand_range(1, 3), nn_rand_range(1, 2)};
  int64_t in_sp[3] = {nn_rand_range(k[0], 6), nn_rand_range(k[1], 6), nn_rand_range(k[2], 6)};
  const char *padding = nn_rand_range(0, 1) ? "SAME" : "VALID";
  int64_t out_sp[3], pad[3];
  for (int i = 0; i < 3; i++) out_sp[i] = nn_ref_window(padding, in_sp[i], k[i], 1, s[i], 0, 0, &pad[i]);
  int64_t idims[5] = {n, in_sp[0], in_sp[1], in_sp[2], c}, odims[5] = {n, out_sp[0], out_sp[1], out_sp[2], c};
  if (cf) {
    int64_t a[5] = {n, c, in_sp[0], in_sp[1], in_sp[2]}, b[5] = {n, c, out_sp[0], out_sp[1], out_sp[2]};
    memcpy(idims, a, sizeof a), memcpy(odims, b, sizeof b);
  }
  td_tensor in = nn_random_tensor(5, idims), out = {0};
  td_tensor want = td_test_tensor(TD_DT_FLOAT, 5, odims, NULL);
  int is_max = !strcmp(op, "MaxPool3D");
#define IDX(sp, b, z, y, x, ch)                                                      \
  (cf ? (((b * c + ch) * sp[0] + z) * sp[1] + y) * sp[2] + x                         \
      : (((b * sp[0] + z) * sp[1] + y) * sp[2] + x) * c + ch)
  for (int64_t b = 0; b < n; b++)
    for (int64_t oz = 0; oz < out_sp[0]; oz++)
      for (int64_t oy = 0; oy < out_sp[1]; oy++)
        for (int64_t ox = 0; ox < out_sp[2]; ox++)
          for (int64_t ch = 0; ch < c; ch++) {
            float best = -FLT_MAX;
            double sum = 0;
            int count = 0;
            for (int64_t kz = 0; kz < k[0]; kz++)
              for (int64_t ky = 0; ky < k[1]; ky++)
                for (int64_t kx = 0; kx < k[2]; kx++) {
                  int64_t z = oz * s[0] - pad[0] + kz, y = oy * s[1] - pad[1] + ky;
                  int64_t x = ox * s[2] - pad[2] + kx;
                  if (z < 0 || z >= in_sp[0] || y < 0 || y >= in_sp[1] || x < 0 || x >= in_sp[2])
                    continue;
                  float v = td_f32(&in)[IDX(in_sp, b, z, y, x, ch)];
                  if (v > best) best = v;
                  sum += v;
                  count++;
                }
            td_f32(&want)[IDX(out_sp, b, oz, oy, ox, ch)] =
                is_max ? best : (float)(sum / count);
          }
#undef IDX
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  int64_t ks[5] = {1, k[0], k[1], k[2], 1}, st5[5] = {1, s[0], s[1], s[2], 1};
  if (cf) {
    int64_t a[5] = {1, 1, k[0], k[1], k[2]}, b[5] = {1, 1, s[0], s[1], s[2]};
    memcpy(ks, a, sizeof a), memcpy(st5, b, sizeof b);
    td_test_attr_str(nd, "data_format", "NCDHW");
  }
  td_test_attr_ints(nd, "ksize", ks, 5);
  td_test_attr_ints(nd, "strides", st5, 5);
  td_test_attr_str(nd, "padding", padding);
  td_status st = {0};
  td_code code = td_test_run_op(nd, &in, 1, &out, 1, &st);
  if (code != TD_OK) fprintf(stderr, "unexpected failure: %s\n", st.msg);
  assert_int_equal(code, TD_OK);
  assert_true(td_shape_equal(&out.shape, &want.shape));
  assert_true(nn_close(td_f32(&out), td_f32(&want), td_tensor_num_elements(&want), 1e-6f));
  td_test_node_free(nd);
  td_tensor_release(&in);
  td_tensor_release(&out);
  td_tensor_release(&want);
}

static void test_pool3d_random(void **state) {
  for (int i = 0; i < 40; i++) {
    check_pool3d("MaxPool3D", i % 4 == 3);
    check_pool3d("AvgPool3D", i % 4 == 1);
  }
}

static void expect_error(Tensorflow__NodeDef *nd, td_tensor *in, int nin, const char *needle) {
  td_tensor out = {0};
  td_status st = {0};
  td_code code = td_test_run_op(nd, in, nin, &out, 1, &st);
  if (code == TD_OK || !strstr(st.msg, needle))
    fprintf(stderr, "expected error containing '%s', got %d '%s'\n", needle, code, st.msg);
  assert_int_not_equal(code, TD_OK);
  assert_non_null(strstr(st.msg, needle));
  td_test_node_free(nd);
  for (int i = 0; i < nin; i++) td_tensor_release(&in[i]);
}

static void test_pool_errors(void **state) {
  int64_t d4[4] = {1, 4, 4, 2}, d3[3] = {4, 4, 2};
  pool_case k = {.op = "MaxPool", .kh = 2, .kw = 2, .sh = 1, .sw = 1, .padding = "VALID"};
  td_tensor in = nn_random_tensor(3, d3);
  expect_error(pool_node(&k), &in, 1, "input must be 4-dimensional");

  pool_case big = k;
  big.kh = 6;
  in = nn_random_tensor(4, d4);
  expect_error(pool_node(&big), &in, 1, "Computed output size would be negative");

  Tensorflow__NodeDef *nd = td_test_node_new("MaxPool");
  int64_t ks3[3] = {1, 2, 2}, ones[4] = {1, 1, 1, 1}, batch_k[4] = {2, 1, 1, 1};
  td_test_attr_ints(nd, "ksize", ks3, 3);
  td_test_attr_ints(nd, "strides", ones, 4);
  td_test_attr_str(nd, "padding", "VALID");
  in = nn_random_tensor(4, d4);
  expect_error(nd, &in, 1, "ksize field must specify 4 dimensions");

  nd = td_test_node_new("AvgPool");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_ints(nd, "ksize", batch_k, 4);
  td_test_attr_ints(nd, "strides", ones, 4);
  td_test_attr_str(nd, "padding", "VALID");
  in = nn_random_tensor(4, d4);
  expect_error(nd, &in, 1, "batch and depth dimensions");

  pool_case ex = k;
  ex.op = "AvgPool";
  ex.padding = "EXPLICIT";
  in = nn_random_tensor(4, d4);
  expect_error(pool_node(&ex), &in, 1, "padding");

  /* MaxPoolV2 with a 3-element ksize input. */
  pool_case v2 = k;
  v2.op = "MaxPoolV2";
  td_tensor ins[3];
  int64_t three = 3, four = 4;
  int32_t ks[3] = {1, 2, 2}, st[4] = {1, 1, 1, 1};
  ins[0] = nn_random_tensor(4, d4);
  ins[1] = td_test_tensor(TD_DT_INT32, 1, &three, ks);
  ins[2] = td_test_tensor(TD_DT_INT32, 1, &four, st);
  expect_error(pool_node(&v2), ins, 3, "ksize field must specify 4 dimensions");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pool_fixed),
      cmocka_unit_test(test_max_pool_random),
      cmocka_unit_test(test_max_pool_v2_random),
      cmocka_unit_test(test_avg_pool_random),
      cmocka_unit_test(test_pool3d_random),
      cmocka_unit_test(test_pool_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
