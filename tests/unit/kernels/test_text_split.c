/* test_text_split.c — StringSplitV2 (Python str.split semantics), StringSplit (any-of-bytes
 * delimiters, skip_empty) and StringNGrams (padding, preserve_short_sequences, int32/int64
 * splits). Expected tokens are Python's str.split() results, written out; ngrams are derived
 * by hand from TF's padding rule (pad = min(pad_width or width-1, width-1)).
 */
#include "text_test_util.h"

static td_code split_v2(td_tensor in, const char *sep, int64_t maxsplit, td_tensor out[3], td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("StringSplitV2");
  if (maxsplit != -1) td_test_attr_int(nd, "maxsplit", maxsplit);
  td_tensor ins[2] = {in, tt_str(sep)};
  return tt_run(nd, ins, 2, out, 3, st);
}

static void test_split_v2(void **state) {
  (void)state;
  td_tensor out[3];
  td_status st = {0};
  /* "  hello  world ".split() = ['hello', 'world']; "".split() = []; "a\tb\nc".split() = [a,b,c] */
  assert_int_equal(split_v2(STRS("  hello  world ", "", "a\tb\nc"), "", -1, out, &st), TD_OK);
  EXPECT_SHAPE(&out[0], 5, 2);
  EXPECT_I64(&out[0], 0, 0, 0, 1, 2, 0, 2, 1, 2, 2);
  EXPECT_STR(&out[1], "hello", "world", "a", "b", "c");
  EXPECT_I64(&out[2], 3, 3);
  tt_release(out, 3);
  /* "a,,b".split(",") = ['a', '', 'b']; "".split(",") = [''] */
  assert_int_equal(split_v2(STRS("a,,b", ""), ",", -1, out, &st), TD_OK);
  EXPECT_I64(&out[0], 0, 0, 0, 1, 0, 2, 1, 0);
  EXPECT_STR(&out[1], "a", "", "b", "");
  EXPECT_I64(&out[2], 2, 3);
  tt_release(out, 3);
  /* maxsplit: "a,b,c".split(",", 1) = ['a', 'b,c']; "  a  b  c  ".split(None, 1) = ['a', 'b  c  '] */
  assert_int_equal(split_v2(STRS("a,b,c"), ",", 1, out, &st), TD_OK);
  EXPECT_STR(&out[1], "a", "b,c");
  tt_release(out, 3);
  assert_int_equal(split_v2(STRS("  a  b  c  "), "", 1, out, &st), TD_OK);
  EXPECT_STR(&out[1], "a", "b  c  ");
  tt_release(out, 3);
  /* TF departs from Python here: the remainder after maxsplit splits is kept even when empty
   * ("a  ".split(None, 1) is ['a'] in Python, ["a", ""] in TF), and maxsplit 0 does not split
   * or strip at all. */
  assert_int_equal(split_v2(STRS("a  ", " x "), "", 1, out, &st), TD_OK);
  EXPECT_STR(&out[1], "a", "", "x", "");
  tt_release(out, 3);
  assert_int_equal(split_v2(STRS(" a b ", ""), "", 0, out, &st), TD_OK);
  EXPECT_STR(&out[1], " a b ", "");
  EXPECT_I64(&out[2], 2, 1);
  tt_release(out, 3);
  /* Multi-character and multi-byte separators. */
  assert_int_equal(split_v2(STRS("1<>2<>3", "aébéc"), "<>", -1, out, &st), TD_OK);
  EXPECT_STR(&out[1], "1", "2", "3", "aébéc");
  tt_release(out, 3);
  assert_int_equal(split_v2(STRS("aébéc"), "é", -1, out, &st), TD_OK);
  EXPECT_STR(&out[1], "a", "b", "c");
  tt_release(out, 3);
  /* Empty batch. */
  assert_int_equal(split_v2(tt_empty(TD_DT_STRING), "", -1, out, &st), TD_OK);
  EXPECT_SHAPE(&out[0], 0, 2);
  EXPECT_SHAPE(&out[1], 0);
  EXPECT_I64(&out[2], 0, 0);
  tt_release(out, 3);
  /* Errors. */
  int64_t d[2] = {1, 1};
  tt_expect_error(split_v2(td_test_tensor(TD_DT_STRING, 2, d, (const char *[]){"a"}), "", -1, out, &st), &st,
                  TD_INVALID_ARGUMENT, "input must be a vector, got shape: [1,1]");
  Tensorflow__NodeDef *nd = td_test_node_new("StringSplitV2");
  td_tensor ins[2] = {STRS("a"), STRS(",")};
  tt_expect_error(tt_run(nd, ins, 2, out, 3, &st), &st, TD_INVALID_ARGUMENT, "sep must be a scalar, got shape: [1]");
}

static td_code split_v1(td_tensor in, const char *delim, int skip_empty, td_tensor out[3], td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("StringSplit");
  if (!skip_empty) td_test_attr_bool(nd, "skip_empty", 0);
  td_tensor ins[2] = {in, tt_str(delim)};
  return tt_run(nd, ins, 2, out, 3, st);
}

static void test_split_v1(void **state) {
  (void)state;
  td_tensor out[3];
  td_status st = {0};
  /* Each byte of the delimiter splits. */
  assert_int_equal(split_v1(STRS("a b,,c", "x"), " ,", 1, out, &st), TD_OK);
  EXPECT_I64(&out[0], 0, 0, 0, 1, 0, 2, 1, 0);
  EXPECT_STR(&out[1], "a", "b", "c", "x");
  EXPECT_I64(&out[2], 2, 3);
  tt_release(out, 3);
  /* skip_empty=false keeps "" between ",,", but an empty string still has no tokens (TF). */
  assert_int_equal(split_v1(STRS("a b,,c", ""), " ,", 0, out, &st), TD_OK);
  EXPECT_STR(&out[1], "a", "b", "", "c");
  EXPECT_I64(&out[2], 2, 4);
  tt_release(out, 3);
  /* Empty delimiter: single bytes. */
  assert_int_equal(split_v1(STRS("ab", ""), "", 1, out, &st), TD_OK);
  EXPECT_STR(&out[1], "a", "b");
  EXPECT_I64(&out[2], 2, 2);
  tt_release(out, 3);
  Tensorflow__NodeDef *nd = td_test_node_new("StringSplit");
  td_tensor ins[2] = {STRS("a"), STRS(",", ";")};
  tt_expect_error(tt_run(nd, ins, 2, out, 3, &st), &st, TD_INVALID_ARGUMENT, "delimiter must be a scalar, got shape: [2]");
}

typedef struct ng_opts {
  const char *sep, *lpad, *rpad;
  int64_t pad_width;
  int preserve;
} ng_opts;

static td_code ngrams(td_tensor data, td_tensor splits, const int64_t *widths, size_t nw, ng_opts o, td_tensor out[2],
                      td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("StringNGrams");
  td_test_attr_type(nd, "Tsplits", splits.dtype);
  td_test_attr_str(nd, "separator", o.sep);
  td_test_attr_str(nd, "left_pad", o.lpad);
  td_test_attr_str(nd, "right_pad", o.rpad);
  td_test_attr_int(nd, "pad_width", o.pad_width);
  td_test_attr_bool(nd, "preserve_short_sequences", o.preserve);
  td_test_attr_ints(nd, "ngram_widths", widths, nw);
  td_tensor ins[2] = {data, splits};
  return tt_run(nd, ins, 2, out, 2, st);
}

static void test_ngrams(void **state) {
  (void)state;
  td_tensor out[2];
  td_status st = {0};
  const int64_t w2[1] = {2}, w3[1] = {3}, w12[2] = {1, 2}, w5[1] = {5};
  /* tf.strings.ngrams docs: bigrams of A B C D. */
  assert_int_equal(ngrams(STRS("A", "B", "C", "D"), I64S(0, 4), w2, 1, (ng_opts){" ", "", "", 0, 0}, out, &st), TD_OK);
  EXPECT_STR(&out[0], "A B", "B C", "C D");
  EXPECT_I64(&out[1], 0, 3);
  tt_release(out, 2);
  /* Dynamic padding (pad_width -1 → width-1 = 2) for a 2-token row. */
  assert_int_equal(ngrams(STRS("a", "b"), I64S(0, 2), w3, 1, (ng_opts){" ", "LP", "RP", -1, 0}, out, &st), TD_OK);
  EXPECT_STR(&out[0], "LP LP a", "LP a b", "a b RP", "b RP RP");
  tt_release(out, 2);
  /* Several widths, int32 splits, an empty row. */
  assert_int_equal(ngrams(STRS("a", "b", "c"), I32S(0, 2, 3, 3), w12, 2, (ng_opts){"_", "", "", 0, 0}, out, &st), TD_OK);
  EXPECT_STR(&out[0], "a", "b", "a_b", "c");
  EXPECT_I32(&out[1], 0, 3, 4, 4);
  tt_release(out, 2);
  /* preserve_short_sequences: a row too short for width 3 yields itself (no padding)... */
  assert_int_equal(ngrams(STRS("a", "b", "c", "d", "e"), I64S(0, 2, 5), w3, 1, (ng_opts){" ", "", "", 0, 1}, out, &st), TD_OK);
  EXPECT_STR(&out[0], "a b", "c d e");
  EXPECT_I64(&out[1], 0, 1, 2);
  tt_release(out, 2);
  /* ...and with fixed pad_width 1, one ngram of width len + 2. */
  assert_int_equal(ngrams(STRS("a"), I64S(0, 1), w5, 1, (ng_opts){" ", "<", ">", 1, 1}, out, &st), TD_OK);
  EXPECT_STR(&out[0], "< a >");
  tt_release(out, 2);
  /* Multi-byte tokens and separator pass through. */
  assert_int_equal(ngrams(STRS("é", "ü"), I64S(0, 2), w2, 1, (ng_opts){"·", "", "", 0, 0}, out, &st), TD_OK);
  EXPECT_STR(&out[0], "é·ü");
  tt_release(out, 2);
  /* Bad splits. */
  tt_expect_error(ngrams(STRS("a", "b"), I64S(0, 5), w2, 1, (ng_opts){" ", "", "", 0, 0}, out, &st), &st,
                  TD_INVALID_ARGUMENT, "Invalid split value 5, must be in [0, 2]");
  tt_expect_error(ngrams(STRS("a", "b"), I64S(1, 2), w2, 1, (ng_opts){" ", "", "", 0, 0}, out, &st), &st,
                  TD_INVALID_ARGUMENT, "First split value must be 0, got 1");
  tt_expect_error(ngrams(STRS("a", "b"), I64S(0, 1), w2, 1, (ng_opts){" ", "", "", 0, 0}, out, &st), &st,
                  TD_INVALID_ARGUMENT, "Last split value must be data size. Expected 2, got 1");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_v2),
      cmocka_unit_test(test_split_v1),
      cmocka_unit_test(test_ngrams),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
