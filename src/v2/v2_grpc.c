/* v2_grpc.c — inference.GRPCInferenceService on the gRPC port (see v2.h): each handler maps the
 * request message onto td_api (v2_infer.c, api_v2.h) and packs the response.
 *
 * ModelInfer inputs come either all as raw_input_contents (one buffer per input, in order, the
 * raw layout of v2_internal.h) or each as typed InferTensorContents; outputs mirror the choice
 * (raw_output_contents when the request used raw, or an output has no typed field: FP16/BF16).
 * The repository extension (api_v2.h, core/manager.h): RepositoryIndex lists the repository
 * models' versions and states; RepositoryModelLoad / Unload serve or stop serving one of them
 * (repository_name is ignored: tensord has one repository, its model config).
 *
 * Invariants: the request message (arena) outlives the handler, so names are borrowed from
 * it; responses are built from stack/borrowed pieces plus a scratch list of heap blocks that is
 * freed after packing.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_v2.h"
#include "inference/grpc_service.pb-c.h"
#include "util/mem.h"
#include "v2/v2.h"
#include "v2/v2_internal.h"

#define MAX_VERSIONS 256

/* Heap blocks of one response, freed together after packing. */
typedef struct scratch {
  void **p;
  int n;
  size_t cap;
} scratch;

static void *scratch_alloc(scratch *s, size_t n, size_t size) {
  TD_GROW(s->p, s->cap, s->n + 1);
  return s->p[s->n++] = td_xcalloc(n ? n : 1, size);
}

static void scratch_free(scratch *s) {
  for (int i = 0; i < s->n; i++) free(s->p[i]);
  free(s->p);
}

static td_code pack(const ProtobufCMessage *m, td_grpc_reply *reply) {
  reply->len = protobuf_c_message_get_packed_size(m);
  reply->data = td_xmalloc(reply->len + 1);
  protobuf_c_message_pack(m, reply->data);
  return TD_OK;
}

/* ---- health and metadata ---- */

static td_code handle_server_live(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                  size_t raw_len, td_grpc_reply *reply, td_status *st) {
  Inference__ServerLiveResponse r = INFERENCE__SERVER_LIVE_RESPONSE__INIT;
  r.live = 1;
  return pack(&r.base, reply);
}

static td_code handle_server_ready(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                   size_t raw_len, td_grpc_reply *reply, td_status *st) {
  Inference__ServerReadyResponse r = INFERENCE__SERVER_READY_RESPONSE__INIT;
  r.ready = td_servables_ready(ctx->api->servables) && !(ctx->draining && atomic_load(ctx->draining));
  return pack(&r.base, reply);
}

static td_code handle_model_ready(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                  size_t raw_len, td_grpc_reply *reply, td_status *st) {
  const Inference__ModelReadyRequest *req = (const Inference__ModelReadyRequest *)msg;
  td_model_spec spec;
  TD_TRY(td_v2_spec(req->name, req->version, NULL, ctx->deadline_ns, &spec, st));
  td_handle h;
  const td_signature *sig;
  td_code code = td_api_v2_resolve(ctx->api, &spec, &h, &sig, st);
  if (code == TD_NOT_FOUND && !td_api_v2_known_model(ctx->api, req->name)) return code;
  if (code == TD_OK) td_handle_release(&h);
  Inference__ModelReadyResponse r = INFERENCE__MODEL_READY_RESPONSE__INIT;
  r.ready = code == TD_OK;
  return pack(&r.base, reply);
}

static td_code handle_server_metadata(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                      size_t raw_len, td_grpc_reply *reply, td_status *st) {
  static char *extensions[] = {"binary_tensor_data", "parameters", "model_repository"};
  Inference__ServerMetadataResponse r = INFERENCE__SERVER_METADATA_RESPONSE__INIT;
  r.name = TD_V2_SERVER_NAME;
  r.version = TD_V2_SERVER_VERSION;
  r.n_extensions = sizeof extensions / sizeof extensions[0];
  r.extensions = extensions;
  return pack(&r.base, reply);
}

static Inference__ModelMetadataResponse__TensorMetadata **tensor_metadata(const td_sig_tensor *t, int n,
                                                                          scratch *s) {
  Inference__ModelMetadataResponse__TensorMetadata **out = scratch_alloc(s, (size_t)n, sizeof *out);
  for (int i = 0; i < n; i++) {
    Inference__ModelMetadataResponse__TensorMetadata *m = scratch_alloc(s, 1, sizeof *m);
    inference__model_metadata_response__tensor_metadata__init(m);
    const char *dt = td_v2_datatype(t[i].dtype);
    m->name = (char *)t[i].alias;
    m->datatype = (char *)(dt ? dt : td_dtype_name(t[i].dtype));
    int rank = t[i].shape.rank < 0 ? 1 : t[i].shape.rank; /* unknown rank: one variable dim */
    m->n_shape = (size_t)rank;
    m->shape = scratch_alloc(s, (size_t)rank, sizeof *m->shape);
    for (int d = 0; d < rank; d++) m->shape[d] = t[i].shape.rank < 0 ? -1 : t[i].shape.dim[d];
    out[i] = m;
  }
  return out;
}

static td_code handle_model_metadata(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                     size_t raw_len, td_grpc_reply *reply, td_status *st) {
  const Inference__ModelMetadataRequest *req = (const Inference__ModelMetadataRequest *)msg;
  td_model_spec spec;
  TD_TRY(td_v2_spec(req->name, req->version, NULL, ctx->deadline_ns, &spec, st));
  td_handle h;
  const td_signature *sig;
  TD_TRY(td_api_v2_resolve(ctx->api, &spec, &h, &sig, st));
  scratch s = {0};
  Inference__ModelMetadataResponse r = INFERENCE__MODEL_METADATA_RESPONSE__INIT;
  r.name = (char *)h.name;
  int64_t versions[MAX_VERSIONS];
  int n = td_api_v2_versions(ctx->api, h.name, versions, MAX_VERSIONS);
  r.versions = scratch_alloc(&s, (size_t)n, sizeof *r.versions);
  for (int i = 0; i < n; i++) {
    r.versions[i] = scratch_alloc(&s, 24, 1);
    snprintf(r.versions[i], 24, "%lld", (long long)versions[i]);
  }
  r.n_versions = (size_t)n;
  r.platform = TD_V2_PLATFORM;
  r.inputs = tensor_metadata(sig->inputs, sig->num_inputs, &s);
  r.n_inputs = (size_t)sig->num_inputs;
  r.outputs = tensor_metadata(sig->outputs, sig->num_outputs, &s);
  r.n_outputs = (size_t)sig->num_outputs;
  pack(&r.base, reply);
  scratch_free(&s);
  td_handle_release(&h);
  return TD_OK;
}

/* ---- ModelInfer ---- */

static const char *string_param(Inference__ModelInferRequest__ParametersEntry **p, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (p[i]->key && !strcmp(p[i]->key, key) && p[i]->value &&
        p[i]->value->parameter_choice_case == INFERENCE__INFER_PARAMETER__PARAMETER_CHOICE_STRING_PARAM)
      return p[i]->value->string_param;
  return NULL;
}

static td_code contents_error(const char *input, const char *field, size_t got, int64_t n, td_status *st) {
  return td_status_set(st, TD_INVALID_ARGUMENT,
                       "inference input '%s': expected %lld elements in contents.%s, got %zu", input, (long long)n,
                       field, got);
}

/* Typed contents → a new tensor of dt/shape (charged to b). Narrow integer types are range-checked. */
static td_code from_contents(const char *input, td_dtype dt, const td_shape *shape,
                             const Inference__InferTensorContents *c, td_budget *b, td_tensor *t, td_status *st) {
  int64_t n = td_shape_num_elements(shape);
  size_t got;
  const char *field;
  switch (dt) {
  case TD_DT_BOOL: got = c->n_bool_contents, field = "bool_contents"; break;
  case TD_DT_INT8:
  case TD_DT_INT16:
  case TD_DT_INT32: got = c->n_int_contents, field = "int_contents"; break;
  case TD_DT_INT64: got = c->n_int64_contents, field = "int64_contents"; break;
  case TD_DT_UINT8:
  case TD_DT_UINT16:
  case TD_DT_UINT32: got = c->n_uint_contents, field = "uint_contents"; break;
  case TD_DT_UINT64: got = c->n_uint64_contents, field = "uint64_contents"; break;
  case TD_DT_FLOAT: got = c->n_fp32_contents, field = "fp32_contents"; break;
  case TD_DT_DOUBLE: got = c->n_fp64_contents, field = "fp64_contents"; break;
  case TD_DT_STRING: got = c->n_bytes_contents, field = "bytes_contents"; break;
  default:
    return td_status_set(st, TD_INVALID_ARGUMENT, "inference input '%s': %s data must be sent as raw_input_contents",
                         input, td_v2_datatype(dt));
  }
  if ((int64_t)got != n) return contents_error(input, field, got, n, st);
  int64_t bytes = td_budget_bytes(n, (int64_t)td_dtype_size(dt), 0);
  for (size_t i = 0; dt == TD_DT_STRING && i < got; i++) bytes = td_budget_bytes(1, bytes, (int64_t)c->bytes_contents[i].len + 1);
  TD_TRY(td_budget_charge(b, 1, bytes, input, st));
  TD_TRY(td_tensor_alloc(t, dt, shape, st));
  for (int64_t i = 0; i < n; i++) {
    switch (dt) {
    case TD_DT_BOOL: td_u8(t)[i] = c->bool_contents[i] != 0; break;
    case TD_DT_INT8:
    case TD_DT_INT16: {
      int32_t v = c->int_contents[i], lim = dt == TD_DT_INT8 ? 127 : 32767;
      if (v > lim || v < -lim - 1) {
        td_tensor_release(t);
        return td_status_set(st, TD_INVALID_ARGUMENT, "inference input '%s': value %d is out of range for %s", input,
                             (int)v, td_v2_datatype(dt));
      }
      td_tensor_set_double(t, i, v);
      break;
    }
    case TD_DT_INT32: td_i32(t)[i] = c->int_contents[i]; break;
    case TD_DT_INT64: td_i64(t)[i] = c->int64_contents[i]; break;
    case TD_DT_UINT8:
    case TD_DT_UINT16: {
      uint32_t v = c->uint_contents[i];
      if (v > (dt == TD_DT_UINT8 ? 255u : 65535u)) {
        td_tensor_release(t);
        return td_status_set(st, TD_INVALID_ARGUMENT, "inference input '%s': value %u is out of range for %s", input,
                             (unsigned)v, td_v2_datatype(dt));
      }
      td_tensor_set_double(t, i, v);
      break;
    }
    case TD_DT_UINT32: ((uint32_t *)t->data)[i] = c->uint_contents[i]; break;
    case TD_DT_UINT64: ((uint64_t *)t->data)[i] = c->uint64_contents[i]; break;
    case TD_DT_FLOAT: td_f32(t)[i] = c->fp32_contents[i]; break;
    case TD_DT_DOUBLE: td_f64(t)[i] = c->fp64_contents[i]; break;
    case TD_DT_STRING:
      td_tensor_set_string(t, i, (const char *)c->bytes_contents[i].data, c->bytes_contents[i].len);
      break;
    default: break;
    }
  }
  return TD_OK;
}

static td_code infer_inputs(const td_grpc_ctx *ctx, const Inference__ModelInferRequest *req, size_t raw_len,
                            td_v2_infer *inf, td_status *st) {
  int use_raw = req->n_raw_input_contents > 0;
  if (use_raw && req->n_raw_input_contents != req->n_inputs)
    return td_status_set(st, TD_INVALID_ARGUMENT,
                         "expected %zu raw_input_contents (one per input), got %zu", req->n_inputs,
                         req->n_raw_input_contents);
  td_budget budget;
  td_api_budget(ctx->api, raw_len, &budget);
  for (size_t i = 0; i < req->n_inputs; i++) {
    const Inference__ModelInferRequest__InferInputTensor *in = req->inputs[i];
    const char *name = in->name ? in->name : "";
    td_dtype dt;
    td_shape shape;
    TD_TRY(td_v2_infer_check_input(inf, name, in->datatype, strlen(in->datatype), &dt, st));
    TD_TRY(td_v2_shape(name, in->shape, in->n_shape, &shape, st));
    td_tensor t;
    if (use_raw && in->contents)
      return td_status_set(st, TD_INVALID_ARGUMENT,
                           "inference input '%s' has contents although the request uses raw_input_contents", name);
    if (use_raw)
      TD_TRY(td_v2_tensor_view_raw(name, dt, &shape, req->raw_input_contents[i].data,
                                   req->raw_input_contents[i].len, &budget, &t, st));
    else if (in->contents)
      TD_TRY(from_contents(name, dt, &shape, in->contents, &budget, &t, st));
    else
      return td_status_set(st, TD_INVALID_ARGUMENT, "inference input '%s' has no contents", name);
    td_v2_infer_add_input(inf, name, &t);
  }
  return TD_OK;
}

/* Typed contents of an output; 0 when its dtype has none (FP16/BF16). */
static int to_contents(const td_tensor *t, Inference__InferTensorContents *c, scratch *s) {
  size_t n = (size_t)td_tensor_num_elements(t);
  switch (t->dtype) {
  case TD_DT_BOOL:
    c->bool_contents = scratch_alloc(s, n, sizeof *c->bool_contents);
    for (size_t i = 0; i < n; i++) c->bool_contents[i] = td_u8(t)[i] != 0;
    c->n_bool_contents = n;
    return 1;
  case TD_DT_INT8:
  case TD_DT_INT16:
  case TD_DT_INT32:
    c->int_contents = scratch_alloc(s, n, sizeof *c->int_contents);
    for (size_t i = 0; i < n; i++) c->int_contents[i] = (int32_t)td_tensor_get_int(t, (int64_t)i);
    c->n_int_contents = n;
    return 1;
  case TD_DT_UINT8:
  case TD_DT_UINT16:
  case TD_DT_UINT32:
    c->uint_contents = scratch_alloc(s, n, sizeof *c->uint_contents);
    for (size_t i = 0; i < n; i++) c->uint_contents[i] = (uint32_t)td_tensor_get_int(t, (int64_t)i);
    c->n_uint_contents = n;
    return 1;
  case TD_DT_INT64: c->int64_contents = td_i64(t), c->n_int64_contents = n; return 1;
  case TD_DT_UINT64: c->uint64_contents = (uint64_t *)t->data, c->n_uint64_contents = n; return 1;
  case TD_DT_FLOAT: c->fp32_contents = td_f32(t), c->n_fp32_contents = n; return 1;
  case TD_DT_DOUBLE: c->fp64_contents = td_f64(t), c->n_fp64_contents = n; return 1;
  case TD_DT_STRING:
    c->bytes_contents = scratch_alloc(s, n, sizeof *c->bytes_contents);
    for (size_t i = 0; i < n; i++) c->bytes_contents[i] = (ProtobufCBinaryData){td_str(t)[i].len, (uint8_t *)td_str(t)[i].data};
    c->n_bytes_contents = n;
    return 1;
  default: return 0;
  }
}

static void infer_response(const Inference__ModelInferRequest *req, const td_v2_infer *inf, td_grpc_reply *reply) {
  scratch s = {0};
  Inference__ModelInferResponse r = INFERENCE__MODEL_INFER_RESPONSE__INIT;
  char version[24];
  snprintf(version, sizeof version, "%lld", (long long)inf->call.handle.version);
  r.model_name = (char *)inf->call.handle.name;
  r.model_version = version;
  r.id = req->id;
  int n = inf->n_outputs;
  r.outputs = scratch_alloc(&s, (size_t)n, sizeof *r.outputs);
  r.n_outputs = (size_t)n;
  int raw = req->n_raw_input_contents > 0 || req->n_inputs == 0;
  Inference__InferTensorContents *contents = scratch_alloc(&s, (size_t)n, sizeof *contents);
  for (int i = 0; i < n && !raw; i++) {
    inference__infer_tensor_contents__init(&contents[i]);
    if (!to_contents(&inf->outputs[i].tensor, &contents[i], &s)) raw = 1;
  }
  if (raw) {
    r.raw_output_contents = scratch_alloc(&s, (size_t)n, sizeof *r.raw_output_contents);
    r.n_raw_output_contents = (size_t)n;
  }
  for (int i = 0; i < n; i++) {
    const td_tensor *t = &inf->outputs[i].tensor;
    Inference__ModelInferResponse__InferOutputTensor *o = scratch_alloc(&s, 1, sizeof *o);
    inference__model_infer_response__infer_output_tensor__init(o);
    o->name = (char *)inf->outputs[i].name;
    o->datatype = (char *)td_v2_datatype(t->dtype);
    o->n_shape = (size_t)t->shape.rank;
    o->shape = (int64_t *)t->shape.dim;
    if (raw) {
      size_t len = td_v2_raw_size(t);
      uint8_t *data = t->dtype == TD_DT_STRING ? scratch_alloc(&s, len, 1) : t->data;
      if (t->dtype == TD_DT_STRING) td_v2_tensor_write_raw(t, data);
      r.raw_output_contents[i] = (ProtobufCBinaryData){len, data};
    } else {
      o->contents = &contents[i];
    }
    r.outputs[i] = o;
  }
  pack(&r.base, reply);
  scratch_free(&s);
}

static td_code handle_model_infer(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                  size_t raw_len, td_grpc_reply *reply, td_status *st) {
  const Inference__ModelInferRequest *req = (const Inference__ModelInferRequest *)msg;
  td_model_spec spec;
  const char *signature = string_param(req->parameters, req->n_parameters, "signature_name");
  TD_TRY(td_v2_spec(req->model_name, req->model_version, signature, ctx->deadline_ns, &spec, st));
  td_v2_infer inf;
  td_code code = td_v2_infer_begin(ctx->api, &spec, &inf, st);
  if (code == TD_OK) code = infer_inputs(ctx, req, raw_len, &inf, st);
  for (size_t i = 0; code == TD_OK && i < req->n_outputs; i++)
    td_v2_infer_add_output(&inf, req->outputs[i]->name ? req->outputs[i]->name : "");
  if (code == TD_OK) code = td_v2_infer_run(&inf, st);
  if (code == TD_OK) infer_response(req, &inf, reply);
  td_v2_infer_end(&inf);
  return code;
}

/* ---- repository extension ---- */

static td_code handle_repository_index(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                       size_t raw_len, td_grpc_reply *reply, td_status *st) {
  const Inference__RepositoryIndexRequest *req = (const Inference__RepositoryIndexRequest *)msg;
  td_api_v2_index_row *rows;
  int n;
  td_api_v2_index(ctx->api, req->ready, &rows, &n);
  scratch s = {0};
  Inference__RepositoryIndexResponse r = INFERENCE__REPOSITORY_INDEX_RESPONSE__INIT;
  r.models = scratch_alloc(&s, (size_t)n, sizeof *r.models);
  r.n_models = (size_t)n;
  for (int i = 0; i < n; i++) {
    Inference__RepositoryIndexResponse__ModelIndex *m = scratch_alloc(&s, 1, sizeof *m);
    inference__repository_index_response__model_index__init(m);
    m->name = rows[i].name;
    if (rows[i].version >= 0) {
      m->version = scratch_alloc(&s, 24, 1);
      snprintf(m->version, 24, "%lld", (long long)rows[i].version);
    }
    m->state = (char *)rows[i].state;
    m->reason = rows[i].reason;
    r.models[i] = m;
  }
  pack(&r.base, reply);
  scratch_free(&s);
  td_api_v2_index_free(rows, n);
  return TD_OK;
}

/* Triton's load parameters "config" / "file:<path>" override the model's config or files. */
static int load_overrides(const Inference__RepositoryModelLoadRequest *req) {
  for (size_t i = 0; i < req->n_parameters; i++) {
    const char *k = req->parameters[i]->key ? req->parameters[i]->key : "";
    if (!strcmp(k, "config") || !strncmp(k, "file:", 5)) return 1;
  }
  return 0;
}

static td_code handle_repository_load(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                      size_t raw_len, td_grpc_reply *reply, td_status *st) {
  const Inference__RepositoryModelLoadRequest *req = (const Inference__RepositoryModelLoadRequest *)msg;
  TD_TRY(td_api_v2_load(ctx->api, req->model_name, load_overrides(req), st));
  Inference__RepositoryModelLoadResponse r = INFERENCE__REPOSITORY_MODEL_LOAD_RESPONSE__INIT;
  return pack(&r.base, reply);
}

static td_code handle_repository_unload(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                        size_t raw_len, td_grpc_reply *reply, td_status *st) {
  const Inference__RepositoryModelUnloadRequest *req = (const Inference__RepositoryModelUnloadRequest *)msg;
  TD_TRY(td_api_v2_unload(ctx->api, req->model_name, st));
  Inference__RepositoryModelUnloadResponse r = INFERENCE__REPOSITORY_MODEL_UNLOAD_RESPONSE__INIT;
  return pack(&r.base, reply);
}

#define V2_METHOD(name) "/inference.GRPCInferenceService/" name

const td_grpc_method td_v2_grpc_methods[] = {
    {V2_METHOD("ServerLive"), &inference__server_live_request__descriptor, handle_server_live},
    {V2_METHOD("ServerReady"), &inference__server_ready_request__descriptor, handle_server_ready},
    {V2_METHOD("ModelReady"), &inference__model_ready_request__descriptor, handle_model_ready},
    {V2_METHOD("ServerMetadata"), &inference__server_metadata_request__descriptor, handle_server_metadata},
    {V2_METHOD("ModelMetadata"), &inference__model_metadata_request__descriptor, handle_model_metadata},
    {V2_METHOD("ModelInfer"), &inference__model_infer_request__descriptor, handle_model_infer},
    {V2_METHOD("RepositoryIndex"), &inference__repository_index_request__descriptor, handle_repository_index},
    {V2_METHOD("RepositoryModelLoad"), &inference__repository_model_load_request__descriptor,
     handle_repository_load},
    {V2_METHOD("RepositoryModelUnload"), &inference__repository_model_unload_request__descriptor,
     handle_repository_unload},
};
const int td_v2_grpc_num_methods = (int)(sizeof td_v2_grpc_methods / sizeof td_v2_grpc_methods[0]);
