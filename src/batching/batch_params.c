/* batch_params.c — tensorflow.serving.BatchingParameters (text format) → td_batching_params,
 * over TF's SharedBatchScheduler defaults, with TF's validation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batching/batching.h"
#include "proto/textformat.h"
#include "tensorflow_serving/session_bundle_config.pb-c.h"
#include "util/file.h"
#include "util/mem.h"

void td_batching_params_default(td_batching_params *p) {
  memset(p, 0, sizeof *p);
  p->max_batch_size = 1000;
  p->batch_timeout_micros = 0;
  p->max_enqueued_batches = 10;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  p->num_batch_threads = cores > 0 ? cores : 1;
  snprintf(p->thread_pool_name, sizeof p->thread_pool_name, "%s", "batch_threads");
}

static td_code validate(const td_batching_params *p, td_status *st) {
  if (p->max_batch_size <= 0)
    return td_status_set(st, TD_INVALID_ARGUMENT, "max_batch_size must be positive; was %lld",
                         (long long)p->max_batch_size);
  if (p->batch_timeout_micros < 0)
    return td_status_set(st, TD_INVALID_ARGUMENT, "batch_timeout_micros must be non-negative; was %lld",
                         (long long)p->batch_timeout_micros);
  if (p->max_enqueued_batches <= 0)
    return td_status_set(st, TD_INVALID_ARGUMENT, "max_enqueued_batches must be positive; was %lld",
                         (long long)p->max_enqueued_batches);
  if (p->num_batch_threads <= 0)
    return td_status_set(st, TD_INVALID_ARGUMENT, "num_batch_threads must be positive; was %lld",
                         (long long)p->num_batch_threads);
  int64_t last = 0;
  for (int i = 0; i < p->n_allowed_batch_sizes; i++) {
    int64_t s = p->allowed_batch_sizes[i];
    if (s <= 0)
      return td_status_set(st, TD_INVALID_ARGUMENT, "allowed_batch_sizes entries must be positive");
    if (s <= last)
      return td_status_set(st, TD_INVALID_ARGUMENT, "allowed_batch_sizes entries must be monotonically increasing");
    last = s;
  }
  if (p->n_allowed_batch_sizes > 0 && last != p->max_batch_size)
    return td_status_set(st, TD_INVALID_ARGUMENT,
                         "Last entry in allowed_batch_sizes must match max_batch_size; last entry was %lld; expected %lld",
                         (long long)last, (long long)p->max_batch_size);
  return TD_OK;
}

td_code td_batching_params_parse(const char *text, size_t len, td_batching_params *p, td_status *st) {
  ProtobufCMessage *msg = NULL;
  TD_TRY(td_textformat_parse(&tensorflow__serving__batching_parameters__descriptor, text, len, &msg, st));
  const Tensorflow__Serving__BatchingParameters *bp = (const Tensorflow__Serving__BatchingParameters *)msg;
  if (bp->max_batch_size) p->max_batch_size = bp->max_batch_size->value;
  if (bp->batch_timeout_micros) p->batch_timeout_micros = bp->batch_timeout_micros->value;
  if (bp->max_enqueued_batches) p->max_enqueued_batches = bp->max_enqueued_batches->value;
  if (bp->num_batch_threads) p->num_batch_threads = bp->num_batch_threads->value;
  if (bp->thread_pool_name && bp->thread_pool_name->value)
    snprintf(p->thread_pool_name, sizeof p->thread_pool_name, "%s", bp->thread_pool_name->value);
  if (bp->enable_large_batch_splitting) p->enable_large_batch_splitting = bp->enable_large_batch_splitting->value;
  if (bp->max_execution_batch_size) p->max_execution_batch_size = bp->max_execution_batch_size->value;
  p->pad_variable_length_inputs = bp->pad_variable_length_inputs;
  td_code code = TD_OK;
  if (bp->n_allowed_batch_sizes > TD_BATCH_MAX_ALLOWED_SIZES)
    code = td_status_set(st, TD_INVALID_ARGUMENT, "at most %d allowed_batch_sizes are supported",
                         TD_BATCH_MAX_ALLOWED_SIZES);
  else {
    p->n_allowed_batch_sizes = (int)bp->n_allowed_batch_sizes;
    for (size_t i = 0; i < bp->n_allowed_batch_sizes; i++) p->allowed_batch_sizes[i] = bp->allowed_batch_sizes[i];
  }
  protobuf_c_message_free_unpacked(msg, NULL);
  return code != TD_OK ? code : validate(p, st);
}

td_code td_batching_params_load(const char *path, td_batching_params *p, td_status *st) {
  char *text;
  size_t len;
  TD_TRY(td_read_file(path, &text, &len, st));
  td_code code = td_batching_params_parse(text, len, p, st);
  free(text);
  return code;
}

td_code td_batching_params_for_version(const char *version_dir, td_batching_params **out, td_status *st) {
  *out = NULL;
  char *path = td_path_join(version_dir, "batching_params.pbtxt");
  td_code code = TD_OK;
  if (td_is_file(path)) {
    td_batching_params *p = td_xmalloc(sizeof *p);
    td_batching_params_default(p);
    code = td_batching_params_load(path, p, st);
    if (code == TD_OK) *out = p;
    else {
      free(p);
      td_status_prefix(st, "Invalid %s", path);
    }
  }
  free(path);
  return code;
}
