/* ragged_ops.c — RaggedGather and RaggedRange.
 *
 * RaggedGather gathers rows of a ragged `params` (nested splits + dense values) by `indices`
 * of any rank: the outer indices.rank - 1 dims become uniform splits, then the gathered
 * rows' own nested splits, re-based; a scalar index yields the row itself. RaggedRange builds
 * one range row per (start, limit, delta) (scalars broadcast), TF's size rule
 * ceil((limit - start) / delta) and values accumulated by repeated addition. Stateless.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/ragged_internal.h"
#include "util/mem.h"

/* ---------------------------------------------------------------- RaggedGather */

td_code td_k_ragged_gather(td_kctx *ctx) {
  int nin = td_k_num_inputs(ctx), nout = td_k_num_outputs(ctx);
  int prr = nin - 2, orr = nout - 1;
  const td_tensor *values = td_k_input(ctx, prr), *indices = td_k_input(ctx, prr + 1);
  if (prr < 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "PARAMS_RAGGED_RANK must be positive");
  if (values->shape.rank < 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "params.rank must be nonzero");
  if (indices->dtype != TD_DT_INT32 && indices->dtype != TD_DT_INT64)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "indices must be int32 or int64");
  if (orr != indices->shape.rank - 1 + prr)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Expected OUTPUT_RAGGED_RANK = indices.rank - 1 + PARAMS_RAGGED_RANK = %d, got %d",
                     indices->shape.rank - 1 + prr, orr);
  for (int l = 0; l < prr; l++) {
    int64_t nvals = l + 1 < prr ? td_k_input(ctx, l + 1)->shape.dim[0] - 1 : values->shape.dim[0];
    if (l + 1 < prr && td_k_input(ctx, l + 1)->shape.rank != 1)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Ragged splits must be a vector");
    TD_TRY(td_ragged_check_splits(ctx, td_k_input(ctx, l), nvals));
  }
  const td_tensor *s0 = td_k_input(ctx, 0);
  td_dtype sdt = s0->dtype;
  int64_t nrows = s0->shape.dim[0] - 1, ni = td_tensor_num_elements(indices);
  for (int64_t i = 0; i < ni; i++) {
    int64_t ix = td_tensor_get_int(indices, i);
    if (ix < 0 || ix >= nrows)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "indices[%" PRId64 "] = %" PRId64 " is not in [0, %" PRId64 ")", i, ix, nrows);
  }
  int outer = indices->shape.rank > 0 ? indices->shape.rank - 1 : 0;
  int out_at = 0;
  /* Uniform splits for the outer index dims. */
  int64_t rows = indices->shape.rank > 0 ? indices->shape.dim[0] : 1;
  for (int d = 0; d < outer; d++) {
    int64_t w = indices->shape.dim[d + 1];
    td_shape sh = td_shape_vector(rows + 1);
    td_tensor *o;
    TD_TRY(td_k_alloc_output_uninit(ctx, out_at++, sdt, &sh, &o));
    for (int64_t r = 0; r <= rows; r++) td_text_split_set(o, r, r * w);
    rows *= w;
  }
  /* Gathered levels: ranges [lo[i], hi[i]) per gathered item, level by level. */
  int64_t *lo = malloc((size_t)(ni ? ni : 1) * sizeof *lo), *hi = malloc((size_t)(ni ? ni : 1) * sizeof *hi);
  if (!lo || !hi) {
    free(lo), free(hi);
    return td_k_fail(ctx, TD_RESOURCE_EXHAUSTED, "RaggedGather: out of memory");
  }
  for (int64_t i = 0; i < ni; i++) lo[i] = td_tensor_get_int(indices, i), hi[i] = lo[i] + 1;
  td_code rc = TD_OK;
  for (int l = 0; l < prr && rc == TD_OK; l++) {
    const td_tensor *s = td_k_input(ctx, l);
    int emit = indices->shape.rank > 0 || l > 0; /* a scalar index drops the first level */
    int64_t total = 0;
    td_tensor *o = NULL;
    if (emit) {
      int64_t cnt = 0;
      for (int64_t i = 0; i < ni; i++) cnt += hi[i] - lo[i];
      td_shape sh = td_shape_vector(cnt + 1);
      rc = td_k_alloc_output_uninit(ctx, out_at++, sdt, &sh, &o);
      if (rc != TD_OK) break;
      td_text_split_set(o, 0, 0);
    }
    int64_t k = 0;
    for (int64_t i = 0; i < ni; i++) {
      for (int64_t r = lo[i]; r < hi[i]; r++) {
        total += td_text_split_at(s, r + 1) - td_text_split_at(s, r);
        if (o) td_text_split_set(o, ++k, total);
      }
      int64_t a = td_text_split_at(s, lo[i]), b = td_text_split_at(s, hi[i]);
      lo[i] = a, hi[i] = b;
    }
  }
  if (rc == TD_OK) {
    int64_t inner = 1, cnt = 0;
    for (int d = 1; d < values->shape.rank; d++) inner *= values->shape.dim[d];
    for (int64_t i = 0; i < ni; i++) cnt += hi[i] - lo[i];
    td_shape vs = values->shape;
    vs.dim[0] = cnt;
    td_tensor own, *o;
    rc = td_ragged_alloc(ctx, orr, values->dtype, &vs, &own, &o);
    if (rc == TD_OK) {
      int64_t at = 0;
      for (int64_t i = 0; i < ni; i++) {
        td_ragged_copy(o, at * inner, values, lo[i] * inner, (hi[i] - lo[i]) * inner);
        at += hi[i] - lo[i];
      }
      rc = td_ragged_finish(ctx, orr, &own, rc);
    }
  }
  free(lo), free(hi);
  return rc;
}

/* ---------------------------------------------------------------- RaggedRange */

td_code td_k_ragged_range(td_kctx *ctx) {
  const td_tensor *in[3] = {td_k_input(ctx, 0), td_k_input(ctx, 1), td_k_input(ctx, 2)};
  static const char *names[3] = {"starts", "limits", "deltas"};
  td_dtype dt = in[0]->dtype;
  int is_int = dt == TD_DT_INT32 || dt == TD_DT_INT64;
  if (!is_int && dt != TD_DT_FLOAT && dt != TD_DT_DOUBLE)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "RaggedRange: unsupported type %s", td_dtype_name(dt));
  int64_t nrows = 1;
  int have_vec = 0;
  for (int k = 0; k < 3; k++) {
    if (in[k]->shape.rank > 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "%s must be a scalar or vector", names[k]);
    if (in[k]->shape.rank == 1) {
      if (have_vec && in[k]->shape.dim[0] != nrows)
        return td_k_fail(ctx, TD_INVALID_ARGUMENT, "starts, limits, and deltas must have the same shape");
      nrows = in[k]->shape.dim[0];
      have_vec = 1;
    }
  }
  td_dtype sdt = td_attr_type(td_k_node(ctx), "Tsplits", TD_DT_INT64);
  td_shape sshape = td_shape_vector(nrows + 1);
  td_tensor *splits;
  TD_TRY(td_k_alloc_output_uninit(ctx, 0, sdt, &sshape, &splits));
  td_text_split_set(splits, 0, 0);
  int64_t total = 0;
  for (int64_t r = 0; r < nrows; r++) {
    int64_t size;
    if (is_int) {
      int64_t s = td_tensor_get_int(in[0], in[0]->shape.rank ? r : 0), l = td_tensor_get_int(in[1], in[1]->shape.rank ? r : 0),
              d = td_tensor_get_int(in[2], in[2]->shape.rank ? r : 0);
      if (d == 0) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Requires delta != 0");
      if ((d > 0 && l < s) || (d < 0 && l > s)) size = 0;
      else {
        uint64_t span = l > s ? (uint64_t)l - (uint64_t)s : (uint64_t)s - (uint64_t)l;
        uint64_t ad = d > 0 ? (uint64_t)d : (uint64_t)0 - (uint64_t)d;
        uint64_t q = span / ad + (span % ad != 0);
        if (q > (uint64_t)INT64_MAX) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "The total range size overflowed.");
        size = (int64_t)q;
      }
    } else {
      double s = td_tensor_get_double(in[0], in[0]->shape.rank ? r : 0), l = td_tensor_get_double(in[1], in[1]->shape.rank ? r : 0),
             d = td_tensor_get_double(in[2], in[2]->shape.rank ? r : 0);
      if (d == 0) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Requires delta != 0");
      if ((d > 0 && l < s) || (d < 0 && l > s)) size = 0;
      else {
        double f = dt == TD_DT_FLOAT ? ceil(fabs((double)(((float)l - (float)s) / (float)d))) : ceil(fabs((l - s) / d));
        if (!(f < 1e15)) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Requires ((limit - start) / delta) <= 2^53");
        size = (int64_t)f;
      }
    }
    if (size > INT64_MAX - total || (sdt == TD_DT_INT32 && total + size > INT32_MAX))
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "The total range size overflowed.");
    total += size;
    td_text_split_set(splits, r + 1, total);
  }
  td_shape vshape = td_shape_vector(total);
  td_tensor *vals;
  TD_TRY(td_k_alloc_output_uninit(ctx, 1, dt, &vshape, &vals));
  for (int64_t r = 0; r < nrows; r++) {
    int64_t a = td_text_split_at(splits, r), b = td_text_split_at(splits, r + 1);
    if (is_int) {
      int64_t v = td_tensor_get_int(in[0], in[0]->shape.rank ? r : 0), d = td_tensor_get_int(in[2], in[2]->shape.rank ? r : 0);
      for (int64_t j = a; j < b; j++, v = (int64_t)((uint64_t)v + (uint64_t)d)) {
        if (dt == TD_DT_INT32) td_i32(vals)[j] = (int32_t)v;
        else td_i64(vals)[j] = v;
      }
    } else if (dt == TD_DT_FLOAT) {
      float v = (float)td_tensor_get_double(in[0], in[0]->shape.rank ? r : 0), d = (float)td_tensor_get_double(in[2], in[2]->shape.rank ? r : 0);
      for (int64_t j = a; j < b; j++, v += d) td_f32(vals)[j] = v;
    } else {
      double v = td_tensor_get_double(in[0], in[0]->shape.rank ? r : 0), d = td_tensor_get_double(in[2], in[2]->shape.rank ? r : 0);
      for (int64_t j = a; j < b; j++, v += d) td_f64(vals)[j] = v;
    }
  }
  return TD_OK;
}
