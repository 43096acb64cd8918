/* buf.c — growable byte buffer (see buf.h). */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void td_buf_init(td_buf *b) { b->data = NULL, b->len = b->cap = 0; }

void td_buf_release(td_buf *b) {
  free(b->data);
  td_buf_init(b);
}

void td_buf_reset(td_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = 0;
}

void td_buf_reserve(td_buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  b->data = td_xrealloc(b->data, cap);
  b->cap = cap;
}

void td_buf_append(td_buf *b, const void *data, size_t n) {
  td_buf_reserve(b, n);
  if (n) memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = 0;
}

void td_buf_puts(td_buf *b, const char *s) { td_buf_append(b, s, strlen(s)); }

void td_buf_putc(td_buf *b, char c) {
  td_buf_reserve(b, 1);
  b->data[b->len++] = c;
  b->data[b->len] = 0;
}

void td_buf_printf(td_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  td_buf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

char *td_buf_detach(td_buf *b, size_t *len) {
  if (!b->data) td_buf_reserve(b, 0), b->data[0] = 0;
  char *d = b->data;
  if (len) *len = b->len;
  td_buf_init(b);
  return d;
}
