/* model_config.c — ModelServerConfig (text or message) → td_model_config_list, with TF Serving's
 * validation (see model_config.h). Invariant: a list returned TD_OK is validated; on error
 * the output list is empty and owns nothing. */
#include "core/model_config.h"

#include <stdlib.h>
#include <string.h>

#include "proto/textformat.h"
#include "util/file.h"
#include "util/mem.h"

typedef Tensorflow__Serving__FileSystemStoragePathSourceConfig__ServableVersionPolicy policy_msg;

void td_model_config_clear(td_model_config *c) {
  free(c->name);
  free(c->base_path);
  free(c->versions);
  for (size_t i = 0; i < c->nlabels; i++) free(c->labels[i].label);
  free(c->labels);
  memset(c, 0, sizeof *c);
}

void td_model_config_list_free(td_model_config_list *l) {
  for (size_t i = 0; i < l->n; i++) td_model_config_clear(&l->models[i]);
  free(l->models);
  memset(l, 0, sizeof *l);
}

void td_model_config_copy(td_model_config *dst, const td_model_config *src) {
  *dst = *src;
  dst->name = td_xstrdup(src->name);
  dst->base_path = td_xstrdup(src->base_path);
  dst->versions = NULL;
  if (src->nversions) {
    dst->versions = td_xmalloc(src->nversions * sizeof *dst->versions);
    memcpy(dst->versions, src->versions, src->nversions * sizeof *dst->versions);
  }
  dst->labels = NULL;
  if (src->nlabels) {
    dst->labels = td_xcalloc(src->nlabels, sizeof *dst->labels);
    for (size_t i = 0; i < src->nlabels; i++)
      dst->labels[i] = (td_version_label){td_xstrdup(src->labels[i].label), src->labels[i].version};
  }
}

int td_model_config_same_source(const td_model_config *a, const td_model_config *b) {
  if (strcmp(a->base_path, b->base_path) || a->policy != b->policy) return 0;
  if (a->policy == TD_POLICY_LATEST) return (a->num_versions ? a->num_versions : 1) == (b->num_versions ? b->num_versions : 1);
  if (a->policy == TD_POLICY_SPECIFIC)
    return a->nversions == b->nversions && !memcmp(a->versions, b->versions, a->nversions * sizeof *a->versions);
  return 1;
}

/* "s3://x", "gs://x", "/x" are absolute (TF's UriIsRelativePath is false for them). */
static int is_absolute(const char *path) {
  return path[0] == '/' || strstr(path, "://") != NULL;
}

static td_code validate(const td_model_config_list *l, const char *const *platforms, td_status *st) {
  for (size_t i = 0; i < l->n; i++) {
    const td_model_config *c = &l->models[i];
    for (size_t k = 0; k < i; k++)
      if (!strcmp(l->models[k].name, c->name))
        return td_status_set(st, TD_INVALID_ARGUMENT, "Illegal to list model %s multiple times in config list",
                             c->name);
  }
  for (size_t i = 0; i < l->n; i++) {
    const td_model_config *c = &l->models[i];
    if (!is_absolute(c->base_path))
      return td_status_set(st, TD_INVALID_ARGUMENT,
                           "Expected model %s to have an absolute path or URI; got base_path()=%s", c->name,
                           c->base_path);
  }
  for (size_t i = 0; platforms && i < l->n; i++) {
    const char *p = platforms[i];
    if (!p || !*p)
      return td_status_set(st, TD_FAILED_PRECONDITION,
                           "Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
                           "ModelServerConfig::model_platform.");
    if (strcmp(p, "tensorflow"))
      return td_status_set(st, TD_INVALID_ARGUMENT, "Model %s requested unsupported platform %s",
                           l->models[i].name, p);
  }
  return TD_OK;
}

/* model_type is deprecated in the proto, but TF Serving still honours it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static int model_type_of(const Tensorflow__Serving__ModelConfig *mc) { return (int)mc->model_type; }
#pragma GCC diagnostic pop

static void policy_from_proto(const policy_msg *p, td_model_config *c) {
  c->policy = TD_POLICY_LATEST;
  c->num_versions = 1;
  if (!p) return;
  switch (p->policy_choice_case) {
  case TENSORFLOW__SERVING__FILE_SYSTEM_STORAGE_PATH_SOURCE_CONFIG__SERVABLE_VERSION_POLICY__POLICY_CHOICE_LATEST:
    c->num_versions = p->latest && p->latest->num_versions ? p->latest->num_versions : 1;
    break;
  case TENSORFLOW__SERVING__FILE_SYSTEM_STORAGE_PATH_SOURCE_CONFIG__SERVABLE_VERSION_POLICY__POLICY_CHOICE_ALL:
    c->policy = TD_POLICY_ALL;
    break;
  case TENSORFLOW__SERVING__FILE_SYSTEM_STORAGE_PATH_SOURCE_CONFIG__SERVABLE_VERSION_POLICY__POLICY_CHOICE_SPECIFIC:
    c->policy = TD_POLICY_SPECIFIC;
    if (p->specific && p->specific->n_versions) {
      c->nversions = p->specific->n_versions;
      c->versions = td_xmalloc(c->nversions * sizeof *c->versions);
      memcpy(c->versions, p->specific->versions, c->nversions * sizeof *c->versions);
    }
    break;
  default:
    break;
  }
}

td_code td_model_config_from_proto(const Tensorflow__Serving__ModelServerConfig *msg, td_model_config_list *out,
                                   td_status *st) {
  memset(out, 0, sizeof *out);
  if (!msg || msg->config_case == TENSORFLOW__SERVING__MODEL_SERVER_CONFIG__CONFIG__NOT_SET) return TD_OK;
  if (msg->config_case != TENSORFLOW__SERVING__MODEL_SERVER_CONFIG__CONFIG_MODEL_CONFIG_LIST)
    return td_status_set(st, TD_FAILED_PRECONDITION,
                         "Cannot transition to requested config. It is only legal to transition from one "
                         "ModelConfigList to another.");
  const Tensorflow__Serving__ModelConfigList *list = msg->model_config_list;
  out->is_set = 1;
  size_t n = list ? list->n_config : 0;
  out->models = td_xcalloc(n + 1, sizeof *out->models);
  const char **platforms = td_xcalloc(n + 1, sizeof *platforms);
  td_code code = TD_OK;
  for (size_t i = 0; i < n; i++) {
    const Tensorflow__Serving__ModelConfig *mc = list->config[i];
    td_model_config *c = &out->models[out->n++];
    c->name = td_xstrdup(mc->name ? mc->name : "");
    c->base_path = td_xstrdup(mc->base_path ? mc->base_path : "");
    policy_from_proto(mc->model_version_policy, c);
    c->labels = td_xcalloc(mc->n_version_labels + 1, sizeof *c->labels);
    for (size_t k = 0; k < mc->n_version_labels; k++) {
      const Tensorflow__Serving__ModelConfig__VersionLabelsEntry *e = mc->version_labels[k];
      size_t j = 0; /* a repeated map key: last wins */
      while (j < c->nlabels && strcmp(c->labels[j].label, e->key ? e->key : "")) j++;
      if (j == c->nlabels) c->labels[c->nlabels++].label = td_xstrdup(e->key ? e->key : "");
      c->labels[j].version = e->value;
    }
    platforms[i] = mc->model_platform;
    int model_type = model_type_of(mc);
    if (code == TD_OK && model_type != TENSORFLOW__SERVING__MODEL_TYPE__MODEL_TYPE_UNSPECIFIED) {
      if (mc->model_platform && *mc->model_platform)
        code = td_status_set(st, TD_FAILED_PRECONDITION,
                             "Illegal setting both ModelServerConfig::model_type (deprecated) and "
                             "ModelServerConfig::model_platform.");
      else if (model_type == TENSORFLOW__SERVING__MODEL_TYPE__TENSORFLOW)
        platforms[i] = "tensorflow";
      else
        code = td_status_set(st, TD_INVALID_ARGUMENT, "ModelServerConfig::model_type choice %d not supported.",
                             model_type);
    }
  }
  if (code == TD_OK) code = validate(out, platforms, st);
  free(platforms);
  if (code != TD_OK) td_model_config_list_free(out);
  return code;
}

td_code td_model_config_parse_text(const char *text, size_t len, td_model_config_list *out, td_status *st) {
  memset(out, 0, sizeof *out);
  ProtobufCMessage *msg = NULL;
  TD_TRY(td_textformat_parse(&tensorflow__serving__model_server_config__descriptor, text, len, &msg, st));
  td_code code = td_model_config_from_proto((const Tensorflow__Serving__ModelServerConfig *)msg, out, st);
  protobuf_c_message_free_unpacked(msg, NULL);
  return code;
}

td_code td_model_config_read_file(const char *path, td_model_config_list *out, td_status *st) {
  memset(out, 0, sizeof *out);
  char *text = NULL;
  size_t len = 0;
  TD_TRY(td_read_file(path, &text, &len, st));
  td_code code = td_model_config_parse_text(text, len, out, st);
  free(text);
  return code;
}

td_code td_model_config_single(const char *name, const char *base_path, td_model_config_list *out, td_status *st) {
  memset(out, 0, sizeof *out);
  out->is_set = 1;
  out->n = 1;
  out->models = td_xcalloc(1, sizeof *out->models);
  out->models[0].name = td_xstrdup(name ? name : "");
  out->models[0].base_path = td_xstrdup(base_path ? base_path : "");
  out->models[0].num_versions = 1;
  td_code code = validate(out, NULL, st);
  if (code != TD_OK) td_model_config_list_free(out);
  return code;
}
