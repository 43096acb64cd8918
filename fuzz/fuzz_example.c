/* fuzz_example.c — serialized tf.Example records, what classify/regress requests and
 * ParseExample-based signatures feed the engine: ParseExampleV2 with sparse, dense (with
 * defaults) and ragged features of every Example value kind, over 1-4 records cut from the
 * input. Malformed protobuf, wrong kinds, wrong lengths: TF's errors, never a crash.
 *
 * The first input byte picks the record count; the rest is split evenly into records. */
#include <stdint.h>

#include "engine/testing.h"

enum { NS = 2, ND = 3, NR = 1, NOUT = 3 * NS + ND + 2 * NR };

static td_tensor strings(int n, const char *const *v) {
  int64_t d = n;
  return td_test_tensor(TD_DT_STRING, 1, &d, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int64_t n = 1 + data[0] % 4;
  size_t body = size - 1, each = body / (size_t)n;
  td_shape vec = td_shape_vector(n);
  td_tensor serialized;
  td_status st;
  if (td_tensor_alloc(&serialized, TD_DT_STRING, &vec, &st) != TD_OK) return 0;
  for (int64_t i = 0; i < n; i++) {
    size_t from = 1 + (size_t)i * each, len = i == n - 1 ? size - from : each;
    td_tensor_set_string(&serialized, i, (const char *)data + from, len);
  }
  Tensorflow__NodeDef *nd = td_test_node_new("ParseExampleV2");
  td_test_attr_int(nd, "num_sparse", NS);
  td_test_attr_types(nd, "sparse_types", (td_dtype[]){TD_DT_INT64, TD_DT_STRING}, NS);
  td_test_attr_types(nd, "Tdense", (td_dtype[]){TD_DT_FLOAT, TD_DT_INT64, TD_DT_STRING}, ND);
  td_test_attr_shapes(nd, "dense_shapes", ND, (int[]){1, 0, 1},
                      (const int64_t *const[]){(int64_t[]){2}, NULL, (int64_t[]){-1}});
  td_test_attr_types(nd, "ragged_value_types", (td_dtype[]){TD_DT_FLOAT}, NR);
  td_test_attr_types(nd, "ragged_split_types", (td_dtype[]){TD_DT_INT64}, NR);
  int64_t two = 2, zero = 0;
  float dflt[2] = {0.5f, -1.0f};
  int64_t idflt = 7;
  const char *sdflt[] = {""};
  td_tensor in[5 + ND] = {
      serialized,
      strings(0, NULL),
      strings(NS, (const char *[]){"s", "t"}),
      strings(ND, (const char *[]){"d", "u", "v"}),
      strings(NR, (const char *[]){"g"}),
      td_test_tensor(TD_DT_FLOAT, 1, &two, dflt),
      td_test_tensor(TD_DT_INT64, 0, &zero, &idflt),
      td_test_tensor(TD_DT_STRING, 1, (int64_t[]){1}, sdflt),
  };
  td_tensor out[NOUT] = {{0}};
  if (td_test_run_op(nd, in, 5 + ND, out, NOUT, &st) == TD_OK)
    for (int i = 0; i < NOUT; i++) td_tensor_release(&out[i]);
  for (int i = 0; i < 5 + ND; i++) td_tensor_release(&in[i]);
  td_test_node_free(nd);
  return 0;
}
