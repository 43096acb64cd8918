/* json_read.c — the JSON pull reader (see json.h).
 *
 * Grammar and error texts follow rapidjson's iterative parser with kParseNanAndInfFlag and
 * kParseStopWhenDoneFlag. Invariants: r->p never passes r->end; the byte at r->end (if any)
 * is never read; after the first error no call moves r->p. Nothing here recurses. Numbers
 * are read by json_number.c.
 */
#include "json/json_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* rapidjson GetParseError_En texts. */

static const char *const type_names[] = {"Null", "False", "True", "Object", "Array", "String", "Number"};

const char *td_json_type_name(td_json_type t) {
  return (unsigned)t < sizeof type_names / sizeof *type_names ? type_names[t] : "Unknown";
}

/* ---- reader basics ---- */
void td_json_reader_init(td_json_reader *r, const char *data, size_t len) {
  memset(r, 0, sizeof *r);
  r->begin = r->p = data ? data : "";
  r->end = r->begin + (data ? len : 0);
  td_buf_init(&r->key_scratch);
  td_buf_init(&r->val_scratch);
}

void td_json_reader_free(td_json_reader *r) {
  td_buf_release(&r->key_scratch);
  td_buf_release(&r->val_scratch);
  free(r->stack);
  r->stack = NULL;
  r->stack_cap = 0;
}

int td_json_fail(td_json_reader *r, const char *message, size_t offset) {
  if (!r->err) {
    r->err = message;
    r->err_offset = offset;
  }
  return -1;
}

td_code td_json_error_status(const td_json_reader *r, td_status *st) {
  return td_status_set(st, TD_INVALID_ARGUMENT, "JSON Parse error: %s at offset: %zu", r->err ? r->err : E_VALUE,
                       r->err_offset);
}

static inline int peek_byte(const td_json_reader *r) { return r->p < r->end ? (unsigned char)*r->p : -1; }

static inline void skip_ws(td_json_reader *r) {
  const char *p = r->p;
  while (p < r->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  r->p = p;
}

int td_json_at_end(td_json_reader *r) {
  skip_ws(r);
  return r->p >= r->end;
}

static int fail_here(td_json_reader *r, const char *message) { return td_json_fail(r, message, td_json_offset(r)); }

int td_json_peek(td_json_reader *r) {
  if (r->err) return -1;
  skip_ws(r);
  int c = peek_byte(r);
  switch (c) {
  case '{': return TD_JSON_OBJECT;
  case '[': return TD_JSON_ARRAY;
  case '"': return TD_JSON_STRING;
  case 't': return TD_JSON_TRUE;
  case 'f': return TD_JSON_FALSE;
  case 'n': return TD_JSON_NULL;
  case -1: case ']': case '}': case ',': case ':':
    /* Nothing before us but whitespace: the iterative parser's start state. */
    for (const char *q = r->begin; q < r->p; q++)
      if (!(*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')) return fail_here(r, E_VALUE);
    return fail_here(r, E_EMPTY);
  default: return TD_JSON_NUMBER; /* validated by the number reader */
  }
}

/* ---- strings ---- */
static int hex4(const char *p, const char *end, unsigned *out) {
  if (end - p < 4) return -1;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int c = (unsigned char)p[i], d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    v = v << 4 | (unsigned)d;
  }
  *out = v;
  return 0;
}

static void put_utf8(td_buf *b, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) { u[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | (cp >> 6 & 0x3F)); u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
  } else {
    u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    u[2] = (char)(0x80 | (cp >> 6 & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
  }
  td_buf_append(b, u, n);
}

/* Byte → escaped byte for the simple escapes; 0 = not a simple escape. */
static const unsigned char unescape_table[256] = {
    ['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b', ['f'] = '\f', ['n'] = '\n', ['r'] = '\r', ['t'] = '\t',
};

/* Parses the string at r->p ('"' expected). decode: NULL = validate only. */
static int scan_string(td_json_reader *r, td_buf *decode, td_json_str *out) {
  if (r->err) return -1;
  if (peek_byte(r) != '"') return fail_here(r, E_VALUE);
  const char *p = r->p + 1, *end = r->end, *start = p;
  /* Fast path: no escapes. */
  while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) p++;
  if (p < end && *p == '"') {
    if (out) { out->data = start; out->len = (size_t)(p - start); }
    r->p = p + 1;
    return 0;
  }
  if (decode) {
    td_buf_reset(decode);
    td_buf_append(decode, start, (size_t)(p - start));
  }
  for (;;) {
    if (p >= end) return td_json_fail(r, E_QUOTE, (size_t)(p - r->begin));
    unsigned char c = (unsigned char)*p;
    if (c == '"') break;
    if (c == '\\') {
      const char *esc = p;
      if (p + 1 >= end) return td_json_fail(r, E_ESCAPE, (size_t)(esc - r->begin));
      unsigned char e = (unsigned char)p[1];
      if (unescape_table[e]) {
        if (decode) td_buf_putc(decode, (char)unescape_table[e]);
        p += 2;
        continue;
      }
      if (e != 'u') return td_json_fail(r, E_ESCAPE, (size_t)(esc - r->begin));
      unsigned cp;
      if (hex4(p + 2, end, &cp) != 0) return td_json_fail(r, E_HEX, (size_t)(esc - r->begin));
      p += 6;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned lo;
        if (end - p < 2 || p[0] != '\\' || p[1] != 'u') return td_json_fail(r, E_SURROGATE, (size_t)(esc - r->begin));
        if (hex4(p + 2, end, &lo) != 0) return td_json_fail(r, E_HEX, (size_t)(esc - r->begin));
        if (lo < 0xDC00 || lo > 0xDFFF) return td_json_fail(r, E_SURROGATE, (size_t)(esc - r->begin));
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
      }
      if (decode) put_utf8(decode, cp);
      continue;
    }
    if (c < 0x20) return td_json_fail(r, c == 0 ? E_QUOTE : E_ENCODING, (size_t)(p - r->begin));
    const char *run = p;
    while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) p++;
    if (decode) td_buf_append(decode, run, (size_t)(p - run));
  }
  if (out) {
    out->data = decode ? decode->data : start;
    out->len = decode ? decode->len : (size_t)(p - start);
  }
  r->p = p + 1;
  return 0;
}

int td_json_read_string(td_json_reader *r, td_json_str *out) {
  if (td_json_peek(r) < 0) return -1;
  return scan_string(r, &r->val_scratch, out);
}

/* ---- literals ---- */
static int expect_word(td_json_reader *r, const char *word) {
  size_t n = strlen(word);
  for (size_t i = 0; i < n; i++)
    if (r->p + i >= r->end || r->p[i] != word[i]) return td_json_fail(r, E_VALUE, td_json_offset(r) + i);
  r->p += n;
  return 0;
}

int td_json_read_literal(td_json_reader *r, td_json_type *out) {
  int t = td_json_peek(r);
  if (t < 0) return -1;
  static const char *const words[] = {[TD_JSON_NULL] = "null", [TD_JSON_FALSE] = "false", [TD_JSON_TRUE] = "true"};
  if (t != TD_JSON_NULL && t != TD_JSON_FALSE && t != TD_JSON_TRUE) return fail_here(r, E_VALUE);
  if (expect_word(r, words[t]) != 0) return -1;
  if (out) *out = (td_json_type)t;
  return 0;
}

/* ---- containers ---- */
/* After '{' or ',' in an object: a key and a colon. */
static int read_key(td_json_reader *r, td_json_str *key) {
  skip_ws(r);
  if (peek_byte(r) != '"') return fail_here(r, E_MISS_NAME);
  if (scan_string(r, key ? &r->key_scratch : NULL, key) != 0) return -1;
  skip_ws(r);
  if (peek_byte(r) != ':') return fail_here(r, E_MISS_COLON);
  r->p++;
  return 0;
}

int td_json_object_next(td_json_reader *r, td_json_iter *it, td_json_str *key) {
  if (r->err) return -1;
  skip_ws(r);
  if (!it->started) {
    if (peek_byte(r) != '{') return fail_here(r, E_VALUE);
    it->started = 1;
    r->p++;
    skip_ws(r);
    if (peek_byte(r) == '}') { r->p++; return 0; }
    return read_key(r, key) == 0 ? 1 : -1;
  }
  int c = peek_byte(r);
  if (c == '}') { r->p++; return 0; }
  if (c != ',') return fail_here(r, E_OBJ_COMMA);
  r->p++;
  return read_key(r, key) == 0 ? 1 : -1;
}

int td_json_array_next(td_json_reader *r, td_json_iter *it) {
  if (r->err) return -1;
  skip_ws(r);
  if (!it->started) {
    if (peek_byte(r) != '[') return fail_here(r, E_VALUE);
    it->started = 1;
    r->p++;
    skip_ws(r);
    if (peek_byte(r) == ']') { r->p++; return 0; }
    return 1;
  }
  int c = peek_byte(r);
  if (c == ']') { r->p++; return 0; }
  if (c != ',') return fail_here(r, E_ARR_COMMA);
  r->p++;
  return 1;
}

/* ---- skipping ---- */
static void push_level(td_json_reader *r, size_t depth, unsigned char kind) {
  if (depth >= r->stack_cap) {
    size_t cap = r->stack_cap ? r->stack_cap * 2 : 64;
    r->stack = td_xrealloc(r->stack, cap);
    r->stack_cap = cap;
  }
  r->stack[depth] = kind;
}

int td_json_skip(td_json_reader *r) {
  size_t depth = 0;
  for (;;) {
    /* Expecting a value. */
    int t = td_json_peek(r);
    if (t < 0) return -1;
    if (t == TD_JSON_OBJECT || t == TD_JSON_ARRAY) {
      push_level(r, depth++, (unsigned char)t);
      r->p++;
      skip_ws(r);
      if (peek_byte(r) == (t == TD_JSON_OBJECT ? '}' : ']')) {
        r->p++;
        depth--;
      } else if (t == TD_JSON_OBJECT) {
        if (read_key(r, NULL) != 0) return -1;
        continue;
      } else {
        continue;
      }
    } else if (t == TD_JSON_STRING) {
      if (scan_string(r, NULL, NULL) != 0) return -1;
    } else if (t == TD_JSON_NUMBER) {
      const char *past = td_json_skip_plain_number(r->p, r->end);
      if (past) r->p = past;
      else if (td_json_scan_number(r, NULL) != 0) return -1;
    } else {
      if (td_json_read_literal(r, NULL) != 0) return -1;
    }
    /* After a value: close levels until one continues with ','. */
    for (;;) {
      if (depth == 0) return 0;
      unsigned char kind = r->stack[depth - 1];
      skip_ws(r);
      int c = peek_byte(r);
      if (kind == TD_JSON_ARRAY) {
        if (c == ',') { r->p++; break; }
        if (c == ']') { r->p++; depth--; continue; }
        return fail_here(r, E_ARR_COMMA);
      }
      if (c == ',') {
        r->p++;
        if (read_key(r, NULL) != 0) return -1;
        break;
      }
      if (c == '}') { r->p++; depth--; continue; }
      return fail_here(r, E_OBJ_COMMA);
    }
  }
}

int td_json_skip_span(td_json_reader *r, size_t *start, size_t *end) {
  skip_ws(r);
  size_t s = td_json_offset(r);
  if (td_json_skip(r) != 0) return -1;
  if (start) *start = s;
  if (end) *end = td_json_offset(r);
  return 0;
}
