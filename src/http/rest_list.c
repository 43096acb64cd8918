/* rest_list.c — GET /v1/models (see rest_list.h). Each entry is the model's status object
 * (td_rest_status_json) with "name" put first, so the two calls can never print versions
 * differently. */
#include "http/rest_list.h"

#include <string.h>

#include "api/api_list.h"
#include "http/rest_json.h"
#include "json/json.h"

td_code td_rest_model_list(td_api *api, td_buf *out, td_status *st) {
  td_model_list_entry *e;
  int n;
  TD_TRY(td_api_list_models(api, &e, &n, st));
  td_buf one;
  td_buf_init(&one);
  td_buf_puts(out, "{\n \"models\": [");
  for (int i = 0; i < n; i++) {
    td_buf_reset(&one);
    td_rest_status_json(e[i].status, &one);
    const char *body = one.data && one.data[0] == '{' ? one.data + 1 : "}"; /* after the status's '{' */
    size_t skip = strspn(body, " \n\t\r");
    td_buf_puts(out, i ? ",\n  {\"name\": " : "\n  {\"name\": ");
    td_json_write_string(out, e[i].name, strlen(e[i].name));
    if (body[skip] != '}') td_buf_puts(out, skip ? "," : ", ");
    td_buf_puts(out, body);
  }
  td_buf_puts(out, n ? "\n ]\n}" : "]\n}");
  td_buf_release(&one);
  td_api_model_list_free(e, n);
  return TD_OK;
}
