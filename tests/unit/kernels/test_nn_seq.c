/* test_nn_seq.c — Conv1D (tfjs op) against a naive loop (NWC/NCW, SAME/VALID, stride,
 * dilation), CTCGreedyDecoder on a hand-worked batch (blank dropping, merge_repeated, per-batch
 * sequence lengths, log probability), LSTMBlockCell against the op's documented equations
 * written out here (with and without peepholes, cell_clip), and error texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/nn_test_util.h"
#include "kernels/test_array_util.h"

static void check_conv1d(int64_t n, int64_t w, int64_t ic, int64_t k, int64_t oc, int64_t stride, int64_t dil, const char *pad, int ncw) {
  td_tensor x = nn_random_tensor(3, ncw ? A_DIMS(n, ic, w) : A_DIMS(n, w, ic)), f = nn_random_tensor(3, A_DIMS(k, ic, oc));
  int64_t pl;
  int64_t ow = nn_ref_window(pad, w, k, dil, stride, 0, 0, &pl);
  td_tensor want = td_test_tensor(TD_DT_FLOAT, 3, ncw ? A_DIMS(n, oc, ow) : A_DIMS(n, ow, oc), NULL);
  for (int64_t b = 0; b < n; b++)
    for (int64_t p = 0; p < ow; p++)
      for (int64_t o = 0; o < oc; o++) {
        double s = 0;
        for (int64_t t = 0; t < k; t++) {
          int64_t ix = p * stride - pl + t * dil;
          if (ix < 0 || ix >= w) continue;
          for (int64_t ci = 0; ci < ic; ci++)
            s += (double)td_f32(&x)[ncw ? (b * ic + ci) * w + ix : (b * w + ix) * ic + ci] * td_f32(&f)[(t * ic + ci) * oc + o];
        }
        td_f32(&want)[ncw ? (b * oc + o) * ow + p : (b * ow + p) * oc + o] = (float)s;
      }
  Tensorflow__NodeDef *nd = td_test_node_new("Conv1D");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_int(nd, "stride", stride);
  td_test_attr_int(nd, "dilation", dil);
  td_test_attr_str(nd, "padding", pad);
  if (ncw) td_test_attr_str(nd, "data_format", "NCW");
  td_tensor ins[2] = {x, f};
  td_tensor out = at_run1(nd, ins, 2);
  assert_true(td_shape_equal(&out.shape, &want.shape));
  assert_true(nn_close(td_f32(&out), td_f32(&want), td_tensor_num_elements(&want), 1e-5f * (float)(k * ic)));
  td_tensor_release(&out);
  td_tensor_release(&want);
}

static void test_conv1d(void **state) {
  (void)state;
  check_conv1d(2, 9, 3, 3, 4, 1, 1, "SAME", 0);
  check_conv1d(1, 10, 2, 4, 3, 2, 1, "SAME", 0);
  check_conv1d(2, 11, 3, 3, 2, 2, 2, "VALID", 0);
  check_conv1d(1, 7, 4, 2, 5, 1, 3, "SAME", 1);
  check_conv1d(1, 8, 1, 1, 1, 3, 1, "VALID", 1);
  Tensorflow__NodeDef *nd = td_test_node_new("Conv1D");
  td_test_attr_str(nd, "padding", "SAME");
  td_tensor bad[2] = {nn_random_tensor(3, A_DIMS(1, 4, 2)), nn_random_tensor(3, A_DIMS(2, 3, 1))};
  at_expect_error(nd, bad, 2, 1, TD_INVALID_ARGUMENT, "input and filter must have the same depth");
}

static void test_ctc_greedy(void **state) {
  (void)state;
  /* 3 classes, blank = 2 (last). Batch 0 (length 5) argmax per step: 0 0 2 0 1 -> merged
   * [0, 0, 1] when merge_repeated is off... with it on: [0, 0, 1] too since the blank separates
   * the zeros; steps 0-1 repeat: merged [0, 0, 1] vs unmerged [0, 0, 0, 1].
   * Batch 1 (length 3): 1 1 1 -> merged [1], unmerged [1, 1, 1]. */
  static const int best0[5] = {0, 0, 2, 0, 1}, best1[5] = {1, 1, 1, 0, 0};
  float logits[5 * 2 * 3];
  double lp0 = 0, lp1 = 0;
  for (int t = 0; t < 5; t++)
    for (int b = 0; b < 2; b++)
      for (int k = 0; k < 3; k++) {
        int best = b ? best1[t] : best0[t];
        float v = k == best ? 0.5f + 0.1f * (float)t : -0.25f * (float)(k + 1);
        logits[(t * 2 + b) * 3 + k] = v;
        if (k == best) {
          if (b == 0) lp0 -= v;
          else if (t < 3) lp1 -= v;
        }
      }
  for (int merge = 0; merge < 2; merge++) {
    Tensorflow__NodeDef *nd = td_test_node_new("CTCGreedyDecoder");
    td_test_attr_bool(nd, "merge_repeated", merge);
    td_tensor ins[2] = {at_tensor(TD_DT_FLOAT, 3, A_DIMS(5, 2, 3), logits), at_vec_i32(2, A_I32(5, 3))};
    td_tensor out[4];
    td_status st;
    assert_int_equal(at_run(nd, ins, 2, out, 4, &st), TD_OK);
    if (merge) {
      at_expect(&out[0], TD_DT_INT64, 2, A_DIMS(4, 2), A_I64(0, 0, 0, 1, 0, 2, 1, 0));
      at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(4), A_I64(0, 0, 1, 1));
      at_expect(&out[2], TD_DT_INT64, 1, A_DIMS(2), A_I64(2, 3));
    } else {
      at_expect(&out[0], TD_DT_INT64, 2, A_DIMS(7, 2), A_I64(0, 0, 0, 1, 0, 2, 0, 3, 1, 0, 1, 1, 1, 2));
      at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(7), A_I64(0, 0, 0, 1, 1, 1, 1));
      at_expect(&out[2], TD_DT_INT64, 1, A_DIMS(2), A_I64(2, 4));
    }
    at_expect_shape(&out[3], 2, A_DIMS(2, 1));
    assert_true(fabs(td_f32(&out[3])[0] - lp0) < 1e-5 && fabs(td_f32(&out[3])[1] - lp1) < 1e-5);
    td_tensor_release(&out[3]);
  }
  Tensorflow__NodeDef *nd = td_test_node_new("CTCGreedyDecoder");
  td_tensor bad[2] = {at_tensor(TD_DT_FLOAT, 3, A_DIMS(5, 2, 3), logits), at_vec_i32(2, A_I32(6, 3))};
  at_expect_error(nd, bad, 2, 4, TD_INVALID_ARGUMENT, "sequence_length(0) <= 5");
}

static float sg(float x) { return 1.0f / (1.0f + expf(-x)); }

static void test_lstm_block_cell(void **state) {
  (void)state;
  int64_t B = 2, in = 3, cell = 4;
  for (int peep = 0; peep < 2; peep++) {
    td_tensor x = nn_random_tensor(2, A_DIMS(B, in)), cs = nn_random_tensor(2, A_DIMS(B, cell)), h = nn_random_tensor(2, A_DIMS(B, cell));
    td_tensor w = nn_random_tensor(2, A_DIMS(in + cell, 4 * cell)), wci = nn_random_tensor(1, A_DIMS(cell)),
              wcf = nn_random_tensor(1, A_DIMS(cell)), wco = nn_random_tensor(1, A_DIMS(cell)), b = nn_random_tensor(1, A_DIMS(4 * cell));
    for (int i = 0; i < 8; i++) td_f32(&cs)[i] *= 4; /* some |cs| beyond the clip */
    float want[7][8];
    float clip = 0.9f;
    for (int64_t r = 0; r < B; r++)
      for (int64_t j = 0; j < cell; j++) {
        double g[4];
        for (int q = 0; q < 4; q++) {
          g[q] = td_f32(&b)[q * cell + j];
          for (int64_t k = 0; k < in + cell; k++) {
            float xv = k < in ? td_f32(&x)[r * in + k] : td_f32(&h)[r * cell + k - in];
            g[q] += (double)xv * td_f32(&w)[k * 4 * cell + q * cell + j];
          }
        }
        float cp = td_f32(&cs)[r * cell + j];
        float i = sg((float)g[0] + (peep ? cp * td_f32(&wci)[j] : 0));
        float ci = tanhf((float)g[1]);
        float f = sg((float)g[2] + 1.5f + (peep ? cp * td_f32(&wcf)[j] : 0));
        float c = ci * i + cp * f;
        c = c > clip ? clip : c < -clip ? -clip : c;
        float o = sg((float)g[3] + (peep ? c * td_f32(&wco)[j] : 0));
        float vals[7] = {i, c, f, o, ci, tanhf(c), tanhf(c) * o};
        for (int q = 0; q < 7; q++) want[q][r * cell + j] = vals[q];
      }
    Tensorflow__NodeDef *nd = td_test_node_new("LSTMBlockCell");
    td_test_attr_type(nd, "T", TD_DT_FLOAT);
    td_test_attr_float(nd, "forget_bias", 1.5f);
    td_test_attr_float(nd, "cell_clip", clip);
    td_test_attr_bool(nd, "use_peephole", peep);
    td_tensor ins[8] = {x, cs, h, w, wci, wcf, wco, b};
    td_tensor out[7];
    td_status st;
    assert_int_equal(at_run(nd, ins, 8, out, 7, &st), TD_OK);
    for (int q = 0; q < 7; q++) {
      at_expect_shape(&out[q], 2, A_DIMS(B, cell));
      assert_true(nn_close(td_f32(&out[q]), want[q], B * cell, 1e-5f));
      td_tensor_release(&out[q]);
    }
  }
  Tensorflow__NodeDef *nd = td_test_node_new("LSTMBlockCell");
  td_tensor bad[8] = {nn_random_tensor(2, A_DIMS(1, 3)), nn_random_tensor(2, A_DIMS(1, 2)), nn_random_tensor(2, A_DIMS(1, 2)),
                      nn_random_tensor(2, A_DIMS(4, 8)), nn_random_tensor(1, A_DIMS(2)), nn_random_tensor(1, A_DIMS(2)),
                      nn_random_tensor(1, A_DIMS(2)), nn_random_tensor(1, A_DIMS(8))};
  at_expect_error(nd, bad, 8, 7, TD_INVALID_ARGUMENT, "w must be [input_size + cell_size, 4 * cell_size]: [4,8]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv1d),
      cmocka_unit_test(test_ctc_greedy),
      cmocka_unit_test(test_lstm_block_cell),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
