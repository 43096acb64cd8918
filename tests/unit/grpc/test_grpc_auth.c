/* test_grpc_auth.c — the gRPC port's authority checks: the bearer token in metadata (health
 * open), the model-management switch, and model names read from the wire (an embedded NUL
 * that protobuf-c's C strings would hide, control bytes; at every depth a method keeps them). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "grpc/grpc_auth.h"

#define PREDICT "/tensorflow.serving.PredictionService/Predict"
#define MULTI "/tensorflow.serving.PredictionService/MultiInference"
#define RELOAD "/tensorflow.serving.ModelService/HandleReloadConfigRequest"
#define HEALTH "/grpc.health.v1.Health/Check"

static td_code authorize(const td_grpc_authz *z, const char *path, const char *key, const char *value) {
  grpc_metadata md[2];
  memset(md, 0, sizeof md);
  md[0].key = grpc_slice_from_static_string("user-agent");
  md[0].value = grpc_slice_from_static_string("grpc-python");
  grpc_metadata_array a = {.count = 1, .capacity = 2, .metadata = md};
  if (key) {
    md[1].key = grpc_slice_from_static_string(key);
    md[1].value = grpc_slice_from_static_string(value);
    a.count = 2;
  }
  td_status st = {0};
  return td_grpc_authorize(z, path, &a, &st);
}

static void test_tokens_and_switch(void **state) {
  (void)state;
  td_auth *auth = NULL;
  td_status st = {0};
  assert_int_equal(td_auth_from_text("tok\n", 4, "t", &auth, &st), TD_OK);
  td_grpc_authz open = {0}, locked = {.auth = auth}, no_mgmt = {.disable_model_management = 1};
  assert_int_equal(authorize(&open, PREDICT, NULL, NULL), TD_OK);
  assert_int_equal(authorize(&locked, PREDICT, NULL, NULL), TD_UNAUTHENTICATED);
  assert_int_equal(authorize(&locked, PREDICT, "authorization", "Bearer nope"), TD_UNAUTHENTICATED);
  assert_int_equal(authorize(&locked, PREDICT, "authorization", "tok"), TD_UNAUTHENTICATED);
  assert_int_equal(authorize(&locked, PREDICT, "x-authorization", "Bearer tok"), TD_UNAUTHENTICATED);
  assert_int_equal(authorize(&locked, PREDICT, "authorization", "Bearer tok"), TD_OK);
  assert_int_equal(authorize(&locked, NULL, NULL, NULL), TD_UNAUTHENTICATED); /* unknown methods too */
  assert_int_equal(authorize(&locked, HEALTH, NULL, NULL), TD_OK);            /* probes stay open */
  assert_int_equal(authorize(&locked, "/grpc.health.v1.Health/Watch", NULL, NULL), TD_OK);
  assert_int_equal(authorize(&no_mgmt, RELOAD, NULL, NULL), TD_PERMISSION_DENIED);
  assert_int_equal(authorize(&no_mgmt, PREDICT, NULL, NULL), TD_OK);
  assert_int_equal(authorize(&open, RELOAD, NULL, NULL), TD_OK);
  /* the token comes first: an unauthenticated caller learns nothing about the switch */
  td_grpc_authz both = {.auth = auth, .disable_model_management = 1};
  assert_int_equal(authorize(&both, RELOAD, NULL, NULL), TD_UNAUTHENTICATED);
  assert_int_equal(authorize(&both, RELOAD, "authorization", "Bearer tok"), TD_PERMISSION_DENIED);
  td_auth_free(auth);
}

static td_code names(const char *path, const uint8_t *raw, size_t len) {
  td_status st = {0};
  td_code c = td_grpc_check_model_names(path, raw, len, &st);
  if (c != TD_OK && !strstr(st.msg, "Invalid model name")) fail_msg("unexpected text: %s", st.msg);
  return c;
}

static void test_wire_names(void **state) {
  (void)state;
  /* PredictRequest{model_spec{name:"a\0b", signature_name:"s"}, inputs(2){...}} */
  static const uint8_t nul[] = {0x12, 0x02, 0x0a, 0x00, 0x0a, 0x08, 0x0a, 0x03, 'a', 0x00, 'b', 0x1a, 0x01, 's'};
  static const uint8_t ok[] = {0x12, 0x02, 0x0a, 0x00, 0x0a, 0x08, 0x0a, 0x03, 'a', 'x', 'b', 0x1a, 0x01, 's'};
  static const uint8_t ctl[] = {0x0a, 0x03, 0x0a, 0x01, 0x1b};
  /* signature_name (field 3) may hold anything: only the name is checked */
  static const uint8_t sig_ctl[] = {0x0a, 0x06, 0x0a, 0x01, 'm', 0x1a, 0x01, 0x00};
  assert_int_equal(names(PREDICT, nul, sizeof nul), TD_INVALID_ARGUMENT);
  assert_int_equal(names(PREDICT, ok, sizeof ok), TD_OK);
  assert_int_equal(names(PREDICT, ctl, sizeof ctl), TD_INVALID_ARGUMENT);
  assert_int_equal(names(PREDICT, sig_ctl, sizeof sig_ctl), TD_OK);
  assert_int_equal(names("/tensorflow.serving.ModelService/GetModelStatus", nul, sizeof nul), TD_INVALID_ARGUMENT);
  assert_int_equal(names(HEALTH, nul, sizeof nul), TD_OK); /* no model name there */

  /* MultiInferenceRequest{tasks{model_spec{name:"ok"}}, tasks{model_spec{name:"\n"}}} */
  static const uint8_t multi[] = {0x0a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 'o', 'k', 0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01, '\n'};
  assert_int_equal(names(MULTI, multi, sizeof multi), TD_INVALID_ARGUMENT);
  assert_int_equal(names(MULTI, multi, 8), TD_OK); /* the first task alone */

  /* ReloadConfigRequest{config{model_config_list{config{name:"m\0", base_path(2):"/x"}}}} */
  static const uint8_t reload[] = {0x0a, 0x0c, 0x0a, 0x0a, 0x0a, 0x08, 0x0a, 0x02, 'm', 0x00, 0x12, 0x02, '/', 'x'};
  assert_int_equal(names(RELOAD, reload, sizeof reload), TD_INVALID_ARGUMENT);

  /* RepositoryModelUnloadRequest{repository_name(1):"r\0", model_name(2):"h\0p"}: the name is field 2 */
  static const char *const repo_paths[] = {"/inference.GRPCInferenceService/RepositoryModelLoad",
                                           "/inference.GRPCInferenceService/RepositoryModelUnload"};
  static const uint8_t repo_nul[] = {0x12, 0x03, 'h', 0x00, 'p'};
  static const uint8_t repo_ok[] = {0x0a, 0x02, 'r', 0x00, 0x12, 0x03, 'h', 'x', 'p'};
  for (int i = 0; i < 2; i++) {
    assert_int_equal(names(repo_paths[i], repo_nul, sizeof repo_nul), TD_INVALID_ARGUMENT);
    assert_int_equal(names(repo_paths[i], repo_ok, sizeof repo_ok), TD_OK);
  }

  /* malformed wire data is the parser's business: never refused here, never read past the end */
  static const uint8_t truncated[] = {0x0a, 0x7f, 0x0a};
  static const uint8_t varint_run[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static const uint8_t group[] = {0x0b, 0x0a, 0x01, 0x00};
  static const uint8_t fixed[] = {0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 1, 2, 3, 4, 0x0a, 0x03, 0x0a, 0x01, 0x00};
  assert_int_equal(names(PREDICT, truncated, sizeof truncated), TD_OK);
  assert_int_equal(names(PREDICT, varint_run, sizeof varint_run), TD_OK);
  assert_int_equal(names(PREDICT, group, sizeof group), TD_OK);
  assert_int_equal(names(PREDICT, fixed, sizeof fixed), TD_INVALID_ARGUMENT); /* fixed fields skipped */
  assert_int_equal(names(PREDICT, NULL, 0), TD_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tokens_and_switch),
      cmocka_unit_test(test_wire_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
