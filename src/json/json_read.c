/* json_read.c — the JSON pull reader (see json.h).
 *
 * Grammar and error texts follow rapidjson's iterative parser with kParseNanAndInfFlag and
 * kParseStopWhenDoneFlag. Invariants: r->p never passes r->end; the byte at r->end (if any)
 * is never read; after the first error no call moves r->p. Nothing here recurses.
 */
#include "json/json.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* rapidjson GetParseError_En texts. */
#define E_EMPTY "The document is empty."
#define E_VALUE "Invalid value."
#define E_MISS_NAME "Missing a name for object member."
#define E_MISS_COLON "Missing a colon after a name of object member."
#define E_OBJ_COMMA "Missing a comma or '}' after an object member."
#define E_ARR_COMMA "Missing a comma or ']' after an array element."
#define E_HEX "Incorrect hex digit after \\u escape in string."
#define E_SURROGATE "The surrogate pair in string is invalid."
#define E_ESCAPE "Invalid escape character in string."
#define E_QUOTE "Missing a closing quotation mark in string."
#define E_ENCODING "Invalid encoding in string."
#define E_TOO_BIG "Number too big to be stored in double."
#define E_FRACTION "Miss fraction part in number."
#define E_EXPONENT "Miss exponent in number."

static const char *const type_names[] = {"Null", "False", "True", "Object", "Array", "String", "Number"};

const char *td_json_type_name(td_json_type t) {
  return (unsigned)t < sizeof type_names / sizeof *type_names ? type_names[t] : "Unknown";
}

/* ---- numbers: rapidjson's Is* predicates ---- */
int td_json_number_is_int64(const td_json_number *n) {
  if (n->is_double) return 0;
  return n->negative ? n->mag <= (uint64_t)INT64_MAX + 1 : n->mag <= (uint64_t)INT64_MAX;
}
int td_json_number_is_int32(const td_json_number *n) {
  if (n->is_double) return 0;
  return n->negative ? n->mag <= (uint64_t)INT32_MAX + 1 : n->mag <= (uint64_t)INT32_MAX;
}
int td_json_number_is_uint64(const td_json_number *n) { return !n->is_double && (!n->negative || n->mag == 0); }
int td_json_number_is_uint32(const td_json_number *n) {
  return td_json_number_is_uint64(n) && n->mag <= UINT32_MAX;
}
int64_t td_json_number_int64(const td_json_number *n) {
  return n->negative ? (int64_t)(0 - n->mag) : (int64_t)n->mag;
}
uint64_t td_json_number_uint64(const td_json_number *n) { return n->mag; }

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

/* ---- numbers ---- */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline int is_digit(int c) { return c >= '0' && c <= '9'; }

/* The value of 8 ASCII digits at p, or -1 when fewer than 8 bytes remain or one is not a
 * digit: one 64-bit load and three multiplies instead of eight steps (the SWAR trick of
 * fast_float / simdjson; little-endian loads). */
static inline int64_t eight_digits(const char *p, const char *end) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (end - p < 8) return -1;
  uint64_t v;
  memcpy(&v, p, 8);
  if (((v + 0x4646464646464646ull) | (v - 0x3030303030303030ull)) & 0x8080808080808080ull) return -1;
  v -= 0x3030303030303030ull;
  v = v * 10 + (v >> 8);
  v = (((v & 0x000000FF000000FFull) * 0x000F424000000064ull) +
       (((v >> 16) & 0x000000FF000000FFull) * 0x0000271000000001ull)) >> 32;
  return (int64_t)v;
#else
  (void)p, (void)end;
  return -1;
#endif
}

/* A decimal's significant digits, shared by the number readers: mant holds the first 19 (they
 * always fit in uint64), digits counts them, exp10 scales them, inexact notes a dropped non-zero
 * digit. */
typedef struct decimal {
  uint64_t mant;
  int digits, exp10, inexact;
} decimal;

/* Integer digits at p (the first is 1-9): the first 19 into d; returns the position after them
 * (more digits may follow). */
static inline const char *integer_digits(const char *p, const char *end, decimal *d) {
  for (int64_t v; d->digits <= 11 && (v = eight_digits(p, end)) >= 0; p += 8, d->digits += 8)
    d->mant = d->mant * 100000000u + (uint64_t)v;
  for (; p < end && d->digits < 19 && is_digit((unsigned char)*p); p++, d->digits++)
    d->mant = d->mant * 10 + (uint64_t)(*p - '0');
  return p;
}

/* Fraction digits at p (after the '.'): leading zeros only scale, digits past the 19th are
 * dropped (noted in inexact); returns the position after the last digit. */
static inline const char *fraction_digits(const char *p, const char *end, decimal *d) {
  for (;;) {
    int64_t v;
    if (d->mant != 0 && d->digits <= 11 && (v = eight_digits(p, end)) >= 0) { /* not in leading zeros */
      d->mant = d->mant * 100000000u + (uint64_t)v;
      d->digits += 8, d->exp10 -= 8, p += 8;
      continue;
    }
    if (p >= end || !is_digit((unsigned char)*p)) return p;
    unsigned digit = (unsigned)(*p++ - '0');
    if (d->mant == 0 && digit == 0) {
      d->exp10--; /* leading zeros */
    } else if (d->digits < 19) {
      d->mant = d->mant * 10 + digit;
      d->digits++, d->exp10--;
    } else {
      d->inexact |= digit != 0;
    }
  }
}

#if LDBL_MANT_DIG == 64 && DBL_MANT_DIG == 53
/* Up to 19 significant digits times 10^e, |e| <= 27, in x87 extended precision: the mantissa and
 * the power (5^27 < 2^64) are exact, so the one multiply/divide rounds once, to within half an
 * extended ulp of the true value. Rounding that to double gives the correctly rounded double
 * unless the extended result sits exactly on a midpoint between two doubles (its low 11 of 64
 * mantissa bits are 100 0000 0000): then the true value may be on either side and we answer -1
 * (the caller uses strtod). This covers what JSON clients send for float data (17-digit
 * shortest round-trip doubles), which Clinger's 2^53 fast path does not. */
static const long double pow10_ext[28] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
                                          1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
                                          1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

static int decimal_to_double_ext(uint64_t mant, int exp10, double *out) {
  if (exp10 < -27 || exp10 > 27) return -1;
  long double x = exp10 < 0 ? (long double)mant / pow10_ext[-exp10] : (long double)mant * pow10_ext[exp10];
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits); /* x86 extended: the first 8 bytes are the explicit mantissa */
  if ((bits & 0x7ff) == 0x400) return -1;
  *out = (double)x;
  return 0;
}
#else
static int decimal_to_double_ext(uint64_t mant, int exp10, double *out) {
  (void)mant, (void)exp10, (void)out;
  return -1;
}
#endif

/* Scans (and, if out != NULL, converts) the number at r->p. */
static int scan_number(td_json_reader *r, td_json_number *out) {
  if (r->err) return -1;
  const char *p = r->p, *end = r->end, *start = p;
  int neg = 0;
  if (p < end && *p == '-') { neg = 1; p++; }
  if (p < end && (*p == 'N' || *p == 'I')) {
    double v;
    if (end - p >= 3 && memcmp(p, "NaN", 3) == 0) { v = NAN; p += 3; }
    else if (end - p >= 3 && memcmp(p, "Inf", 3) == 0) {
      v = neg ? -INFINITY : INFINITY;
      p += 3;
      if (p < end && *p == 'i') {
        if (end - p >= 5 && memcmp(p, "inity", 5) == 0) p += 5;
        else return td_json_fail(r, E_VALUE, (size_t)(p - r->begin));
      }
    } else return td_json_fail(r, E_VALUE, (size_t)(p - r->begin));
    if (out) { out->is_double = 1; out->negative = 0; out->mag = 0; out->d = v; }
    r->p = p;
    return 0;
  }
  if (p >= end || !is_digit((unsigned char)*p)) return td_json_fail(r, E_VALUE, (size_t)(p - r->begin));
  decimal dec = {0};
  uint64_t intval = 0; /* the integer part, exact while it fits */
  int overflow = 0, is_double = 0;
  if (*p == '0') {
    p++;
  } else {
    p = integer_digits(p, end, &dec);
    intval = dec.mant;
    for (; p < end && is_digit((unsigned char)*p); p++) { /* the 20th digit on: exact, with overflow checks */
      unsigned d = (unsigned)(*p - '0');
      dec.exp10++;
      dec.inexact |= d != 0;
      if (!overflow && (__builtin_mul_overflow(intval, 10u, &intval) || __builtin_add_overflow(intval, d, &intval)))
        overflow = 1;
    }
  }
  if (p < end && *p == '.') {
    is_double = 1;
    p++;
    if (p >= end || !is_digit((unsigned char)*p)) return td_json_fail(r, E_FRACTION, (size_t)(p - r->begin));
    p = fraction_digits(p, end, &dec);
  }
  uint64_t mant = dec.mant;
  int digits = dec.digits, exp10 = dec.exp10, inexact = dec.inexact;
  if (p < end && (*p == 'e' || *p == 'E')) {
    is_double = 1;
    p++;
    int eneg = 0;
    if (p < end && (*p == '+' || *p == '-')) { eneg = *p == '-'; p++; }
    if (p >= end || !is_digit((unsigned char)*p)) return td_json_fail(r, E_EXPONENT, (size_t)(p - r->begin));
    int e = 0;
    for (; p < end && is_digit((unsigned char)*p); p++)
      if (e < 100000) e = e * 10 + (*p - '0');
    exp10 += eneg ? -e : e;
  }
  td_json_number probe;
  if (!out && digits + exp10 > 300) out = &probe; /* skipping still reports numbers too big for a double */
  if (out) {
    int integral = !is_double && !overflow && (!neg || intval <= (uint64_t)INT64_MAX + 1);
    if (integral) {
      out->is_double = 0;
      out->negative = neg;
      out->mag = intval;
      out->d = neg ? -(double)intval : (double)intval;
    } else {
      double d;
      /* Clinger's fast path: an exact mantissa times an exact power of ten rounds correctly. */
      if (mant == 0 && !inexact) { /* "0.0", "0e5": common in image data, and no division */
        d = 0.0;
      } else if (!inexact && mant <= (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
        d = exp10 < 0 ? (double)mant / pow10_exact[-exp10] : (double)mant * pow10_exact[exp10];
      } else if (inexact || decimal_to_double_ext(mant, exp10, &d) != 0) {
        size_t n = (size_t)(p - start) - (size_t)neg;
        char small[64];
        char *tmp = n < sizeof small ? small : td_xmalloc(n + 1);
        memcpy(tmp, start + neg, n);
        tmp[n] = 0;
        d = strtod(tmp, NULL);
        if (tmp != small) free(tmp);
      }
      if (isinf(d)) return td_json_fail(r, E_TOO_BIG, (size_t)(start - r->begin));
      out->is_double = 1;
      out->negative = 0;
      out->mag = 0;
      out->d = neg ? -d : d;
    }
  }
  r->p = p;
  return 0;
}

/* Skipping's fast path: the end of a plain number at p (-?(0|[1-9][0-9]*)(.[0-9]+)?, at most 300
 * integer digits), or NULL for anything else (exponents, NaN/Infinity, errors, huge values),
 * which scan_number then handles with its checks and error texts. */
static inline const char *skip_plain_number(const char *p, const char *end) {
  if (p < end && *p == '-') p++;
  if (p >= end || !is_digit((unsigned char)*p)) return NULL;
  if (*p == '0') {
    p++;
  } else {
    const char *digits = p;
    while (p < end && is_digit((unsigned char)*p)) p++;
    if (p - digits > 300) return NULL;
  }
  if (p < end && *p == '.') {
    p++;
    if (p >= end || !is_digit((unsigned char)*p)) return NULL;
    while (p < end && is_digit((unsigned char)*p)) p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) return NULL;
  return p;
}

int td_json_read_plain_double(td_json_reader *r, double *out) {
  if (r->err) return 0;
  const char *p = r->p, *end = r->end;
  int neg = 0;
  if (p < end && *p == '-') { neg = 1; p++; }
  if (p >= end || !is_digit((unsigned char)*p)) return 0;
  decimal dec = {0};
  if (*p == '0') {
    p++;
  } else {
    p = integer_digits(p, end, &dec);
    if (p < end && is_digit((unsigned char)*p)) return 0; /* a 20th integer digit */
  }
  if (p < end && *p == '.') {
    p++;
    if (p >= end || !is_digit((unsigned char)*p)) return 0;
    p = fraction_digits(p, end, &dec);
  }
  if (dec.inexact || (p < end && (*p == 'e' || *p == 'E'))) return 0;
  uint64_t mant = dec.mant;
  int exp10 = dec.exp10;
  double d;
  if (mant == 0) d = 0.0;
  else if (mant <= (1ull << 53) && exp10 >= -22) d = (double)mant / pow10_exact[-exp10];
  else if (decimal_to_double_ext(mant, exp10, &d) != 0) return 0;
  *out = neg ? -d : d;
  r->p = p;
  return 1;
}

int td_json_read_number(td_json_reader *r, td_json_number *out) {
  int t = td_json_peek(r);
  if (t < 0) return -1;
  if (t != TD_JSON_NUMBER) return fail_here(r, E_VALUE);
  td_json_number tmp;
  return scan_number(r, out ? out : &tmp);
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
      const char *past = skip_plain_number(r->p, r->end);
      if (past) r->p = past;
      else if (scan_number(r, NULL) != 0) return -1;
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
