/* test_queue.c — FIFOQueueV2 and the V2 queue ops run op by op on one handle (each op a
 * one-node graph; the handle tensor carries the queue between them). Expectations are
 * hand-derived FIFO order; closed-queue errors are TF's texts and codes; where TF would block
 * (empty open queue, full queue) tensord answers FAILED_PRECONDITION and changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_array_util.h"

static const td_dtype kTypes[2] = {TD_DT_FLOAT, TD_DT_STRING};

/* Runs nd (no outputs) as a target on inputs (released; nd freed): td_test_run_op only fetches. */
static td_code run_target(Tensorflow__NodeDef *nd, td_tensor *ins, int nin, td_status *st) {
  Tensorflow__NodeDef *nodes[4];
  char names[3][8], feeds[3][8];
  char *inames[3], *fnames[3];
  for (int i = 0; i < nin; i++) {
    snprintf(names[i], sizeof names[i], "in%d", i);
    snprintf(feeds[i], sizeof feeds[i], "in%d:0", i);
    inames[i] = names[i];
    fnames[i] = feeds[i];
    nodes[i] = td_test_node_new("Placeholder");
    free(nodes[i]->name);
    nodes[i]->name = strdup(names[i]);
    td_test_attr_type(nodes[i], "dtype", ins[i].dtype);
  }
  nd->n_input = (size_t)nin;
  nd->input = inames;
  nodes[nin] = nd;
  Tensorflow__GraphDef gd;
  tensorflow__graph_def__init(&gd);
  gd.n_node = (size_t)nin + 1;
  gd.node = nodes;
  td_graph *g;
  td_session *s = NULL;
  td_status_clear(st);
  const char *target = nd->name;
  td_code rc = td_graph_import(&gd, &g, st);
  if (rc == TD_OK) rc = td_session_new(g, NULL, &s, st);
  if (rc == TD_OK) rc = td_session_run(s, (const char *const *)fnames, ins, nin, NULL, NULL, 0, &target, 1, st);
  td_session_free(s);
  nd->n_input = 0;
  nd->input = NULL;
  td_test_node_free(nd);
  for (int i = 0; i < nin; i++) {
    td_test_node_free(nodes[i]);
    td_tensor_release(&ins[i]);
  }
  return rc;
}

/* A queue of (float[2], string[]) when shaped, else of (float, string) with unknown shapes. */
static td_tensor new_queue(int shaped, int64_t capacity) {
  Tensorflow__NodeDef *nd = td_test_node_new("FIFOQueueV2");
  td_test_attr_types(nd, "component_types", kTypes, 2);
  if (shaped) td_test_attr_shapes(nd, "shapes", 2, (const int[]){1, 0}, (const int64_t *const[]){A_DIMS(2), NULL});
  if (capacity >= 0) td_test_attr_int(nd, "capacity", capacity);
  td_tensor out;
  td_status st;
  assert_int_equal(at_run(nd, NULL, 0, &out, 1, &st), TD_OK);
  assert_int_equal(out.dtype, TD_DT_RESOURCE);
  return out;
}

static td_code enqueue(const td_tensor *q, const char *op, td_tensor a, td_tensor b, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  td_test_attr_types(nd, "Tcomponents", kTypes, 2);
  td_tensor ins[3] = {td_tensor_ref(q), a, b};
  return run_target(nd, ins, 3, st);
}

static td_code dequeue(const td_tensor *q, const char *op, int n, td_tensor outs[2], td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  td_test_attr_types(nd, "component_types", kTypes, 2);
  int single = !strcmp(op, "QueueDequeueV2");
  td_tensor ins[2] = {td_tensor_ref(q), single ? (td_tensor){0} : at_i32s(n)};
  return at_run(nd, ins, single ? 1 : 2, outs, 2, st);
}

static int32_t size_of(const td_tensor *q) {
  td_tensor ins[1] = {td_tensor_ref(q)};
  td_tensor out = at_run1(td_test_node_new("QueueSizeV2"), ins, 1);
  int32_t n = td_i32(&out)[0];
  td_tensor_release(&out);
  return n;
}

static void close_queue(const td_tensor *q) {
  td_tensor ins[1] = {td_tensor_ref(q)};
  td_status st;
  assert_int_equal(run_target(td_test_node_new("QueueCloseV2"), ins, 1, &st), TD_OK);
}

static void test_fifo_order_and_close(void **state) {
  (void)state;
  td_tensor q = new_queue(0, -1), outs[2];
  td_status st;
  assert_int_equal(enqueue(&q, "QueueEnqueueV2", at_f32s(1.5f), at_tensor(TD_DT_STRING, 0, NULL, A_STR("h\xc3\xa9")), &st),
                   TD_OK);
  assert_int_equal(enqueue(&q, "QueueEnqueueManyV2", at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(2, 3)),
                           at_tensor(TD_DT_STRING, 1, A_DIMS(2), A_STR("b", "c")), &st),
                   TD_OK);
  assert_int_equal(size_of(&q), 3);
  assert_int_equal(dequeue(&q, "QueueDequeueV2", 0, outs, &st), TD_OK);
  at_expect(&outs[0], TD_DT_FLOAT, 0, NULL, A_F32(1.5f));
  at_expect(&outs[1], TD_DT_STRING, 0, NULL, A_STR("h\xc3\xa9"));
  assert_int_equal(dequeue(&q, "QueueDequeueV2", 0, outs, &st), TD_OK);
  at_expect(&outs[0], TD_DT_FLOAT, 0, NULL, A_F32(2));
  at_expect(&outs[1], TD_DT_STRING, 0, NULL, A_STR("b"));
  /* DequeueMany needs specified shapes. */
  assert_int_equal(dequeue(&q, "QueueDequeueManyV2", 1, outs, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "FIFOQueue's DequeueMany and DequeueUpTo require the components to have specified shapes."));
  /* Wrong dtype / component count. */
  assert_int_equal(enqueue(&q, "QueueEnqueueV2", at_i32s(1), at_tensor(TD_DT_STRING, 0, NULL, A_STR("x")), &st),
                   TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "Type mismatch in tuple component 0. Expected float, got int32"));
  assert_int_equal(enqueue(&q, "QueueEnqueueManyV2", at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(2, 3)),
                           at_tensor(TD_DT_STRING, 1, A_DIMS(1), A_STR("b")), &st),
                   TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "All input tensors must have the same size in the 0th dimension. Component 1 has 1, "
                                 "and should have 2"));
  close_queue(&q);
  assert_int_equal(enqueue(&q, "QueueEnqueueV2", at_f32s(9), at_tensor(TD_DT_STRING, 0, NULL, A_STR("z")), &st),
                   TD_CANCELLED);
  assert_non_null(strstr(st.msg, "is closed."));
  /* Elements left in a closed queue still dequeue; then OUT_OF_RANGE. */
  assert_int_equal(dequeue(&q, "QueueDequeueV2", 0, outs, &st), TD_OK);
  at_expect(&outs[0], TD_DT_FLOAT, 0, NULL, A_F32(3));
  at_expect(&outs[1], TD_DT_STRING, 0, NULL, A_STR("c"));
  assert_int_equal(dequeue(&q, "QueueDequeueV2", 0, outs, &st), TD_OUT_OF_RANGE);
  assert_non_null(strstr(st.msg, "' is closed and has insufficient elements (requested 1, current size 0)"));
  td_tensor ins[1] = {td_tensor_ref(&q)};
  td_tensor closed = at_run1(td_test_node_new("QueueIsClosedV2"), ins, 1);
  at_expect(&closed, TD_DT_BOOL, 0, NULL, A_U8(1));
  td_tensor_release(&q);
}

static void test_dequeue_many_up_to(void **state) {
  (void)state;
  td_tensor q = new_queue(1, -1), outs[2];
  td_status st;
  for (int i = 0; i < 3; i++) {
    char s[2] = {(char)('a' + i), 0};
    const char *sp = s;
    assert_int_equal(enqueue(&q, "QueueEnqueueV2", at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(i, 10 * i)),
                             at_tensor(TD_DT_STRING, 0, NULL, &sp), &st),
                     TD_OK);
  }
  /* Shapes are checked against the queue's. */
  assert_int_equal(enqueue(&q, "QueueEnqueueV2", at_f32s(1), at_tensor(TD_DT_STRING, 0, NULL, A_STR("x")), &st),
                   TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "Shape mismatch in tuple component 0. Expected [2], got []"));
  assert_int_equal(dequeue(&q, "QueueDequeueManyV2", 2, outs, &st), TD_OK);
  at_expect(&outs[0], TD_DT_FLOAT, 2, A_DIMS(2, 2), A_F32(0, 0, 1, 10));
  at_expect(&outs[1], TD_DT_STRING, 1, A_DIMS(2), A_STR("a", "b"));
  /* Too few elements in an open queue: TF blocks, tensord refuses and keeps the element. */
  assert_int_equal(dequeue(&q, "QueueDequeueManyV2", 2, outs, &st), TD_FAILED_PRECONDITION);
  assert_non_null(strstr(st.msg, "would block"));
  assert_int_equal(dequeue(&q, "QueueDequeueUpToV2", 2, outs, &st), TD_FAILED_PRECONDITION);
  assert_int_equal(size_of(&q), 1);
  assert_int_equal(dequeue(&q, "QueueDequeueManyV2", -1, outs, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "DequeueManyOp requested -1 < 0 elements"));
  close_queue(&q);
  /* Closed: DequeueMany fails without enough, DequeueUpTo returns what is left. */
  assert_int_equal(dequeue(&q, "QueueDequeueManyV2", 2, outs, &st), TD_OUT_OF_RANGE);
  assert_non_null(strstr(st.msg, "is closed and has insufficient elements (requested 2, current size 1)"));
  assert_int_equal(dequeue(&q, "QueueDequeueUpToV2", 2, outs, &st), TD_OK);
  at_expect(&outs[0], TD_DT_FLOAT, 2, A_DIMS(1, 2), A_F32(2, 20));
  at_expect(&outs[1], TD_DT_STRING, 1, A_DIMS(1), A_STR("c"));
  assert_int_equal(dequeue(&q, "QueueDequeueUpToV2", 2, outs, &st), TD_OUT_OF_RANGE);
  assert_non_null(strstr(st.msg, "(requested 2, current size 0)"));
  td_tensor_release(&q);
}

static void test_capacity_and_wraparound(void **state) {
  (void)state;
  td_tensor q = new_queue(0, 2), outs[2];
  td_status st;
  assert_int_equal(dequeue(&q, "QueueDequeueV2", 0, outs, &st), TD_FAILED_PRECONDITION);
  assert_non_null(strstr(st.msg, "is empty"));
  assert_int_equal(enqueue(&q, "QueueEnqueueManyV2", at_tensor(TD_DT_FLOAT, 1, A_DIMS(3), A_F32(1, 2, 3)),
                           at_tensor(TD_DT_STRING, 1, A_DIMS(3), A_STR("a", "b", "c")), &st),
                   TD_FAILED_PRECONDITION);
  assert_non_null(strstr(st.msg, "is full"));
  assert_int_equal(size_of(&q), 0);
  /* Many enqueue/dequeue rounds: the ring wraps and order holds. */
  for (int i = 0; i < 20; i++) {
    assert_int_equal(enqueue(&q, "QueueEnqueueV2", at_f32s((float)i), at_tensor(TD_DT_STRING, 0, NULL, A_STR("s")), &st),
                     TD_OK);
    if (i % 2 == 1) {
      assert_int_equal(enqueue(&q, "QueueEnqueueV2", at_f32s(1), at_tensor(TD_DT_STRING, 0, NULL, A_STR("s")), &st),
                       TD_FAILED_PRECONDITION);
      assert_int_equal(dequeue(&q, "QueueDequeueV2", 0, outs, &st), TD_OK);
      at_expect(&outs[0], TD_DT_FLOAT, 0, NULL, A_F32((float)(i - 1)));
      td_tensor_release(&outs[1]);
      assert_int_equal(dequeue(&q, "QueueDequeueV2", 0, outs, &st), TD_OK);
      at_expect(&outs[0], TD_DT_FLOAT, 0, NULL, A_F32((float)i));
      td_tensor_release(&outs[1]);
    }
  }
  /* Elements left in a queue are released with it (ASan checks). */
  assert_int_equal(enqueue(&q, "QueueEnqueueV2", at_f32s(7), at_tensor(TD_DT_STRING, 0, NULL, A_STR("left")), &st),
                   TD_OK);
  td_tensor_release(&q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fifo_order_and_close),
      cmocka_unit_test(test_dequeue_many_up_to),
      cmocka_unit_test(test_capacity_and_wraparound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
