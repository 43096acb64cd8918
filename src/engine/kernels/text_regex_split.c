/* text_regex_split.c — tensorflow_text's RegexSplitWithOffsets on RE2 (re2_shim.h).
 *
 * Inputs: input (strings, flattened to rows), delim_regex_pattern and keep_delim_regex_pattern
 * (scalar strings). Outputs: tokens, begin_offsets, end_offsets (int64 byte offsets into their
 * row) and row_splits (int64, rows + 1). As in tf_text, the delimiter is capture group 1 of
 * delim_regex_pattern (the Python wrapper adds the parentheses); a pattern without a group
 * never splits. Each delimiter match closes the non-empty text before it as a token; the
 * delimiter itself becomes a token when keep_delim_regex_pattern is non-empty and fully
 * matches it; the text after the last delimiter is the last token. A match of zero length is
 * no delimiter: the search moves on by one UTF-8 character (tf_text would loop forever there).
 * The patterns are compiled on every run; nothing is kept between runs.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/re2_shim.h"
#include "engine/kernels/text_internal.h"
#include "util/mem.h"

typedef struct span_list {
  int64_t *v; /* begin, end pairs */
  size_t n, cap;
} span_list;

static void push_span(span_list *l, size_t b, size_t e) {
  if (l->n + 2 > l->cap) {
    l->cap = l->cap ? 2 * l->cap : 64;
    l->v = td_xrealloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n++] = (int64_t)b;
  l->v[l->n++] = (int64_t)e;
}

static size_t utf8_next(const char *s, size_t len, size_t i) {
  i++;
  while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
  return i;
}

static void split_row(const td_re2 *delim, const td_re2 *keep, const char *s, size_t len, span_list *out) {
  size_t last_end = 0, pos = 0, m0, m1, g0, g1;
  while (pos <= len && td_re2_find(delim, s, len, pos, &m0, &m1, &g0, &g1)) {
    if (m1 == m0) { /* empty match: not a delimiter */
      if (m0 >= len) break;
      pos = utf8_next(s, len, m0);
      continue;
    }
    if (g0 > last_end) push_span(out, last_end, g0);
    if (keep && td_re2_full_match(keep, s + g0, g1 - g0)) push_span(out, g0, g1);
    last_end = pos = m1;
  }
  if (last_end < len) push_span(out, last_end, len);
}

static td_code scalar_pattern(td_kctx *ctx, int i, const char *what, td_string *out) {
  const td_tensor *t = td_k_input(ctx, i);
  char buf[64];
  if (t->dtype != TD_DT_STRING || t->shape.rank != 0)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "%s must be a scalar string, but received %s %s", what,
                     td_dtype_name(t->dtype), td_shape_str(&t->shape, buf, sizeof buf));
  *out = td_str(t)[0];
  return TD_OK;
}

static td_code compile(td_kctx *ctx, const td_string *pat, td_re2 **out) {
  char *err = NULL;
  *out = td_re2_new(td_text_bytes(pat), pat->len, &err);
  if (*out) return TD_OK;
  td_code rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "Invalid pattern: %.*s, error: %s", (int)pat->len,
                         td_text_bytes(pat), err ? err : "out of memory");
  free(err);
  return rc;
}

td_code td_k_regex_split_with_offsets(td_kctx *ctx) {
  TD_TRY(td_text_expect_string(ctx, 0, "input"));
  td_string dpat = {0}, kpat = {0};
  TD_TRY(scalar_pattern(ctx, 1, "delim_regex_pattern", &dpat));
  TD_TRY(scalar_pattern(ctx, 2, "keep_delim_regex_pattern", &kpat));
  td_re2 *delim = NULL, *keep = NULL;
  TD_TRY(compile(ctx, &dpat, &delim));
  td_code rc = kpat.len ? compile(ctx, &kpat, &keep) : TD_OK;
  const td_tensor *in = td_k_input(ctx, 0);
  int64_t rows = td_tensor_num_elements(in);
  span_list spans = {0};
  td_tensor *splits = NULL, *begins = NULL, *ends = NULL;
  td_shape rshape = td_shape_vector(rows + 1);
  if (rc == TD_OK) rc = td_k_alloc_output(ctx, 3, TD_DT_INT64, &rshape, &splits);
  for (int64_t r = 0; r < rows && rc == TD_OK; r++) {
    const td_string *s = &td_str(in)[r];
    split_row(delim, keep, td_text_bytes(s), s->len, &spans);
    td_i64(splits)[r + 1] = (int64_t)(spans.n / 2);
  }
  int64_t ntok = (int64_t)(spans.n / 2);
  td_shape tshape = td_shape_vector(ntok);
  td_tensor tokens = {0};
  if (rc == TD_OK) rc = td_text_new_tensor(ctx, TD_DT_STRING, &tshape, &tokens);
  if (rc == TD_OK) rc = td_k_alloc_output(ctx, 1, TD_DT_INT64, &tshape, &begins);
  if (rc == TD_OK) rc = td_k_alloc_output(ctx, 2, TD_DT_INT64, &tshape, &ends);
  for (int64_t r = 0; r < rows && rc == TD_OK; r++) {
    const char *s = td_text_bytes(&td_str(in)[r]);
    for (int64_t t = td_i64(splits)[r]; t < td_i64(splits)[r + 1]; t++) {
      int64_t b = spans.v[2 * t], e = spans.v[2 * t + 1];
      td_tensor_set_string(&tokens, t, s + b, (size_t)(e - b));
      td_i64(begins)[t] = b;
      td_i64(ends)[t] = e;
    }
  }
  free(spans.v);
  td_re2_free(delim);
  td_re2_free(keep);
  if (tokens.dtype == TD_DT_INVALID) return rc;
  return td_text_finish(ctx, 0, &tokens, rc);
}
