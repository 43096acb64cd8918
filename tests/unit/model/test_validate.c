/* test_validate.c — request inputs vs. SignatureDef TensorInfo (model/validate.c) over corpus
 * models. TF Serving checks feed dtypes against the graph (TF's "Expects arg[0] to be float
 * but string is provided") and never checks shapes, so tensord must answer whatever TF
 * answers (a [1,784] request to mnist_seoinjae's [-1,28,28] signature; half_plus_three's
 * regress signature that declares DT_FLOAT for its string input), and when a kernel rejects a
 * request the message keeps TF's text and names the input whose shape conflicts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"

#define SEOINJAE TD_FIXTURES "/models/mnist_seoinjae/1"
#define HALF_PLUS_THREE TD_FIXTURES "/tfserving_testdata/saved_model_half_plus_three/00000123"

static td_model *load_or_skip(const char *dir) {
  if (access(dir, R_OK) != 0) skip(); /* ../shared absent: reported as skipped, not passed */
  td_model *m = NULL;
  td_status st = {0};
  if (td_model_load(dir, NULL, 0, NULL, &m, &st) != TD_OK) fail_msg("%s: %s", dir, st.msg);
  return m;
}

static td_tensor zeros(td_dtype dt, int rank, const int64_t *dims) {
  td_tensor t;
  td_shape s = td_shape_make(rank, dims);
  assert_int_equal(td_tensor_alloc(&t, dt, &s, NULL), TD_OK);
  return t;
}

/* ---- td_sig_shape_compatible ---- */

static void test_shape_compatible_rules(void **state) {
  (void)state;
  td_shape unknown = {.rank = -1};
  td_shape mnist = td_shape_make(3, (const int64_t[]){-1, 28, 28});
  td_shape ok = td_shape_make(3, (const int64_t[]){5, 28, 28});
  td_shape flat = td_shape_make(2, (const int64_t[]){1, 784});
  td_shape bad_dim = td_shape_make(3, (const int64_t[]){1, 28, 27});
  td_shape scalar = td_shape_scalar();
  assert_true(td_sig_shape_compatible(&unknown, &flat));
  assert_true(td_sig_shape_compatible(&unknown, &scalar));
  assert_true(td_sig_shape_compatible(&mnist, &ok));
  assert_false(td_sig_shape_compatible(&mnist, &flat));
  assert_false(td_sig_shape_compatible(&mnist, &bad_dim));
  assert_false(td_sig_shape_compatible(&mnist, &scalar));
  assert_true(td_sig_shape_compatible(&scalar, &scalar));
}

/* ---- mnist_seoinjae: flatten_input float [-1,28,28] ---- */

static void test_mnist_declared_shape_runs(void **state) {
  (void)state;
  td_model *m = load_or_skip(SEOINJAE);
  const td_signature *sig = td_model_find_signature(m, "serving_default");
  assert_non_null(sig);
  assert_int_equal(sig->num_inputs, 1);
  assert_string_equal(sig->inputs[0].alias, "flatten_input");
  assert_int_equal(sig->inputs[0].dtype, TD_DT_FLOAT);
  assert_int_equal(sig->inputs[0].shape.rank, 3);
  assert_int_equal(sig->inputs[0].shape.dim[1], 28);
  td_tensor in = zeros(TD_DT_FLOAT, 3, (const int64_t[]){2, 28, 28});
  td_status st = {0};
  assert_int_equal(td_signature_check_shapes(sig, &in, &st), TD_OK);
  td_tensor out = {0};
  assert_int_equal(td_model_run(m, sig, &in, &out, &st), TD_OK);
  assert_int_equal(out.shape.rank, 2);
  assert_int_equal(out.shape.dim[0], 2);
  assert_int_equal(out.shape.dim[1], 10);
  for (int r = 0; r < 2; r++) {
    double sum = 0;
    for (int k = 0; k < 10; k++) sum += td_f32(&out)[r * 10 + k];
    assert_true(fabs(sum - 1.0) < 1e-4); /* softmax row */
  }
  td_tensor_release(&out);
  td_tensor_release(&in);
  td_model_free(m);
}

/* TF Serving answers a flattened image (Keras Flatten reshapes to [batch, -1]); so do we,
 * with the same probabilities as the [1,28,28] request. The strict check still flags it. */
static void test_mnist_flattened_input_answers_like_tf(void **state) {
  (void)state;
  td_model *m = load_or_skip(SEOINJAE);
  const td_signature *sig = td_model_find_signature(m, "serving_default");
  td_tensor img = zeros(TD_DT_FLOAT, 3, (const int64_t[]){1, 28, 28});
  td_tensor flat = zeros(TD_DT_FLOAT, 2, (const int64_t[]){1, 784});
  for (int i = 0; i < 784; i++) td_f32(&img)[i] = td_f32(&flat)[i] = (float)((i * 37) % 256) / 255.0f;
  td_status st = {0};
  assert_int_equal(td_signature_check_shapes(sig, &flat, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "input 'flatten_input' of signature 'serving_default' has shape [1,784] but the "
                              "signature declares [?,28,28]");
  td_tensor a = {0}, b = {0};
  assert_int_equal(td_model_run(m, sig, &img, &a, &st), TD_OK);
  if (td_model_run(m, sig, &flat, &b, &st) != TD_OK) fail_msg("flattened request refused: %s", st.msg);
  assert_true(td_shape_equal(&a.shape, &b.shape));
  for (int k = 0; k < 10; k++) assert_float_equal(td_f32(&a)[k], td_f32(&b)[k], 1e-6);
  td_tensor_release(&a);
  td_tensor_release(&b);
  td_tensor_release(&img);
  td_tensor_release(&flat);
  td_model_free(m);
}

/* A request no reshape can save: the kernel's TF text comes first, then our explanation. */
static void test_mnist_wrong_shape_names_the_input(void **state) {
  (void)state;
  td_model *m = load_or_skip(SEOINJAE);
  const td_signature *sig = td_model_find_signature(m, "serving_default");
  td_tensor in = zeros(TD_DT_FLOAT, 2, (const int64_t[]){2, 5});
  td_tensor out = {0};
  td_status st = {0};
  assert_int_equal(td_model_run(m, sig, &in, &out, &st), TD_INVALID_ARGUMENT);
  print_message("error: %s\n", st.msg);
  const char *hint = strstr(st.msg, " (input 'flatten_input' of signature 'serving_default' has shape [2,5] but the "
                                    "signature declares [?,28,28])");
  assert_non_null(hint);
  assert_true(hint > st.msg);                           /* the kernel's own text is kept in front */
  assert_string_equal(hint + strlen(hint) - 1, ")");   /* and the hint ends the message */
  td_tensor_release(&in);
  td_model_free(m);
}

static void test_mnist_wrong_dtype_uses_tf_text(void **state) {
  (void)state;
  td_model *m = load_or_skip(SEOINJAE);
  const td_signature *sig = td_model_find_signature(m, "serving_default");
  td_tensor in = zeros(TD_DT_STRING, 3, (const int64_t[]){1, 28, 28});
  td_tensor out = {0};
  td_status st = {0};
  assert_int_equal(td_model_run(m, sig, &in, &out, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Expects arg[0] to be float but string is provided");
  td_tensor_release(&in);
  td_tensor in2 = zeros(TD_DT_INT32, 3, (const int64_t[]){1, 28, 28});
  assert_int_equal(td_model_run(m, sig, &in2, &out, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Expects arg[0] to be float but int32 is provided");
  td_tensor_release(&in2);
  td_model_free(m);
}

/* ---- half_plus_three: the regress signature's TensorInfo says DT_FLOAT, the graph takes
 * serialized tf.Examples; TF Serving trusts the graph, and so must we. ---- */

static const char example_x_1[] = /* tf.Example{features{feature{key:"x" value{float_list{value:1.0}}}}} */
    "\x0a\x0f\x0a\x0d\x0a\x01x\x12\x08\x12\x06\x0a\x04\x00\x00\x80\x3f";

static void test_half_plus_three_regress_trusts_the_graph(void **state) {
  (void)state;
  td_model *m = load_or_skip(HALF_PLUS_THREE);
  const td_signature *sig = td_model_find_signature(m, "tensorflow/serving/regress");
  assert_non_null(sig);
  assert_int_equal(sig->num_inputs, 1);
  assert_int_equal(sig->inputs[0].dtype, TD_DT_FLOAT); /* recorded wrongly in the export */
  td_shape one = td_shape_vector(1);
  td_tensor in;
  assert_int_equal(td_tensor_alloc(&in, TD_DT_STRING, &one, NULL), TD_OK);
  td_tensor_set_string(&in, 0, example_x_1, sizeof example_x_1 - 1);
  td_tensor out = {0};
  td_status st = {0};
  if (td_model_run(m, sig, &in, &out, &st) != TD_OK) fail_msg("%s", st.msg);
  assert_int_equal(td_tensor_num_elements(&out), 1);
  assert_float_equal(td_f32(&out)[0], 3.5f, 0); /* 0.5 * 1 + 3 */
  td_tensor_release(&out);
  td_tensor_release(&in);
  td_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shape_compatible_rules),
      cmocka_unit_test(test_mnist_declared_shape_runs),
      cmocka_unit_test(test_mnist_flattened_input_answers_like_tf),
      cmocka_unit_test(test_mnist_wrong_shape_names_the_input),
      cmocka_unit_test(test_mnist_wrong_dtype_uses_tf_text),
      cmocka_unit_test(test_half_plus_three_regress_trusts_the_graph),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
