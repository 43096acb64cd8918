/* pylit.c — the Python literal parser behind `tensord run --input_exprs` (see pyrepr.h):
 * numbers, str/bytes with the common escapes, True/False/None, names, lists, tuples, dicts and
 * calls with keyword arguments (np.array([...], dtype=np.float32)), by recursive descent.
 * Errors are INVALID_ARGUMENT with the offending column. Invariant: on failure nothing parsed so
 * far leaks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/pyrepr.h"
#include "util/buf.h"
#include "util/mem.h"

typedef struct pyparser {
  const char *src, *p;
  int depth;
  td_status *st;
} pyparser;

static td_code py_err(pyparser *P, const char *what) {
  return td_status_set(P->st, TD_INVALID_ARGUMENT, "cannot parse Python literal at column %d: %s",
                       (int)(P->p - P->src) + 1, what);
}

static void py_ws(pyparser *P) {
  while (*P->p == ' ' || *P->p == '\t' || *P->p == '\n' || *P->p == '\r') P->p++;
}

static td_pyval *py_new(td_py_kind k) {
  td_pyval *v = td_xcalloc(1, sizeof *v);
  v->kind = k;
  return v;
}

void td_pyval_free(td_pyval *v) {
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) {
    td_pyval_free(v->items[i]);
    if (v->kw) free(v->kw[i]);
  }
  free(v->items);
  free(v->kw);
  free(v->s);
  free(v);
}

static void py_push(td_pyval *v, td_pyval *item, char *kw, size_t *cap) {
  if (v->n == *cap) {
    *cap = *cap ? *cap * 2 : 4;
    v->items = td_xrealloc(v->items, *cap * sizeof *v->items);
    if (v->kind == TD_PY_CALL) v->kw = td_xrealloc(v->kw, *cap * sizeof *v->kw);
  }
  if (v->kind == TD_PY_CALL) v->kw[v->n] = kw;
  v->items[v->n++] = item;
}

static td_code py_value(pyparser *P, td_pyval **out);

static td_code py_string(pyparser *P, int is_bytes, td_pyval **out) {
  char q = *P->p++;
  td_buf b;
  td_buf_init(&b);
  while (*P->p && *P->p != q) {
    char c = *P->p++;
    if (c != '\\') {
      td_buf_putc(&b, c);
      continue;
    }
    char e = *P->p++;
    static const char esc_in[] = "nrt0\\'\"", esc_out[] = "\n\r\t\0\\'\"";
    const char *k = e ? strchr(esc_in, e) : NULL;
    if (k) {
      td_buf_putc(&b, esc_out[k - esc_in]);
    } else if (e == 'x' && P->p[0] && P->p[1]) {
      char hex[3] = {P->p[0], P->p[1], 0}, *end;
      long v = strtol(hex, &end, 16);
      if (*end) {
        td_buf_release(&b);
        return py_err(P, "bad \\x escape");
      }
      char ch = (char)v;
      td_buf_putc(&b, ch);
      P->p += 2;
    } else {
      td_buf_release(&b);
      return py_err(P, "unsupported escape sequence");
    }
  }
  if (*P->p != q) {
    td_buf_release(&b);
    return py_err(P, "unterminated string");
  }
  P->p++;
  td_pyval *v = py_new(is_bytes ? TD_PY_BYTES : TD_PY_STR);
  v->s = td_buf_detach(&b, &v->slen);
  *out = v;
  return TD_OK;
}

static td_code py_number(pyparser *P, td_pyval **out) {
  const char *s = P->p;
  if (*s == '+' || *s == '-') s++;
  const char *d = s;
  int is_float = 0;
  while ((*d >= '0' && *d <= '9') || *d == '.' || *d == 'e' || *d == 'E' || *d == '_' ||
         ((*d == '+' || *d == '-') && (d[-1] == 'e' || d[-1] == 'E'))) {
    if (*d == '.' || *d == 'e' || *d == 'E') is_float = 1;
    d++;
  }
  if (d == s) return py_err(P, "expected a value");
  char *end;
  td_pyval *v = py_new(is_float ? TD_PY_FLOAT : TD_PY_INT);
  errno = 0;
  if (is_float) v->f = strtod(P->p, &end);
  else v->i = strtoll(P->p, &end, 10);
  if (end != d || errno) {
    td_pyval_free(v);
    return py_err(P, "bad number");
  }
  P->p = d;
  *out = v;
  return TD_OK;
}

/* items until `close`; CALL args may be keyword=value; DICT items are key: value. */
static td_code py_items(pyparser *P, td_pyval *v, char close) {
  size_t cap = 0;
  for (;;) {
    py_ws(P);
    if (*P->p == close) {
      P->p++;
      return TD_OK;
    }
    char *kw = NULL;
    if (v->kind == TD_PY_CALL) {
      const char *q = P->p;
      while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == '_' || (q > P->p && *q >= '0' && *q <= '9')) q++;
      const char *r = q;
      while (*r == ' ') r++;
      if (q > P->p && *r == '=' && r[1] != '=') {
        kw = td_xstrndup(P->p, (size_t)(q - P->p));
        P->p = r + 1;
      }
    }
    td_pyval *item;
    td_code c = py_value(P, &item);
    if (c != TD_OK) {
      free(kw);
      return c;
    }
    py_push(v, item, kw, &cap);
    py_ws(P);
    if (v->kind == TD_PY_DICT && v->n % 2 == 1) {
      if (*P->p != ':') return py_err(P, "expected ':' in dict");
      P->p++;
      continue;
    }
    if (*P->p == ',') {
      P->p++;
    } else if (*P->p != close) {
      return py_err(P, "expected ',' or closing bracket");
    }
  }
}

static td_code py_value(pyparser *P, td_pyval **out) {
  *out = NULL;
  if (++P->depth > 64) return py_err(P, "nesting too deep");
  py_ws(P);
  char c = *P->p;
  td_code rc;
  if (c == '[' || c == '(' || c == '{') {
    td_pyval *v = py_new(c == '{' ? TD_PY_DICT : TD_PY_LIST);
    P->p++;
    rc = py_items(P, v, c == '[' ? ']' : c == '(' ? ')' : '}');
    if (rc == TD_OK && v->kind == TD_PY_DICT && v->n % 2) rc = py_err(P, "dict key without value");
    if (rc != TD_OK) td_pyval_free(v);
    else *out = v;
  } else if (c == '\'' || c == '"') {
    rc = py_string(P, 0, out);
  } else if ((c == 'b' || c == 'B') && (P->p[1] == '\'' || P->p[1] == '"')) {
    P->p++;
    rc = py_string(P, 1, out);
  } else if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') {
    rc = py_number(P, out);
  } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
    const char *s = P->p;
    while ((*P->p >= 'a' && *P->p <= 'z') || (*P->p >= 'A' && *P->p <= 'Z') || *P->p == '_' || *P->p == '.' ||
           (*P->p >= '0' && *P->p <= '9'))
      P->p++;
    char *name = td_xstrndup(s, (size_t)(P->p - s));
    py_ws(P);
    td_pyval *v;
    if (*P->p == '(') {
      P->p++;
      v = py_new(TD_PY_CALL);
      v->s = name;
      rc = py_items(P, v, ')');
      if (rc != TD_OK) {
        td_pyval_free(v);
        v = NULL;
      }
    } else if (!strcmp(name, "True") || !strcmp(name, "False")) {
      v = py_new(TD_PY_BOOL);
      v->i = name[0] == 'T';
      free(name);
      rc = TD_OK;
    } else if (!strcmp(name, "None")) {
      v = py_new(TD_PY_NONE);
      free(name);
      rc = TD_OK;
    } else {
      v = py_new(TD_PY_NAME);
      v->s = name;
      rc = TD_OK;
    }
    *out = v;
  } else {
    rc = py_err(P, c ? "unexpected character" : "unexpected end of input");
  }
  P->depth--;
  return rc;
}

td_code td_pylit_parse(const char *src, td_pyval **out, td_status *st) {
  pyparser P = {src, src, 0, st};
  *out = NULL;
  TD_TRY(py_value(&P, out));
  py_ws(&P);
  if (*P.p) {
    td_pyval_free(*out);
    *out = NULL;
    return py_err(&P, "trailing characters");
  }
  return TD_OK;
}
