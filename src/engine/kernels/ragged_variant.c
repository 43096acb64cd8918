/* ragged_variant.c — RaggedTensorToVariant and RaggedTensorFromVariant: a ragged tensor as a
 * DT_VARIANT element (what tf.map_fn and tf.data use to carry ragged rows).
 *
 * The element is a td_resource of kind "ragged" holding references to its nested splits and
 * flat values (immutable tensors, shared, never copied unless a row is cut out). The VARIANT
 * buffer owns one reference (tensor.c releases it). batched_input=true cuts one element per
 * row (rebased splits, the row's values copied); FromVariant stacks elements back, with
 * uniform splits for the outer dims of an N-D variant tensor. Stateless and reentrant.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/ragged_internal.h"
#include "util/mem.h"

static const char kRaggedKind[] = "ragged";

typedef struct ragged_var {
  td_resource base;
  int nsplits;
  td_tensor splits[TD_MAX_RANK];
  td_tensor values;
} ragged_var;

static void rv_destroy(td_resource *r) {
  ragged_var *v = (ragged_var *)r;
  for (int i = 0; i < v->nsplits; i++) td_tensor_release(&v->splits[i]);
  td_tensor_release(&v->values);
  free(v);
}

static ragged_var *rv_new(void) {
  ragged_var *v = td_xcalloc(1, sizeof *v);
  atomic_init(&v->base.refs, 1);
  v->base.kind = kRaggedKind;
  v->base.destroy = rv_destroy;
  return v;
}

/* A new owned tensor holding rows [a, b) of t (dim 0). */
static td_code slice_rows(td_kctx *ctx, const td_tensor *t, int64_t a, int64_t b, td_tensor *out) {
  td_shape sh = t->shape;
  sh.dim[0] = b - a;
  int64_t inner = 1;
  for (int d = 1; d < t->shape.rank; d++) inner *= t->shape.dim[d];
  TD_TRY(td_text_new_tensor(ctx, t->dtype, &sh, out));
  td_ragged_copy(out, 0, t, a * inner, (b - a) * inner);
  return TD_OK;
}

td_code td_k_ragged_tensor_to_variant(td_kctx *ctx) {
  int nlev = td_k_num_inputs(ctx) - 1;
  const td_tensor *values = td_k_input(ctx, nlev);
  if (nlev < 0 || nlev > TD_MAX_RANK - 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Unsupported RAGGED_RANK %d", nlev);
  if (values->shape.rank < 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "rt_dense_values must have rank >= 1");
  for (int l = 0; l < nlev; l++) {
    const td_tensor *next = l + 1 < nlev ? td_k_input(ctx, l + 1) : NULL;
    if (next && next->shape.rank != 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Ragged splits must be a vector");
    TD_TRY(td_ragged_check_splits(ctx, td_k_input(ctx, l), next ? next->shape.dim[0] - 1 : values->shape.dim[0]));
  }
  if (!td_attr_bool(td_k_node(ctx), "batched_input", false)) {
    ragged_var *v = rv_new();
    v->nsplits = nlev;
    for (int l = 0; l < nlev; l++) v->splits[l] = td_tensor_ref(td_k_input(ctx, l));
    v->values = td_tensor_ref(values);
    td_shape sc = td_shape_scalar();
    td_tensor *o;
    td_code rc = td_k_alloc_output(ctx, 0, TD_DT_VARIANT, &sc, &o);
    if (rc == TD_OK) td_tensor_set_resource(o, 0, &v->base);
    td_resource_unref(&v->base);
    return rc;
  }
  if (nlev < 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "ragged_rank must be greater than 0 when batched_input=true");
  const td_tensor *s0 = td_k_input(ctx, 0);
  int64_t nrows = s0->shape.dim[0] - 1;
  td_shape vs = td_shape_vector(nrows);
  td_tensor *o;
  TD_TRY(td_k_alloc_output(ctx, 0, TD_DT_VARIANT, &vs, &o));
  td_code rc = TD_OK;
  for (int64_t r = 0; r < nrows && rc == TD_OK; r++) {
    ragged_var *v = rv_new();
    int64_t a = td_text_split_at(s0, r), b = td_text_split_at(s0, r + 1);
    for (int l = 1; l < nlev && rc == TD_OK; l++) {
      const td_tensor *s = td_k_input(ctx, l);
      td_shape sh = td_shape_vector(b - a + 1);
      rc = td_text_new_tensor(ctx, s->dtype, &sh, &v->splits[l - 1]);
      if (rc != TD_OK) break;
      v->nsplits = l;
      int64_t base = td_text_split_at(s, a);
      for (int64_t k = a; k <= b; k++) td_text_split_set(&v->splits[l - 1], k - a, td_text_split_at(s, k) - base);
      a = base, b = td_text_split_at(s, b);
    }
    if (rc == TD_OK) rc = slice_rows(ctx, values, a, b, &v->values);
    if (rc == TD_OK) td_tensor_set_resource(o, r, &v->base);
    td_resource_unref(&v->base);
  }
  return rc;
}

/* ---------------------------------------------------------------- FromVariant */

static td_code element(td_kctx *ctx, const td_tensor *enc, int64_t i, int rank, td_dtype vdt, const ragged_var **out) {
  const td_resource *r = td_res(enc)[i];
  if (!r || strcmp(r->kind, kRaggedKind))
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Input variant element %" PRId64 " is not a ragged tensor (%s)", i,
                     r ? r->kind : "empty");
  const ragged_var *v = (const ragged_var *)r;
  if (v->nsplits != rank)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Encoded input RaggedTensor has ragged_rank=%d, expected %d", v->nsplits,
                     rank);
  if (v->values.dtype != vdt)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Expected values dtype %s, found %s", td_dtype_name(vdt),
                     td_dtype_name(v->values.dtype));
  if (rank == 0 && v->values.shape.rank < 1)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Encoded values of a ragged_rank 0 element must have rank >= 1");
  *out = v;
  return TD_OK;
}

td_code td_k_ragged_tensor_from_variant(td_kctx *ctx) {
  const td_node *node = td_k_node(ctx);
  const td_tensor *enc = td_k_input(ctx, 0);
  int orr = td_k_num_outputs(ctx) - 1, k = enc->shape.rank;
  int irr = (int)td_attr_int(node, "input_ragged_rank", -1);
  if (irr < 0) irr = orr - k;
  td_dtype vdt = td_attr_type(node, "Tvalues", TD_DT_INVALID), sdt = td_attr_type(node, "Tsplits", TD_DT_INT64);
  if (enc->dtype != TD_DT_VARIANT) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "encoded_ragged must be a variant tensor");
  if (irr < 0 || orr != irr + k)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "output_ragged_rank (%d) must equal input_ragged_rank (%d) + encoded_ragged.rank (%d)",
                     orr, irr, k);
  int64_t n = td_tensor_num_elements(enc);
  const ragged_var **els = calloc((size_t)(n ? n : 1), sizeof *els);
  if (!els) return td_k_fail(ctx, TD_RESOURCE_EXHAUSTED, "RaggedTensorFromVariant: out of memory");
  td_code rc = TD_OK;
  for (int64_t i = 0; i < n && rc == TD_OK; i++) {
    rc = element(ctx, enc, i, irr, vdt, &els[i]);
    for (int l = 0; rc == TD_OK && l < irr; l++)
      if (els[i]->splits[l].dtype != sdt)
        rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "Expected splits dtype %s, found %s", td_dtype_name(sdt),
                       td_dtype_name(els[i]->splits[l].dtype));
    if (rc == TD_OK && i > 0) {
      const td_tensor *a = &els[0]->values, *b = &els[i]->values;
      int same = a->shape.rank == b->shape.rank;
      for (int d = 1; same && d < a->shape.rank; d++) same = a->shape.dim[d] == b->shape.dim[d];
      if (!same) rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "Inner dimensions of flat_values do not match across elements");
    }
  }
  if (rc == TD_OK && k == 0) {
    for (int l = 0; l < irr; l++) td_k_set_output(ctx, l, &els[0]->splits[l]);
    td_k_set_output(ctx, irr, &els[0]->values);
  }
  int at = 0;
  int64_t rows = k > 0 ? enc->shape.dim[0] : 1;
  /* Uniform splits for the outer dims of the encoded tensor. */
  for (int d = 0; rc == TD_OK && k > 0 && d < k - 1; d++) {
    int64_t w = enc->shape.dim[d + 1];
    td_shape sh = td_shape_vector(rows + 1);
    td_tensor *o;
    rc = td_k_alloc_output_uninit(ctx, at++, sdt, &sh, &o);
    for (int64_t r = 0; rc == TD_OK && r <= rows; r++) td_text_split_set(o, r, r * w);
    rows *= w;
  }
  /* Splits over the elements, then each inner level concatenated. */
  for (int l = -1; rc == TD_OK && k > 0 && l < irr; l++) {
    int64_t total = 1;
    for (int64_t i = 0; i < n; i++) total += l < 0 ? 1 : els[i]->splits[l].shape.dim[0] - 1;
    td_shape sh = td_shape_vector(total);
    td_tensor *o;
    rc = td_k_alloc_output_uninit(ctx, at++, sdt, &sh, &o);
    if (rc != TD_OK) break;
    int64_t pos = 0, acc = 0;
    td_text_split_set(o, pos++, 0);
    for (int64_t i = 0; i < n; i++) {
      if (l < 0) {
        /* One row per element: its own row count. */
        acc += irr > 0 ? els[i]->splits[0].shape.dim[0] - 1 : els[i]->values.shape.dim[0];
        td_text_split_set(o, pos++, acc);
      } else {
        const td_tensor *s = &els[i]->splits[l];
        for (int64_t j = 1; j < s->shape.dim[0]; j++) td_text_split_set(o, pos++, acc + td_text_split_at(s, j));
        acc += td_text_split_at(s, s->shape.dim[0] - 1);
      }
    }
  }
  if (rc == TD_OK && k > 0) {
    td_shape vs = n ? els[0]->values.shape : td_shape_vector(0);
    vs.dim[0] = 0;
    for (int64_t i = 0; i < n; i++) vs.dim[0] += els[i]->values.shape.dim[0];
    int64_t inner = 1;
    for (int d = 1; d < vs.rank; d++) inner *= vs.dim[d];
    td_tensor own, *o;
    rc = td_ragged_alloc(ctx, orr, vdt, &vs, &own, &o);
    if (rc == TD_OK) {
      int64_t row = 0;
      for (int64_t i = 0; i < n; i++) {
        int64_t nr = els[i]->values.shape.dim[0];
        td_ragged_copy(o, row * inner, &els[i]->values, 0, nr * inner);
        row += nr;
      }
      rc = td_ragged_finish(ctx, orr, &own, rc);
    }
  }
  free(els);
  return rc;
}
