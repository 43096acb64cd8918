/* test_base64.c — base64: RFC 4648 vectors both ways, optional padding, web-safe alphabet,
 * whitespace, rejected inputs, and an encode→decode round trip over all lengths 0..64. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/base64.h"

static const struct {
  const char *plain, *encoded;
} rfc_vectors[] = {
    {"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},          {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}, {"hello", "aGVsbG8="},
};

static void check_decode(const char *in, const char *want) {
  td_buf b;
  td_buf_init(&b);
  assert_int_equal(td_base64_decode(in, strlen(in), &b), 0);
  assert_int_equal(b.len, strlen(want));
  if (b.len) assert_memory_equal(b.data, want, b.len);
  td_buf_release(&b);
}

static void test_rfc_vectors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof rfc_vectors / sizeof *rfc_vectors; i++) {
    td_buf b;
    td_buf_init(&b);
    td_base64_encode(rfc_vectors[i].plain, strlen(rfc_vectors[i].plain), &b);
    assert_int_equal(b.len, strlen(rfc_vectors[i].encoded));
    if (b.len) assert_string_equal(b.data, rfc_vectors[i].encoded);
    assert_int_equal(td_base64_encoded_len(strlen(rfc_vectors[i].plain)), b.len);
    td_buf_release(&b);
    check_decode(rfc_vectors[i].encoded, rfc_vectors[i].plain);
  }
}

static void test_lenient_decoding(void **state) {
  (void)state;
  check_decode("aGVsbG8", "hello");     /* missing padding */
  check_decode("Zg", "f");
  check_decode("Zm8", "fo");
  check_decode("aGVs bG8=\n", "hello"); /* whitespace */
  check_decode("-_-_", "\xfb\xff\xbf");  /* web-safe */
  check_decode("+/+/", "\xfb\xff\xbf");  /* standard */
}

static void test_rejects(void **state) {
  (void)state;
  static const char *bad[] = {"a", "aGVsbG8=x", "aGVsbG8==", "Zg=", "Zg===", "a*bc", "=", "Zm9vY", "ab=c"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    td_buf b;
    td_buf_init(&b);
    assert_int_equal(td_base64_decode(bad[i], strlen(bad[i]), &b), -1);
    td_buf_release(&b);
  }
}

static void test_round_trip(void **state) {
  (void)state;
  unsigned char data[64];
  for (int i = 0; i < 64; i++) data[i] = (unsigned char)(i * 37 + 11);
  for (size_t n = 0; n <= 64; n++) {
    td_buf enc, dec;
    td_buf_init(&enc);
    td_buf_init(&dec);
    td_base64_encode(data, n, &enc);
    assert_int_equal(enc.len % 4, 0);
    assert_int_equal(td_base64_decode(enc.data ? enc.data : "", enc.len, &dec), 0);
    assert_int_equal(dec.len, n);
    if (n) assert_memory_equal(dec.data, data, n);
    td_buf_release(&enc);
    td_buf_release(&dec);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc_vectors),
      cmocka_unit_test(test_lenient_decoding),
      cmocka_unit_test(test_rejects),
      cmocka_unit_test(test_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
