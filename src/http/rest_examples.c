/* rest_examples.c — classify / regress request JSON → serialized tf.Examples (TF Serving
 * json_tensor.cc FillClassifyRegressRequestFromJson, §1.8 of the API reference).
 *
 * Each JSON object becomes a protobuf-c Tensorflow__Example (features map; one Feature per
 * key, its kind picked by the first element and fixed after that), serialized, and stored
 * with the serialized context prepended (byte concatenation = proto merge, example wins).
 * Invariants: every protobuf-c object here is malloc'd, so one
 * protobuf_c_message_free_unpacked(..., NULL) frees an Example; the body is validated in
 * full before any semantic check (TF parses before it looks), and nothing recurses. The
 * examples tensor and every stored example (context included: the fan-out) are charged to the
 * request's budget before they are stored.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http/rest_json_internal.h"
#include "proto/tf.h"
#include "util/mem.h"
#include "util/strmap.h"

/* Kind names for "expecting type: <t>". */
static const char *kind_name(Tensorflow__Feature__KindCase k) {
  switch (k) {
  case TENSORFLOW__FEATURE__KIND_BYTES_LIST: return "bytes";
  case TENSORFLOW__FEATURE__KIND_FLOAT_LIST: return "float";
  case TENSORFLOW__FEATURE__KIND_INT64_LIST: return "int64";
  default: return "none";
  }
}

/* Repeated fields grow to the next power of two when n reaches one. */
static void *grow_pow2(void *arr, size_t n, size_t elt) {
  if (n == 0 || (n & (n - 1)) == 0) arr = td_xrealloc(arr, (n ? n * 2 : 4) * elt);
  return arr;
}

typedef struct feature_map {
  Tensorflow__Example *example;
  td_strmap index; /* name → Tensorflow__Feature* */
  size_t cap;
} feature_map;

static Tensorflow__Feature *feature_for(feature_map *m, const char *name, size_t len) {
  Tensorflow__Feature *f = td_strmap_getn(&m->index, name, len);
  if (f) return f;
  Tensorflow__Features *fs = m->example->features;
  TD_GROW(fs->feature, m->cap, fs->n_feature + 1);
  Tensorflow__Features__FeatureEntry *e = td_xmalloc(sizeof *e);
  tensorflow__features__feature_entry__init(e);
  e->key = td_xstrndup(name, len);
  f = td_xmalloc(sizeof *f);
  tensorflow__feature__init(f);
  e->value = f;
  fs->feature[fs->n_feature++] = e;
  td_strmap_putn(&m->index, name, len, f);
  return f;
}

/* Sets f's kind (first element) or checks it matches. */
static td_code want_kind(Tensorflow__Feature *f, Tensorflow__Feature__KindCase kind, const char *name, td_status *st) {
  if (f->kind_case == kind) return TD_OK;
  if (f->kind_case != TENSORFLOW__FEATURE__KIND__NOT_SET)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Unexpected element type in feature: %s expecting type: %s", name,
                         kind_name(f->kind_case));
  f->kind_case = kind;
  if (kind == TENSORFLOW__FEATURE__KIND_BYTES_LIST) {
    f->bytes_list = td_xmalloc(sizeof *f->bytes_list);
    tensorflow__bytes_list__init(f->bytes_list);
  } else if (kind == TENSORFLOW__FEATURE__KIND_FLOAT_LIST) {
    f->float_list = td_xmalloc(sizeof *f->float_list);
    tensorflow__float_list__init(f->float_list);
  } else {
    f->int64_list = td_xmalloc(sizeof *f->int64_list);
    tensorflow__int64_list__init(f->int64_list);
  }
  return TD_OK;
}

static void add_bytes(Tensorflow__BytesList *l, const void *data, size_t len) {
  l->value = grow_pow2(l->value, l->n_value, sizeof *l->value);
  ProtobufCBinaryData *b = &l->value[l->n_value++];
  b->data = td_xmalloc(len ? len : 1);
  if (len) memcpy(b->data, data, len);
  b->len = len;
}

static void add_int64(Tensorflow__Int64List *l, int64_t v) {
  l->value = grow_pow2(l->value, l->n_value, sizeof *l->value);
  l->value[l->n_value++] = v;
}

static void add_float(Tensorflow__FloatList *l, float v) {
  l->value = grow_pow2(l->value, l->n_value, sizeof *l->value);
  l->value[l->n_value++] = v;
}

static td_code type_error(const char *name, const char *type, td_status *st) {
  return td_status_set(st, TD_INVALID_ARGUMENT, "Feature: %s has element with unexpected JSON type: %s", name, type);
}

/* TF's AddSingleFeature: one JSON element appended to feature f. */
static td_code add_single_feature(td_json_reader *r, Tensorflow__Feature *f, const char *name, td_buf *scratch,
                                  td_status *st) {
  int type = td_json_peek(r);
  switch (type) {
  case TD_JSON_NULL: return type_error(name, "Null", st);
  case TD_JSON_ARRAY: return type_error(name, "Array", st);
  case TD_JSON_OBJECT: {
    if (!rest_is_b64_object(r)) return type_error(name, "Object", st);
    TD_TRY(rest_read_b64_object(r, scratch, st));
    TD_TRY(want_kind(f, TENSORFLOW__FEATURE__KIND_BYTES_LIST, name, st));
    add_bytes(f->bytes_list, scratch->data, scratch->len);
    return TD_OK;
  }
  case TD_JSON_STRING: {
    td_json_str s;
    if (td_json_read_string(r, &s) != 0) return td_json_error_status(r, st);
    TD_TRY(want_kind(f, TENSORFLOW__FEATURE__KIND_BYTES_LIST, name, st));
    add_bytes(f->bytes_list, s.data, s.len);
    return TD_OK;
  }
  case TD_JSON_TRUE:
  case TD_JSON_FALSE: {
    if (td_json_read_literal(r, NULL) != 0) return td_json_error_status(r, st);
    TD_TRY(want_kind(f, TENSORFLOW__FEATURE__KIND_INT64_LIST, name, st));
    add_int64(f->int64_list, type == TD_JSON_TRUE);
    return TD_OK;
  }
  case TD_JSON_NUMBER: {
    td_json_number n;
    if (td_json_read_number(r, &n) != 0) return td_json_error_status(r, st);
    if (n.is_double) {
      TD_TRY(want_kind(f, TENSORFLOW__FEATURE__KIND_FLOAT_LIST, name, st));
      double d = n.d; /* IEEE rounding to float without out-of-range conversion */
      add_float(f->float_list, d >= 0x1.ffffffp127 ? INFINITY : d <= -0x1.ffffffp127 ? -INFINITY : (float)d);
      return TD_OK;
    }
    if (!td_json_number_is_int64(&n))
      return td_status_set(st, TD_INVALID_ARGUMENT, "Feature: %s has uint64_t element. Only int64_t is supported.", name);
    TD_TRY(want_kind(f, TENSORFLOW__FEATURE__KIND_INT64_LIST, name, st));
    add_int64(f->int64_list, td_json_number_int64(&n));
    return TD_OK;
  }
  default: return td_json_error_status(r, st);
  }
}

/* TF's FillFeatureMapFromJson for the value at the reader → serialized Example appended to out. */
static td_code example_from_json(td_json_reader *r, td_buf *out, td_buf *scratch, td_status *st) {
  int type = td_json_peek(r);
  if (type != TD_JSON_OBJECT)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Example must be JSON object but got JSON %s",
                         td_json_type_name((td_json_type)type));
  feature_map m = {0};
  m.example = td_xmalloc(sizeof *m.example);
  tensorflow__example__init(m.example);
  m.example->features = td_xmalloc(sizeof *m.example->features);
  tensorflow__features__init(m.example->features);
  td_strmap_init(&m.index);
  td_buf name;
  td_buf_init(&name);
  td_code code = TD_OK;
  td_json_iter it = TD_JSON_ITER_INIT;
  td_json_str key;
  while (code == TD_OK && td_json_object_next(r, &it, &key) == 1) {
    td_buf_reset(&name);
    td_buf_append(&name, key.data, key.len); /* key's scratch is reused by look-aheads */
    Tensorflow__Feature *f = feature_for(&m, name.data, name.len);
    if (td_json_peek(r) == TD_JSON_ARRAY) {
      td_json_iter elems = TD_JSON_ITER_INIT;
      while (code == TD_OK && td_json_array_next(r, &elems) == 1)
        code = add_single_feature(r, f, name.data, scratch, st);
    } else {
      code = add_single_feature(r, f, name.data, scratch, st);
    }
  }
  if (code == TD_OK) {
    size_t n = tensorflow__example__get_packed_size(m.example);
    td_buf_reserve(out, n);
    tensorflow__example__pack(m.example, (uint8_t *)out->data + out->len);
    out->len += n;
    out->data[out->len] = 0;
  }
  td_buf_release(&name);
  td_strmap_release(&m.index);
  protobuf_c_message_free_unpacked(&m.example->base, NULL);
  return code;
}

typedef struct member_pos {
  int present;
  const char *at; /* value position */
} member_pos;

td_code td_rest_examples_parse(const char *body, size_t len, const char *method, char **signature_name,
                               td_tensor *examples, td_status *st) {
  return td_rest_examples_parse_budget(body, len, method, NULL, signature_name, examples, st);
}

td_code td_rest_examples_parse_budget(const char *body, size_t len, const char *method, td_budget *budget,
                                      char **signature_name, td_tensor *examples, td_status *st) {
  *signature_name = NULL;
  memset(examples, 0, sizeof *examples);
  td_json_reader r;
  td_json_reader_init(&r, body, len);
  td_buf scratch, context, item;
  td_buf_init(&scratch);
  td_buf_init(&context);
  td_buf_init(&item);
  td_code code = TD_OK;
  /* 1. The whole document must parse (an empty body: TF's own text, without an offset). */
  if (len == 0) {
    code = td_status_set(st, TD_INVALID_ARGUMENT, "JSON Parse error: The document is empty");
    goto done;
  }
  if (td_json_skip(&r) != 0) {
    code = td_json_error_status(&r, st);
    goto done;
  }
  r.p = r.begin;
  if (td_json_peek(&r) != TD_JSON_OBJECT) {
    rest_value_text(&r, &scratch);
    code = td_status_set(st, TD_INVALID_ARGUMENT, "JSON Value: %s Is not object", scratch.data ? scratch.data : "");
    goto done;
  }
  /* 2. Locate the members (first occurrence wins, like rapidjson FindMember). */
  member_pos sig = {0}, ctx = {0}, exs = {0};
  const char *doc = r.p;
  td_json_iter it = TD_JSON_ITER_INIT;
  td_json_str key;
  while (td_json_object_next(&r, &it, &key) == 1) {
    member_pos *m = rest_key_eq(&key, "signature_name") ? &sig
                    : rest_key_eq(&key, "context")      ? &ctx
                    : rest_key_eq(&key, "examples")     ? &exs
                                                        : NULL;
    if (m && !m->present) {
      m->present = 1;
      m->at = r.p;
    }
    (void)td_json_skip(&r);
  }
  if (sig.present) {
    r.p = sig.at;
    td_json_str s;
    if (td_json_peek(&r) != TD_JSON_STRING || td_json_read_string(&r, &s) != 0) {
      code = td_status_set(st, TD_INVALID_ARGUMENT, "'signature_name' key must be a string value.");
      goto done;
    }
    *signature_name = td_xstrndup(s.data, s.len);
  }
  if (!exs.present) {
    r.p = doc;
    rest_value_text(&r, &scratch);
    code = td_status_set(st, TD_INVALID_ARGUMENT, "JSON Value: %s When method is %s, key 'examples' is expected and was not found",
                         scratch.data ? scratch.data : "", method);
    goto done;
  }
  r.p = exs.at;
  if (td_json_peek(&r) != TD_JSON_ARRAY) {
    code = td_status_set(st, TD_INVALID_ARGUMENT, "Expecting 'examples' value to be an list/array");
    goto done;
  }
  long long n = rest_count_elements(&r);
  if (n == 0) {
    code = td_status_set(st, TD_INVALID_ARGUMENT, "'examples' value is an empty array");
    goto done;
  }
  /* 3. Context, then each example. */
  if (ctx.present) {
    r.p = ctx.at;
    if ((code = example_from_json(&r, &context, &scratch, st)) != TD_OK) goto done;
  }
  td_shape shape = td_shape_vector(n);
  if ((code = td_budget_charge(budget, n, (int64_t)sizeof(td_string) + 1, "the 'examples' list", st)) != TD_OK ||
      (code = td_tensor_alloc(examples, TD_DT_STRING, &shape, st)) != TD_OK)
    goto done;
  r.p = exs.at;
  td_json_iter elems = TD_JSON_ITER_INIT;
  for (long long i = 0; i < n && td_json_array_next(&r, &elems) == 1; i++) {
    td_buf_reset(&item);
    td_buf_append(&item, context.data, context.len);
    if ((code = example_from_json(&r, &item, &scratch, st)) != TD_OK) goto done;
    if ((code = td_budget_charge(budget, 1, (int64_t)item.len, "the examples (the context copied into each example)",
                                 st)) != TD_OK)
      goto done;
    td_tensor_set_string(examples, i, item.data, item.len);
  }
done:
  if (code != TD_OK) {
    free(*signature_name);
    *signature_name = NULL;
    td_tensor_release(examples);
  }
  td_buf_release(&scratch);
  td_buf_release(&context);
  td_buf_release(&item);
  td_json_reader_free(&r);
  return code;
}
