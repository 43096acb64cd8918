/* json_number.c — JSON numbers for the pull reader (see json.h): rapidjson's grammar, error
 * texts and Is* predicates, correctly rounded doubles (Clinger's fast path, x87 extended
 * precision with a midpoint check, strtod for the rest), and the fast paths float data needs.
 * Invariant: nothing is read at or past the reader's end.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_internal.h"
#include "util/mem.h"

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

/* ---- numbers ---- */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

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
int td_json_scan_number(td_json_reader *r, td_json_number *out) {
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
      out->d = neg && intval ? -(double)intval : (double)intval; /* "-0" is rapidjson's Int(0): +0.0 */
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
const char *td_json_skip_plain_number(const char *p, const char *end) {
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
  int integral = 1;
  if (p < end && *p == '.') {
    p++;
    if (p >= end || !is_digit((unsigned char)*p)) return 0;
    p = fraction_digits(p, end, &dec);
    integral = 0;
  }
  if (dec.inexact || (p < end && (*p == 'e' || *p == 'E'))) return 0;
  uint64_t mant = dec.mant;
  int exp10 = dec.exp10;
  double d;
  if (mant == 0 && integral) neg = 0; /* "-0": an integer, +0.0 as td_json_read_number gives */
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
  if (t != TD_JSON_NUMBER) return td_json_fail(r, E_VALUE, td_json_offset(r));
  td_json_number tmp;
  return td_json_scan_number(r, out ? out : &tmp);
}
