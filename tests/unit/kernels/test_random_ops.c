/* test_random_ops.c — the Philox generator against the published Random123 known-answer
 * vectors, and the random kernels through the real engine: stateless ops are pure functions of
 * the seed (same seed → same values, V2 with GetKeyCounter's key/counter == V1), value ranges
 * and moments, integer ranges, seeded stateful ops repeat across fresh sessions and advance
 * between runs, Multinomial never draws -inf logits, RandomShuffle permutes rows, Bitcast
 * shapes/bytes, and TF's error texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "engine/kernels/random_philox.h"
#include "kernels/test_array_util.h"

static void test_philox_kat(void **state) {
  (void)state;
  /* Random123 kat_vectors: philox4x32_10 (counter, key) -> output. */
  struct {
    uint32_t ctr[4], key[2], out[4];
  } kat[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}, {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
    uint32_t out[4];
    td_philox_block(kat[i].key, kat[i].ctr, out);
    for (int k = 0; k < 4; k++) assert_int_equal(out[k], kat[i].out[k]);
  }
  /* The counter is 128-bit: skipping carries into the high words. */
  td_philox g = td_philox_make(0, UINT64_MAX, 7);
  td_philox_skip(&g, 1);
  assert_int_equal(g.ctr[0], 0);
  assert_int_equal(g.ctr[1], 0);
  assert_int_equal(g.ctr[2], 8);
  /* Conversions: all-ones mantissa is the largest float below 1, zero is 0. */
  assert_true(td_philox_u32_to_float(0xffffffffu) < 1.0f);
  assert_true(td_philox_u32_to_float(0xffffffffu) > 0.9999998f);
  assert_true(td_philox_u32_to_float(0) == 0.0f);
}

static td_tensor seed(int64_t a, int64_t b) { return at_vec_i64(2, A_I64(a, b)); }
static td_tensor shape1(int32_t n) { return at_vec_i32(1, A_I32(n)); }

static td_tensor stateless(const char *op, td_dtype dt, int32_t n, int64_t s0, int64_t s1) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  td_test_attr_type(nd, "dtype", dt);
  td_tensor ins[2] = {shape1(n), seed(s0, s1)};
  return at_run1(nd, ins, 2);
}

static void test_stateless_uniform_normal(void **state) {
  (void)state;
  enum { N = 4001 };
  td_tensor a = stateless("StatelessRandomUniform", TD_DT_FLOAT, N, 7, 11);
  td_tensor b = stateless("StatelessRandomUniform", TD_DT_FLOAT, N, 7, 11);
  td_tensor c = stateless("StatelessRandomUniform", TD_DT_FLOAT, N, 7, 12);
  assert_int_equal(a.dtype, TD_DT_FLOAT);
  assert_int_equal(a.shape.dim[0], N);
  assert_memory_equal(a.data, b.data, N * sizeof(float));
  int same = 0;
  double sum = 0;
  for (int i = 0; i < N; i++) {
    float v = td_f32(&a)[i];
    assert_true(v >= 0.0f && v < 1.0f);
    sum += v;
    same += v == td_f32(&c)[i];
  }
  assert_true(same < 10);
  assert_true(fabs(sum / N - 0.5) < 0.02);
  td_tensor_release(&a);
  td_tensor_release(&b);
  td_tensor_release(&c);

  td_tensor d = stateless("StatelessRandomUniform", TD_DT_DOUBLE, N, 1, 2);
  for (int i = 0; i < N; i++) assert_true(td_f64(&d)[i] >= 0.0 && td_f64(&d)[i] < 1.0);
  td_tensor_release(&d);

  td_tensor nrm = stateless("StatelessRandomNormal", TD_DT_FLOAT, N, 3, 4);
  double s1 = 0, s2 = 0;
  for (int i = 0; i < N; i++) s1 += td_f32(&nrm)[i], s2 += (double)td_f32(&nrm)[i] * td_f32(&nrm)[i];
  double mean = s1 / N, var = s2 / N - mean * mean;
  assert_true(fabs(mean) < 0.06);
  assert_true(fabs(var - 1.0) < 0.08);
  td_tensor_release(&nrm);

  td_tensor tn = stateless("StatelessTruncatedNormal", TD_DT_FLOAT, N, 3, 4);
  for (int i = 0; i < N; i++) assert_true(fabsf(td_f32(&tn)[i]) < 2.0f);
  td_tensor_release(&tn);
}

/* V2 ops fed GetKeyCounter's key/counter give the V1 op's values for the same seed. */
static void test_key_counter_matches_v1(void **state) {
  (void)state;
  td_tensor kc[2];
  td_status st;
  Tensorflow__NodeDef *nd = td_test_node_new("StatelessRandomGetKeyCounter");
  td_tensor sin[1] = {seed(42, -5)};
  assert_int_equal(at_run(nd, sin, 1, kc, 2, &st), TD_OK);
  assert_int_equal(kc[0].dtype, TD_DT_UINT64);
  at_expect_shape(&kc[0], 1, A_DIMS(1));
  at_expect_shape(&kc[1], 1, A_DIMS(2));
  assert_int_equal(((uint64_t *)kc[1].data)[0], 0); /* the low counter word starts at 0 */

  const char *pairs[][2] = {{"StatelessRandomUniform", "StatelessRandomUniformV2"},
                            {"StatelessRandomNormal", "StatelessRandomNormalV2"},
                            {"StatelessTruncatedNormal", "StatelessTruncatedNormalV2"},
                            {"StatelessRandomUniformFullInt", "StatelessRandomUniformFullIntV2"}};
  for (size_t p = 0; p < 4; p++) {
    td_dtype dt = p == 3 ? TD_DT_INT64 : TD_DT_FLOAT;
    td_tensor v1 = stateless(pairs[p][0], dt, 37, 42, -5);
    Tensorflow__NodeDef *n2 = td_test_node_new(pairs[p][1]);
    td_test_attr_type(n2, "dtype", dt);
    td_tensor ins[4] = {shape1(37), td_tensor_ref(&kc[0]), td_tensor_ref(&kc[1]), at_i32s(1)};
    td_tensor v2 = at_run1(n2, ins, 4);
    assert_memory_equal(v1.data, v2.data, 37 * td_dtype_size(dt));
    td_tensor_release(&v1);
    td_tensor_release(&v2);
  }
  /* Algorithm 3 (auto-select) is Philox too; ThreeFry is refused. */
  Tensorflow__NodeDef *n3 = td_test_node_new("StatelessRandomUniformV2");
  td_tensor ins3[4] = {shape1(3), td_tensor_ref(&kc[0]), td_tensor_ref(&kc[1]), at_i32s(2)};
  at_expect_error(n3, ins3, 4, 1, TD_UNIMPLEMENTED, "Unsupported algorithm id: 2");
  Tensorflow__NodeDef *n4 = td_test_node_new("StatelessRandomUniformV2");
  td_tensor ins4[4] = {shape1(3), td_tensor_ref(&kc[1]), td_tensor_ref(&kc[1]), at_i32s(1)};
  at_expect_error(n4, ins4, 4, 1, TD_INVALID_ARGUMENT, "key must have shape [1]");
  td_tensor_release(&kc[0]);
  td_tensor_release(&kc[1]);

  Tensorflow__NodeDef *ga = td_test_node_new("StatelessRandomGetAlg");
  td_tensor alg = at_run1(ga, NULL, 0);
  at_expect(&alg, TD_DT_INT32, 0, NULL, A_I32(1));
}

static void test_uniform_int(void **state) {
  (void)state;
  enum { N = 999 };
  Tensorflow__NodeDef *nd = td_test_node_new("StatelessRandomUniformInt");
  td_test_attr_type(nd, "dtype", TD_DT_INT32);
  td_tensor ins[4] = {shape1(N), seed(1, 1), at_i32s(-3), at_i32s(4)};
  td_tensor out = at_run1(nd, ins, 4);
  int seen[7] = {0};
  for (int i = 0; i < N; i++) {
    int32_t v = td_i32(&out)[i];
    assert_true(v >= -3 && v < 4);
    seen[v + 3]++;
  }
  for (int k = 0; k < 7; k++) assert_true(seen[k] > 80); /* every value drawn */
  td_tensor_release(&out);

  nd = td_test_node_new("StatelessRandomUniformInt");
  td_test_attr_type(nd, "dtype", TD_DT_INT32);
  td_tensor bad[4] = {shape1(2), seed(1, 1), at_i32s(4), at_i32s(4)};
  at_expect_error(nd, bad, 4, 1, TD_INVALID_ARGUMENT, "Need minval < maxval: 4 >= 4");

  nd = td_test_node_new("StatelessRandomUniform");
  td_tensor bs[2] = {shape1(2), at_vec_i64(3, A_I64(1, 2, 3))};
  at_expect_error(nd, bs, 2, 1, TD_INVALID_ARGUMENT, "seed must have shape [2], not [3]");

  nd = td_test_node_new("StatelessRandomUniform");
  td_tensor neg[2] = {shape1(-1), seed(1, 2)};
  at_expect_error(nd, neg, 2, 1, TD_INVALID_ARGUMENT, "Dimension -1 must be >= 0");
}

static td_tensor seeded(const char *op, int32_t n, int64_t s1, int64_t s2) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  td_test_attr_type(nd, "dtype", TD_DT_FLOAT);
  td_test_attr_int(nd, "seed", s1);
  td_test_attr_int(nd, "seed2", s2);
  td_tensor ins[1] = {shape1(n)};
  return at_run1(nd, ins, 1);
}

/* Each td_test_run_op builds a fresh session: a seeded stateful op gives its first-run values,
 * equal across sessions, and those equal Philox(key = seed, counter = (0, seed2)) directly. */
static void test_seeded_stateful(void **state) {
  (void)state;
  td_tensor a = seeded("RandomUniform", 10, 5, 9), b = seeded("RandomUniform", 10, 5, 9);
  assert_memory_equal(a.data, b.data, 10 * sizeof(float));
  td_philox g = td_philox_make(5, 0, 9);
  for (int blk = 0; blk < 3; blk++) {
    uint32_t x[4];
    td_philox_next(&g, x);
    for (int j = 0; j < 4 && blk * 4 + j < 10; j++) assert_true(td_f32(&a)[blk * 4 + j] == td_philox_u32_to_float(x[j]));
  }
  td_tensor_release(&a);
  td_tensor_release(&b);
  td_tensor n = seeded("RandomStandardNormal", 6, 5, 9);
  for (int i = 0; i < 6; i++) assert_true(isfinite(td_f32(&n)[i]));
  td_tensor_release(&n);
}

static void test_multinomial_shuffle(void **state) {
  (void)state;
  /* Row 0: class 1 is -inf and never drawn; row 1: class 2 dominates by 100 nats. */
  Tensorflow__NodeDef *nd = td_test_node_new("Multinomial");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_int(nd, "seed", 3);
  td_tensor ins[2] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(2, 3), A_F32(0.0f, -INFINITY, 0.0f, 0.0f, 0.0f, 100.0f)), at_i32s(500)};
  td_tensor out = at_run1(nd, ins, 2);
  assert_int_equal(out.dtype, TD_DT_INT64);
  at_expect_shape(&out, 2, A_DIMS(2, 500));
  int c0 = 0;
  for (int i = 0; i < 500; i++) {
    int64_t v = td_i64(&out)[i];
    assert_true(v == 0 || v == 2);
    c0 += v == 0;
    assert_int_equal(td_i64(&out)[500 + i], 2);
  }
  assert_true(c0 > 190 && c0 < 310);
  td_tensor_release(&out);

  nd = td_test_node_new("Multinomial");
  td_tensor bad[2] = {at_tensor(TD_DT_FLOAT, 1, A_DIMS(3), A_F32(1, 2, 3)), at_i32s(2)};
  at_expect_error(nd, bad, 2, 1, TD_INVALID_ARGUMENT, "logits should be a matrix, got shape [3]");

  /* RandomShuffle permutes whole rows. */
  nd = td_test_node_new("RandomShuffle");
  td_test_attr_type(nd, "T", TD_DT_INT32);
  td_test_attr_int(nd, "seed", 1);
  td_tensor sin[1] = {at_iota_i32(2, A_DIMS(50, 2))};
  td_tensor sh = at_run1(nd, sin, 1);
  int hit[50] = {0}, moved = 0;
  for (int r = 0; r < 50; r++) {
    int32_t a = td_i32(&sh)[2 * r], b = td_i32(&sh)[2 * r + 1];
    assert_int_equal(a % 2, 0);
    assert_int_equal(b, a + 1);
    hit[a / 2]++;
    moved += a / 2 != r;
  }
  for (int r = 0; r < 50; r++) assert_int_equal(hit[r], 1);
  assert_true(moved > 30);
  td_tensor_release(&sh);
}

static void test_bitcast(void **state) {
  (void)state;
  Tensorflow__NodeDef *nd = td_test_node_new("Bitcast");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_type(nd, "type", TD_DT_INT32);
  td_tensor ins[1] = {at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(1.0f, -2.0f))};
  td_tensor out = at_run1(nd, ins, 1);
  at_expect(&out, TD_DT_INT32, 1, A_DIMS(2), A_I32(0x3f800000, (int32_t)0xc0000000u));

  nd = td_test_node_new("Bitcast"); /* wider -> narrower adds a dim */
  td_test_attr_type(nd, "T", TD_DT_INT64);
  td_test_attr_type(nd, "type", TD_DT_INT32);
  td_tensor w[1] = {at_vec_i64(1, A_I64(0x0000000200000001ll))};
  out = at_run1(nd, w, 1);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(1, 2), A_I32(1, 2));

  nd = td_test_node_new("Bitcast"); /* narrower -> wider drops the last dim */
  td_test_attr_type(nd, "T", TD_DT_INT32);
  td_test_attr_type(nd, "type", TD_DT_INT64);
  td_tensor nn[1] = {at_tensor(TD_DT_INT32, 2, A_DIMS(1, 2), A_I32(1, 2))};
  out = at_run1(nd, nn, 1);
  at_expect(&out, TD_DT_INT64, 1, A_DIMS(1), A_I64(0x0000000200000001ll));

  nd = td_test_node_new("Bitcast");
  td_test_attr_type(nd, "T", TD_DT_INT32);
  td_test_attr_type(nd, "type", TD_DT_INT64);
  td_tensor bad[1] = {at_vec_i32(3, A_I32(1, 2, 3))};
  at_expect_error(nd, bad, 1, 1, TD_INVALID_ARGUMENT, "last dimension of the input must be 2");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_philox_kat),
      cmocka_unit_test(test_stateless_uniform_normal),
      cmocka_unit_test(test_key_counter_matches_v1),
      cmocka_unit_test(test_uniform_int),
      cmocka_unit_test(test_seeded_stateful),
      cmocka_unit_test(test_multinomial_shuffle),
      cmocka_unit_test(test_bitcast),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
