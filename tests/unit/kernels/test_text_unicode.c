/* test_text_unicode.c — UnicodeDecode / UnicodeDecodeWithOffsets (errors replace / ignore /
 * strict, replacement_char, replace_control_characters, int32 / int64 splits, n-D input) and
 * UnicodeEncode (UTF-8, UTF-16-BE). Code points are Python's ord() of each character;
 * malformed input follows Python's bytes.decode('utf-8', 'replace') (maximal subparts),
 * which is also ICU's behaviour.
 */
#include "text_test_util.h"

static td_code decode(const char *op, td_tensor in, const char *errors, int64_t repl, int ctl, td_dtype sdt,
                      td_tensor *out, int nout, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  td_test_attr_str(nd, "input_encoding", "UTF-8");
  if (errors) td_test_attr_str(nd, "errors", errors);
  if (repl >= 0) td_test_attr_int(nd, "replacement_char", repl);
  if (ctl) td_test_attr_bool(nd, "replace_control_characters", 1);
  if (sdt) td_test_attr_type(nd, "Tsplits", sdt);
  return tt_run(nd, &in, 1, out, nout, st);
}

static void test_decode(void **state) {
  (void)state;
  td_tensor out[3];
  td_status st = {0};
  assert_int_equal(decode("UnicodeDecode", STRS("héllo", "😀", ""), NULL, -1, 0, 0, out, 2, &st), TD_OK);
  EXPECT_I64(&out[0], 0, 5, 6, 6);
  EXPECT_I32(&out[1], 104, 233, 108, 108, 111, 128512);
  tt_release(out, 2);
  /* b'a\xffb\xe2\x82'.decode('utf-8', 'replace') = 'a\ufffdb\ufffd' */
  assert_int_equal(decode("UnicodeDecodeWithOffsets", STRS("a\xff" "b\xe2\x82"), "replace", -1, 0, TD_DT_INT32, out, 3, &st),
                   TD_OK);
  EXPECT_I32(&out[0], 0, 4);
  EXPECT_I32(&out[1], 97, 65533, 98, 65533);
  EXPECT_I64(&out[2], 0, 1, 2, 3);
  tt_release(out, 3);
  /* Overlong and surrogate encodings are malformed too: \xc0\xaf is two units, \xed\xa0\x80 three. */
  assert_int_equal(decode("UnicodeDecode", STRS("\xc0\xaf" "\xed\xa0\x80"), "replace", 63, 0, 0, out, 2, &st), TD_OK);
  EXPECT_I32(&out[1], 63, 63, 63, 63, 63);
  tt_release(out, 2);
  assert_int_equal(decode("UnicodeDecode", STRS("a\xff" "b\xe2\x82"), "ignore", -1, 0, 0, out, 2, &st), TD_OK);
  EXPECT_I32(&out[1], 97, 98);
  EXPECT_I64(&out[0], 0, 2);
  tt_release(out, 2);
  tt_expect_error(decode("UnicodeDecode", STRS("ok", "a\xff"), "strict", -1, 0, 0, out, 2, &st), &st, TD_INVALID_ARGUMENT,
                  "Invalid formatting on input string");
  /* Offsets of multi-byte characters; control characters replaced on request. */
  assert_int_equal(decode("UnicodeDecodeWithOffsets", STRS("aé€\t"), NULL, -1, 1, 0, out, 3, &st), TD_OK);
  EXPECT_I32(&out[1], 97, 233, 8364, 65533);
  EXPECT_I64(&out[2], 0, 1, 3, 6);
  tt_release(out, 3);
  /* 2-D input is flattened; an empty input has splits [0]. */
  int64_t d[2] = {2, 1};
  assert_int_equal(decode("UnicodeDecode", td_test_tensor(TD_DT_STRING, 2, d, (const char *[]){"ab", "c"}), NULL, -1, 0, 0,
                          out, 2, &st),
                   TD_OK);
  EXPECT_I64(&out[0], 0, 2, 3);
  EXPECT_I32(&out[1], 97, 98, 99);
  tt_release(out, 2);
  assert_int_equal(decode("UnicodeDecode", tt_empty(TD_DT_STRING), NULL, -1, 0, 0, out, 2, &st), TD_OK);
  EXPECT_I64(&out[0], 0);
  EXPECT_SHAPE(&out[1], 0);
  tt_release(out, 2);
}

static td_code encode(td_tensor vals, td_tensor splits, const char *enc, const char *errors, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("UnicodeEncode");
  td_test_attr_str(nd, "output_encoding", enc);
  td_test_attr_type(nd, "Tsplits", splits.dtype);
  if (errors) td_test_attr_str(nd, "errors", errors);
  td_tensor ins[2] = {vals, splits};
  return tt_run(nd, ins, 2, out, 1, st);
}

static void test_encode(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  assert_int_equal(encode(I32S(104, 233, 128512), I64S(0, 2, 3, 3), "UTF-8", NULL, &out, &st), TD_OK);
  EXPECT_STR(&out, "hé", "😀", "");
  td_tensor_release(&out);
  /* "é😀".encode('utf-16-be') = b'\x00\xe9\xd8\x3d\xde\x00' */
  assert_int_equal(encode(I32S(233, 128512), I32S(0, 2), "UTF-16-BE", NULL, &out, &st), TD_OK);
  assert_int_equal(td_str(&out)[0].len, 6);
  assert_memory_equal(td_str(&out)[0].data, "\x00\xe9\xd8\x3d\xde\x00", 6);
  td_tensor_release(&out);
  /* Invalid code points: a surrogate and one past U+10FFFF. */
  assert_int_equal(encode(I32S(97, 0xD800, 0x110000, 98), I64S(0, 4), "UTF-8", "replace", &out, &st), TD_OK);
  EXPECT_STR(&out, "a\xef\xbf\xbd\xef\xbf\xbd" "b");
  td_tensor_release(&out);
  assert_int_equal(encode(I32S(97, 0xD800, 98), I64S(0, 3), "UTF-8", "ignore", &out, &st), TD_OK);
  EXPECT_STR(&out, "ab");
  td_tensor_release(&out);
  tt_expect_error(encode(I32S(-1), I64S(0, 1), "UTF-8", "strict", &out, &st), &st, TD_INVALID_ARGUMENT,
                  "Code point is out of range for Unicode, or a noncharacter.");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode),
      cmocka_unit_test(test_encode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
