/* variables.c — session variables (TF1 VariableV2 and TF2 resource variables alike).
 * A variable holds one immutable tensor value; readers take a reference under the lock and
 * writers swap in a new value, so reads never see a half-written tensor (copy-on-write). */
#include <pthread.h>
#include <stdlib.h>

#include "engine/kernel.h"
#include "util/mem.h"

static void variable_destroy(td_resource *r) {
  td_variable *v = (td_variable *)r;
  td_tensor_release(&v->_value);
  pthread_mutex_destroy(v->_lock);
  free(v->_lock);
  free(v);
}

static td_code variable_create(void *arg, td_resource **out, td_status *st) {
  (void)arg;
  (void)st;
  td_variable *v = td_xcalloc(1, sizeof *v);
  atomic_init(&v->base.refs, 1);
  v->base.kind = "variable";
  v->base.destroy = variable_destroy;
  v->_lock = td_xmalloc(sizeof(pthread_mutex_t));
  pthread_mutex_init(v->_lock, NULL);
  *out = &v->base;
  return TD_OK;
}

td_code td_variable_read(td_variable *v, td_tensor *out, td_status *st) {
  pthread_mutex_lock(v->_lock);
  int ok = v->_initialized;
  if (ok) *out = td_tensor_ref(&v->_value);
  pthread_mutex_unlock(v->_lock);
  if (!ok)
    return td_status_set(st, TD_FAILED_PRECONDITION,
                         "Attempting to use uninitialized value %s", v->base.name ? v->base.name : "(variable)");
  return TD_OK;
}

void td_variable_assign(td_variable *v, const td_tensor *value) {
  td_tensor nv, old;
  if (value->buf || td_tensor_copy(&nv, value, NULL) != TD_OK) nv = td_tensor_ref(value);
  pthread_mutex_lock(v->_lock);
  old = v->_value;
  v->_value = nv;
  v->_initialized = 1;
  pthread_mutex_unlock(v->_lock);
  td_tensor_release(&old);
}

td_code td_k_variable(td_kctx *c, const char *key, td_variable **out) {
  td_resource *r;
  TD_TRY(td_k_resource(c, key, variable_create, NULL, &r));
  if (r->destroy != variable_destroy)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "resource '%s' is not a variable", key);
  *out = (td_variable *)r;
  return TD_OK;
}
