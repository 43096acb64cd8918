/* test_resource_ops.c — ResourceGather / ResourceGatherNd / DisableCopyOnRead on a real resource
 * variable: a hand-built GraphDef (VarHandleOp, Const, AssignVariableOp, the gather) is
 * imported into a session, the assign runs as a target, then gathers run with fed indices.
 * Expected values are hand-derived from the variable's iota contents. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/test_array_util.h"
#include "util/mem.h"

static Tensorflow__NodeDef *mk(const char *op, const char *name, int nin, const char *const *inputs) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  free(nd->name);
  nd->name = td_xstrdup(name);
  nd->n_input = (size_t)nin;
  nd->input = td_xcalloc((size_t)nin + 1, sizeof *nd->input);
  for (int i = 0; i < nin; i++) nd->input[i] = td_xstrdup(inputs[i]);
  return nd;
}

typedef struct fixture {
  Tensorflow__GraphDef gd;
  Tensorflow__NodeDef *nodes[8];
  td_session *s;
} fixture;

/* A session with float variable "v" = iota of shape [rows, cols] and, per gather op, a node
 * "g" = op(v, idx:int<ti>) and "d" = DisableCopyOnRead(v). */
static void setup(fixture *f, const char *op, td_dtype ti, int rank, const int64_t *dims, int64_t batch_dims) {
  memset(f, 0, sizeof *f);
  int n = 0;
  f->nodes[n] = mk("VarHandleOp", "v", 0, NULL);
  td_test_attr_type(f->nodes[n++], "dtype", TD_DT_FLOAT);
  td_tensor init = td_test_tensor(TD_DT_FLOAT, rank, dims, NULL);
  for (int64_t i = 0; i < td_tensor_num_elements(&init); i++) td_f32(&init)[i] = (float)i;
  f->nodes[n] = mk("Const", "init", 0, NULL);
  td_test_attr_type(f->nodes[n], "dtype", TD_DT_FLOAT);
  td_test_attr_tensor(f->nodes[n++], "value", &init);
  td_tensor_release(&init);
  f->nodes[n] = mk("AssignVariableOp", "assign", 2, (const char *[]){"v", "init"});
  td_test_attr_type(f->nodes[n++], "dtype", TD_DT_FLOAT);
  f->nodes[n] = mk("Placeholder", "idx", 0, NULL);
  td_test_attr_type(f->nodes[n++], "dtype", ti);
  f->nodes[n] = mk(op, "g", 2, (const char *[]){"v", "idx"});
  td_test_attr_type(f->nodes[n], "dtype", TD_DT_FLOAT);
  td_test_attr_type(f->nodes[n], "Tindices", ti);
  if (batch_dims) td_test_attr_int(f->nodes[n], "batch_dims", batch_dims);
  n++;
  f->nodes[n++] = mk("DisableCopyOnRead", "d", 1, (const char *[]){"v"});
  tensorflow__graph_def__init(&f->gd);
  f->gd.n_node = (size_t)n;
  f->gd.node = f->nodes;
  td_graph *g;
  td_status st;
  assert_int_equal(td_graph_import(&f->gd, &g, &st), TD_OK);
  assert_int_equal(td_session_new(g, NULL, &f->s, &st), TD_OK);
  const char *targets[] = {"assign", "d"};
  assert_int_equal(td_session_run(f->s, NULL, NULL, 0, NULL, NULL, 0, targets, 2, &st), TD_OK);
}

static void teardown(fixture *f) {
  td_session_free(f->s);
  for (size_t i = 0; i < f->gd.n_node; i++) td_test_node_free(f->nodes[i]);
}

static td_code gather(fixture *f, td_tensor idx, td_tensor *out, td_status *st) {
  const char *feeds[] = {"idx"}, *fetches[] = {"g"};
  td_code rc = td_session_run(f->s, feeds, &idx, 1, fetches, out, 1, NULL, 0, st);
  td_tensor_release(&idx);
  return rc;
}

static void test_resource_gather(void **state) {
  (void)state;
  fixture f;
  td_tensor out;
  td_status st;
  setup(&f, "ResourceGather", TD_DT_INT32, 2, A_DIMS(5, 3), 0);
  /* [2,2] indices into a [5,3] table: output [2,2,3] */
  assert_int_equal(gather(&f, at_tensor(TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(4, 0, 1, 4)), &out, &st), TD_OK);
  at_expect(&out, TD_DT_FLOAT, 3, A_DIMS(2, 2, 3), A_F32(12, 13, 14, 0, 1, 2, 3, 4, 5, 12, 13, 14));
  /* scalar index: one row */
  assert_int_equal(gather(&f, at_i32s(2), &out, &st), TD_OK);
  at_expect(&out, TD_DT_FLOAT, 1, A_DIMS(3), A_F32(6, 7, 8));
  /* empty indices */
  assert_int_equal(gather(&f, at_tensor(TD_DT_INT32, 1, A_DIMS(0), NULL), &out, &st), TD_OK);
  at_expect(&out, TD_DT_FLOAT, 2, A_DIMS(0, 3), NULL);
  /* out of range: TF's text with the index coordinates */
  assert_int_equal(gather(&f, at_tensor(TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(0, 1, 5, 2)), &out, &st),
                   TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "indices[1,0] = 5 is not in [0, 5)"));
  assert_int_equal(gather(&f, at_vec_i32(1, A_I32(-1)), &out, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "indices[0] = -1 is not in [0, 5)"));
  teardown(&f);
  /* int64 indices, batch_dims = 1: each row of a [2,3] table indexes its own row */
  setup(&f, "ResourceGather", TD_DT_INT64, 2, A_DIMS(2, 3), 1);
  assert_int_equal(gather(&f, at_tensor(TD_DT_INT64, 2, A_DIMS(2, 2), A_I64(2, 0, 1, 1)), &out, &st), TD_OK);
  at_expect(&out, TD_DT_FLOAT, 2, A_DIMS(2, 2), A_F32(2, 0, 4, 4));
  teardown(&f);
}

static void test_resource_gather_nd(void **state) {
  (void)state;
  fixture f;
  td_tensor out;
  td_status st;
  setup(&f, "ResourceGatherNd", TD_DT_INT32, 3, A_DIMS(2, 3, 2), 0);
  /* full coordinates: scalars */
  assert_int_equal(gather(&f, at_tensor(TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(1, 2, 1, 0, 1, 0)), &out, &st), TD_OK);
  at_expect(&out, TD_DT_FLOAT, 1, A_DIMS(2), A_F32(11, 2));
  /* partial coordinates: rows */
  assert_int_equal(gather(&f, at_tensor(TD_DT_INT32, 2, A_DIMS(1, 2), A_I32(1, 1)), &out, &st), TD_OK);
  at_expect(&out, TD_DT_FLOAT, 2, A_DIMS(1, 2), A_F32(8, 9));
  assert_int_equal(gather(&f, at_tensor(TD_DT_INT32, 2, A_DIMS(1, 2), A_I32(2, 0)), &out, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "indices[0] = [2, 0] does not index into param shape [2,3,2]"));
  teardown(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_resource_gather),
      cmocka_unit_test(test_resource_gather_nd),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
