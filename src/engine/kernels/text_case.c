/* text_case.c — StringLower, StringUpper, StringStrip, StringLength.
 *
 * Case mapping: encoding '' maps ASCII letters only (bytes >= 0x80 untouched, as TF's
 * absl::AsciiStrToLower); encoding 'utf-8' maps Unicode as TF's ICU does: full case mapping
 * (ß → SS, İ → i̇, ﬁ → FI, ...) from the generated tables of text_case_tables.h (no locale
 * needed, so it works in a bare container) plus the Greek final sigma; malformed UTF-8 becomes
 * U+FFFD per maximal subpart, as ICU's converter does, and (as TF, which passes a C string
 * to ICU) the text ends at a NUL byte. Stateless and reentrant (tables are read-only).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/text_case_tables.h"
#include "engine/kernels/text_internal.h"
#include "util/mem.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int is_cased(int32_t cp) {
  size_t lo = 0, hi = COUNT(kCased);
  while (lo < hi) { /* first run whose last >= cp */
    size_t mid = (lo + hi) / 2;
    if (kCased[mid][1] < cp) lo = mid + 1;
    else hi = mid;
  }
  return lo < COUNT(kCased) && kCased[lo][0] <= cp;
}

/* Maps cp into out[0..3); returns the number of code points. */
static int map_cp(int32_t cp, int upper, int32_t out[3]) {
  out[0] = cp;
  if (cp < 0x80) {
    out[0] = upper ? toupper(cp) : tolower(cp);
    return 1;
  }
  if (!is_cased(cp)) return 1;
  const td_case_multi *multi = upper ? kUpperMulti : kLowerMulti;
  size_t nmulti = upper ? COUNT(kUpperMulti) : COUNT(kLowerMulti);
  for (size_t t = 0; t < nmulti; t++)
    if (multi[t].cp == cp) {
      int n = 0;
      while (n < 3 && multi[t].to[n]) out[n] = multi[t].to[n], n++;
      return n;
    }
  const td_case_run *runs = upper ? kUpperRuns : kLowerRuns;
  size_t nruns = upper ? COUNT(kUpperRuns) : COUNT(kLowerRuns);
  for (size_t t = 0; t < nruns && runs[t].first <= cp; t++)
    if (cp <= runs[t].last && (cp - runs[t].first) % runs[t].stride == 0) {
      out[0] = cp + runs[t].delta;
      break;
    }
  return 1;
}

/* Appends `cp` to the buffer; returns the new length. */
static size_t put_cp(char *buf, size_t len, int32_t cp) {
  char enc[4];
  int k = td_utf8_encode(cp, enc);
  if (!k) k = td_utf8_encode(0xFFFD, enc);
  memcpy(buf + len, enc, (size_t)k);
  return len + (size_t)k;
}

/* Maps s[0..n) into buf (capacity >= 9 * n: no mapping yields more than 3 output bytes per
 * input byte; 9 leaves a wide margin). Returns the output length. */
static size_t map_utf8(const char *s, size_t n, int upper, char *buf) {
  const unsigned char *u = (const unsigned char *)s;
  size_t len = 0;
  int prev_cased = 0;
  for (size_t i = 0; i < n;) {
    int32_t cp;
    int k = td_utf8_decode(u + i, n - i, &cp);
    i += (size_t)k;
    if (cp < 0) {
      len = put_cp(buf, len, 0xFFFD);
      prev_cased = 0;
      continue;
    }
    int cased = is_cased(cp);
    if (!upper && cp == 0x03A3) {
      /* Final sigma: after a cased letter and not before one. */
      int32_t next = -1;
      if (i < n) td_utf8_decode(u + i, n - i, &next);
      len = put_cp(buf, len, prev_cased && !(next >= 0 && is_cased(next)) ? 0x03C2 : 0x03C3);
    } else {
      int32_t out[3];
      int m = map_cp(cp, upper, out);
      for (int t = 0; t < m; t++) len = put_cp(buf, len, out[t]);
    }
    prev_cased = cased;
  }
  return len;
}

static td_code change_case(td_kctx *ctx, int upper) {
  TD_TRY(td_text_expect_string(ctx, 0, "input"));
  const td_node *node = td_k_node(ctx);
  size_t elen = 0;
  const char *enc = td_attr_str(node, "encoding", &elen);
  int utf8 = 0;
  if (enc && elen) {
    if (elen == 5 && !memcmp(enc, "utf-8", 5)) utf8 = 1;
    else
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "only utf-8 or '' (no encoding) is supported, received %.*s", (int)elen,
                       enc);
  }
  const td_tensor *in = td_k_input(ctx, 0);
  td_tensor out;
  TD_TRY(td_text_new_tensor(ctx, TD_DT_STRING, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  char *buf = NULL;
  size_t cap = 0;
  for (int64_t i = 0; i < n; i++) {
    const td_string *s = &td_str(in)[i];
    size_t need = utf8 ? 9 * s->len + 1 : s->len + 1;
    if (need > cap) TD_GROW(buf, cap, need);
    size_t len;
    if (utf8) {
      /* TF hands ICU a C string: the text ends at the first NUL byte. */
      const char *nul = s->len ? memchr(s->data, 0, s->len) : NULL;
      len = map_utf8(td_text_bytes(s), nul ? (size_t)(nul - s->data) : s->len, upper, buf);
    } else {
      for (size_t k = 0; k < s->len; k++) {
        unsigned char c = (unsigned char)s->data[k];
        buf[k] = (char)(c < 0x80 ? (upper ? toupper(c) : tolower(c)) : c);
      }
      len = s->len;
    }
    td_tensor_set_string(&out, i, buf, len);
  }
  free(buf);
  return td_text_finish(ctx, 0, &out, TD_OK);
}

td_code td_k_string_lower(td_kctx *ctx) { return change_case(ctx, 0); }
td_code td_k_string_upper(td_kctx *ctx) { return change_case(ctx, 1); }

/* ---------------------------------------------------------------- StringStrip */

static int ascii_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

td_code td_k_string_strip(td_kctx *ctx) {
  TD_TRY(td_text_expect_string(ctx, 0, "input"));
  const td_tensor *in = td_k_input(ctx, 0);
  td_tensor out;
  TD_TRY(td_text_new_tensor(ctx, TD_DT_STRING, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  for (int64_t i = 0; i < n; i++) {
    const td_string *s = &td_str(in)[i];
    const char *p = td_text_bytes(s);
    size_t a = 0, b = s->len;
    while (a < b && ascii_space((unsigned char)p[a])) a++;
    while (b > a && ascii_space((unsigned char)p[b - 1])) b--;
    td_tensor_set_string(&out, i, p + a, b - a);
  }
  return td_text_finish(ctx, 0, &out, TD_OK);
}

/* ---------------------------------------------------------------- StringLength */

td_code td_k_string_length(td_kctx *ctx) {
  TD_TRY(td_text_expect_string(ctx, 0, "input"));
  const td_node *node = td_k_node(ctx);
  int chars = 0;
  if (td_attr_str_eq(node, "unit", "UTF8_CHAR")) chars = 1;
  else if (!td_attr_str_eq(node, "unit", "BYTE")) {
    size_t ul = 0;
    const char *u = td_attr_str(node, "unit", &ul);
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Invalid unit: %.*s", (int)ul, u ? u : "");
  }
  const td_tensor *in = td_k_input(ctx, 0);
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(ctx, 0, TD_DT_INT32, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  for (int64_t i = 0; i < n; i++) {
    const td_string *s = &td_str(in)[i];
    td_i32(out)[i] = (int32_t)(chars ? td_utf8_strlen(td_text_bytes(s), s->len) : (int64_t)s->len);
  }
  return TD_OK;
}
