/* test_ssl_config.c — TF Serving's SSLConfig text files (--ssl_config_file, --rest_ssl_config_file):
 * fields 1-4 parsed into td_tls_config, the checks done before anything listens, and error
 * texts that name the file and the field but never echo the key or other file bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/ssl_config.h"

#define KEY "-----BEGIN PRIVATE KEY-----\\nTOPSECRETKEYBYTES\\n-----END PRIVATE KEY-----\\n"
#define CERT "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n"

static td_code parse(const char *text, td_tls_config *c, td_status *st) {
  memset(st, 0, sizeof *st);
  return td_ssl_config_parse(text, strlen(text), "ssl.cfg", c, st);
}

static void test_fields(void **state) {
  (void)state;
  td_tls_config c;
  td_status st;
  assert_int_equal(parse("server_key: \"" KEY "\"\nserver_cert: '" CERT "'\ncustom_ca: \"" CERT "\"\n"
                         "client_verify: true\n",
                         &c, &st),
                   TD_OK);
  assert_string_equal(c.server_key, "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYBYTES\n-----END PRIVATE KEY-----\n");
  assert_string_equal(c.server_cert, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  assert_string_equal(c.custom_ca, c.server_cert);
  assert_true(c.client_verify);
  td_tls_config_release(&c);
  assert_null(c.server_key);

  /* no CA, no client_verify (proto3 defaults) */
  assert_int_equal(parse("server_cert: \"" CERT "\" server_key: \"" KEY "\"", &c, &st), TD_OK);
  assert_null(c.custom_ca);
  assert_false(c.client_verify);
  td_tls_config_release(&c);
}

static void expect_error(const char *text, const char *frag) {
  td_tls_config c;
  td_status st;
  assert_int_equal(parse(text, &c, &st), TD_INVALID_ARGUMENT);
  assert_null(c.server_key); /* nothing to release */
  if (!strstr(st.msg, frag)) fail_msg("message \"%s\" lacks \"%s\"", st.msg, frag);
  if (!strstr(st.msg, "ssl.cfg")) fail_msg("message \"%s\" does not name the file", st.msg);
  if (strstr(st.msg, "TOPSECRET")) fail_msg("message \"%s\" echoes the file", st.msg);
}

static void test_checks(void **state) {
  (void)state;
  expect_error("server_cert: \"" CERT "\"", "server_key (the PEM private key) is missing");
  expect_error("server_key: \"" KEY "\"", "server_cert (the PEM certificate) is missing");
  expect_error("server_key: \"TOPSECRET\" server_cert: \"" CERT "\"", "server_key is not PEM");
  expect_error("server_key: \"" KEY "\" server_cert: \"TOPSECRET\"", "server_cert is not PEM");
  expect_error("server_key: \"" KEY "\" server_cert: \"" CERT "\" custom_ca: \"TOPSECRET\"", "custom_ca is not PEM");
  expect_error("server_key: \"" KEY "\" server_cert: \"" CERT "\" client_verify: true", "client_verify needs custom_ca");
  /* text-format errors: position and kind, not the bytes */
  expect_error("server_key: \"" KEY "\" TOPSECRET: 1", "1:");
  expect_error("server_key: TOPSECRET", "Expected string, got: an identifier");
  expect_error("client_verify: TOPSECRET", "boolean");
}

static void test_files(void **state) {
  (void)state;
  char path[] = "/tmp/td_ssl_cfg_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char text[] = "server_key: \"" KEY "\"\nserver_cert: \"" CERT "\"\n";
  assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
  close(fd);
  td_tls_config c;
  td_status st = {0};
  assert_int_equal(td_ssl_config_load(path, &c, &st), TD_OK);
  assert_non_null(strstr(c.server_key, "TOPSECRETKEYBYTES"));
  td_tls_config_release(&c);
  unlink(path);
  assert_int_equal(td_ssl_config_load(path, &c, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "Could not read SSLConfig file /tmp/td_ssl_cfg_"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fields),
      cmocka_unit_test(test_checks),
      cmocka_unit_test(test_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
