/* session.c — a session: an imported graph plus its resources (variables, tables), and the
 * one-shot td_session_run used for restore/init ops. */
#include <stdlib.h>
#include <string.h>

#include "engine/session.h"
#include "util/mem.h"

td_code td_session_new(td_graph *g, const td_session_options *opt, td_session **out, td_status *st) {
  td_session *s = td_xcalloc(1, sizeof *s);
  s->g = g;
  if (opt) s->opt = *opt;
  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->res_mu, NULL);
  td_strmap_init(&s->resources);
  *out = s;
  (void)st;
  return TD_OK;
}

void td_session_free(td_session *s) {
  if (!s) return;
  const char *k;
  void *v;
  for (size_t it = 0; td_strmap_next(&s->resources, &it, &k, &v);) td_resource_unref(v);
  td_strmap_release(&s->resources);
  td_graph_free(s->g);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->res_mu);
  free(s);
}

void td_session_freeze(td_session *s) {
  pthread_mutex_lock(&s->mu);
  s->frozen = 1;
  pthread_mutex_unlock(&s->mu);
}

td_code td_session_resource(td_session *s, const char *key,
                            td_code (*create)(void *arg, td_resource **r, td_status *st), void *arg,
                            td_resource **out, td_status *st) {
  pthread_mutex_lock(&s->res_mu);
  td_resource *r = td_strmap_get(&s->resources, key);
  td_code code = TD_OK;
  if (!r) {
    code = create(arg, &r, st);
    if (code == TD_OK) {
      if (!r->name) r->name = td_xstrdup(key);
      td_strmap_put(&s->resources, key, r);
    }
  }
  pthread_mutex_unlock(&s->res_mu);
  *out = code == TD_OK ? r : NULL;
  return code;
}

td_code td_session_run(td_session *s, const char *const *feed_names, const td_tensor *feeds, int nfeeds,
                       const char *const *fetches, td_tensor *fetched, int nfetches,
                       const char *const *targets, int ntargets, td_status *st) {
  td_callable *c;
  TD_TRY(td_session_make_callable(s, feed_names, nfeeds, fetches, nfetches, targets, ntargets, &c, st));
  td_code code = td_callable_run(c, feeds, fetched, st);
  td_callable_free(c);
  return code;
}
