/* nn_seq.c — sequence-flavoured nn ops (rows in nn.def), float32:
 *  - Conv1D (the tfjs converter's op: attrs stride, dilation, padding SAME/VALID, data_format
 *    NWC or NCW; filter [kw, in, out]): a direct loop over output positions with the channel
 *    dot products done by cblas_sgemv per tap.
 *  - CTCGreedyDecoder: per batch, the arg-max class of each of the first sequence_length[b]
 *    steps; blanks dropped and (merge_repeated) repeats merged; log_probability = -sum of the
 *    per-step max logits. Outputs a SparseTensor (indices, values, dense_shape).
 *  - LSTMBlockCell: one TF1 LSTM block step as the op documents it ([i, ci, f, o] = [x, h] w + b,
 *    optional peepholes, forget_bias, cell_clip > 0 clips cs).
 * Reentrant; scratch per call.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/nn.h"

/* ---- Conv1D ---- */

td_code td_k_nn_conv1d(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *f = td_k_input(c, 1);
  const td_node *nd = td_k_node(c);
  char b1[96], b2[96];
  TD_TRY(td_nn_require_float(c, in, "input"));
  TD_TRY(td_nn_require_float(c, f, "filter"));
  int ncw = td_attr_str_eq(nd, "data_format", "NCW");
  if (!ncw && td_attr_str(nd, "data_format", NULL) && !td_attr_str_eq(nd, "data_format", "NWC"))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Conv1D: data_format must be NWC or NCW");
  if (in->shape.rank != 3) return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be 3-dimensional: %s", td_shape_str(&in->shape, b1, sizeof b1));
  if (f->shape.rank != 3) return td_k_fail(c, TD_INVALID_ARGUMENT, "filter must be 3-dimensional: %s", td_shape_str(&f->shape, b1, sizeof b1));
  int64_t n = in->shape.dim[0], w = in->shape.dim[ncw ? 2 : 1], ic = in->shape.dim[ncw ? 1 : 2];
  int64_t k = f->shape.dim[0], oc = f->shape.dim[2];
  if (f->shape.dim[1] != ic)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input and filter must have the same depth: %s vs %s",
                     td_shape_str(&in->shape, b1, sizeof b1), td_shape_str(&f->shape, b2, sizeof b2));
  int64_t stride = td_attr_int(nd, "stride", 1), dil = td_attr_int(nd, "dilation", 1);
  if (stride <= 0 || dil <= 0 || stride > INT32_MAX || dil > INT32_MAX)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Conv1D: stride and dilation must be positive");
  if (k <= 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Conv1D: filter width must be positive");
  int64_t eff = (k - 1) * dil + 1, ow, pad = 0;
  if (td_attr_str_eq(nd, "padding", "SAME")) {
    ow = (w + stride - 1) / stride;
    int64_t total = (ow - 1) * stride + eff - w;
    pad = total > 0 ? total / 2 : 0;
  } else if (td_attr_str_eq(nd, "padding", "VALID")) {
    ow = w >= eff ? (w - eff) / stride + 1 : 0;
  } else {
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Conv1D: padding must be SAME or VALID");
  }
  if (ic > INT32_MAX || oc > INT32_MAX) return td_k_fail(c, TD_UNIMPLEMENTED, "Conv1D: too many channels");
  td_shape os = td_shape_make(3, ncw ? (const int64_t[]){n, oc, ow} : (const int64_t[]){n, ow, oc});
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_FLOAT, &os, &out));
  if (td_shape_num_elements(&os) == 0 || ic == 0) return TD_OK;
  const float *x = td_f32(in), *fl = td_f32(f);
  float *o = td_f32(out), *col = malloc((size_t)ic * sizeof *col), *acc = malloc((size_t)oc * sizeof *acc);
  if (!col || !acc) {
    free(col);
    free(acc);
    return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "Conv1D: out of memory");
  }
  for (int64_t b = 0; b < n; b++)
    for (int64_t p = 0; p < ow; p++) {
      memset(acc, 0, (size_t)oc * sizeof *acc);
      for (int64_t t = 0; t < k; t++) {
        int64_t ix = p * stride - pad + t * dil;
        if (ix < 0 || ix >= w) continue;
        for (int64_t ci = 0; ci < ic; ci++) col[ci] = ncw ? x[(b * ic + ci) * w + ix] : x[(b * w + ix) * ic + ci];
        /* acc[oc] += filter[t]^T [ic, oc] . col */
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)ic, (int)oc, 1.0f, fl + t * ic * oc, (int)oc, col, 1, 1.0f, acc, 1);
      }
      for (int64_t q = 0; q < oc; q++) {
        if (ncw) o[(b * oc + q) * ow + p] = acc[q];
        else o[(b * ow + p) * oc + q] = acc[q];
      }
    }
  free(col);
  free(acc);
  return TD_OK;
}

/* ---- CTCGreedyDecoder ---- */

td_code td_k_nn_ctc_greedy_decoder(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *sl = td_k_input(c, 1);
  const td_node *nd = td_k_node(c);
  char b1[96];
  if (in->dtype != TD_DT_FLOAT && in->dtype != TD_DT_DOUBLE)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "inputs must be float or double");
  if (in->shape.rank != 3) return td_k_fail(c, TD_INVALID_ARGUMENT, "inputs is not a 3-Tensor: %s", td_shape_str(&in->shape, b1, sizeof b1));
  if (sl->shape.rank != 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "sequence_length is not a vector");
  int64_t T = in->shape.dim[0], B = in->shape.dim[1], C = in->shape.dim[2];
  if (sl->shape.dim[0] != B)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "len(sequence_length) != batch_size.  len(sequence_length):  %lld batch_size: %lld",
                     (long long)sl->shape.dim[0], (long long)B);
  if (C <= 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "num_classes cannot be 0.");
  int64_t blank = td_attr_int(nd, "blank_index", -1);
  if (blank < 0) blank += C;
  if (blank < 0 || blank >= C) return td_k_fail(c, TD_INVALID_ARGUMENT, "blank_index expected to be between %lld and %lld but was %lld",
                                                (long long)-C, (long long)C - 1, (long long)td_attr_int(nd, "blank_index", -1));
  int merge = td_attr_bool(nd, "merge_repeated", false);
  for (int64_t b = 0; b < B; b++) {
    int64_t L = td_tensor_get_int(sl, b);
    if (L < 0 || L > T)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "sequence_length(%lld) <= %lld", (long long)b, (long long)T);
  }
  int64_t cap = T * B;
  int64_t *vals = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *vals), *lens = calloc((size_t)(B > 0 ? B : 1), sizeof *lens);
  double *lp = calloc((size_t)(B > 0 ? B : 1), sizeof *lp);
  if (!vals || !lens || !lp) {
    free(vals), free(lens), free(lp);
    return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "CTCGreedyDecoder: out of memory");
  }
  int64_t total = 0, maxlen = 0;
  for (int64_t b = 0; b < B; b++) {
    int64_t L = td_tensor_get_int(sl, b), prev = -1;
    for (int64_t t = 0; t < L; t++) {
      int64_t best = 0;
      double bv = td_tensor_get_double(in, (t * B + b) * C);
      for (int64_t k = 1; k < C; k++) {
        double v = td_tensor_get_double(in, (t * B + b) * C + k);
        if (v > bv) bv = v, best = k;
      }
      lp[b] -= bv;
      if (best != blank && !(merge && best == prev)) vals[total++] = best, lens[b]++;
      prev = best;
    }
    if (lens[b] > maxlen) maxlen = lens[b];
  }
  td_tensor *oi, *ov, *os, *ol;
  td_shape si = td_shape_make(2, (const int64_t[]){total, 2}), sv = td_shape_vector(total), ss = td_shape_vector(2);
  td_shape sp = td_shape_make(2, (const int64_t[]){B, 1});
  td_code rc = td_k_alloc_output(c, 0, TD_DT_INT64, &si, &oi);
  if (rc == TD_OK) rc = td_k_alloc_output(c, 1, TD_DT_INT64, &sv, &ov);
  if (rc == TD_OK) rc = td_k_alloc_output(c, 2, TD_DT_INT64, &ss, &os);
  if (rc == TD_OK) rc = td_k_alloc_output(c, 3, in->dtype, &sp, &ol);
  if (rc == TD_OK) {
    int64_t j = 0;
    for (int64_t b = 0; b < B; b++)
      for (int64_t p = 0; p < lens[b]; p++, j++) {
        td_i64(oi)[2 * j] = b;
        td_i64(oi)[2 * j + 1] = p;
        td_i64(ov)[j] = vals[j];
      }
    td_i64(os)[0] = B;
    td_i64(os)[1] = maxlen;
    for (int64_t b = 0; b < B; b++) td_tensor_set_double(ol, b, lp[b]);
  }
  free(vals), free(lens), free(lp);
  return rc;
}

/* ---- LSTMBlockCell ---- */

static float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

td_code td_k_nn_lstm_block_cell(td_kctx *c) {
  const td_tensor *x = td_k_input(c, 0), *csp = td_k_input(c, 1), *hp = td_k_input(c, 2), *w = td_k_input(c, 3);
  const td_tensor *wci = td_k_input(c, 4), *wcf = td_k_input(c, 5), *wco = td_k_input(c, 6), *bias = td_k_input(c, 7);
  const td_node *nd = td_k_node(c);
  char b1[96];
  for (int i = 0; i < 8; i++) TD_TRY(td_nn_require_float(c, td_k_input(c, i), "input"));
  if (x->shape.rank != 2) return td_k_fail(c, TD_INVALID_ARGUMENT, "x must be rank 2: %s", td_shape_str(&x->shape, b1, sizeof b1));
  int64_t B = x->shape.dim[0], in = x->shape.dim[1];
  if (csp->shape.rank != 2 || csp->shape.dim[0] != B)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "cs_prev must be [batch_size, cell_size]: %s", td_shape_str(&csp->shape, b1, sizeof b1));
  int64_t cell = csp->shape.dim[1];
  if (hp->shape.rank != 2 || hp->shape.dim[0] != B || hp->shape.dim[1] != cell)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "h_prev must be [batch_size, cell_size]: %s", td_shape_str(&hp->shape, b1, sizeof b1));
  if (w->shape.rank != 2 || w->shape.dim[0] != in + cell || w->shape.dim[1] != 4 * cell)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "w must be [input_size + cell_size, 4 * cell_size]: %s", td_shape_str(&w->shape, b1, sizeof b1));
  if (bias->shape.rank != 1 || bias->shape.dim[0] != 4 * cell)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "b must be [4 * cell_size]: %s", td_shape_str(&bias->shape, b1, sizeof b1));
  int peep = td_attr_bool(nd, "use_peephole", false);
  if (peep)
    for (int i = 4; i < 7; i++) {
      const td_tensor *p = td_k_input(c, i);
      if (p->shape.rank != 1 || p->shape.dim[0] != cell)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "peephole weights must be [cell_size]: %s", td_shape_str(&p->shape, b1, sizeof b1));
    }
  if (B * 4 * cell > INT32_MAX || in + cell > INT32_MAX) return td_k_fail(c, TD_UNIMPLEMENTED, "LSTMBlockCell: too large");
  float forget_bias = td_attr_float(nd, "forget_bias", 1.0f), clip = td_attr_float(nd, "cell_clip", 3.0f);
  td_shape s = td_shape_make(2, (const int64_t[]){B, cell});
  td_tensor *o[7]; /* i, cs, f, o, ci, co, h */
  for (int i = 0; i < 7; i++) TD_TRY(td_k_alloc_output(c, i, TD_DT_FLOAT, &s, &o[i]));
  if (B == 0 || cell == 0) return TD_OK;
  int64_t k = in + cell;
  float *xh = malloc((size_t)(B * k) * sizeof *xh), *g = malloc((size_t)(B * 4 * cell) * sizeof *g);
  if (!xh || !g) {
    free(xh), free(g);
    return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "LSTMBlockCell: out of memory");
  }
  for (int64_t b = 0; b < B; b++) {
    memcpy(xh + b * k, td_f32(x) + b * in, (size_t)in * sizeof *xh);
    memcpy(xh + b * k + in, td_f32(hp) + b * cell, (size_t)cell * sizeof *xh);
    memcpy(g + b * 4 * cell, td_f32(bias), (size_t)(4 * cell) * sizeof *g);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)(4 * cell), (int)k, 1.0f, xh, (int)k, td_f32(w),
              (int)(4 * cell), 1.0f, g, (int)(4 * cell));
  const float *pi = peep ? td_f32(wci) : NULL, *pf = peep ? td_f32(wcf) : NULL, *po = peep ? td_f32(wco) : NULL;
  for (int64_t b = 0; b < B; b++)
    for (int64_t j = 0; j < cell; j++) {
      const float *gr = g + b * 4 * cell;
      int64_t e = b * cell + j;
      float cprev = td_f32(csp)[e];
      float gi = sigm(gr[j] + (pi ? cprev * pi[j] : 0));
      float gci = tanhf(gr[cell + j]);
      float gf = sigm(gr[2 * cell + j] + forget_bias + (pf ? cprev * pf[j] : 0));
      float cs = gci * gi + cprev * gf;
      if (clip > 0) cs = cs < -clip ? -clip : cs > clip ? clip : cs;
      float go = sigm(gr[3 * cell + j] + (po ? cs * po[j] : 0));
      float co = tanhf(cs);
      td_f32(o[0])[e] = gi, td_f32(o[1])[e] = cs, td_f32(o[2])[e] = gf, td_f32(o[3])[e] = go;
      td_f32(o[4])[e] = gci, td_f32(o[5])[e] = co, td_f32(o[6])[e] = co * go;
    }
  free(xh), free(g);
  return TD_OK;
}
