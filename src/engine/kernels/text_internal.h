/* text_internal.h — helpers shared by the text and ragged kernels (text_*.c, ragged*.c):
 * kernel-owned STRING outputs, row-splits access for int32/int64 Tsplits, UTF-8 decoding
 * with ICU's "maximal subpart" error units, and UTF-8 encoding.
 *
 * Everything here is stateless and reentrant; byte ranges are (pointer, length) and never
 * assumed NUL-terminated.
 */
#ifndef TD_ENGINE_KERNELS_TEXT_INTERNAL_H
#define TD_ENGINE_KERNELS_TEXT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/kernel.h"

/* ---- outputs ---- */
/* Allocates a kernel-owned tensor (td_tensor_alloc) of dt/shape in *t; fails the kernel on error. */
td_code td_text_new_tensor(td_kctx *ctx, td_dtype dt, const td_shape *shape, td_tensor *t);
/* Hands a kernel-owned tensor to output i when rc == TD_OK; always drops the kernel's reference. */
td_code td_text_finish(td_kctx *ctx, int i, td_tensor *t, td_code rc);
/* Fails unless input i is a STRING tensor. */
td_code td_text_expect_string(td_kctx *ctx, int i, const char *what);
/* Byte pointer of a td_string ("" when NULL). */
static inline const char *td_text_bytes(const td_string *s) { return s->data ? s->data : ""; }

/* ---- row splits (int32 or int64 1-D tensors) ---- */
static inline int64_t td_text_split_at(const td_tensor *t, int64_t i) {
  return t->dtype == TD_DT_INT32 ? td_i32(t)[i] : td_i64(t)[i];
}
static inline void td_text_split_set(td_tensor *t, int64_t i, int64_t v) {
  if (t->dtype == TD_DT_INT32) td_i32(t)[i] = (int32_t)v;
  else td_i64(t)[i] = v;
}
/* Checks that `splits` is a valid row-splits vector over nvals values (1-D, int32/int64,
 * starts at 0, non-decreasing, ends at nvals; an empty vector means zero rows and requires
 * nvals == 0). `what` names the input in the error. */
td_code td_text_check_splits(td_kctx *ctx, const td_tensor *splits, int64_t nvals, const char *what);

/* ---- UTF-8 ---- */
/* Decodes one character at s[0..n) (n > 0). Returns the number of bytes consumed (>= 1) and
 * sets *cp to the code point, or to -1 when the bytes are malformed: then the return value
 * is the length of the maximal ill-formed subpart (what ICU replaces with one U+FFFD). */
int td_utf8_decode(const unsigned char *s, size_t n, int32_t *cp);
/* Encodes cp (0..0x10FFFF, not a surrogate) into out[0..4); returns the byte count, 0 if invalid. */
int td_utf8_encode(int32_t cp, char *out);
/* Number of UTF-8 characters: bytes that are not continuation bytes (TF's UTF8StrLen). */
int64_t td_utf8_strlen(const char *s, size_t n);

#endif
