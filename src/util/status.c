/* status.c — td_status formatting and the code → name / HTTP tables (from status.def). */
#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
  td_code code;
  const char *name;
  int http;
} status_table[] = {
#define TD_STATUS(name, code, http) {TD_##name, #name, http},
#include "util/status.def"
#undef TD_STATUS
};

td_code td_status_set(td_status *st, td_code code, const char *fmt, ...) {
  if (st) {
    st->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

td_code td_status_prefix(td_status *st, const char *fmt, ...) {
  if (!st) return TD_UNKNOWN;
  char head[TD_STATUS_MSG_MAX], old[TD_STATUS_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(head, sizeof head, fmt, ap);
  va_end(ap);
  memcpy(old, st->msg, sizeof old);
  size_t n = strlen(head);
  if (n > sizeof st->msg - 3) n = sizeof st->msg - 3; /* truncation of long messages is intended */
  memcpy(st->msg, head, n);
  memcpy(st->msg + n, ": ", 3);
  strncat(st->msg + n + 2, old, sizeof st->msg - n - 3);
  return st->code;
}

void td_status_clear(td_status *st) {
  if (!st) return;
  st->code = TD_OK;
  st->msg[0] = '\0';
}

const char *td_code_name(td_code code) {
  for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
    if (status_table[i].code == code) return status_table[i].name;
  return "UNKNOWN";
}

int td_code_http_status(td_code code) {
  for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
    if (status_table[i].code == code) return status_table[i].http;
  return 500;
}
