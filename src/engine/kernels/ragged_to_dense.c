/* ragged_to_dense.c — RaggedTensorToTensor and RaggedTensorToSparse.
 *
 * RaggedTensorToTensor: row partitions are ROW_SPLITS or VALUE_ROWIDS per ragged level, the
 * first optionally FIRST_DIM_SIZE (a scalar row count). Each level maps its children to
 * (parent, position); an element lands at the output position built from those, and is
 * dropped when a position exceeds the requested `shape` (truncation, as TF). Unspecified dims
 * (-1, or a scalar shape) take the natural size (the longest row). The rest is filled with
 * default_value, broadcast (numpy rules) to one value row's shape. Stateless and reentrant.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/ragged_internal.h"
#include "util/mem.h"

typedef enum { PART_SPLITS, PART_ROWIDS, PART_FIRST_DIM } part_kind;

static td_code partition_kind(td_kctx *ctx, size_t i, part_kind *k) {
  const Tensorflow__AttrValue *a = td_node_attr(td_k_node(ctx), "row_partition_types");
  if (!a || a->value_case != TENSORFLOW__ATTR_VALUE__VALUE_LIST || !a->list || i >= a->list->n_s)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "row_partition_types must name every row partition tensor");
  const ProtobufCBinaryData *s = &a->list->s[i];
  if (s->len == 10 && !memcmp(s->data, "ROW_SPLITS", 10)) *k = PART_SPLITS;
  else if (s->len == 12 && !memcmp(s->data, "VALUE_ROWIDS", 12)) *k = PART_ROWIDS;
  else if (s->len == 14 && !memcmp(s->data, "FIRST_DIM_SIZE", 14)) *k = PART_FIRST_DIM;
  else return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Unknown row partition type: %.*s", (int)s->len, (const char *)s->data);
  return TD_OK;
}

/* One ragged level: for each child, its parent and its position inside the parent. */
typedef struct level {
  int64_t nchild, max_len;
  int64_t *parent, *pos;
} level;

static td_code build_level(td_kctx *ctx, part_kind k, const td_tensor *t, int64_t nparents, level *lv) {
  if ((t->dtype != TD_DT_INT32 && t->dtype != TD_DT_INT64) || t->shape.rank != 1)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Row partition tensors must be int32 or int64 vectors");
  int64_t n = t->shape.dim[0];
  if (k == PART_SPLITS) {
    if (n != nparents + 1)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Row splits of size %" PRId64 " do not match %" PRId64 " rows", n, nparents);
    if (td_text_split_at(t, 0) != 0) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Ragged splits must start with 0.");
    for (int64_t r = 0; r < nparents; r++)
      if (td_text_split_at(t, r + 1) < td_text_split_at(t, r))
        return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Ragged splits must be sorted in ascending order.");
    lv->nchild = td_text_split_at(t, nparents);
  } else {
    lv->nchild = n;
  }
  lv->parent = malloc((size_t)(lv->nchild ? lv->nchild : 1) * sizeof *lv->parent);
  lv->pos = malloc((size_t)(lv->nchild ? lv->nchild : 1) * sizeof *lv->pos);
  if (!lv->parent || !lv->pos) return td_k_fail(ctx, TD_RESOURCE_EXHAUSTED, "RaggedTensorToTensor: out of memory");
  lv->max_len = 0;
  if (k == PART_SPLITS) {
    for (int64_t r = 0; r < nparents; r++) {
      int64_t a = td_text_split_at(t, r), b = td_text_split_at(t, r + 1);
      for (int64_t j = a; j < b; j++) lv->parent[j] = r, lv->pos[j] = j - a;
      if (b - a > lv->max_len) lv->max_len = b - a;
    }
    return TD_OK;
  }
  int64_t prev = -1, run = 0;
  for (int64_t j = 0; j < n; j++) {
    int64_t r = td_text_split_at(t, j);
    if (r < prev) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "value_rowids must be sorted in ascending order");
    if (r < 0 || r >= nparents)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "value_rowids[%" PRId64 "] = %" PRId64 " is not in [0, %" PRId64 ")", j, r,
                       nparents);
    run = r == prev ? run + 1 : 0;
    prev = r;
    lv->parent[j] = r, lv->pos[j] = run;
    if (run + 1 > lv->max_len) lv->max_len = run + 1;
  }
  return TD_OK;
}

static void free_levels(level *lv, int n) {
  for (int i = 0; i < n; i++) free(lv[i].parent), free(lv[i].pos);
}

td_code td_k_ragged_tensor_to_tensor(td_kctx *ctx) {
  const td_tensor *shape_t = td_k_input(ctx, 0), *values = td_k_input(ctx, 1), *dflt = td_k_input(ctx, 2);
  int nparts = td_k_num_inputs(ctx) - 3;
  char b1[64], b2[64];
  if (nparts < 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "RaggedTensorToTensor needs at least one row partition");
  if (values->shape.rank < 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "values must have rank >= 1");
  part_kind k0;
  TD_TRY(partition_kind(ctx, 0, &k0));
  int first = 0;
  int64_t nrows;
  if (k0 == PART_FIRST_DIM) {
    const td_tensor *t = td_k_input(ctx, 3);
    if (td_tensor_num_elements(t) != 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "FIRST_DIM_SIZE must be a scalar");
    nrows = td_tensor_get_int(t, 0);
    first = 1;
  } else if (k0 == PART_SPLITS) {
    const td_tensor *t = td_k_input(ctx, 3);
    if (t->shape.rank != 1 || t->shape.dim[0] < 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Ragged splits may not be empty.");
    nrows = t->shape.dim[0] - 1;
  } else {
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "The first row partition must be ROW_SPLITS or FIRST_DIM_SIZE");
  }
  int nlev = nparts - first;
  int out_rank = 1 + nlev + values->shape.rank - 1;
  if (nlev < 1 || out_rank > TD_MAX_RANK)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Unsupported ragged rank %d with values of rank %d", nlev, values->shape.rank);
  level lv[TD_MAX_RANK] = {0};
  td_code rc = TD_OK;
  int64_t parents = nrows;
  for (int l = 0; l < nlev && rc == TD_OK; l++) {
    part_kind k;
    rc = partition_kind(ctx, (size_t)(first + l), &k);
    if (rc == TD_OK && k == PART_FIRST_DIM) rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "FIRST_DIM_SIZE must come first");
    if (rc == TD_OK) rc = build_level(ctx, k, td_k_input(ctx, 3 + first + l), parents, &lv[l]);
    if (rc == TD_OK) parents = lv[l].nchild;
  }
  if (rc == TD_OK && parents != values->shape.dim[0])
    rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "The row partitions describe %" PRId64 " values, but values has %" PRId64,
                   parents, values->shape.dim[0]);
  /* Output shape: natural sizes, overridden by `shape` where given. */
  td_shape out = {.rank = out_rank};
  out.dim[0] = nrows;
  for (int l = 0; l < nlev; l++) out.dim[1 + l] = lv[l].max_len;
  for (int d = 1; d < values->shape.rank; d++) out.dim[nlev + d] = values->shape.dim[d];
  if (rc == TD_OK && shape_t->shape.rank == 1) {
    if (shape_t->shape.dim[0] != out_rank)
      rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "shape must have %d elements (the ragged tensor's rank), got %" PRId64,
                     out_rank, shape_t->shape.dim[0]);
    for (int d = 0; d < out_rank && rc == TD_OK; d++) {
      int64_t v = td_tensor_get_int(shape_t, d);
      if (v < -1) rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "shape[%d] = %" PRId64 " is negative", d, v);
      else if (v >= 0 && d > nlev && v != values->shape.dim[d - nlev])
        rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "values shape %s is incompatible with the requested shape (dimension %d = %" PRId64 ")",
                       td_shape_str(&values->shape, b1, sizeof b1), d, v);
      else if (v >= 0) out.dim[d] = v;
    }
  } else if (rc == TD_OK && shape_t->shape.rank > 1) {
    rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "shape must be a scalar or vector, got %s", td_shape_str(&shape_t->shape, b1, sizeof b1));
  }
  /* default_value broadcasts (numpy rules) to one value row's shape, values.shape[1:]. */
  int64_t inner = 1;
  for (int d = 1; d < values->shape.rank; d++) inner *= values->shape.dim[d];
  if (rc == TD_OK && dflt->dtype != values->dtype)
    rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "default_value is %s but values are %s", td_dtype_name(dflt->dtype),
                   td_dtype_name(values->dtype));
  int vr = values->shape.rank - 1, dr = dflt->shape.rank;
  int bad = dr > vr;
  for (int j = 0; !bad && j < dr; j++) {
    int64_t e = dflt->shape.dim[j], v = values->shape.dim[1 + vr - dr + j];
    bad = e != 1 && e != v;
  }
  if (rc == TD_OK && bad)
    rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "default_value.shape=%s and rt_input.flat_values.shape=%s are incompatible",
                   td_shape_str(&dflt->shape, b1, sizeof b1), td_shape_str(&values->shape, b2, sizeof b2));
  int64_t *dmap = rc == TD_OK ? malloc((size_t)(inner ? inner : 1) * sizeof *dmap) : NULL;
  if (rc == TD_OK && !dmap) rc = td_k_fail(ctx, TD_RESOURCE_EXHAUSTED, "RaggedTensorToTensor: out of memory");
  for (int64_t e = 0; rc == TD_OK && e < inner; e++) {
    /* Element e of a value row → the default_value element it takes. */
    int64_t rem = e, idx = 0, stride = 1;
    for (int j = vr - 1; j >= 0; j--) {
      int64_t vd = values->shape.dim[1 + j], coord = rem % vd;
      rem /= vd;
      int dj = j - (vr - dr);
      if (dj >= 0) {
        if (dflt->shape.dim[dj] != 1) idx += coord * stride;
        stride *= dflt->shape.dim[dj];
      }
    }
    dmap[e] = idx;
  }
  if (rc != TD_OK) {
    free(dmap);
    free_levels(lv, nlev);
    return rc;
  }
  td_tensor own, *o;
  rc = td_ragged_alloc(ctx, 0, values->dtype, &out, &own, &o);
  if (rc != TD_OK) {
    free(dmap);
    free_levels(lv, nlev);
    return rc;
  }
  int64_t total_rows = inner ? td_shape_num_elements(&out) / inner : 0;
  for (int64_t r = 0; r < total_rows; r++)
    for (int64_t e = 0; e < inner; e++) td_ragged_copy(o, r * inner + e, dflt, dmap[e], 1);
  free(dmap);
  /* Output row index of every item, level by level (-1 = truncated away). */
  int64_t *cur = malloc((size_t)(nrows > 0 ? nrows : 1) * sizeof *cur);
  for (int64_t r = 0; cur && r < nrows; r++) cur[r] = r < out.dim[0] ? r : -1;
  for (int l = 0; cur && l < nlev; l++) {
    int64_t *next = malloc((size_t)(lv[l].nchild ? lv[l].nchild : 1) * sizeof *next);
    for (int64_t j = 0; next && j < lv[l].nchild; j++) {
      int64_t p = cur[lv[l].parent[j]], c = lv[l].pos[j];
      next[j] = p < 0 || c >= out.dim[1 + l] ? -1 : p * out.dim[1 + l] + c;
    }
    free(cur);
    cur = next;
  }
  if (!cur) rc = td_k_fail(ctx, TD_RESOURCE_EXHAUSTED, "RaggedTensorToTensor: out of memory");
  for (int64_t v = 0; rc == TD_OK && v < values->shape.dim[0]; v++)
    if (cur[v] >= 0) td_ragged_copy(o, cur[v] * inner, values, v * inner, inner);
  free(cur);
  free_levels(lv, nlev);
  return td_ragged_finish(ctx, 0, &own, rc);
}

/* ---------------------------------------------------------------- RaggedTensorToSparse */

td_code td_k_ragged_tensor_to_sparse(td_kctx *ctx) {
  int nlev = td_k_num_inputs(ctx) - 1;
  const td_tensor *values = td_k_input(ctx, nlev);
  if (nlev < 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Requires RAGGED_RANK>0");
  if (values->shape.rank < 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "rt_dense_values must have rank >= 1");
  int rank = nlev + values->shape.rank;
  if (rank > TD_MAX_RANK) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "RaggedTensorToSparse: rank %d too large", rank);
  /* Validate: each level's splits end at the next level's size. */
  for (int l = 0; l < nlev; l++) {
    const td_tensor *s = td_k_input(ctx, l);
    int64_t nvals = l + 1 < nlev ? td_k_input(ctx, l + 1)->shape.dim[0] - 1 : values->shape.dim[0];
    if (l + 1 < nlev && td_k_input(ctx, l + 1)->shape.rank != 1)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Ragged splits must be a vector");
    TD_TRY(td_ragged_check_splits(ctx, s, nvals));
  }
  int64_t inner = 1;
  for (int d = 1; d < values->shape.rank; d++) inner *= values->shape.dim[d];
  int64_t nrows_v = values->shape.dim[0], n = nrows_v * inner;
  /* Dense shape. */
  td_shape dshape = td_shape_vector(rank);
  td_tensor *dense;
  TD_TRY(td_k_alloc_output_uninit(ctx, 2, TD_DT_INT64, &dshape, &dense));
  td_i64(dense)[0] = td_k_input(ctx, 0)->shape.dim[0] - 1;
  for (int l = 0; l < nlev; l++) {
    const td_tensor *s = td_k_input(ctx, l);
    int64_t mx = 0;
    for (int64_t r = 0; r + 1 < s->shape.dim[0]; r++) {
      int64_t len = td_text_split_at(s, r + 1) - td_text_split_at(s, r);
      if (len > mx) mx = len;
    }
    td_i64(dense)[1 + l] = mx;
  }
  for (int d = 1; d < values->shape.rank; d++) td_i64(dense)[nlev + d] = values->shape.dim[d];
  /* Indices: walk the splits like an odometer over the ragged prefix of each value row. */
  td_shape ishape = td_shape_make(2, (int64_t[]){n, rank});
  td_tensor *idx;
  TD_TRY(td_k_alloc_output_uninit(ctx, 0, TD_DT_INT64, &ishape, &idx));
  int64_t prefix[TD_MAX_RANK] = {0};
  int64_t row_of[TD_MAX_RANK] = {0}; /* current item index at each level */
  /* Recursive descent done iteratively: for each level l, item row_of[l] of that level. */
  int64_t out_at = 0;
  const td_tensor *s0 = td_k_input(ctx, 0);
  int64_t nrows = s0->shape.dim[0] - 1;
  /* Depth-first over the nested splits. */
  int64_t stack_pos[TD_MAX_RANK + 1], stack_end[TD_MAX_RANK + 1];
  int depth = 0;
  stack_pos[0] = 0, stack_end[0] = nrows;
  while (depth >= 0) {
    if (stack_pos[depth] >= stack_end[depth]) {
      depth--;
      if (depth >= 0) stack_pos[depth]++;
      continue;
    }
    int64_t item = stack_pos[depth];
    prefix[depth] = item - (depth == 0 ? 0 : td_text_split_at(td_k_input(ctx, depth - 1), row_of[depth - 1]));
    row_of[depth] = item;
    if (depth == nlev) {
      /* item is a value row: emit its inner elements. */
      for (int64_t e = 0; e < inner; e++) {
        int64_t *ix = td_i64(idx) + (out_at + e) * rank;
        for (int d = 0; d <= nlev; d++) ix[d] = prefix[d];
        int64_t rem = e;
        for (int d = values->shape.rank - 1; d >= 1; d--) {
          ix[nlev + d] = rem % values->shape.dim[d];
          rem /= values->shape.dim[d];
        }
      }
      out_at += inner;
      stack_pos[depth]++;
      continue;
    }
    const td_tensor *s = td_k_input(ctx, depth);
    depth++;
    stack_pos[depth] = td_text_split_at(s, item);
    stack_end[depth] = td_text_split_at(s, item + 1);
  }
  td_shape vshape = td_shape_vector(n);
  td_tensor own, *o;
  TD_TRY(td_ragged_alloc(ctx, 1, values->dtype, &vshape, &own, &o));
  td_ragged_copy(o, 0, values, 0, n);
  return td_ragged_finish(ctx, 1, &own, TD_OK);
}
