/* pyrepr.c — numpy-compatible array printing (see pyrepr.h for the rules implemented); the
 * Python literal parser is pylit.c.
 *
 * Structure mirrors numpy/core/arrayprint.py: (1) pick the displayed elements (all, or the
 * 3 leading/trailing items per axis when size > 1000), (2) choose one format for them
 * (FloatingFormat / IntegerFormat / BoolFormat / repr), (3) lay them out with _formatArray's
 * wrapping rules. Invariant: elements are formatted and consumed in display order.
 */
#include "cli/pyrepr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

enum { LINE_WIDTH = 75, THRESHOLD = 1000, EDGE_ITEMS = 3, PRECISION = 8 };

/* ---- a tiny string builder ---- */
typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = td_xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}
static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }
static void sb_spaces(sbuf *b, size_t n) {
  for (size_t i = 0; i < n; i++) sb_putn(b, " ", 1);
}
static char *sb_take(sbuf *b) {
  if (!b->p) sb_putn(b, "", 0);
  return b->p;
}

/* ---- displayed elements ---- */

static int axis_summarized(const td_shape *s, int axis, int summary) {
  return summary && s->dim[axis] > 2 * EDGE_ITEMS;
}

/* Appends the flat offsets of displayed elements in display order. */
static void collect(const td_shape *s, int axis, int64_t base, int summary, int64_t *out, size_t *n) {
  if (axis == s->rank) {
    out[(*n)++] = base;
    return;
  }
  int64_t stride = 1;
  for (int i = axis + 1; i < s->rank; i++) stride *= s->dim[i];
  int64_t len = s->dim[axis];
  for (int64_t i = 0; i < len; i++) {
    if (axis_summarized(s, axis, summary) && i == EDGE_ITEMS) i = len - EDGE_ITEMS;
    collect(s, axis + 1, base + i * stride, summary, out, n);
  }
}

/* ---- float formatting ---- */

typedef struct digits {
  char d[40]; /* significant digits, no dot */
  int exp10;  /* value = d[0].d[1..] * 10^exp10 */
  int neg;
} digits;

/* Shortest digits that round-trip in the value's own precision, cut to at most max_frac
 * digits after the point in positional (fractional=1) or scientific (0) layout. */
static void shortest_digits(double v, int is_f32, int max_frac, int fractional, digits *out) {
  char buf[64];
  out->neg = signbit(v) != 0;
  double a = fabs(v);
  int maxp = is_f32 ? 8 : 16;
  for (int p = 0; p <= maxp; p++) {
    snprintf(buf, sizeof buf, "%.*e", p, a);
    double back = is_f32 ? (double)strtof(buf, NULL) : strtod(buf, NULL);
    if (back == a || p == maxp) break;
  }
  char *e = strchr(buf, 'e');
  int exp10 = atoi(e + 1);
  int nd = 0;
  for (char *c = buf; c < e; c++)
    if (*c != '.') out->d[nd++] = *c;
  out->d[nd] = 0;
  int frac = fractional ? nd - 1 - exp10 : nd - 1;
  if (frac > max_frac) { /* round the exact value at the cutoff */
    if (fractional) {
      snprintf(buf, sizeof buf, "%.*e", exp10 + max_frac < 0 ? 0 : exp10 + max_frac, a);
      if (exp10 + max_frac < 0) snprintf(buf, sizeof buf, "%.0e", 0.0);
    } else {
      snprintf(buf, sizeof buf, "%.*e", max_frac, a);
    }
    e = strchr(buf, 'e');
    exp10 = atoi(e + 1);
    nd = 0;
    for (char *c = buf; c < e; c++)
      if (*c != '.') out->d[nd++] = *c;
    while (nd > 1 && out->d[nd - 1] == '0') nd--;
    out->d[nd] = 0;
  }
  out->exp10 = exp10;
  if (out->d[0] == '0') out->exp10 = 0;
}

/* Positional "int.frac" pieces (trim '.': no trailing zeros, keep the dot). Integer digits
 * past the shortest ones are the exact digits of v in arrays (exact_int), zeros in scalars. */
static void positional(const digits *g, double v, int exact_int, char *ip, char *fp) {
  int nd = (int)strlen(g->d), k = 0, j = 0;
  if (g->neg) ip[k++] = '-';
  if (exact_int && g->exp10 >= nd && g->exp10 < 40) {
    snprintf(ip + k, 48, "%.0f", fabs(v));
    fp[0] = 0;
    return;
  }
  if (g->exp10 < 0) {
    ip[k++] = '0';
    for (int i = 0; i < -g->exp10 - 1; i++) fp[j++] = '0';
    for (int i = 0; i < nd; i++) fp[j++] = g->d[i];
  } else {
    for (int i = 0; i <= g->exp10; i++) ip[k++] = i < nd ? g->d[i] : '0';
    for (int i = g->exp10 + 1; i < nd; i++) fp[j++] = g->d[i];
  }
  ip[k] = 0;
  fp[j] = 0;
}

typedef struct float_fmt {
  int exp_format, pad_left, pad_right, precision, exp_size;
} float_fmt;

static void float_fmt_init(float_fmt *f, const double *v, size_t n, int is_f32) {
  double maxv = 0, minv = INFINITY;
  int nfinite = 0, nonfinite = 0, neginf = 0;
  memset(f, 0, sizeof *f);
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(v[i])) {
      nonfinite = 1;
      if (isinf(v[i]) && v[i] < 0) neginf = 1;
      continue;
    }
    nfinite++;
    double a = fabs(v[i]);
    if (a == 0) continue;
    if (a > maxv) maxv = a;
    if (a < minv) minv = a;
  }
  if (maxv > 0 && (maxv >= 1e8 || minv < 0.0001 || maxv / minv > 1000.)) f->exp_format = 1;
  if (nfinite) {
    for (size_t i = 0; i < n; i++) {
      if (!isfinite(v[i])) continue;
      digits g;
      shortest_digits(v[i], is_f32, PRECISION, !f->exp_format, &g);
      if (f->exp_format) {
        int il = 1 + g.neg, fl = (int)strlen(g.d) - 1;
        char eb[16];
        int el = snprintf(eb, sizeof eb, "%d", abs(g.exp10));
        if (el < 2) el = 2;
        if (il > f->pad_left) f->pad_left = il;
        if (fl > f->precision) f->precision = fl;
        if (el > f->exp_size) f->exp_size = el;
      } else {
        char ip[96], fp[96];
        positional(&g, v[i], 1, ip, fp);
        if ((int)strlen(ip) > f->pad_left) f->pad_left = (int)strlen(ip);
        if ((int)strlen(fp) > f->pad_right) f->pad_right = (int)strlen(fp);
      }
    }
    if (f->exp_format) f->pad_right = f->exp_size + 2 + f->precision;
  }
  if (nonfinite) {
    int offset = f->pad_right + 1;
    if (3 - offset > f->pad_left) f->pad_left = 3 - offset;
    if (3 + neginf - offset > f->pad_left) f->pad_left = 3 + neginf - offset;
  }
}

static char *float_fmt_apply(const float_fmt *f, double v, int is_f32) {
  sbuf b = {0};
  if (!isfinite(v)) {
    const char *s = isnan(v) ? "nan" : v < 0 ? "-inf" : "inf";
    int w = f->pad_left + f->pad_right + 1 - (int)strlen(s);
    sb_spaces(&b, w > 0 ? (size_t)w : 0);
    sb_puts(&b, s);
    return sb_take(&b);
  }
  digits g;
  shortest_digits(v, is_f32, PRECISION, !f->exp_format, &g);
  if (f->exp_format) {
    /* numpy pads to `precision` digits with further exact digits (min_digits), not zeros */
    char mb[64];
    snprintf(mb, sizeof mb, "%.*e", f->precision, fabs(v));
    char *e = strchr(mb, 'e');
    int exp10 = atoi(e + 1), il = 1 + g.neg;
    *e = 0;
    sb_spaces(&b, f->pad_left > il ? (size_t)(f->pad_left - il) : 0);
    if (g.neg) sb_puts(&b, "-");
    sb_puts(&b, mb);
    if (f->precision == 0) sb_puts(&b, ".");
    char eb[24];
    snprintf(eb, sizeof eb, "e%c%0*d", exp10 < 0 ? '-' : '+', f->exp_size, abs(exp10));
    sb_puts(&b, eb);
  } else {
    char ip[96], fp[96];
    positional(&g, v, 1, ip, fp);
    int il = (int)strlen(ip), fl = (int)strlen(fp);
    sb_spaces(&b, f->pad_left > il ? (size_t)(f->pad_left - il) : 0);
    sb_puts(&b, ip);
    sb_puts(&b, ".");
    sb_puts(&b, fp);
    sb_spaces(&b, f->pad_right > fl ? (size_t)(f->pad_right - fl) : 0);
  }
  return sb_take(&b);
}

/* numpy scalar str(): "2.5", "3.0", "1e-05", "1.5e+16". */
static char *float_scalar_str(double v, int is_f32) {
  if (isnan(v)) return td_xstrdup("nan");
  if (isinf(v)) return td_xstrdup(v < 0 ? "-inf" : "inf");
  double a = fabs(v);
  int sci = a != 0 && (a >= 1e16 || a < 1e-4);
  digits g;
  shortest_digits(v, is_f32, 64, !sci, &g);
  sbuf b = {0};
  if (sci) {
    if (g.neg) sb_puts(&b, "-");
    sb_putn(&b, g.d, 1);
    if (g.d[1]) {
      sb_puts(&b, ".");
      sb_puts(&b, g.d + 1);
    }
    char eb[24];
    snprintf(eb, sizeof eb, "e%c%02d", g.exp10 < 0 ? '-' : '+', abs(g.exp10));
    sb_puts(&b, eb);
  } else {
    char ip[96], fp[96];
    positional(&g, v, 0, ip, fp);
    sb_puts(&b, ip);
    sb_puts(&b, ".");
    sb_puts(&b, fp[0] ? fp : "0");
  }
  return sb_take(&b);
}

/* ---- other element kinds ---- */

static char *bytes_repr(const char *s, size_t n) {
  int has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
  char q = has_sq && !has_dq ? '"' : '\'';
  sbuf b = {0};
  char tmp[8];
  sb_puts(&b, "b");
  sb_putn(&b, &q, 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\\' || c == (unsigned char)q) {
      tmp[0] = '\\';
      tmp[1] = (char)c;
      sb_putn(&b, tmp, 2);
    } else if (c == '\t') {
      sb_puts(&b, "\\t");
    } else if (c == '\n') {
      sb_puts(&b, "\\n");
    } else if (c == '\r') {
      sb_puts(&b, "\\r");
    } else if (c < 0x20 || c >= 0x7f) {
      snprintf(tmp, sizeof tmp, "\\x%02x", c);
      sb_puts(&b, tmp);
    } else {
      sb_putn(&b, (const char *)&c, 1);
    }
  }
  sb_putn(&b, &q, 1);
  return sb_take(&b);
}

static int is_float(td_dtype dt) {
  return dt == TD_DT_FLOAT || dt == TD_DT_DOUBLE || dt == TD_DT_HALF || dt == TD_DT_BFLOAT16;
}
static int is_int(td_dtype dt) {
  static const td_dtype ints[] = {TD_DT_INT8,   TD_DT_INT16,  TD_DT_INT32,  TD_DT_INT64,
                                  TD_DT_UINT8,  TD_DT_UINT16, TD_DT_UINT32, TD_DT_UINT64,
                                  TD_DT_QINT8,  TD_DT_QUINT8, TD_DT_QINT32, TD_DT_QINT16, TD_DT_QUINT16};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
    if (ints[i] == dt) return 1;
  return 0;
}

static char *int_str(const td_tensor *t, int64_t i) {
  if (t->dtype == TD_DT_UINT64) return td_xasprintf("%llu", (unsigned long long)((const uint64_t *)t->data)[i]);
  return td_xasprintf("%lld", (long long)td_tensor_get_int(t, i));
}

/* Formats the displayed elements (offsets idx[0..n)) into strs[]. */
static void format_elements(const td_tensor *t, const int64_t *idx, size_t n, int scalar, char **strs) {
  td_dtype dt = t->dtype;
  if (is_float(dt)) {
    int f32 = dt != TD_DT_DOUBLE;
    double *v = td_xmalloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = td_tensor_get_double(t, idx[i]);
    if (scalar) {
      strs[0] = float_scalar_str(v[0], f32);
    } else {
      float_fmt f;
      float_fmt_init(&f, v, n, f32);
      for (size_t i = 0; i < n; i++) strs[i] = float_fmt_apply(&f, v[i], f32);
    }
    free(v);
  } else if (is_int(dt)) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
      strs[i] = int_str(t, idx[i]);
      if (strlen(strs[i]) > w) w = strlen(strs[i]);
    }
    for (size_t i = 0; i < n && !scalar; i++) {
      char *p = td_xasprintf("%*s", (int)w, strs[i]);
      free(strs[i]);
      strs[i] = p;
    }
  } else if (dt == TD_DT_BOOL) {
    for (size_t i = 0; i < n; i++)
      strs[i] = td_xstrdup(td_u8(t)[idx[i]] ? (scalar ? "True" : " True") : "False");
  } else if (dt == TD_DT_STRING) {
    for (size_t i = 0; i < n; i++) strs[i] = bytes_repr(td_str(t)[idx[i]].data, td_str(t)[idx[i]].len);
  } else {
    for (size_t i = 0; i < n; i++) strs[i] = td_xasprintf("<%s>", td_dtype_name(dt));
  }
}

/* ---- layout (numpy _formatArray, non-legacy) ---- */

typedef struct layout {
  const td_shape *shape;
  int summary;
  char **strs;
  size_t next;
} layout;

static void extend_line(sbuf *s, sbuf *line, const char *word, size_t width, size_t indent) {
  int wrap = line->len + strlen(word) > width && line->len > indent;
  if (wrap) {
    size_t l = line->len;
    while (l > 0 && line->p[l - 1] == ' ') l--;
    sb_putn(s, line->p, l);
    sb_puts(s, "\n");
    line->len = 0;
    sb_spaces(line, indent);
  }
  sb_puts(line, word);
}

static char *recurse(layout *L, int axis, size_t indent, size_t width) {
  if (axis == L->shape->rank) return td_xstrdup(L->strs[L->next++]);
  int64_t len = L->shape->dim[axis];
  int show = axis_summarized(L->shape, axis, L->summary);
  int64_t leading = show ? EDGE_ITEMS : 0, trailing = show ? EDGE_ITEMS : len;
  int axes_left = L->shape->rank - axis;
  sbuf s = {0};
  sb_putn(&s, "", 0);
  if (axes_left == 1) {
    size_t elem_width = width - 1;
    sbuf line = {0};
    sb_spaces(&line, indent);
    sb_putn(&line, "", 0);
    for (int64_t i = 0; i < leading; i++) {
      char *w = recurse(L, axis + 1, indent + 1, width - 1);
      extend_line(&s, &line, w, elem_width, indent);
      free(w);
      sb_puts(&line, " ");
    }
    if (show) {
      extend_line(&s, &line, "...", elem_width, indent);
      sb_puts(&line, " ");
    }
    for (int64_t i = trailing; i > 1; i--) {
      char *w = recurse(L, axis + 1, indent + 1, width - 1);
      extend_line(&s, &line, w, elem_width, indent);
      free(w);
      sb_puts(&line, " ");
    }
    char *w = recurse(L, axis + 1, indent + 1, width - 1);
    extend_line(&s, &line, w, elem_width, indent);
    free(w);
    sb_putn(&s, line.p, line.len);
    free(line.p);
  } else {
    char sep[TD_MAX_RANK + 1];
    int k = 0;
    for (int i = 0; i < axes_left - 1; i++) sep[k++] = '\n';
    sep[k] = 0;
    for (int64_t i = 0; i < leading; i++) {
      char *w = recurse(L, axis + 1, indent + 1, width - 1);
      sb_spaces(&s, indent);
      sb_puts(&s, w);
      sb_puts(&s, sep);
      free(w);
    }
    if (show) {
      sb_spaces(&s, indent);
      sb_puts(&s, "...");
      sb_puts(&s, sep);
    }
    for (int64_t i = trailing; i > 1; i--) {
      char *w = recurse(L, axis + 1, indent + 1, width - 1);
      sb_spaces(&s, indent);
      sb_puts(&s, w);
      sb_puts(&s, sep);
      free(w);
    }
    char *w = recurse(L, axis + 1, indent + 1, width - 1);
    sb_spaces(&s, indent);
    sb_puts(&s, w);
    free(w);
  }
  sbuf out = {0};
  sb_puts(&out, "[");
  sb_puts(&out, s.p + (s.len >= indent ? indent : s.len));
  sb_puts(&out, "]");
  free(s.p);
  return sb_take(&out);
}

char *td_pyrepr_array(const td_tensor *t) {
  if (t->shape.rank < 0) return td_xstrdup("<unknown shape>");
  int64_t total = td_tensor_num_elements(t);
  if (total == 0) return td_xstrdup("[]");
  int summary = total > THRESHOLD;
  size_t n = 0;
  int64_t cap = 1;
  for (int i = 0; i < t->shape.rank; i++)
    cap *= axis_summarized(&t->shape, i, summary) ? 2 * EDGE_ITEMS : t->shape.dim[i];
  int64_t *idx = td_xmalloc((size_t)cap * sizeof *idx);
  collect(&t->shape, 0, 0, summary, idx, &n);
  char **strs = td_xcalloc(n, sizeof *strs);
  format_elements(t, idx, n, t->shape.rank == 0, strs);
  char *out;
  if (t->shape.rank == 0) {
    out = strs[0];
    strs[0] = NULL;
  } else {
    layout L = {&t->shape, summary, strs, 0};
    out = recurse(&L, 0, 1, LINE_WIDTH);
  }
  for (size_t i = 0; i < n; i++) free(strs[i]);
  free(strs);
  free(idx);
  return out;
}
