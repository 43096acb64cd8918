/* math_binary.c — element-wise binary ops with numpy broadcasting: arithmetic, comparisons,
 * logical ops, plus BiasAdd and AddN (which reuse the Add rows).
 *
 * Every op is an element expression (OPF_x for floating types, OPI_x for integer types)
 * stamped by ROW2 into one row function per (op, dtype); a row function runs n elements with
 * each operand either advancing or held at element 0, so same-shape, scalar-vs-tensor and
 * bias-shaped broadcasts are each one tight loop. Tables map dtype -> row function; a NULL
 * entry means TF has no kernel for that dtype.
 * Semantics follow TF's CPU kernels: integer Div truncates, FloorDiv/FloorMod floor, Mod and
 * TruncateMod truncate (C's % / fmod), integer
 * division by zero fails with "Integer division by zero", integer overflow wraps, float
 * Maximum/Minimum propagate NaN. Expressions only read x/y and may set `err` (1 = division by
 * zero, 2 = negative integer power).
 */
#include <math.h>
#include <string.h>

#include "engine/kernels/math_internal.h"

typedef int (*td_math_row2)(const void *a, const void *b, void *out, int64_t n, int sa, int sb);

/* ROW2 stamps one row function. Inside EXPR: x, y (compute type), td_T, td_UW, td_SG, err. */
#define ROW2(name, S, C, LD, OS, ST, T, UW, SG, EXPR)                                        \
  static inline __attribute__((always_inline)) int name(const void *pa, const void *pb, void *po, int64_t n, int sa, int sb) {    \
    typedef T td_T;                                                                          \
    typedef UW td_UW;                                                                        \
    enum { td_SG = SG };                                                                     \
    const S *a = pa, *b = pb;                                                                \
    OS *o = po;                                                                              \
    int err = 0;                                                                             \
    (void)sizeof(td_T), (void)sizeof(td_UW), (void)td_SG;                                    \
    if (sa && sb) {                                                                          \
      for (int64_t i = 0; i < n; i++) {                                                      \
        C x = LD(a[i]), y = LD(b[i]);                                                        \
        o[i] = ST(EXPR(x, y));                                                               \
      }                                                                                      \
    } else if (sa) {                                                                         \
      C y = LD(b[0]);                                                                        \
      for (int64_t i = 0; i < n; i++) {                                                      \
        C x = LD(a[i]);                                                                      \
        o[i] = ST(EXPR(x, y));                                                               \
      }                                                                                      \
    } else if (sb) {                                                                         \
      C x = LD(a[0]);                                                                        \
      for (int64_t i = 0; i < n; i++) {                                                      \
        C y = LD(b[i]);                                                                      \
        o[i] = ST(EXPR(x, y));                                                               \
      }                                                                                      \
    } else if (n > 0) {                                                                      \
      C x = LD(a[0]), y = LD(b[0]);                                                          \
      OS v = ST(EXPR(x, y));                                                                 \
      for (int64_t i = 0; i < n; i++) o[i] = v;                                              \
    }                                                                                        \
    return err;                                                                              \
  }

/* ROW2V: ROW2 compiled for AVX-512 / AVX2+FMA / baseline, picked per call (td_math_isa). */
#define ROW2V(name, ...)                                                                      \
  ROW2(name##_b, __VA_ARGS__)                                                                 \
  TD_MATH_TARGET_512 static int name##_x5(const void *a, const void *b, void *o, int64_t n, int sa, int sb) { \
    return name##_b(a, b, o, n, sa, sb);                                                      \
  }                                                                                           \
  TD_MATH_TARGET_256 static int name##_x2(const void *a, const void *b, void *o, int64_t n, int sa, int sb) { \
    return name##_b(a, b, o, n, sa, sb);                                                      \
  }                                                                                           \
  static int name##_x0(const void *a, const void *b, void *o, int64_t n, int sa, int sb) {    \
    return name##_b(a, b, o, n, sa, sb);                                                      \
  }                                                                                           \
  static int name(const void *a, const void *b, void *o, int64_t n, int sa, int sb) {         \
    int l = td_math_isa();                                                                    \
    return (l == 2 ? name##_x5 : l == 1 ? name##_x2 : name##_x0)(a, b, o, n, sa, sb);         \
  }

/* ---- integer helpers (all computed in 64 bits, exact for every narrower type) ---- */
static inline int64_t trunc_div_s64(int64_t x, int64_t y) {
  return y == -1 ? (int64_t)(0 - (uint64_t)x) : x / y;
}
static inline int64_t floor_div_s64(int64_t x, int64_t y) {
  if (y == -1) return (int64_t)(0 - (uint64_t)x);
  int64_t q = x / y;
  if (x % y != 0 && ((x < 0) != (y < 0))) q--;
  return q;
}
static inline int64_t floor_mod_s64(int64_t x, int64_t y) {
  if (y == -1) return 0;
  int64_t r = x % y;
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}
static inline int64_t trunc_mod_s64(int64_t x, int64_t y) { return y == -1 ? 0 : x % y; }
static inline int is_negative(int64_t v) { return v < 0; }
static inline uint64_t ipow_u64(uint64_t base, uint64_t e) {
  uint64_t r = 1;
  while (e) {
    if (e & 1) r *= base;
    base *= base;
    e >>= 1;
  }
  return r;
}
static inline float floor_mod_f32(float x, float y) {
  float r = fmodf(x, y);
  return (r != 0 && ((y < 0) != (r < 0))) ? r + y : r;
}
static inline double floor_mod_f64(double x, double y) {
  double r = fmod(x, y);
  return (r != 0 && ((y < 0) != (r < 0))) ? r + y : r;
}
#define TD_FLOOR_MOD(x, y) _Generic((x), double: floor_mod_f64, default: floor_mod_f32)(x, y)
#define TD_FMOD(x, y) _Generic((x), double: fmod, default: fmodf)(x, y)
#define TD_FLOOR(x) _Generic((x), double: floor, default: floorf)(x)
#define TD_POW(x, y) _Generic((x), double: pow, default: powf)(x, y)

/* ---- element expressions ---- */
#define OPF_ADD(x, y) ((x) + (y))
#define OPI_ADD(x, y) ((td_T)((td_UW)(x) + (td_UW)(y)))
#define OPF_SUB(x, y) ((x) - (y))
#define OPI_SUB(x, y) ((td_T)((td_UW)(x) - (td_UW)(y)))
#define OPF_MUL(x, y) ((x) * (y))
#define OPI_MUL(x, y) ((td_T)((td_UW)(x) * (td_UW)(y)))
#define OPF_DIV(x, y) ((x) / (y))
#define INT_DIV_GUARD(y, expr) ((y) == 0 ? (err = 1, (td_T)0) : (expr))
#define OPI_DIV(x, y)                                                                         \
  INT_DIV_GUARD(y, td_SG ? (td_T)trunc_div_s64((int64_t)(x), (int64_t)(y))                  \
                         : (td_T)((uint64_t)(x) / (uint64_t)(y)))
#define OPF_FLOORDIV(x, y) TD_FLOOR((x) / (y))
#define OPI_FLOORDIV(x, y)                                                                    \
  INT_DIV_GUARD(y, td_SG ? (td_T)floor_div_s64((int64_t)(x), (int64_t)(y))                  \
                         : (td_T)((uint64_t)(x) / (uint64_t)(y)))
#define OPF_FLOORMOD(x, y) TD_FLOOR_MOD(x, y)
#define OPI_FLOORMOD(x, y)                                                                    \
  INT_DIV_GUARD(y, td_SG ? (td_T)floor_mod_s64((int64_t)(x), (int64_t)(y))                  \
                         : (td_T)((uint64_t)(x) % (uint64_t)(y)))
#define OPF_TRUNCMOD(x, y) TD_FMOD(x, y)
#define OPI_TRUNCMOD(x, y)                                                                    \
  INT_DIV_GUARD(y, td_SG ? (td_T)trunc_mod_s64((int64_t)(x), (int64_t)(y))                  \
                         : (td_T)((uint64_t)(x) % (uint64_t)(y)))
#define OPF_MAX(x, y) (((x) > (y) || isnan(x)) ? (x) : (y))
#define OPI_MAX(x, y) ((x) > (y) ? (x) : (y))
#define OPF_MIN(x, y) (((x) < (y) || isnan(x)) ? (x) : (y))
#define OPI_MIN(x, y) ((x) < (y) ? (x) : (y))
#define OPF_POW(x, y) TD_POW(x, y)
#define OPI_POW(x, y)                                                                         \
  ((td_SG && is_negative((int64_t)(y))) ? (err = 2, (td_T)0) : (td_T)ipow_u64((uint64_t)(x), (uint64_t)(y)))
#define OPF_SQDIFF(x, y) (((x) - (y)) * ((x) - (y)))
#define OPI_SQDIFF(x, y) ((td_T)(((td_UW)(x) - (td_UW)(y)) * ((td_UW)(x) - (td_UW)(y))))
#define OPF_ATAN2(x, y) _Generic((x), double: atan2, default: atan2f)(x, y)
#define OPF_DIVNONAN(x, y) ((y) == 0 ? 0 : (x) / (y))
#define OPF_MULNONAN(x, y) ((y) == 0 ? 0 : (x) * (y))
#define OPF_XLOGY(x, y) ((x) == 0 ? 0 : (x) * _Generic((y), double: log, default: logf)(y))
#define OPF_XDIVY(x, y) ((x) == 0 ? 0 : (x) / (y))
#define OPI_BITAND(x, y) ((td_T)((x) & (y)))
#define OPI_BITOR(x, y) ((td_T)((x) | (y)))
#define OPI_BITXOR(x, y) ((td_T)((x) ^ (y)))
/* TF clamps the shift count to [0, bits - 1] */
#define SHIFT_BITS ((int)(sizeof(td_T) * 8 - 1))
static inline int shift_count(int sg, int64_t ys, uint64_t yu, int bits) {
  return (sg && ys < 0) ? 0 : yu > (uint64_t)bits ? bits : (int)yu;
}
#define SHIFT_N(y) shift_count(td_SG, (int64_t)(y), (uint64_t)(y), SHIFT_BITS)
#define OPI_LSHIFT(x, y) ((td_T)((uint64_t)(x) << SHIFT_N(y)))
#define OPI_RSHIFT(x, y) (td_SG ? (td_T)((int64_t)(x) >> SHIFT_N(y)) : (td_T)((uint64_t)(x) >> SHIFT_N(y)))
#define OPX_EQ(x, y) ((x) == (y))
#define OPX_NE(x, y) ((x) != (y))
#define OPX_LT(x, y) ((x) < (y))
#define OPX_LE(x, y) ((x) <= (y))
#define OPX_GT(x, y) ((x) > (y))
#define OPX_GE(x, y) ((x) >= (y))
#define OPX_AND(x, y) ((x) && (y))
#define OPX_OR(x, y) ((x) || (y))

/* ---- stamping ---- */
#define TO_BOOL(v) ((uint8_t)((v) != 0))
#define STAMP_F(op, tag, DT, S, C, LD, ST) ROW2(op##_##tag, S, C, LD, S, ST, C, unsigned, 0, OPF_##op)
#define STAMP_FV(op, tag, DT, S, C, LD, ST) ROW2V(op##_##tag, S, C, LD, S, ST, C, unsigned, 0, OPF_##op)
#define STAMP_I(op, tag, DT, T, UW, SG) ROW2(op##_##tag, T, T, TD_MATH_ID, T, TD_MATH_ID, T, UW, SG, OPI_##op)
#define STAMP_CF(op, tag, DT, S, C, LD, ST) ROW2(op##_##tag, S, C, LD, uint8_t, TO_BOOL, C, unsigned, 0, OPX_##op)
#define STAMP_CI(op, tag, DT, T, UW, SG) ROW2(op##_##tag, T, T, TD_MATH_ID, uint8_t, TO_BOOL, T, UW, SG, OPX_##op)
#define ENTRY(op, tag, DT, ...) [DT] = op##_##tag,

#define ARITH_OP(op)                                                                          \
  TD_MATH_FLOATS(STAMP_F, op)                                                                 \
  TD_MATH_INTS(STAMP_I, op)                                                                   \
  static const td_math_row2 rows_##op[TD_MATH_NDT] = {TD_MATH_FLOATS(ENTRY, op)               \
                                                          TD_MATH_INTS(ENTRY, op)};
/* the hot float arithmetic: vector copies for floats (ROW2V), integers as ARITH_OP */
#define ARITH_OP_V(op)                                                                        \
  TD_MATH_FLOATS(STAMP_FV, op)                                                                \
  TD_MATH_INTS(STAMP_I, op)                                                                   \
  static const td_math_row2 rows_##op[TD_MATH_NDT] = {TD_MATH_FLOATS(ENTRY, op)               \
                                                          TD_MATH_INTS(ENTRY, op)};
#define FLOAT_OP(op)                                                                          \
  TD_MATH_FLOATS(STAMP_F, op)                                                                 \
  static const td_math_row2 rows_##op[TD_MATH_NDT] = {TD_MATH_FLOATS(ENTRY, op)};
#define INT_OP(op)                                                                            \
  TD_MATH_INTS(STAMP_I, op)                                                                   \
  static const td_math_row2 rows_##op[TD_MATH_NDT] = {TD_MATH_INTS(ENTRY, op)};
#define BOOLS(X, arg) X(arg, b8, TD_DT_BOOL, uint8_t, uint32_t, 0)
#define CMP_OP(op)                                                                            \
  TD_MATH_FLOATS(STAMP_CF, op)                                                                \
  TD_MATH_INTS(STAMP_CI, op)                                                                  \
  static const td_math_row2 rows_##op[TD_MATH_NDT] = {TD_MATH_FLOATS(ENTRY, op)               \
                                                          TD_MATH_INTS(ENTRY, op)};
#define EQ_OP(op)                                                                             \
  TD_MATH_FLOATS(STAMP_CF, op)                                                                \
  TD_MATH_INTS(STAMP_CI, op)                                                                  \
  BOOLS(STAMP_CI, op)                                                                         \
  static const td_math_row2 rows_##op[TD_MATH_NDT] = {                                        \
      TD_MATH_FLOATS(ENTRY, op) TD_MATH_INTS(ENTRY, op) BOOLS(ENTRY, op)                      \
      [TD_DT_STRING] = op##_str};

/* Strings compare by bytes (Equal / NotEqual only). */
static int str_equal(const td_string *x, const td_string *y) {
  return x->len == y->len && (x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
}
static int EQ_str(const void *pa, const void *pb, void *po, int64_t n, int sa, int sb) {
  const td_string *a = pa, *b = pb;
  uint8_t *o = po;
  for (int64_t i = 0; i < n; i++) o[i] = (uint8_t)str_equal(&a[sa ? i : 0], &b[sb ? i : 0]);
  return 0;
}
static int NE_str(const void *pa, const void *pb, void *po, int64_t n, int sa, int sb) {
  const td_string *a = pa, *b = pb;
  uint8_t *o = po;
  for (int64_t i = 0; i < n; i++) o[i] = (uint8_t)!str_equal(&a[sa ? i : 0], &b[sb ? i : 0]);
  return 0;
}
#define LOGIC_OP(op)                                                                          \
  BOOLS(STAMP_CI, op)                                                                         \
  static const td_math_row2 rows_##op[TD_MATH_NDT] = {BOOLS(ENTRY, op)};

ARITH_OP_V(ADD)
ARITH_OP_V(SUB)
ARITH_OP_V(MUL)
ARITH_OP(DIV)
ARITH_OP(FLOORDIV)
ARITH_OP(FLOORMOD)
ARITH_OP(TRUNCMOD)
ARITH_OP(MAX)
ARITH_OP(MIN)
ARITH_OP(POW)
ARITH_OP_V(SQDIFF)
FLOAT_OP(DIVNONAN)
FLOAT_OP(ATAN2)
FLOAT_OP(MULNONAN)
FLOAT_OP(XLOGY)
FLOAT_OP(XDIVY)
INT_OP(BITAND)
INT_OP(BITOR)
INT_OP(BITXOR)
INT_OP(LSHIFT)
INT_OP(RSHIFT)
static const td_math_row2 rows_REALDIV[TD_MATH_NDT] = {TD_MATH_FLOATS(ENTRY, DIV)};
EQ_OP(EQ)
EQ_OP(NE)
CMP_OP(LT)
CMP_OP(LE)
CMP_OP(GT)
CMP_OP(GE)
LOGIC_OP(AND)
LOGIC_OP(OR)

/* ---- driver ---- */
static int row2_cb(void *arg, const void *const *in, const int *inner, void *out, int64_t n) {
  td_math_row2 fn = *(const td_math_row2 *)arg;
  return fn(in[0], in[1], out, n, inner[0], inner[1]);
}

static td_code fail_row_error(td_kctx *c, int err) {
  if (err == 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Integers to negative integer powers are not allowed");
  return td_k_fail(c, TD_INVALID_ARGUMENT, "Integer division by zero");
}

static td_code check_same_dtype(td_kctx *c, const td_tensor *a, const td_tensor *b, int idx) {
  if (a->dtype == b->dtype) return TD_OK;
  return td_k_fail(c, TD_INVALID_ARGUMENT,
                   "cannot compute %s as input #%d(zero-based) was expected to be a %s tensor "
                   "but is a %s tensor",
                   td_node_op(td_k_node(c)), idx, td_dtype_name(a->dtype),
                   td_dtype_name(b->dtype));
}

static int run_rows(td_math_row2 fn, const td_bcast *bc, const td_tensor *a, const td_tensor *b,
                    td_tensor *out) {
  if (bc->nout == 0) return 0;
  if (bc->rank == 1)
    return fn(a->data, b->data, out->data, bc->dim[0], bc->stride[0][0] != 0,
              bc->stride[1][0] != 0);
  const void *in[2] = {a->data, b->data};
  size_t es[2] = {td_dtype_size(a->dtype), td_dtype_size(b->dtype)};
  return td_bcast_rows(bc, in, es, out->data, td_dtype_size(out->dtype), row2_cb, &fn);
}

/* eq_mode: 0 = ordinary op; 1 / 2 = Equal / NotEqual (honour incompatible_shape_error). */
static td_code binary_kernel(td_kctx *c, const td_math_row2 *rows, int out_bool, int eq_mode) {
  const td_tensor *a = td_k_input(c, 0), *b = td_k_input(c, 1);
  TD_TRY(check_same_dtype(c, a, b, 1));
  td_dtype dt = a->dtype;
  if (!td_math_dt_index_ok(dt) || !rows[dt]) return td_math_fail_dtype(c, "T", dt);
  td_bcast bc;
  const td_shape *sh[2] = {&a->shape, &b->shape};
  td_tensor *out;
  if (td_bcast_init(&bc, 2, sh) != 0) {
    if (eq_mode && !td_attr_bool(td_k_node(c), "incompatible_shape_error", true)) {
      td_shape scalar = td_shape_scalar();
      TD_TRY(td_k_alloc_output(c, 0, TD_DT_BOOL, &scalar, &out));
      td_u8(out)[0] = eq_mode == 2;
      return TD_OK;
    }
    char s1[TD_MATH_SHAPE_BUF], s2[TD_MATH_SHAPE_BUF];
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Incompatible shapes: %s vs. %s",
                     td_math_shape_str(&a->shape, s1), td_math_shape_str(&b->shape, s2));
  }
  TD_TRY(td_k_alloc_output_uninit(c, 0, out_bool ? TD_DT_BOOL : dt, &bc.out, &out));
  int err = run_rows(rows[dt], &bc, a, b, out);
  return err ? fail_row_error(c, err) : TD_OK;
}

#define BINARY_KERNEL(fn, rows, out_bool, eq_mode) \
  td_code fn(td_kctx *c) { return binary_kernel(c, rows, out_bool, eq_mode); }
BINARY_KERNEL(td_k_math_add, rows_ADD, 0, 0)
BINARY_KERNEL(td_k_math_sub, rows_SUB, 0, 0)
BINARY_KERNEL(td_k_math_mul, rows_MUL, 0, 0)
BINARY_KERNEL(td_k_math_div, rows_DIV, 0, 0)
BINARY_KERNEL(td_k_math_real_div, rows_REALDIV, 0, 0)
BINARY_KERNEL(td_k_math_div_no_nan, rows_DIVNONAN, 0, 0)
BINARY_KERNEL(td_k_math_atan2, rows_ATAN2, 0, 0)
BINARY_KERNEL(td_k_math_floor_div, rows_FLOORDIV, 0, 0)
BINARY_KERNEL(td_k_math_floor_mod, rows_FLOORMOD, 0, 0)
BINARY_KERNEL(td_k_math_truncate_mod, rows_TRUNCMOD, 0, 0)
BINARY_KERNEL(td_k_math_maximum, rows_MAX, 0, 0)
BINARY_KERNEL(td_k_math_minimum, rows_MIN, 0, 0)
BINARY_KERNEL(td_k_math_pow, rows_POW, 0, 0)
BINARY_KERNEL(td_k_math_squared_difference, rows_SQDIFF, 0, 0)
BINARY_KERNEL(td_k_math_equal, rows_EQ, 1, 1)
BINARY_KERNEL(td_k_math_not_equal, rows_NE, 1, 2)
BINARY_KERNEL(td_k_math_less, rows_LT, 1, 0)
BINARY_KERNEL(td_k_math_less_equal, rows_LE, 1, 0)
BINARY_KERNEL(td_k_math_greater, rows_GT, 1, 0)
BINARY_KERNEL(td_k_math_greater_equal, rows_GE, 1, 0)
BINARY_KERNEL(td_k_math_logical_and, rows_AND, 1, 0)
BINARY_KERNEL(td_k_math_logical_or, rows_OR, 1, 0)
BINARY_KERNEL(td_k_math_mul_no_nan, rows_MULNONAN, 0, 0)
BINARY_KERNEL(td_k_math_xlogy, rows_XLOGY, 0, 0)
BINARY_KERNEL(td_k_math_xdivy, rows_XDIVY, 0, 0)
BINARY_KERNEL(td_k_math_bitwise_and, rows_BITAND, 0, 0)
BINARY_KERNEL(td_k_math_bitwise_or, rows_BITOR, 0, 0)
BINARY_KERNEL(td_k_math_bitwise_xor, rows_BITXOR, 0, 0)
BINARY_KERNEL(td_k_math_left_shift, rows_LSHIFT, 0, 0)
BINARY_KERNEL(td_k_math_right_shift, rows_RSHIFT, 0, 0)

/* ---- BiasAdd: value [..., C] (NHWC) or [N, C, ...] (NCHW) plus bias [C] ---- */
static td_code bias_add(td_kctx *c, int allow_nchw) {
  const td_tensor *v = td_k_input(c, 0), *bias = td_k_input(c, 1);
  TD_TRY(check_same_dtype(c, v, bias, 1));
  td_dtype dt = v->dtype;
  if (!td_math_dt_index_ok(dt) || !rows_ADD[dt]) return td_math_fail_dtype(c, "T", dt);
  char s1[TD_MATH_SHAPE_BUF], s2[TD_MATH_SHAPE_BUF];
  const td_node *node = td_k_node(c);
  int nchw = 0;
  if (allow_nchw && td_node_attr(node, "data_format")) {
    nchw = td_attr_str_eq(node, "data_format", "NCHW");
    if (!nchw && !td_attr_str_eq(node, "data_format", "NHWC"))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid data format");
  }
  int rank = v->shape.rank;
  if (rank < 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input tensor must be at least 2D: %s",
                     td_math_shape_str(&v->shape, s1));
  if (bias->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Biases must be 1D: %s",
                     td_math_shape_str(&bias->shape, s1));
  int cdim = (nchw && rank >= 3) ? 1 : rank - 1;
  int64_t C = v->shape.dim[cdim];
  if (bias->shape.dim[0] != C)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Must provide as many biases as the last dimension of the input tensor: "
                     "%s vs. %s",
                     td_math_shape_str(&bias->shape, s1), td_math_shape_str(&v->shape, s2));
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, dt, &v->shape, &out));
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < cdim; i++) outer *= v->shape.dim[i];
  for (int i = cdim + 1; i < rank; i++) inner *= v->shape.dim[i];
  if (outer == 0 || C == 0 || inner == 0) return TD_OK;
  td_math_row2 add = rows_ADD[dt];
  const size_t es = td_dtype_size(dt);
  const char *src = v->data, *bp = bias->data;
  char *dst = out->data;
  if (inner == 1) {
    for (int64_t o = 0; o < outer; o++, src += C * es, dst += C * es) add(src, bp, dst, C, 1, 1);
  } else {
    for (int64_t o = 0; o < outer; o++)
      for (int64_t ch = 0; ch < C; ch++, src += inner * es, dst += inner * es)
        add(src, bp + ch * es, dst, inner, 1, 0);
  }
  return TD_OK;
}

td_code td_k_math_bias_add(td_kctx *c) { return bias_add(c, 1); }
td_code td_k_math_bias_add_v1(td_kctx *c) { return bias_add(c, 0); }

/* ---- AddN: sum of N same-shape tensors ---- */
td_code td_k_math_add_n(td_kctx *c) {
  int n = td_k_num_inputs(c);
  if (n < 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "AddN needs at least one input");
  const td_tensor *x0 = td_k_input(c, 0);
  td_dtype dt = x0->dtype;
  for (int k = 1; k < n; k++) {
    const td_tensor *xk = td_k_input(c, k);
    TD_TRY(check_same_dtype(c, x0, xk, k));
    if (!td_shape_equal(&x0->shape, &xk->shape)) {
      char s1[TD_MATH_SHAPE_BUF], s2[TD_MATH_SHAPE_BUF];
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Inputs to operation %s of type AddN must have the same size and shape.  "
                       "Input 0: %s != input %d: %s",
                       td_node_name(td_k_node(c)), td_math_shape_str(&x0->shape, s1), k,
                       td_math_shape_str(&xk->shape, s2));
    }
  }
  if (!td_math_dt_index_ok(dt) || !rows_ADD[dt]) return td_math_fail_dtype(c, "T", dt);
  if (n == 1) return td_k_forward(c, 0, 0, NULL);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, dt, &x0->shape, &out));
  int64_t count = td_tensor_num_elements(x0);
  td_math_row2 add = rows_ADD[dt];
  add(x0->data, td_k_input(c, 1)->data, out->data, count, 1, 1);
  for (int k = 2; k < n; k++) add(out->data, td_k_input(c, k)->data, out->data, count, 1, 1);
  return TD_OK;
}
