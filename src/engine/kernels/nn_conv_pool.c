/* nn_conv_pool.c — the fused step Conv2D (+ fused BiasAdd / Relu / Relu6) → MaxPool, NHWC.
 *
 * opt_nn_fuse.c turns a Conv2D whose only reader is a MaxPool into this one step. At large
 * batch the convolution's output (the bench CNN's first layer: 1000 x 26 x 26 x 32 floats,
 * 86 MB) went to memory and came back for the pool: both steps were bound by memory bandwidth.
 * Here the batch is convolved a chunk of images at a time into a buffer of about CHUNK_BYTES
 * (stays in L2) and each chunk is pooled from there into the output; a batch whose whole
 * output is at most WHOLE_BYTES is one chunk per thread (it stays in cache anyway, and each
 * chunk is a oneDNN call with its own fixed cost; one chunk for all would leave the pooling
 * to one thread: the bench CNN at batch 32 took 0.96 ms on 2 threads that way, 0.48 split in
 * two). Images are independent in
 * both ops, so the result equals the two steps run one after the other (same convolution
 * path: oneDNN with its per-node cached plans — one per chunk size — or the direct
 * convolution; same pooling loop).
 * Inputs: 0 = x, 1 = filter (the Conv2D node's own), 2 = int64 [5] constant: pool kh, kw, sh,
 * sw, padding (1 = SAME, 0 = VALID). The node is the Conv2D's (its attrs, name in errors).
 * With T intra-op threads the chunks are split over T OpenMP threads, one chunk per thread at
 * a time (each with its own buffer); oneDNN does not nest its threading inside the region.
 * Invariants: the chunk buffers are owned by one call and freed before returning; reentrant.
 */
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/nn.h"
#include "util/mem.h"

#define CHUNK_BYTES (1024 * 1024)
#define WHOLE_BYTES (4 * 1024 * 1024) /* up to this much output, one chunk: fewer oneDNN calls */

/* Convolves chunk ci of the batch into buf and pools it into its place in out; 0 or -1. */
static int run_chunk(td_kctx *c, const td_nn_conv *g, const td_nn_window *pw, int64_t chunk, int64_t ci,
                     const float *x, const float *filter, const td_fusion *f, float *buf, float *out) {
  int64_t n0 = ci * chunk;
  td_nn_conv gc = *g;
  gc.w.n = g->w.n - n0 < chunk ? g->w.n - n0 : chunk;
  const float *xc = x + n0 * g->w.ih * g->w.iw * g->w.ic;
  if (!(td_nn_dnnl_enabled() && td_nn_conv_dnnl(c, &gc, xc, filter, f, buf) == 0) &&
      td_nn_conv_direct(&gc, xc, filter, f, buf) != 0)
    return -1;
  td_nn_window pc = *pw;
  pc.n = gc.w.n;
  td_nn_max_pool_nhwc(&pc, buf, out + n0 * pw->oh * pw->ow * g->oc);
  return 0;
}

td_code td_k_nn_conv2d_max_pool(td_kctx *c) {
  const td_tensor *pp = td_k_input(c, 2);
  if (pp->dtype != TD_DT_INT64 || td_tensor_num_elements(pp) != 5)
    return td_k_fail(c, TD_INTERNAL, "fused Conv2D+MaxPool: bad pool parameters");
  const int64_t *p = td_i64(pp);
  const td_fusion *f = td_k_fusion(c);
  td_nn_conv g;
  TD_TRY(td_nn_conv2d_geometry(c, &g));
  if (g.w.nchw) return td_k_fail(c, TD_INTERNAL, "fused Conv2D+MaxPool needs NHWC");
  td_shape cshape = td_nn_window_output(&g.w, g.oc);
  TD_TRY(td_nn_fusion_check(c, f, &cshape, g.oc));
  td_nn_window pw;
  td_nn_window_reset(&pw, 2, 0);
  pw.kh = p[0], pw.kw = p[1], pw.sh = p[2], pw.sw = p[3], pw.dh = pw.dw = 1;
  td_nn_window_input(&pw, &cshape);
  TD_TRY(td_nn_window_solve(c, &pw, p[4] ? TD_NN_SAME : TD_NN_VALID, NULL));
  TD_TRY(td_nn_check_output_size(c, &pw, g.oc));
  td_shape oshape = td_nn_window_output(&pw, g.oc);
  td_tensor *out = NULL;
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &oshape, &out));
  int64_t total = td_shape_num_elements(&oshape);
  if (total == 0) return TD_OK;
  float *o = td_f32(out);
  if (g.w.ic == 0) { /* the convolution is act(bias) everywhere, and so is its max */
    float *v = td_xcalloc((size_t)g.oc, sizeof *v);
    td_nn_epilogue(f, 1, v, 1, g.oc);
    for (int64_t i = 0; i < total; i++) o[i] = v[i % g.oc];
    free(v);
    return TD_OK;
  }
  int64_t conv_img = g.w.oh * g.w.ow * g.oc;
  int64_t chunk = CHUNK_BYTES / (conv_img * (int64_t)sizeof(float));
  if (chunk < 1) chunk = 1;
  int threads = td_k_threads(c);
  if (threads < 1) threads = 1;
  if (g.w.n * conv_img * (int64_t)sizeof(float) <= WHOLE_BYTES) /* fits in cache anyway: one chunk per thread */
    chunk = (g.w.n + threads - 1) / threads;
  if (chunk > g.w.n) chunk = g.w.n;
  int64_t nchunks = (g.w.n + chunk - 1) / chunk;
  if (threads > nchunks) threads = (int)nchunks;
  if (threads < 1) threads = 1;
  float *buf = malloc((size_t)(threads * chunk * conv_img) * sizeof *buf);
  if (!buf) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "OOM allocating a %lld-float convolution chunk", (long long)(chunk * conv_img));
  const float *x = td_f32(td_k_input(c, 0)), *filter = td_f32(td_k_input(c, 1));
  int failed = 0;
  if (threads == 1) { /* no OpenMP region at all: at batch 1 its setup is measurable */
    for (int64_t ci = 0; ci < nchunks && !failed; ci++) failed = run_chunk(c, &g, &pw, chunk, ci, x, filter, f, buf, o);
  } else {
    /* one chunk per thread at a time: oneDNN runs single-threaded inside the parallel region
     * (it does not nest), so T threads make T chunks at once instead of sharing each small one */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t ci = 0; ci < nchunks; ci++) {
      int t = 0;
#ifdef _OPENMP
      t = omp_get_thread_num();
#endif
      if (run_chunk(c, &g, &pw, chunk, ci, x, filter, f, buf + (int64_t)t * chunk * g.w.oh * g.w.ow * g.oc, o)) {
#pragma omp atomic write
        failed = 1;
      }
    }
  }
  td_code rc = failed ? td_k_fail(c, TD_RESOURCE_EXHAUSTED, "OOM in convolution scratch") : TD_OK;
  free(buf);
  return rc;
}
