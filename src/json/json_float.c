/* json_float.c — TF Serving's WriteDecimal for floats without printf on the common path.
 *
 * TF prints a float as "%g" (6 significant digits) when that text reads back as the same
 * float, else "%.9g", and appends ".0" when the text has neither '.' nor 'e'. glibc's printf
 * rounds the exact binary value half-to-even; this file reproduces its digits with one double
 * multiply or divide (x * 10^k, relative error <= 2^-52) and answers only when that error
 * cannot change the outcome: a rounding position within 1e-15 * 10^P of a half (P = 6 or 9),
 * or a round-trip test within 1e-15 * 10^6 of a float's rounding boundary, falls back to
 * snprintf + strtof exactly as before — so the output is glibc's, byte for byte (the unit test
 * compares millions of floats against snprintf). Powers of two (asymmetric rounding
 * intervals) other than small integers also take the snprintf path.
 * Stateless and thread-safe.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_internal.h"

/* 10^k for k in [-40, 60], each correctly rounded (decimal literals); exact for |k| <= 22. */
#define P10(k) 1e##k
static const double pow10_pos[] = {
    P10(0),  P10(1),  P10(2),  P10(3),  P10(4),  P10(5),  P10(6),  P10(7),  P10(8),  P10(9),  P10(10),
    P10(11), P10(12), P10(13), P10(14), P10(15), P10(16), P10(17), P10(18), P10(19), P10(20), P10(21),
    P10(22), P10(23), P10(24), P10(25), P10(26), P10(27), P10(28), P10(29), P10(30), P10(31), P10(32),
    P10(33), P10(34), P10(35), P10(36), P10(37), P10(38), P10(39), P10(40), P10(41), P10(42), P10(43),
    P10(44), P10(45), P10(46), P10(47), P10(48), P10(49), P10(50), P10(51), P10(52), P10(53), P10(54),
    P10(55), P10(56), P10(57), P10(58), P10(59), P10(60)};
#define MAX_POW10 60

/* x * 10^k (k >= 0: multiply; k < 0: divide, exact divisor while -k <= 22). */
static double scale10(double x, int k) { return k >= 0 ? x * pow10_pos[k] : x / pow10_pos[-k]; }

/* P significant digits of x > 0 (a float's value): *q in [10^(P-1), 10^P), *e10 the decimal
 * exponent of the first digit, *y the scaled value x * 10^(P-1-e10) before rounding.
 * 0 when the double arithmetic cannot decide the rounding. */
static int float_digits(double x, int P, uint64_t *q, int *e10, double *y) {
  const double lo = pow10_pos[P - 1], hi = pow10_pos[P], margin = pow10_pos[P] * 1e-15;
  int e2;
  (void)frexp(x, &e2);                             /* x in [2^(e2-1), 2^e2) */
  int e = (int)floor((e2 - 1) * 0.30102999566398120); /* floor(log10(x)) or one less */
  double s = 0;
  for (int tries = 0; tries < 3; tries++) {
    int k = P - 1 - e;
    if (k > MAX_POW10 || -k > MAX_POW10) return 0;
    s = scale10(x, k);
    if (s >= hi) e++;
    else if (s < lo) e--;
    else break;
  }
  if (s < lo || s >= hi) return 0;
  double fl = floor(s), f = s - fl;
  if (fabs(f - 0.5) <= margin) return 0; /* a tie or too close to one: glibc decides */
  uint64_t v = (uint64_t)fl + (f > 0.5);
  if ((double)v >= hi) { /* 9.999...95 → 10.00...: one more digit of exponent, y rescaled with it */
    v /= 10;
    e++;
    s /= 10;
  }
  *q = v;
  *e10 = e;
  *y = s;
  return 1;
}

/* glibc's %.Pg text of q (P digits) * 10^(e10 - P + 1); returns its length (no sign). */
static size_t format_g(char *out, uint64_t q, int P, int e10) {
  char d[20];
  int n = P;
  for (int i = P - 1; i >= 0; i--, q /= 10) d[i] = (char)('0' + q % 10);
  while (n > 1 && d[n - 1] == '0') n--; /* %g drops trailing zeros */
  char *p = out;
  if (e10 < -4 || e10 >= P) {
    *p++ = d[0];
    if (n > 1) {
      *p++ = '.';
      memcpy(p, d + 1, (size_t)n - 1);
      p += n - 1;
    }
    *p++ = 'e';
    *p++ = e10 < 0 ? '-' : '+';
    int a = e10 < 0 ? -e10 : e10;
    if (a >= 100) *p++ = (char)('0' + a / 100);
    *p++ = (char)('0' + a / 10 % 10);
    *p++ = (char)('0' + a % 10);
  } else if (e10 >= 0) {
    int ip = e10 + 1; /* integer digits */
    for (int i = 0; i < ip; i++) *p++ = i < n ? d[i] : '0';
    if (n > ip) {
      *p++ = '.';
      memcpy(p, d + ip, (size_t)(n - ip));
      p += n - ip;
    }
  } else {
    *p++ = '0';
    *p++ = '.';
    for (int i = 0; i < -e10 - 1; i++) *p++ = '0';
    memcpy(p, d, (size_t)n);
    p += n;
  }
  return (size_t)(p - out);
}

/* The fast path for finite nonzero v: its text (sign included) or 0 when undecided. */
static size_t fast_float_text(char *out, float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  char *p = out;
  if (bits >> 31) *p++ = '-';
  double x = fabs((double)v);
  uint32_t frac = bits & 0x7fffff, bexp = bits >> 23 & 0xff;
  if (x < 1e6 && x == floor(x)) { /* small integers: %g prints them whole */
    uint64_t n = (uint64_t)x;
    char d[8];
    int k = 0;
    do d[k++] = (char)('0' + n % 10); while ((n /= 10) != 0);
    while (k) *p++ = d[--k];
    return (size_t)(p - out);
  }
  if (frac == 0 && bexp > 1) return 0; /* a power of two: asymmetric interval, glibc decides */
  uint64_t q;
  int e10;
  double y;
  if (!float_digits(x, 6, &q, &e10, &y)) return 0;
  /* Does the 6-digit decimal read back as v? Half the float's spacing, in y's scale. */
  double ulp = bexp == 0 ? 0x1p-149 : ldexp(1.0, (int)bexp - 127 - 23);
  double h = scale10(ulp * 0.5, 5 - e10), d = fabs((double)q - y), margin = 1e-9;
  if (fabs(d - h) <= margin) return 0;
  if (d > h && !float_digits(x, 9, &q, &e10, &y)) return 0;
  return (size_t)(p - out) + format_g(p, q, d > h ? 9 : 6, e10);
}

void td_json_write_float(td_buf *out, float v) {
  char text[48];
  size_t n = 0;
  if (isnan(v)) {
    td_buf_append(out, "NaN", 3);
    return;
  }
  if (isinf(v)) {
    td_buf_puts(out, v > 0 ? "Infinity" : "-Infinity");
    return;
  }
  if (v == 0) {
    td_buf_puts(out, signbit(v) ? "-0.0" : "0.0");
    return;
  }
  n = fast_float_text(text, v);
  if (n == 0) {
    snprintf(text, sizeof text, "%g", (double)v);
    if (strtof(text, NULL) != v) snprintf(text, sizeof text, "%.9g", (double)v);
    n = strlen(text);
  }
  text[n] = 0;
  td_buf_append(out, text, n);
  if (!memchr(text, '.', n) && !memchr(text, 'e', n)) td_buf_append(out, ".0", 2);
}
