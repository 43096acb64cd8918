/* test_text_regex_split.c — tensorflow_text's RegexSplitWithOffsets through the real engine.
 * Expectations are hand-derived from tf_text's rule (group 1 of the delimiter pattern splits;
 * empty tokens are dropped; a delimiter is kept when it fully matches the keep pattern;
 * offsets are bytes, so multi-byte UTF-8 counts its bytes) and agree with Python's re on the
 * ASCII patterns used. Error texts are TF's.
 */
#include "text_test_util.h"

static td_code regex_split(td_tensor input, const char *delim, const char *keep, td_tensor out[4], td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("RegexSplitWithOffsets");
  td_tensor in[3] = {input, tt_str(delim), tt_str(keep)};
  return tt_run(nd, in, 3, out, 4, st);
}

static void test_split_keep_delims(void **state) {
  (void)state;
  td_tensor out[4];
  td_status st = {0};
  assert_int_equal(regex_split(STRS("hello there", "  a b  ", "", "h\xc3\xa9llo, w\xc3\xb6rld"), "(\\s|,)", ",", out, &st),
                   TD_OK);
  EXPECT_STR(&out[0], "hello", "there", "a", "b", "h\xc3\xa9llo", ",", "w\xc3\xb6rld");
  EXPECT_I64(&out[1], 0, 6, 2, 4, 0, 6, 8);
  EXPECT_I64(&out[2], 5, 11, 3, 5, 6, 7, 14);
  EXPECT_I64(&out[3], 0, 2, 4, 4, 7);
  tt_release(out, 4);
  /* Without a keep pattern delimiters are dropped. */
  assert_int_equal(regex_split(STRS("a,b c"), "([, ])", "", out, &st), TD_OK);
  EXPECT_STR(&out[0], "a", "b", "c");
  EXPECT_I64(&out[1], 0, 2, 4);
  EXPECT_I64(&out[2], 1, 3, 5);
  EXPECT_I64(&out[3], 0, 3);
  tt_release(out, 4);
  /* The keep pattern must match the whole delimiter: "ab" is dropped, "a" kept. */
  assert_int_equal(regex_split(STRS("xabyaz"), "(ab|a)", "a", out, &st), TD_OK);
  EXPECT_STR(&out[0], "x", "y", "a", "z");
  EXPECT_I64(&out[1], 0, 3, 4, 5);
  EXPECT_I64(&out[2], 1, 4, 5, 6);
  EXPECT_I64(&out[3], 0, 4);
  tt_release(out, 4);
}

static void test_split_edge_cases(void **state) {
  (void)state;
  td_tensor out[4];
  td_status st = {0};
  /* No capture group: tf_text never splits. */
  assert_int_equal(regex_split(STRS("a b", ""), "\\s", "", out, &st), TD_OK);
  EXPECT_STR(&out[0], "a b");
  EXPECT_I64(&out[1], 0);
  EXPECT_I64(&out[2], 3);
  EXPECT_I64(&out[3], 0, 1, 1);
  tt_release(out, 4);
  /* Empty matches are no delimiters; the search moves on. */
  assert_int_equal(regex_split(STRS("axb", "\xc3\xa9x"), "(x*)", "", out, &st), TD_OK);
  EXPECT_STR(&out[0], "a", "b", "\xc3\xa9");
  EXPECT_I64(&out[1], 0, 2, 0);
  EXPECT_I64(&out[2], 1, 3, 2);
  EXPECT_I64(&out[3], 0, 2, 3);
  tt_release(out, 4);
  /* Empty input. */
  assert_int_equal(regex_split(tt_empty(TD_DT_STRING), "(\\s)", "", out, &st), TD_OK);
  EXPECT_SHAPE(&out[0], 0);
  EXPECT_I64(&out[3], 0);
  tt_release(out, 4);
  /* Errors. */
  tt_expect_error(regex_split(STRS("x"), "(", "", out, &st), &st, TD_INVALID_ARGUMENT,
                  "Invalid pattern: (, error: missing ): (");
  tt_expect_error(regex_split(STRS("x"), "(a)", "[", out, &st), &st, TD_INVALID_ARGUMENT,
                  "Invalid pattern: [, error: missing ]: [");
  Tensorflow__NodeDef *nd = td_test_node_new("RegexSplitWithOffsets");
  td_tensor in[3] = {STRS("x"), STRS("a", "b"), tt_str("")};
  tt_expect_error(tt_run(nd, in, 3, out, 4, &st), &st, TD_INVALID_ARGUMENT,
                  "delim_regex_pattern must be a scalar string, but received string [2]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_keep_delims),
      cmocka_unit_test(test_split_edge_cases),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
