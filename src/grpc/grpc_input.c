/* grpc_input.c — decodes what gRPC clients send into td_api arguments:
 *  - Classification/Regression/MultiInference requests read straight from the protobuf wire
 *    format, so the tf.Examples reach the model as the exact bytes the client sent (no unpack /
 *    re-pack of every Example);
 *  - PredictRequest inputs: names and dtypes checked against the signature first, then each
 *    value decoded (numeric tensor_content borrowed without a copy).
 *
 * Proto semantics kept: a repeated occurrence of a message field merges (for the context
 * Example that is byte concatenation); Input's oneof switches kind on a later occurrence of the
 * other kind (dropping what the first kind collected). Each examples tensor element is
 * context bytes ++ example bytes (a proto merge: the example wins on duplicate features); a map
 * key given twice keeps its last entry.
 * Invariants: every read is bounds-checked; malformed input is INVALID_ARGUMENT, never a crash.
 * Nothing is materialized before its bytes are charged to the request's budget (util/budget.h):
 * the context fan-out into every example, every TensorProto fill; no work is quadratic in the
 * number of map entries or output filters.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "grpc/grpc_handlers.h"
#include "util/mem.h"

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

typedef struct wire_reader {
  const uint8_t *p, *end;
} wire_reader;

typedef struct wire_field {
  uint32_t number;
  int type;
  const uint8_t *data; /* WIRE_LEN payload */
  size_t len;
} wire_field;

static int read_varint(wire_reader *r, uint64_t *v) {
  uint64_t x = 0;
  for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
    uint8_t b = *r->p++;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      return 1;
    }
  }
  return 0;
}

/* Next field; returns 1 on success, 0 at the end, -1 on malformed data. */
static int next_field(wire_reader *r, wire_field *f) {
  if (r->p >= r->end) return 0;
  uint64_t key, v;
  if (!read_varint(r, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff) return -1;
  f->number = (uint32_t)(key >> 3);
  f->type = (int)(key & 7);
  f->data = NULL;
  f->len = 0;
  size_t left = (size_t)(r->end - r->p);
  switch (f->type) {
    case WIRE_VARINT: return read_varint(r, &v) ? 1 : -1;
    case WIRE_FIXED64: if (left < 8) return -1; r->p += 8; return 1;
    case WIRE_FIXED32: if (left < 4) return -1; r->p += 4; return 1;
    case WIRE_LEN:
      if (!read_varint(r, &v) || v > (uint64_t)(r->end - r->p)) return -1;
      f->data = r->p;
      f->len = (size_t)v;
      r->p += v;
      return 1;
    default: return -1; /* groups are not used by these messages */
  }
}

typedef struct piece {
  const uint8_t *p;
  size_t n;
} piece;

typedef struct input_parts {
  int kind; /* 0 none, 1 example_list, 2 example_list_with_context */
  piece *examples;
  size_t n_examples, cap_examples;
  piece *context;
  size_t n_context, cap_context;
} input_parts;

static void push_piece(piece **arr, size_t *n, size_t *cap, const uint8_t *p, size_t len) {
  TD_GROW(*arr, *cap, *n + 1);
  (*arr)[(*n)++] = (piece){p, len};
}

static td_code malformed(td_status *st, const char *what) {
  return td_status_set(st, TD_INVALID_ARGUMENT, "Could not parse %s: malformed protobuf wire data", what);
}

/* ExampleList / ExampleListWithContext body. */
static td_code walk_list(const uint8_t *p, size_t len, input_parts *in, td_status *st) {
  wire_reader r = {p, p + len};
  wire_field f;
  int rc;
  while ((rc = next_field(&r, &f)) > 0) {
    if (f.type != WIRE_LEN) continue;
    if (f.number == 1) push_piece(&in->examples, &in->n_examples, &in->cap_examples, f.data, f.len);
    else if (f.number == 2 && in->kind == 2) push_piece(&in->context, &in->n_context, &in->cap_context, f.data, f.len);
  }
  return rc < 0 ? malformed(st, "tensorflow.serving.Input") : TD_OK;
}

static td_code walk_input(const uint8_t *p, size_t len, input_parts *in, td_status *st) {
  wire_reader r = {p, p + len};
  wire_field f;
  int rc;
  while ((rc = next_field(&r, &f)) > 0) {
    if (f.type != WIRE_LEN || (f.number != 1 && f.number != 2)) continue;
    if (in->kind != (int)f.number) { /* oneof switches kind */
      in->kind = (int)f.number;
      in->n_examples = in->n_context = 0;
    }
    TD_TRY(walk_list(f.data, f.len, in, st));
  }
  return rc < 0 ? malformed(st, "tensorflow.serving.Input") : TD_OK;
}

static td_code build_examples(const input_parts *in, td_tensor *out, td_budget *budget, td_status *st) {
  size_t ctx_len = 0;
  for (size_t i = 0; i < in->n_context; i++) ctx_len += in->context[i].n;
  /* what the tensor will hold: each element is context ++ example (+ NUL) */
  int64_t bytes = td_budget_bytes((int64_t)in->n_examples, (int64_t)(sizeof(td_string) + ctx_len + 1), 0);
  for (size_t i = 0; i < in->n_examples; i++) bytes = td_budget_bytes(1, (int64_t)in->examples[i].n, bytes);
  TD_TRY(td_budget_charge(budget, 1, bytes, "the examples (the context copied into each example)", st));
  td_shape shape = td_shape_vector((int64_t)in->n_examples);
  TD_TRY(td_tensor_alloc(out, TD_DT_STRING, &shape, st));
  if (ctx_len == 0) {
    for (size_t i = 0; i < in->n_examples; i++)
      td_tensor_set_string(out, (int64_t)i, (const char *)in->examples[i].p, in->examples[i].n);
    return TD_OK;
  }
  size_t max_len = 0;
  for (size_t i = 0; i < in->n_examples; i++)
    if (in->examples[i].n > max_len) max_len = in->examples[i].n;
  char *scratch = td_xmalloc(ctx_len + max_len + 1);
  size_t off = 0;
  for (size_t i = 0; i < in->n_context; i++) {
    memcpy(scratch + off, in->context[i].p, in->context[i].n);
    off += in->context[i].n;
  }
  for (size_t i = 0; i < in->n_examples; i++) {
    if (in->examples[i].n) memcpy(scratch + ctx_len, in->examples[i].p, in->examples[i].n);
    td_tensor_set_string(out, (int64_t)i, scratch, ctx_len + in->examples[i].n);
  }
  free(scratch);
  return TD_OK;
}

td_code td_grpc_parse_example_request(const uint8_t *raw, size_t len, int multi, td_grpc_example_request *out,
                                      td_status *st) {
  return td_grpc_parse_example_request_budget(raw, len, multi, NULL, out, st);
}

td_code td_grpc_parse_example_request_budget(const uint8_t *raw, size_t len, int multi, td_budget *budget,
                                             td_grpc_example_request *out, td_status *st) {
  memset(out, 0, sizeof *out);
  input_parts in = {0};
  size_t cap_tasks = 0;
  wire_reader r = {raw, raw + len};
  wire_field f;
  int rc;
  td_code code = TD_OK;
  while (code == TD_OK && (rc = next_field(&r, &f)) > 0) {
    if (f.type != WIRE_LEN) continue;
    if (f.number == 1 && !multi) {
      out->model_spec = f.data;
      out->model_spec_len = f.len;
    } else if (f.number == 1) {
      TD_GROW(out->task, cap_tasks, (size_t)out->n_tasks + 1);
      out->task_len = td_xrealloc(out->task_len, cap_tasks * sizeof *out->task_len);
      out->task[out->n_tasks] = f.data;
      out->task_len[out->n_tasks++] = f.len;
    } else if (f.number == 2) {
      out->has_input = 1;
      code = walk_input(f.data, f.len, &in, st);
    }
  }
  if (code == TD_OK && rc < 0) code = malformed(st, multi ? "MultiInferenceRequest" : "request");
  if (code == TD_OK) code = build_examples(&in, &out->examples, budget, st);
  free(in.examples);
  free(in.context);
  if (code != TD_OK) td_grpc_example_request_release(out);
  return code;
}

void td_grpc_example_request_release(td_grpc_example_request *r) {
  free((void *)r->task);
  free(r->task_len);
  td_tensor_release(&r->examples);
  memset(r, 0, sizeof *r);
}

/* ---- PredictRequest inputs ---- */

/* A numeric tensor_content input as a borrowed view of the request's bytes; 0 if the proto
 * does not qualify (then it is decoded with td_tensor_from_proto_budget). */
static int borrow_content(const Tensorflow__TensorProto *p, td_tensor *out) {
  td_dtype dt = (td_dtype)p->dtype;
  size_t esize = td_dtype_size(dt);
  if (!td_dtype_valid(dt) || td_dtype_is_ref(dt) || dt == TD_DT_STRING || dt == TD_DT_RESOURCE ||
      dt == TD_DT_VARIANT || esize == 0 || p->tensor_content.len == 0)
    return 0;
  td_shape shape;
  if (td_shape_from_proto(p->tensor_shape, &shape, NULL) != TD_OK || shape.rank < 0) return 0;
  int64_t n = td_shape_num_elements(&shape);
  size_t align = esize < 8 ? esize : 8;
  if (n < 0 || (uint64_t)n * esize != p->tensor_content.len || (uintptr_t)p->tensor_content.data % align) return 0;
  *out = td_tensor_borrow(dt, &shape, p->tensor_content.data);
  return 1;
}

static int cmp_str_ptr(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "duplicate output tensor alias" in O(n log n) (a sorted copy of the filter). */
static td_code check_output_filter(char *const *filter, size_t n, td_status *st) {
  if (n < 2) return TD_OK;
  char **sorted = td_xmalloc(n * sizeof *sorted);
  memcpy(sorted, filter, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, cmp_str_ptr);
  td_code code = TD_OK;
  for (size_t i = 1; i < n && code == TD_OK; i++)
    if (!strcmp(sorted[i], sorted[i - 1]))
      code = td_status_set(st, TD_INVALID_ARGUMENT, "duplicate output tensor alias: %s", sorted[i]);
  free(sorted);
  return code;
}

td_code td_grpc_predict_inputs(const td_call *call, const Tensorflow__Serving__PredictRequest *req, td_budget *budget,
                               td_named_tensor **inputs, int *n_inputs, td_status *st) {
  *inputs = NULL;
  *n_inputs = 0;
  int m = call->sig->num_inputs;
  /* 1. names, before any value is decoded: the last entry of a key wins (map semantics) */
  size_t *last = td_xmalloc(((size_t)m + 1) * sizeof *last);
  for (int k = 0; k < m; k++) last[k] = SIZE_MAX;
  td_code code = TD_OK;
  { /* 0. the name set's size first (TF Serving's VerifyRequestInputsSize, api_inputs.c) */
    const char **names = td_xmalloc((req->n_inputs + 1) * sizeof *names);
    for (size_t i = 0; i < req->n_inputs; i++) names[i] = req->inputs[i]->key;
    code = td_api_check_input_names(call, names, (int)req->n_inputs, st);
    free(names);
  }
  for (size_t i = 0; i < req->n_inputs && code == TD_OK; i++) {
    int k;
    code = td_api_input_index(call, req->inputs[i]->key, &k, st);
    if (code == TD_OK) last[k] = i;
  }
  if (code == TD_OK) code = check_output_filter(req->output_filter, req->n_output_filter, st);
  /* dtypes too: a value the run would refuse ("Expects arg[k] ...", the feed check's text; feed k
   * is signature input k) is never decoded */
  for (int k = 0; k < m && code == TD_OK; k++) {
    if (last[k] == SIZE_MAX || !req->inputs[last[k]]->value) continue;
    td_dtype want = call->sig->inputs[k].dtype, got = (td_dtype)req->inputs[last[k]]->value->dtype;
    if (want != TD_DT_INVALID && td_dtype_valid(got) && got != TD_DT_INVALID && got != want)
      code = td_status_set(st, TD_INVALID_ARGUMENT, "Expects arg[%d] to be %s but %s is provided", k,
                           td_dtype_name(want), td_dtype_name(got));
  }
  /* 2. values, each charged to the budget before it is allocated */
  td_named_tensor *in = td_xcalloc((size_t)m + 1, sizeof *in);
  int n = 0;
  for (int k = 0; k < m && code == TD_OK; k++) {
    if (last[k] == SIZE_MAX) continue;
    const Tensorflow__Serving__PredictRequest__InputsEntry *e = req->inputs[last[k]];
    static const Tensorflow__TensorProto empty = TENSORFLOW__TENSOR_PROTO__INIT;
    const Tensorflow__TensorProto *tp = e->value ? e->value : &empty;
    in[n].name = e->key;
    if (borrow_content(tp, &in[n].tensor)) {
      n++;
      continue;
    }
    char what[160];
    snprintf(what, sizeof what, "input '%.100s'", e->key);
    td_status inner;
    td_status_clear(&inner);
    td_code c = td_tensor_from_proto_budget(tp, &in[n].tensor, budget, what, &inner);
    if (c == TD_OK) n++;
    else if (c == TD_RESOURCE_EXHAUSTED) code = td_status_set(st, c, "%s", inner.msg);
    else code = td_status_set(st, TD_INVALID_ARGUMENT, "tensor parsing error: %s", e->key);
  }
  free(last);
  if (code != TD_OK) {
    for (int i = 0; i < n; i++) td_tensor_release(&in[i].tensor);
    free(in);
    return code;
  }
  *inputs = in;
  *n_inputs = n;
  return TD_OK;
}
