/* text_common.c — the helpers of text_internal.h: kernel-owned outputs, row-splits
 * validation and UTF-8 decoding/encoding. Stateless and reentrant. */
#include <inttypes.h>

#include "engine/kernels/text_internal.h"

td_code td_text_new_tensor(td_kctx *ctx, td_dtype dt, const td_shape *shape, td_tensor *t) {
  td_status st;
  if (td_tensor_alloc(t, dt, shape, &st) != TD_OK) return td_k_fail(ctx, st.code, "%s", st.msg);
  return TD_OK;
}

td_code td_text_finish(td_kctx *ctx, int i, td_tensor *t, td_code rc) {
  if (rc == TD_OK) td_k_set_output(ctx, i, t);
  td_tensor_release(t);
  return rc;
}

td_code td_text_expect_string(td_kctx *ctx, int i, const char *what) {
  const td_tensor *t = td_k_input(ctx, i);
  if (t->dtype != TD_DT_STRING)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "%s must be a string tensor, got %s", what, td_dtype_name(t->dtype));
  return TD_OK;
}

td_code td_text_check_splits(td_kctx *ctx, const td_tensor *splits, int64_t nvals, const char *what) {
  if (splits->dtype != TD_DT_INT32 && splits->dtype != TD_DT_INT64)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "%s must be int32 or int64, got %s", what, td_dtype_name(splits->dtype));
  if (splits->shape.rank != 1)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "%s must be a vector, got rank %d", what, splits->shape.rank);
  int64_t n = splits->shape.dim[0];
  if (n == 0) {
    if (nvals != 0)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Invalid %s: empty splits for %" PRId64 " values", what, nvals);
    return TD_OK;
  }
  int64_t prev = td_text_split_at(splits, 0);
  if (prev != 0) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "First split value must be 0, got %" PRId64, prev);
  for (int64_t i = 1; i < n; i++) {
    int64_t v = td_text_split_at(splits, i);
    if (v < prev || v > nvals)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Invalid split value %" PRId64 ", must be in [%" PRId64 ", %" PRId64 "]",
                       v, prev, nvals);
    prev = v;
  }
  if (prev != nvals)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Last split value must be data size. Expected %" PRId64 ", got %" PRId64,
                     nvals, prev);
  return TD_OK;
}

/* Unicode Table 3-7 (well-formed UTF-8): lead byte → length and the range of the 2nd byte. */
int td_utf8_decode(const unsigned char *s, size_t n, int32_t *cp) {
  unsigned c = s[0];
  if (c < 0x80) {
    *cp = (int32_t)c;
    return 1;
  }
  int len;
  unsigned lo = 0x80, hi = 0xBF;
  int32_t v;
  if (c >= 0xC2 && c <= 0xDF) len = 2, v = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, v = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, v = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    *cp = -1;
    return 1;
  }
  for (int k = 1; k < len; k++) {
    if ((size_t)k >= n) {
      *cp = -1;
      return k;
    }
    unsigned b = s[k];
    unsigned blo = k == 1 ? lo : 0x80, bhi = k == 1 ? hi : 0xBF;
    if (b < blo || b > bhi) {
      *cp = -1;
      return k;
    }
    v = v << 6 | (int32_t)(b & 0x3F);
  }
  *cp = v;
  return len;
}

int td_utf8_encode(int32_t cp, char *out) {
  if (cp < 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | cp >> 6);
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | cp >> 12);
    out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | cp >> 18);
  out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

int64_t td_utf8_strlen(const char *s, size_t n) {
  int64_t k = 0;
  for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
  return k;
}
