/* test_nn_conv.c — Conv2D / DepthwiseConv2dNative against a naive reference loop: random
 * geometries (SAME/VALID/EXPLICIT, strides, dilations, odd sizes, batch > 1, NHWC and NCHW,
 * grouped filters), both the oneDNN path and the im2col fallback, the per-node plan/weights
 * cache across runs and threads, and TF's error cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include "engine/kernels/nn.h"
#include "kernels/nn_test_util.h"

typedef struct conv_case {
  int64_t n, h, w, c;    /* input (logical NHWC) */
  int64_t kh, kw, fin;   /* filter spatial size and in-depth (c / groups; depthwise: c) */
  int64_t fout;          /* filter out-depth (depthwise: channel multiplier) */
  int64_t sh, sw, dh, dw;
  const char *padding;   /* "SAME" / "VALID" / "EXPLICIT" */
  int64_t pads[4];       /* explicit top, bottom, left, right */
  int nchw, depthwise;
} conv_case;

/* Naive grouped convolution; returns the output (owned), or rank -1 tensor if size < 0. */
static td_tensor conv_reference(const conv_case *k, const float *in, const float *f) {
  int64_t pt, pl;
  int64_t oh = nn_ref_window(k->padding, k->h, k->kh, k->dh, k->sh, k->pads[0], k->pads[1], &pt);
  int64_t ow = nn_ref_window(k->padding, k->w, k->kw, k->dw, k->sw, k->pads[2], k->pads[3], &pl);
  int64_t groups = k->depthwise ? k->c : k->c / k->fin, ig = k->depthwise ? 1 : k->fin;
  int64_t oc = k->depthwise ? k->c * k->fout : k->fout, og = oc / groups;
  int64_t dims[4] = {k->n, oh, ow, oc};
  if (k->nchw) dims[1] = oc, dims[2] = oh, dims[3] = ow;
  td_tensor out = td_test_tensor(TD_DT_FLOAT, 4, dims, NULL);
  for (int64_t n = 0; n < k->n; n++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++)
        for (int64_t o = 0; o < oc; o++) {
          double acc = 0;
          int64_t g = o / og;
          for (int64_t ky = 0; ky < k->kh; ky++)
            for (int64_t kx = 0; kx < k->kw; kx++) {
              int64_t iy = oy * k->sh - pt + ky * k->dh, ix = ox * k->sw - pl + kx * k->dw;
              if (iy < 0 || iy >= k->h || ix < 0 || ix >= k->w) continue;
              for (int64_t ci = 0; ci < ig; ci++)
                acc += (double)in[nn_idx(k->nchw, n, iy, ix, g * ig + ci, k->h, k->w, k->c)] *
                       f[((ky * k->kw + kx) * ig + ci) * oc + o];
            }
          td_f32(&out)[nn_idx(k->nchw, n, oy, ox, o, oh, ow, oc)] = (float)acc;
        }
  return out;
}

static Tensorflow__NodeDef *conv_node(const conv_case *k) {
  Tensorflow__NodeDef *nd = td_test_node_new(k->depthwise ? "DepthwiseConv2dNative" : "Conv2D");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  nn_hw_attr(nd, "strides", k->nchw, k->sh, k->sw);
  if (k->dh != 1 || k->dw != 1) nn_hw_attr(nd, "dilations", k->nchw, k->dh, k->dw);
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

static void conv_inputs(const conv_case *k, td_tensor *in, td_tensor *f) {
  int64_t idims[4] = {k->n, k->h, k->w, k->c};
  if (k->nchw) idims[1] = k->c, idims[2] = k->h, idims[3] = k->w;
  int64_t fdims[4] = {k->kh, k->kw, k->fin, k->fout};
  *in = nn_random_tensor(4, idims);
  *f = nn_random_tensor(4, fdims);
}

/* Runs case k through the engine and checks it against the reference. */
static void check_case(const conv_case *k) {
  td_tensor in[2], out = {0}, want;
  conv_inputs(k, &in[0], &in[1]);
  want = conv_reference(k, td_f32(&in[0]), td_f32(&in[1]));
  Tensorflow__NodeDef *nd = conv_node(k);
  td_status st = {0};
  td_code code = td_test_run_op(nd, in, 2, &out, 1, &st);
  if (code != TD_OK) fprintf(stderr, "unexpected failure: %s\n", st.msg);
  assert_int_equal(code, TD_OK);
  assert_true(td_shape_equal(&out.shape, &want.shape));
  int64_t kk = k->kh * k->kw * (k->depthwise ? 1 : k->fin);
  if (!nn_close(td_f32(&out), td_f32(&want), td_tensor_num_elements(&want), 2e-6f * (float)kk)) {
    fprintf(stderr,
            "case n=%lld h=%lld w=%lld c=%lld k=%lldx%lld fin=%lld fout=%lld s=%lld,%lld "
            "d=%lld,%lld %s nchw=%d dw=%d dnnl=%d\n",
            (long long)k->n, (long long)k->h, (long long)k->w, (long long)k->c, (long long)k->kh,
            (long long)k->kw, (long long)k->fin, (long long)k->fout, (long long)k->sh,
            (long long)k->sw, (long long)k->dh, (long long)k->dw, k->padding, k->nchw,
            k->depthwise, td_nn_dnnl_enabled());
    fail();
  }
  td_test_node_free(nd);
  td_tensor_release(&in[0]);
  td_tensor_release(&in[1]);
  td_tensor_release(&out);
  td_tensor_release(&want);
}

static conv_case random_case(int depthwise) {
  static const char *paddings[] = {"SAME", "VALID", "EXPLICIT"};
  static const int64_t channels[] = {1, 3, 8};
  conv_case k;
  memset(&k, 0, sizeof k);
  k.depthwise = depthwise;
  k.n = nn_rand_range(1, 3);
  k.c = channels[nn_rand_range(0, 2)];
  k.kh = nn_rand_range(1, 4);
  k.kw = nn_rand_range(1, 4);
  k.sh = nn_rand_range(1, 3);
  k.sw = nn_rand_range(1, 3);
  k.dh = nn_rand_range(0, 3) == 0 ? 2 : 1;
  k.dw = nn_rand_range(0, 3) == 0 ? 2 : 1;
  k.padding = paddings[nn_rand_range(0, 2)];
  for (int i = 0; i < 4; i++) k.pads[i] = nn_rand_range(0, 2);
  k.nchw = nn_rand_range(0, 3) == 0;
  /* VALID / EXPLICIT need the (dilated) window to fit. */
  k.h = nn_rand_range((k.kh - 1) * k.dh + 1, 12);
  k.w = nn_rand_range((k.kw - 1) * k.dw + 1, 12);
  if (depthwise) {
    k.fin = k.c;
    k.fout = nn_rand_range(1, 3);
  } else {
    int64_t groups = (k.c == 8 && nn_rand_range(0, 3) == 0) ? 2 : 1;
    k.fin = k.c / groups;
    k.fout = groups * nn_rand_range(1, 5);
  }
  return k;
}

static void run_random(int depthwise, int dnnl, int count) {
  td_nn_set_dnnl_enabled(dnnl);
  for (int i = 0; i < count; i++) {
    conv_case k = random_case(depthwise);
    check_case(&k);
  }
  td_nn_set_dnnl_enabled(1);
}

static void test_conv2d_random_dnnl(void **state) { run_random(0, 1, 60); }
static void test_conv2d_random_fallback(void **state) { run_random(0, 0, 60); }
static void test_depthwise_random_dnnl(void **state) { run_random(1, 1, 40); }
static void test_depthwise_random_fallback(void **state) { run_random(1, 0, 40); }

static void test_conv2d_fixed_shapes(void **state) {
  /* The MNIST-style layer, a 1x1 pointwise conv, a kernel as large as the image, grouped. */
  conv_case cases[] = {
      {.n = 4, .h = 28, .w = 28, .c = 1, .kh = 3, .kw = 3, .fin = 1, .fout = 32, .sh = 1,
       .sw = 1, .dh = 1, .dw = 1, .padding = "VALID"},
      {.n = 2, .h = 7, .w = 5, .c = 8, .kh = 1, .kw = 1, .fin = 8, .fout = 6, .sh = 1, .sw = 1,
       .dh = 1, .dw = 1, .padding = "SAME"},
      {.n = 1, .h = 5, .w = 5, .c = 3, .kh = 5, .kw = 5, .fin = 3, .fout = 2, .sh = 2, .sw = 2,
       .dh = 1, .dw = 1, .padding = "VALID"},
      {.n = 2, .h = 9, .w = 6, .c = 8, .kh = 3, .kw = 2, .fin = 2, .fout = 8, .sh = 2, .sw = 1,
       .dh = 1, .dw = 2, .padding = "SAME", .nchw = 1},
      {.n = 1, .h = 4, .w = 4, .c = 3, .kh = 3, .kw = 3, .fin = 3, .fout = 2, .sh = 1, .sw = 1,
       .dh = 3, .dw = 3, .padding = "SAME"}, /* dilated window larger than the image */
      {.n = 2, .h = 5, .w = 5, .c = 3, .kh = 3, .kw = 3, .fin = 3, .fout = 2, .sh = 1, .sw = 1,
       .dh = 1000, .dw = 1000, .padding = "SAME"}, /* only the centre tap is in the image */
      {.n = 1, .h = 5, .w = 6, .c = 3, .kh = 3, .kw = 3, .fin = 3, .fout = 2,
       .sh = INT32_MAX, .sw = INT32_MAX, .dh = 1, .dw = 1, .padding = "SAME"}, /* 1x1 output */
      {.n = 5, .h = 1, .w = 1, .c = 7, .kh = 1, .kw = 1, .fin = 7, .fout = 4, .sh = 1, .sw = 1,
       .dh = 1, .dw = 1, .padding = "VALID"}, /* 1x1 over 1x1 images: oneDNN inner product */
      {.n = 2, .h = 1, .w = 1, .c = 3, .kh = 1, .kw = 1, .fin = 3, .fout = 2, .sh = 2, .sw = 2,
       .dh = 1, .dw = 1, .padding = "EXPLICIT", .pads = {1, 0, 0, 1}}, /* reads padding: not */
  };
  for (int dnnl = 0; dnnl <= 1; dnnl++) {
    td_nn_set_dnnl_enabled(dnnl);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
  }
  td_nn_set_dnnl_enabled(1);
}

/* 3x3 stride-1 convolutions wide and large enough for oneDNN's Winograd (nn_dnnl.c
 * plan_wants_winograd), with and without it: both within tolerance of the reference. The
 * Winograd plans must actually have been built where the CPU supports them (AVX-512). */
static void test_conv2d_winograd(void **state) {
  (void)state;
  conv_case cases[] = {
      {.n = 4, .h = 13, .w = 13, .c = 32, .kh = 3, .kw = 3, .fin = 32, .fout = 64, .sh = 1,
       .sw = 1, .dh = 1, .dw = 1, .padding = "VALID"},
      {.n = 3, .h = 10, .w = 9, .c = 16, .kh = 3, .kw = 3, .fin = 16, .fout = 32, .sh = 1,
       .sw = 1, .dh = 1, .dw = 1, .padding = "SAME", .nchw = 1},
      {.n = 2, .h = 16, .w = 16, .c = 48, .kh = 3, .kw = 3, .fin = 48, .fout = 16, .sh = 1,
       .sw = 1, .dh = 1, .dw = 1, .padding = "SAME"},
  };
  for (int wino = 1; wino >= 0; wino--) {
    td_nn_set_winograd_enabled(wino);
    long before = td_nn_dnnl_winograd_plans();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
    long built = td_nn_dnnl_winograd_plans() - before;
    fprintf(stderr, "winograd %s: %ld plans\n", wino ? "on" : "off", built);
    if (!wino) assert_int_equal(built, 0);
    else if (__builtin_cpu_supports("avx512f")) assert_int_equal(built, 3);
  }
  td_nn_set_winograd_enabled(1);
}

static void test_conv2d_direct_unit(void **state) {
  /* td_nn_conv_direct on its own (no engine): SAME 3x3 stride 2 on NHWC. */
  conv_case k = {.n = 2, .h = 7, .w = 6, .c = 3, .kh = 3, .kw = 3, .fin = 3, .fout = 4, .sh = 2,
                 .sw = 2, .dh = 1, .dw = 1, .padding = "SAME"};
  td_tensor in, f;
  conv_inputs(&k, &in, &f);
  td_tensor want = conv_reference(&k, td_f32(&in), td_f32(&f));
  td_nn_conv g = {.w = {.spatial = 2, .n = 2, .id = 1, .ih = 7, .iw = 6, .ic = 3, .kd = 1,
                        .kh = 3, .kw = 3, .sd = 1, .sh = 2, .sw = 2, .dd = 1, .dh = 1, .dw = 1,
                        .pad_t = 1, .pad_b = 1, .pad_l = 0, .pad_r = 1, .od = 1, .oh = 4,
                        .ow = 3},
                  .oc = 4, .groups = 1};
  assert_true(td_shape_equal(&want.shape, &(td_shape){4, {2, 4, 3, 4}}));
  float out[2 * 4 * 3 * 4];
  assert_int_equal(td_nn_conv_direct(&g, td_f32(&in), td_f32(&f), NULL, out), 0);
  assert_true(nn_close(out, td_f32(&want), 2 * 4 * 3 * 4, 1e-5f));
  td_tensor_release(&in);
  td_tensor_release(&f);
  td_tensor_release(&want);
}

static void test_conv2d_empty(void **state) {
  /* Batch 0 and a VALID window that leaves no output columns. */
  conv_case a = {.n = 0, .h = 5, .w = 5, .c = 3, .kh = 3, .kw = 3, .fin = 3, .fout = 2, .sh = 1,
                 .sw = 1, .dh = 1, .dw = 1, .padding = "SAME"};
  conv_case b = {.n = 1, .h = 5, .w = 2, .c = 3, .kh = 3, .kw = 4, .fin = 3, .fout = 2, .sh = 1,
                 .sw = 4, .dh = 1, .dw = 1, .padding = "VALID"};
  check_case(&a);
  check_case(&b);
}

/* ---- cache: one callable run repeatedly with changing filters and batch sizes ---- */

typedef struct conv_session {
  td_session *s;
  td_callable *call;
  Tensorflow__NodeDef *nodes[3];
} conv_session;

static void session_open(conv_session *cs, const conv_case *k) {
  Tensorflow__NodeDef *in = td_test_node_new("Placeholder"), *f = td_test_node_new("Placeholder");
  free(in->name), free(f->name);
  in->name = strdup("x"), f->name = strdup("w");
  td_test_attr_type(in, "dtype", TD_DT_FLOAT);
  td_test_attr_type(f, "dtype", TD_DT_FLOAT);
  Tensorflow__NodeDef *op = conv_node(k);
  static char *inputs[] = {"x", "w"};
  op->n_input = 2;
  op->input = malloc(2 * sizeof *op->input);
  op->input[0] = strdup(inputs[0]), op->input[1] = strdup(inputs[1]);
  cs->nodes[0] = in, cs->nodes[1] = f, cs->nodes[2] = op;
  static Tensorflow__GraphDef gd;
  tensorflow__graph_def__init(&gd);
  gd.n_node = 3;
  gd.node = cs->nodes;
  td_graph *g = NULL;
  td_status st = {0};
  assert_int_equal(td_graph_import(&gd, &g, &st), TD_OK);
  assert_int_equal(td_session_new(g, NULL, &cs->s, &st), TD_OK);
  const char *feeds[] = {"x:0", "w:0"}, *fetches[] = {"op:0"};
  assert_int_equal(td_session_make_callable(cs->s, feeds, 2, fetches, 1, NULL, 0, &cs->call, &st),
                   TD_OK);
}

static void session_close(conv_session *cs) {
  td_callable_free(cs->call);
  td_session_free(cs->s);
  for (int i = 0; i < 3; i++) td_test_node_free(cs->nodes[i]);
}

/* One run of the session on a fresh random batch of size n with filter f. */
static int session_check(conv_session *cs, conv_case k, int64_t n, const td_tensor *f) {
  k.n = n;
  int64_t idims[4] = {k.n, k.h, k.w, k.c};
  td_tensor feeds[2] = {nn_random_tensor(4, idims), td_tensor_ref(f)}, out = {0};
  td_tensor want = conv_reference(&k, td_f32(&feeds[0]), td_f32(f));
  td_status st = {0};
  int ok = td_callable_run(cs->call, feeds, &out, &st) == TD_OK &&
           td_shape_equal(&out.shape, &want.shape) &&
           nn_close(td_f32(&out), td_f32(&want), td_tensor_num_elements(&want), 1e-4f);
  td_tensor_release(&feeds[0]);
  td_tensor_release(&feeds[1]);
  td_tensor_release(&out);
  td_tensor_release(&want);
  return ok;
}

static const conv_case cache_case = {.n = 2, .h = 9, .w = 8, .c = 3, .kh = 3, .kw = 3, .fin = 3,
                                     .fout = 16, .sh = 1, .sw = 1, .dh = 1, .dw = 1,
                                     .padding = "SAME"};

static void test_conv2d_cache_across_runs(void **state) {
  conv_session cs;
  session_open(&cs, &cache_case);
  int64_t fdims[4] = {3, 3, 3, 16};
  td_tensor fa = nn_random_tensor(4, fdims), fb = nn_random_tensor(4, fdims);
  /* Same filter twice, a new filter, back to the first, then more batch sizes than the
   * plan cache holds (evictions), then the first size again. */
  assert_true(session_check(&cs, cache_case, 2, &fa));
  long reorders = td_nn_dnnl_weight_reorders();
  assert_true(session_check(&cs, cache_case, 2, &fa)); /* cached: no new weights reorder */
  assert_int_equal(td_nn_dnnl_weight_reorders(), reorders);
  assert_true(session_check(&cs, cache_case, 3, &fa)); /* new plan: at most one reorder */
  assert_true(td_nn_dnnl_weight_reorders() - reorders <= 1);
  fprintf(stderr, "weights shared across batch sizes: %s\n",
          td_nn_dnnl_weight_reorders() == reorders ? "yes" : "no");
  assert_true(session_check(&cs, cache_case, 2, &fb));
  assert_true(session_check(&cs, cache_case, 2, &fa));
  for (int64_t n = 1; n <= 11; n++) assert_true(session_check(&cs, cache_case, n, n % 2 ? &fa : &fb));
  /* The same buffer rewritten in place must not reuse stale weights. */
  td_f32(&fa)[0] += 1.0f;
  assert_true(session_check(&cs, cache_case, 2, &fa));
  td_tensor_release(&fa);
  td_tensor_release(&fb);
  session_close(&cs);
}

typedef struct worker_arg {
  conv_session *cs;
  const td_tensor *filters[2];
  int ok;
  int seed;
} worker_arg;

static void *worker(void *p) {
  worker_arg *a = p;
  a->ok = 1;
  for (int i = 0; i < 12; i++) {
    int64_t n = 1 + (a->seed + i) % 3;
    if (!session_check(a->cs, cache_case, n, a->filters[(a->seed + i) % 2])) a->ok = 0;
  }
  return NULL;
}

static void test_conv2d_concurrent_runs(void **state) {
  conv_session cs;
  session_open(&cs, &cache_case);
  int64_t fdims[4] = {3, 3, 3, 16};
  td_tensor fa = nn_random_tensor(4, fdims), fb = nn_random_tensor(4, fdims);
  pthread_t th[4];
  worker_arg args[4];
  /* nn_rand's state is thread-local, so workers draw their inputs independently. */
  for (int i = 0; i < 4; i++) {
    args[i] = (worker_arg){.cs = &cs, .filters = {&fa, &fb}, .seed = i};
    assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_true(args[i].ok);
  }
  td_tensor_release(&fa);
  td_tensor_release(&fb);
  session_close(&cs);
}

/* ---- Conv3D ---- */

typedef struct conv3d_case {
  int64_t n, d, h, w, c, kd, kh, kw, fin, fout, sd, sh, sw, dd, dh, dw;
  const char *padding;
  int ncdhw;
} conv3d_case;

static int64_t idx5(int cf, int64_t n, int64_t z, int64_t y, int64_t x, int64_t ch, int64_t d,
                    int64_t h, int64_t w, int64_t c) {
  return cf ? (((n * c + ch) * d + z) * h + y) * w + x : (((n * d + z) * h + y) * w + x) * c + ch;
}

static void check_conv3d(const conv3d_case *k) {
  int64_t pf, pt, pl;
  int64_t od = nn_ref_window(k->padding, k->d, k->kd, k->dd, k->sd, 0, 0, &pf);
  int64_t oh = nn_ref_window(k->padding, k->h, k->kh, k->dh, k->sh, 0, 0, &pt);
  int64_t ow = nn_ref_window(k->padding, k->w, k->kw, k->dw, k->sw, 0, 0, &pl);
  int64_t groups = k->c / k->fin, og = k->fout / groups;
  int64_t idims[5] = {k->n, k->d, k->h, k->w, k->c}, odims[5] = {k->n, od, oh, ow, k->fout};
  if (k->ncdhw) {
    int64_t a[5] = {k->n, k->c, k->d, k->h, k->w}, b[5] = {k->n, k->fout, od, oh, ow};
    memcpy(idims, a, sizeof a), memcpy(odims, b, sizeof b);
  }
  int64_t fdims[5] = {k->kd, k->kh, k->kw, k->fin, k->fout};
  td_tensor in[2] = {nn_random_tensor(5, idims), nn_random_tensor(5, fdims)}, out = {0};
  td_tensor want = td_test_tensor(TD_DT_FLOAT, 5, odims, NULL);
  const float *x = td_f32(&in[0]), *f = td_f32(&in[1]);
  for (int64_t n = 0; n < k->n; n++)
    for (int64_t oz = 0; oz < od; oz++)
      for (int64_t oy = 0; oy < oh; oy++)
        for (int64_t ox = 0; ox < ow; ox++)
          for (int64_t o = 0; o < k->fout; o++) {
            double acc = 0;
            int64_t g = o / og;
            for (int64_t kz = 0; kz < k->kd; kz++)
              for (int64_t ky = 0; ky < k->kh; ky++)
                for (int64_t kx = 0; kx < k->kw; kx++) {
                  int64_t iz = oz * k->sd - pf + kz * k->dd, iy = oy * k->sh - pt + ky * k->dh;
                  int64_t ix = ox * k->sw - pl + kx * k->dw;
                  if (iz < 0 || iz >= k->d || iy < 0 || iy >= k->h || ix < 0 || ix >= k->w)
                    continue;
                  for (int64_t ci = 0; ci < k->fin; ci++)
                    acc += (double)x[idx5(k->ncdhw, n, iz, iy, ix, g * k->fin + ci, k->d, k->h,
                                          k->w, k->c)] *
                           f[(((kz * k->kh + ky) * k->kw + kx) * k->fin + ci) * k->fout + o];
                }
            td_f32(&want)[idx5(k->ncdhw, n, oz, oy, ox, o, od, oh, ow, k->fout)] = (float)acc;
          }
  Tensorflow__NodeDef *nd = td_test_node_new("Conv3D");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  int64_t strides[5] = {1, k->sd, k->sh, k->sw, 1}, dil[5] = {1, k->dd, k->dh, k->dw, 1};
  if (k->ncdhw) {
    int64_t a[5] = {1, 1, k->sd, k->sh, k->sw}, b[5] = {1, 1, k->dd, k->dh, k->dw};
    memcpy(strides, a, sizeof a), memcpy(dil, b, sizeof b);
    td_test_attr_str(nd, "data_format", "NCDHW");
  }
  td_test_attr_ints(nd, "strides", strides, 5);
  td_test_attr_ints(nd, "dilations", dil, 5);
  td_test_attr_str(nd, "padding", k->padding);
  td_status st = {0};
  td_code code = td_test_run_op(nd, in, 2, &out, 1, &st);
  if (code != TD_OK) fprintf(stderr, "unexpected failure: %s\n", st.msg);
  assert_int_equal(code, TD_OK);
  assert_true(td_shape_equal(&out.shape, &want.shape));
  float tol = 2e-6f * (float)(k->kd * k->kh * k->kw * k->fin);
  assert_true(nn_close(td_f32(&out), td_f32(&want), td_tensor_num_elements(&want), tol));
  td_test_node_free(nd);
  td_tensor_release(&in[0]);
  td_tensor_release(&in[1]);
  td_tensor_release(&out);
  td_tensor_release(&want);
}

static void run_conv3d_random(int dnnl) {
  td_nn_set_dnnl_enabled(dnnl);
  for (int i = 0; i < 30; i++) {
    conv3d_case k = {.n = nn_rand_range(1, 2), .c = nn_rand_range(0, 1) ? 4 : 1,
                     .kd = nn_rand_range(1, 3), .kh = nn_rand_range(1, 3),
                     .kw = nn_rand_range(1, 3), .sd = nn_rand_range(1, 2),
                     .sh = nn_rand_range(1, 2), .sw = nn_rand_range(1, 3), .dd = 1,
                     .dh = nn_rand_range(1, 2), .dw = 1,
                     .padding = nn_rand_range(0, 1) ? "SAME" : "VALID",
                     .ncdhw = nn_rand_range(0, 3) == 0};
    k.d = nn_rand_range((k.kd - 1) * k.dd + 1, 6);
    k.h = nn_rand_range((k.kh - 1) * k.dh + 1, 7);
    k.w = nn_rand_range((k.kw - 1) * k.dw + 1, 7);
    k.fin = (k.c == 4 && nn_rand_range(0, 3) == 0) ? 2 : k.c;
    k.fout = (k.c / k.fin) * nn_rand_range(1, 4);
    check_conv3d(&k);
  }
  td_nn_set_dnnl_enabled(1);
}

static void test_conv3d_random_dnnl(void **state) { run_conv3d_random(1); }
static void test_conv3d_random_fallback(void **state) { run_conv3d_random(0); }

/* ---- errors ---- */

static td_code run_expect_error(Tensorflow__NodeDef *nd, const int64_t *idims, int irank,
                                const int64_t *fdims, int frank, const char *needle) {
  td_tensor in[2] = {nn_random_tensor(irank, idims), nn_random_tensor(frank, fdims)}, out = {0};
  td_status st = {0};
  td_code code = td_test_run_op(nd, in, 2, &out, 1, &st);
  if (code == TD_OK || !strstr(st.msg, needle))
    fprintf(stderr, "expected error containing '%s', got %d '%s'\n", needle, code, st.msg);
  assert_int_not_equal(code, TD_OK);
  assert_non_null(strstr(st.msg, needle));
  td_tensor_release(&in[0]);
  td_tensor_release(&in[1]);
  td_tensor_release(&out);
  td_test_node_free(nd);
  return code;
}

static void test_conv2d_errors(void **state) {
  conv_case k = {.n = 1, .h = 5, .w = 5, .c = 4, .kh = 3, .kw = 3, .fin = 4, .fout = 2, .sh = 1,
                 .sw = 1, .dh = 1, .dw = 1, .padding = "VALID"};
  int64_t in4[4] = {1, 5, 5, 4}, in3[3] = {5, 5, 4}, f4[4] = {3, 3, 4, 2}, f3[3] = {3, 4, 2};
  int64_t f_bad_depth[4] = {3, 3, 3, 2}, f_big[4] = {7, 3, 4, 2}, f_grp[4] = {3, 3, 2, 3};
  assert_int_equal(run_expect_error(conv_node(&k), in3, 3, f4, 4, "input must be 4-dimensional"),
                   TD_INVALID_ARGUMENT);
  assert_int_equal(run_expect_error(conv_node(&k), in4, 4, f3, 3, "filter must be 4-dimensional"),
                   TD_INVALID_ARGUMENT);
  assert_int_equal(run_expect_error(conv_node(&k), in4, 4, f_bad_depth, 4,
                                    "input depth must be evenly divisible by filter depth: 4 vs 3"),
                   TD_INVALID_ARGUMENT);
  assert_int_equal(run_expect_error(conv_node(&k), in4, 4, f_grp, 4,
                                    "output depth must be evenly divisible by number of groups"),
                   TD_INVALID_ARGUMENT);
  assert_int_equal(run_expect_error(conv_node(&k), in4, 4, f_big, 4,
                                    "Computed output size would be negative"),
                   TD_INVALID_ARGUMENT);

  Tensorflow__NodeDef *nd = conv_node(&k);
  int64_t bad_strides[3] = {1, 1, 1};
  nd->attr[1]->value->list->n_i = 3; /* "strides" is the second attr conv_node sets */
  memcpy(nd->attr[1]->value->list->i, bad_strides, sizeof bad_strides);
  run_expect_error(nd, in4, 4, f4, 4, "strides field must specify 4 dimensions");

  nd = td_test_node_new("Conv2D");
  int64_t batch_stride[4] = {2, 1, 1, 1};
  td_test_attr_ints(nd, "strides", batch_stride, 4);
  td_test_attr_str(nd, "padding", "SAME");
  run_expect_error(nd, in4, 4, f4, 4, "batch and depth dimensions");

  nd = td_test_node_new("Conv2D");
  int64_t ones[4] = {1, 1, 1, 1}, zero_dil[4] = {1, 0, 1, 1};
  td_test_attr_ints(nd, "strides", ones, 4);
  td_test_attr_ints(nd, "dilations", zero_dil, 4);
  td_test_attr_str(nd, "padding", "SAME");
  run_expect_error(nd, in4, 4, f4, 4, "should be larger than 0");

  nd = td_test_node_new("Conv2D");
  td_test_attr_ints(nd, "strides", ones, 4);
  td_test_attr_str(nd, "padding", "FULL");
  run_expect_error(nd, in4, 4, f4, 4, "padding");

  nd = td_test_node_new("Conv2D");
  td_test_attr_ints(nd, "strides", ones, 4);
  td_test_attr_str(nd, "padding", "EXPLICIT");
  td_test_attr_ints(nd, "explicit_paddings", ones, 4);
  run_expect_error(nd, in4, 4, f4, 4, "explicit_paddings attribute must contain 8 values");

  nd = td_test_node_new("Conv2D");
  int64_t huge_pads[8] = {0, 0, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, 0, 0};
  td_test_attr_ints(nd, "strides", ones, 4);
  td_test_attr_str(nd, "padding", "EXPLICIT");
  td_test_attr_ints(nd, "explicit_paddings", huge_pads, 8);
  run_expect_error(nd, in4, 4, f4, 4, "too large");

  nd = td_test_node_new("Conv2D");
  int64_t neg_pads[8] = {0, 0, -1, 0, 0, 0, 0, 0};
  td_test_attr_ints(nd, "strides", ones, 4);
  td_test_attr_str(nd, "padding", "EXPLICIT");
  td_test_attr_ints(nd, "explicit_paddings", neg_pads, 8);
  run_expect_error(nd, in4, 4, f4, 4, "nonnegative");

  nd = td_test_node_new("Conv2D");
  td_test_attr_ints(nd, "strides", ones, 4);
  td_test_attr_str(nd, "padding", "SAME");
  td_test_attr_str(nd, "data_format", "NCDHW");
  run_expect_error(nd, in4, 4, f4, 4, "data format");

  conv_case d = k;
  d.depthwise = 1;
  int64_t dw_bad[4] = {3, 3, 3, 1};
  run_expect_error(conv_node(&d), in4, 4, dw_bad, 4,
                   "input and filter must have the same depth: 4 vs 3");

  /* Conv3D: 4-D input, and a 4-entry strides list. */
  nd = td_test_node_new("Conv3D");
  int64_t ones5[5] = {1, 1, 1, 1, 1}, f5[5] = {1, 3, 3, 4, 2};
  td_test_attr_ints(nd, "strides", ones5, 5);
  td_test_attr_str(nd, "padding", "SAME");
  run_expect_error(nd, in4, 4, f5, 5, "input must be 5-dimensional");
  nd = td_test_node_new("Conv3D");
  int64_t in5[5] = {1, 2, 5, 5, 4};
  td_test_attr_ints(nd, "strides", ones, 4);
  td_test_attr_str(nd, "padding", "SAME");
  run_expect_error(nd, in5, 5, f5, 5, "strides field must specify 5 dimensions");

  /* Non-float input. */
  nd = conv_node(&k);
  td_tensor ins[2] = {td_test_tensor(TD_DT_INT32, 4, in4, NULL), nn_random_tensor(4, f4)};
  td_tensor out = {0};
  td_status st = {0};
  assert_int_not_equal(td_test_run_op(nd, ins, 2, &out, 1, &st), TD_OK);
  td_tensor_release(&ins[0]);
  td_tensor_release(&ins[1]);
  td_test_node_free(nd);
}

/* Fused epilogues (td_k_fusion): Conv2D / depthwise → BiasAdd → Relu / Relu6 fused into one
 * step equals the same graph with the steps kept apart (fetching the conv output blocks the
 * fusion), on the oneDNN path and the im2col fallback. A bias of the wrong size fails. */
static void check_fused(const char *op, int depthwise, const char *act, int with_bias) {
  int64_t idims[4] = {2, 9, 8, 5}, m = 2, oc = depthwise ? 5 * m : 7;
  int64_t fdims[4] = {3, 3, 5, depthwise ? m : oc}, bdims[1] = {oc};
  td_tensor x = nn_random_tensor(4, idims), w = nn_random_tensor(4, fdims);
  td_tensor b = nn_random_tensor(1, bdims);
  for (int64_t i = 0; i < td_tensor_num_elements(&x); i++) td_f32(&x)[i] *= 4; /* hit 6 */
  td_tensor got[2];
  for (int blocked = 0; blocked < 2; blocked++) {
    Tensorflow__NodeDef *nd = nn_named(op, "op");
    int64_t st4[4] = {1, 1, 2, 1};
    td_test_attr_ints(nd, "strides", st4, 4);
    td_test_attr_str(nd, "padding", "SAME");
    td_test_attr_type(nd, "T", TD_DT_FLOAT);
    td_status st = {0};
    td_code code = nn_run_chain(nd, &x, &w, with_bias ? &b : NULL, act, blocked, &got[blocked], &st);
    if (code != TD_OK) fprintf(stderr, "unexpected failure: %s\n", st.msg);
    assert_int_equal(code, TD_OK);
  }
  assert_true(td_shape_equal(&got[0].shape, &got[1].shape));
  assert_true(nn_close(td_f32(&got[0]), td_f32(&got[1]), td_tensor_num_elements(&got[0]), 1e-5f));
  for (int i = 0; i < 2; i++) td_tensor_release(&got[i]);
  /* wrong bias size: the fused step fails like BiasAdd would */
  int64_t bad[1] = {oc + 1};
  td_tensor bb = nn_random_tensor(1, bad), junk;
  Tensorflow__NodeDef *nd = nn_named(op, "op");
  td_test_attr_str(nd, "padding", "VALID");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_status st = {0};
  assert_int_equal(nn_run_chain(nd, &x, &w, &bb, act, 0, &junk, &st), TD_INVALID_ARGUMENT);
  td_tensor_release(&bb);
  td_tensor_release(&x);
  td_tensor_release(&w);
  td_tensor_release(&b);
}

static void test_conv_fused_epilogue(void **state) {
  (void)state;
  static const char *acts[] = {NULL, "Relu", "Relu6"};
  for (int dnnl = 1; dnnl >= 0; dnnl--) {
    td_nn_set_dnnl_enabled(dnnl);
    for (int a = 0; a < 3; a++)
      for (int bias = 0; bias < 2; bias++) {
        if (!acts[a] && !bias) continue;
        check_fused("Conv2D", 0, acts[a], bias);
        check_fused("DepthwiseConv2dNative", 1, acts[a], bias);
      }
  }
  td_nn_set_dnnl_enabled(1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv2d_direct_unit),
      cmocka_unit_test(test_conv2d_fixed_shapes),
      cmocka_unit_test(test_conv2d_winograd),
      cmocka_unit_test(test_conv2d_random_dnnl),
      cmocka_unit_test(test_conv2d_random_fallback),
      cmocka_unit_test(test_depthwise_random_dnnl),
      cmocka_unit_test(test_depthwise_random_fallback),
      cmocka_unit_test(test_conv2d_empty),
      cmocka_unit_test(test_conv3d_random_dnnl),
      cmocka_unit_test(test_conv3d_random_fallback),
      cmocka_unit_test(test_conv2d_cache_across_runs),
      cmocka_unit_test(test_conv2d_concurrent_runs),
      cmocka_unit_test(test_conv2d_errors),
      cmocka_unit_test(test_conv_fused_epilogue),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
