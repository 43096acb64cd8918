/* test_flags.c — tensorflow_model_server flag parsing: defaults, value syntax per type,
 * unknown flags, bad values, not-yet-supported flags (error unless given their default),
 * no-effect flags, positional leftovers, and the usage text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/flags.h"

static td_code parse(td_server_options *o, td_status *st, int argc, ...) {
  char *argv[32];
  va_list ap;
  va_start(ap, argc);
  for (int i = 0; i < argc; i++) argv[i] = va_arg(ap, char *);
  va_end(ap);
  td_server_options_init(o);
  memset(st, 0, sizeof *st);
  return td_flags_parse(argc, argv, o, NULL, st);
}

static void test_defaults(void **state) {
  (void)state;
  td_server_options o;
  td_server_options_init(&o);
  assert_int_equal(o.port, 8500);
  assert_int_equal(o.rest_api_port, 0);
  assert_int_equal(o.rest_api_timeout_in_ms, 30000);
  assert_int_equal(o.rest_api_enable_cors_support, 0);
  assert_int_equal(o.rest_api_max_request_bytes, 64 << 20);
  assert_string_equal(o.model_name, "default");
  assert_string_equal(o.model_base_path, "");
  assert_string_equal(o.model_config_file, "");
  assert_int_equal(o.file_system_poll_wait_seconds, 1);
  assert_int_equal(o.max_num_load_retries, 5);
  assert_int_equal(o.load_retry_interval_micros, 60000000);
  assert_string_equal(o.saved_model_tags, "serve");
  assert_int_equal(o.enable_signature_method_name_check, 0);
  assert_int_equal(o.version, 0);
}

static void test_docker_command_line(void **state) {
  (void)state;
  td_server_options o;
  td_status st;
  assert_int_equal(parse(&o, &st, 4, "--port=8500", "--rest_api_port=8501", "--model_name=m",
                         "--model_base_path=/models/m"),
                   TD_OK);
  assert_int_equal(o.port, 8500);
  assert_int_equal(o.rest_api_port, 8501);
  assert_string_equal(o.model_name, "m");
  assert_string_equal(o.model_base_path, "/models/m");
}

static void test_bool_syntax(void **state) {
  (void)state;
  td_server_options o;
  td_status st;
  assert_int_equal(parse(&o, &st, 1, "--rest_api_enable_cors_support"), TD_OK);
  assert_int_equal(o.rest_api_enable_cors_support, 1);
  assert_int_equal(parse(&o, &st, 1, "--rest_api_enable_cors_support=true"), TD_OK);
  assert_int_equal(o.rest_api_enable_cors_support, 1);
  assert_int_equal(parse(&o, &st, 2, "--rest_api_enable_cors_support", "--rest_api_enable_cors_support=false"), TD_OK);
  assert_int_equal(o.rest_api_enable_cors_support, 0);
  assert_int_equal(parse(&o, &st, 1, "--enable_signature_method_name_check=1"), TD_OK);
  assert_int_equal(o.enable_signature_method_name_check, 1);
  assert_int_equal(parse(&o, &st, 1, "--version"), TD_OK);
  assert_int_equal(o.version, 1);
  assert_int_equal(parse(&o, &st, 1, "--rest_api_enable_cors_support=yes"), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "rest_api_enable_cors_support"));
}

static void test_bad_values(void **state) {
  (void)state;
  td_server_options o;
  td_status st;
  const char *bad[] = {"--port=abc", "--port=", "--port=1x", "--port=99999999999", "--rest_api_port",
                       "--load_retry_interval_micros=1e6", "--file_system_poll_wait_seconds=1.5"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (parse(&o, &st, 1, bad[i]) != TD_INVALID_ARGUMENT) fail_msg("%s was accepted", bad[i]);
    assert_true(st.msg[0] != '\0');
  }
  assert_int_equal(parse(&o, &st, 1, "--file_system_poll_wait_seconds=-1"), TD_OK);
  assert_int_equal(o.file_system_poll_wait_seconds, -1);
  assert_int_equal(parse(&o, &st, 1, "--load_retry_interval_micros=-5"), TD_OK);
  assert_int_equal(o.load_retry_interval_micros, -5);
  assert_int_equal(parse(&o, &st, 1, "--model_base_path=a=b"), TD_OK); /* only the first '=' splits */
  assert_string_equal(o.model_base_path, "a=b");
}

static void test_unknown_flag(void **state) {
  (void)state;
  td_server_options o;
  td_status st;
  assert_int_equal(parse(&o, &st, 2, "--port=1", "--no_such_flag=3"), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "unknown flag: --no_such_flag=3");
  assert_int_equal(parse(&o, &st, 1, "--port_=1"), TD_INVALID_ARGUMENT);
  assert_int_equal(parse(&o, &st, 1, "--model"), TD_INVALID_ARGUMENT);
}

static void test_not_yet_supported(void **state) {
  (void)state;
  td_server_options o;
  td_status st;
  assert_int_equal(parse(&o, &st, 1, "--use_alts_credentials"), TD_UNIMPLEMENTED);
  assert_string_equal(st.msg, "flag --use_alts_credentials is not supported yet by tensord");
  assert_int_equal(parse(&o, &st, 1, "--platform_config_file=p.txt"), TD_UNIMPLEMENTED);
  assert_string_equal(st.msg, "flag --platform_config_file is not supported yet by tensord");
  /* authority (issue 12.6): TLS files, tokens and the reload switch */
  assert_int_equal(parse(&o, &st, 0), TD_OK);
  assert_true(o.enable_model_management); /* TF Serving always serves the reload RPC */
  assert_string_equal(o.ssl_config_file, "");
  assert_int_equal(parse(&o, &st, 4, "--ssl_config_file=/tmp/ssl.cfg", "--rest_ssl_config_file=r.cfg",
                         "--auth_token_file=t.txt", "--enable_model_management=false"),
                   TD_OK);
  assert_string_equal(o.ssl_config_file, "/tmp/ssl.cfg");
  assert_string_equal(o.rest_ssl_config_file, "r.cfg");
  assert_string_equal(o.auth_token_file, "t.txt");
  assert_false(o.enable_model_management);
  /* implemented since: config files parse as values */
  assert_int_equal(parse(&o, &st, 1, "--model_config_file=/tmp/x.cfg"), TD_OK);
  assert_int_equal(parse(&o, &st, 2, "--enable_batching", "--batching_parameters_file=b.txt"), TD_OK);
  assert_true(o.enable_batching);
  assert_string_equal(o.batching_parameters_file, "b.txt");
  assert_int_equal(parse(&o, &st, 1, "--monitoring_config_file=m.txt"), TD_OK);
  /* the default value is fine, in any spelling */
  assert_int_equal(parse(&o, &st, 1, "--enable_batching=false"), TD_OK);
  assert_int_equal(parse(&o, &st, 1, "--enable_batching=0"), TD_OK);
  assert_int_equal(parse(&o, &st, 1, "--model_config_file="), TD_OK);
  assert_int_equal(parse(&o, &st, 1, "--model_config_file_poll_wait_seconds=00"), TD_OK);
  /* a bad value is a value error, not "not supported" */
  assert_int_equal(parse(&o, &st, 1, "--enable_batching=maybe"), TD_INVALID_ARGUMENT);
}

static void test_no_effect_flags(void **state) {
  (void)state;
  td_server_options o;
  td_status st;
  assert_int_equal(parse(&o, &st, 6, "--enable_model_warmup=false", "--num_load_threads=8", "--flush_filesystem_caches",
                         "--per_process_gpu_memory_fraction=0.5", "--xla_cpu_compilation_enabled=true",
                         "--enable_profiler=false"),
                   TD_OK);
  assert_int_equal(o.num_load_threads, 8); /* implemented since: parallel loads */
}

static void test_positional_warns(void **state) {
  (void)state;
  td_server_options o;
  td_server_options_init(&o);
  char *argv[] = {"stray", "--port=1", "-x", "--"};
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  td_status st = {0};
  assert_int_equal(td_flags_parse(4, argv, &o, f, &st), TD_OK);
  fclose(f);
  assert_int_equal(o.port, 1);
  assert_non_null(strstr(text, "unknown argument: stray\n"));
  assert_non_null(strstr(text, "unknown argument: -x\n"));
  assert_non_null(strstr(text, "unknown argument: --\n"));
  free(text);
}

static void test_usage_lists_flags(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  td_flags_usage(f, "tensord");
  fclose(f);
  const char *expect[] = {"--port=8500", "--rest_api_port=0", "--model_name=\"default\"", "--enable_batching=false",
                          "not supported yet", "--rest_api_enable_cors_support", "--version"};
  for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
    if (!strstr(text, expect[i])) fail_msg("usage lacks %s", expect[i]);
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),         cmocka_unit_test(test_docker_command_line),
      cmocka_unit_test(test_bool_syntax),      cmocka_unit_test(test_bad_values),
      cmocka_unit_test(test_unknown_flag),     cmocka_unit_test(test_not_yet_supported),
      cmocka_unit_test(test_no_effect_flags),  cmocka_unit_test(test_positional_warns),
      cmocka_unit_test(test_usage_lists_flags),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
