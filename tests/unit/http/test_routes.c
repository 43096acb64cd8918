/* test_routes.c — the REST URL grammar (tfserving-api.md §1.2, conformance #31-#34, #38):
 * one table of {method, path, expected route or expected error text}. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/routes.h"

typedef struct route_case {
  const char *method, *path;
  const char *error; /* expected message; NULL = expect a match */
  td_route_kind kind;
  const char *name;
  int64_t version;
  const char *label;
} route_case;

#define OK(m, p, k, n, v, l) {m, p, NULL, k, n, v, l}
#define ERR(m, p, e) {m, p, e, 0, NULL, 0, NULL}
#define MALFORMED(m, p) ERR(m, p, "Malformed request: " m " " p)

static const route_case cases[] = {
    /* predict / classify / regress */
    OK("POST", "/v1/models/foo:predict", TD_ROUTE_PREDICT, "foo", -1, NULL),
    OK("POST", "/v1/models/foo:classify", TD_ROUTE_CLASSIFY, "foo", -1, NULL),
    OK("POST", "/v1/models/foo:regress", TD_ROUTE_REGRESS, "foo", -1, NULL),
    OK("POST", "/v1/models/foo/versions/50:predict", TD_ROUTE_PREDICT, "foo", 50, NULL),
    OK("POST", "/v1/models/foo/versions/00000123:predict", TD_ROUTE_PREDICT, "foo", 123, NULL),
    OK("POST", "/v1/models/foo/labels/Version_Label:predict", TD_ROUTE_PREDICT, "foo", -1, "Version_Label"),
    OK("POST", "/V1/MODELS/foo/VERSIONS/7:regress", TD_ROUTE_REGRESS, "foo", 7, NULL),
    OK("POST", "/v1/models/a%20b%2Fc/labels/x%3Ay:predict", TD_ROUTE_PREDICT, "a b/c", -1, "x:y"),
    OK("POST", "/v1/models/a+b%zz%4:predict", TD_ROUTE_PREDICT, "a+b%zz%4", -1, NULL),
    OK("POST", "/v1/models/foo/versions/9223372036854775807:predict", TD_ROUTE_PREDICT, "foo", INT64_MAX, NULL),
    /* status / metadata */
    OK("GET", "/v1/models/foo", TD_ROUTE_STATUS, "foo", -1, NULL),
    OK("GET", "/v1/models/foo/versions/123", TD_ROUTE_STATUS, "foo", 123, NULL),
    OK("GET", "/v1/models/foo/labels/Version_Label", TD_ROUTE_STATUS, "foo", -1, "Version_Label"),
    OK("GET", "/v1/models/foo/metadata", TD_ROUTE_METADATA, "foo", -1, NULL),
    OK("GET", "/v1/models/foo/versions/3/metadata", TD_ROUTE_METADATA, "foo", 3, NULL),
    OK("GET", "/v1/models/foo/labels/l/metadata", TD_ROUTE_METADATA, "foo", -1, "l"),
    OK("GET", "/v1/models/foo/labels/metadata", TD_ROUTE_STATUS, "foo", -1, "metadata"),
    OK("GET", "/v1/models/metadata", TD_ROUTE_STATUS, "metadata", -1, NULL),
    OK("GET", "/v1/models/foo/METADATA", TD_ROUTE_STATUS, "foo", -1, NULL), /* TF's case-sensitive compare */
    /* errors: conformance #31 */
    MALFORMED("GET", "/v1/foo"),
    MALFORMED("POST", "/v1/foo"),
    MALFORMED("POST", "/v1/models"),
    MALFORMED("GET", "/v1/models/foo:predict"),
    MALFORMED("POST", "/v1/models/foo/version/50:predict"),
    MALFORMED("POST", "/v1/models/foo/versions/HELLO:regress"),
    MALFORMED("POST", "/v1/models/foo/metadata"),
    MALFORMED("POST", "/v1/models/foo/label/some_label:regress"),
    MALFORMED("POST", "/v1/models/foo/versions/50/labels/some_label:regress"),
    MALFORMED("POST", "/v1/models/foo/versions/some_label:regress"),
    MALFORMED("POST", "/v1/models/foo:PREDICT"),
    MALFORMED("POST", "/v1/models/foo:predictx"),
    MALFORMED("POST", "/v1/models/foo:"),
    MALFORMED("POST", "/v1/models/:predict"),
    MALFORMED("GET", "/v1/models/foo/"),
    MALFORMED("GET", "/v1/models/foo/versions/-1"),
    MALFORMED("PUT", "/v1/models/foo"),
    MALFORMED("DELETE", "/v1/models/foo:predict"),
    MALFORMED("OPTIONS", "/v1/models/foo:predict"),
    MALFORMED("GET", ""),
    /* #32 */
    ERR("POST", "/v1/models/foo/versions/18446744073709551615:regress",
        "Failed to convert version: 18446744073709551615 to numeric."),
    ERR("GET", "/v1/models/foo/versions/9223372036854775808", "Failed to convert version: 9223372036854775808 to numeric."),
    /* no name */
    OK("GET", "/v1/models", TD_ROUTE_LIST, "", -1, NULL), /* tensord: the model list */
    OK("GET", "/V1/MODELS", TD_ROUTE_LIST, "", -1, NULL),
    ERR("GET", "/v1/models/versions/5", "Missing model name in request."),
    ERR("GET", "/v1/models/labels/x/metadata", "Missing model name in request."),
    /* NUL / control bytes in a name or label, escaped or not: refused before any lookup */
    ERR("POST", "/v1/models/foo%00bar:predict", "Invalid model name: byte 0x00 at offset 3 is a NUL or control character"),
    ERR("GET", "/v1/models/%01foo/metadata", "Invalid model name: byte 0x01 at offset 0 is a NUL or control character"),
    ERR("GET", "/v1/models/foo\x1b", "Invalid model name: byte 0x1b at offset 3 is a NUL or control character"),
    ERR("POST", "/v1/models/foo/labels/a%0Ab:predict",
        "Invalid model name: byte 0x0a at offset 1 is a NUL or control character"),
    ERR("GET", "/v1/models/foo%7F", "Invalid model name: byte 0x7f at offset 3 is a NUL or control character"),
};

static void test_route_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const route_case *c = &cases[i];
    td_route r;
    td_status st = {0};
    td_code code = td_route_match(c->method, c->path, &r, &st);
    if (c->error) {
      if (code != TD_INVALID_ARGUMENT || strcmp(st.msg, c->error))
        fail_msg("%s %s: got code %d '%s', want '%s'", c->method, c->path, code, st.msg, c->error);
      assert_null(r.name);
      continue;
    }
    if (code != TD_OK) fail_msg("%s %s: unexpected error '%s'", c->method, c->path, st.msg);
    assert_int_equal(r.kind, c->kind);
    assert_string_equal(r.name, c->name);
    assert_int_equal(r.version, c->version);
    if (c->label) assert_string_equal(r.label, c->label);
    else assert_null(r.label);
    td_route_release(&r);
  }
}

static void test_metadata_of_model_named_metadata(void **state) {
  (void)state;
  td_route r;
  td_status st = {0};
  assert_int_equal(td_route_match("GET", "/v1/models/metadata/metadata", &r, &st), TD_OK);
  assert_int_equal(r.kind, TD_ROUTE_METADATA);
  assert_string_equal(r.name, "metadata");
  td_route_release(&r);
}

static void test_rest_path(void **state) {
  (void)state;
  assert_true(td_route_is_rest_path("/v1/models/x"));
  assert_true(td_route_is_rest_path("/V1/"));
  assert_false(td_route_is_rest_path("/v1"));
  assert_true(td_route_is_rest_path("/v2/models/x")); /* KServe V2 (src/v2) */
  assert_true(td_route_is_rest_path("/v2"));
  assert_false(td_route_is_rest_path("/v2x"));
  assert_false(td_route_is_rest_path("/v3/models/x"));
  assert_false(td_route_is_rest_path("/monitoring/prometheus/metrics"));
  assert_false(td_route_is_rest_path(""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_route_table),
      cmocka_unit_test(test_metadata_of_model_named_metadata),
      cmocka_unit_test(test_rest_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
