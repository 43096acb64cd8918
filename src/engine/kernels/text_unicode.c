/* text_unicode.c — UnicodeDecode, UnicodeDecodeWithOffsets (UTF-8 input) and UnicodeEncode
 * (UTF-8, UTF-16-BE, UTF-32-BE output).
 *
 * Decoding walks each string with td_utf8_decode: a malformed sequence is one error unit per
 * maximal ill-formed subpart (as ICU, which TF uses): errors='replace' emits replacement_char
 * at the unit's byte offset, 'ignore' drops it, 'strict' fails the run. Outputs are ragged
 * over the flattened input: row_splits (Tsplits) [n+1], char values (int32) and, for
 * WithOffsets, each character's starting byte (int64). Stateless and reentrant.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/kernels/text_internal.h"
#include "util/mem.h"

typedef enum { ERR_REPLACE, ERR_IGNORE, ERR_STRICT } err_mode;

static td_code read_errors(td_kctx *ctx, err_mode *mode, int32_t *subst) {
  const td_node *node = td_k_node(ctx);
  if (td_attr_str_eq(node, "errors", "replace")) *mode = ERR_REPLACE;
  else if (td_attr_str_eq(node, "errors", "ignore")) *mode = ERR_IGNORE;
  else if (td_attr_str_eq(node, "errors", "strict")) *mode = ERR_STRICT;
  else return td_k_fail(ctx, TD_INVALID_ARGUMENT, "errors must be one of 'strict', 'replace', 'ignore'");
  int64_t r = td_attr_int(node, "replacement_char", 0xFFFD);
  if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "replacement_char out of valid Unicode codepoint range");
  *subst = (int32_t)r;
  return TD_OK;
}

static int encoding_is(const char *e, size_t n, const char *a, const char *b) {
  return (n == strlen(a) && !strncasecmp(e, a, n)) || (b && n == strlen(b) && !strncasecmp(e, b, n));
}

/* ---------------------------------------------------------------- decode */

static td_code decode(td_kctx *ctx, int with_offsets) {
  TD_TRY(td_text_expect_string(ctx, 0, "input"));
  const td_node *node = td_k_node(ctx);
  size_t elen = 0;
  const char *enc = td_attr_str(node, "input_encoding", &elen);
  if (!enc || !encoding_is(enc, elen, "UTF-8", "UTF8"))
    return td_k_fail(ctx, TD_UNIMPLEMENTED, "Unsupported input_encoding '%.*s' (only UTF-8)", (int)(enc ? elen : 0),
                     enc ? enc : "");
  err_mode mode;
  int32_t subst;
  TD_TRY(read_errors(ctx, &mode, &subst));
  int replace_ctl = td_attr_bool(node, "replace_control_characters", false);
  td_dtype sdt = td_attr_type(node, "Tsplits", TD_DT_INT64);
  if (sdt != TD_DT_INT32 && sdt != TD_DT_INT64)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Tsplits must be int32 or int64, got %s", td_dtype_name(sdt));

  const td_tensor *in = td_k_input(ctx, 0);
  int64_t n = td_tensor_num_elements(in);
  int32_t *cps = NULL;
  int64_t *offs = NULL;
  size_t count = 0, cap = 0;
  td_shape sshape = td_shape_vector(n + 1);
  td_tensor *splits;
  TD_TRY(td_k_alloc_output_uninit(ctx, 0, sdt, &sshape, &splits));
  td_text_split_set(splits, 0, 0);
  for (int64_t i = 0; i < n; i++) {
    const td_string *s = &td_str(in)[i];
    const unsigned char *p = (const unsigned char *)td_text_bytes(s);
    for (size_t at = 0; at < s->len;) {
      int32_t cp;
      int k = td_utf8_decode(p + at, s->len - at, &cp);
      if (cp < 0) {
        if (mode == ERR_STRICT) {
          free(cps);
          free(offs);
          return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Invalid formatting on input string");
        }
        if (mode == ERR_IGNORE) {
          at += (size_t)k;
          continue;
        }
        cp = subst;
      } else if (replace_ctl && cp <= 0x1F) {
        cp = subst;
      }
      if (count == cap) {
        size_t c2 = cap;
        TD_GROW(cps, cap, count + 1);
        TD_GROW(offs, c2, count + 1);
      }
      cps[count] = cp;
      offs[count++] = (int64_t)at;
      at += (size_t)k;
    }
    td_text_split_set(splits, i + 1, (int64_t)count);
  }
  td_shape vshape = td_shape_vector((int64_t)count);
  td_tensor *vals, *starts;
  td_code rc = td_k_alloc_output_uninit(ctx, 1, TD_DT_INT32, &vshape, &vals);
  if (rc == TD_OK && count) memcpy(vals->data, cps, count * sizeof *cps);
  if (rc == TD_OK && with_offsets) {
    rc = td_k_alloc_output_uninit(ctx, 2, TD_DT_INT64, &vshape, &starts);
    if (rc == TD_OK && count) memcpy(starts->data, offs, count * sizeof *offs);
  }
  free(cps);
  free(offs);
  return rc;
}

td_code td_k_unicode_decode(td_kctx *ctx) { return decode(ctx, 0); }
td_code td_k_unicode_decode_with_offsets(td_kctx *ctx) { return decode(ctx, 1); }

/* ---------------------------------------------------------------- encode */

/* ICU's U_IS_UNICODE_CHAR: a scalar value that is not a noncharacter. */
static int unicode_char(int64_t c) {
  if (c < 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  return !(c >= 0xFDD0 && (c <= 0xFDEF || (c & 0xFFFE) == 0xFFFE));
}

typedef enum { OUT_UTF8, OUT_UTF16BE, OUT_UTF32BE } out_enc;

static size_t put(out_enc e, int32_t cp, char *o) {
  switch (e) {
    case OUT_UTF8: return (size_t)td_utf8_encode(cp, o);
    case OUT_UTF16BE:
      if (cp < 0x10000) {
        o[0] = (char)(cp >> 8), o[1] = (char)cp;
        return 2;
      } else {
        int32_t v = cp - 0x10000, hi = 0xD800 | v >> 10, lo = 0xDC00 | (v & 0x3FF);
        o[0] = (char)(hi >> 8), o[1] = (char)hi, o[2] = (char)(lo >> 8), o[3] = (char)lo;
        return 4;
      }
    case OUT_UTF32BE:
      o[0] = (char)(cp >> 24), o[1] = (char)(cp >> 16), o[2] = (char)(cp >> 8), o[3] = (char)cp;
      return 4;
  }
  return 0;
}

td_code td_k_unicode_encode(td_kctx *ctx) {
  const td_node *node = td_k_node(ctx);
  const td_tensor *vals = td_k_input(ctx, 0), *splits = td_k_input(ctx, 1);
  size_t elen = 0;
  const char *enc = td_attr_str(node, "output_encoding", &elen);
  out_enc oe;
  if (enc && encoding_is(enc, elen, "UTF-8", "UTF8")) oe = OUT_UTF8;
  else if (enc && encoding_is(enc, elen, "UTF-16-BE", NULL)) oe = OUT_UTF16BE;
  else if (enc && encoding_is(enc, elen, "UTF-32-BE", NULL)) oe = OUT_UTF32BE;
  else return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Unsupported output_encoding '%.*s'", (int)(enc ? elen : 0), enc ? enc : "");
  err_mode mode;
  int32_t subst;
  TD_TRY(read_errors(ctx, &mode, &subst));
  if (vals->dtype != TD_DT_INT32 || vals->shape.rank != 1)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "input_values must be a 1-D int32 tensor");
  int64_t nvals = vals->shape.dim[0];
  TD_TRY(td_text_check_splits(ctx, splits, nvals, "input_splits"));
  int64_t rows = splits->shape.dim[0] > 0 ? splits->shape.dim[0] - 1 : 0;
  td_shape oshape = td_shape_vector(rows);
  td_tensor out;
  TD_TRY(td_text_new_tensor(ctx, TD_DT_STRING, &oshape, &out));
  char *buf = NULL;
  size_t cap = 0;
  td_code rc = TD_OK;
  for (int64_t r = 0; r < rows && rc == TD_OK; r++) {
    int64_t a = td_text_split_at(splits, r), b = td_text_split_at(splits, r + 1);
    size_t need = 4 * (size_t)(b - a) + 1, len = 0;
    if (need > cap) TD_GROW(buf, cap, need);
    for (int64_t k = a; k < b; k++) {
      int32_t cp = td_i32(vals)[k];
      if (!unicode_char(cp)) {
        if (mode == ERR_STRICT) {
          rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "Code point is out of range for Unicode, or a noncharacter.");
          break;
        }
        if (mode == ERR_IGNORE) continue;
        cp = subst;
      }
      len += put(oe, cp, buf + len);
    }
    if (rc == TD_OK) td_tensor_set_string(&out, r, buf ? buf : "", len);
  }
  free(buf);
  return td_text_finish(ctx, 0, &out, rc);
}
