/* test_serving.c — the serving map, the file-system manager and the API layer on generated
 * half_plus_two / half_plus_three fakes (tests/fakes; no ../shared needed): version
 * resolution and labels, handles that outlive retirement, hot-loading a new version,
 * a broken version that leaves the old one serving, and the API's TF Serving error texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "core/manager.h"
#include "core/servables.h"
#include "fakes/fake_model.h"
#include "util/file.h"
#include "test_shell.h"

/* y = 0.5 x + add: half_plus_two (add 2) and half_plus_three (add 3) */
static td_model *load(float add) {
  td_status st = {0};
  td_model *m = td_fake_model_new(add, &st);
  if (!m) fail_msg("fake model: %s", st.msg);
  return m;
}

static float predict_one(td_model *m, float x) {
  const td_signature *sig = td_model_find_signature(m, "serving_default");
  td_shape s = {.rank = 1, .dim = {1}};
  td_tensor in = td_tensor_borrow(TD_DT_FLOAT, &s, &x), out = {0};
  td_status st = {0};
  assert_int_equal(td_model_run(m, sig, &in, &out, &st), TD_OK);
  float y = td_f32(&out)[0];
  td_tensor_release(&out);
  return y;
}

static void test_servables_versions_labels_handles(void **state) {
  (void)state;
  td_servables *s = td_servables_new();
  td_status st = {0};
  td_handle h;
  assert_int_equal(td_servables_get(s, "m", -1, NULL, &h, &st), TD_NOT_FOUND);
  assert_string_equal(st.msg, "Servable not found for request: Latest(m)");
  td_servables_publish(s, "m", 1, load(2.0f));
  td_servables_publish(s, "m", 2, load(3.0f));
  assert_int_equal(td_servables_get(s, "m", -1, NULL, &h, &st), TD_OK);
  assert_int_equal(h.version, 2);
  assert_true(predict_one(h.model, 1.0f) == 3.5f); /* half_plus_three */
  td_handle_release(&h);
  const char *labels[1] = {"stable"};
  int64_t versions[1] = {1};
  td_servables_set_labels(s, "m", labels, versions, 1);
  assert_int_equal(td_servables_get(s, "m", -1, "stable", &h, &st), TD_OK);
  assert_int_equal(h.version, 1);
  /* retire v1 while a request holds it: lookups fail at once, the holder keeps working */
  td_servables_retire(s, "m", 1);
  td_handle again;
  assert_int_equal(td_servables_get(s, "m", 1, NULL, &again, &st), TD_NOT_FOUND);
  assert_string_equal(st.msg, "Servable not found for request: Specific(m, 1)");
  assert_true(predict_one(h.model, 1.0f) == 2.5f);
  td_version_status *vs;
  int n;
  assert_int_equal(td_servables_status(s, "m", -1, &vs, &n, &st), TD_OK);
  assert_int_equal(n, 2);
  assert_int_equal(vs[0].version, 2); /* newest first */
  assert_int_equal(vs[0].state, TD_VERSION_AVAILABLE);
  assert_int_equal(vs[1].state, TD_VERSION_UNLOADING);
  free(vs);
  td_handle_release(&h); /* last holder frees v1 */
  assert_int_equal(td_servables_status(s, "m", 1, &vs, &n, &st), TD_OK);
  assert_int_equal(n, 1);
  assert_int_equal(vs[0].state, TD_VERSION_END);
  free(vs);
  assert_int_equal(td_servables_get(s, "m", -1, "canary", &h, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Unrecognized servable version label: canary");
  assert_int_equal(td_servables_status(s, "m", 7, &vs, &n, &st), TD_NOT_FOUND);
  assert_string_equal(st.msg, "Could not find version 7 of model m");
  assert_int_equal(td_servables_status(s, "nope", -1, &vs, &n, &st), TD_NOT_FOUND);
  assert_string_equal(st.msg, "Could not find any versions of model nope");
  td_servables_free(s);
}

static char tmp_base[256];

static void test_manager_hot_load_and_broken_version(void **state) {
  (void)state;
  snprintf(tmp_base, sizeof tmp_base, "/tmp/td_manager_test_%d", (int)getpid());
  sh("rm -rf %s && mkdir -p %s", tmp_base, tmp_base);
  td_status st = {0};
  char dir[512];
  snprintf(dir, sizeof dir, "%s/1", tmp_base);
  assert_int_equal(td_fake_model_write(dir, 2.0f, &st), TD_OK);
  td_servables *s = td_servables_new();
  td_manager_options opt = {.poll_seconds = 0};
  td_manager *m = td_manager_new(s, &opt);
  assert_int_equal(td_manager_add_model(m, "hp", "relative/path", &st), TD_INVALID_ARGUMENT);
  assert_int_equal(td_manager_add_model(m, "hp", tmp_base, &st), TD_OK);
  assert_int_equal(td_manager_start(m, &st), TD_OK);
  td_handle h;
  assert_int_equal(td_servables_get(s, "hp", -1, NULL, &h, &st), TD_OK);
  assert_int_equal(h.version, 1);
  /* a new version appears: loaded, then the old one retires */
  snprintf(dir, sizeof dir, "%s/00000002", tmp_base);
  assert_int_equal(td_fake_model_write(dir, 3.0f, &st), TD_OK);
  td_manager_poll(m);
  td_handle h2;
  assert_int_equal(td_servables_get(s, "hp", -1, NULL, &h2, &st), TD_OK);
  assert_int_equal(h2.version, 2);
  assert_true(predict_one(h2.model, 2.0f) == 4.0f);
  assert_true(predict_one(h.model, 2.0f) == 3.0f); /* the old handle still answers */
  td_handle_release(&h);
  td_handle_release(&h2);
  /* a broken version 3: END with its error, version 2 keeps serving */
  sh("mkdir -p %s/3 && printf 'meta_graphs { graph_def { node { name: ' > %s/3/saved_model.pbtxt", tmp_base, tmp_base);
  td_manager_poll(m);
  assert_int_equal(td_servables_get(s, "hp", -1, NULL, &h, &st), TD_OK);
  assert_int_equal(h.version, 2);
  td_handle_release(&h);
  td_version_status *vs;
  int n;
  assert_int_equal(td_servables_status(s, "hp", 3, &vs, &n, &st), TD_OK);
  assert_int_equal(vs[0].state, TD_VERSION_END);
  assert_int_not_equal(vs[0].error_code, TD_OK);
  assert_true(strlen(vs[0].error_message) > 0);
  free(vs);
  td_manager_free(m);
  td_servables_free(s);
  sh("rm -rf %s", tmp_base);
}

static void test_api_predict_classify_regress_metadata(void **state) {
  (void)state;
  td_servables *s = td_servables_new();
  td_servables_publish(s, "hp", 123, load(2.0f));
  td_api api = {.servables = s};
  td_status st = {0};
  td_call call;
  td_model_spec spec = {.name = "hp", .version = -1, .signature_name = "nope"};
  assert_int_equal(td_api_begin(&api, &spec, TD_METHOD_PREDICT, &call, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Serving signature name: \"nope\" not found in signature def");
  assert_int_equal(td_api_begin(&api, &spec, TD_METHOD_CLASSIFY, &call, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "No signature was found with the name: nope");
  spec.signature_name = NULL;
  assert_int_equal(td_api_begin(&api, &spec, TD_METHOD_PREDICT, &call, &st), TD_OK);
  float xs[3] = {1, 2, 5};
  td_shape sh3 = {.rank = 1, .dim = {3}};
  td_named_tensor in = {.name = "x", .tensor = td_tensor_borrow(TD_DT_FLOAT, &sh3, xs)}, bad = in, *out;
  int nout;
  bad.name = "z";
  assert_int_equal(td_api_predict(&call, &bad, 1, NULL, 0, &out, &nout, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "input tensor alias not found in signature: z. Inputs expected to be in the set {x}.");
  const char *filter[1] = {"q"};
  assert_int_equal(td_api_predict(&call, &in, 1, filter, 1, &out, &nout, &st), TD_INVALID_ARGUMENT);
  assert_int_equal(td_api_predict(&call, &in, 1, NULL, 0, &out, &nout, &st), TD_OK);
  assert_int_equal(nout, 1);
  assert_string_equal(out[0].name, "y");
  assert_true(td_f32(&out[0].tensor)[2] == 4.5f);
  td_api_outputs_free(out, nout);
  td_api_end(&call);
  /* regress over serialized tf.Examples {x: [80]} */
  Tensorflow__Feature f = TENSORFLOW__FEATURE__INIT;
  Tensorflow__FloatList fl = TENSORFLOW__FLOAT_LIST__INIT;
  float v = 80.0f;
  fl.n_value = 1;
  fl.value = &v;
  f.kind_case = TENSORFLOW__FEATURE__KIND_FLOAT_LIST;
  f.float_list = &fl;
  Tensorflow__Features__FeatureEntry fe = TENSORFLOW__FEATURES__FEATURE_ENTRY__INIT, *fep = &fe;
  fe.key = "x";
  fe.value = &f;
  Tensorflow__Features feats = TENSORFLOW__FEATURES__INIT;
  feats.n_feature = 1;
  feats.feature = &fep;
  Tensorflow__Example ex = TENSORFLOW__EXAMPLE__INIT;
  ex.features = &feats;
  uint8_t buf[64];
  size_t len = tensorflow__example__pack(&ex, buf);
  td_shape sh1 = {.rank = 1, .dim = {1}};
  td_tensor examples;
  assert_int_equal(td_tensor_alloc(&examples, TD_DT_STRING, &sh1, &st), TD_OK);
  td_tensor_set_string(&examples, 0, (const char *)buf, len);
  spec.signature_name = "regress_x_to_y";
  assert_int_equal(td_api_begin(&api, &spec, TD_METHOD_REGRESS, &call, &st), TD_OK);
  float *values;
  int nv;
  assert_int_equal(td_api_regress(&call, &examples, &values, &nv, &st), TD_OK);
  assert_int_equal(nv, 1);
  assert_true(values[0] == 42.0f);
  free(values);
  td_api_end(&call);
  spec.signature_name = "classify_x_to_y";
  assert_int_equal(td_api_begin(&api, &spec, TD_METHOD_CLASSIFY, &call, &st), TD_OK);
  td_classify_result r;
  assert_int_equal(td_api_classify(&call, &examples, &r, &st), TD_OK);
  assert_int_equal(r.n_examples, 1);
  assert_int_equal(r.n_classes, 1);
  assert_true(r.classes[0].score == 42.0f);
  assert_int_equal(r.classes[0].label.len, 0);
  td_classify_result_free(&r);
  td_api_end(&call);
  td_tensor_release(&examples);
  /* metadata: resolved version and the signature map as an Any */
  Tensorflow__Serving__GetModelMetadataResponse *md;
  spec.signature_name = NULL;
  assert_int_equal(td_api_get_model_metadata(&api, &spec, &md, &st), TD_OK);
  assert_int_equal(md->model_spec->version->value, 123);
  assert_string_equal(md->metadata[0]->key, "signature_def");
  Tensorflow__Serving__SignatureDefMap *map = tensorflow__serving__signature_def_map__unpack(
      NULL, md->metadata[0]->value->value.len, md->metadata[0]->value->value.data);
  assert_non_null(map);
  assert_int_equal(map->n_signature_def, 3);
  tensorflow__serving__signature_def_map__free_unpacked(map, NULL);
  tensorflow__serving__get_model_metadata_response__free_unpacked(md, NULL);
  Tensorflow__Serving__GetModelStatusResponse *ms;
  assert_int_equal(td_api_get_model_status(&api, &spec, &ms, &st), TD_OK);
  assert_int_equal(ms->n_model_version_status, 1);
  assert_int_equal(ms->model_version_status[0]->version, 123);
  assert_int_equal(ms->model_version_status[0]->state, TD_VERSION_AVAILABLE);
  tensorflow__serving__get_model_status_response__free_unpacked(ms, NULL);
  td_servables_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_servables_versions_labels_handles),
      cmocka_unit_test(test_manager_hot_load_and_broken_version),
      cmocka_unit_test(test_api_predict_classify_regress_metadata),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
