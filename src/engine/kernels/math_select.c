/* math_select.c — three-operand element-wise ops: Select, SelectV2 and ClipByValue.
 *
 * Select/SelectV2 only move elements, so their rows are stamped per element size (1, 2, 4, 8
 * or 16 bytes) rather than per dtype; STRING tensors are selected shallowly into a scratch
 * array and then deep-copied into the output. ClipByValue computes max(min(t, hi), lo) like
 * TF, per dtype. Both ride on td_bcast: inner strides are 0/1 flags, so a row indexes each
 * operand with i * flag.
 * Invariants: output shapes come from td_bcast (or Select's own rules) before any element is
 * read; no operand is read outside its shape.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/math_internal.h"
#include "util/mem.h"

typedef struct { uint64_t lo, hi; } td_u128;

typedef void (*select_row_fn)(const uint8_t *c, int sc, const void *t, int st, const void *e,
                              int se, void *o, int64_t n);

#define SELECT_ROW(name, T)                                                                \
  static void name(const uint8_t *c, int sc, const void *pt, int st, const void *pe,      \
                   int se, void *po, int64_t n) {                                          \
    const T *t = pt, *e = pe;                                                              \
    T *o = po;                                                                             \
    if (sc && st && se) {                                                                  \
      for (int64_t i = 0; i < n; i++) o[i] = c[i] ? t[i] : e[i];                           \
    } else {                                                                               \
      for (int64_t i = 0; i < n; i++) o[i] = c[i * sc] ? t[i * st] : e[i * se];            \
    }                                                                                      \
  }
SELECT_ROW(select_row1, uint8_t)
SELECT_ROW(select_row2, uint16_t)
SELECT_ROW(select_row4, uint32_t)
SELECT_ROW(select_row8, uint64_t)
SELECT_ROW(select_row16, td_u128)

static select_row_fn select_row_for(size_t esize) {
  switch (esize) {
    case 1: return select_row1;
    case 2: return select_row2;
    case 4: return select_row4;
    case 8: return select_row8;
    case 16: return select_row16;
    default: return NULL;
  }
}

static int select_cb(void *arg, const void *const *in, const int *inner, void *out, int64_t n) {
  select_row_fn fn = *(const select_row_fn *)arg;
  fn(in[0], inner[0], in[1], inner[1], in[2], inner[2], out, n);
  return 0;
}

/* Runs the walk into `out` (or, for strings, into scratch and then deep copies). */
static td_code select_run(td_kctx *c, const td_bcast *bc, const td_tensor *cond,
                          const td_tensor *t, const td_tensor *e, td_tensor *out) {
  size_t es = td_dtype_size(t->dtype);
  select_row_fn fn = select_row_for(es);
  if (!fn || t->dtype == TD_DT_RESOURCE || t->dtype == TD_DT_VARIANT)
    return td_math_fail_dtype(c, "T", t->dtype);
  if (bc->nout == 0) return TD_OK;
  const void *in[3] = {cond->data, t->data, e->data};
  size_t esz[3] = {1, es, es};
  if (t->dtype != TD_DT_STRING) {
    td_bcast_rows(bc, in, esz, out->data, es, select_cb, &fn);
    return TD_OK;
  }
  td_string *tmp = td_xcalloc((size_t)bc->nout, sizeof *tmp);
  td_bcast_rows(bc, in, esz, tmp, es, select_cb, &fn);
  for (int64_t i = 0; i < bc->nout; i++) td_tensor_set_string(out, i, tmp[i].data, tmp[i].len);
  free(tmp);
  return TD_OK;
}

static td_code check_select_types(td_kctx *c, const td_tensor *cond, const td_tensor *t,
                                  const td_tensor *e) {
  if (cond->dtype != TD_DT_BOOL)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "condition must be bool, got %s",
                     td_dtype_name(cond->dtype));
  if (t->dtype != e->dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "'then' and 'else' must have the same type: %s vs. %s",
                     td_dtype_name(t->dtype), td_dtype_name(e->dtype));
  return TD_OK;
}

/* Select (TF1): condition is a scalar, has t's shape, or is a vector over t's first dim. */
td_code td_k_math_select(td_kctx *c) {
  const td_tensor *cond = td_k_input(c, 0), *t = td_k_input(c, 1), *e = td_k_input(c, 2);
  TD_TRY(check_select_types(c, cond, t, e));
  char s1[TD_MATH_SHAPE_BUF], s2[TD_MATH_SHAPE_BUF];
  if (!td_shape_equal(&t->shape, &e->shape))
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "'then' and 'else' must have the same size.  but received: %s vs. %s",
                     td_math_shape_str(&t->shape, s1), td_math_shape_str(&e->shape, s2));
  td_shape cshape = cond->shape;
  if (cond->shape.rank == 1 && t->shape.rank > 1) {
    if (cond->shape.dim[0] != t->shape.dim[0])
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Number of batches of 'then' must match size of 'condition', but saw: "
                       "%lld vs. %lld",
                       (long long)t->shape.dim[0], (long long)cond->shape.dim[0]);
    /* [B] acts as [B,1,...,1] */
    cshape.rank = t->shape.rank;
    for (int i = 1; i < cshape.rank; i++) cshape.dim[i] = 1;
  } else if (cond->shape.rank != 0 && !td_shape_equal(&cond->shape, &t->shape)) {
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "'condition' must be a scalar, a vector or have the same shape as 'then': "
                     "%s vs. %s",
                     td_math_shape_str(&cond->shape, s1), td_math_shape_str(&t->shape, s2));
  }
  td_bcast bc;
  const td_shape *sh[3] = {&cshape, &t->shape, &e->shape};
  if (td_bcast_init(&bc, 3, sh) != 0)
    return td_k_fail(c, TD_INTERNAL, "Select: unexpected broadcast failure");
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, t->dtype, &bc.out, &out));
  return select_run(c, &bc, cond, t, e, out);
}

/* SelectV2: all three broadcast together. */
td_code td_k_math_select_v2(td_kctx *c) {
  const td_tensor *cond = td_k_input(c, 0), *t = td_k_input(c, 1), *e = td_k_input(c, 2);
  TD_TRY(check_select_types(c, cond, t, e));
  td_bcast bc;
  const td_shape *sh[3] = {&cond->shape, &t->shape, &e->shape};
  if (td_bcast_init(&bc, 3, sh) != 0) {
    char s1[TD_MATH_SHAPE_BUF], s2[TD_MATH_SHAPE_BUF], s3[TD_MATH_SHAPE_BUF];
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "condition %s, then %s, and else %s must be broadcastable",
                     td_math_shape_str(&cond->shape, s1), td_math_shape_str(&t->shape, s2),
                     td_math_shape_str(&e->shape, s3));
  }
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, t->dtype, &bc.out, &out));
  return select_run(c, &bc, cond, t, e, out);
}

/* ---- ClipByValue ---- */
typedef void (*clip_row_fn)(const void *t, int st, const void *lo, int sl, const void *hi,
                            int sh, void *o, int64_t n);

#define CLIP_ROW(name, S, C, LD, ST)                                                       \
  static void name(const void *pt, int st, const void *pl, int sl, const void *ph, int sh, \
                   void *po, int64_t n) {                                                  \
    const S *t = pt, *lo = pl, *hi = ph;                                                   \
    S *o = po;                                                                             \
    for (int64_t i = 0; i < n; i++) {                                                      \
      C x = LD(t[i * st]), l = LD(lo[i * sl]), h = LD(hi[i * sh]);                         \
      C v = x < h ? x : h;                                                                 \
      o[i] = ST(v > l ? v : l);                                                            \
    }                                                                                      \
  }
#define CLIP_F(arg, tag, DT, S, C, LD, ST) CLIP_ROW(clip_##tag, S, C, LD, ST)
#define CLIP_I(arg, tag, DT, T, UW, SG) CLIP_ROW(clip_##tag, T, T, TD_MATH_ID, TD_MATH_ID)
#define CLIP_ENTRY(arg, tag, DT, ...) [DT] = clip_##tag,
TD_MATH_FLOATS(CLIP_F, _)
TD_MATH_INTS(CLIP_I, _)
static const clip_row_fn clip_rows[TD_MATH_NDT] = {TD_MATH_FLOATS(CLIP_ENTRY, _)
                                                       TD_MATH_INTS(CLIP_ENTRY, _)};

static int clip_cb(void *arg, const void *const *in, const int *inner, void *out, int64_t n) {
  clip_row_fn fn = *(const clip_row_fn *)arg;
  fn(in[0], inner[0], in[1], inner[1], in[2], inner[2], out, n);
  return 0;
}

td_code td_k_math_clip_by_value(td_kctx *c) {
  const td_tensor *t = td_k_input(c, 0), *lo = td_k_input(c, 1), *hi = td_k_input(c, 2);
  td_dtype dt = t->dtype;
  if (lo->dtype != dt || hi->dtype != dt)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "ClipByValue inputs must all have type %s",
                     td_dtype_name(dt));
  if (!td_math_dt_index_ok(dt) || !clip_rows[dt]) return td_math_fail_dtype(c, "T", dt);
  char s1[TD_MATH_SHAPE_BUF], s2[TD_MATH_SHAPE_BUF], s3[TD_MATH_SHAPE_BUF];
  for (int k = 1; k < 3; k++) {
    const td_tensor *b = td_k_input(c, k);
    if (b->shape.rank != 0 && !td_shape_equal(&b->shape, &t->shape))
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "clip_value_min and clip_value_max must be either scalars or have the "
                       "same shape as t: t.shape = %s, clip_value_min.shape = %s, "
                       "clip_value_max.shape = %s",
                       td_math_shape_str(&t->shape, s1), td_math_shape_str(&lo->shape, s2),
                       td_math_shape_str(&hi->shape, s3));
  }
  td_bcast bc;
  const td_shape *sh[3] = {&t->shape, &lo->shape, &hi->shape};
  if (td_bcast_init(&bc, 3, sh) != 0)
    return td_k_fail(c, TD_INTERNAL, "ClipByValue: unexpected broadcast failure");
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, dt, &bc.out, &out));
  const void *in[3] = {t->data, lo->data, hi->data};
  size_t es = td_dtype_size(dt), esz[3] = {es, es, es};
  clip_row_fn fn = clip_rows[dt];
  td_bcast_rows(&bc, in, esz, out->data, es, clip_cb, &fn);
  return TD_OK;
}
