/* test_api_inputs.c — TF Serving's input-set texts (predict_util.cc VerifyRequestInputsSize,
 * saved_model util GetInputValues) on hand-built signatures: sorted sets, duplicates counted
 * once, defaults allowing fewer inputs, the missing-input text, a bounded message for many
 * names. Expected strings are TF Serving's format, written out by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static const td_sig_tensor two_inputs[] = {
    {.alias = "a", .tensor_name = "a:0", .dtype = TD_DT_FLOAT},
    {.alias = "x", .tensor_name = "x_in:0", .dtype = TD_DT_FLOAT},
};

static td_call call_of(td_signature *sig, const td_tensor *defaults) {
  sig->key = "serving_default";
  sig->num_inputs = 2;
  sig->inputs = two_inputs;
  sig->_defaults = defaults;
  return (td_call){.sig = sig};
}

static const td_tensor no_defaults[2];

static void test_size_mismatch_texts(void **state) {
  (void)state;
  td_signature sig = {0};
  td_call call = call_of(&sig, no_defaults);
  td_status st = {0};
  const char *extra[] = {"x", "zz", "a", "b"};
  assert_int_equal(td_api_check_input_names(&call, extra, 4, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "input size does not match signature: 4!=2 len({a,b,x,zz}) != len({a,x}). "
                              "Sent extra: {b,zz}. Missing but required: {}.");
  const char *one[] = {"x"};
  assert_int_equal(td_api_check_input_names(&call, one, 1, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "input size does not match signature: 1!=2 len({x}) != len({a,x}). "
                              "Sent extra: {}. Missing but required: {a}.");
  assert_int_equal(td_api_check_input_names(&call, NULL, 0, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "input size does not match signature: 0!=2 len({}) != len({a,x}). "
                              "Sent extra: {}. Missing but required: {a,x}.");
  /* a map key given twice counts once */
  const char *dup[] = {"x", "a", "x"};
  assert_int_equal(td_api_check_input_names(&call, dup, 3, &st), TD_OK);
  const char *dup_short[] = {"x", "x"};
  assert_int_equal(td_api_check_input_names(&call, dup_short, 2, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "input size does not match signature: 1!=2 len({x}) != len({a,x}). "
                              "Sent extra: {}. Missing but required: {a}.");
  /* the right size with a wrong name is left to the alias check */
  const char *renamed[] = {"x", "q"};
  assert_int_equal(td_api_check_input_names(&call, renamed, 2, &st), TD_OK);
}

static void test_defaults_allow_fewer(void **state) {
  (void)state;
  float one = 1;
  td_shape scalar = {.rank = 0};
  td_tensor defaults[2] = {td_tensor_borrow(TD_DT_FLOAT, &scalar, &one), {0}};
  td_signature sig = {0};
  td_call call = call_of(&sig, defaults);
  td_status st = {0};
  const char *x[] = {"x"};
  assert_int_equal(td_api_check_input_names(&call, x, 1, &st), TD_OK);
  const char *a[] = {"a"}; /* fewer is allowed by the size check; x itself has no default */
  assert_int_equal(td_api_check_input_names(&call, a, 1, &st), TD_OK);
  assert_int_equal(td_api_missing_input(&call, 1, a, 1, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Signature input alias: x(feed name: x_in:0) not found in request and no default "
                              "value provided. Inputs expected to be in the request {a}, or default input alias "
                              "set: a");
  const char *three[] = {"a", "x", "y"}; /* more is never allowed */
  assert_int_equal(td_api_check_input_names(&call, three, 3, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "input size does not match signature: 3!=2 len({a,x,y}) != len({a,x}). "
                              "Sent extra: {y}. Missing but required: {}.");
}

static void test_many_names_bounded(void **state) {
  (void)state;
  td_signature sig = {0};
  td_call call = call_of(&sig, no_defaults);
  enum { N = 100000 };
  char (*store)[8] = malloc(N * sizeof *store);
  const char **names = malloc(N * sizeof *names);
  for (int i = 0; i < N; i++) {
    snprintf(store[i], sizeof store[i], "k%05d", N - 1 - i);
    names[i] = store[i];
  }
  td_status st = {0};
  assert_int_equal(td_api_check_input_names(&call, names, N, &st), TD_INVALID_ARGUMENT);
  assert_true(strncmp(st.msg, "input size does not match signature: 100000!=2 len({k00000,k00001,", 66) == 0);
  assert_true(strlen(st.msg) < TD_STATUS_MSG_MAX);
  free(names);
  free(store);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_size_mismatch_texts),
      cmocka_unit_test(test_defaults_allow_fewer),
      cmocka_unit_test(test_many_names_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
