/* api_list.c — the model list (see api_list.h): one GetModelStatus per known model. */
#include "api/api_list.h"

#include <stdlib.h>

#include "util/mem.h"

td_code td_api_list_models(td_api *api, td_model_list_entry **out, int *n, td_status *st) {
  char **names;
  int count = td_servables_model_names(api->servables, &names);
  td_model_list_entry *e = td_xcalloc((size_t)count + 1, sizeof *e);
  int k = 0;
  for (int i = 0; i < count; i++) {
    td_model_spec spec = {.name = names[i], .version = -1};
    td_status ignored = {0};
    Tensorflow__Serving__GetModelStatusResponse *r = NULL;
    if (td_api_get_model_status(api, &spec, &r, &ignored) != TD_OK) {
      if (ignored.code != TD_NOT_FOUND) { /* anything but "no version yet" */
        free(names[i]);
        continue;
      }
      r = td_xmalloc(sizeof *r);
      tensorflow__serving__get_model_status_response__init(r);
    }
    e[k].name = names[i];
    e[k++].status = r;
  }
  free(names);
  *out = e;
  *n = k;
  (void)st;
  return TD_OK;
}

void td_api_model_list_free(td_model_list_entry *entries, int n) {
  for (int i = 0; i < n; i++) {
    free(entries[i].name);
    if (entries[i].status) tensorflow__serving__get_model_status_response__free_unpacked(entries[i].status, NULL);
  }
  free(entries);
}
