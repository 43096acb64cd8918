/* flags.c — the flag table of tensorflow_model_server (tfserving-api.md §3) and its parser.
 *
 * Invariants: every TF Serving flag has exactly one row; a row with a field offset stores
 * into td_server_options, a row without one is "no effect" or "not yet" (see flags.h). The
 * default text of a row is parsed with the same code as user values, so "given its default
 * value" is a comparison of parsed values, not of spellings ("--port=08500" is the default).
 */
#include "server/flags.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum td_flag_type { FLAG_BOOL, FLAG_INT32, FLAG_INT64, FLAG_FLOAT, FLAG_STRING } td_flag_type;
typedef enum td_flag_support { FLAG_IMPLEMENTED, FLAG_NO_EFFECT, FLAG_NOT_YET } td_flag_support;

#define NO_FIELD ((size_t)-1)
#define FIELD(f) offsetof(td_server_options, f)

typedef struct td_flag {
  const char *name;
  td_flag_type type;
  const char *default_text;
  td_flag_support support;
  size_t offset; /* into td_server_options, NO_FIELD when not stored */
  const char *help;
} td_flag;

static const td_flag flags[] = {
    {"port", FLAG_INT32, "8500", FLAG_IMPLEMENTED, FIELD(port),
     "TCP port to listen on for gRPC/HTTP API. Disabled if port set to zero."},
    {"grpc_socket_path", FLAG_STRING, "", FLAG_IMPLEMENTED, FIELD(grpc_socket_path),
     "If non-empty, listen to a UNIX socket for gRPC API on the given path."},
    {"rest_api_port", FLAG_INT32, "0", FLAG_IMPLEMENTED, FIELD(rest_api_port),
     "Port to listen on for HTTP/REST API. If set to zero HTTP/REST API will not be exported. This port must be "
     "different than the one specified in --port."},
    {"rest_api_num_threads", FLAG_INT32, "0", FLAG_IMPLEMENTED, FIELD(rest_api_num_threads),
     "Number of threads for HTTP/REST API processing. If not set (0), will be auto set based on number of CPUs."},
    {"rest_api_timeout_in_ms", FLAG_INT32, "30000", FLAG_IMPLEMENTED, FIELD(rest_api_timeout_in_ms),
     "Timeout for HTTP/REST API calls."},
    {"rest_api_enable_cors_support", FLAG_BOOL, "false", FLAG_IMPLEMENTED, FIELD(rest_api_enable_cors_support),
     "Enable CORS headers in response"},
    {"rest_api_max_request_bytes", FLAG_INT64, "67108864", FLAG_IMPLEMENTED, FIELD(rest_api_max_request_bytes),
     "(tensord) Largest accepted HTTP/REST request body; larger requests get 413."},
    {"max_request_materialization_bytes", FLAG_INT64, "1073741824", FLAG_IMPLEMENTED,
     FIELD(max_request_materialization_bytes),
     "(tensord) Cap on the bytes one request may make the server materialize while decoding it (string copies, "
     "filled shapes, Classify/Regress context copied into every example, JSON values). A request's budget is "
     "max(16 MiB, 32 x its size), capped by this; over it: RESOURCE_EXHAUSTED (gRPC) / HTTP 400 (REST)."},
    {"rest_api_connection_timeout_seconds", FLAG_INT32, "30", FLAG_IMPLEMENTED,
     FIELD(rest_api_connection_timeout_seconds),
     "(tensord) An HTTP/REST connection without traffic for this long (reading a request, or idle between "
     "keep-alive requests) is closed."},
    {"drain_timeout_seconds", FLAG_INT32, "30", FLAG_IMPLEMENTED, FIELD(drain_timeout_seconds),
     "(tensord) On SIGTERM/SIGINT: stop accepting, report not ready (/readyz, gRPC health), answer the requests "
     "in flight for up to this long, then exit 0."},
    {"enable_batching", FLAG_BOOL, "false", FLAG_IMPLEMENTED, FIELD(enable_batching), "enable batching"},
    {"allow_version_labels_for_unavailable_models", FLAG_BOOL, "false", FLAG_IMPLEMENTED,
     FIELD(allow_version_labels_for_unavailable_models),
     "If true, allows assigning unused version labels to models that are not available yet."},
    {"batching_parameters_file", FLAG_STRING, "", FLAG_IMPLEMENTED, FIELD(batching_parameters_file),
     "If non-empty, read an ascii BatchingParameters protobuf from the supplied file name and use the contained "
     "values instead of the defaults."},
    {"enable_per_model_batching_parameters", FLAG_BOOL, "false", FLAG_IMPLEMENTED,
     FIELD(enable_per_model_batching_parameters),
     "Enables model specific batching params like batch sizes, timeouts, batching feature flags to be read from "
     "`batching_params.pbtxt` file inside model version directory."},
    {"model_config_file", FLAG_STRING, "", FLAG_IMPLEMENTED, FIELD(model_config_file),
     "If non-empty, read an ascii ModelServerConfig protobuf from the supplied file name, and serve the models in "
     "that file. This config file can be used to specify multiple models to serve and other advanced parameters "
     "including non-default version policy. (If used, --model_name, --model_base_path are ignored.)"},
    {"model_config_file_poll_wait_seconds", FLAG_INT32, "0", FLAG_IMPLEMENTED,
     FIELD(model_config_file_poll_wait_seconds),
     "Interval in seconds between each poll of the filesystem for model_config_file. If unset or set to zero, "
     "poll will be done exactly once and not periodically."},
    {"model_name", FLAG_STRING, "default", FLAG_IMPLEMENTED, FIELD(model_name),
     "name of model (ignored if --model_config_file flag is set)"},
    {"model_base_path", FLAG_STRING, "", FLAG_IMPLEMENTED, FIELD(model_base_path),
     "path to export (ignored if --model_config_file flag is set, otherwise required)"},
    {"num_load_threads", FLAG_INT32, "0", FLAG_IMPLEMENTED, FIELD(num_load_threads),
     "The number of threads in the thread-pool used to load servables."},
    {"num_unload_threads", FLAG_INT32, "0", FLAG_NO_EFFECT, NO_FIELD,
     "The number of threads in the thread-pool used to unload servables."},
    {"max_num_load_retries", FLAG_INT32, "5", FLAG_IMPLEMENTED, FIELD(max_num_load_retries),
     "maximum number of times it retries loading a model after the first failure, before giving up."},
    {"load_retry_interval_micros", FLAG_INT64, "60000000", FLAG_IMPLEMENTED, FIELD(load_retry_interval_micros),
     "The interval, in microseconds, between each servable load retry. If set negative, it doesn't wait."},
    {"file_system_poll_wait_seconds", FLAG_INT32, "1", FLAG_IMPLEMENTED, FIELD(file_system_poll_wait_seconds),
     "Interval in seconds between each poll of the filesystem for new model version. If set to zero poll will be "
     "exactly done once and not periodically. Setting this to negative value will disable polling entirely."},
    {"flush_filesystem_caches", FLAG_BOOL, "true", FLAG_NO_EFFECT, NO_FIELD,
     "If true (the default), filesystem caches will be flushed after the initial load of all servables."},
    {"tensorflow_session_parallelism", FLAG_INT64, "0", FLAG_IMPLEMENTED, FIELD(tensorflow_session_parallelism),
     "Number of threads to use for running a Tensorflow session. Auto-configured by default."},
    {"tensorflow_session_config_file", FLAG_STRING, "", FLAG_NOT_YET, NO_FIELD,
     "If non-empty, read an ascii TensorFlow Session ConfigProto protobuf from the supplied file name."},
    {"tensorflow_intra_op_parallelism", FLAG_INT64, "0", FLAG_IMPLEMENTED, FIELD(tensorflow_intra_op_parallelism),
     "Number of threads to use to parallelize the execution of an individual op. Auto-configured by default."},
    {"tensorflow_inter_op_parallelism", FLAG_INT64, "0", FLAG_IMPLEMENTED, FIELD(tensorflow_inter_op_parallelism),
     "Controls the number of operators that can be executed simultaneously. Auto-configured by default."},
    {"use_alts_credentials", FLAG_BOOL, "false", FLAG_NOT_YET, NO_FIELD, "Use Google ALTS credentials"},
    {"ssl_config_file", FLAG_STRING, "", FLAG_IMPLEMENTED, FIELD(ssl_config_file),
     "If non-empty, read an ascii SSLConfig protobuf from the supplied file name and set up a secure gRPC channel"},
    {"rest_ssl_config_file", FLAG_STRING, "", FLAG_IMPLEMENTED, FIELD(rest_ssl_config_file),
     "(tensord) If non-empty, read an ascii SSLConfig protobuf (the format of --ssl_config_file; the same file "
     "may be given to both) and serve HTTP/REST over HTTPS; client_verify requires client certificates signed by "
     "custom_ca."},
    {"auth_token_file", FLAG_STRING, "", FLAG_IMPLEMENTED, FIELD(auth_token_file),
     "(tensord) If non-empty, a file of bearer tokens (one per line, '#' comments): every gRPC call needs metadata "
     "'authorization: Bearer <token>' (else UNAUTHENTICATED) and every REST request 'Authorization: Bearer "
     "<token>' (else 401), except grpc.health.v1, /healthz, /readyz and the metrics path."},
    {"metrics_require_auth", FLAG_BOOL, "false", FLAG_IMPLEMENTED, FIELD(metrics_require_auth),
     "(tensord) With --auth_token_file, the Prometheus metrics path needs the bearer token too (probes never do)."},
    {"enable_model_management", FLAG_BOOL, "true", FLAG_IMPLEMENTED, FIELD(enable_model_management),
     "(tensord) If false, ModelService/HandleReloadConfigRequest and the KServe V2 repository load/unload "
     "answer PERMISSION_DENIED (the model set is "
     "changed only through --model_config_file). True keeps TF Serving's behaviour."},
    {"platform_config_file", FLAG_STRING, "", FLAG_NOT_YET, NO_FIELD,
     "If non-empty, read an ascii PlatformConfigMap protobuf from the supplied file name, and use that platform "
     "config instead of the Tensorflow platform."},
    {"per_process_gpu_memory_fraction", FLAG_FLOAT, "0", FLAG_NO_EFFECT, NO_FIELD,
     "Fraction that each process occupies of the GPU memory space (tensord runs on CPU)."},
    {"saved_model_tags", FLAG_STRING, "serve", FLAG_IMPLEMENTED, FIELD(saved_model_tags),
     "Comma-separated set of tags corresponding to the meta graph def to load from SavedModel."},
    {"grpc_channel_arguments", FLAG_STRING, "", FLAG_IMPLEMENTED, FIELD(grpc_channel_arguments),
     "A comma separated list of arguments to be passed to the grpc server. (e.g. "
     "grpc.max_connection_age_ms=2000)"},
    {"grpc_max_threads", FLAG_INT32, "0", FLAG_IMPLEMENTED, FIELD(grpc_max_threads),
     "Max grpc server threads to handle grpc messages. (tensord: gRPC worker threads, each serving one call at a "
     "time; 0 = one per core. With --enable_batching more threads let more calls wait in a batch.)"},
    {"enable_model_warmup", FLAG_BOOL, "true", FLAG_IMPLEMENTED, FIELD(enable_model_warmup),
     "Enables model warmup, which triggers lazy initializations (such as TF optimizations) at load time, to reduce "
     "first request latency."},
    {"num_request_iterations_for_warmup", FLAG_INT32, "0", FLAG_IMPLEMENTED, FIELD(num_request_iterations_for_warmup),
     "Number of times a request is iterated during warmup replay. This value is used only if > 0."},
    {"version", FLAG_BOOL, "false", FLAG_IMPLEMENTED, FIELD(version), "Display version"},
    {"help", FLAG_BOOL, "false", FLAG_IMPLEMENTED, FIELD(help), "(tensord) Print this usage text"},
    {"monitoring_config_file", FLAG_STRING, "", FLAG_IMPLEMENTED, FIELD(monitoring_config_file),
     "If non-empty, read an ascii MonitoringConfig protobuf from the supplied file name"},
    {"remove_unused_fields_from_bundle_metagraph", FLAG_BOOL, "true", FLAG_NO_EFFECT, NO_FIELD,
     "Removes unused fields from MetaGraphDef proto message to save memory."},
    {"prefer_tflite_model", FLAG_BOOL, "false", FLAG_IMPLEMENTED, FIELD(prefer_tflite_model),
     "EXPERIMENTAL; CAN BE REMOVED ANYTIME! Prefer TensorFlow Lite model from `model.tflite` file in SavedModel "
     "directory, instead of the TensorFlow model from `saved_model.pb` file."},
    {"num_tflite_pools", FLAG_INT32, "0", FLAG_NO_EFFECT, NO_FIELD,
     "EXPERIMENTAL; CAN BE REMOVED ANYTIME! Number of TFLite interpreters in an interpreter pool of TfLiteSession."},
    {"num_tflite_interpreters_per_pool", FLAG_INT32, "1", FLAG_NO_EFFECT, NO_FIELD,
     "EXPERIMENTAL; CAN BE REMOVED ANYTIME! Number of TFLite interpreters in an interpreter pool of TfLiteSession."},
    {"enable_signature_method_name_check", FLAG_BOOL, "false", FLAG_IMPLEMENTED,
     FIELD(enable_signature_method_name_check),
     "Enable method_name check for SignatureDef. Disable this if serving native TF2 regression/classification "
     "models."},
    {"xla_cpu_compilation_enabled", FLAG_BOOL, "false", FLAG_NO_EFFECT, NO_FIELD, "EXPERIMENTAL; Enable XLA:CPU JIT"},
    {"xla_gpu_compilation_enabled", FLAG_BOOL, "false", FLAG_NO_EFFECT, NO_FIELD, "EXPERIMENTAL; Enable XLA:GPU JIT"},
    {"enable_profiler", FLAG_BOOL, "true", FLAG_NO_EFFECT, NO_FIELD, "Enable profiler service."},
    {"trace_file", FLAG_STRING, "", FLAG_IMPLEMENTED, FIELD(trace_file),
     "(tensord) If non-empty, write a Chrome trace (JSON traceEvents; chrome://tracing, Perfetto) of every "
     "kernel execution of every engine run to this file: node name, op type, start and duration in microseconds, "
     "thread. Finished on shutdown. tensorflow.ProfilerService/Profile answers UNIMPLEMENTED and points here."},
    {"thread_pool_factory_config_file", FLAG_STRING, "", FLAG_NOT_YET, NO_FIELD,
     "If non-empty, read an ascii ThreadPoolConfig protobuf from the supplied file name."},
    {"mixed_precision", FLAG_STRING, "", FLAG_NOT_YET, NO_FIELD, "specify mixed_precision mode"},
    {"skip_initialize_tpu", FLAG_BOOL, "false", FLAG_NO_EFFECT, NO_FIELD, "Whether to skip auto initializing TPU."},
    {"enable_grpc_healthcheck_service", FLAG_BOOL, "false", FLAG_NO_EFFECT, NO_FIELD,
     "Enable the standard gRPC health checking service. (tensord: grpc.health.v1.Health is always served; it "
     "follows readiness and the drain.)"},
    {"enable_serialization_as_tensor_content", FLAG_BOOL, "false", FLAG_IMPLEMENTED,
     FIELD(enable_serialization_as_tensor_content),
     "Enable serialization of predict response as tensor content."},
};
enum { NUM_FLAGS = sizeof flags / sizeof flags[0] };

/* A parsed value of any flag type. */
typedef struct flag_value {
  int b;
  int64_t i;
  double f;
  const char *s;
} flag_value;

static td_code parse_value(const td_flag *fl, const char *text, flag_value *v, td_status *st) {
  memset(v, 0, sizeof *v);
  char *end = NULL;
  switch (fl->type) {
  case FLAG_BOOL:
    if (!strcmp(text, "true") || !strcmp(text, "1")) v->b = 1;
    else if (!strcmp(text, "false") || !strcmp(text, "0")) v->b = 0;
    else return td_status_set(st, TD_INVALID_ARGUMENT, "Illegal value for flag --%s: '%s' (expected true or false)",
                              fl->name, text);
    return TD_OK;
  case FLAG_INT32:
  case FLAG_INT64:
    errno = 0;
    v->i = strtoll(text, &end, 10);
    if (!*text || *end || errno == ERANGE ||
        (fl->type == FLAG_INT32 && (v->i < INT32_MIN || v->i > INT32_MAX)))
      return td_status_set(st, TD_INVALID_ARGUMENT, "Illegal value for flag --%s: '%s' (expected an integer)",
                           fl->name, text);
    return TD_OK;
  case FLAG_FLOAT:
    errno = 0;
    v->f = strtod(text, &end);
    if (!*text || *end || errno == ERANGE || isnan(v->f))
      return td_status_set(st, TD_INVALID_ARGUMENT, "Illegal value for flag --%s: '%s' (expected a number)",
                           fl->name, text);
    return TD_OK;
  case FLAG_STRING:
    v->s = text;
    return TD_OK;
  }
  return td_status_set(st, TD_INTERNAL, "flag --%s has no type", fl->name);
}

static int values_equal(const td_flag *fl, const flag_value *a, const flag_value *b) {
  switch (fl->type) {
  case FLAG_BOOL: return a->b == b->b;
  case FLAG_INT32:
  case FLAG_INT64: return a->i == b->i;
  case FLAG_FLOAT: return a->f == b->f;
  case FLAG_STRING: return !strcmp(a->s, b->s);
  }
  return 0;
}

static void store(const td_flag *fl, const flag_value *v, td_server_options *o) {
  if (fl->offset == NO_FIELD) return;
  char *field = (char *)o + fl->offset;
  switch (fl->type) {
  case FLAG_BOOL: *(int *)field = v->b; break;
  case FLAG_INT32:
  case FLAG_INT64: *(int64_t *)field = v->i; break;
  case FLAG_FLOAT: *(double *)field = v->f; break;
  case FLAG_STRING: *(const char **)field = v->s; break;
  }
}

void td_server_options_init(td_server_options *o) {
  memset(o, 0, sizeof *o);
  for (int i = 0; i < NUM_FLAGS; i++) {
    flag_value v;
    td_code c = parse_value(&flags[i], flags[i].default_text, &v, NULL);
    if (c == TD_OK) store(&flags[i], &v, o);
  }
}

static const td_flag *find_flag(const char *name, size_t len) {
  for (int i = 0; i < NUM_FLAGS; i++)
    if (strlen(flags[i].name) == len && !strncmp(flags[i].name, name, len)) return &flags[i];
  return NULL;
}

static td_code parse_one(const char *arg, td_server_options *o, td_status *st) {
  const char *name = arg + 2, *eq = strchr(name, '=');
  size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
  const td_flag *fl = find_flag(name, name_len);
  if (!fl) return td_status_set(st, TD_INVALID_ARGUMENT, "unknown flag: %s", arg);
  const char *text = eq ? eq + 1 : NULL;
  if (!text) {
    if (fl->type != FLAG_BOOL)
      return td_status_set(st, TD_INVALID_ARGUMENT, "flag --%s needs a value: --%s=<value>", fl->name, fl->name);
    text = "true";
  }
  flag_value v;
  TD_TRY(parse_value(fl, text, &v, st));
  if (fl->support == FLAG_NOT_YET) {
    flag_value def;
    TD_TRY(parse_value(fl, fl->default_text, &def, st));
    if (!values_equal(fl, &v, &def))
      return td_status_set(st, TD_UNIMPLEMENTED, "flag --%s is not supported yet by tensord", fl->name);
  }
  store(fl, &v, o);
  return TD_OK;
}

td_code td_flags_parse(int argc, char **argv, td_server_options *o, FILE *warn, td_status *st) {
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0' || arg[2] == '=') {
      if (warn) fprintf(warn, "unknown argument: %s\n", arg);
      continue;
    }
    TD_TRY(parse_one(arg, o, st));
  }
  return TD_OK;
}

static const char *type_name(td_flag_type t) {
  static const char *const names[] = {[FLAG_BOOL] = "bool", [FLAG_INT32] = "int32", [FLAG_INT64] = "int64",
                                      [FLAG_FLOAT] = "float", [FLAG_STRING] = "string"};
  return names[t];
}

void td_flags_usage(FILE *f, const char *program) {
  fprintf(f, "usage: %s\nFlags:\n", program);
  for (int i = 0; i < NUM_FLAGS; i++) {
    const td_flag *fl = &flags[i];
    const char *note = fl->support == FLAG_NOT_YET ? " [not supported yet by tensord]"
                       : fl->support == FLAG_NO_EFFECT ? " [accepted, no effect in tensord]"
                                                       : "";
    if (fl->type == FLAG_STRING)
      fprintf(f, "\t--%s=\"%s\"\t%s\t%s%s\n", fl->name, fl->default_text, type_name(fl->type), fl->help, note);
    else
      fprintf(f, "\t--%s=%s\t%s\t%s%s\n", fl->name, fl->default_text, type_name(fl->type), fl->help, note);
  }
}
