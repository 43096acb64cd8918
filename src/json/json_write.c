/* json_write.c — JSON output helpers (see json.h): rapidjson-compatible string escaping,
 * TF Serving's WriteDecimal for doubles (floats: json_float.c), and compact re-printing of a value's text.
 * Stateless; every function only appends to the caller's buffer.
 */
#include "json/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* rapidjson Writer's escape table for bytes < 0x60; 'u' = \u00XX. */
static const char escape_table[0x60] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0, 0, '"', [0x5C] = '\\',
};

void td_json_write_string(td_buf *out, const char *s, size_t len) {
  static const char hex[] = "0123456789ABCDEF";
  if (!s) s = "";
  td_buf_reserve(out, len + 2);
  td_buf_putc(out, '"');
  size_t run = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    char e = c < sizeof escape_table ? escape_table[c] : 0;
    if (!e) continue;
    td_buf_append(out, s + run, i - run);
    run = i + 1;
    char tmp[6] = {'\\', e};
    if (e == 'u') {
      tmp[2] = '0';
      tmp[3] = '0';
      tmp[4] = hex[c >> 4];
      tmp[5] = hex[c & 15];
      td_buf_append(out, tmp, 6);
    } else {
      td_buf_append(out, tmp, 2);
    }
  }
  td_buf_append(out, s + run, len - run);
  td_buf_putc(out, '"');
}

static int special_decimal(td_buf *out, double v) {
  if (isnan(v)) td_buf_append(out, "NaN", 3);
  else if (isinf(v)) td_buf_puts(out, v > 0 ? "Infinity" : "-Infinity");
  else return 0;
  return 1;
}

static void append_decimal(td_buf *out, const char *text) {
  td_buf_puts(out, text);
  if (!strchr(text, '.') && !strchr(text, 'e')) td_buf_append(out, ".0", 2);
}

/* td_json_write_float: json_float.c. */

void td_json_write_double(td_buf *out, double v) {
  if (special_decimal(out, v)) return;
  char text[48];
  snprintf(text, sizeof text, "%g", v);
  if (strtod(text, NULL) != v) snprintf(text, sizeof text, "%.17g", v);
  append_decimal(out, text);
}

void td_json_write_compact(td_buf *out, const char *data, size_t len, size_t max_len) {
  size_t written = 0;
  int in_string = 0, escaped = 0;
  for (size_t i = 0; i < len && written < max_len; i++) {
    char c = data[i];
    if (in_string) {
      if (escaped) escaped = 0;
      else if (c == '\\') escaped = 1;
      else if (c == '"') in_string = 0;
    } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    } else if (c == '"') {
      in_string = 1;
    }
    td_buf_putc(out, c);
    written++;
  }
}
