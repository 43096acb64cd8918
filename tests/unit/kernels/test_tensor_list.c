/* test_tensor_list.c — the TensorList family through the real engine (each op imported, pruned
 * and run from a GraphDef by td_test_run_op; lists travel between ops as fed DT_VARIANT
 * tensors): reserve + set + stack, from_tensor + get_item, gather / scatter, split / concat with
 * uneven lengths, push / pop, resize, element_shape, value semantics (an older list is unchanged
 * by a later write), TF's error texts; plus ResourceGather / ResourceGatherNd on a variable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/test_array_util.h"

#include <stdlib.h>
#include <string.h>

/* An element_shape input: rank -1 = scalar -1 (unknown). */
static td_tensor shape_t(int rank, const int64_t *dims) {
  if (rank < 0) return at_i32s(-1);
  td_tensor t = at_tensor(TD_DT_INT32, 1, A_DIMS(rank), NULL);
  for (int k = 0; k < rank; k++) td_i32(&t)[k] = (int32_t)dims[k];
  return t;
}

static Tensorflow__NodeDef *lnode(const char *op, td_dtype dt) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  td_test_attr_type(nd, "element_dtype", dt);
  td_test_attr_type(nd, "shape_type", TD_DT_INT32);
  return nd;
}

static td_tensor reserve(td_dtype dt, int rank, const int64_t *dims, int32_t n) {
  td_tensor in[2] = {shape_t(rank, dims), at_i32s(n)};
  return at_run1(lnode("TensorListReserve", dt), in, 2);
}

static td_tensor set_item(td_tensor list, int32_t i, td_tensor item) {
  td_tensor in[3] = {list, at_i32s(i), item};
  return at_run1(lnode("TensorListSetItem", item.dtype), in, 3);
}

static td_tensor get_item(const td_tensor *list, int32_t i, td_dtype dt, int rank, const int64_t *dims) {
  td_tensor in[3] = {td_tensor_ref(list), at_i32s(i), shape_t(rank, dims)};
  return at_run1(lnode("TensorListGetItem", dt), in, 3);
}

static td_tensor stack(const td_tensor *list, td_dtype dt, int rank, const int64_t *dims) {
  td_tensor in[2] = {td_tensor_ref(list), shape_t(rank, dims)};
  return at_run1(lnode("TensorListStack", dt), in, 2);
}

static int32_t length(const td_tensor *list) {
  td_tensor in[1] = {td_tensor_ref(list)};
  td_tensor o = at_run1(lnode("TensorListLength", TD_DT_FLOAT), in, 1);
  int32_t n = td_i32(&o)[0];
  td_tensor_release(&o);
  return n;
}

static void test_reserve_set_stack(void **state) {
  (void)state;
  td_tensor l = reserve(TD_DT_FLOAT, 1, A_DIMS(2), 3);
  assert_int_equal(l.dtype, TD_DT_VARIANT);
  assert_int_equal(l.shape.rank, 0);
  assert_int_equal(length(&l), 3);
  td_tensor l1 = set_item(td_tensor_ref(&l), 0, at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(1, 2)));
  td_tensor l2 = set_item(td_tensor_ref(&l1), 2, at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(5, 6)));
  /* slot 1 was never set: zeros, as TF reads uninitialized items with a known shape */
  td_tensor s = stack(&l2, TD_DT_FLOAT, -1, NULL);
  at_expect(&s, TD_DT_FLOAT, 2, A_DIMS(3, 2), A_F32(1, 2, 0, 0, 5, 6));
  /* value semantics: the older lists did not change */
  s = stack(&l1, TD_DT_FLOAT, -1, NULL);
  at_expect(&s, TD_DT_FLOAT, 2, A_DIMS(3, 2), A_F32(1, 2, 0, 0, 0, 0));
  s = stack(&l, TD_DT_FLOAT, -1, NULL);
  at_expect(&s, TD_DT_FLOAT, 2, A_DIMS(3, 2), A_F32(0, 0, 0, 0, 0, 0));
  /* num_elements checks the length */
  Tensorflow__NodeDef *nd = lnode("TensorListStack", TD_DT_FLOAT);
  td_test_attr_int(nd, "num_elements", 4);
  td_tensor e[2] = {td_tensor_ref(&l2), shape_t(-1, NULL)};
  at_expect_error(nd, e, 2, 1, TD_INVALID_ARGUMENT, "Operation expected a list with 4 elements but got a list with 3 elements.");
  /* set_item with the wrong shape / index / dtype */
  td_tensor e2[3] = {td_tensor_ref(&l2), at_i32s(0), at_tensor(TD_DT_FLOAT, 1, A_DIMS(3), A_F32(1, 2, 3))};
  at_expect_error(lnode("TensorListSetItem", TD_DT_FLOAT), e2, 3, 1, TD_INVALID_ARGUMENT,
                  "Tried to set a tensor with incompatible shape at a list index. Item element shape: [3] list shape: [2]");
  td_tensor e3[3] = {td_tensor_ref(&l2), at_i32s(3), at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(1, 2))};
  at_expect_error(lnode("TensorListSetItem", TD_DT_FLOAT), e3, 3, 1, TD_INVALID_ARGUMENT,
                  "Trying to modify element 3 in a list with 3 elements.");
  td_tensor e4[3] = {td_tensor_ref(&l2), at_i32s(0), at_vec_i32(2, A_I32(1, 2))};
  at_expect_error(lnode("TensorListSetItem", TD_DT_INT32), e4, 3, 1, TD_INVALID_ARGUMENT,
                  "Invalid data types; op elements int32 but list elements float");
  /* resize_if_index_out_of_bounds grows the list */
  nd = lnode("TensorListSetItem", TD_DT_FLOAT);
  td_test_attr_bool(nd, "resize_if_index_out_of_bounds", 1);
  td_tensor g[3] = {td_tensor_ref(&l2), at_i32s(4), at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(7, 8))};
  td_tensor l3 = at_run1(nd, g, 3);
  assert_int_equal(length(&l3), 5);
  s = stack(&l3, TD_DT_FLOAT, -1, NULL);
  at_expect(&s, TD_DT_FLOAT, 2, A_DIMS(5, 2), A_F32(1, 2, 0, 0, 5, 6, 0, 0, 7, 8));
  td_tensor_release(&l);
  td_tensor_release(&l1);
  td_tensor_release(&l2);
  td_tensor_release(&l3);
}

static void test_stack_shapes(void **state) {
  (void)state;
  /* an empty list stacks to [0] + element_shape */
  td_tensor l = reserve(TD_DT_FLOAT, 2, A_DIMS(2, 3), 0);
  td_tensor s = stack(&l, TD_DT_FLOAT, -1, NULL);
  at_expect(&s, TD_DT_FLOAT, 3, A_DIMS(0, 2, 3), NULL);
  td_tensor_release(&l);
  /* unknown list shape: the element_shape input completes it */
  l = reserve(TD_DT_INT32, -1, NULL, 0);
  s = stack(&l, TD_DT_INT32, 1, A_DIMS(4));
  at_expect(&s, TD_DT_INT32, 2, A_DIMS(0, 4), NULL);
  td_tensor e[2] = {td_tensor_ref(&l), shape_t(-1, NULL)};
  at_expect_error(lnode("TensorListStack", TD_DT_INT32), e, 2, 1, TD_INVALID_ARGUMENT,
                  "Tried to stack elements of an empty list with non-fully-defined element_shape: <unknown>");
  td_tensor_release(&l);
  /* partial list shape [?]: merged from a set item; the unset item reads as zeros */
  l = reserve(TD_DT_INT32, 1, A_DIMS(-1), 2);
  td_tensor l1 = set_item(td_tensor_ref(&l), 1, at_vec_i32(3, A_I32(4, 5, 6)));
  s = stack(&l1, TD_DT_INT32, -1, NULL);
  at_expect(&s, TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(0, 0, 0, 4, 5, 6));
  td_tensor e2[2] = {td_tensor_ref(&l), shape_t(-1, NULL)};
  at_expect_error(lnode("TensorListStack", TD_DT_INT32), e2, 2, 1, TD_INVALID_ARGUMENT,
                  "Tried to stack list which only contains uninitialized tensors and has a non-fully-defined "
                  "element_shape: [?]");
  td_tensor e3[2] = {td_tensor_ref(&l1), shape_t(1, A_DIMS(2))};
  at_expect_error(lnode("TensorListStack", TD_DT_INT32), e3, 2, 1, TD_INVALID_ARGUMENT,
                  "Incompatible shapes during merge: [2] vs. [3]");
  td_tensor_release(&l);
  td_tensor_release(&l1);
}

static td_tensor from_tensor(td_tensor t, int rank, const int64_t *dims) {
  td_tensor in[2] = {t, shape_t(rank, dims)};
  return at_run1(lnode("TensorListFromTensor", t.dtype), in, 2);
}

static void test_from_tensor_get_item(void **state) {
  (void)state;
  td_tensor l = from_tensor(at_iota_i32(3, A_DIMS(3, 2, 2)), 2, A_DIMS(-1, 2));
  assert_int_equal(length(&l), 3);
  td_tensor it = get_item(&l, 1, TD_DT_INT32, -1, NULL);
  at_expect(&it, TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(4, 5, 6, 7));
  it = get_item(&l, 2, TD_DT_INT32, 2, A_DIMS(2, -1));
  at_expect(&it, TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(8, 9, 10, 11));
  td_tensor e[3] = {td_tensor_ref(&l), at_i32s(3), shape_t(-1, NULL)};
  at_expect_error(lnode("TensorListGetItem", TD_DT_INT32), e, 3, 1, TD_INVALID_ARGUMENT,
                  "Trying to access element 3 in a list with 3 elements.");
  td_tensor e2[3] = {td_tensor_ref(&l), at_i32s(-1), shape_t(-1, NULL)};
  at_expect_error(lnode("TensorListGetItem", TD_DT_INT32), e2, 3, 1, TD_INVALID_ARGUMENT,
                  "Trying to access element -1 in a list with 3 elements.");
  td_tensor e3[3] = {td_tensor_ref(&l), at_i32s(0), shape_t(-1, NULL)};
  at_expect_error(lnode("TensorListGetItem", TD_DT_FLOAT), e3, 3, 1, TD_INVALID_ARGUMENT,
                  "Invalid data types; op elements float but list elements int32");
  /* stacking it back gives the original tensor */
  td_tensor s = stack(&l, TD_DT_INT32, -1, NULL);
  at_expect(&s, TD_DT_INT32, 3, A_DIMS(3, 2, 2), A_I32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
  td_tensor_release(&l);
  /* strings (multi-byte UTF-8 bytes are copied as they are) */
  l = from_tensor(td_test_tensor(TD_DT_STRING, 1, A_DIMS(2), A_STR("héllo", "日本")), -1, NULL);
  it = get_item(&l, 1, TD_DT_STRING, -1, NULL);
  at_expect(&it, TD_DT_STRING, 0, NULL, A_STR("日本"));
  td_tensor_release(&l);
  /* errors */
  td_tensor b[2] = {at_i32s(1), shape_t(-1, NULL)};
  at_expect_error(lnode("TensorListFromTensor", TD_DT_INT32), b, 2, 1, TD_INVALID_ARGUMENT,
                  "Tensor must be at least a vector, but saw shape: []");
  td_tensor b2[2] = {at_iota_i32(2, A_DIMS(2, 3)), shape_t(1, A_DIMS(2))};
  at_expect_error(lnode("TensorListFromTensor", TD_DT_INT32), b2, 2, 1, TD_INVALID_ARGUMENT,
                  "Specified a list with shape [2] from a tensor with shape [3]");
  /* an uninitialized item whose shape cannot be resolved */
  l = reserve(TD_DT_FLOAT, -1, NULL, 2);
  td_tensor e4[3] = {td_tensor_ref(&l), at_i32s(0), shape_t(-1, NULL)};
  at_expect_error(lnode("TensorListGetItem", TD_DT_FLOAT), e4, 3, 1, TD_INVALID_ARGUMENT,
                  "Trying to read an uninitialized tensor but element_shape is not fully defined: <unknown> and no list "
                  "element is set.");
  it = get_item(&l, 0, TD_DT_FLOAT, 1, A_DIMS(2));
  at_expect(&it, TD_DT_FLOAT, 1, A_DIMS(2), A_F32(0, 0));
  td_tensor_release(&l);
}

static void test_gather_scatter(void **state) {
  (void)state;
  td_tensor l = from_tensor(at_iota_i32(2, A_DIMS(4, 2)), 1, A_DIMS(2));
  td_tensor in[3] = {td_tensor_ref(&l), at_vec_i32(3, A_I32(3, 0, 3)), shape_t(-1, NULL)};
  td_tensor g = at_run1(lnode("TensorListGather", TD_DT_INT32), in, 3);
  at_expect(&g, TD_DT_INT32, 2, A_DIMS(3, 2), A_I32(6, 7, 0, 1, 6, 7));
  td_tensor e[3] = {td_tensor_ref(&l), at_vec_i32(1, A_I32(4)), shape_t(-1, NULL)};
  at_expect_error(lnode("TensorListGather", TD_DT_INT32), e, 3, 1, TD_INVALID_ARGUMENT,
                  "Index 4 out o range; list only has 4 elements.");
  td_tensor_release(&l);
  /* Scatter: size = max index + 1, later duplicates win, gaps are zeros */
  td_tensor s_in[3] = {at_iota_i32(2, A_DIMS(3, 2)), at_vec_i32(3, A_I32(3, 1, 3)), shape_t(1, A_DIMS(2))};
  l = at_run1(lnode("TensorListScatter", TD_DT_INT32), s_in, 3);
  assert_int_equal(length(&l), 4);
  g = stack(&l, TD_DT_INT32, -1, NULL);
  at_expect(&g, TD_DT_INT32, 2, A_DIMS(4, 2), A_I32(0, 0, 2, 3, 0, 0, 4, 5));
  /* ScatterIntoExistingList grows and overwrites, leaving the input list unchanged */
  td_tensor x_in[3] = {td_tensor_ref(&l), at_iota_i32(2, A_DIMS(2, 2)), at_vec_i64(2, A_I64(0, 5))};
  td_tensor l2 = at_run1(lnode("TensorListScatterIntoExistingList", TD_DT_INT32), x_in, 3);
  g = stack(&l2, TD_DT_INT32, -1, NULL);
  at_expect(&g, TD_DT_INT32, 2, A_DIMS(6, 2), A_I32(0, 1, 2, 3, 0, 0, 4, 5, 0, 0, 2, 3));
  g = stack(&l, TD_DT_INT32, -1, NULL);
  at_expect(&g, TD_DT_INT32, 2, A_DIMS(4, 2), A_I32(0, 0, 2, 3, 0, 0, 4, 5));
  td_tensor_release(&l);
  td_tensor_release(&l2);
  /* ScatterV2 with num_elements larger than the indices need */
  td_tensor v_in[4] = {at_tensor(TD_DT_FLOAT, 1, A_DIMS(1), A_F32(2.5f)), at_vec_i32(1, A_I32(0)), shape_t(0, NULL),
                       at_i32s(3)};
  l = at_run1(lnode("TensorListScatterV2", TD_DT_FLOAT), v_in, 4);
  g = stack(&l, TD_DT_FLOAT, -1, NULL);
  at_expect(&g, TD_DT_FLOAT, 1, A_DIMS(3), A_F32(2.5f, 0, 0));
  td_tensor_release(&l);
  td_tensor b[3] = {at_iota_i32(2, A_DIMS(2, 2)), at_vec_i32(2, A_I32(0, -1)), shape_t(-1, NULL)};
  at_expect_error(lnode("TensorListScatter", TD_DT_INT32), b, 3, 1, TD_INVALID_ARGUMENT,
                  "Indices in TensorListScatter must all be non-negative.");
  td_tensor b2[3] = {at_iota_i32(2, A_DIMS(2, 2)), at_vec_i32(3, A_I32(0, 1, 2)), shape_t(-1, NULL)};
  at_expect_error(lnode("TensorListScatter", TD_DT_INT32), b2, 3, 1, TD_INVALID_ARGUMENT,
                  "Invalid number of rows in input tensor. Expected: 3 Actual: 2");
}

static void test_split_concat(void **state) {
  (void)state;
  /* [5,2] split into lengths 2, 0, 3 */
  td_tensor in[3] = {at_iota_i32(2, A_DIMS(5, 2)), shape_t(2, A_DIMS(-1, 2)), at_vec_i64(3, A_I64(2, 0, 3))};
  td_tensor l = at_run1(lnode("TensorListSplit", TD_DT_INT32), in, 3);
  assert_int_equal(length(&l), 3);
  td_tensor it = get_item(&l, 2, TD_DT_INT32, -1, NULL);
  at_expect(&it, TD_DT_INT32, 2, A_DIMS(3, 2), A_I32(4, 5, 6, 7, 8, 9));
  it = get_item(&l, 1, TD_DT_INT32, -1, NULL);
  at_expect(&it, TD_DT_INT32, 2, A_DIMS(0, 2), NULL);
  td_tensor out[2];
  td_status st;
  td_tensor c_in[1] = {td_tensor_ref(&l)};
  assert_int_equal(at_run(lnode("TensorListConcat", TD_DT_INT32), c_in, 1, out, 2, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT32, 2, A_DIMS(5, 2), A_I32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(3), A_I64(2, 0, 3));
  td_tensor_release(&l);
  /* ConcatV2: an uninitialized item takes its length from leading_dims */
  l = reserve(TD_DT_FLOAT, 2, A_DIMS(-1, 2), 2);
  td_tensor l1 = set_item(td_tensor_ref(&l), 0, at_tensor(TD_DT_FLOAT, 2, A_DIMS(1, 2), A_F32(1, 2)));
  td_tensor v_in[3] = {td_tensor_ref(&l1), shape_t(2, A_DIMS(-1, 2)), at_vec_i64(2, A_I64(7, 2))};
  assert_int_equal(at_run(lnode("TensorListConcatV2", TD_DT_FLOAT), v_in, 3, out, 2, &st), TD_OK);
  at_expect(&out[0], TD_DT_FLOAT, 2, A_DIMS(3, 2), A_F32(1, 2, 0, 0, 0, 0));
  at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(2), A_I64(1, 2));
  td_tensor v2[3] = {td_tensor_ref(&l1), shape_t(2, A_DIMS(-1, 2)), at_vec_i64(1, A_I64(7))};
  at_expect_error(lnode("TensorListConcatV2", TD_DT_FLOAT), v2, 3, 2, TD_INVALID_ARGUMENT,
                  "List contains uninitialized tensor at index 1 but leading_dims has only 1 elements.");
  td_tensor_release(&l);
  td_tensor_release(&l1);
  /* errors */
  td_tensor b[3] = {at_iota_i32(2, A_DIMS(5, 2)), shape_t(2, A_DIMS(-1, 2)), at_vec_i64(2, A_I64(2, 2))};
  at_expect_error(lnode("TensorListSplit", TD_DT_INT32), b, 3, 1, TD_INVALID_ARGUMENT,
                  "Unused values in tensor. Length of tensor: 5 Values used: 4");
  td_tensor b2[3] = {at_iota_i32(2, A_DIMS(5, 2)), shape_t(2, A_DIMS(-1, 2)), at_vec_i64(2, A_I64(4, 2))};
  at_expect_error(lnode("TensorListSplit", TD_DT_INT32), b2, 3, 1, TD_INVALID_ARGUMENT,
                  "Attempting to slice [4, 6] from tensor with length 5");
  td_tensor b3[3] = {at_iota_i32(2, A_DIMS(5, 2)), shape_t(0, NULL), at_vec_i64(1, A_I64(5))};
  at_expect_error(lnode("TensorListSplit", TD_DT_INT32), b3, 3, 1, TD_INVALID_ARGUMENT,
                  "TensorListSplit requires element_shape to be at least of rank 1, but saw: []");
  l = from_tensor(at_iota_i32(1, A_DIMS(3)), -1, NULL);
  td_tensor b4[1] = {td_tensor_ref(&l)};
  at_expect_error(lnode("TensorListConcat", TD_DT_INT32), b4, 1, 2, TD_INVALID_ARGUMENT,
                  "Concat requires elements to be at least vectors, found scalars instead.");
  td_tensor_release(&l);
}

static void test_push_pop_resize_shape(void **state) {
  (void)state;
  td_tensor in[2] = {shape_t(1, A_DIMS(-1)), at_i32s(2)};
  td_tensor l = at_run1(lnode("EmptyTensorList", TD_DT_INT64), in, 2);
  assert_int_equal(length(&l), 0);
  td_tensor p_in[2] = {td_tensor_ref(&l), at_vec_i64(2, A_I64(1, 2))};
  td_tensor l1 = at_run1(lnode("TensorListPushBack", TD_DT_INT64), p_in, 2);
  td_tensor p2[2] = {td_tensor_ref(&l1), at_vec_i64(1, A_I64(3))};
  td_tensor l2 = at_run1(lnode("TensorListPushBack", TD_DT_INT64), p2, 2);
  assert_int_equal(length(&l), 0);
  assert_int_equal(length(&l2), 2);
  td_tensor p3[2] = {td_tensor_ref(&l2), at_vec_i64(1, A_I64(4))};
  at_expect_error(lnode("TensorListPushBack", TD_DT_INT64), p3, 2, 1, TD_INVALID_ARGUMENT,
                  "Tried to push item into a full list list size: 2 max_num_elements: 2");
  td_tensor p4[2] = {td_tensor_ref(&l1), at_vec_i32(1, A_I32(4))};
  at_expect_error(lnode("TensorListPushBack", TD_DT_INT32), p4, 2, 1, TD_INVALID_ARGUMENT,
                  "Invalid data types; list elements int64 but tried to append int32");
  td_tensor p5[2] = {td_tensor_ref(&l1), at_i64s(4)};
  at_expect_error(lnode("TensorListPushBack", TD_DT_INT64), p5, 2, 1, TD_INVALID_ARGUMENT,
                  "Tried to append a tensor with incompatible shape to a list. Op element shape: [] list shape: [?]");
  /* pop: the last item and the shorter list */
  td_tensor out[2];
  td_status st;
  td_tensor q[2] = {td_tensor_ref(&l2), shape_t(-1, NULL)};
  assert_int_equal(at_run(lnode("TensorListPopBack", TD_DT_INT64), q, 2, out, 2, &st), TD_OK);
  assert_int_equal(length(&out[0]), 1);
  at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(1), A_I64(3));
  td_tensor_release(&out[0]);
  assert_int_equal(length(&l2), 2);
  td_tensor q2[2] = {td_tensor_ref(&l), shape_t(-1, NULL)};
  at_expect_error(lnode("TensorListPopBack", TD_DT_INT64), q2, 2, 2, TD_INVALID_ARGUMENT,
                  "Trying to pop from an empty list.");
  /* resize: grow with uninitialized items, shrink */
  td_tensor r[2] = {td_tensor_ref(&l2), at_i32s(4)};
  td_tensor l3 = at_run1(lnode("TensorListResize", TD_DT_INT64), r, 2);
  assert_int_equal(length(&l3), 4);
  td_tensor r2[2] = {td_tensor_ref(&l3), at_i32s(1)};
  td_tensor l4 = at_run1(lnode("TensorListResize", TD_DT_INT64), r2, 2);
  td_tensor s = stack(&l4, TD_DT_INT64, -1, NULL);
  at_expect(&s, TD_DT_INT64, 2, A_DIMS(1, 2), A_I64(1, 2));
  td_tensor r3[2] = {td_tensor_ref(&l3), at_i32s(-1)};
  at_expect_error(lnode("TensorListResize", TD_DT_INT64), r3, 2, 1, TD_INVALID_ARGUMENT,
                  "TensorListSlice expects size to be non-negative. Got: -1");
  /* pop of an uninitialized tail with a known shape gives zeros */
  td_tensor q3[2] = {td_tensor_ref(&l3), shape_t(1, A_DIMS(3))};
  assert_int_equal(at_run(lnode("TensorListPopBack", TD_DT_INT64), q3, 2, out, 2, &st), TD_OK);
  at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(3), A_I64(0, 0, 0));
  td_tensor_release(&out[0]);
  /* element_shape: -1 scalar for unknown rank, else dims */
  td_tensor e_in[1] = {td_tensor_ref(&l)};
  td_tensor es = at_run1(lnode("TensorListElementShape", TD_DT_INT64), e_in, 1);
  at_expect(&es, TD_DT_INT32, 1, A_DIMS(1), A_I32(-1));
  td_tensor u = reserve(TD_DT_FLOAT, -1, NULL, 1);
  td_tensor e2[1] = {td_tensor_ref(&u)};
  Tensorflow__NodeDef *nd = td_test_node_new("TensorListElementShape");
  td_test_attr_type(nd, "shape_type", TD_DT_INT64);
  es = at_run1(nd, e2, 1);
  at_expect(&es, TD_DT_INT64, 0, NULL, A_I64(-1));
  td_tensor_release(&u);
  td_tensor_release(&l);
  td_tensor_release(&l1);
  td_tensor_release(&l2);
  td_tensor_release(&l3);
  td_tensor_release(&l4);
}

static void test_bad_handles(void **state) {
  (void)state;
  td_tensor in[1] = {at_vec_i32(1, A_I32(1))};
  at_expect_error(lnode("TensorListLength", TD_DT_FLOAT), in, 1, 1, TD_INVALID_ARGUMENT,
                  "Input list must be a scalar saw: [1]");
  td_tensor v;
  td_shape scalar = td_shape_scalar();
  assert_int_equal(td_tensor_alloc(&v, TD_DT_VARIANT, &scalar, NULL), TD_OK);
  td_tensor in2[1] = {v};
  at_expect_error(lnode("TensorListLength", TD_DT_FLOAT), in2, 1, 1, TD_INVALID_ARGUMENT, "Input handle is not a list");
  td_tensor in3[2] = {shape_t(1, A_DIMS(2)), at_i32s(-2)};
  at_expect_error(lnode("TensorListReserve", TD_DT_FLOAT), in3, 2, 1, TD_INVALID_ARGUMENT,
                  "The num_elements to reserve must be a non negative number, but got -2");
  td_tensor in4[2] = {at_i32s(3), at_i32s(2)};
  at_expect_error(lnode("TensorListReserve", TD_DT_FLOAT), in4, 2, 1, TD_INVALID_ARGUMENT,
                  "The only valid scalar shape tensor is the fully unknown shape specified as -1.");
  td_tensor in5[2] = {at_tensor(TD_DT_FLOAT, 1, A_DIMS(1), A_F32(2)), at_i32s(2)};
  at_expect_error(lnode("TensorListReserve", TD_DT_FLOAT), in5, 2, 1, TD_INVALID_ARGUMENT,
                  "Expected an int32 or int64 shape tensor; found float");
  /* td_tensor_copy of a list is a new reference to the same immutable list */
  td_tensor l = reserve(TD_DT_FLOAT, 0, NULL, 2), cp;
  assert_int_equal(td_tensor_copy(&cp, &l, NULL), TD_OK);
  td_tensor_release(&l);
  assert_int_equal(length(&cp), 2);
  td_tensor_release(&cp);
}

/* ---- a whole graph: lists flow between steps in one run (copy-on-write vs. in place) ---- */

static Tensorflow__NodeDef *gnode(const char *op, const char *name, int nin, const char *const *inputs) {
  Tensorflow__NodeDef *nd = lnode(op, TD_DT_FLOAT);
  free(nd->name);
  nd->name = strdup(name);
  nd->n_input = (size_t)nin;
  nd->input = calloc((size_t)nin + 1, sizeof *nd->input);
  for (int i = 0; i < nin; i++) nd->input[i] = strdup(inputs[i]);
  return nd;
}

static Tensorflow__NodeDef *gconst(const char *name, td_tensor t) {
  Tensorflow__NodeDef *nd = gnode("Const", name, 0, NULL);
  td_test_attr_type(nd, "dtype", t.dtype);
  td_test_attr_tensor(nd, "value", &t);
  td_tensor_release(&t);
  return nd;
}

/* A callable over the graph of nodes[0..n) (borrowed: the caller frees them after the session). */
static td_callable *graph_callable(Tensorflow__NodeDef **nodes, int n, const char *const *feeds, int nfeeds,
                                   const char *const *fetches, int nfetches, td_session **sess) {
  Tensorflow__GraphDef gd;
  tensorflow__graph_def__init(&gd);
  gd.n_node = (size_t)n;
  gd.node = nodes;
  td_graph *g;
  td_status st;
  assert_int_equal(td_graph_import(&gd, &g, &st), TD_OK);
  assert_int_equal(td_session_new(g, NULL, sess, &st), TD_OK);
  td_callable *c;
  assert_int_equal(td_session_make_callable(*sess, feeds, nfeeds, fetches, nfetches, NULL, 0, &c, &st), TD_OK);
  return c;
}

static void test_graph_value_semantics(void **state) {
  (void)state;
  /* l1 = set(l0, 0, a); l2 = set(l1, 1, b); l3 = set(l2, 0, b); l4 = push(l3, a): l1 and l2 are
   * each read by a later write and by a stack, so whichever runs first must not change them;
   * l3 -> l4 is a last use (in place). */
  Tensorflow__NodeDef *nodes[16];
  int n = 0;
  nodes[n++] = gconst("es", shape_t(1, A_DIMS(2)));
  nodes[n++] = gconst("unknown", shape_t(-1, NULL));
  nodes[n++] = gconst("three", at_i32s(3));
  nodes[n++] = gconst("i0", at_i32s(0));
  nodes[n++] = gconst("i1", at_i32s(1));
  nodes[n] = gnode("Placeholder", "a", 0, NULL);
  td_test_attr_type(nodes[n++], "dtype", TD_DT_FLOAT);
  nodes[n] = gnode("Placeholder", "b", 0, NULL);
  td_test_attr_type(nodes[n++], "dtype", TD_DT_FLOAT);
  nodes[n++] = gnode("TensorListReserve", "l0", 2, (const char *[]){"es", "three"});
  nodes[n++] = gnode("TensorListSetItem", "l1", 3, (const char *[]){"l0", "i0", "a"});
  nodes[n++] = gnode("TensorListSetItem", "l2", 3, (const char *[]){"l1", "i1", "b"});
  nodes[n++] = gnode("TensorListSetItem", "l3", 3, (const char *[]){"l2", "i0", "b"});
  nodes[n++] = gnode("TensorListPushBack", "l4", 2, (const char *[]){"l3", "a"});
  nodes[n++] = gnode("TensorListStack", "s1", 2, (const char *[]){"l1", "unknown"});
  nodes[n++] = gnode("TensorListStack", "s2", 2, (const char *[]){"l2", "unknown"});
  nodes[n++] = gnode("TensorListStack", "s4", 2, (const char *[]){"l4", "unknown"});
  const char *feeds[] = {"a", "b"}, *fetches[] = {"s1", "s2", "s4"};
  td_session *sess;
  td_callable *c = graph_callable(nodes, n, feeds, 2, fetches, 3, &sess);
  td_status st;
  for (int run = 0; run < 3; run++) { /* the folded l0 constant is shared by every run */
    td_tensor in[2] = {at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(1, 2)), at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(3, 4))};
    td_tensor out[3];
    assert_int_equal(td_callable_run(c, in, out, &st), TD_OK);
    at_expect(&out[0], TD_DT_FLOAT, 2, A_DIMS(3, 2), A_F32(1, 2, 0, 0, 0, 0));
    at_expect(&out[1], TD_DT_FLOAT, 2, A_DIMS(3, 2), A_F32(1, 2, 3, 4, 0, 0));
    at_expect(&out[2], TD_DT_FLOAT, 2, A_DIMS(4, 2), A_F32(3, 4, 3, 4, 0, 0, 1, 2));
    td_tensor_release(&in[0]);
    td_tensor_release(&in[1]);
  }
  td_callable_free(c);
  td_session_free(sess);
  for (int i = 0; i < n; i++) td_test_node_free(nodes[i]);
}

/* Stack of items lying back to back in one buffer (here TensorListFromTensor's views of the fed
 * x) is a view of that buffer, not a copy; a later SetItem on the list leaves it unchanged, and
 * the list it wrote stacks with the new row. */
static void test_stack_view_of_contiguous_items(void **state) {
  (void)state;
  Tensorflow__NodeDef *nodes[9];
  int n = 0;
  nodes[n++] = gconst("es", shape_t(1, A_DIMS(2)));
  nodes[n++] = gconst("unknown", shape_t(-1, NULL));
  nodes[n++] = gconst("i0", at_i32s(0));
  nodes[n] = gnode("Placeholder", "x", 0, NULL);
  td_test_attr_type(nodes[n++], "dtype", TD_DT_FLOAT);
  nodes[n] = gnode("Placeholder", "b", 0, NULL);
  td_test_attr_type(nodes[n++], "dtype", TD_DT_FLOAT);
  nodes[n++] = gnode("TensorListFromTensor", "l", 2, (const char *[]){"x", "es"});
  nodes[n++] = gnode("TensorListSetItem", "l2", 3, (const char *[]){"l", "i0", "b"});
  nodes[n++] = gnode("TensorListStack", "s1", 2, (const char *[]){"l", "unknown"});
  nodes[n++] = gnode("TensorListStack", "s2", 2, (const char *[]){"l2", "unknown"});
  const char *feeds[] = {"x", "b"}, *fetches[] = {"s1", "s2"};
  td_session *sess;
  td_callable *c = graph_callable(nodes, n, feeds, 2, fetches, 2, &sess);
  td_status st;
  td_tensor in[2] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(3, 2), A_F32(1, 2, 3, 4, 5, 6)),
                     at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(7, 8))};
  td_tensor out[2];
  assert_int_equal(td_callable_run(c, in, out, &st), TD_OK);
  assert_ptr_equal(out[0].data, in[0].data); /* a view of x: nothing copied */
  at_expect(&out[0], TD_DT_FLOAT, 2, A_DIMS(3, 2), A_F32(1, 2, 3, 4, 5, 6));
  at_expect(&out[1], TD_DT_FLOAT, 2, A_DIMS(3, 2), A_F32(7, 8, 3, 4, 5, 6));
  td_tensor_release(&in[0]);
  td_tensor_release(&in[1]);
  td_callable_free(c);
  td_session_free(sess);
  for (int i = 0; i < n; i++) td_test_node_free(nodes[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reserve_set_stack),     cmocka_unit_test(test_stack_shapes),
      cmocka_unit_test(test_from_tensor_get_item),  cmocka_unit_test(test_gather_scatter),
      cmocka_unit_test(test_split_concat),          cmocka_unit_test(test_push_pop_resize_shape),
      cmocka_unit_test(test_bad_handles),           cmocka_unit_test(test_graph_value_semantics),
      cmocka_unit_test(test_stack_view_of_contiguous_items),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
