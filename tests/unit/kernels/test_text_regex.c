/* test_text_regex.c — StaticRegexReplace, RegexReplace, StaticRegexFullMatch, RegexFullMatch
 * through the real engine. Expectations are hand-derived from RE2's documented semantics
 * (UTF-8 mode: `.` and classes match whole characters, \pL is Unicode letters — which
 * Python's `re` lacks, so those rows are written knowingly, not copied from Python); the
 * empty-match rows agree with Python's re.sub. Error texts are TF's.
 */
#include "text_test_util.h"

static td_code static_replace(td_tensor in, const char *pat, const char *rw, int global, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("StaticRegexReplace");
  td_test_attr_str(nd, "pattern", pat);
  td_test_attr_str(nd, "rewrite", rw);
  if (global >= 0) td_test_attr_bool(nd, "replace_global", global);
  return tt_run(nd, &in, 1, out, 1, st);
}

static void test_static_replace(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  /* Keras TextVectorization's punctuation pattern (after lower-casing). */
  assert_int_equal(static_replace(STRS("hello, world! it's", "a-b_c", ""),
                                  "[!\"#$%&()\\*\\+,-\\./:;<=>?@\\[\\\\\\]^_`{|}~\\']", "", -1, &out, &st),
                   TD_OK);
  EXPECT_STR(&out, "hello world its", "abc", "");
  td_tensor_release(&out);
  /* Unicode letters as whole characters; \0 is the whole match. */
  assert_int_equal(static_replace(STRS("héllo wörld 123"), "\\pL+", "<\\0>", -1, &out, &st), TD_OK);
  EXPECT_STR(&out, "<héllo> <wörld> 123");
  td_tensor_release(&out);
  /* Only the first match without replace_global. */
  assert_int_equal(static_replace(STRS("foo boo"), "o", "0", 0, &out, &st), TD_OK);
  EXPECT_STR(&out, "f0o boo");
  td_tensor_release(&out);
  /* Groups in the rewrite. */
  assert_int_equal(static_replace(STRS("me@host", "none"), "(\\w+)@(\\w+)", "\\2 at \\1", 1, &out, &st), TD_OK);
  EXPECT_STR(&out, "host at me", "none");
  td_tensor_release(&out);
  /* Empty matches: between every character (a multi-byte one counts once). */
  assert_int_equal(static_replace(STRS("abc", "é", ""), "x*", "-", 1, &out, &st), TD_OK);
  EXPECT_STR(&out, "-a-b-c-", "-é-", "-");
  td_tensor_release(&out);
  assert_int_equal(static_replace(STRS("aé"), ".", "_", 1, &out, &st), TD_OK);
  EXPECT_STR(&out, "__");
  td_tensor_release(&out);
  /* A rewrite naming a group the pattern lacks replaces nothing (RE2). */
  assert_int_equal(static_replace(STRS("abc"), "b", "\\1", 1, &out, &st), TD_OK);
  EXPECT_STR(&out, "abc");
  td_tensor_release(&out);
  /* Empty tensor, 2-D shape kept. */
  assert_int_equal(static_replace(tt_empty(TD_DT_STRING), "a", "b", 1, &out, &st), TD_OK);
  EXPECT_SHAPE(&out, 0);
  td_tensor_release(&out);
  int64_t dims[2] = {2, 1};
  assert_int_equal(static_replace(td_test_tensor(TD_DT_STRING, 2, dims, (const char *[]){"aa", "ba"}), "a", "x", 1, &out, &st),
                   TD_OK);
  EXPECT_SHAPE(&out, 2, 1);
  EXPECT_STR(&out, "xx", "bx");
  td_tensor_release(&out);
  /* Bad pattern: TF's text with RE2's error. */
  tt_expect_error(static_replace(STRS("x"), "(abc", "", 1, &out, &st), &st, TD_INVALID_ARGUMENT,
                  "Invalid pattern: (abc, error: missing ): (abc");
  tt_expect_error(static_replace(STRS("x"), "a**", "", 1, &out, &st), &st, TD_INVALID_ARGUMENT,
                  "Invalid pattern: a**, error: bad repetition operator: **");
}

static void test_dynamic_replace(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  Tensorflow__NodeDef *nd = td_test_node_new("RegexReplace");
  td_tensor in[3] = {STRS("a1b22", "x"), tt_str("[0-9]+"), tt_str("#")};
  assert_int_equal(tt_run(nd, in, 3, &out, 1, &st), TD_OK);
  EXPECT_STR(&out, "a#b#", "x");
  td_tensor_release(&out);

  nd = td_test_node_new("RegexReplace");
  td_test_attr_bool(nd, "replace_global", 0);
  td_tensor in2[3] = {STRS("a1b22"), tt_str("[0-9]"), tt_str("<\\0>")};
  assert_int_equal(tt_run(nd, in2, 3, &out, 1, &st), TD_OK);
  EXPECT_STR(&out, "a<1>b22");
  td_tensor_release(&out);

  nd = td_test_node_new("RegexReplace");
  td_tensor in3[3] = {STRS("a"), STRS("a", "b"), tt_str("")};
  tt_expect_error(tt_run(nd, in3, 3, &out, 1, &st), &st, TD_INVALID_ARGUMENT, "Pattern must be scalar, but received [2]");
  nd = td_test_node_new("RegexReplace");
  td_tensor in4[3] = {STRS("a"), tt_str("a"), STRS("")};
  tt_expect_error(tt_run(nd, in4, 3, &out, 1, &st), &st, TD_INVALID_ARGUMENT, "Rewrite must be scalar, but received [1]");
  nd = td_test_node_new("RegexReplace");
  td_tensor in5[3] = {STRS("a"), tt_str("[z-a]"), tt_str("")};
  tt_expect_error(tt_run(nd, in5, 3, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Invalid pattern: [z-a], error: invalid character class range: z-a");
}

static void test_full_match(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  Tensorflow__NodeDef *nd = td_test_node_new("StaticRegexFullMatch");
  td_test_attr_str(nd, "pattern", "[a-z]+");
  td_tensor in = STRS("abc", "ab1", "", "xabc ");
  assert_int_equal(tt_run(nd, &in, 1, &out, 1, &st), TD_OK);
  EXPECT_BOOL(&out, 1, 0, 0, 0);
  td_tensor_release(&out);
  /* "." is one character: "é" (2 bytes) matches, "ab" does not. */
  nd = td_test_node_new("StaticRegexFullMatch");
  td_test_attr_str(nd, "pattern", ".");
  in = STRS("é", "ab", "😀");
  assert_int_equal(tt_run(nd, &in, 1, &out, 1, &st), TD_OK);
  EXPECT_BOOL(&out, 1, 0, 1);
  td_tensor_release(&out);
  /* Run the same node twice (compiled pattern cached in node state): via two inputs. */
  nd = td_test_node_new("RegexFullMatch");
  td_tensor in2[2] = {STRS("2024-01-02", "2024-1-2"), tt_str("\\d{4}-\\d{2}-\\d{2}")};
  assert_int_equal(tt_run(nd, in2, 2, &out, 1, &st), TD_OK);
  EXPECT_BOOL(&out, 1, 0);
  td_tensor_release(&out);
  nd = td_test_node_new("StaticRegexFullMatch");
  td_test_attr_str(nd, "pattern", "(");
  in = STRS("x");
  tt_expect_error(tt_run(nd, &in, 1, &out, 1, &st), &st, TD_INVALID_ARGUMENT, "Invalid pattern: (, error: missing ): (");
  nd = td_test_node_new("RegexFullMatch");
  td_tensor in3[2] = {STRS("x"), STRS("a", "b")};
  tt_expect_error(tt_run(nd, in3, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT, "Pattern must be scalar, but received [2]");
  /* Empty input. */
  nd = td_test_node_new("StaticRegexFullMatch");
  td_test_attr_str(nd, "pattern", "a");
  in = tt_empty(TD_DT_STRING);
  assert_int_equal(tt_run(nd, &in, 1, &out, 1, &st), TD_OK);
  assert_int_equal(out.dtype, TD_DT_BOOL);
  EXPECT_SHAPE(&out, 0);
  td_tensor_release(&out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_static_replace),
      cmocka_unit_test(test_dynamic_replace),
      cmocka_unit_test(test_full_match),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
