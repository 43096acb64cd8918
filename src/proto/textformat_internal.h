/* textformat_internal.h — the protobuf text-format lexer (textformat_lex.c: tokens, string
 * literals, numbers) as the parser (textformat.c) uses it. One parser per parse; no globals. */
#ifndef TD_PROTO_TEXTFORMAT_INTERNAL_H
#define TD_PROTO_TEXTFORMAT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

typedef enum tok_kind { TOK_END, TOK_IDENT, TOK_NUMBER, TOK_STRING, TOK_SYMBOL } tok_kind;

typedef struct token {
  tok_kind kind;
  const char *p; /* raw text; strings include their quotes */
  size_t n;
  int line, col; /* 1-based */
} token;

typedef struct parser {
  const char *cur, *end, *line_start;
  int line;
  token tok; /* lookahead */
  const char *root_type;
  td_status *st;
  int depth;
} parser;

typedef struct bytes_buf {
  char *data;
  size_t len, cap;
} bytes_buf;

td_code tf_accept(parser *ps, char c, int *took);
int tf_at_symbol(const parser *ps, char c);
td_code tf_expect(parser *ps, char c);
td_code tf_lex(parser *ps);
td_code tf_parse_string_value(parser *ps, bytes_buf *out);
td_code tf_perr(parser *ps, const token *t, const char *fmt, ...) TD_PRINTF(3, 4);
const char *tf_tok_desc(const token *t, char *buf, size_t cap);
int tf_tok_equals(const token *t, const char *word);
int tf_tok_iequals(const token *t, const char *word);
int tf_token_to_double(const token *t, double *v);
int tf_token_to_u64(const token *t, uint64_t *v);

#endif
