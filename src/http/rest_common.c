/* rest_common.c — small helpers of the REST JSON codec (see rest_json_internal.h) and the
 * error body writer. Readers are always restored to where they were before a look-ahead.
 */
#include <string.h>

#include "http/rest_json_internal.h"
#include "util/base64.h"

void rest_value_text(td_json_reader *r, td_buf *out) {
  const char *save = r->p;
  size_t start = 0, end = 0;
  if (td_json_skip_span(r, &start, &end) == 0)
    td_json_write_compact(out, r->begin + start, end - start, TD_REST_VALUE_TEXT_MAX);
  r->p = save;
}

int rest_key_eq(const td_json_str *key, const char *s) {
  size_t n = strlen(s);
  return key->len == n && memcmp(key->data, s, n) == 0;
}

int rest_is_b64_object(td_json_reader *r) {
  if (td_json_peek(r) != TD_JSON_OBJECT) return 0;
  const char *save = r->p;
  td_json_iter it = TD_JSON_ITER_INIT;
  td_json_str key;
  int members = 0, b64_string = 0;
  while (td_json_object_next(r, &it, &key) == 1) {
    members++;
    if (rest_key_eq(&key, "b64") && td_json_peek(r) == TD_JSON_STRING) b64_string = 1;
    if (members > 1 || td_json_skip(r) != 0) break;
  }
  r->p = save;
  return members == 1 && b64_string;
}

td_code rest_read_b64_object(td_json_reader *r, td_buf *out, td_status *st) {
  td_json_iter it = TD_JSON_ITER_INIT;
  td_json_str key, val;
  td_buf_reset(out);
  int ok = 0;
  while (td_json_object_next(r, &it, &key) == 1) {
    if (td_json_read_string(r, &val) != 0) break;
    ok = td_base64_decode(val.data, val.len, out) == 0;
  }
  if (!ok) return td_status_set(st, TD_INVALID_ARGUMENT, "Unable to base64 decode");
  return TD_OK;
}

long long rest_count_elements(td_json_reader *r) {
  const char *save = r->p;
  td_json_iter it = TD_JSON_ITER_INIT;
  long long n = 0;
  while (td_json_array_next(r, &it) == 1) {
    n++;
    if (td_json_skip(r) != 0) break;
  }
  r->p = save;
  return n;
}

void td_rest_error_json(const char *message, td_buf *out) {
  td_buf_puts(out, "{\"error\": ");
  td_json_write_string(out, message, strlen(message));
  td_buf_puts(out, "}");
}
