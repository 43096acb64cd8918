/* test_auth.c — bearer tokens (file syntax, the Authorization value check, constant-time
 * equality) and the model-name check (NUL and control bytes refused, the name not echoed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/auth.h"

static td_auth *tokens(const char *text) {
  td_auth *a = NULL;
  td_status st = {0};
  assert_int_equal(td_auth_from_text(text, strlen(text), "tokens.txt", &a, &st), TD_OK);
  return a;
}

static int check(const td_auth *a, const char *value) { return td_auth_check_bearer(a, value, strlen(value)); }

static void test_token_file_syntax(void **state) {
  (void)state;
  td_auth *a = tokens("# deploy tokens\n\n  alpha-1 \r\nbeta_2\n\t# old: gamma\nz");
  assert_int_equal(td_auth_count(a), 3);
  assert_true(check(a, "Bearer alpha-1"));
  assert_true(check(a, "Bearer beta_2"));
  assert_true(check(a, "Bearer z"));
  assert_false(check(a, "Bearer gamma"));
  assert_false(check(a, "Bearer # old: gamma"));
  td_auth_free(a);

  td_auth *none = NULL;
  td_status st = {0};
  assert_int_equal(td_auth_from_text("# only\n\n", 8, "t.txt", &none, &st), TD_INVALID_ARGUMENT);
  assert_null(none);
  assert_string_equal(st.msg, "Invalid auth token file t.txt: it holds no token");
  const char spaced[] = "ok\nsecret with space\n";
  assert_int_equal(td_auth_from_text(spaced, sizeof spaced - 1, "t.txt", &none, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Invalid auth token file t.txt: line 2: a token must be printable ASCII without spaces");
  assert_int_equal(td_auth_load("/nonexistent/tokens", &none, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Could not read auth token file /nonexistent/tokens");
}

static void test_bearer_values(void **state) {
  (void)state;
  td_auth *a = tokens("s3cr3t\n");
  assert_true(check(a, "Bearer s3cr3t"));
  assert_true(check(a, "bearer s3cr3t"));   /* the scheme is case-insensitive */
  assert_true(check(a, "BEARER   s3cr3t ")); /* spaces around the token */
  assert_false(check(a, "Bearer s3cr3"));     /* prefix */
  assert_false(check(a, "Bearer s3cr3tt"));   /* longer */
  assert_false(check(a, "Bearer S3CR3T"));    /* the token is case-sensitive */
  assert_false(check(a, "Bearers3cr3t"));
  assert_false(check(a, "Basic s3cr3t"));
  assert_false(check(a, "s3cr3t"));
  assert_false(check(a, "Bearer "));
  assert_false(check(a, ""));
  assert_false(td_auth_check_bearer(a, NULL, 0));
  assert_false(td_auth_check_bearer(a, "Bearer s3cr3t", 12)); /* only len bytes count */
  assert_true(td_auth_check_bearer(NULL, NULL, 0));          /* auth off */
  td_auth_free(a);
}

static void test_ct_equal(void **state) {
  (void)state;
  assert_true(td_ct_equal("abc", 3, "abc", 3));
  assert_false(td_ct_equal("abd", 3, "abc", 3));
  assert_false(td_ct_equal("ab", 2, "abc", 3));
  assert_false(td_ct_equal("abcd", 4, "abc", 3));
  assert_true(td_ct_equal("", 0, "", 0));
}

static void test_model_names(void **state) {
  (void)state;
  td_status st = {0};
  assert_int_equal(td_check_model_name("resnet-50_v2.1 (test)/x", 23, &st), TD_OK);
  assert_int_equal(td_check_model_name("caf\xc3\xa9", 5, &st), TD_OK); /* UTF-8 is fine */
  assert_int_equal(td_check_model_name("ab\0cd", 5, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Invalid model name: byte 0x00 at offset 2 is a NUL or control character");
  assert_int_equal(td_check_model_name("a\nb", 3, &st), TD_INVALID_ARGUMENT);
  assert_int_equal(td_check_model_name("\x1b[31m", 5, &st), TD_INVALID_ARGUMENT);
  assert_int_equal(td_check_model_name("x\x7f", 2, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Invalid model name: byte 0x7f at offset 1 is a NUL or control character");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_token_file_syntax),
      cmocka_unit_test(test_bearer_values),
      cmocka_unit_test(test_ct_equal),
      cmocka_unit_test(test_model_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
