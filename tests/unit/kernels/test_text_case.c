/* test_text_case.c — StringLower / StringUpper (ASCII and utf-8 encodings), StringStrip,
 * StringLength (BYTE / UTF8_CHAR) and Substr with unit UTF8_CHAR. Expected strings follow
 * Python's str.lower()/upper() for the utf-8 rows (full case mapping: ß → SS, İ → i̇, final
 * sigma; the kernel's tables are generated from Python's Unicode database, so these rows check
 * the table encoding and lookup rather than the data) and byte-wise ASCII mapping for encoding ''; invalid UTF-8 becomes U+FFFD per
 * maximal subpart (Python's errors='replace' agrees).
 */
#include "text_test_util.h"

static td_code casemap(const char *op, td_tensor in, const char *enc, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  if (enc) td_test_attr_str(nd, "encoding", enc);
  return tt_run(nd, &in, 1, out, 1, st);
}

static void test_lower_upper(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  /* ASCII only: É / À (multi-byte) untouched. */
  assert_int_equal(casemap("StringLower", STRS("HéLLO ÀB", "", "MiXeD 123"), NULL, &out, &st), TD_OK);
  EXPECT_STR(&out, "héllo Àb", "", "mixed 123");
  td_tensor_release(&out);
  assert_int_equal(casemap("StringUpper", STRS("straße é"), "", &out, &st), TD_OK);
  EXPECT_STR(&out, "STRAßE é");
  td_tensor_release(&out);
  /* Unicode. */
  assert_int_equal(casemap("StringLower", STRS("HÉLLO ÀB", "ΟΔΟΣ ΣΑΣ.", "ПРИВЕТ", "İ", "Ａ𐐀"), "utf-8", &out, &st), TD_OK);
  EXPECT_STR(&out, "héllo àb", "οδος σας.", "привет", "i\xcc\x87", "ａ𐐨");
  td_tensor_release(&out);
  assert_int_equal(casemap("StringUpper", STRS("straße", "ﬁx", "héllo", "ǅ", "ᾳ", "ŉ", "中文", "ǆ"), "utf-8", &out, &st),
                   TD_OK);
  EXPECT_STR(&out, "STRASSE", "FIX", "HÉLLO", "Ǆ", "ΑΙ", "ʼN", "中文", "Ǆ");
  td_tensor_release(&out);
  /* Title-case and stride-2 Latin Extended rows: "ǅĀāĂ".lower() = "ǆāāă". */
  assert_int_equal(casemap("StringLower", STRS("ǅĀāĂ", "ẞ", "Ω"), "utf-8", &out, &st), TD_OK);
  EXPECT_STR(&out, "ǆāāă", "ß", "ω");
  td_tensor_release(&out);
  /* Malformed bytes → U+FFFD; a truncated 3-byte sequence is one unit. */
  assert_int_equal(casemap("StringLower", STRS("A\xff" "B\xe2\x82"), "utf-8", &out, &st), TD_OK);
  EXPECT_STR(&out, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
  td_tensor_release(&out);
  assert_int_equal(casemap("StringLower", tt_empty(TD_DT_STRING), "utf-8", &out, &st), TD_OK);
  EXPECT_SHAPE(&out, 0);
  td_tensor_release(&out);
  tt_expect_error(casemap("StringLower", STRS("a"), "latin1", &out, &st), &st, TD_INVALID_ARGUMENT,
                  "only utf-8 or '' (no encoding) is supported, received latin1");
  tt_expect_error(casemap("StringUpper", STRS("a"), "UTF-8", &out, &st), &st, TD_INVALID_ARGUMENT,
                  "only utf-8 or '' (no encoding) is supported, received UTF-8");
}

static void test_strip_length(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  Tensorflow__NodeDef *nd = td_test_node_new("StringStrip");
  td_tensor in = STRS("  a b \t\n", "", "   ", "\xc2\xa0x");
  assert_int_equal(tt_run(nd, &in, 1, &out, 1, &st), TD_OK);
  EXPECT_STR(&out, "a b", "", "", "\xc2\xa0x"); /* NBSP is not ASCII whitespace */
  td_tensor_release(&out);

  nd = td_test_node_new("StringLength");
  in = STRS("héllo", "", "😀", "abc");
  assert_int_equal(tt_run(nd, &in, 1, &out, 1, &st), TD_OK);
  EXPECT_I32(&out, 6, 0, 4, 3);
  td_tensor_release(&out);
  nd = td_test_node_new("StringLength");
  td_test_attr_str(nd, "unit", "UTF8_CHAR");
  in = STRS("héllo", "", "😀", "abc");
  assert_int_equal(tt_run(nd, &in, 1, &out, 1, &st), TD_OK);
  EXPECT_I32(&out, 5, 0, 1, 3);
  td_tensor_release(&out);
  nd = td_test_node_new("StringLength");
  td_test_attr_str(nd, "unit", "CHARS");
  in = STRS("a");
  tt_expect_error(tt_run(nd, &in, 1, &out, 1, &st), &st, TD_INVALID_ARGUMENT, "Invalid unit: CHARS");
}

static td_code substr_utf8(td_tensor in, td_tensor pos, td_tensor len, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("Substr");
  td_test_attr_type(nd, "T", pos.dtype);
  td_test_attr_str(nd, "unit", "UTF8_CHAR");
  td_tensor ins[3] = {in, pos, len};
  return tt_run(nd, ins, 3, out, 1, st);
}

static void test_substr_utf8(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  /* Python: "héllo"[1:4] = "éll"; "😀ab"[1:4] = "ab"; "é"[1:4] = "". */
  assert_int_equal(substr_utf8(STRS("héllo", "😀ab", "é"), tt_i32(1), tt_i32(3), &out, &st), TD_OK);
  EXPECT_STR(&out, "éll", "ab", "");
  td_tensor_release(&out);
  /* Negative pos counts characters from the end: "naïve"[-3:-1] = "ïv". */
  assert_int_equal(substr_utf8(STRS("naïve"), I64S(-3), I64S(2), &out, &st), TD_OK);
  EXPECT_STR(&out, "ïv");
  td_tensor_release(&out);
  /* Broadcasting: input [2,1] against pos/len [3] → [2,3] (numpy: s[p:p+l] per pair). */
  int64_t d21[2] = {2, 1};
  assert_int_equal(substr_utf8(td_test_tensor(TD_DT_STRING, 2, d21, (const char *[]){"héllo", "wörld"}), I32S(0, 1, 3),
                               I32S(2, 1, 5), &out, &st),
                   TD_OK);
  EXPECT_SHAPE(&out, 2, 3);
  EXPECT_STR(&out, "hé", "é", "lo", "wö", "ö", "ld");
  td_tensor_release(&out);
  tt_expect_error(substr_utf8(STRS("a", "b"), I32S(0, 0, 0), I32S(1, 1, 1), &out, &st), &st, TD_INVALID_ARGUMENT,
                  "Incompatible shapes: [2] vs. [3]");
  /* pos is checked against the character count (3 here, though 6 bytes). */
  tt_expect_error(substr_utf8(STRS("ééé"), tt_i32(4), tt_i32(1), &out, &st), &st, TD_INVALID_ARGUMENT,
                  "pos 4 out of range for stringb'ééé' at index 0");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lower_upper),
      cmocka_unit_test(test_strip_length),
      cmocka_unit_test(test_substr_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
