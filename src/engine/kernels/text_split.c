/* text_split.c — StringSplit, StringSplitV2 (sparse outputs: indices [N,2], values [N],
 * shape [2]) and StringNGrams (ragged in, ragged out).
 *
 * StringSplit: every byte of `delimiter` is a delimiter ('' = split into bytes), skip_empty
 * drops empty tokens, an empty string has none. StringSplitV2 follows Python's str.split: a
 * non-empty `sep` keeps empty tokens ('' splits to ['']); sep '' splits on runs of ASCII
 * whitespace with no empty tokens; maxsplit > 0 caps the number of splits (the rest, leading
 * whitespace removed, is one more token even when empty — TF's rule), maxsplit 0 keeps the
 * string whole. StringNGrams pads with
 * left_pad/right_pad per TF's rules (pad width min(pad_width or width-1, width-1);
 * preserve_short_sequences emits one ngram for rows too short for any). Stateless, reentrant.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/text_internal.h"
#include "util/mem.h"

typedef struct token {
  int64_t row;
  const char *p;
  size_t len;
} token;

typedef struct tokens {
  token *v;
  size_t n, cap;
} tokens;

static void push(tokens *t, int64_t row, const char *p, size_t len) {
  if (t->n == t->cap) TD_GROW(t->v, t->cap, t->n + 1);
  t->v[t->n++] = (token){row, p, len};
}

static td_code check_vector_and_scalar(td_kctx *ctx, const char *sep_name) {
  const td_tensor *in = td_k_input(ctx, 0), *sep = td_k_input(ctx, 1);
  char buf[64];
  TD_TRY(td_text_expect_string(ctx, 0, "input"));
  TD_TRY(td_text_expect_string(ctx, 1, sep_name));
  if (in->shape.rank != 1)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "input must be a vector, got shape: %s",
                     td_shape_str(&in->shape, buf, sizeof buf));
  if (sep->shape.rank != 0)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "%s must be a scalar, got shape: %s", sep_name,
                     td_shape_str(&sep->shape, buf, sizeof buf));
  return TD_OK;
}

/* Emits the three sparse outputs for `batch` rows. */
static td_code emit_sparse(td_kctx *ctx, const tokens *t, int64_t batch) {
  td_shape ishape = td_shape_make(2, (int64_t[]){(int64_t)t->n, 2});
  td_shape vshape = td_shape_vector((int64_t)t->n), sshape = td_shape_vector(2);
  td_tensor *idx, *shp;
  td_tensor vals;
  TD_TRY(td_k_alloc_output_uninit(ctx, 0, TD_DT_INT64, &ishape, &idx));
  TD_TRY(td_text_new_tensor(ctx, TD_DT_STRING, &vshape, &vals));
  int64_t max_cols = 0, col = 0, row = -1;
  for (size_t k = 0; k < t->n; k++) {
    if (t->v[k].row != row) row = t->v[k].row, col = 0;
    td_i64(idx)[2 * k] = row;
    td_i64(idx)[2 * k + 1] = col++;
    if (col > max_cols) max_cols = col;
    td_tensor_set_string(&vals, (int64_t)k, t->v[k].p, t->v[k].len);
  }
  td_code rc = td_k_alloc_output_uninit(ctx, 2, TD_DT_INT64, &sshape, &shp);
  if (rc == TD_OK) {
    td_i64(shp)[0] = batch;
    td_i64(shp)[1] = max_cols;
  }
  return td_text_finish(ctx, 1, &vals, rc);
}

/* ---------------------------------------------------------------- StringSplit */

td_code td_k_string_split(td_kctx *ctx) {
  TD_TRY(check_vector_and_scalar(ctx, "delimiter"));
  const td_tensor *in = td_k_input(ctx, 0);
  const td_string *delim = &td_str(td_k_input(ctx, 1))[0];
  int skip_empty = td_attr_bool(td_k_node(ctx), "skip_empty", true);
  unsigned char is_delim[256] = {0};
  for (size_t k = 0; k < delim->len; k++) is_delim[(unsigned char)delim->data[k]] = 1;
  tokens t = {0};
  int64_t batch = in->shape.dim[0];
  for (int64_t r = 0; r < batch; r++) {
    const td_string *s = &td_str(in)[r];
    const char *p = td_text_bytes(s);
    if (s->len == 0) continue; /* an empty string has no tokens, even with skip_empty=false */
    if (delim->len == 0) {
      for (size_t k = 0; k < s->len; k++) push(&t, r, p + k, 1);
      continue;
    }
    size_t start = 0;
    for (size_t k = 0; k <= s->len; k++) {
      if (k < s->len && !is_delim[(unsigned char)p[k]]) continue;
      if (!skip_empty || k > start) push(&t, r, p + start, k - start);
      start = k + 1;
    }
  }
  td_code rc = emit_sparse(ctx, &t, batch);
  free(t.v);
  return rc;
}

/* ---------------------------------------------------------------- StringSplitV2 */

static int space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static void split_whitespace(tokens *t, int64_t r, const char *p, size_t n, int64_t maxsplit) {
  size_t i = 0;
  int64_t splits = 0;
  while (i < n && space((unsigned char)p[i])) i++;
  while (i < n) {
    size_t j = i;
    while (j < n && !space((unsigned char)p[j])) j++;
    push(t, r, p + i, j - i);
    for (i = j; i < n && space((unsigned char)p[i]);) i++;
    if (++splits == maxsplit) {
      push(t, r, p + i, n - i); /* the rest (possibly empty), trailing whitespace kept */
      return;
    }
  }
}

static void split_sep(tokens *t, int64_t r, const char *p, size_t n, const char *sep, size_t sl, int64_t maxsplit) {
  size_t start = 0;
  int64_t splits = 0;
  for (size_t i = 0; i + sl <= n && (maxsplit < 0 || splits < maxsplit);) {
    if (memcmp(p + i, sep, sl) == 0) {
      push(t, r, p + start, i - start);
      splits++;
      i += sl;
      start = i;
    } else {
      i++;
    }
  }
  push(t, r, p + start, n - start);
}

td_code td_k_string_split_v2(td_kctx *ctx) {
  TD_TRY(check_vector_and_scalar(ctx, "sep"));
  const td_tensor *in = td_k_input(ctx, 0);
  const td_string *sep = &td_str(td_k_input(ctx, 1))[0];
  int64_t maxsplit = td_attr_int(td_k_node(ctx), "maxsplit", -1);
  tokens t = {0};
  int64_t batch = in->shape.dim[0];
  for (int64_t r = 0; r < batch; r++) {
    const td_string *s = &td_str(in)[r];
    if (maxsplit == 0) push(&t, r, td_text_bytes(s), s->len); /* no split at all, as TF */
    else if (sep->len == 0) split_whitespace(&t, r, td_text_bytes(s), s->len, maxsplit);
    else split_sep(&t, r, td_text_bytes(s), s->len, sep->data, sep->len, maxsplit);
  }
  td_code rc = emit_sparse(ctx, &t, batch);
  free(t.v);
  return rc;
}

/* ---------------------------------------------------------------- StringNGrams */

typedef struct ngram_opts {
  td_string sep, lpad, rpad;
  int64_t pad_width;
  int preserve_short;
} ngram_opts;

static int64_t pad_for(const ngram_opts *o, int64_t width) {
  int64_t p = o->pad_width < 0 ? width - 1 : o->pad_width;
  return p < width - 1 ? p : width - 1;
}

static int64_t num_ngrams(const ngram_opts *o, int64_t len, int64_t width) {
  int64_t n = len + 2 * pad_for(o, width) - width + 1;
  return n > 0 ? n : 0;
}

static void append(char **buf, size_t *len, size_t *cap, const char *p, size_t n) {
  if (*len + n > *cap) TD_GROW(*buf, *cap, *len + n);
  if (n) memcpy(*buf + *len, p, n);
  *len += n;
}

/* Writes the `count` ngrams of `width` over data[0..) into out starting at element *at. */
static void make_ngrams(const ngram_opts *o, const td_string *data, int64_t count, int64_t width, td_tensor *out,
                        int64_t *at, char **buf, size_t *cap) {
  int64_t pad = pad_for(o, width);
  for (int64_t g = 0; g < count; g++) {
    int64_t left = pad - g > 0 ? pad - g : 0;
    int64_t right = pad - (count - (g + 1)) > 0 ? pad - (count - (g + 1)) : 0;
    int64_t ntok = width - (left + right);
    int64_t first = left > 0 ? 0 : g - pad;
    size_t len = 0;
    for (int64_t k = 0; k < left; k++) {
      append(buf, &len, cap, td_text_bytes(&o->lpad), o->lpad.len);
      append(buf, &len, cap, td_text_bytes(&o->sep), o->sep.len);
    }
    for (int64_t k = 0; k + 1 < ntok; k++) {
      append(buf, &len, cap, td_text_bytes(&data[first + k]), data[first + k].len);
      append(buf, &len, cap, td_text_bytes(&o->sep), o->sep.len);
    }
    if (ntok > 0) {
      append(buf, &len, cap, td_text_bytes(&data[first + ntok - 1]), data[first + ntok - 1].len);
      for (int64_t k = 0; k < right; k++) {
        append(buf, &len, cap, td_text_bytes(&o->sep), o->sep.len);
        append(buf, &len, cap, td_text_bytes(&o->rpad), o->rpad.len);
      }
    } else {
      for (int64_t k = 0; k + 1 < right; k++) {
        append(buf, &len, cap, td_text_bytes(&o->rpad), o->rpad.len);
        append(buf, &len, cap, td_text_bytes(&o->sep), o->sep.len);
      }
      append(buf, &len, cap, td_text_bytes(&o->rpad), o->rpad.len);
    }
    td_tensor_set_string(out, (*at)++, *buf ? *buf : "", len);
  }
}

static td_string attr_string(const td_node *node, const char *name) {
  size_t n = 0;
  const char *p = td_attr_str(node, name, &n);
  return (td_string){(char *)(p ? p : ""), p ? n : 0};
}

td_code td_k_string_ngrams(td_kctx *ctx) {
  TD_TRY(td_text_expect_string(ctx, 0, "data"));
  const td_node *node = td_k_node(ctx);
  const td_tensor *data = td_k_input(ctx, 0), *splits = td_k_input(ctx, 1);
  char buf[64];
  if (data->shape.rank != 1)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Input data must be a vector, got shape: %s",
                     td_shape_str(&data->shape, buf, sizeof buf));
  int64_t nvals = data->shape.dim[0];
  TD_TRY(td_text_check_splits(ctx, splits, nvals, "data_splits"));
  ngram_opts o = {attr_string(node, "separator"), attr_string(node, "left_pad"), attr_string(node, "right_pad"),
                  td_attr_int(node, "pad_width", -1), td_attr_bool(node, "preserve_short_sequences", false)};
  const int64_t *widths;
  size_t nw = td_attr_list_int(node, "ngram_widths", &widths);
  for (size_t w = 0; w < nw; w++)
    if (widths[w] <= 0 || widths[w] > INT32_MAX)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "ngram_widths must contain positive values");
  if (o.pad_width > INT32_MAX) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "pad_width %" PRId64 " is too large", o.pad_width);
  int64_t rows = splits->shape.dim[0] > 0 ? splits->shape.dim[0] - 1 : 0;
  /* Pass 1: sizes → output splits. */
  td_shape sshape = td_shape_vector(rows + 1);
  td_tensor *osplits;
  TD_TRY(td_k_alloc_output_uninit(ctx, 1, splits->dtype, &sshape, &osplits));
  int64_t total = 0;
  td_text_split_set(osplits, 0, 0);
  for (int64_t r = 0; r < rows; r++) {
    int64_t len = td_text_split_at(splits, r + 1) - td_text_split_at(splits, r), cnt = 0;
    for (size_t w = 0; w < nw; w++) cnt += num_ngrams(&o, len, widths[w]);
    if (o.preserve_short && cnt == 0 && len > 0) cnt = 1;
    total += cnt;
    td_text_split_set(osplits, r + 1, total);
  }
  /* Pass 2: the ngrams. */
  td_shape oshape = td_shape_vector(total);
  td_tensor out;
  TD_TRY(td_text_new_tensor(ctx, TD_DT_STRING, &oshape, &out));
  char *tmp = NULL;
  size_t cap = 0;
  int64_t at = 0;
  for (int64_t r = 0; r < rows; r++) {
    int64_t start = td_text_split_at(splits, r), len = td_text_split_at(splits, r + 1) - start;
    const td_string *row = td_str(data) + start;
    int64_t before = at;
    for (size_t w = 0; w < nw; w++) make_ngrams(&o, row, num_ngrams(&o, len, widths[w]), widths[w], &out, &at, &tmp, &cap);
    if (o.preserve_short && at == before && len > 0) {
      /* Padding is fixed here (dynamic padding always yields ngrams for non-empty rows). */
      ngram_opts fixed = o;
      fixed.pad_width = o.pad_width < 0 ? 0 : o.pad_width;
      int64_t width = len + 2 * fixed.pad_width;
      make_ngrams(&fixed, row, 1, width, &out, &at, &tmp, &cap);
    }
  }
  free(tmp);
  return td_text_finish(ctx, 0, &out, TD_OK);
}
