/* flags.h — tensorflow_model_server's command-line flags, parsed into td_server_options.
 *
 * One table in flags.c lists every TF Serving flag (name, type, default, help) and how
 * tensord treats it:
 *   implemented — stored in td_server_options and honoured;
 *   no effect   — accepted for compatibility, changes nothing (tuning knobs);
 *   not yet     — given anything but its default value → "flag --X is not supported yet by
 *                 tensord" (parse error).
 * Syntax is TF's: `--name=value`; bools also `--name` and `--name=true|false`. Unknown flags and
 * bad values are errors (the caller prints usage and exits 255, as TF Serving does). Leftover
 * positional arguments only warn ("unknown argument: <arg>"), as in TF Serving.
 *
 * Ownership: string options point into argv or at static defaults (argv must outlive the
 * options). Thread affinity: main thread, at startup.
 */
#ifndef TD_SERVER_FLAGS_H
#define TD_SERVER_FLAGS_H

#include <stdint.h>
#include <stdio.h>

#include "util/status.h"

typedef struct td_server_options {
  int64_t port;                 /* --port (gRPC), 0 = no TCP gRPC */
  const char *grpc_socket_path; /* --grpc_socket_path */
  const char *grpc_channel_arguments;         /* --grpc_channel_arguments "k=v,k=v" */
  int enable_serialization_as_tensor_content; /* --enable_serialization_as_tensor_content */
  int64_t grpc_max_threads;                   /* --grpc_max_threads: gRPC worker threads, 0 = one per core */
  int64_t rest_api_port;        /* --rest_api_port, 0 = off */
  int64_t rest_api_num_threads; /* --rest_api_num_threads, <= 0 = 4 x CPUs */
  int64_t rest_api_timeout_in_ms;
  int rest_api_enable_cors_support;
  int64_t rest_api_max_request_bytes; /* tensord extension */
  int64_t max_request_materialization_bytes; /* cap of a request's decode budget (util/budget.h) */
  int64_t rest_api_connection_timeout_seconds; /* tensord: close a REST connection without traffic this long */
  int64_t drain_timeout_seconds;               /* tensord: graceful drain on SIGTERM/SIGINT */
  int enable_batching;                  /* --enable_batching */
  const char *batching_parameters_file; /* --batching_parameters_file (text BatchingParameters) */
  int enable_per_model_batching_parameters; /* <version>/batching_params.pbtxt */
  int prefer_tflite_model; /* --prefer_tflite_model: serve <version>/model.tflite when present */
  const char *model_config_file;
  int64_t model_config_file_poll_wait_seconds; /* re-read the config file every N s (<= 0: once) */
  int allow_version_labels_for_unavailable_models;
  const char *model_name;
  const char *model_base_path;
  int64_t max_num_load_retries;
  int64_t num_load_threads; /* --num_load_threads */
  int64_t load_retry_interval_micros;
  int64_t file_system_poll_wait_seconds;
  int64_t tensorflow_session_parallelism;
  int64_t tensorflow_intra_op_parallelism;
  int64_t tensorflow_inter_op_parallelism;
  const char *saved_model_tags; /* comma-separated */
  int enable_signature_method_name_check;
  int enable_model_warmup;                   /* --enable_model_warmup */
  int64_t num_request_iterations_for_warmup; /* --num_request_iterations_for_warmup, used if > 0 */
  const char *monitoring_config_file;        /* --monitoring_config_file (text MonitoringConfig) */
  const char *trace_file;                    /* tensord --trace_file: Chrome trace of per-op timings */
  const char *ssl_config_file;               /* --ssl_config_file: text SSLConfig for the gRPC port */
  const char *rest_ssl_config_file;          /* tensord: text SSLConfig for the HTTP/REST port */
  const char *auth_token_file;               /* tensord: bearer tokens for both ports */
  int metrics_require_auth;                  /* tensord: the metrics path needs the token too */
  int enable_model_management;               /* tensord: false → HandleReloadConfigRequest PERMISSION_DENIED */
  int version; /* --version */
  int help;    /* --help */
} td_server_options;

/* Fills TF Serving's defaults. */
void td_server_options_init(td_server_options *o);

/* Parses argv[0..argc) (no program name). Leftover positional arguments are reported on
 * `warn` (may be NULL) and skipped. Errors (INVALID_ARGUMENT): unknown flag, bad value,
 * unsupported flag with a non-default value. */
td_code td_flags_parse(int argc, char **argv, td_server_options *o, FILE *warn, td_status *st) TD_MUST_CHECK;

/* The usage text: a line per flag with type, default and help. */
void td_flags_usage(FILE *f, const char *program);

#endif
