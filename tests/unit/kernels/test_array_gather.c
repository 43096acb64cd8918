/* test_array_gather.c — GatherV2 (random shapes/axes/batch_dims against a naive loop), Gather,
 * OneHot, Bucketize, Where, Unique, UniqueWithCounts: values, strings, empty inputs, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "kernels/test_array_util.h"

/* ---- GatherV2 ---- */

static Tensorflow__NodeDef *gather_node(td_dtype t, td_dtype ti, int64_t batch_dims) {
  Tensorflow__NodeDef *nd = td_test_node_new("GatherV2");
  td_test_attr_type(nd, "Tparams", t);
  td_test_attr_type(nd, "Tindices", ti);
  td_test_attr_type(nd, "Taxis", TD_DT_INT32);
  if (batch_dims) td_test_attr_int(nd, "batch_dims", batch_dims);
  return nd;
}

static void test_gather_v2_random(void **state) {
  for (int iter = 0; iter < 200; iter++) {
    int prank = (int)at_rand_range(1, 4);
    int64_t pd[4];
    for (int k = 0; k < prank; k++) pd[k] = at_rand_range(1, 4);
    int axis = (int)at_rand_range(0, prank - 1);
    int bd = (int)at_rand_range(0, axis);
    int extra = (int)at_rand_range(0, 2), irank = bd + extra;
    int64_t id[8];
    for (int k = 0; k < bd; k++) id[k] = pd[k];
    for (int k = bd; k < irank; k++) id[k] = at_rand_range(0, 3);
    td_tensor idx = at_tensor(TD_DT_INT64, irank, id, NULL);
    int64_t ni = td_tensor_num_elements(&idx);
    for (int64_t i = 0; i < ni; i++) td_i64(&idx)[i] = at_rand_range(0, pd[axis] - 1);
    td_tensor idx_ref = td_tensor_ref(&idx);
    td_tensor in[3] = {at_iota_i32(prank, pd), idx, at_i32s(at_rand() % 2 ? axis : axis - prank)};
    td_tensor out = at_run1(gather_node(TD_DT_INT32, TD_DT_INT64, bd), in, 3);
    int64_t od[8];
    int orank = 0;
    for (int k = 0; k < axis; k++) od[orank++] = pd[k];
    for (int k = bd; k < irank; k++) od[orank++] = id[k];
    for (int k = axis + 1; k < prank; k++) od[orank++] = pd[k];
    at_expect_shape(&out, orank, od);
    int64_t co[8] = {0}, n = td_tensor_num_elements(&out);
    for (int64_t i = 0; i < n; i++) {
      int64_t ic[8], pc[4], f = 0;
      for (int k = 0; k < bd; k++) ic[k] = co[k];
      for (int k = bd; k < irank; k++) ic[k] = co[axis + k - bd];
      for (int k = 0; k < irank; k++) f = f * id[k] + ic[k];
      for (int k = 0; k < axis; k++) pc[k] = co[k];
      pc[axis] = td_i64(&idx_ref)[f];
      for (int k = axis + 1; k < prank; k++) pc[k] = co[axis + (irank - bd) + (k - axis - 1)];
      int64_t pf = 0;
      for (int k = 0; k < prank; k++) pf = pf * pd[k] + pc[k];
      if (td_i32(&out)[i] != pf) {
        fprintf(stderr, "iter %d elem %lld got %d want %lld\n", iter, (long long)i, td_i32(&out)[i], (long long)pf);
        fail();
      }
      for (int k = orank - 1; k >= 0; k--) {
        if (++co[k] < od[k]) break;
        co[k] = 0;
      }
    }
    td_tensor_release(&out);
    td_tensor_release(&idx_ref);
  }
}

static void test_gather_v2_cases(void **state) {
  /* embedding-style: rows of floats, int32 indices [2,2] */
  td_tensor a[3] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(3, 2), A_F32(0, 1, 10, 11, 20, 21)),
                    at_tensor(TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(2, 0, 1, 1)), at_i32s(0)};
  td_tensor out = at_run1(gather_node(TD_DT_FLOAT, TD_DT_INT32, 0), a, 3);
  at_expect(&out, TD_DT_FLOAT, 3, A_DIMS(2, 2, 2), A_F32(20, 21, 0, 1, 10, 11, 10, 11));
  /* strings, scalar index */
  td_tensor b[3] = {at_iota_str(1, A_DIMS(4)), at_i32s(3), at_i32s(0)};
  out = at_run1(gather_node(TD_DT_STRING, TD_DT_INT32, 0), b, 3);
  at_expect(&out, TD_DT_STRING, 0, NULL, A_STR("s3"));
  /* empty indices */
  td_tensor c[3] = {at_iota_i32(2, A_DIMS(3, 2)), at_tensor(TD_DT_INT32, 1, A_DIMS(0), NULL), at_i32s(1)};
  out = at_run1(gather_node(TD_DT_INT32, TD_DT_INT32, 0), c, 3);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(3, 0), NULL);
  /* old Gather */
  td_tensor d[2] = {at_iota_i32(2, A_DIMS(3, 2)), at_vec_i32(2, A_I32(1, 1))};
  Tensorflow__NodeDef *nd = td_test_node_new("Gather");
  td_test_attr_type(nd, "Tparams", TD_DT_INT32);
  td_test_attr_type(nd, "Tindices", TD_DT_INT32);
  out = at_run1(nd, d, 2);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(2, 3, 2, 3));
  /* errors */
  td_tensor e[3] = {at_iota_i32(1, A_DIMS(3)), at_tensor(TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(0, 1, 3, 0)), at_i32s(0)};
  at_expect_error(gather_node(TD_DT_INT32, TD_DT_INT32, 0), e, 3, 1, TD_INVALID_ARGUMENT,
                  "indices[1,0] = 3 is not in [0, 3)");
  td_tensor f[3] = {at_iota_i32(1, A_DIMS(3)), at_vec_i32(1, A_I32(-1)), at_i32s(0)};
  at_expect_error(gather_node(TD_DT_INT32, TD_DT_INT32, 0), f, 3, 1, TD_INVALID_ARGUMENT, "indices[0] = -1 is not in [0, 3)");
  td_tensor g[3] = {at_iota_i32(1, A_DIMS(3)), at_vec_i32(1, A_I32(0)), at_i32s(1)};
  at_expect_error(gather_node(TD_DT_INT32, TD_DT_INT32, 0), g, 3, 1, TD_INVALID_ARGUMENT,
                  "Shape must be at least rank 2 but is rank 1");
  td_tensor h[3] = {at_iota_i32(2, A_DIMS(2, 3)), at_tensor(TD_DT_INT32, 2, A_DIMS(3, 1), A_I32(0, 0, 0)), at_i32s(1)};
  at_expect_error(gather_node(TD_DT_INT32, TD_DT_INT32, 1), h, 3, 1, TD_INVALID_ARGUMENT,
                  "params.shape[0]: 2 should be equal to indices.shape[0]: 3");
}

/* ---- OneHot ---- */

static void test_one_hot(void **state) {
  td_tensor a[4] = {at_vec_i64(3, A_I64(0, 2, -1)), at_i32s(3), at_f32s(1.0f), at_f32s(0.0f)};
  Tensorflow__NodeDef *nd = at_node("OneHot", TD_DT_FLOAT);
  td_tensor o = at_run1(nd, a, 4);
  at_expect(&o, TD_DT_FLOAT, 2, A_DIMS(3, 3), A_F32(1, 0, 0, 0, 0, 1, 0, 0, 0));
  td_tensor b[4] = {at_tensor(TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(0, 1, 1, 5)), at_i32s(2), at_i32s(7), at_i32s(-1)};
  nd = at_node("OneHot", TD_DT_INT32);
  td_test_attr_type(nd, "TI", TD_DT_INT32);
  td_test_attr_int(nd, "axis", 1);
  o = at_run1(nd, b, 4);
  /* output [2, depth=2, 2]: out[p, d, s] = idx[p, s] == d */
  at_expect(&o, TD_DT_INT32, 3, A_DIMS(2, 2, 2), A_I32(7, -1, -1, 7, -1, -1, 7, -1));
  td_tensor c[4] = {at_tensor(TD_DT_UINT8, 1, A_DIMS(2), A_U8(1, 0)), at_i32s(2),
                    at_tensor(TD_DT_STRING, 0, NULL, A_STR("on")), at_tensor(TD_DT_STRING, 0, NULL, A_STR("off"))};
  nd = at_node("OneHot", TD_DT_STRING);
  td_test_attr_type(nd, "TI", TD_DT_UINT8);
  o = at_run1(nd, c, 4);
  at_expect(&o, TD_DT_STRING, 2, A_DIMS(2, 2), A_STR("off", "on", "on", "off"));
  td_tensor d[4] = {at_vec_i64(1, A_I64(0)), at_i32s(-1), at_f32s(1.0f), at_f32s(0.0f)};
  at_expect_error(at_node("OneHot", TD_DT_FLOAT), d, 4, 1, TD_INVALID_ARGUMENT, "depth must be non-negative, got: -1");
  td_tensor e[4] = {at_vec_i64(1, A_I64(0)), at_i32s(2), at_f32s(1.0f), at_f32s(0.0f)};
  nd = at_node("OneHot", TD_DT_FLOAT);
  td_test_attr_int(nd, "axis", 5);
  at_expect_error(nd, e, 4, 1, TD_INVALID_ARGUMENT, "Expected axis to be -1 or between [0, 2).  But received: 5");
}

/* ---- Bucketize ---- */

static void attr_floats(Tensorflow__NodeDef *nd, const char *name, const float *v, size_t n) {
  td_test_attr_ints(nd, name, NULL, 0);
  Tensorflow__AttrValue__ListValue *l = nd->attr[nd->n_attr - 1]->value->list;
  free(l->i);
  l->i = NULL;
  l->n_i = 0;
  l->f = malloc(sizeof *l->f * (n ? n : 1));
  memcpy(l->f, v, sizeof *v * n);
  l->n_f = n;
}

static void test_bucketize(void **state) {
  td_tensor a[1] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(2, 3), A_F32(-5, 0, 2.5f, 10, 100, 4))};
  Tensorflow__NodeDef *nd = at_node("Bucketize", TD_DT_FLOAT);
  attr_floats(nd, "boundaries", A_F32(0, 10, 100), 3);
  td_tensor out = at_run1(nd, a, 1);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(0, 1, 1, 2, 3, 1));
  td_tensor b[1] = {at_vec_i64(4, A_I64(-1, 0, 1, 7))};
  nd = at_node("Bucketize", TD_DT_INT64);
  attr_floats(nd, "boundaries", A_F32(0.5f, 1), 2);
  out = at_run1(nd, b, 1);
  at_expect(&out, TD_DT_INT32, 1, A_DIMS(4), A_I32(0, 0, 2, 2));
  td_tensor c[1] = {at_tensor(TD_DT_DOUBLE, 1, A_DIMS(2), A_F64(0.1, 0.7))};
  nd = at_node("Bucketize", TD_DT_DOUBLE);
  out = at_run1(nd, c, 1);
  at_expect(&out, TD_DT_INT32, 1, A_DIMS(2), A_I32(0, 0));
  td_tensor d[1] = {at_vec_i32(1, A_I32(1))};
  nd = at_node("Bucketize", TD_DT_INT32);
  attr_floats(nd, "boundaries", A_F32(3, 1), 2);
  at_expect_error(nd, d, 1, 1, TD_INVALID_ARGUMENT, "Expected sorted boundaries");
}

/* ---- Where ---- */

static void test_where(void **state) {
  td_tensor a[1] = {at_tensor(TD_DT_BOOL, 2, A_DIMS(2, 3), A_U8(1, 0, 0, 0, 1, 1))};
  td_tensor out = at_run1(at_node("Where", TD_DT_BOOL), a, 1);
  at_expect(&out, TD_DT_INT64, 2, A_DIMS(3, 2), A_I64(0, 0, 1, 1, 1, 2));
  td_tensor b[1] = {at_tensor(TD_DT_FLOAT, 1, A_DIMS(5), A_F32(0, -0.0f, 2, 0, (float)NAN))};
  out = at_run1(at_node("Where", TD_DT_FLOAT), b, 1);
  at_expect(&out, TD_DT_INT64, 2, A_DIMS(2, 1), A_I64(2, 4));
  td_tensor c[1] = {at_tensor(TD_DT_INT32, 0, NULL, A_I32(3))};
  out = at_run1(at_node("Where", TD_DT_INT32), c, 1);
  at_expect(&out, TD_DT_INT64, 2, A_DIMS(1, 0), NULL);
  td_tensor d[1] = {at_tensor(TD_DT_INT64, 3, A_DIMS(2, 0, 2), NULL)};
  out = at_run1(at_node("Where", TD_DT_INT64), d, 1);
  at_expect(&out, TD_DT_INT64, 2, A_DIMS(0, 3), NULL);
  td_tensor e[1] = {at_tensor(TD_DT_DOUBLE, 3, A_DIMS(2, 1, 2), A_F64(0, 1e-300, 0, -2))};
  out = at_run1(at_node("Where", TD_DT_DOUBLE), e, 1);
  at_expect(&out, TD_DT_INT64, 2, A_DIMS(2, 3), A_I64(0, 0, 1, 1, 0, 1));
  td_tensor f[1] = {at_tensor(TD_DT_STRING, 1, A_DIMS(1), A_STR("a"))};
  at_expect_error(at_node("Where", TD_DT_STRING), f, 1, 1, TD_INVALID_ARGUMENT, "Where does not support dtype string");
}

/* ---- Unique ---- */

static void test_unique(void **state) {
  td_tensor a[1] = {at_vec_i32(9, A_I32(1, 1, 2, 4, 4, 4, 7, 8, 8))};
  td_tensor out[3];
  td_status st;
  assert_int_equal(at_run(at_node("Unique", TD_DT_INT32), a, 1, out, 2, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT32, 1, A_DIMS(5), A_I32(1, 2, 4, 7, 8));
  at_expect(&out[1], TD_DT_INT32, 1, A_DIMS(9), A_I32(0, 0, 1, 2, 2, 2, 3, 4, 4));
  td_tensor b[1] = {at_tensor(TD_DT_STRING, 1, A_DIMS(6), A_STR("b", "a", "b", "", "a", "ab"))};
  Tensorflow__NodeDef *nd = at_node("UniqueWithCounts", TD_DT_STRING);
  td_test_attr_type(nd, "out_idx", TD_DT_INT64);
  assert_int_equal(at_run(nd, b, 1, out, 3, &st), TD_OK);
  at_expect(&out[0], TD_DT_STRING, 1, A_DIMS(4), A_STR("b", "a", "", "ab"));
  at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(6), A_I64(0, 1, 0, 2, 1, 3));
  at_expect(&out[2], TD_DT_INT64, 1, A_DIMS(4), A_I64(2, 2, 1, 1));
  td_tensor c[1] = {at_tensor(TD_DT_FLOAT, 1, A_DIMS(5), A_F32(0.0f, -0.0f, (float)NAN, 1.5f, (float)NAN))};
  assert_int_equal(at_run(at_node("Unique", TD_DT_FLOAT), c, 1, out, 2, &st), TD_OK);
  assert_int_equal(out[0].shape.dim[0], 4); /* -0 == 0; every NaN is distinct */
  td_tensor_release(&out[0]);
  at_expect(&out[1], TD_DT_INT32, 1, A_DIMS(5), A_I32(0, 0, 1, 2, 3));
  td_tensor d[1] = {at_tensor(TD_DT_INT64, 1, A_DIMS(0), NULL)};
  assert_int_equal(at_run(at_node("Unique", TD_DT_INT64), d, 1, out, 2, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT64, 1, A_DIMS(0), NULL);
  at_expect(&out[1], TD_DT_INT32, 1, A_DIMS(0), NULL);
  /* many values: a reference check of first-occurrence order */
  int64_t n = 5000;
  td_tensor big = at_tensor(TD_DT_INT64, 1, &n, NULL);
  for (int64_t i = 0; i < n; i++) td_i64(&big)[i] = (int64_t)(at_rand() % 1000) * 1000003;
  td_tensor ref = td_tensor_ref(&big);
  td_tensor e[1] = {big};
  assert_int_equal(at_run(at_node("Unique", TD_DT_INT64), e, 1, out, 2, &st), TD_OK);
  for (int64_t i = 0; i < n; i++) {
    int32_t u = td_i32(&out[1])[i];
    assert_true(u >= 0 && u < out[0].shape.dim[0]);
    assert_int_equal(td_i64(&out[0])[u], td_i64(&ref)[i]);
  }
  for (int64_t u = 1; u < out[0].shape.dim[0]; u++) { /* y is in first-occurrence order */
    int64_t fu = 0, fp = 0;
    while (td_i64(&ref)[fu] != td_i64(&out[0])[u]) fu++;
    while (td_i64(&ref)[fp] != td_i64(&out[0])[u - 1]) fp++;
    assert_true(fp < fu);
  }
  td_tensor_release(&out[0]);
  td_tensor_release(&out[1]);
  td_tensor_release(&ref);
  td_tensor f[1] = {at_iota_i32(2, A_DIMS(2, 2))};
  at_expect_error(at_node("Unique", TD_DT_INT32), f, 1, 2, TD_INVALID_ARGUMENT, "unique expects a 1D vector");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gather_v2_random), cmocka_unit_test(test_gather_v2_cases), cmocka_unit_test(test_one_hot),
      cmocka_unit_test(test_bucketize),        cmocka_unit_test(test_where),           cmocka_unit_test(test_unique),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
