/* math_test_util.h — helpers shared by the math kernel tests (test_math_*.c): random tensors
 * of any real dtype, numpy-broadcast index mapping for reference loops, running one op
 * through the engine, and tolerance checks per dtype. Header-only (static functions); include
 * after cmocka.h. */
#ifndef TD_TEST_MATH_TEST_UTIL_H
#define TD_TEST_MATH_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/testing.h"

static uint64_t mt_rng = 0x9e3779b97f4a7c15ull;
static inline uint64_t mt_next(void) {
  mt_rng ^= mt_rng << 13;
  mt_rng ^= mt_rng >> 7;
  mt_rng ^= mt_rng << 17;
  return mt_rng;
}
/* uniform double in [lo, hi) */
static inline double mt_uniform(double lo, double hi) {
  return lo + (hi - lo) * ((double)(mt_next() >> 11) / 9007199254740992.0);
}
static inline int64_t mt_int(int64_t lo, int64_t hi) { /* inclusive */
  return lo + (int64_t)(mt_next() % (uint64_t)(hi - lo + 1));
}

static inline int mt_is_float(td_dtype dt) {
  return dt == TD_DT_FLOAT || dt == TD_DT_DOUBLE || dt == TD_DT_HALF || dt == TD_DT_BFLOAT16;
}

static inline td_tensor mt_tensor(td_dtype dt, int rank, const int64_t *dims) {
  return td_test_tensor(dt, rank, dims, NULL);
}

/* Random tensor: floats uniform in [lo,hi) (integer-valued if whole), ints in [lo,hi], bool 0/1.
 * nonzero: avoid 0. */
static inline td_tensor mt_random(td_dtype dt, int rank, const int64_t *dims, double lo, double hi,
                                  int whole, int nonzero) {
  td_tensor t = mt_tensor(dt, rank, dims);
  int64_t n = td_tensor_num_elements(&t);
  for (int64_t i = 0; i < n; i++) {
    double v;
    do {
      if (dt == TD_DT_BOOL) v = (double)(mt_next() & 1);
      else if (!mt_is_float(dt) || whole) v = (double)mt_int((int64_t)lo, (int64_t)hi);
      else v = mt_uniform(lo, hi);
    } while (nonzero && v == 0);
    td_tensor_set_double(&t, i, v);
  }
  return t;
}

static inline td_shape mt_shape(int rank, const int64_t *dims) { return td_shape_make(rank, dims); }

/* Index into `in` (numpy-broadcast to `out`) for output element i. */
static inline int64_t mt_bcast_index(const td_shape *in, const td_shape *out, int64_t i) {
  int64_t idx = 0, mul = 1;
  for (int d = out->rank - 1, e = in->rank - 1; d >= 0; d--, e--) {
    int64_t coord = i % out->dim[d];
    i /= out->dim[d];
    if (e >= 0) {
      if (in->dim[e] != 1) idx += coord * mul;
      mul *= in->dim[e];
    }
  }
  return idx;
}

/* Runs op on inputs; attr T = dtype of input 0 unless nd already provided. */
static inline td_code mt_run_nd(Tensorflow__NodeDef *nd, const td_tensor *in, int nin,
                                td_tensor *out, int nout, td_status *st) {
  td_code code = td_test_run_op(nd, in, nin, out, nout, st);
  td_test_node_free(nd);
  return code;
}
static inline td_code mt_run(const char *op, const td_tensor *in, int nin, td_tensor *out,
                             int nout, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  if (nin > 0) td_test_attr_type(nd, "T", in[0].dtype);
  return mt_run_nd(nd, in, nin, out, nout, st);
}

static inline double mt_tol(td_dtype dt) {
  switch (dt) {
    case TD_DT_FLOAT: return 2e-5;
    case TD_DT_HALF: return 2e-3;
    case TD_DT_BFLOAT16: return 1.6e-2;
    case TD_DT_DOUBLE: return 1e-12;
    default: return 0;
  }
}

/* Wraps an int64 into dtype dt's range (two's complement), as the kernels do. */
static inline int64_t mt_wrap(td_dtype dt, int64_t v) {
  switch (dt) {
    case TD_DT_INT8: return (int8_t)(uint8_t)v;
    case TD_DT_INT16: return (int16_t)(uint16_t)v;
    case TD_DT_INT32: return (int32_t)(uint32_t)v;
    case TD_DT_UINT8: return (uint8_t)v;
    case TD_DT_UINT16: return (uint16_t)v;
    case TD_DT_UINT32: return (uint32_t)v;
    default: return v;
  }
}

/* Checks element i of got against want (double) with the dtype's relative tolerance. */
static inline int mt_close(td_dtype dt, double got, double want, double extra_atol) {
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return got == want;
  double tol = mt_tol(dt);
  return fabs(got - want) <= tol * fabs(want) + tol + extra_atol;
}

#define MT_ASSERT_OK(code, st)                                                              \
  do {                                                                                      \
    if ((code) != TD_OK) fail_msg("unexpected failure: %s", (st)->msg);                     \
  } while (0)

/* Asserts a failure with code and a message containing `needle`. */
static inline void mt_assert_fails(td_code code, const td_status *st, td_code want,
                                   const char *needle) {
  if (code != want) fail_msg("want code %d got %d (%s)", want, code, st->msg);
  if (needle && !strstr(st->msg, needle)) fail_msg("message '%s' lacks '%s'", st->msg, needle);
}

static inline void mt_release(td_tensor *t, int n) {
  for (int i = 0; i < n; i++) td_tensor_release(&t[i]);
}

#endif
