/* test_tensor_array.c — TensorArrayConcatV3 / TensorArraySplitV3 run op by op on one handle
 * (each op a one-node graph; the handle tensor carries the array between them). Expectations
 * are hand-derived: concat joins elements along dimension 0 and reports their lengths, split
 * is its inverse; error texts are TF's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_array_util.h"

/* A fresh float (or `dt`) TensorArray of `size`; returns the handle. */
static td_tensor new_array(int size, td_dtype dt, int dynamic, int clear_after_read) {
  Tensorflow__NodeDef *nd = td_test_node_new("TensorArrayV3");
  td_test_attr_type(nd, "dtype", dt);
  td_test_attr_bool(nd, "dynamic_size", dynamic);
  td_test_attr_bool(nd, "clear_after_read", clear_after_read);
  td_tensor ins[1] = {at_i32s(size)}, outs[2];
  td_status st;
  assert_int_equal(at_run(nd, ins, 1, outs, 2, &st), TD_OK);
  td_tensor_release(&outs[1]);
  return outs[0];
}

static td_code split(const td_tensor *h, td_tensor value, int n, const int64_t *lengths, td_status *st) {
  Tensorflow__NodeDef *nd = at_node("TensorArraySplitV3", value.dtype);
  td_tensor ins[4] = {td_tensor_ref(h), value, at_vec_i64(n, lengths), at_f32s(0)}, out;
  td_code rc = at_run(nd, ins, 4, &out, 1, st);
  if (rc == TD_OK) td_tensor_release(&out);
  return rc;
}

static Tensorflow__NodeDef *concat_node(td_dtype dt) {
  Tensorflow__NodeDef *nd = td_test_node_new("TensorArrayConcatV3");
  td_test_attr_type(nd, "dtype", dt);
  return nd;
}

static td_code concat(const td_tensor *h, td_dtype dt, td_tensor outs[2], td_status *st) {
  Tensorflow__NodeDef *nd = concat_node(dt);
  td_tensor ins[2] = {td_tensor_ref(h), at_f32s(0)};
  return at_run(nd, ins, 2, outs, 2, st);
}

static void write_elem(const td_tensor *h, int index, td_tensor value) {
  Tensorflow__NodeDef *nd = at_node("TensorArrayWriteV3", value.dtype);
  td_tensor ins[4] = {td_tensor_ref(h), at_i32s(index), value, at_f32s(0)}, out;
  td_status st;
  assert_int_equal(at_run(nd, ins, 4, &out, 1, &st), TD_OK);
  td_tensor_release(&out);
}

static td_tensor read_elem(const td_tensor *h, int index, td_dtype dt) {
  Tensorflow__NodeDef *nd = td_test_node_new("TensorArrayReadV3");
  td_test_attr_type(nd, "dtype", dt);
  td_tensor ins[3] = {td_tensor_ref(h), at_i32s(index), at_f32s(0)};
  return at_run1(nd, ins, 3);
}

/* split [5,2] into lengths 2,0,3; read each back; concat gives the input and the lengths. */
static void test_split_then_concat(void **state) {
  (void)state;
  td_tensor h = new_array(3, TD_DT_FLOAT, 0, 0);
  td_status st;
  td_tensor v = at_tensor(TD_DT_FLOAT, 2, A_DIMS(5, 2), A_F32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  assert_int_equal(split(&h, v, 3, A_I64(2, 0, 3), &st), TD_OK);
  td_tensor e0 = read_elem(&h, 0, TD_DT_FLOAT), e1 = read_elem(&h, 1, TD_DT_FLOAT), e2 = read_elem(&h, 2, TD_DT_FLOAT);
  at_expect(&e0, TD_DT_FLOAT, 2, A_DIMS(2, 2), A_F32(0, 1, 2, 3));
  at_expect(&e1, TD_DT_FLOAT, 2, A_DIMS(0, 2), NULL);
  at_expect(&e2, TD_DT_FLOAT, 2, A_DIMS(3, 2), A_F32(4, 5, 6, 7, 8, 9));
  td_tensor outs[2];
  assert_int_equal(concat(&h, TD_DT_FLOAT, outs, &st), TD_OK);
  at_expect(&outs[0], TD_DT_FLOAT, 2, A_DIMS(5, 2), A_F32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  at_expect(&outs[1], TD_DT_INT64, 1, A_DIMS(3), A_I64(2, 0, 3));
  td_tensor_release(&h);
}

/* Written elements of different leading sizes (strings, multi-byte UTF-8) concatenate. */
static void test_concat_written_strings(void **state) {
  (void)state;
  td_tensor h = new_array(2, TD_DT_STRING, 0, 1);
  write_elem(&h, 0, at_tensor(TD_DT_STRING, 1, A_DIMS(1), A_STR("héllo")));
  write_elem(&h, 1, at_tensor(TD_DT_STRING, 1, A_DIMS(2), A_STR("a", "wörld")));
  td_tensor outs[2];
  td_status st;
  assert_int_equal(concat(&h, TD_DT_STRING, outs, &st), TD_OK);
  at_expect(&outs[0], TD_DT_STRING, 1, A_DIMS(3), A_STR("héllo", "a", "wörld"));
  at_expect(&outs[1], TD_DT_INT64, 1, A_DIMS(2), A_I64(1, 2));
  /* clear_after_read: a second concat finds the elements gone. */
  at_expect_error(concat_node(TD_DT_STRING), (td_tensor[]){td_tensor_ref(&h), at_f32s(0)}, 2, 2, TD_INVALID_ARGUMENT,
                  "Could not read index 0 twice");
  td_tensor_release(&h);
}

static void test_concat_errors(void **state) {
  (void)state;
  td_tensor h = new_array(2, TD_DT_FLOAT, 0, 0);
  write_elem(&h, 0, at_tensor(TD_DT_FLOAT, 2, A_DIMS(1, 2), A_F32(1, 2)));
  /* index 1 unwritten */
  at_expect_error(concat_node(TD_DT_FLOAT), (td_tensor[]){td_tensor_ref(&h), at_f32s(0)}, 2, 2, TD_INVALID_ARGUMENT,
                  "Could not read from TensorArray index 1 because it has not yet been written to.");
  write_elem(&h, 1, at_tensor(TD_DT_FLOAT, 2, A_DIMS(1, 3), A_F32(1, 2, 3)));
  at_expect_error(concat_node(TD_DT_FLOAT), (td_tensor[]){td_tensor_ref(&h), at_f32s(0)}, 2, 2, TD_INVALID_ARGUMENT,
                  "TensorArray has inconsistent shapes.  Index 0 has (excepting dimension 0) shape: [2] but index 1 "
                  "has (excepting dimension 0) shape: [3]");
  td_tensor_release(&h);
  /* scalars cannot be concatenated */
  h = new_array(1, TD_DT_FLOAT, 0, 0);
  write_elem(&h, 0, at_f32s(1));
  at_expect_error(concat_node(TD_DT_FLOAT), (td_tensor[]){td_tensor_ref(&h), at_f32s(0)}, 2, 2, TD_INVALID_ARGUMENT,
                  "Concat saw a scalar shape at index 0 but requires at least vectors.");
  td_tensor_release(&h);
  /* empty array: needs a fully defined element_shape_except0 */
  h = new_array(0, TD_DT_FLOAT, 0, 0);
  at_expect_error(concat_node(TD_DT_FLOAT), (td_tensor[]){td_tensor_ref(&h), at_f32s(0)}, 2, 2, TD_UNIMPLEMENTED,
                  "TensorArray has size zero, but element_shape_except0");
  Tensorflow__NodeDef *nd = concat_node(TD_DT_FLOAT);
  td_test_attr_shape(nd, "element_shape_except0", 1, A_DIMS(4));
  td_tensor outs[2];
  td_status st;
  assert_int_equal(at_run(nd, (td_tensor[]){td_tensor_ref(&h), at_f32s(0)}, 2, outs, 2, &st), TD_OK);
  at_expect(&outs[0], TD_DT_FLOAT, 2, A_DIMS(0, 4), NULL);
  at_expect(&outs[1], TD_DT_INT64, 1, A_DIMS(0), NULL);
  td_tensor_release(&h);
}

static void test_split_errors(void **state) {
  (void)state;
  td_status st;
  td_tensor h = new_array(2, TD_DT_INT32, 0, 0);
  assert_int_equal(split(&h, at_iota_i32(1, A_DIMS(4)), 2, A_I64(1, 2), &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "Expected sum of lengths to be equal to values.shape[0], but sum of lengths is: 3 "
                                 "and value's shape is: [4]"));
  assert_int_equal(split(&h, at_iota_i32(1, A_DIMS(4)), 2, A_I64(5, -1), &st), TD_INVALID_ARGUMENT);
  assert_int_equal(split(&h, at_i32s(3), 1, A_I64(1), &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "Expected value to be at least a vector, but received shape: []"));
  assert_int_equal(split(&h, at_iota_i32(1, A_DIMS(4)), 3, A_I64(1, 1, 2), &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "TensorArray's size is not equal to the size of lengths (2 vs. 3), and the "
                                 "TensorArray is not marked as dynamically resizeable"));
  /* split writes each index once */
  assert_int_equal(split(&h, at_iota_i32(1, A_DIMS(4)), 2, A_I64(1, 3), &st), TD_OK);
  assert_int_equal(split(&h, at_iota_i32(1, A_DIMS(4)), 2, A_I64(1, 3), &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "because it has already been written to"));
  td_tensor_release(&h);
  /* a dynamic array grows to the number of lengths */
  h = new_array(0, TD_DT_INT32, 1, 0);
  assert_int_equal(split(&h, at_iota_i32(2, A_DIMS(3, 2)), 3, A_I64(1, 1, 1), &st), TD_OK);
  td_tensor e2 = read_elem(&h, 2, TD_DT_INT32);
  at_expect(&e2, TD_DT_INT32, 2, A_DIMS(1, 2), A_I32(4, 5));
  td_tensor_release(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_then_concat),
      cmocka_unit_test(test_concat_written_strings),
      cmocka_unit_test(test_concat_errors),
      cmocka_unit_test(test_split_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
