/* test_tflite_op_rows.c — one single-operator TFLite model per builtin that tflite_ops.c
 * translates from a data row (tx_simple) or a short translator: built with tflite_builder.h,
 * loaded with prefer_tflite_model, run on one fed input. Each case lists its tensors (the first
 * is fed, the last is the output, the rest are constants), its options and the answer worked out
 * by hand from the TF op's definition (in the comment beside it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model.h"
#include "tflite/tflite_model.h"
#include "tflite_builder.h"
#include "tflite_test_util.h"
#include "util/mem.h"

enum { F32 = TD_TFL_FLOAT32, I32 = TD_TFL_INT32, I64 = TD_TFL_INT64, BOOL_ = TD_TFL_BOOL };

typedef struct op_case {
  const char *what;
  int code;         /* builtin */
  int ntensors;     /* t[0] fed, t[1..n-2] constant inputs, t[n-1] the output */
  t_tensor t[6];
  int nopt;
  fld opt[4];
  const void *fed;  /* t[0]'s values */
  td_dtype out_dt;
  int out_rank;
  int64_t out_dims[4];
  int nwant;
  double want[16];
} op_case;

static td_dtype fed_dtype(int tfl_type) {
  return tfl_type == I32 ? TD_DT_INT32 : tfl_type == I64 ? TD_DT_INT64 : tfl_type == BOOL_ ? TD_DT_BOOL : TD_DT_FLOAT;
}

static double element(const td_tensor *t, int64_t i) {
  switch (t->dtype) {
  case TD_DT_FLOAT: return td_f32(t)[i];
  case TD_DT_INT32: return ((const int32_t *)t->data)[i];
  case TD_DT_INT64: return (double)((const int64_t *)t->data)[i];
  case TD_DT_BOOL: return ((const uint8_t *)t->data)[i];
  default: fail_msg("unexpected output dtype %d", t->dtype);
  }
  return 0;
}

static void run_case(const op_case *c) {
  t_model m = {.version = 3, .ncodes = 1, .codes = {c->code}, .ntensors = c->ntensors, .nops = 1, .nin = 1, .nout = 1};
  for (int i = 0; i < c->ntensors; i++) m.t[i] = c->t[i];
  t_op op = {.opcode = 0, .nin = c->ntensors - 1, .nout = 1, .out = {c->ntensors - 1}, .opt_type = c->nopt ? 1 : 0,
             .nopt = c->nopt};
  for (int i = 0; i < c->ntensors - 1; i++) op.in[i] = i;
  for (int i = 0; i < c->nopt; i++) op.opt[i] = c->opt[i];
  m.ops[0] = op;
  m.out[0] = c->ntensors - 1;

  size_t len;
  uint8_t *bytes = build_model(&m, &len);
  td_model *model = NULL;
  td_status st = {0};
  if (tb_load_model(bytes, len, &model, &st) != TD_OK) fail_msg("%s: load: %s", c->what, st.msg);
  const td_signature *sig = td_model_find_signature(model, "serving_default");
  assert_non_null(sig);
  int64_t dims[4];
  for (int i = 0; i < c->t[0].rank; i++) dims[i] = c->t[0].dims[i];
  td_shape s = td_shape_make(c->t[0].rank, dims);
  td_tensor in = td_tensor_borrow(fed_dtype(c->t[0].type), &s, (void *)c->fed);
  td_tensor out = {0};
  if (td_model_run(model, sig, &in, &out, &st) != TD_OK) fail_msg("%s: run: %s", c->what, st.msg);

  if (out.dtype != c->out_dt) fail_msg("%s: dtype %d, want %d", c->what, out.dtype, c->out_dt);
  if (out.shape.rank != c->out_rank) fail_msg("%s: rank %d, want %d", c->what, out.shape.rank, c->out_rank);
  for (int i = 0; i < c->out_rank; i++)
    if (out.shape.dim[i] != c->out_dims[i])
      fail_msg("%s: dim %d is %lld, want %lld", c->what, i, (long long)out.shape.dim[i], (long long)c->out_dims[i]);
  assert_int_equal(td_tensor_num_elements(&out), c->nwant);
  for (int i = 0; i < c->nwant; i++)
    if (fabs(element(&out, i) - c->want[i]) > 1e-5)
      fail_msg("%s: element %d is %g, want %g", c->what, i, element(&out, i), c->want[i]);
  td_tensor_release(&out);
  td_model_free(model);
  free(bytes);
}

/* shared inputs */
static const float X23[6] = {1, 2, 3, 4, 5, 6}; /* [[1,2,3],[4,5,6]] */
static const int32_t I_0_1[2] = {0, 1}, I_2_3[2] = {2, 3}, I_1[1] = {1}, I_0[1] = {0};
static const int64_t L_2_2[2] = {2, 2};
static const int32_t S0 = 0, S1 = 1, S2 = 2, S3 = 3, S7 = 7;
static const float F7 = 7, F1 = 1, F0 = 0, F9 = 9;

#define T(name, type, rank, ...) {name, type, rank, __VA_ARGS__}
#define X_23 T("x", F32, 2, {2, 3})

static const op_case cases[] = {
    {"SLICE begin [0,1] size int64 [2,2] (cast to begin's dtype)", 65, 4,
     {X_23, T("b", I32, 1, {2}, I_0_1, 8), T("s", I64, 1, {2}, L_2_2, 16), T("y", F32, 2, {2, 2})}, 0, {{0}},
     X23, TD_DT_FLOAT, 2, {2, 2}, 4, {2, 3, 5, 6}},
    {"SELECT_V2 cond [1,0,1] broadcast over rows", 123, 4,
     {T("c", BOOL_, 1, {3}), T("x", F32, 2, {2, 3}, X23, 24), T("e", F32, 2, {1, 3}, (const float[]){10, 20, 30}, 12), T("y", F32, 2, {2, 3})},
     0, {{0}}, (const uint8_t[]){1, 0, 1}, TD_DT_FLOAT, 2, {2, 3}, 6, {1, 20, 3, 4, 20, 6}},
    {"FILL dims [2,3] with 7", 94, 3, {T("d", I32, 1, {2}), T("v", F32, 0, {0}, &F7, 4), T("y", F32, 2, {2, 3})}, 0,
     {{0}}, I_2_3, TD_DT_FLOAT, 2, {2, 3}, 6, {7, 7, 7, 7, 7, 7}},
    {"DEPTH_TO_SPACE block 2", 5, 2, {T("x", F32, 4, {1, 1, 1, 4}), T("y", F32, 4, {1, 2, 2, 1})}, 1, {{0, 4, 2}},
     (const float[]){1, 2, 3, 4}, TD_DT_FLOAT, 4, {1, 2, 2, 1}, 4, {1, 2, 3, 4}},
    {"SPACE_TO_DEPTH block 2", 26, 2, {T("x", F32, 4, {1, 2, 2, 1}), T("y", F32, 4, {1, 1, 1, 4})}, 1, {{0, 4, 2}},
     (const float[]){1, 2, 3, 4}, TD_DT_FLOAT, 4, {1, 1, 1, 4}, 4, {1, 2, 3, 4}},
    /* [1,2,4,1] rows 1..4 / 5..8, block [2,2]: batch (bh,bw) takes in[2i+bh][2j+bw] */
    {"SPACE_TO_BATCH_ND block [2,2]", 38, 4,
     {T("x", F32, 4, {1, 2, 4, 1}), T("b", I32, 1, {2}, (const int32_t[]){2, 2}, 8),
      T("p", I32, 2, {2, 2}, (const int32_t[]){0, 0, 0, 0}, 16), T("y", F32, 4, {4, 1, 2, 1})},
     0, {{0}}, (const float[]){1, 2, 3, 4, 5, 6, 7, 8}, TD_DT_FLOAT, 4, {4, 1, 2, 1}, 8, {1, 3, 2, 4, 5, 7, 6, 8}},
    {"BATCH_TO_SPACE_ND block [2,2] (the inverse)", 37, 4,
     {T("x", F32, 4, {4, 1, 2, 1}), T("b", I32, 1, {2}, (const int32_t[]){2, 2}, 8),
      T("c", I32, 2, {2, 2}, (const int32_t[]){0, 0, 0, 0}, 16), T("y", F32, 4, {1, 2, 4, 1})},
     0, {{0}}, (const float[]){1, 3, 2, 4, 5, 7, 6, 8}, TD_DT_FLOAT, 4, {1, 2, 4, 1}, 8, {1, 2, 3, 4, 5, 6, 7, 8}},
    {"RANGE 1..7 step 2", 96, 4,
     {T("start", I32, 0, {0}), T("limit", I32, 0, {0}, &S7, 4), T("delta", I32, 0, {0}, &S2, 4), T("y", I32, 1, {3})},
     0, {{0}}, &S1, TD_DT_INT32, 1, {3}, 3, {1, 3, 5}},
    {"ONE_HOT depth 3, on 1 off 0, axis -1", 85, 5,
     {T("i", I32, 1, {3}), T("d", I32, 0, {0}, &S3, 4), T("on", F32, 0, {0}, &F1, 4), T("off", F32, 0, {0}, &F0, 4),
      T("y", F32, 2, {3, 3})},
     1, {{0, 4, (uint32_t)-1}}, (const int32_t[]){0, 2, 1}, TD_DT_FLOAT, 2, {3, 3}, 9, {1, 0, 0, 0, 0, 1, 0, 1, 0}},
    {"SHAPE as int64", 77, 2, {X_23, T("y", I64, 1, {2})}, 0, {{0}}, X23, TD_DT_INT64, 1, {2}, 2, {2, 3}},
    {"RANK", 110, 2, {X_23, T("y", I32, 0, {0})}, 0, {{0}}, X23, TD_DT_INT32, 0, {0}, 1, {2}},
    /* x·yᵀ with y = x: [[1·1+2·2+3·3, 1·4+2·5+3·6], [.., 4·4+5·5+6·6]] */
    {"BATCH_MATMUL adj_y", 126, 3,
     {T("x", F32, 3, {1, 2, 3}), T("w", F32, 3, {1, 2, 3}, X23, 24), T("y", F32, 3, {1, 2, 2})}, 2,
     {{0, 1, 0}, {1, 1, 1}}, X23, TD_DT_FLOAT, 3, {1, 2, 2}, 4, {14, 32, 32, 77}},
    {"LEAKY_RELU alpha 0.1", 98, 2, {T("x", F32, 1, {4}), T("y", F32, 1, {4})}, 1, {{0, 4, 0x3dcccccdu}},
     (const float[]){-2, -1, 0, 3}, TD_DT_FLOAT, 1, {4}, 4, {-0.2, -0.1, 0, 3}},
    {"LEAKY_RELU default alpha 0.2", 98, 2, {T("x", F32, 1, {2}), T("y", F32, 1, {2})}, 0, {{0}},
     (const float[]){-5, 5}, TD_DT_FLOAT, 1, {2}, 2, {-1, 5}},
    {"TILE [1,2]", 69, 3, {X_23, T("m", I32, 1, {2}, (const int32_t[]){1, 2}, 8), T("y", F32, 2, {2, 6})}, 0, {{0}},
     X23, TD_DT_FLOAT, 2, {2, 6}, 12, {1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6}},
    {"REVERSE_V2 axis 1", 105, 3, {X_23, T("a", I32, 1, {1}, I_1, 4), T("y", F32, 2, {2, 3})}, 0, {{0}}, X23,
     TD_DT_FLOAT, 2, {2, 3}, 6, {3, 2, 1, 6, 5, 4}},
    /* exclusive + reverse: y[i] = sum of x[j] for j > i */
    {"CUMSUM exclusive reverse", 128, 3, {T("x", F32, 1, {4}), T("a", I32, 0, {0}, &S0, 4), T("y", F32, 1, {4})}, 2,
     {{0, 1, 1}, {1, 1, 1}}, (const float[]){1, 2, 3, 4}, TD_DT_FLOAT, 1, {4}, 4, {9, 7, 4, 0}},
    {"BROADCAST_TO [2,3]", 130, 3, {T("x", F32, 1, {3}), T("s", I32, 1, {2}, I_2_3, 8), T("y", F32, 2, {2, 3})}, 0,
     {{0}}, (const float[]){1, 2, 3}, TD_DT_FLOAT, 2, {2, 3}, 6, {1, 2, 3, 1, 2, 3}},
    {"SUM axis 1 keep_dims", 74, 3, {X_23, T("a", I32, 1, {1}, I_1, 4), T("y", F32, 2, {2, 1})}, 1, {{0, 1, 1}}, X23,
     TD_DT_FLOAT, 2, {2, 1}, 2, {6, 15}},
    {"REDUCE_MAX axis 1", 82, 3, {X_23, T("a", I32, 1, {1}, I_1, 4), T("y", F32, 1, {2})}, 0, {{0}}, X23, TD_DT_FLOAT,
     1, {2}, 2, {3, 6}},
    {"REDUCE_PROD axis 0", 81, 3, {X_23, T("a", I32, 1, {1}, I_0, 4), T("y", F32, 1, {3})}, 0, {{0}}, X23,
     TD_DT_FLOAT, 1, {3}, 3, {4, 10, 18}},
    {"REDUCE_ANY axis 1", 91, 3, {T("x", BOOL_, 2, {2, 2}), T("a", I32, 1, {1}, I_1, 4), T("y", BOOL_, 1, {2})}, 0,
     {{0}}, (const uint8_t[]){1, 0, 0, 0}, TD_DT_BOOL, 1, {2}, 2, {1, 0}},
    {"ARG_MAX axis 1 to int64", 56, 3,
     {X_23, T("a", I32, 0, {0}, &S1, 4), T("y", I64, 1, {2})}, 0, {{0}}, (const float[]){1, 5, 3, 9, 2, 4},
     TD_DT_INT64, 1, {2}, 2, {1, 0}},
    {"ARG_MIN axis 0 to int32", 79, 3, {X_23, T("a", I32, 0, {0}, &S0, 4), T("y", I32, 1, {3})}, 0, {{0}},
     (const float[]){1, 5, 3, 9, 2, 4}, TD_DT_INT32, 1, {3}, 3, {0, 1, 0}},
    {"GATHER_ND [[1,2],[0,0]]", 107, 3,
     {X_23, T("i", I32, 2, {2, 2}, (const int32_t[]){1, 2, 0, 0}, 16), T("y", F32, 1, {2})}, 0, {{0}}, X23,
     TD_DT_FLOAT, 1, {2}, 2, {6, 1}},
    {"EXPAND_DIMS axis 0", 70, 3, {T("x", F32, 1, {3}), T("a", I32, 0, {0}, &S0, 4), T("y", F32, 2, {1, 3})}, 0,
     {{0}}, (const float[]){1, 2, 3}, TD_DT_FLOAT, 2, {1, 3}, 3, {1, 2, 3}},
    {"PAD [[0,0],[1,1]]", 34, 3,
     {T("x", F32, 2, {1, 2}), T("p", I32, 2, {2, 2}, (const int32_t[]){0, 0, 1, 1}, 16), T("y", F32, 2, {1, 4})}, 0,
     {{0}}, (const float[]){1, 2}, TD_DT_FLOAT, 2, {1, 4}, 4, {0, 1, 2, 0}},
    {"PADV2 [[1,0]] with 9", 60, 4,
     {T("x", F32, 1, {2}), T("p", I32, 2, {1, 2}, (const int32_t[]){1, 0}, 8),
      T("c", F32, 0, {0}, &F9, 4), T("y", F32, 1, {3})},
     0, {{0}}, (const float[]){1, 2}, TD_DT_FLOAT, 1, {3}, 3, {9, 1, 2}},
    {"MIRROR_PAD REFLECT [[2,2]]", 100, 3,
     {T("x", F32, 1, {3}), T("p", I32, 2, {1, 2}, (const int32_t[]){2, 2}, 8), T("y", F32, 1, {7})}, 1, {{0, 1, 0}},
     (const float[]){1, 2, 3}, TD_DT_FLOAT, 1, {7}, 7, {3, 2, 1, 2, 3, 2, 1}},
    {"MIRROR_PAD SYMMETRIC [[1,1]]", 100, 3,
     {T("x", F32, 1, {3}), T("p", I32, 2, {1, 2}, (const int32_t[]){1, 1}, 8), T("y", F32, 1, {5})}, 1, {{0, 1, 1}},
     (const float[]){1, 2, 3}, TD_DT_FLOAT, 1, {5}, 5, {1, 1, 2, 3, 3}},
    {"CONCATENATION axis 0", 2, 3, {T("x", F32, 1, {2}), T("c", F32, 1, {2}, (const float[]){7, 8}, 8),
                                    T("y", F32, 1, {4})},
     0, {{0}}, (const float[]){1, 2}, TD_DT_FLOAT, 1, {4}, 4, {1, 2, 7, 8}},
    {"ADD_N of three", 106, 4,
     {T("x", F32, 1, {2}), T("c", F32, 1, {2}, (const float[]){10, 20}, 8),
      T("d", F32, 1, {2}, (const float[]){100, 200}, 8), T("y", F32, 1, {2})},
     0, {{0}}, (const float[]){1, 2}, TD_DT_FLOAT, 1, {2}, 2, {111, 222}},
    {"GATHER axis 1", 36, 3, {X_23, T("i", I32, 1, {2}, (const int32_t[]){2, 0}, 8), T("y", F32, 2, {2, 2})}, 1,
     {{0, 4, 1}}, X23, TD_DT_FLOAT, 2, {2, 2}, 4, {3, 1, 6, 4}},
};

static void test_op_rows(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&cases[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_op_rows)};
  return cmocka_run_group_tests(tests, tb_setup_tmp, tb_teardown_tmp);
}
