/* warmup.c — replays a SavedModel's warmup requests (see warmup.h).
 *
 * Invariants: the whole file is read into memory (TF caps it at 1000 records); each record's
 * length and data CRCs are checked before the record is parsed; a record runs through the
 * installed replayer against a private serving map that holds only the model being loaded
 * (published with a no-op free: the model stays the caller's), so the request path has no
 * special case for warmup. Core includes no front end (api/, grpc/).
 * td_warmup_loader_* wrap td_model_load with the load metrics and the replay for the manager.
 */
#include "core/warmup.h"

#include <stdlib.h>
#include <string.h>

#include "batching/batching.h"
#include "metrics/metrics.h"
#include "util/crc32c.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

#define TFRECORD_HINT ". Please verify your warmup data is in TFRecord format."

static uint64_t load_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static uint32_t load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

td_code td_tfrecord_next(const uint8_t *data, size_t len, size_t *pos, const uint8_t **rec, size_t *rec_len,
                         td_status *st) {
  size_t at = *pos;
  if (at == len) return td_status_set(st, TD_OUT_OF_RANGE, "End of file");
  if (len - at < 12) return td_status_set(st, TD_DATA_LOSS, "truncated record at %zu", at);
  uint64_t n = load_le64(data + at);
  if (td_crc32c_unmask(load_le32(data + at + 8)) != td_crc32c(data + at, 8))
    return td_status_set(st, TD_DATA_LOSS, "corrupted record at %zu (length checksum mismatch)", at);
  if (n > len - at - 12 || len - at - 12 - n < 4)
    return td_status_set(st, TD_DATA_LOSS, "truncated record at %zu", at);
  const uint8_t *body = data + at + 12;
  if (td_crc32c_unmask(load_le32(body + n)) != td_crc32c(body, (size_t)n))
    return td_status_set(st, TD_DATA_LOSS, "corrupted record at %zu (data checksum mismatch)", at);
  *rec = body;
  *rec_len = (size_t)n;
  *pos = at + 12 + (size_t)n + 4;
  return TD_OK;
}

/* TF runs warmup requests on the session directly, ignoring their ModelSpec; the replay goes
 * through the request path, so a spec naming no model (or `alias`, the name the log's first
 * spec gave) is renamed to model_name and pinned to the loading version. */
static void pin_spec(Tensorflow__Serving__ModelSpec **slot, const char *model_name, int64_t version,
                     const char *alias) {
  if (!*slot) {
    *slot = td_xmalloc(sizeof **slot);
    tensorflow__serving__model_spec__init(*slot);
  }
  Tensorflow__Serving__ModelSpec *ms = *slot;
  if (ms->name && ms->name[0] && (!alias || strcmp(ms->name, alias))) return; /* another model: fails as it would */
  if (ms->name != protobuf_c_empty_string) free(ms->name);
  ms->name = td_xstrdup(model_name);
  if (ms->version_choice_case == TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION) {
    if (!ms->version) {
      ms->version = td_xmalloc(sizeof *ms->version);
      google__protobuf__int64_value__init(ms->version);
    }
    ms->version->value = version;
  } else if (ms->version_choice_case == TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION_LABEL) {
    if (ms->version_label != protobuf_c_empty_string) free(ms->version_label);
    ms->version_label = NULL;
    ms->version_choice_case = TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE__NOT_SET;
  }
}

/* The alias of a spec slot: its own name (NULL when it has none). */
static const char *spec_name(Tensorflow__Serving__ModelSpec *const *slot) {
  return *slot && (*slot)->name && (*slot)->name[0] ? (*slot)->name : NULL;
}

/* (log types are a oneof: only the member named by log_type_case may be read) */
static void pin_specs(Tensorflow__Serving__PredictionLog *log, const char *model_name, int64_t version) {
  Tensorflow__Serving__ModelSpec **slot = NULL;
  switch (log->log_type_case) {
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_PREDICT_LOG:
    if (!log->predict_log->request) {
      log->predict_log->request = td_xmalloc(sizeof *log->predict_log->request);
      tensorflow__serving__predict_request__init(log->predict_log->request);
    }
    slot = &log->predict_log->request->model_spec;
    break;
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_CLASSIFY_LOG:
    if (log->classify_log->request) slot = &log->classify_log->request->model_spec;
    break;
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_REGRESS_LOG:
    if (log->regress_log->request) slot = &log->regress_log->request->model_spec;
    break;
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_MULTI_INFERENCE_LOG:
    if (log->multi_inference_log->request && log->multi_inference_log->request->n_tasks) {
      Tensorflow__Serving__InferenceTask **tasks = log->multi_inference_log->request->tasks;
      char *alias = spec_name(&tasks[0]->model_spec) ? td_xstrdup(tasks[0]->model_spec->name) : NULL;
      for (size_t i = 0; i < log->multi_inference_log->request->n_tasks; i++)
        pin_spec(&tasks[i]->model_spec, model_name, version, alias);
      free(alias);
    }
    return;
  default:
    return;
  }
  if (slot) {
    char *alias = spec_name(slot) ? td_xstrdup((*slot)->name) : NULL;
    pin_spec(slot, model_name, version, alias);
    free(alias);
  }
}

/* The log types TF Serving replays (session_run / predict_streamed are not). */
static td_code replayable(const Tensorflow__Serving__PredictionLog *log, td_status *st) {
  switch (log->log_type_case) {
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_PREDICT_LOG:
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_CLASSIFY_LOG:
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_REGRESS_LOG:
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_MULTI_INFERENCE_LOG:
    return TD_OK;
  default:
    return td_status_set(st, TD_UNIMPLEMENTED, "Unsupported log_type for warmup: %d", (int)log->log_type_case);
  }
}

typedef struct replay_env {
  const td_warmup_replayer *replayer;
  td_servables *map;
  const char *model_name;
  int64_t version;
} replay_env;

/* Reads and replays every record of data; *records counts the records read. */
static td_code replay_all(const replay_env *env, const char *path, const uint8_t *data, size_t len, int iterations,
                          int64_t *records, td_status *st) {
  size_t pos = 0;
  for (;;) {
    const uint8_t *rec = NULL;
    size_t rec_len = 0;
    td_status framing = {0};
    td_code code = td_tfrecord_next(data, len, &pos, &rec, &rec_len, &framing);
    if (code == TD_OUT_OF_RANGE) return TD_OK;
    if (code != TD_OK) return td_status_set(st, code, "%s" TFRECORD_HINT, framing.msg);
    if (++*records > TD_WARMUP_MAX_RECORDS)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Number of warmup records exceeds the maximum (%d) at %s",
                           TD_WARMUP_MAX_RECORDS, path);
    Tensorflow__Serving__PredictionLog *log = tensorflow__serving__prediction_log__unpack(NULL, rec_len, rec);
    if (!log)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Failed to parse warmup record: record %lld of %s",
                           (long long)*records, path);
    if (log->log_type_case != TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE__NOT_SET) { /* unset: skipped, as TF */
      code = replayable(log, st);
      if (code == TD_OK && !(env->replayer && env->replayer->fn))
        code = td_status_set(st, TD_UNIMPLEMENTED, "this server cannot replay warmup requests");
      if (code == TD_OK) {
        pin_specs(log, env->model_name, env->version);
        code = env->replayer->fn(env->replayer->ctx, env->map, log, iterations, st);
        if (code != TD_OK) td_status_prefix(st, "Warmup request %lld failed", (long long)*records);
      }
    }
    tensorflow__serving__prediction_log__free_unpacked(log, NULL);
    if (code != TD_OK) return code;
  }
}

/* The private map does not own the model being loaded. */
static void keep_model(void *ctx, td_model *m) {}

td_code td_warmup_replay(td_model *m, const char *model_name, int64_t version, const char *version_dir, int iterations,
                         const td_warmup_replayer *replayer, td_status *st) {
  char *path = td_path_join(version_dir, TD_WARMUP_FILE);
  if (!td_is_file(path)) {
    TD_LOG_INFO("No warmup data file found at %s", path);
    free(path);
    return TD_OK;
  }
  int64_t start_us = td_metrics_now_us();
  char *data = NULL;
  size_t len = 0;
  int64_t records = 0;
  td_code code = td_read_file(path, &data, &len, st);
  if (code == TD_OK) {
    replay_env env = {.replayer = replayer, .map = td_servables_new(), .model_name = model_name, .version = version};
    td_servables_publish_with(env.map, model_name, version, m, keep_model, NULL);
    code = replay_all(&env, path, (const uint8_t *)data, len, iterations > 0 ? iterations : 1, &records, st);
    td_servables_free(env.map);
  }
  int64_t elapsed_us = td_metrics_now_us() - start_us;
  td_metrics_warmup(version_dir, code, elapsed_us, records);
  if (code == TD_OK)
    TD_LOG_INFO("Finished reading warmup data for model at %s. Number of warmup records read: %lld. Elapsed time "
                "(microseconds): %lld.",
                path, (long long)records, (long long)elapsed_us);
  else
    TD_LOG_ERROR("Warmup of model %s version %lld failed: %s", model_name, (long long)version, st->msg);
  free(data);
  free(path);
  return code;
}

/* ---- the server's loader ---- */

td_code td_warmup_loader_load(void *ctx, const char *version_dir, td_model **out, td_status *st) {
  const td_warmup_loader *l = ctx;
  int64_t start_us = td_metrics_now_us();
  td_code code = td_model_load(version_dir, l->tags, l->ntags, &l->model, out, st);
  td_metrics_load(version_dir, code == TD_OK, td_metrics_now_us() - start_us);
  if (code == TD_OK && l->per_model_batching) {
    td_batching_params *bp;
    code = td_batching_params_for_version(version_dir, &bp, st);
    if (code == TD_OK) td_model_set_batching_params(*out, bp);
    else {
      td_model_free(*out);
      *out = NULL;
    }
  }
  if (code != TD_OK || !l->enable_warmup) return code;
  /* <base>/<name>/<version> → name, version (only used in logs and the discarded responses) */
  char *dir = td_xstrdup(version_dir);
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') dir[--n] = 0;
  char *slash = strrchr(dir, '/');
  const char *version_text = slash ? slash + 1 : dir;
  int64_t version = strtoll(version_text, NULL, 10);
  if (slash) *slash = 0;
  const char *parent = slash ? strrchr(dir, '/') : NULL;
  const char *name = parent ? parent + 1 : slash ? dir : "";
  code = td_warmup_replay(*out, name, version, version_dir, l->iterations, &l->replayer, st);
  free(dir);
  if (code != TD_OK) {
    td_model_free(*out);
    *out = NULL;
  }
  return code;
}

void td_warmup_loader_free(void *ctx, td_model *m) { td_model_free(m); }
