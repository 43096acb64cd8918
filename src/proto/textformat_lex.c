/* textformat_lex.c — the text-format lexer: one token of lookahead (identifiers, numbers,
 * quoted strings, one-char symbols; '#' comments and whitespace skipped), string literals with
 * C escapes (adjacent literals concatenate), and token → number conversions. Errors carry the
 * token's 1-based line and column (tf_perr). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/textformat_internal.h"
#include "util/mem.h"

/* ------------------------------------------------------------------------------------------ */
/* Lexer                                                                                       */




td_code tf_perr(parser *ps, const token *t, const char *fmt, ...) {
  char what[TD_STATUS_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return td_status_set(ps->st, TD_INVALID_ARGUMENT, "Error parsing text-format %s: %d:%d: %s",
                       ps->root_type, t->line, t->col, what);
}

/* A description of a token for error messages: its kind, never its text (error texts must
 * not echo file contents: a model's pbtxt may be a link to any file). Symbols are grammar. */
const char *tf_tok_desc(const token *t, char *buf, size_t cap) {
  switch (t->kind) {
    case TOK_END: return "end of input";
    case TOK_IDENT: return "an identifier";
    case TOK_NUMBER: return "a number";
    case TOK_STRING: return "a string";
    case TOK_SYMBOL: snprintf(buf, cap, "\"%c\"", t->p[0]); return buf;
  }
  return "a token";
}

static int is_ident_start(int c) { return isalpha(c) || c == '_'; }
static int is_ident_char(int c) { return isalnum(c) || c == '_' || c == '.'; }

static void skip_space_and_comments(parser *ps) {
  while (ps->cur < ps->end) {
    char c = *ps->cur;
    if (c == '\n') {
      ps->cur++;
      ps->line++;
      ps->line_start = ps->cur;
    } else if (isspace((unsigned char)c)) {
      ps->cur++;
    } else if (c == '#') {
      while (ps->cur < ps->end && *ps->cur != '\n') ps->cur++;
    } else {
      return;
    }
  }
}

/* Scans the next token into ps->tok. */
td_code tf_lex(parser *ps) {
  skip_space_and_comments(ps);
  token *t = &ps->tok;
  t->p = ps->cur;
  t->line = ps->line;
  t->col = (int)(ps->cur - ps->line_start) + 1;
  if (ps->cur >= ps->end) {
    t->kind = TOK_END;
    t->n = 0;
    return TD_OK;
  }
  const char *s = ps->cur;
  unsigned char c = (unsigned char)*s;
  if (is_ident_start(c)) {
    while (s < ps->end && is_ident_char((unsigned char)*s)) s++;
    t->kind = TOK_IDENT;
  } else if (isdigit(c) || (c == '.' && s + 1 < ps->end && isdigit((unsigned char)s[1]))) {
    int hex = c == '0' && s + 1 < ps->end && (s[1] == 'x' || s[1] == 'X');
    s++;
    while (s < ps->end) {
      unsigned char d = (unsigned char)*s;
      if (isalnum(d) || d == '_' || d == '.' ||
          ((d == '+' || d == '-') && !hex && (s[-1] == 'e' || s[-1] == 'E')))
        s++;
      else
        break;
    }
    t->kind = TOK_NUMBER;
  } else if (c == '"' || c == '\'') {
    s++;
    for (;;) {
      if (s >= ps->end || *s == '\n') {
        t->n = (size_t)(s - t->p);
        return tf_perr(ps, t, "String literal is not terminated (missing closing %c).", c);
      }
      if (*s == '\\' && s + 1 < ps->end && s[1] != '\n') {
        s += 2;
        continue;
      }
      if ((unsigned char)*s == c) break;
      s++;
    }
    s++;
    t->kind = TOK_STRING;
  } else if (strchr("{}<>:[],;-/", c)) {
    s++;
    t->kind = TOK_SYMBOL;
  } else {
    t->n = 1;
    return tf_perr(ps, t, "Invalid character (byte 0x%02x).", c);
  }
  t->n = (size_t)(s - t->p);
  ps->cur = s;
  return TD_OK;
}

int tf_at_symbol(const parser *ps, char c) {
  return ps->tok.kind == TOK_SYMBOL && ps->tok.p[0] == c;
}

/* If the lookahead is symbol c, consumes it and sets *took. */
td_code tf_accept(parser *ps, char c, int *took) {
  *took = tf_at_symbol(ps, c);
  return *took ? tf_lex(ps) : TD_OK;
}

td_code tf_expect(parser *ps, char c) {
  if (!tf_at_symbol(ps, c)) {
    char buf[64];
    return tf_perr(ps, &ps->tok, "Expected \"%c\", found %s.", c, tf_tok_desc(&ps->tok, buf, sizeof buf));
  }
  return tf_lex(ps);
}

int tf_tok_equals(const token *t, const char *word) {
  return t->n == strlen(word) && !strncmp(t->p, word, t->n);
}

int tf_tok_iequals(const token *t, const char *word) {
  return t->n == strlen(word) && !strncasecmp(t->p, word, t->n);
}

/* ------------------------------------------------------------------------------------------ */
/* String literals                                                                             */


static void buf_put(bytes_buf *b, char c) {
  TD_GROW(b->data, b->cap, b->len + 2);
  b->data[b->len++] = c;
  b->data[b->len] = '\0';
}

static void buf_put_utf8(bytes_buf *b, uint32_t cp) {
  if (cp < 0x80) {
    buf_put(b, (char)cp);
  } else if (cp < 0x800) {
    buf_put(b, (char)(0xC0 | (cp >> 6)));
    buf_put(b, (char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    buf_put(b, (char)(0xE0 | (cp >> 12)));
    buf_put(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    buf_put(b, (char)(0x80 | (cp & 0x3F)));
  } else {
    buf_put(b, (char)(0xF0 | (cp >> 18)));
    buf_put(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
    buf_put(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    buf_put(b, (char)(0x80 | (cp & 0x3F)));
  }
}

static int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static const char simple_escapes[][2] = {
    {'a', '\a'}, {'b', '\b'}, {'f', '\f'}, {'n', '\n'},  {'r', '\r'}, {'t', '\t'},
    {'v', '\v'}, {'\\', '\\'}, {'\'', '\''}, {'"', '"'}, {'?', '?'},
};

/* Decodes one quoted string token (escapes resolved) and appends it to b. */
static td_code decode_string(parser *ps, const token *t, bytes_buf *b) {
  const char *s = t->p + 1, *e = t->p + t->n - 1;
  while (s < e) {
    if (*s != '\\') {
      buf_put(b, *s++);
      continue;
    }
    char c = *++s;
    s++;
    int done = 0;
    for (size_t i = 0; i < sizeof simple_escapes / sizeof simple_escapes[0]; i++)
      if (simple_escapes[i][0] == c) {
        buf_put(b, simple_escapes[i][1]);
        done = 1;
        break;
      }
    if (done) continue;
    if (c >= '0' && c <= '7') {
      int v = c - '0';
      for (int k = 0; k < 2 && s < e && *s >= '0' && *s <= '7'; k++) v = v * 8 + (*s++ - '0');
      buf_put(b, (char)(v & 0xFF));
    } else if (c == 'x' || c == 'X') {
      int v = 0, k = 0;
      for (; k < 2 && s < e && hex_value((unsigned char)*s) >= 0; k++) v = v * 16 + hex_value((unsigned char)*s++);
      if (k == 0) return tf_perr(ps, t, "Expected hex digits for escape sequence.");
      buf_put(b, (char)v);
    } else if (c == 'u' || c == 'U') {
      int digits = c == 'u' ? 4 : 8;
      uint32_t cp = 0;
      for (int k = 0; k < digits; k++, s++) {
        if (s >= e || hex_value((unsigned char)*s) < 0)
          return tf_perr(ps, t, "Expected %d hex digits for \\%c escape sequence.", digits, c);
        cp = cp * 16 + (uint32_t)hex_value((unsigned char)*s);
      }
      if (cp > 0x10FFFF) return tf_perr(ps, t, "Invalid Unicode code point in \\%c escape.", c);
      buf_put_utf8(b, cp);
    } else {
      return tf_perr(ps, t, "Invalid escape sequence in string literal: \\%c", c);
    }
  }
  return TD_OK;
}

/* Consumes one or more adjacent string tokens; the result is a new NUL-terminated buffer. */
td_code tf_parse_string_value(parser *ps, bytes_buf *out) {
  char buf[64];
  if (ps->tok.kind != TOK_STRING)
    return tf_perr(ps, &ps->tok, "Expected string, got: %s", tf_tok_desc(&ps->tok, buf, sizeof buf));
  memset(out, 0, sizeof *out);
  buf_put(out, 0);
  out->len = 0; /* an allocated, NUL-terminated empty buffer */
  while (ps->tok.kind == TOK_STRING) {
    token t = ps->tok;
    td_code c = decode_string(ps, &t, out);
    if (c == TD_OK) c = tf_lex(ps);
    if (c != TD_OK) {
      free(out->data);
      return c;
    }
  }
  return TD_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Numbers                                                                                     */

/* An unsigned integer token (decimal, 0x hex, 0 octal); 0 when the token is not an integer. */
int tf_token_to_u64(const token *t, uint64_t *v) {
  char tmp[80];
  if (t->kind != TOK_NUMBER || t->n >= sizeof tmp) return 0;
  memcpy(tmp, t->p, t->n);
  tmp[t->n] = '\0';
  char *endp;
  errno = 0;
  unsigned long long x = strtoull(tmp, &endp, 0);
  if (errno || *endp) return 0;
  *v = x;
  return 1;
}

int tf_token_to_double(const token *t, double *v) {
  char tmp[80];
  if (t->kind != TOK_NUMBER || t->n >= sizeof tmp) return 0;
  size_t n = t->n;
  int hex = n > 1 && t->p[0] == '0' && (t->p[1] == 'x' || t->p[1] == 'X');
  if (!hex && n > 1 && (t->p[n - 1] == 'f' || t->p[n - 1] == 'F')) n--;
  memcpy(tmp, t->p, n);
  tmp[n] = '\0';
  char *endp;
  double x = strtod(tmp, &endp);
  if (*endp) return 0;
  *v = x;
  return 1;
}
