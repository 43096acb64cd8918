/* nn_test_util.h — shared helpers for the nn kernel tests (test_nn_*.c): a deterministic RNG,
 * random float tensors, tolerant comparison and TF's window geometry written independently of
 * the kernels (so the tests check the kernels' arithmetic, not reuse it). Header-only. */
#ifndef TD_TESTS_NN_TEST_UTIL_H
#define TD_TESTS_NN_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/testing.h"

static _Thread_local uint64_t nn_rng_state = 0x2545f4914f6cdd1dull;

static inline uint32_t nn_rand(void) {
  nn_rng_state = nn_rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(nn_rng_state >> 33);
}

/* Uniform integer in [lo, hi]. */
static inline int64_t nn_rand_range(int64_t lo, int64_t hi) {
  return lo + (int64_t)(nn_rand() % (uint32_t)(hi - lo + 1));
}

/* Uniform float in [-1, 1). */
static inline float nn_rand_float(void) { return (float)nn_rand() / 2147483648.0f - 1.0f; }

/* An owned float tensor of the given shape filled with random values. */
static inline td_tensor nn_random_tensor(int rank, const int64_t *dims) {
  td_tensor t = td_test_tensor(TD_DT_FLOAT, rank, dims, NULL);
  int64_t n = td_tensor_num_elements(&t);
  for (int64_t i = 0; i < n; i++) td_f32(&t)[i] = nn_rand_float();
  return t;
}

/* Max |a-b| / (1 + |b|) over n floats; prints the first offender above tol. */
static inline int nn_close(const float *a, const float *b, int64_t n, float tol) {
  for (int64_t i = 0; i < n; i++) {
    float d = fabsf(a[i] - b[i]);
    if (!(d <= tol * (1.0f + fabsf(b[i])))) {
      fprintf(stderr, "mismatch at %lld: got %.7g want %.7g\n", (long long)i, a[i], b[i]);
      return 0;
    }
  }
  return 1;
}

/* TF's output size and leading pad for one dim; returns out (may be negative = error). */
static inline int64_t nn_ref_window(const char *padding, int64_t in, int64_t k, int64_t dil,
                                   int64_t stride, int64_t exp_before, int64_t exp_after,
                                   int64_t *before) {
  int64_t eff = (k - 1) * dil + 1;
  if (!strcmp(padding, "VALID")) {
    *before = 0;
    return (in - eff + stride) / stride;
  }
  if (!strcmp(padding, "SAME")) {
    int64_t out = (in + stride - 1) / stride;
    int64_t total = (out - 1) * stride + eff - in;
    *before = total > 0 ? total / 2 : 0;
    return out;
  }
  *before = exp_before;
  return (in + exp_before + exp_after - eff + stride) / stride;
}

/* Index of logical element (n, y, x, c) in an NHWC or NCHW tensor of sizes h, w, ch. */
static inline int64_t nn_idx(int nchw, int64_t n, int64_t y, int64_t x, int64_t c, int64_t h,
                             int64_t w, int64_t ch) {
  return nchw ? ((n * ch + c) * h + y) * w + x : ((n * h + y) * w + x) * ch + c;
}

/* 4-entry attr list with (h, w) in data_format order and 1 elsewhere. */
static inline void nn_hw_attr(Tensorflow__NodeDef *nd, const char *name, int nchw, int64_t h,
                              int64_t w) {
  int64_t v[4] = {1, h, w, 1};
  if (nchw) v[1] = 1, v[2] = h, v[3] = w;
  td_test_attr_ints(nd, name, v, 4);
}

/* ---- fused-epilogue chains (td_k_fusion) ---- */
static inline void nn_set_inputs(Tensorflow__NodeDef *nd, const char *a, const char *b) {
  nd->n_input = b ? 2 : 1;
  nd->input = malloc(2 * sizeof *nd->input);
  nd->input[0] = strdup(a);
  if (b) nd->input[1] = strdup(b);
}
static inline Tensorflow__NodeDef *nn_named(const char *op, const char *name) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  free(nd->name);
  nd->name = strdup(name);
  return nd;
}

/* Runs the graph of nodes[0..nn) (freed after) on x fed as "x:0" with `threads` intra-op
 * threads (0: the default) and fetches `fetch` into *out (set only on success). `extra`, when
 * not NULL, is fetched too and released: a fetched intermediate keeps a pattern unfused. */
static inline td_code nn_run_nodes(Tensorflow__NodeDef **nodes, int nn, const td_tensor *x, const char *fetch,
                                   const char *extra, int threads, td_tensor *out, td_status *st) {
  Tensorflow__GraphDef gd;
  tensorflow__graph_def__init(&gd);
  gd.n_node = (size_t)nn;
  gd.node = nodes;
  const char *fetches[2] = {fetch, extra}, *feeds[1] = {"x:0"};
  td_tensor outs[2];
  td_graph *g = NULL;
  td_session *s = NULL;
  td_session_options so = {.intra_op_threads = threads};
  td_code code = td_graph_import(&gd, &g, st);
  if (code == TD_OK) code = td_session_new(g, &so, &s, st);
  if (code == TD_OK) code = td_session_run(s, feeds, x, 1, fetches, outs, extra ? 2 : 1, NULL, 0, st);
  td_session_free(s);
  for (int i = 0; i < nn; i++) td_test_node_free(nodes[i]);
  if (code == TD_OK) {
    *out = outs[0];
    if (extra) td_tensor_release(&outs[1]);
  }
  return code;
}

/* Runs x → op(x, w) → [BiasAdd(·, b) if b] → [act if act: "Relu" / "Relu6"] with w and b as
 * Consts and fetches the chain's end into *out (the callable fuses the chain into op). With
 * block_fusion the op's own output is fetched too, which keeps the steps separate (the
 * unfused reference). op_nd (name "op", attrs set, inputs set here) is consumed. */
static inline td_code nn_run_chain(Tensorflow__NodeDef *op_nd, const td_tensor *x,
                                   const td_tensor *w, const td_tensor *b, const char *act,
                                   int block_fusion, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nodes[6];
  int nn = 0;
  nodes[nn] = nn_named("Placeholder", "x");
  td_test_attr_type(nodes[nn++], "dtype", TD_DT_FLOAT);
  nodes[nn] = nn_named("Const", "w");
  td_test_attr_type(nodes[nn], "dtype", TD_DT_FLOAT);
  td_test_attr_tensor(nodes[nn++], "value", w);
  nn_set_inputs(op_nd, "x", "w");
  nodes[nn++] = op_nd;
  const char *last = "op";
  if (b) {
    nodes[nn] = nn_named("Const", "b");
    td_test_attr_type(nodes[nn], "dtype", TD_DT_FLOAT);
    td_test_attr_tensor(nodes[nn++], "value", b);
    nodes[nn] = nn_named("BiasAdd", "ba");
    td_test_attr_type(nodes[nn], "T", TD_DT_FLOAT);
    nn_set_inputs(nodes[nn++], "op", "b");
    last = "ba";
  }
  if (act) {
    nodes[nn] = nn_named(act, "act");
    td_test_attr_type(nodes[nn], "T", TD_DT_FLOAT);
    nn_set_inputs(nodes[nn++], last, NULL);
    last = "act";
  }
  char fetch[16];
  snprintf(fetch, sizeof fetch, "%s:0", last);
  return nn_run_nodes(nodes, nn, x, fetch, block_fusion ? "op:0" : NULL, 0, out, st);
}

#endif
