/* array_debug.c — checking and printing kernels: CheckNumerics(V2), Assert, Print, PrintV2,
 * StringFormat.
 *
 * Tensor summaries follow TF's Tensor::SummarizeValue: the V1 form (Assert, Print) nests
 * brackets without separators between sub-arrays, "[[1 2][3 4]]", and stops after `summarize`
 * elements with "..."; the V2 form (StringFormat) shows the first and last `summarize` entries
 * of each dim, "[1 2 3 ... 8 9 10]", sub-arrays on new lines, strings quoted. Printing goes to
 * the log (util/log.h). Assert / Print / PrintV2 are stateful rows (never constant-folded).
 * Invariants: summaries are built in a bounded td_buf-like growable buffer; reentrant.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/array_internal.h"
#include "engine/kernels/math_internal.h"
#include "util/log.h"

#define SUM_MAX (64 * 1024) /* longest summary kept */

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    if (cap > SUM_MAX + 64) {
      if (b->len + 1 >= b->cap) return;
      n = b->cap - b->len - 1; /* truncate */
    } else {
      char *q = realloc(b->p, cap);
      if (!q) return;
      b->p = q, b->cap = cap;
    }
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}
static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_fmt(sbuf *b, const char *fmt, ...) TD_PRINTF(2, 3);
static void sb_fmt(sbuf *b, const char *fmt, ...) {
  char tmp[64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void element(sbuf *b, const td_tensor *t, int64_t i, int quote) {
  if (t->dtype == TD_DT_STRING) {
    if (quote) sb_str(b, "\"");
    sb_add(b, td_str(t)[i].data ? td_str(t)[i].data : "", td_str(t)[i].len);
    if (quote) sb_str(b, "\"");
  } else if (t->dtype == TD_DT_BOOL) {
    sb_str(b, td_u8(t)[i] ? "1" : "0");
  } else if (td_math_is_float(t->dtype)) {
    sb_fmt(b, "%.*g", t->dtype == TD_DT_DOUBLE ? 17 : 6, td_tensor_get_double(t, i));
  } else if (td_math_is_int(t->dtype)) {
    if (t->dtype == TD_DT_UINT64) sb_fmt(b, "%llu", (unsigned long long)((const uint64_t *)t->data)[i]);
    else sb_fmt(b, "%lld", (long long)td_tensor_get_int(t, i));
  } else {
    sb_fmt(b, "<%s>", td_dtype_name(t->dtype));
  }
}

/* V1 (TF's PrintOneDim): rows "[1 2][3 4]" for rank > 1, at most `limit` elements. */
static void v1_dim(sbuf *b, const td_tensor *t, int dim, int64_t limit, int64_t *idx) {
  if (*idx >= limit) return;
  int r = t->shape.rank;
  int64_t d = t->shape.dim[dim];
  if (dim == r - 1) {
    for (int64_t i = 0; i < d; i++) {
      if (*idx >= limit) {
        if (dim != 0) sb_str(b, "...");
        return;
      }
      if (i > 0) sb_str(b, " ");
      element(b, t, (*idx)++, 0);
    }
    return;
  }
  for (int64_t i = 0; i < d; i++) {
    int flag = 0;
    if (*idx < limit) sb_str(b, "["), flag = 1;
    v1_dim(b, t, dim + 1, limit, idx);
    if (*idx < limit || flag) sb_str(b, "]");
  }
}
static void summarize_v1(sbuf *b, const td_tensor *t, int64_t limit) {
  int64_t n = td_tensor_num_elements(t), idx = 0;
  if (limit < 0 || limit > n) limit = n;
  if (t->shape.rank > 1) {
    v1_dim(b, t, 0, limit, &idx);
  } else {
    for (int64_t i = 0; i < limit; i++) {
      if (i) sb_str(b, " ");
      element(b, t, i, 0);
    }
  }
  if (n > limit) sb_str(b, "...");
}

/* V2: per-dim summarization around the middle. */
static void v2_dim(sbuf *b, const td_tensor *t, int dim, int64_t off, const int64_t *stride, int64_t summarize) {
  int r = t->shape.rank;
  int64_t d = t->shape.dim[dim];
  sb_str(b, "[");
  for (int64_t i = 0; i < d; i++) {
    if (summarize >= 0 && d > 2 * summarize && i == summarize) {
      sb_str(b, dim == r - 1 ? " ..." : "\n ...");
      i = d - summarize - 1;
      continue;
    }
    if (i > 0) {
      if (dim == r - 1) sb_str(b, " ");
      else {
        sb_str(b, "\n");
        for (int k = 0; k <= dim; k++) sb_str(b, " ");
      }
    }
    if (dim == r - 1) element(b, t, off + i, 1);
    else v2_dim(b, t, dim + 1, off + i * stride[dim], stride, summarize);
  }
  sb_str(b, "]");
}
static void summarize_v2(sbuf *b, const td_tensor *t, int64_t summarize) {
  if (t->shape.rank == 0) {
    element(b, t, 0, 1);
    return;
  }
  int64_t stride[TD_MAX_RANK];
  td_array_strides(&t->shape, stride);
  v2_dim(b, t, 0, 0, stride, summarize);
}

/* ---- CheckNumerics ---- */
static td_code check_numerics(td_kctx *c, int v2) {
  const td_tensor *t = td_k_input(c, 0);
  if (!td_math_is_float(t->dtype)) return td_math_fail_dtype(c, "T", t->dtype);
  int nan = 0, pinf = 0, ninf = 0;
  int64_t n = td_tensor_num_elements(t);
  for (int64_t i = 0; i < n; i++) {
    double v = td_tensor_get_double(t, i);
    if (isnan(v)) nan = 1;
    else if (isinf(v)) *(v > 0 ? &pinf : &ninf) = 1;
  }
  if (nan || pinf || ninf) {
    size_t ml = 0;
    const char *msg = td_attr_str(td_k_node(c), "message", &ml);
    char status[40];
    if (!v2) snprintf(status, sizeof status, "%s", (pinf || ninf) && nan ? "Inf and NaN" : nan ? "NaN" : "Inf");
    else
      snprintf(status, sizeof status, "%s%s%s%s%s", ninf ? "-Inf" : "", ninf && pinf ? " and " : "", pinf ? "+Inf" : "",
               (ninf || pinf) && nan ? " and " : "", nan ? "NaN" : "");
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%.*s : Tensor had %s values", (int)ml, msg ? msg : "", status);
  }
  return td_k_forward(c, 0, 0, NULL);
}
td_code td_k_array_check_numerics(td_kctx *c) { return check_numerics(c, 0); }
td_code td_k_array_check_numerics_v2(td_kctx *c) { return check_numerics(c, 1); }

/* ---- Assert(condition, data...) ---- */
td_code td_k_array_assert(td_kctx *c) {
  const td_tensor *cond = td_k_input(c, 0);
  char b1[TD_ARRAY_SHAPE_BUF];
  if (cond->dtype != TD_DT_BOOL || td_tensor_num_elements(cond) != 1 || cond->shape.rank != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "In[0] should be a scalar: %s", td_array_shape_str(&cond->shape, b1, sizeof b1));
  if (td_u8(cond)[0]) return TD_OK;
  int64_t summarize = td_attr_int(td_k_node(c), "summarize", 3);
  sbuf b = {0};
  sb_str(&b, "assertion failed: ");
  for (int i = 1; i < td_k_num_inputs(c); i++) {
    if (i > 1) sb_str(&b, " ");
    sb_str(&b, "[");
    summarize_v1(&b, td_k_input(c, i), summarize);
    sb_str(&b, "]");
  }
  td_code rc = td_k_fail(c, TD_INVALID_ARGUMENT, "%s", b.p ? b.p : "assertion failed");
  free(b.p);
  return rc;
}

/* ---- Print(input, data...) -> input ---- */
td_code td_k_array_print(td_kctx *c) {
  const td_node *node = td_k_node(c);
  int64_t summarize = td_attr_int(node, "summarize", 3);
  size_t ml = 0;
  const char *msg = td_attr_str(node, "message", &ml);
  sbuf b = {0};
  if (msg) sb_add(&b, msg, ml);
  for (int i = 1; i < td_k_num_inputs(c); i++) {
    sb_str(&b, "[");
    summarize_v1(&b, td_k_input(c, i), summarize);
    sb_str(&b, "]");
  }
  TD_LOG_INFO("%s: %s", td_node_name(node), b.p ? b.p : "");
  free(b.p);
  return td_k_forward(c, 0, 0, NULL);
}

/* ---- PrintV2(input: string scalar) ---- */
td_code td_k_array_print_v2(td_kctx *c) {
  const td_tensor *t = td_k_input(c, 0);
  if (t->dtype != TD_DT_STRING || td_tensor_num_elements(t) != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input is expected to be scalar, but got shape of rank %d", t->shape.rank);
  size_t el = 0;
  const char *end = td_attr_str(td_k_node(c), "end", &el);
  const td_string *s = &td_str(t)[0];
  int drop_nl = end && el == 1 && end[0] == '\n'; /* the log adds its own newline */
  TD_LOG_INFO("%.*s%.*s", (int)s->len, s->data ? s->data : "", drop_nl ? 0 : (int)el, end ? end : "");
  return TD_OK;
}

/* ---- StringFormat(inputs...) -> string scalar ---- */
td_code td_k_array_string_format(td_kctx *c) {
  const td_node *node = td_k_node(c);
  size_t tl = 0, pl = 0;
  const char *tmpl = td_attr_str(node, "template", &tl), *ph = td_attr_str(node, "placeholder", &pl);
  if (!tmpl) tmpl = "%s", tl = 2;
  if (!ph || pl == 0) ph = "%s", pl = 2;
  int64_t summarize = td_attr_int(node, "summarize", 3);
  int nin = td_k_num_inputs(c), used = 0;
  sbuf b = {0};
  sb_str(&b, "");
  for (size_t i = 0; i < tl;) {
    if (i + pl <= tl && memcmp(tmpl + i, ph, pl) == 0) {
      if (used >= nin) {
        free(b.p);
        return td_k_fail(c, TD_INVALID_ARGUMENT, "num placeholders in template and num inputs must match: more than %d", nin);
      }
      summarize_v2(&b, td_k_input(c, used++), summarize);
      i += pl;
    } else {
      sb_add(&b, tmpl + i, 1);
      i++;
    }
  }
  if (used != nin) {
    free(b.p);
    return td_k_fail(c, TD_INVALID_ARGUMENT, "num placeholders in template and num inputs must match: %d vs. %d", used, nin);
  }
  td_shape s = td_shape_scalar();
  td_tensor *out;
  td_code rc = td_k_alloc_output(c, 0, TD_DT_STRING, &s, &out);
  if (rc == TD_OK) td_tensor_set_string(out, 0, b.p ? b.p : "", b.len);
  free(b.p);
  return rc;
}
