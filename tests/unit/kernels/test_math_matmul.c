/* test_math_matmul.c — MatMul and BatchMatMul{,V2,V3} against a naive triple loop: random
 * sizes including 0 and 1, all transpose / adjoint combinations, broadcast batch dims, the
 * fold-batches-into-rows path, each supported dtype, and TF's error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <omp.h>

#include "kernels/math_test_util.h"
#include "engine/kernels/nn.h" /* td_nn_set_dnnl_enabled */
#include "kernels/nn_test_util.h"

static const td_dtype kTypes[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_HALF, TD_DT_BFLOAT16,
                                  TD_DT_INT32, TD_DT_INT64, TD_DT_INT8};

static td_tensor random_for(td_dtype dt, int rank, const int64_t *dims) {
  return mt_is_float(dt) ? mt_random(dt, rank, dims, -1, 1, 0, 0)
                         : mt_random(dt, rank, dims, -10, 10, 1, 0);
}

/* element (r, c) of the matrix at batch offset `base` in t (row-major, cols columns) */
static double mat_at(const td_tensor *t, int64_t base, int64_t cols, int64_t r, int64_t c) {
  return td_tensor_get_double(t, base + r * cols + c);
}

/* Checks out[b] = op(x[bx]) @ op(y[by]) for every batch, given batch offset maps. */
static void check_product(const td_tensor *x, const td_tensor *y, const td_tensor *out, int ax,
                          int ay, const int64_t *bx, const int64_t *by, int64_t nb) {
  int rx = x->shape.rank, ry = y->shape.rank;
  int64_t xr = x->shape.dim[rx - 2], xc = x->shape.dim[rx - 1];
  int64_t yr = y->shape.dim[ry - 2], yc = y->shape.dim[ry - 1];
  int64_t m = ax ? xc : xr, k = ax ? xr : xc, n = ay ? yr : yc;
  td_dtype dt = x->dtype;
  for (int64_t b = 0; b < nb; b++)
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double acc = 0;
        for (int64_t p = 0; p < k; p++) {
          double av = ax ? mat_at(x, bx[b] * xr * xc, xc, p, i) : mat_at(x, bx[b] * xr * xc, xc, i, p);
          double bv = ay ? mat_at(y, by[b] * yr * yc, yc, j, p) : mat_at(y, by[b] * yr * yc, yc, p, j);
          acc += av * bv;
        }
        double got = td_tensor_get_double(out, (b * m + i) * n + j);
        if (mt_is_float(dt)) {
          if (!mt_close(dt, got, acc, mt_tol(dt) * (double)k * 2))
            fail_msg("%s [%lld,%lld,%lld]: got %.9g want %.9g", td_dtype_name(dt), (long long)b,
                     (long long)i, (long long)j, got, acc);
        } else if ((int64_t)got != mt_wrap(dt, (int64_t)acc)) {
          fail_msg("%s [%lld,%lld,%lld]: got %g want %lld", td_dtype_name(dt), (long long)b,
                   (long long)i, (long long)j, got, (long long)mt_wrap(dt, (int64_t)acc));
        }
      }
}

static void matmul_case(td_dtype dt, int64_t m, int64_t k, int64_t n, int ta, int tb) {
  int64_t da[2] = {ta ? k : m, ta ? m : k}, db[2] = {tb ? n : k, tb ? k : n};
  td_tensor in[2] = {random_for(dt, 2, da), random_for(dt, 2, db)}, out;
  Tensorflow__NodeDef *nd = td_test_node_new("MatMul");
  td_test_attr_type(nd, "T", dt);
  if (ta) td_test_attr_bool(nd, "transpose_a", 1);
  if (tb) td_test_attr_bool(nd, "transpose_b", 1);
  td_status st = {0};
  MT_ASSERT_OK(mt_run_nd(nd, in, 2, &out, 1, &st), &st);
  assert_int_equal(out.shape.rank, 2);
  assert_true(out.shape.dim[0] == m && out.shape.dim[1] == n);
  int64_t zero = 0;
  check_product(&in[0], &in[1], &out, ta, tb, &zero, &zero, 1);
  mt_release(in, 2);
  td_tensor_release(&out);
}

static void test_matmul(void **state) {
  (void)state;
  static const int64_t sizes[][3] = {{1, 1, 1}, {2, 3, 4}, {5, 1, 7}, {0, 3, 4},
                                     {3, 0, 4}, {3, 4, 0}, {17, 33, 9}, {64, 70, 65},
                                     {1, 37, 19}, {1, 64, 130}}; /* one row: the sgemv path */
  for (size_t t = 0; t < sizeof kTypes / sizeof kTypes[0]; t++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
      for (int tr = 0; tr < 4; tr++)
        matmul_case(kTypes[t], sizes[s][0], sizes[s][1], sizes[s][2], tr & 1, tr >> 1);
  td_status st = {0};
  td_tensor out;
  int64_t a[] = {2, 3}, b[] = {4, 5}, v[] = {3};
  td_tensor in[2] = {mt_tensor(TD_DT_FLOAT, 2, a), mt_tensor(TD_DT_FLOAT, 2, b)};
  mt_assert_fails(mt_run("MatMul", in, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Matrix size-incompatible: In[0]: [2,3], In[1]: [4,5]");
  td_tensor_release(&in[1]);
  in[1] = mt_tensor(TD_DT_FLOAT, 1, v);
  mt_assert_fails(mt_run("MatMul", in, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "In[1] is not a matrix. Instead it has shape [3]");
  mt_release(in, 2);
  td_tensor bv[2] = {mt_tensor(TD_DT_BOOL, 2, a), mt_tensor(TD_DT_BOOL, 2, a)};
  mt_assert_fails(mt_run("MatMul", bv, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT, "No OpKernel");
  mt_release(bv, 2);
}

typedef struct bmm_case {
  int rx;
  int64_t x[6];
  int ry;
  int64_t y[6];
  int ax, ay;
} bmm_case;

/* batch offsets by brute force: numpy broadcast of the batch dims */
static int64_t batch_maps(const td_shape *xs, const td_shape *ys, td_shape *ob, int64_t *bx,
                          int64_t *by) {
  td_shape xb = td_shape_make(xs->rank - 2, xs->dim), yb = td_shape_make(ys->rank - 2, ys->dim);
  ob->rank = xb.rank > yb.rank ? xb.rank : yb.rank;
  for (int i = 0; i < ob->rank; i++) {
    int ix = i - (ob->rank - xb.rank), iy = i - (ob->rank - yb.rank);
    int64_t dx = ix >= 0 ? xb.dim[ix] : 1, dy = iy >= 0 ? yb.dim[iy] : 1;
    ob->dim[i] = dx == 1 ? dy : dx;
  }
  int64_t nb = td_shape_num_elements(ob);
  for (int64_t b = 0; b < nb; b++) {
    bx[b] = mt_bcast_index(&xb, ob, b);
    by[b] = mt_bcast_index(&yb, ob, b);
  }
  return nb;
}

static void bmm_run(const char *op, td_dtype dt, const bmm_case *c) {
  td_tensor in[2] = {random_for(dt, c->rx, c->x), random_for(dt, c->ry, c->y)}, out;
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  if (!strcmp(op, "BatchMatMulV3")) {
    td_test_attr_type(nd, "Ta", dt);
    td_test_attr_type(nd, "Tb", dt);
    td_test_attr_type(nd, "Tout", dt);
  } else {
    td_test_attr_type(nd, "T", dt);
  }
  if (c->ax) td_test_attr_bool(nd, "adj_x", 1);
  if (c->ay) td_test_attr_bool(nd, "adj_y", 1);
  td_status st = {0};
  MT_ASSERT_OK(mt_run_nd(nd, in, 2, &out, 1, &st), &st);
  td_shape ob;
  int64_t bx[64], by[64];
  int64_t nb = batch_maps(&in[0].shape, &in[1].shape, &ob, bx, by);
  int64_t m = c->ax ? c->x[c->rx - 1] : c->x[c->rx - 2], n = c->ay ? c->y[c->ry - 2] : c->y[c->ry - 1];
  ob.dim[ob.rank++] = m;
  ob.dim[ob.rank++] = n;
  assert_true(td_shape_equal(&out.shape, &ob));
  check_product(&in[0], &in[1], &out, c->ax, c->ay, bx, by, nb);
  mt_release(in, 2);
  td_tensor_release(&out);
}

static void test_batch_matmul(void **state) {
  (void)state;
  static const bmm_case cases[] = {
      {3, {2, 3, 4}, 3, {2, 4, 5}, 0, 0},       {3, {2, 4, 3}, 3, {2, 5, 4}, 1, 1},
      {4, {2, 3, 4, 5}, 2, {5, 6}, 0, 0},       {4, {2, 3, 4, 5}, 2, {6, 5}, 0, 1},
      {4, {1, 3, 4, 5}, 4, {2, 1, 5, 6}, 0, 0}, {4, {1, 3, 5, 4}, 3, {3, 5, 2}, 1, 0},
      {2, {3, 4}, 3, {5, 4, 2}, 0, 0},          {3, {0, 3, 4}, 3, {1, 4, 5}, 0, 0},
      {3, {2, 3, 0}, 3, {2, 0, 5}, 0, 0},       {5, {2, 1, 2, 3, 4}, 4, {3, 1, 4, 2}, 0, 0},
  };
  for (size_t t = 0; t < sizeof kTypes / sizeof kTypes[0]; t++)
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      bmm_run("BatchMatMulV2", kTypes[t], &cases[i]);
      bmm_run("BatchMatMulV3", kTypes[t], &cases[i]);
      if (cases[i].rx == cases[i].ry && i < 2) bmm_run("BatchMatMul", kTypes[t], &cases[i]);
    }
  td_status st = {0};
  td_tensor out;
  int64_t a[] = {2, 3, 4}, b[] = {3, 4, 5}, c[] = {3, 5}, v[] = {4};
  td_tensor in[2] = {mt_tensor(TD_DT_FLOAT, 3, a), mt_tensor(TD_DT_FLOAT, 3, b)};
  mt_assert_fails(mt_run("BatchMatMulV2", in, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "In[0] and In[1] must have compatible batch dimensions: [2,3,4] vs. [3,4,5]");
  td_tensor_release(&in[1]);
  in[1] = mt_tensor(TD_DT_FLOAT, 2, c);
  mt_assert_fails(mt_run("BatchMatMulV2", in, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Matrix size-incompatible: In[0]: [2,3,4], In[1]: [3,5]");
  mt_assert_fails(mt_run("BatchMatMul", in, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "In[0] and In[1] has different ndims: [2,3,4] vs. [3,5]");
  td_tensor_release(&in[1]);
  in[1] = mt_tensor(TD_DT_FLOAT, 1, v);
  mt_assert_fails(mt_run("BatchMatMulV2", in, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "In[1] ndims must be >= 2: 1");
  mt_release(in, 2);
}

/* Fused epilogue (td_k_fusion): MatMul → BiasAdd → Relu / Relu6 as one step equals the chain
 * run unfused (fetching the MatMul output blocks the fusion), for transposes and k = 0. */
static void check_matmul_fused(int64_t m, int64_t k, int64_t n, int tb, const char *act,
                               int with_bias) {
  int64_t xd[2] = {m, k}, wd[2] = {tb ? n : k, tb ? k : n}, bd[1] = {n};
  td_tensor x = nn_random_tensor(2, xd), w = nn_random_tensor(2, wd), b = nn_random_tensor(1, bd);
  for (int64_t i = 0; i < td_tensor_num_elements(&x); i++) td_f32(&x)[i] *= 8; /* hit 6 */
  /* got[0] = unfused on OpenBLAS (the reference); then fused and unfused, oneDNN off and on
   * (constant weights take the oneDNN inner product when it is on) */
  td_tensor got[5];
  for (int r = 0; r < 5; r++) {
    td_nn_set_dnnl_enabled(r >= 3);
    Tensorflow__NodeDef *nd = nn_named("MatMul", "op");
    td_test_attr_type(nd, "T", TD_DT_FLOAT);
    td_test_attr_bool(nd, "transpose_b", tb);
    td_status st = {0};
    int blocked = r == 0 || r == 4;
    td_code code = nn_run_chain(nd, &x, &w, with_bias ? &b : NULL, act, blocked, &got[r], &st);
    if (code != TD_OK) fprintf(stderr, "unexpected failure: %s\n", st.msg);
    assert_int_equal(code, TD_OK);
    assert_true(td_shape_equal(&got[0].shape, &got[r].shape));
    assert_true(nn_close(td_f32(&got[r]), td_f32(&got[0]), td_tensor_num_elements(&got[0]), 1e-5f));
  }
  td_nn_set_dnnl_enabled(1);
  for (int i = 0; i < 5; i++) td_tensor_release(&got[i]);
  td_tensor_release(&x);
  td_tensor_release(&w);
  td_tensor_release(&b);
}

static void test_matmul_fused_epilogue(void **state) {
  (void)state;
  static const char *acts[] = {NULL, "Relu", "Relu6"};
  for (int a = 0; a < 3; a++)
    for (int bias = 0; bias < 2; bias++) {
      if (!acts[a] && !bias) continue;
      check_matmul_fused(5, 17, 9, 0, acts[a], bias);
      check_matmul_fused(1, 33, 12, 1, acts[a], bias);
      check_matmul_fused(3, 0, 4, 0, acts[a], bias);
      check_matmul_fused(40, 70, 33, 0, acts[a], bias);
    }
  /* wrong bias size fails like BiasAdd */
  int64_t xd[2] = {2, 3}, wd[2] = {3, 4}, bd[1] = {5};
  td_tensor x = nn_random_tensor(2, xd), w = nn_random_tensor(2, wd), b = nn_random_tensor(1, bd);
  td_tensor junk;
  Tensorflow__NodeDef *nd = nn_named("MatMul", "op");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_status st = {0};
  assert_int_equal(nn_run_chain(nd, &x, &w, &b, "Relu", 0, &junk, &st), TD_INVALID_ARGUMENT);
  td_tensor_release(&x);
  td_tensor_release(&w);
  td_tensor_release(&b);
}

/* With a team of two, a product under TD_BLAS_SERIAL_MACS runs oneDNN's inner product on the
 * calling thread (nn_dnnl.c) and a larger one on the team: both give the reference values, and
 * the thread's team size is the same afterwards. */
static void test_matmul_dnnl_team(void **state) {
  (void)state;
  int before = omp_get_max_threads();
  omp_set_num_threads(2);
  check_matmul_fused(1, 300, 200, 0, "Relu", 1);   /* 60k multiply-adds: serial */
  assert_int_equal(omp_get_max_threads(), 2);
  check_matmul_fused(128, 128, 128, 0, "Relu", 1); /* 2M: the team */
  assert_int_equal(omp_get_max_threads(), 2);
  omp_set_num_threads(before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matmul),
      cmocka_unit_test(test_matmul_dnnl_team),
      cmocka_unit_test(test_batch_matmul),
      cmocka_unit_test(test_matmul_fused_epilogue),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
