/* test_array_slice.c — StridedSlice, Slice, Transpose, Tile, ReverseV2/Reverse, BroadcastTo,
 * Pad/PadV2/MirrorPad: randomized comparisons against naive per-coordinate references
 * (Python slice rules for StridedSlice), hand-checked cases (ellipsis, new axes, strings),
 * and TF's error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/test_array_util.h"

/* ---- naive references ---- */

/* Row-major flat index of coords in dims. */
static int64_t flat(int rank, const int64_t *dims, const int64_t *co) {
  int64_t f = 0;
  for (int k = 0; k < rank; k++) f = f * dims[k] + co[k];
  return f;
}
/* Advances co over dims; returns 0 when wrapped around. */
static int next_coord(int rank, const int64_t *dims, int64_t *co) {
  for (int k = rank - 1; k >= 0; k--) {
    if (++co[k] < dims[k]) return 1;
    co[k] = 0;
  }
  return 0;
}
static int64_t count(int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int k = 0; k < rank; k++) n *= dims[k];
  return n;
}

/* Python's slice(start, stop, step).indices(len) → index list; returns its length. */
static int64_t py_slice(int64_t len, int has_start, int64_t start, int has_stop, int64_t stop, int64_t step,
                        int64_t *idx) {
  int64_t lo = step < 0 ? -1 : 0, hi = step < 0 ? len - 1 : len;
  if (!has_start) start = step < 0 ? hi : lo;
  else {
    if (start < 0) start += len;
    start = start < lo ? lo : start > hi ? hi : start;
  }
  if (!has_stop) stop = step < 0 ? lo : hi;
  else {
    if (stop < 0) stop += len;
    stop = stop < lo ? lo : stop > hi ? hi : stop;
  }
  int64_t n = 0;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) idx[n++] = i;
  return n;
}

/* ---- StridedSlice ---- */

static Tensorflow__NodeDef *ss_node(int64_t bm, int64_t em, int64_t el, int64_t na, int64_t sh) {
  Tensorflow__NodeDef *nd = at_node("StridedSlice", TD_DT_INT32);
  td_test_attr_type(nd, "Index", TD_DT_INT32);
  if (bm) td_test_attr_int(nd, "begin_mask", bm);
  if (em) td_test_attr_int(nd, "end_mask", em);
  if (el) td_test_attr_int(nd, "ellipsis_mask", el);
  if (na) td_test_attr_int(nd, "new_axis_mask", na);
  if (sh) td_test_attr_int(nd, "shrink_axis_mask", sh);
  return nd;
}

static void test_strided_slice_random(void **state) {
  for (int iter = 0; iter < 400; iter++) {
    int rank = (int)at_rand_range(1, 3);
    int64_t dims[3];
    for (int k = 0; k < rank; k++) dims[k] = at_rand_range(0, 5);
    int32_t b[3], e[3], s[3];
    int64_t bm = 0, em = 0, sh = 0;
    int64_t idx[3][16], cnt[3];
    int64_t out_dims[3];
    int out_rank = 0;
    for (int k = 0; k < rank; k++) {
      static const int32_t strides[] = {-3, -2, -1, 1, 1, 2, 3};
      s[k] = strides[at_rand_range(0, 6)];
      b[k] = (int32_t)at_rand_range(-7, 7);
      e[k] = (int32_t)at_rand_range(-7, 7);
      if (at_rand() % 4 == 0) bm |= 1 << k;
      if (at_rand() % 4 == 0) em |= 1 << k;
      if (dims[k] > 0 && at_rand() % 5 == 0) { /* x[i]: an in-range index, stride 1 */
        sh |= 1 << k;
        s[k] = 1;
        b[k] = (int32_t)at_rand_range(-dims[k], dims[k] - 1);
        e[k] = b[k] + 1;
        bm &= ~(1 << k);
        idx[k][0] = b[k] < 0 ? b[k] + dims[k] : b[k];
        cnt[k] = 1;
        continue;
      }
      cnt[k] = py_slice(dims[k], !(bm & (1 << k)), b[k], !(em & (1 << k)), e[k], s[k], idx[k]);
      out_dims[out_rank++] = cnt[k];
    }
    td_tensor in[4] = {at_iota_i32(rank, dims), at_vec_i32(rank, b), at_vec_i32(rank, e), at_vec_i32(rank, s)};
    td_tensor out = at_run1(ss_node(bm, em, 0, 0, sh), in, 4);
    at_expect_shape(&out, out_rank, out_dims);
    int64_t co[3] = {0}, n = count(rank, cnt), src[3];
    for (int64_t i = 0; i < n; i++) {
      for (int k = 0; k < rank; k++) src[k] = idx[k][co[k]];
      if (td_i32(&out)[i] != flat(rank, dims, src)) {
        fprintf(stderr, "iter %d element %lld: got %d want %lld\n", iter, (long long)i, td_i32(&out)[i],
                (long long)flat(rank, dims, src));
        fail();
      }
      next_coord(rank, cnt, co);
    }
    td_tensor_release(&out);
  }
}

static void test_strided_slice_special(void **state) {
  /* x[..., 1] on [2,3,4] */
  td_tensor a[4] = {at_iota_i32(3, A_DIMS(2, 3, 4)), at_vec_i32(2, A_I32(0, 1)), at_vec_i32(2, A_I32(0, 2)),
                    at_vec_i32(2, A_I32(1, 1))};
  td_tensor out = at_run1(ss_node(0, 0, 1, 0, 2), a, 4);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(1, 5, 9, 13, 17, 21));
  /* x[:, newaxis, 1:3] → [2,1,2,4] */
  td_tensor b[4] = {at_iota_i32(3, A_DIMS(2, 3, 4)), at_vec_i32(3, A_I32(0, 0, 1)), at_vec_i32(3, A_I32(0, 0, 3)),
                    at_vec_i32(3, A_I32(1, 1, 1))};
  out = at_run1(ss_node(1, 1, 0, 2, 0), b, 4);
  at_expect(&out, TD_DT_INT32, 4, A_DIMS(2, 1, 2, 4),
            A_I32(4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23));
  /* x[newaxis, ..., newaxis] → [1,2,3,4,1], forwarded data */
  td_tensor c[4] = {at_iota_i32(3, A_DIMS(2, 3, 4)), at_vec_i32(3, A_I32(0, 0, 0)), at_vec_i32(3, A_I32(0, 0, 0)),
                    at_vec_i32(3, A_I32(1, 1, 1))};
  out = at_run1(ss_node(0, 0, 2, 5, 0), c, 4);
  at_expect_shape(&out, 5, A_DIMS(1, 2, 3, 4, 1));
  for (int i = 0; i < 24; i++) assert_int_equal(td_i32(&out)[i], i);
  td_tensor_release(&out);
  /* x[::-1, ..., ::-2] */
  td_tensor d[4] = {at_iota_i32(3, A_DIMS(2, 3, 4)), at_vec_i32(3, A_I32(0, 0, 0)), at_vec_i32(3, A_I32(0, 0, 0)),
                    at_vec_i32(3, A_I32(-1, 1, -2))};
  out = at_run1(ss_node(5, 5, 2, 0, 0), d, 4);
  at_expect(&out, TD_DT_INT32, 3, A_DIMS(2, 3, 2), A_I32(15, 13, 19, 17, 23, 21, 3, 1, 7, 5, 11, 9));
  /* strings: x[1:, -1] on [3,2] */
  td_tensor e[4] = {at_iota_str(2, A_DIMS(3, 2)), at_vec_i64(2, A_I64(1, -1)), at_vec_i64(2, A_I64(3, 0)),
                    at_vec_i64(2, A_I64(1, 1))};
  Tensorflow__NodeDef *nd = at_node("StridedSlice", TD_DT_STRING);
  td_test_attr_type(nd, "Index", TD_DT_INT64);
  td_test_attr_int(nd, "shrink_axis_mask", 2);
  out = at_run1(nd, e, 4);
  at_expect(&out, TD_DT_STRING, 1, A_DIMS(2), A_STR("s3", "s5"));
  /* scalar result x[1, 2] */
  td_tensor f[4] = {at_iota_i32(2, A_DIMS(2, 3)), at_vec_i32(2, A_I32(1, 2)), at_vec_i32(2, A_I32(2, 3)),
                    at_vec_i32(2, A_I32(1, 1))};
  out = at_run1(ss_node(0, 0, 0, 0, 3), f, 4);
  at_expect(&out, TD_DT_INT32, 0, NULL, A_I32(5));
}

static void test_strided_slice_errors(void **state) {
  td_tensor a[4] = {at_iota_i32(1, A_DIMS(4)), at_vec_i32(1, A_I32(0)), at_vec_i32(1, A_I32(2)),
                    at_vec_i32(1, A_I32(0))};
  at_expect_error(ss_node(0, 0, 0, 0, 0), a, 4, 1, TD_INVALID_ARGUMENT, "strides[0] must be non-zero");
  td_tensor b[4] = {at_iota_i32(1, A_DIMS(4)), at_vec_i32(1, A_I32(5)), at_vec_i32(1, A_I32(6)),
                    at_vec_i32(1, A_I32(1))};
  at_expect_error(ss_node(0, 0, 0, 0, 1), b, 4, 1, TD_INVALID_ARGUMENT, "slice index 5 of dimension 0 out of bounds.");
  td_tensor c[4] = {at_iota_i32(1, A_DIMS(4)), at_vec_i32(2, A_I32(0, 0)), at_vec_i32(2, A_I32(1, 1)),
                    at_vec_i32(2, A_I32(1, 1))};
  at_expect_error(ss_node(0, 0, 0, 0, 0), c, 4, 1, TD_INVALID_ARGUMENT,
                  "Index out of range using input dim 1; input has only 1 dims");
  td_tensor d[4] = {at_iota_i32(1, A_DIMS(4)), at_vec_i32(2, A_I32(0, 0)), at_vec_i32(2, A_I32(1, 1)),
                    at_vec_i32(2, A_I32(1, 1))};
  at_expect_error(ss_node(0, 0, 3, 0, 0), d, 4, 1, TD_INVALID_ARGUMENT, "Multiple ellipses in slice spec not allowed");
  td_tensor e[4] = {at_iota_i32(1, A_DIMS(4)), at_vec_i32(2, A_I32(0, 0)), at_vec_i32(1, A_I32(1)),
                    at_vec_i32(1, A_I32(1))};
  at_expect_error(ss_node(0, 0, 0, 0, 0), e, 4, 1, TD_INVALID_ARGUMENT,
                  "Expected begin, end, and strides to be 1D equal size tensors, but got shapes [2], [1], and [1] instead.");
}

/* ---- Slice ---- */

static void test_slice(void **state) {
  td_tensor a[3] = {at_iota_i32(2, A_DIMS(3, 4)), at_vec_i32(2, A_I32(1, 1)), at_vec_i32(2, A_I32(2, -1))};
  td_tensor out = at_run1(at_node("Slice", TD_DT_INT32), a, 3);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(5, 6, 7, 9, 10, 11));
  td_tensor b[3] = {at_iota_str(1, A_DIMS(5)), at_vec_i64(1, A_I64(3)), at_vec_i64(1, A_I64(2))};
  Tensorflow__NodeDef *nd = at_node("Slice", TD_DT_STRING);
  td_test_attr_type(nd, "Index", TD_DT_INT64);
  out = at_run1(nd, b, 3);
  at_expect(&out, TD_DT_STRING, 1, A_DIMS(2), A_STR("s3", "s4"));
  td_tensor c[3] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(0, 2), NULL), at_vec_i32(2, A_I32(0, 1)),
                    at_vec_i32(2, A_I32(-1, 1))};
  out = at_run1(at_node("Slice", TD_DT_FLOAT), c, 3);
  at_expect(&out, TD_DT_FLOAT, 2, A_DIMS(0, 1), NULL);
  td_tensor d[3] = {at_iota_i32(2, A_DIMS(3, 4)), at_vec_i32(2, A_I32(1, 1)), at_vec_i32(2, A_I32(3, 1))};
  at_expect_error(at_node("Slice", TD_DT_INT32), d, 3, 1, TD_INVALID_ARGUMENT, "Expected size[0] in [0, 2], but got 3");
  td_tensor e[3] = {at_iota_i32(2, A_DIMS(3, 4)), at_vec_i32(2, A_I32(-1, 1)), at_vec_i32(2, A_I32(1, 1))};
  at_expect_error(at_node("Slice", TD_DT_INT32), e, 3, 1, TD_INVALID_ARGUMENT, "Expected begin[0] in [0, 3], but got -1");
  td_tensor f[3] = {at_iota_i32(2, A_DIMS(3, 4)), at_vec_i32(1, A_I32(1)), at_vec_i32(1, A_I32(1))};
  at_expect_error(at_node("Slice", TD_DT_INT32), f, 3, 1, TD_INVALID_ARGUMENT,
                  "Expected begin and size arguments to be 1-D tensors of size 2");
}

/* ---- Transpose ---- */

static void check_transpose(td_dtype dt, int rank, const int64_t *dims, const int64_t *perm) {
  int64_t n = count(rank, dims);
  td_tensor x = dt == TD_DT_STRING ? at_iota_str(rank, dims) : at_tensor(dt, rank, dims, NULL);
  size_t es = td_dtype_size(dt);
  for (int64_t i = 0; dt != TD_DT_STRING && i < n; i++) /* distinct byte patterns per element */
    for (size_t b = 0; b < es; b++) ((uint8_t *)x.data)[i * (int64_t)es + b] = (uint8_t)(i * 7 + b * 13 + (i >> 8));
  td_tensor ref = td_tensor_ref(&x);
  int32_t p32[8];
  for (int k = 0; k < rank; k++) p32[k] = (int32_t)perm[k];
  td_tensor in[2] = {x, at_vec_i32(rank, p32)};
  td_tensor out = at_run1(at_node("Transpose", dt), in, 2);
  int64_t odims[8], co[8] = {0}, src[8];
  for (int k = 0; k < rank; k++) odims[k] = dims[perm[k]];
  at_expect_shape(&out, rank, odims);
  for (int64_t i = 0; i < n; i++) {
    for (int k = 0; k < rank; k++) src[perm[k]] = co[k];
    int64_t f = flat(rank, dims, src);
    if (dt == TD_DT_STRING) assert_true(at_str_is(&out, i, f));
    else assert_memory_equal((char *)out.data + i * (int64_t)es, (char *)ref.data + f * (int64_t)es, es);
    next_coord(rank, odims, co);
  }
  td_tensor_release(&out);
  td_tensor_release(&ref);
}

static void test_transpose(void **state) {
  check_transpose(TD_DT_INT32, 2, A_DIMS(2, 3), A_DIMS(1, 0));
  check_transpose(TD_DT_FLOAT, 2, A_DIMS(37, 45), A_DIMS(1, 0)); /* tiled path */
  check_transpose(TD_DT_DOUBLE, 3, A_DIMS(5, 40, 33), A_DIMS(0, 2, 1));
  check_transpose(TD_DT_INT8, 4, A_DIMS(2, 9, 10, 11), A_DIMS(0, 3, 1, 2)); /* NHWC → NCHW */
  check_transpose(TD_DT_HALF, 4, A_DIMS(2, 3, 9, 10), A_DIMS(0, 2, 3, 1));
  check_transpose(TD_DT_COMPLEX128, 3, A_DIMS(3, 4, 5), A_DIMS(2, 0, 1));
  check_transpose(TD_DT_STRING, 3, A_DIMS(2, 3, 4), A_DIMS(2, 1, 0));
  check_transpose(TD_DT_INT32, 3, A_DIMS(1, 5, 1), A_DIMS(2, 1, 0)); /* unit dims only: forwarded */
  check_transpose(TD_DT_INT32, 0, NULL, NULL);
  check_transpose(TD_DT_INT32, 2, A_DIMS(0, 3), A_DIMS(1, 0));
  for (int iter = 0; iter < 100; iter++) {
    int rank = (int)at_rand_range(1, 6);
    int64_t dims[6], perm[6];
    for (int k = 0; k < rank; k++) dims[k] = at_rand_range(1, 4), perm[k] = k;
    for (int k = rank - 1; k > 0; k--) {
      int j = (int)at_rand_range(0, k);
      int64_t t = perm[k];
      perm[k] = perm[j], perm[j] = t;
    }
    check_transpose(TD_DT_INT16, rank, dims, perm);
  }
  td_tensor a[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_vec_i32(2, A_I32(0, 0))};
  at_expect_error(at_node("Transpose", TD_DT_INT32), a, 2, 1, TD_INVALID_ARGUMENT, "1 is missing from {0,0}.");
  td_tensor b[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_vec_i32(2, A_I32(0, 2))};
  at_expect_error(at_node("Transpose", TD_DT_INT32), b, 2, 1, TD_INVALID_ARGUMENT, "2 is out of range [0 .. 2)");
  td_tensor c[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_vec_i32(1, A_I32(0))};
  at_expect_error(at_node("Transpose", TD_DT_INT32), c, 2, 1, TD_INVALID_ARGUMENT,
                  "transpose expects a vector of size 2. But input(1) is a vector of size 1");
}

/* ---- Tile / BroadcastTo / Reverse ---- */

static void test_tile(void **state) {
  td_tensor a[2] = {at_iota_i32(2, A_DIMS(2, 2)), at_vec_i32(2, A_I32(2, 3))};
  td_tensor out = at_run1(at_node("Tile", TD_DT_INT32), a, 2);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(4, 6),
            A_I32(0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3));
  td_tensor b[2] = {at_iota_str(1, A_DIMS(2)), at_vec_i64(1, A_I64(2))};
  Tensorflow__NodeDef *nd = at_node("Tile", TD_DT_STRING);
  td_test_attr_type(nd, "Tmultiples", TD_DT_INT64);
  out = at_run1(nd, b, 2);
  at_expect(&out, TD_DT_STRING, 1, A_DIMS(4), A_STR("s0", "s1", "s0", "s1"));
  for (int iter = 0; iter < 50; iter++) {
    int rank = (int)at_rand_range(1, 4);
    int64_t dims[4], odims[4], co[4] = {0}, src[4];
    int32_t m[4];
    for (int k = 0; k < rank; k++) dims[k] = at_rand_range(0, 3), m[k] = (int32_t)at_rand_range(0, 3),
                                   odims[k] = dims[k] * m[k];
    td_tensor in[2] = {at_iota_i32(rank, dims), at_vec_i32(rank, m)};
    out = at_run1(at_node("Tile", TD_DT_INT32), in, 2);
    at_expect_shape(&out, rank, odims);
    for (int64_t i = 0; i < count(rank, odims); i++) {
      for (int k = 0; k < rank; k++) src[k] = co[k] % dims[k];
      assert_int_equal(td_i32(&out)[i], flat(rank, dims, src));
      next_coord(rank, odims, co);
    }
    td_tensor_release(&out);
  }
  td_tensor c[2] = {at_iota_i32(2, A_DIMS(2, 2)), at_vec_i32(2, A_I32(1, -1))};
  at_expect_error(at_node("Tile", TD_DT_INT32), c, 2, 1, TD_INVALID_ARGUMENT, "Expected multiples[1] >= 0, but got -1");
  td_tensor d[2] = {at_iota_i32(2, A_DIMS(2, 2)), at_vec_i32(3, A_I32(1, 1, 1))};
  at_expect_error(at_node("Tile", TD_DT_INT32), d, 2, 1, TD_INVALID_ARGUMENT,
                  "Expected multiples argument to be a vector of length 2 but got length 3");
}

static void test_broadcast_to(void **state) {
  td_tensor a[2] = {at_iota_i32(2, A_DIMS(3, 1)), at_vec_i32(3, A_I32(2, 3, 2))};
  td_tensor out = at_run1(at_node("BroadcastTo", TD_DT_INT32), a, 2);
  at_expect(&out, TD_DT_INT32, 3, A_DIMS(2, 3, 2), A_I32(0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2));
  td_tensor b[2] = {at_tensor(TD_DT_STRING, 0, NULL, A_STR("z")), at_vec_i64(1, A_I64(3))};
  Tensorflow__NodeDef *nd = at_node("BroadcastTo", TD_DT_STRING);
  td_test_attr_type(nd, "Tidx", TD_DT_INT64);
  out = at_run1(nd, b, 2);
  at_expect(&out, TD_DT_STRING, 1, A_DIMS(3), A_STR("z", "z", "z"));
  td_tensor c[2] = {at_iota_i32(1, A_DIMS(3)), at_vec_i32(2, A_I32(2, 3))};
  out = at_run1(at_node("BroadcastTo", TD_DT_INT32), c, 2);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(0, 1, 2, 0, 1, 2));
  td_tensor d[2] = {at_iota_i32(1, A_DIMS(3)), at_vec_i32(1, A_I32(4))};
  at_expect_error(at_node("BroadcastTo", TD_DT_INT32), d, 2, 1, TD_INVALID_ARGUMENT, "Incompatible shapes: [3] vs. [4]");
  td_tensor e[2] = {at_iota_i32(1, A_DIMS(3)), at_vec_i32(1, A_I32(1))};
  at_expect_error(at_node("BroadcastTo", TD_DT_INT32), e, 2, 1, TD_INVALID_ARGUMENT,
                  "Unable to broadcast tensor of shape [3] to tensor of shape [1]");
  td_tensor f[2] = {at_iota_i32(2, A_DIMS(1, 3)), at_vec_i32(1, A_I32(3))};
  at_expect_error(at_node("BroadcastTo", TD_DT_INT32), f, 2, 1, TD_INVALID_ARGUMENT,
                  "Rank of input (2) must be no greater than rank of output shape (1).");
}

static void test_reverse(void **state) {
  td_tensor a[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_vec_i32(1, A_I32(-1))};
  td_tensor out = at_run1(at_node("ReverseV2", TD_DT_INT32), a, 2);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(2, 1, 0, 5, 4, 3));
  td_tensor b[2] = {at_iota_str(2, A_DIMS(2, 3)), at_vec_i32(2, A_I32(0, 1))};
  out = at_run1(at_node("ReverseV2", TD_DT_STRING), b, 2);
  at_expect(&out, TD_DT_STRING, 2, A_DIMS(2, 3), A_STR("s5", "s4", "s3", "s2", "s1", "s0"));
  td_tensor c[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_tensor(TD_DT_BOOL, 1, A_DIMS(2), A_U8(1, 0))};
  out = at_run1(at_node("Reverse", TD_DT_INT32), c, 2);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(3, 4, 5, 0, 1, 2));
  td_tensor d[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_vec_i32(0, NULL)};
  out = at_run1(at_node("ReverseV2", TD_DT_INT32), d, 2);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(0, 1, 2, 3, 4, 5));
  td_tensor e[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_vec_i32(1, A_I32(2))};
  at_expect_error(at_node("ReverseV2", TD_DT_INT32), e, 2, 1, TD_INVALID_ARGUMENT,
                  "'axis'[0] = 2 is out of valid range [0, 1");
  td_tensor f[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_vec_i32(2, A_I32(1, -1))};
  at_expect_error(at_node("ReverseV2", TD_DT_INT32), f, 2, 1, TD_INVALID_ARGUMENT, "axis 1 specified more than once.");
}

/* ---- Pad / PadV2 / MirrorPad ---- */

/* Naive padded value at output coords (mode 0 constant → -1 marks padding, 1 reflect, 2 symmetric). */
static int64_t pad_ref(int rank, const int64_t *dims, const int64_t *before, const int64_t *co, int mode) {
  int64_t src[4];
  for (int k = 0; k < rank; k++) {
    int64_t i = co[k] - before[k], n = dims[k];
    if (i < 0 || i >= n) {
      if (mode == 0) return -1;
      if (i < 0) i = mode == 1 ? -i : -i - 1;
      else i = mode == 1 ? 2 * n - 2 - i : 2 * n - 1 - i;
    }
    src[k] = i;
  }
  return flat(rank, dims, src);
}

static void check_pad(int mode, int rank, const int64_t *dims, const int64_t *pads) {
  int64_t odims[4], before[4], co[4] = {0};
  int32_t p32[8];
  for (int k = 0; k < rank; k++) {
    before[k] = pads[2 * k];
    odims[k] = dims[k] + pads[2 * k] + pads[2 * k + 1];
    p32[2 * k] = (int32_t)pads[2 * k], p32[2 * k + 1] = (int32_t)pads[2 * k + 1];
  }
  td_tensor in[3] = {at_iota_i32(rank, dims), at_tensor(TD_DT_INT32, 2, A_DIMS(rank, 2), p32), at_i32s(-1)};
  Tensorflow__NodeDef *nd = at_node(mode == 0 ? "PadV2" : "MirrorPad", TD_DT_INT32);
  if (mode) td_test_attr_str(nd, "mode", mode == 1 ? "REFLECT" : "SYMMETRIC");
  if (mode) td_tensor_release(&in[2]);
  td_tensor out = at_run1(nd, in, mode == 0 ? 3 : 2);
  at_expect_shape(&out, rank, odims);
  for (int64_t i = 0; i < count(rank, odims); i++) {
    assert_int_equal(td_i32(&out)[i], pad_ref(rank, dims, before, co, mode));
    next_coord(rank, odims, co);
  }
  td_tensor_release(&out);
}

static void test_pad(void **state) {
  td_tensor a[2] = {at_iota_i32(2, A_DIMS(2, 2)), at_tensor(TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(1, 0, 0, 1))};
  td_tensor out = at_run1(at_node("Pad", TD_DT_INT32), a, 2);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(3, 3), A_I32(0, 0, 0, 0, 1, 0, 2, 3, 0));
  td_tensor b[3] = {at_iota_str(1, A_DIMS(2)), at_tensor(TD_DT_INT64, 2, A_DIMS(1, 2), A_I64(1, 2)),
                    at_tensor(TD_DT_STRING, 0, NULL, A_STR("p"))};
  Tensorflow__NodeDef *nd = at_node("PadV2", TD_DT_STRING);
  td_test_attr_type(nd, "Tpaddings", TD_DT_INT64);
  out = at_run1(nd, b, 3);
  at_expect(&out, TD_DT_STRING, 1, A_DIMS(5), A_STR("p", "s0", "s1", "p", "p"));
  for (int iter = 0; iter < 60; iter++) {
    int rank = (int)at_rand_range(1, 3), mode = iter % 3;
    int64_t dims[3], pads[6];
    for (int k = 0; k < rank; k++) {
      dims[k] = at_rand_range(mode ? 1 : 0, 4);
      int64_t lim = mode == 0 ? 3 : mode == 1 ? dims[k] - 1 : dims[k];
      pads[2 * k] = at_rand_range(0, lim), pads[2 * k + 1] = at_rand_range(0, lim);
    }
    check_pad(mode, rank, dims, pads);
  }
  td_tensor c[2] = {at_iota_i32(1, A_DIMS(3)), at_tensor(TD_DT_INT32, 2, A_DIMS(1, 2), A_I32(-1, 0))};
  at_expect_error(at_node("Pad", TD_DT_INT32), c, 2, 1, TD_INVALID_ARGUMENT, "Paddings must be non-negative: -1 0");
  td_tensor d[2] = {at_iota_i32(1, A_DIMS(3)), at_tensor(TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(0, 0, 0, 0))};
  at_expect_error(at_node("Pad", TD_DT_INT32), d, 2, 1, TD_INVALID_ARGUMENT,
                  "The first dimension of paddings must be the rank of inputs[2,2], [3]");
  td_tensor e[2] = {at_iota_i32(1, A_DIMS(3)), at_tensor(TD_DT_INT32, 2, A_DIMS(1, 2), A_I32(3, 0))};
  nd = at_node("MirrorPad", TD_DT_INT32);
  td_test_attr_str(nd, "mode", "REFLECT");
  at_expect_error(nd, e, 2, 1, TD_INVALID_ARGUMENT, "paddings must be less than the dimension size: 3, 0 not less than 3");
  td_tensor f[2] = {at_iota_i32(1, A_DIMS(3)), at_tensor(TD_DT_INT32, 2, A_DIMS(1, 2), A_I32(4, 0))};
  nd = at_node("MirrorPad", TD_DT_INT32);
  td_test_attr_str(nd, "mode", "SYMMETRIC");
  at_expect_error(nd, f, 2, 1, TD_INVALID_ARGUMENT,
                  "paddings must be no greater than the dimension size: 4, 0 greater than 3");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strided_slice_random), cmocka_unit_test(test_strided_slice_special),
      cmocka_unit_test(test_strided_slice_errors), cmocka_unit_test(test_slice),
      cmocka_unit_test(test_transpose),            cmocka_unit_test(test_tile),
      cmocka_unit_test(test_broadcast_to),         cmocka_unit_test(test_reverse),
      cmocka_unit_test(test_pad),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
