/* math_cast.c — Cast between all real numeric types and bool.
 *
 * One loop per (SrcT, DstT) pair, stamped from two copies of the same type list (the
 * preprocessor cannot nest one X-macro inside itself) into a 2-D dtype-indexed table.
 * Conversions follow TF's static_cast on x86-64: floating -> 32-bit-or-narrower integers goes
 * through cvttss2si (NaN and out-of-range give INT32_MIN, then wrap to the narrow type);
 * floating -> int64 / uint32 goes through the 64-bit form (INT64_MIN when out of range);
 * integer narrowing wraps; anything -> bool is `!= 0`. half / bfloat16 convert via float.
 * Truncate=true makes -> bfloat16 drop the low 16 bits of the float instead of rounding (NaN
 * stays a quiet NaN), as TF's truncate_to_bfloat16; TF ignores it for other destinations.
 * SrcT == DstT forwards the input without copying.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/math_internal.h"
#include "util/mem.h"

static inline int32_t f2i32(double v) {
  return (v > -2147483649.0 && v < 2147483648.0) ? (int32_t)v : INT32_MIN;
}
static inline int64_t f2i64(double v) {
  return (v >= -9223372036854775808.0 && v < 9223372036854775808.0) ? (int64_t)v : INT64_MIN;
}
static inline uint64_t f2u64(double v) {
  if (v < 9223372036854775808.0) return (uint64_t)f2i64(v);
  return (uint64_t)f2i64(v - 9223372036854775808.0) ^ (UINT64_C(1) << 63);
}

#define TO_F32(v) ((float)(v))
#define TO_F64(v) ((double)(v))
#define TO_F16(v) td_float_to_half((float)(v))
#define TO_BF16(v) td_float_to_bf16((float)(v))
#define FROM_FP(v, T, fpconv) _Generic((v), float: (T)fpconv(v), double: (T)fpconv(v), default: (T)(v))
#define TO_I32(v) FROM_FP(v, int32_t, f2i32)
#define TO_I16(v) FROM_FP(v, int16_t, f2i32)
#define TO_I8(v) FROM_FP(v, int8_t, f2i32)
#define TO_U16(v) FROM_FP(v, uint16_t, f2i32)
#define TO_U8(v) FROM_FP(v, uint8_t, f2i32)
#define TO_I64(v) FROM_FP(v, int64_t, f2i64)
#define TO_U32(v) FROM_FP(v, uint32_t, f2i64)
#define TO_U64(v) FROM_FP(v, uint64_t, f2u64)
#define TO_BOOL(v) ((uint8_t)((v) != 0))

/* X(arg, tag, dtype, storage, load-to-C-value, convert-from-C-value) */
#define CAST_TYPES_A(X, arg)                                     \
  X(arg, f32, TD_DT_FLOAT, float, TD_MATH_ID, TO_F32)            \
  X(arg, f64, TD_DT_DOUBLE, double, TD_MATH_ID, TO_F64)          \
  X(arg, f16, TD_DT_HALF, uint16_t, TD_MATH_H2F, TO_F16)         \
  X(arg, bf16, TD_DT_BFLOAT16, uint16_t, TD_MATH_B2F, TO_BF16)   \
  X(arg, i8, TD_DT_INT8, int8_t, TD_MATH_ID, TO_I8)              \
  X(arg, i16, TD_DT_INT16, int16_t, TD_MATH_ID, TO_I16)          \
  X(arg, i32, TD_DT_INT32, int32_t, TD_MATH_ID, TO_I32)          \
  X(arg, i64, TD_DT_INT64, int64_t, TD_MATH_ID, TO_I64)          \
  X(arg, u8, TD_DT_UINT8, uint8_t, TD_MATH_ID, TO_U8)            \
  X(arg, u16, TD_DT_UINT16, uint16_t, TD_MATH_ID, TO_U16)        \
  X(arg, u32, TD_DT_UINT32, uint32_t, TD_MATH_ID, TO_U32)        \
  X(arg, u64, TD_DT_UINT64, uint64_t, TD_MATH_ID, TO_U64)        \
  X(arg, b8, TD_DT_BOOL, uint8_t, TD_MATH_ID, TO_BOOL)
#define CAST_TYPES_B(X, arg)                                     \
  X(arg, f32, TD_DT_FLOAT, float, TD_MATH_ID, TO_F32)            \
  X(arg, f64, TD_DT_DOUBLE, double, TD_MATH_ID, TO_F64)          \
  X(arg, f16, TD_DT_HALF, uint16_t, TD_MATH_H2F, TO_F16)         \
  X(arg, bf16, TD_DT_BFLOAT16, uint16_t, TD_MATH_B2F, TO_BF16)   \
  X(arg, i8, TD_DT_INT8, int8_t, TD_MATH_ID, TO_I8)              \
  X(arg, i16, TD_DT_INT16, int16_t, TD_MATH_ID, TO_I16)          \
  X(arg, i32, TD_DT_INT32, int32_t, TD_MATH_ID, TO_I32)          \
  X(arg, i64, TD_DT_INT64, int64_t, TD_MATH_ID, TO_I64)          \
  X(arg, u8, TD_DT_UINT8, uint8_t, TD_MATH_ID, TO_U8)            \
  X(arg, u16, TD_DT_UINT16, uint16_t, TD_MATH_ID, TO_U16)        \
  X(arg, u32, TD_DT_UINT32, uint32_t, TD_MATH_ID, TO_U32)        \
  X(arg, u64, TD_DT_UINT64, uint64_t, TD_MATH_ID, TO_U64)        \
  X(arg, b8, TD_DT_BOOL, uint8_t, TD_MATH_ID, TO_BOOL)

typedef void (*cast_fn)(const void *x, void *y, int64_t n);

#define CAST_ID(...) __VA_ARGS__
#define CAST_FN(stag, SS, SLD, dtag, DS, DCV)                              \
  static void cast_##stag##_##dtag(const void *px, void *py, int64_t n) { \
    const SS *x = px;                                                      \
    DS *y = py;                                                            \
    for (int64_t i = 0; i < n; i++) y[i] = DCV(SLD(x[i]));                 \
  }
#define CAST_FN_(...) CAST_FN(__VA_ARGS__)
#define CAST_PAIR(src, dtag, DDT, DS, DLD, DCV) CAST_FN_(CAST_ID src, dtag, DS, DCV)
#define CAST_SRC(arg, stag, SDT, SS, SLD, SCV) CAST_TYPES_B(CAST_PAIR, (stag, SS, SLD))
CAST_TYPES_A(CAST_SRC, _)

#define CAST_ENTRY_(stag, dtag, DDT) [DDT] = cast_##stag##_##dtag,
#define CAST_ENTRY(stag, dtag, DDT, ...) CAST_ENTRY_(stag, dtag, DDT)
#define CAST_ROW(arg, stag, SDT, ...) [SDT] = {CAST_TYPES_B(CAST_ENTRY, stag)},
static const cast_fn cast_table[TD_MATH_NDT][TD_MATH_NDT] = {CAST_TYPES_A(CAST_ROW, _)};

/* Truncate=true → bfloat16: the source as float, then its upper 16 bits. */
static td_code truncate_to_bf16(td_kctx *c, const td_tensor *x, td_dtype src, td_tensor *y, int64_t n) {
  const float *f = x->data;
  float *tmp = NULL;
  if (src != TD_DT_FLOAT) {
    if (!cast_table[src][TD_DT_FLOAT])
      return td_k_fail(c, TD_UNIMPLEMENTED, "Cast %s to bfloat16 is not supported", td_dtype_name(src));
    tmp = td_xmalloc(sizeof *tmp * (size_t)(n > 0 ? n : 1));
    cast_table[src][TD_DT_FLOAT](x->data, tmp, n);
    f = tmp;
  }
  uint16_t *out = y->data;
  for (int64_t i = 0; i < n; i++) {
    uint32_t bits;
    memcpy(&bits, &f[i], 4);
    out[i] = (bits & 0x7fffffff) > 0x7f800000 ? (uint16_t)((bits >> 16) | 0x40) : (uint16_t)(bits >> 16);
  }
  free(tmp);
  return TD_OK;
}

td_code td_k_math_cast(td_kctx *c) {
  const td_tensor *x = td_k_input(c, 0);
  td_dtype src = x->dtype;
  td_dtype dst = td_attr_type(td_k_node(c), "DstT", TD_DT_INVALID);
  if (src == dst) return td_k_forward(c, 0, 0, NULL);
  if (!td_math_dt_index_ok(src) || !td_math_dt_index_ok(dst) || !cast_table[src][dst])
    return td_k_fail(c, TD_UNIMPLEMENTED, "Cast %s to %s is not supported",
                     td_dtype_name(src), td_dtype_name(dst));
  td_tensor *y;
  TD_TRY(td_k_alloc_output(c, 0, dst, &x->shape, &y));
  int64_t n = td_tensor_num_elements(x);
  if (dst == TD_DT_BFLOAT16 && td_attr_bool(td_k_node(c), "Truncate", 0))
    return truncate_to_bf16(c, x, src, y, n);
  cast_table[src][dst](x->data, y->data, n);
  return TD_OK;
}
