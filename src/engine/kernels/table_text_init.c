/* table_text_init.c — InitializeTableFromTextFile(V2): keys and values from the columns (or
 * the line number, or the whole line) of a vocabulary file, with TF's delimiter, vocab_size
 * and error rules; the table is then initialized through table.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/string_num.h"
#include "engine/kernels/table_internal.h"
#include "util/file.h"
#include "util/mem.h"

enum { kLineNumber = -1, kWholeLine = -2 };

typedef struct text_source {
  const char *file;
  char delim;
  int64_t key_index, value_index, vocab_size, offset;
} text_source;

/* Token `idx` of line split on delim (empty tokens kept); *ntok receives the token count. */
static void nth_token(const char *line, size_t len, char delim, int64_t idx, const char **tok, size_t *tok_len,
                      size_t *ntok) {
  size_t count = 0, start = 0;
  *tok = NULL;
  *tok_len = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || line[i] == delim) {
      if ((int64_t)count == idx) {
        *tok = line + start;
        *tok_len = i - start;
      }
      count++;
      start = i + 1;
    }
  }
  *ntok = count;
}

/* Converts one field into element i of out (TF's TextFileLineIterator::SetValue). */
static td_code set_field(td_kctx *c, td_tensor *out, int64_t i, int64_t index, const char *line, size_t len,
                         const text_source *src, int64_t line_no) {
  if (index == kLineNumber) {
    td_i64(out)[i] = line_no + src->offset;
    return TD_OK;
  }
  const char *tok = line;
  size_t tlen = len, ntok;
  if (index != kWholeLine) nth_token(line, len, src->delim, index, &tok, &tlen, &ntok);
  int64_t v;
  double d;
  /* TF quotes the field and the line; tensord names only their position (error texts reach
   * clients, and a model's vocabulary file may be a link to any file) */
  static const char *const kMsg = "Field %" PRId64 " in line %" PRId64 " is not a valid %s.";
  switch (out->dtype) {
    case TD_DT_STRING: td_tensor_set_string(out, i, tok, tlen); return TD_OK;
    case TD_DT_INT32:
      if (!td_parse_decimal(tok, tlen, INT32_MIN, INT32_MAX, &v))
        return td_k_fail(c, TD_INVALID_ARGUMENT, kMsg, index, line_no, "int32");
      td_i32(out)[i] = (int32_t)v;
      return TD_OK;
    case TD_DT_INT64:
      if (!td_parse_decimal(tok, tlen, INT64_MIN, INT64_MAX, &v))
        return td_k_fail(c, TD_INVALID_ARGUMENT, kMsg, index, line_no, "int64");
      td_i64(out)[i] = v;
      return TD_OK;
    case TD_DT_FLOAT:
      if (!td_parse_real(tok, tlen, 1, &d))
        return td_k_fail(c, TD_INVALID_ARGUMENT, kMsg, index, line_no, "float");
      td_f32(out)[i] = (float)d;
      return TD_OK;
    case TD_DT_DOUBLE:
      if (!td_parse_real(tok, tlen, 0, &d))
        return td_k_fail(c, TD_INVALID_ARGUMENT, kMsg, index, line_no, "double");
      td_f64(out)[i] = d;
      return TD_OK;
    default:
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Data type %s not supported.", td_dtype_name(out->dtype));
  }
}

typedef struct line_ref {
  size_t start, len;
} line_ref;

/* Splits the file into the lines that become entries, validating like TF's iterator. */
static td_code collect_lines(td_kctx *c, const text_source *src, const char *data, size_t size, line_ref **lines,
                             size_t *nlines) {
  size_t cap = 0, n = 0, pos = 0;
  line_ref *v = NULL;
  int split = src->key_index >= 0 || src->value_index >= 0;
  int64_t need = (src->key_index > src->value_index ? src->key_index : src->value_index);
  td_code rc = TD_OK;
  while (pos < size) {
    if (src->vocab_size != -1 && (int64_t)n >= src->vocab_size) break;
    const char *nl = memchr(data + pos, '\n', size - pos);
    size_t end = nl ? (size_t)(nl - data) : size, next = nl ? end + 1 : size;
    size_t len = end - pos;
    if (len && data[pos + len - 1] == '\r') len--;
    if (len == 0) {
      rc = td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid content in %s: empty line found at position %zu.", src->file,
                     next);
      break;
    }
    if (split) {
      const char *tok;
      size_t tlen, ntok;
      nth_token(data + pos, len, src->delim, 0, &tok, &tlen, &ntok);
      if ((int64_t)ntok <= need) {
        rc = td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Invalid number of columns in %s line %zu : expected %" PRId64 " got %zu", src->file, n,
                       need, ntok);
        break;
      }
    }
    TD_GROW(v, cap, n + 1);
    v[n++] = (line_ref){pos, len};
    pos = next;
  }
  if (rc == TD_OK && src->vocab_size != -1 && (int64_t)n != src->vocab_size)
    rc = td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid vocab_size in %s: expected %" PRId64 " but got %zu", src->file,
                   src->vocab_size, n);
  if (rc != TD_OK) {
    free(v);
    return rc;
  }
  *lines = v;
  *nlines = n;
  return TD_OK;
}

td_code td_k_table_init_from_text_file(td_kctx *c) {
  lookup_table *t;
  TD_TRY(td_table_input(c, &t));
  const td_node *node = td_k_node(c);
  const td_tensor *fname = td_k_input(c, 1);
  char a[64];
  if (fname->dtype != TD_DT_STRING || fname->shape.rank != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "filename should be a single string, but got %s",
                     td_shape_str(&fname->shape, a, sizeof a));
  size_t dlen = 1;
  const char *delim = td_attr_str(node, "delimiter", &dlen);
  if (!delim) delim = "\t", dlen = 1;
  if (dlen != 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "delimiter should be only 1 char");
  td_string fs = td_str(fname)[0];
  char *file = td_xstrndup(fs.data ? fs.data : "", fs.len);
  text_source src = {file, delim[0], td_attr_int(node, "key_index", kWholeLine),
                     td_attr_int(node, "value_index", kLineNumber), td_attr_int(node, "vocab_size", -1),
                     td_attr_int(node, "offset", 0)};
  td_code rc = TD_OK;
  if (src.key_index < kWholeLine || src.value_index < kWholeLine)
    rc = td_k_fail(c, TD_INVALID_ARGUMENT, "key_index and value_index must be >= -2");
  else if (src.key_index == kLineNumber && t->key_dtype != TD_DT_INT64)
    rc = td_k_fail(c, TD_INVALID_ARGUMENT, "Key index for line number requires table key dtype of int64, got %s",
                   td_dtype_name(t->key_dtype));
  else if (src.value_index == kLineNumber && t->value_dtype != TD_DT_INT64)
    rc = td_k_fail(c, TD_INVALID_ARGUMENT, "Value index for line number requires table value dtype of int64, got %s",
                   td_dtype_name(t->value_dtype));
  char *data = NULL;
  size_t size = 0;
  td_status st;
  if (rc == TD_OK && td_read_file(file, &data, &size, &st) != TD_OK) rc = td_k_fail(c, st.code, "%s", st.msg);
  line_ref *lines = NULL;
  size_t n = 0;
  if (rc == TD_OK) rc = collect_lines(c, &src, data, size, &lines, &n);
  td_tensor keys = {0}, values = {0};
  td_shape shape = td_shape_vector((int64_t)n);
  if (rc == TD_OK && td_tensor_alloc(&keys, t->key_dtype, &shape, &st) != TD_OK) rc = td_k_fail(c, st.code, "%s", st.msg);
  if (rc == TD_OK && td_tensor_alloc(&values, t->value_dtype, &shape, &st) != TD_OK)
    rc = td_k_fail(c, st.code, "%s", st.msg);
  for (size_t i = 0; i < n && rc == TD_OK; i++) {
    const char *line = data + lines[i].start;
    rc = set_field(c, &keys, (int64_t)i, src.key_index, line, lines[i].len, &src, (int64_t)i);
    if (rc == TD_OK) rc = set_field(c, &values, (int64_t)i, src.value_index, line, lines[i].len, &src, (int64_t)i);
  }
  if (rc == TD_OK) rc = td_table_initialize_from(c, t, &keys, &values);
  td_tensor_release(&keys);
  td_tensor_release(&values);
  free(lines);
  free(data);
  free(file);
  return rc;
}
