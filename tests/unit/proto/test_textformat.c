/* test_textformat.c — protobuf text-format parser: every syntax feature on tensorflow
 * messages, error reporting (code + line:col), hostile input (truncation, deep nesting), and
 * the real saved_model.pbtxt from TF's testdata. Expected values are written out by hand or
 * were computed with Python's google.protobuf.text_format on the same inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/textformat.h"
#include "proto/tf.h"
#include "util/file.h"

#define PBTXT_MODEL TD_FIXTURES "/models/tf_testdata_copy_half_plus_two_pbtxt/00000123/saved_model.pbtxt"

static ProtobufCMessage *parse_ok(const ProtobufCMessageDescriptor *d, const char *text) {
  ProtobufCMessage *m = NULL;
  td_status st = {0};
  td_code c = td_textformat_parse(d, text, strlen(text), &m, &st);
  if (c != TD_OK) fail_msg("parse failed: %s", st.msg);
  assert_non_null(m);
  return m;
}

/* Parses text expecting INVALID_ARGUMENT whose message contains every given fragment. */
static void parse_fails(const ProtobufCMessageDescriptor *d, const char *text, const char *frag1, const char *frag2) {
  ProtobufCMessage *m = NULL;
  td_status st = {0};
  td_code c = td_textformat_parse(d, text, strlen(text), &m, &st);
  assert_int_equal(c, TD_INVALID_ARGUMENT);
  assert_int_equal(st.code, TD_INVALID_ARGUMENT);
  assert_null(m);
  if (!strstr(st.msg, frag1)) fail_msg("message \"%s\" lacks \"%s\"", st.msg, frag1);
  if (frag2 && !strstr(st.msg, frag2)) fail_msg("message \"%s\" lacks \"%s\"", st.msg, frag2);
}

static void test_numbers(void **state) {
  Tensorflow__TensorProto *t = (Tensorflow__TensorProto *)parse_ok(
      &tensorflow__tensor_proto__descriptor,
      "dtype: DT_FLOAT\n"
      "tensor_shape { dim { size: 2 } dim { size: -1 } }\n"
      "float_val: 1.5 float_val: [2, -inf, nan, 3f, 1e-3, -.25, inf]\n"
      "int64_val: 0x10 int64_val: -9223372036854775808 int64_val: 9223372036854775807\n"
      "version_number: 017\n"
      "uint64_val: 18446744073709551615\n"
      "double_val: 1e300 double_val: -0.0\n"
      "int_val: -2147483648");
  assert_int_equal(t->dtype, TENSORFLOW__DATA_TYPE__DT_FLOAT);
  assert_int_equal(t->tensor_shape->n_dim, 2);
  assert_int_equal(t->tensor_shape->dim[0]->size, 2);
  assert_int_equal(t->tensor_shape->dim[1]->size, -1);
  assert_int_equal(t->n_float_val, 8);
  assert_true(t->float_val[0] == 1.5f && t->float_val[1] == 2.0f);
  assert_true(isinf(t->float_val[2]) && t->float_val[2] < 0);
  assert_true(isnan(t->float_val[3]));
  assert_true(t->float_val[4] == 3.0f && t->float_val[5] == 1e-3f && t->float_val[6] == -0.25f);
  assert_true(isinf(t->float_val[7]) && t->float_val[7] > 0);
  assert_int_equal(t->n_int64_val, 3);
  assert_true(t->int64_val[0] == 16 && t->int64_val[1] == INT64_MIN && t->int64_val[2] == INT64_MAX);
  assert_int_equal(t->version_number, 15);
  assert_true(t->n_uint64_val == 1 && t->uint64_val[0] == UINT64_MAX);
  assert_true(t->n_double_val == 2 && t->double_val[0] == 1e300 && signbit(t->double_val[1]));
  assert_true(t->n_int_val == 1 && t->int_val[0] == INT32_MIN);
  protobuf_c_message_free_unpacked(&t->base, NULL);
}

static void test_bools_and_enums(void **state) {
  Tensorflow__AttrValue *a = (Tensorflow__AttrValue *)parse_ok(
      &tensorflow__attr_value__descriptor, "list { b: [true, f, 1, False, t, 0, True, false] type: DT_INT32 type: 9 }");
  assert_int_equal(a->value_case, TENSORFLOW__ATTR_VALUE__VALUE_LIST);
  static const int want[] = {1, 0, 1, 0, 1, 0, 1, 0};
  assert_int_equal(a->list->n_b, 8);
  for (int i = 0; i < 8; i++) assert_int_equal(!!a->list->b[i], want[i]);
  assert_int_equal(a->list->n_type, 2);
  assert_int_equal(a->list->type[0], TENSORFLOW__DATA_TYPE__DT_INT32);
  assert_int_equal(a->list->type[1], TENSORFLOW__DATA_TYPE__DT_INT64);
  protobuf_c_message_free_unpacked(&a->base, NULL);
}

static void test_strings_and_bytes(void **state) {
  Tensorflow__NodeDef *n = (Tensorflow__NodeDef *)parse_ok(
      &tensorflow__node_def__descriptor,
      "name: \"a\\n\\\"b\\\\\" 'c\\'' \"\\101\\x42\\u00e9\\t\"  # a comment\n"
      "op: 'Const'; device: \"\"\n"
      "input: \"x\", input: \"^y\"\n");
  assert_string_equal(n->name, "a\n\"b\\c'AB\xc3\xa9\t");
  assert_string_equal(n->op, "Const");
  assert_string_equal(n->device, "");
  assert_int_equal(n->n_input, 2);
  assert_string_equal(n->input[0], "x");
  assert_string_equal(n->input[1], "^y");
  protobuf_c_message_free_unpacked(&n->base, NULL);

  Tensorflow__AttrValue *a = (Tensorflow__AttrValue *)parse_ok(&tensorflow__attr_value__descriptor, "s: \"\\000\\001\\377z\"");
  assert_int_equal(a->value_case, TENSORFLOW__ATTR_VALUE__VALUE_S);
  assert_int_equal(a->s.len, 4);
  assert_memory_equal(a->s.data, "\0\1\377z", 4);
  protobuf_c_message_free_unpacked(&a->base, NULL);
}

static void test_oneof_last_wins(void **state) {
  /* Switching members releases the previous one (ASan checks the string and message). */
  Tensorflow__AttrValue *a = (Tensorflow__AttrValue *)parse_ok(
      &tensorflow__attr_value__descriptor, "s: \"first\" shape { dim { size: 3 } } i: 5 f: 2.5");
  assert_int_equal(a->value_case, TENSORFLOW__ATTR_VALUE__VALUE_F);
  assert_true(a->f == 2.5f);
  protobuf_c_message_free_unpacked(&a->base, NULL);
  a = (Tensorflow__AttrValue *)parse_ok(&tensorflow__attr_value__descriptor, "s: \"one\" s: \"two\"");
  assert_int_equal(a->value_case, TENSORFLOW__ATTR_VALUE__VALUE_S);
  assert_int_equal(a->s.len, 3);
  assert_memory_equal(a->s.data, "two", 3);
  protobuf_c_message_free_unpacked(&a->base, NULL);
}

static void test_messages_maps_and_lists(void **state) {
  Tensorflow__NodeDef *n = (Tensorflow__NodeDef *)parse_ok(
      &tensorflow__node_def__descriptor,
      "name: 'p' op: 'Placeholder'\n"
      "attr { key: \"dtype\" value { type: DT_INT32 } }\n"
      "attr: { key: 'shape', value < shape { unknown_rank: true } > }\n"
      "attr < key: \"dims\" value: { shape { dim: [{size: 1}, {size: 2}] dim { size: 3 } } } >\n"
      "attr { key: 'empty' value { list { } } }\n");
  assert_int_equal(n->n_attr, 4);
  assert_string_equal(n->attr[0]->key, "dtype");
  assert_int_equal(n->attr[0]->value->value_case, TENSORFLOW__ATTR_VALUE__VALUE_TYPE);
  assert_int_equal(n->attr[0]->value->type, TENSORFLOW__DATA_TYPE__DT_INT32);
  assert_string_equal(n->attr[1]->key, "shape");
  assert_true(n->attr[1]->value->shape->unknown_rank);
  const Tensorflow__TensorShapeProto *s = n->attr[2]->value->shape;
  assert_int_equal(s->n_dim, 3);
  assert_int_equal(s->dim[0]->size, 1);
  assert_int_equal(s->dim[1]->size, 2);
  assert_int_equal(s->dim[2]->size, 3);
  assert_int_equal(n->attr[3]->value->value_case, TENSORFLOW__ATTR_VALUE__VALUE_LIST);
  assert_int_equal(n->attr[3]->value->list->n_s, 0);
  protobuf_c_message_free_unpacked(&n->base, NULL);

  /* A singular message given twice merges; empty list syntax is accepted. */
  Tensorflow__TensorProto *t = (Tensorflow__TensorProto *)parse_ok(
      &tensorflow__tensor_proto__descriptor, "tensor_shape { dim { size: 1 } } tensor_shape { dim { size: 4 } } float_val: []");
  assert_int_equal(t->tensor_shape->n_dim, 2);
  assert_int_equal(t->tensor_shape->dim[1]->size, 4);
  assert_int_equal(t->n_float_val, 0);
  protobuf_c_message_free_unpacked(&t->base, NULL);
}

static void test_many_repeated(void **state) {
  /* Array growth across many powers of two. */
  size_t cap = 20000 * 24 + 1, len = 0;
  char *text = malloc(cap);
  for (int i = 0; i < 20000; i++) len += (size_t)snprintf(text + len, cap - len, "int_val: %d ", i - 7);
  ProtobufCMessage *m = NULL;
  td_status st = {0};
  assert_int_equal(td_textformat_parse(&tensorflow__tensor_proto__descriptor, text, len, &m, &st), TD_OK);
  Tensorflow__TensorProto *t = (Tensorflow__TensorProto *)m;
  assert_int_equal(t->n_int_val, 20000);
  for (int i = 0; i < 20000; i++) assert_int_equal(t->int_val[i], i - 7);
  protobuf_c_message_free_unpacked(m, NULL);
  free(text);
}

/* The bytes TF wrote for this AssetFileDef in saved_model.pbtxt ("\n\t\n\007Const:0\022\007foo.txt"). */
static const char asset_bytes[] = "\n\t\n\007Const:0\022\007foo.txt";

static void test_any_expanded_and_plain(void **state) {
  Tensorflow__CollectionDef *c = (Tensorflow__CollectionDef *)parse_ok(
      &tensorflow__collection_def__descriptor,
      "any_list {\n"
      "  value { [type.googleapis.com/tensorflow.AssetFileDef] { tensor_info { name: \"Const:0\" } filename: \"foo.txt\" } }\n"
      "  value { type_url: \"type.googleapis.com/tensorflow.AssetFileDef\" value: \"\\n\\t\\n\\007Const:0\\022\\007foo.txt\" }\n"
      "  value { [type.googleapis.com/tensorflow.TensorShapeProto]: < unknown_rank: true > }\n"
      "}");
  assert_int_equal(c->kind_case, TENSORFLOW__COLLECTION_DEF__KIND_ANY_LIST);
  assert_int_equal(c->any_list->n_value, 3);
  for (int i = 0; i < 2; i++) {
    const Google__Protobuf__Any *any = c->any_list->value[i];
    assert_string_equal(any->type_url, "type.googleapis.com/tensorflow.AssetFileDef");
    assert_int_equal(any->value.len, sizeof asset_bytes - 1);
    assert_memory_equal(any->value.data, asset_bytes, sizeof asset_bytes - 1);
  }
  const Google__Protobuf__Any *shape = c->any_list->value[2];
  assert_string_equal(shape->type_url, "type.googleapis.com/tensorflow.TensorShapeProto");
  assert_int_equal(shape->value.len, 2); /* field 3 varint 1 */
  assert_memory_equal(shape->value.data, "\x18\x01", 2);
  protobuf_c_message_free_unpacked(&c->base, NULL);

  assert_non_null(td_textformat_find_type("tensorflow.AssetFileDef"));
  assert_non_null(td_textformat_find_type("type.googleapis.com/tensorflow.MetaGraphDef.MetaInfoDef"));
  assert_null(td_textformat_find_type("tensorflow.NoSuchType"));
}

/* Error texts reach clients (a model's status, a reload's answer) and a parsed file may be a
 * link to any file: no error may quote the input. Each case hides SECRET (or its digits) in
 * the token the error is about. */
static void test_errors_never_echo_input(void **state) {
  static const struct {
    const ProtobufCMessageDescriptor *d;
    const char *text, *secret, *frag;
  } cases[] = {
      {&tensorflow__node_def__descriptor, "root:x:0:0:SECRET:/root:/bin/bash\n", "SECRET", "1:1:"},
      {&tensorflow__node_def__descriptor, "SECRETfield: 1", "SECRET", "no field of that name"},
      {&tensorflow__node_def__descriptor, "name SECRET", "SECRET", "found an identifier"},
      {&tensorflow__node_def__descriptor, "name: SECRET", "SECRET", "Expected string, got: an identifier"},
      {&tensorflow__tensor_proto__descriptor, "float_val: 'SECRET'", "SECRET", "got: a string"},
      {&tensorflow__tensor_proto__descriptor, "dtype: SECRET", "SECRET", "Unknown enumeration value"},
      {&tensorflow__tensor_proto__descriptor, "version_number: 98765432109876", "98765432109876", "out of range"},
      {&tensorflow__tensor_proto__descriptor, "uint32_val: -13579", "13579", "negative number"},
      {&tensorflow__attr_value__descriptor, "b: SECRET", "SECRET", "boolean"},
      {&google__protobuf__any__descriptor, "[type.googleapis.com/SECRET.Nope] {}", "SECRET", "type URL"},
      {&tensorflow__node_def__descriptor, "[SECRET.ext] { }", "SECRET", "Extension"},
      {&tensorflow__node_def__descriptor, "attr { key 'SECRET' }", "SECRET", "Expected \":\", found a string"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ProtobufCMessage *m = NULL;
    td_status st = {0};
    assert_int_equal(td_textformat_parse(cases[i].d, cases[i].text, strlen(cases[i].text), &m, &st),
                     TD_INVALID_ARGUMENT);
    if (strstr(st.msg, cases[i].secret)) fail_msg("case %zu: message \"%s\" echoes the input", i, st.msg);
    if (!strstr(st.msg, cases[i].frag)) fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, st.msg, cases[i].frag);
  }
}

static void test_errors(void **state) {
  const ProtobufCMessageDescriptor *nd = &tensorflow__node_def__descriptor;
  parse_fails(nd, "name: 'x'\n  nmae: 'y'", "2:3:", "Message type \"tensorflow.NodeDef\" has no field of that name");
  parse_fails(nd, "name: }", "1:7:", "Expected string");
  parse_fails(nd, "name: 'x'\nop: \"abc", "2:5:", "not terminated");
  parse_fails(nd, "op: \"ab\ncd\"", "1:5:", "not terminated");
  parse_fails(nd, "attr { key: 'a'", "1:16:", "Expected \"}\"");
  parse_fails(nd, "name 'x'", "1:6:", "Expected \":\"");
  parse_fails(nd, "name: ['a']", "1:7:", "only allowed for repeated");
  parse_fails(nd, "name: 'a\\q'", "1:7:", "Invalid escape");
  parse_fails(nd, "name: 'a' $", "1:11:", "Invalid character");
  parse_fails(nd, "[foo.bar] { }", "1:1:", "Extension");
  parse_fails(&tensorflow__tensor_proto__descriptor, "version_number: 2147483648", "1:17:", "out of range");
  parse_fails(&tensorflow__tensor_proto__descriptor, "uint32_val: -1", "1:13:", "unsigned");
  parse_fails(&tensorflow__tensor_proto__descriptor, "dtype: DT_BOGUS", "1:8:", "Unknown enumeration value");
  parse_fails(&tensorflow__tensor_proto__descriptor, "float_val: abc", "1:12:", "Expected double");
  parse_fails(&tensorflow__tensor_proto__descriptor, "int_val: 1.5", "1:10:", "Expected integer");
  parse_fails(&tensorflow__attr_value__descriptor, "b: yes", "1:4:", "boolean");
  parse_fails(&google__protobuf__any__descriptor, "[type.googleapis.com/tensorflow.Nope] {}", "1:1:", "Could not find the type");
  parse_fails(&tensorflow__saved_model__descriptor, "meta_graphs { meta_info_def { tags: 'serve' }",
              "Error parsing text-format tensorflow.SavedModel: 1:46:", NULL);
}

static void test_deep_nesting_is_refused(void **state) {
  /* StructuredValue { list_value { values { list_value { ... } } } } nested 5000 deep. */
  size_t depth = 5000, cap = depth * 40 + 16, len = 0;
  char *text = malloc(cap);
  for (size_t i = 0; i < depth; i++) len += (size_t)snprintf(text + len, cap - len, "list_value { values { ");
  for (size_t i = 0; i < depth; i++) len += (size_t)snprintf(text + len, cap - len, "} } ");
  ProtobufCMessage *m = NULL;
  td_status st = {0};
  assert_int_equal(td_textformat_parse(&tensorflow__structured_value__descriptor, text, len, &m, &st),
                   TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "too deep"));
  free(text);
}

static void test_real_saved_model_pbtxt(void **state) {
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  char *data;
  size_t len;
  td_status st = {0};
  assert_int_equal(td_read_file(PBTXT_MODEL, &data, &len, &st), TD_OK);
  ProtobufCMessage *m = NULL;
  if (td_textformat_parse(&tensorflow__saved_model__descriptor, data, len, &m, &st) != TD_OK) fail_msg("%s", st.msg);
  Tensorflow__SavedModel *sm = (Tensorflow__SavedModel *)m;
  assert_int_equal(sm->saved_model_schema_version, 1);
  assert_int_equal(sm->n_meta_graphs, 1);
  const Tensorflow__MetaGraphDef *mg = sm->meta_graphs[0];
  assert_int_equal(mg->meta_info_def->n_tags, 1);
  assert_string_equal(mg->meta_info_def->tags[0], "serve");
  assert_string_equal(mg->meta_info_def->stripped_op_list->op[0]->name, "Add");
  assert_int_equal(mg->graph_def->n_node, 49);
  assert_int_equal(mg->n_signature_def, 1);
  assert_string_equal(mg->signature_def[0]->key, "tensorflow/serving/regress");
  assert_string_equal(mg->signature_def[0]->value->method_name, "tensorflow/serving/regress");
  assert_string_equal(mg->saver_def->restore_op_name, "save/restore_all");
  assert_true(mg->saver_def->keep_checkpoint_every_n_hours == 10000.0f);
  assert_int_equal(mg->saver_def->version, TENSORFLOW__SAVER_DEF__CHECKPOINT_FORMAT_VERSION__V2);
  int found_assets = 0;
  for (size_t i = 0; i < mg->n_collection_def; i++) {
    if (strcmp(mg->collection_def[i]->key, "saved_model_assets")) continue;
    const Google__Protobuf__Any *any = mg->collection_def[i]->value->any_list->value[0];
    assert_int_equal(any->value.len, sizeof asset_bytes - 1);
    assert_memory_equal(any->value.data, asset_bytes, sizeof asset_bytes - 1);
    found_assets = 1;
  }
  assert_true(found_assets);
  /* Python's text_format.Parse + SerializeToString of this file gives 7331 bytes. */
  assert_int_equal(protobuf_c_message_get_packed_size(m), 7331);
  protobuf_c_message_free_unpacked(m, NULL);

  /* Every truncation is either a clean error or (at a field boundary) a valid message. */
  for (size_t cut = 0; cut < len; cut += 97) {
    ProtobufCMessage *part = NULL;
    td_status pst = {0};
    td_code c = td_textformat_parse(&tensorflow__saved_model__descriptor, data, cut, &part, &pst);
    if (c == TD_OK)
      protobuf_c_message_free_unpacked(part, NULL);
    else
      assert_int_equal(c, TD_INVALID_ARGUMENT);
  }
  free(data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_bools_and_enums),
      cmocka_unit_test(test_strings_and_bytes),
      cmocka_unit_test(test_oneof_last_wins),
      cmocka_unit_test(test_messages_maps_and_lists),
      cmocka_unit_test(test_many_repeated),
      cmocka_unit_test(test_any_expanded_and_plain),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_errors_never_echo_input),
      cmocka_unit_test(test_deep_nesting_is_refused),
      cmocka_unit_test(test_real_saved_model_pbtxt),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
