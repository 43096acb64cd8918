/* string_num.h — TF's text → number rules (safe_strto32/64, safe_strtof/d), shared by the
 * string kernels (StringToNumber) and text-file table initialization. Header-only, pure.
 *
 * Integers: optional surrounding whitespace, optional '-', decimal digits, range-checked.
 * Reals: inputs of 32+ bytes rejected; surrounding whitespace; optional sign; decimal or hex
 * integer forms; case-insensitive "inf"/"nan"; the whole token must be consumed.
 */
#ifndef TD_ENGINE_KERNELS_STRING_NUM_H
#define TD_ENGINE_KERNELS_STRING_NUM_H

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static inline int td_num_is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Parses p[0..n) as a decimal integer in [lo, hi]; returns 1 on success. */
static inline int td_parse_decimal(const char *p, size_t n, int64_t lo, int64_t hi, int64_t *out) {
  size_t i = 0;
  while (i < n && td_num_is_space(p[i])) i++;
  int neg = i < n && p[i] == '-';
  if (neg) i++;
  if (i >= n || p[i] < '0' || p[i] > '9') return 0;
  uint64_t v = 0;
  for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
    if (v > (UINT64_MAX - 9) / 10) return 0;
    v = v * 10 + (uint64_t)(p[i] - '0');
  }
  while (i < n && td_num_is_space(p[i])) i++;
  if (i != n) return 0;
  if (neg) {
    if (v > (uint64_t)INT64_MAX + 1) return 0;
    int64_t s = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    if (s < lo) return 0;
    *out = s;
    return 1;
  }
  if (v > (uint64_t)hi) return 0;
  *out = (int64_t)v;
  return 1;
}

/* Parses p[0..n) as a float (is_float) or double; returns 1 on success. */
static inline int td_parse_real(const char *p, size_t n, int is_float, double *out) {
  if (n >= 32) return 0;
  char buf[32];
  size_t b = 0, e = n;
  while (b < e && td_num_is_space(p[b])) b++;
  while (e > b && td_num_is_space(p[e - 1])) e--;
  if (b == e) return 0;
  memcpy(buf, p + b, e - b);
  buf[e - b] = 0;
  const char *s = buf + (buf[0] == '+' || buf[0] == '-');
  if (!strcasecmp(s, "inf") || !strcasecmp(s, "nan")) {
    double v = tolower((unsigned char)s[0]) == 'i' ? INFINITY : NAN;
    *out = buf[0] == '-' ? -v : v;
    return 1;
  }
  int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  for (const char *q = s; *q; q++) {
    char c = (char)tolower((unsigned char)*q);
    int ok = (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-' ||
             (hex ? (c == 'x' || (c >= 'a' && c <= 'f')) : c == 'e');
    if (!ok) return 0; /* rejects "infinity", "nan(...)", hex floats */
  }
  char *end;
  if (is_float) *out = strtof(buf, &end);
  else *out = strtod(buf, &end);
  return end != buf && *end == 0;
}

#endif
