// rest_fast.cc — the REST predict fast path (see rest_fast.h for the contract: answer 0 for
// anything not reproduced exactly; the pull reader is authoritative). A body of dense numbers
// is read by rest_dense.cc in one pass, without a DOM; any other body by simdjson's DOM.
//
// Each scanned request owns a document (the dense reading, or parser + padded copy of the body)
// until it is released; released documents wait in a small pool, bounded in bytes, for the next
// request on any thread. Only simdjson's error-code API is used, allocations are std::nothrow,
// and the two places that can still throw (rest_dense.cc's read, the pool's push_back) catch:
// no C++ exception reaches C.
#include "http/rest_fast.h"

#include "http/rest_dense.h"

#include <simdjson.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

namespace {

namespace dom = simdjson::dom;

// Idle documents kept for reuse hold at most this many body bytes of capacity in all (a
// number-heavy document touches ~3x its size in tape and indexes): a parser's first use of fresh
// memory costs page faults, more than the parse itself for multi-MB bodies, so warm parsers are
// kept — but a bounded amount, whatever the number of HTTP threads.
constexpr size_t kKeepBytes = 32u << 20;

} // namespace

// One request's parsed body: either the dense reading (is_dense) or simdjson's — the parser
// (tape, strings), the padded copy it read, and the values the scan found. Owned by the request
// from td_rest_fast_scan to td_rest_fast_release.
struct td_rest_fast_doc {
  td_rest_dense dense;
  bool is_dense = false;
  dom::parser parser;
  std::unique_ptr<char[]> buf; // body copy + SIMDJSON_PADDING
  size_t buf_cap = 0;
  dom::element instances, inputs; // valid when has_*
  bool has_instances = false, has_inputs = false;
};

namespace {

std::atomic<bool> enabled{true};
std::mutex pool_mu;
// Idle documents, guarded by pool_mu; freed at exit (nothing left for leak checkers).
struct doc_pool {
  std::vector<td_rest_fast_doc *> docs;
  ~doc_pool() {
    for (td_rest_fast_doc *d : docs) delete d;
  }
} pool;
size_t pool_bytes = 0; // sum of their doc_bytes, guarded by pool_mu

// Buffer bytes a document keeps for its next use (the pool's measure).
size_t doc_bytes(const td_rest_fast_doc *d) { return d->buf_cap + td_rest_dense_bytes(&d->dense); }

td_rest_fast_doc *acquire() {
  {
    std::lock_guard<std::mutex> lock(pool_mu);
    if (!pool.docs.empty()) {
      td_rest_fast_doc *d = pool.docs.back();
      pool.docs.pop_back();
      pool_bytes -= doc_bytes(d);
      return d;
    }
  }
  return new (std::nothrow) td_rest_fast_doc();
}

void give_back(td_rest_fast_doc *d) {
  d->has_instances = d->has_inputs = d->is_dense = false;
  size_t bytes = doc_bytes(d);
  {
    std::lock_guard<std::mutex> lock(pool_mu);
    if (pool_bytes + bytes <= kKeepBytes) {
      try {
        pool.docs.push_back(d);
        pool_bytes += bytes;
        return;
      } catch (...) { // no room to remember it (bad_alloc must not reach C): freed below
      }
    }
  }
  delete d;
}

bool copy_padded(td_rest_fast_doc *d, const char *body, size_t len) {
  size_t need = len + simdjson::SIMDJSON_PADDING;
  if (need < len) return false;
  if (d->buf_cap < need) {
    d->buf.reset(new (std::nothrow) char[need]);
    d->buf_cap = d->buf ? need : 0;
    if (!d->buf) return false;
  }
  std::memcpy(d->buf.get(), body, len);
  std::memset(d->buf.get() + len, 0, simdjson::SIMDJSON_PADDING);
  return true;
}

bool key_is(std::string_view key, const char *s) { return key.size() == std::strlen(s) && !std::memcmp(key.data(), s, key.size()); }

// TF's IsValBase64Object: an object with exactly one member "b64" whose value is a string.
bool is_b64_object(dom::element e) {
  dom::object o;
  if (e.get_object().get(o)) return false;
  size_t n = 0;
  bool b64 = false;
  for (dom::key_value_pair kv : o) {
    n++;
    b64 = key_is(kv.key, "b64") && kv.value.is_string();
  }
  return n == 1 && b64;
}

// The value one input reads: see td_rest_fast_shape.
bool select(const td_rest_fast_doc *doc, int row, const char *alias, dom::element *out) {
  if (!doc) return false;
  if (row) {
    if (!doc->has_instances || alias) return false;
    *out = doc->instances;
    return true;
  }
  if (!doc->has_inputs) return false;
  dom::element v = doc->inputs;
  bool plain = !v.is_object() || is_b64_object(v);
  if (!alias) {
    if (!plain) return false;
    *out = v;
    return true;
  }
  if (plain) return false;
  dom::object o;
  if (v.get_object().get(o)) return false;
  for (dom::key_value_pair kv : o) {
    if (key_is(kv.key, alias)) {
      *out = kv.value;
      return true;
    }
  }
  return false;
}

// TF's GetDenseTensorShape: descend into element [0] while it is a list; appended to *shape.
bool dense_shape(dom::element e, int max_rank, int *rank, int64_t *dim) {
  for (;;) {
    dom::array a;
    if (e.get_array().get(a)) return true;
    if (*rank >= max_rank) return false;
    size_t n = a.size();
    if (n == 0) return false; // empty lists: the pull reader's rules
    dim[(*rank)++] = (int64_t)n;
    e = *a.begin();
  }
}

// double → float as the pull reader's to_float: IEEE rounding, overflow to ±inf.
inline float to_f32(double d) {
  if (d >= 0x1.ffffffp127) return __builtin_inff();
  if (d <= -0x1.ffffffp127) return -__builtin_inff();
  return (float)d;
}

// One leaf → one element; false when the pull reader would not store exactly this.
template <typename T> struct leaf;
template <> struct leaf<float> {
  static bool put(dom::element e, float *out) {
    double d;
    switch (e.type()) {
    case dom::element_type::DOUBLE: d = e.get_double().value_unsafe(); break;
    case dom::element_type::INT64: d = (double)e.get_int64().value_unsafe(); break;
    case dom::element_type::UINT64: d = (double)e.get_uint64().value_unsafe(); break;
    default: return false;
    }
    *out = to_f32(d);
    return true;
  }
};
template <> struct leaf<double> {
  static bool put(dom::element e, double *out) {
    switch (e.type()) {
    case dom::element_type::DOUBLE: *out = e.get_double().value_unsafe(); return true;
    case dom::element_type::INT64: *out = (double)e.get_int64().value_unsafe(); return true;
    case dom::element_type::UINT64: *out = (double)e.get_uint64().value_unsafe(); return true;
    default: return false;
    }
  }
};
template <> struct leaf<int32_t> {
  static bool put(dom::element e, int32_t *out) {
    if (e.type() != dom::element_type::INT64) return false;
    int64_t v = e.get_int64().value_unsafe();
    if (v < INT32_MIN || v > INT32_MAX) return false;
    *out = (int32_t)v;
    return true;
  }
};
template <> struct leaf<int64_t> {
  static bool put(dom::element e, int64_t *out) {
    if (e.type() != dom::element_type::INT64) return false;
    *out = e.get_int64().value_unsafe();
    return true;
  }
};
template <> struct leaf<uint8_t> { // bool
  static bool put(dom::element e, uint8_t *out) {
    if (e.type() != dom::element_type::BOOL) return false;
    *out = e.get_bool().value_unsafe() ? 1 : 0;
    return true;
  }
};

// Fills the value e against dims[0..rank) at *out (advanced); exact sizes, leaves at rank 0.
template <typename T> bool fill_rec(dom::element e, const int64_t *dims, int rank, T *&out) {
  if (rank == 0) return leaf<T>::put(e, out++);
  dom::array a;
  if (e.get_array().get(a)) return false;
  int64_t n = 0;
  if (rank == 1) {
    for (dom::element c : a) {
      if (++n > dims[0] || !leaf<T>::put(c, out++)) return false;
    }
  } else {
    for (dom::element c : a) {
      if (++n > dims[0] || !fill_rec<T>(c, dims + 1, rank - 1, out)) return false;
    }
  }
  return n == dims[0];
}

template <typename T> bool fill_as(dom::element v, int row, int rank, const int64_t *dim, void *data) {
  T *out = static_cast<T *>(data);
  if (!row) return fill_rec<T>(v, dim, rank, out);
  // Row format: every instance against the instance shape (dims 1..), no objects.
  dom::array a;
  if (v.get_array().get(a)) return false;
  int64_t n = 0;
  for (dom::element inst : a) {
    if (++n > dim[0] || inst.is_object()) return false;
    if (!fill_rec<T>(inst, dim + 1, rank - 1, out)) return false;
  }
  return n == dim[0];
}

// ---- dense documents (rest_dense.h) ----

// The dense value one input reads (the rules of select()), or NULL.
const td_rest_dense_value *dense_select(const td_rest_dense *d, int row, const char *alias) {
  if (row) return d->has_instances && !alias ? &d->instances : nullptr;
  if (!d->has_inputs) return nullptr;
  if (!alias) return d->inputs_object ? nullptr : &d->inputs;
  if (!d->inputs_object) return nullptr;
  for (const td_rest_dense_value &m : d->members)
    if (m.name == alias) return &m;
  return nullptr;
}

// The dense value's doubles as kind (the DOM fill's rules: integer inputs take integer tokens
// in range only); false when it would not store exactly this.
bool dense_fill(const td_rest_dense *d, const td_rest_dense_value *v, td_rest_fast_kind kind, void *data) {
  const double *x = d->values + v->first;
  size_t n = v->count;
  switch (kind) {
  case TD_REST_FAST_F32:
    for (size_t i = 0; i < n; i++) static_cast<float *>(data)[i] = to_f32(x[i]);
    return true;
  case TD_REST_FAST_F64: std::memcpy(data, x, n * sizeof(double)); return true;
  case TD_REST_FAST_I32:
    if (v->not_int) return false;
    for (size_t i = 0; i < n; i++) {
      if (x[i] < INT32_MIN || x[i] > INT32_MAX) return false;
      static_cast<int32_t *>(data)[i] = (int32_t)x[i];
    }
    return true;
  case TD_REST_FAST_I64:
    if (v->not_int) return false;
    for (size_t i = 0; i < n; i++) static_cast<int64_t *>(data)[i] = (int64_t)x[i];
    return true;
  case TD_REST_FAST_BOOL: return false; // no true / false in a dense body
  }
  return false;
}

} // namespace

extern "C" int td_rest_fast_scan(const char *body, size_t len, td_rest_fast_scan_result *out) {
  std::memset(out, 0, sizeof *out);
  if (!body || len == 0 || !enabled.load(std::memory_order_relaxed)) return 0;
  if ((unsigned char)body[0] == 0xEF) return 0; // a UTF-8 BOM: rapidjson's "Invalid value."
  td_rest_fast_doc *d = acquire();
  if (!d) return 0;
  if (td_rest_dense_read(body, len, &d->dense)) {
    const td_rest_dense &dn = d->dense;
    d->is_dense = true;
    out->doc = d;
    if (dn.has_signature) {
      out->signature_name = dn.signature.c_str();
      out->signature_len = dn.signature.size();
    }
    out->has_instances = dn.has_instances;
    out->has_inputs = dn.has_inputs;
    out->instances_array = dn.has_instances; // always a list (rank >= 1) when dense
    out->num_instances = dn.has_instances ? (long long)dn.instances.dim[0] : 0;
    return 1;
  }
  dom::element root;
  dom::object o;
  if (!copy_padded(d, body, len) || d->parser.parse(d->buf.get(), len, false).get(root) ||
      root.get_object().get(o)) { // not an object: "Is not object" is the pull reader's text
    give_back(d);
    return 0;
  }
  bool has_sig = false;
  for (dom::key_value_pair kv : o) {
    if (!has_sig && key_is(kv.key, "signature_name")) {
      has_sig = true;
      std::string_view s;
      if (kv.value.get_string().get(s)) { // not a string: the pull reader's error
        give_back(d);
        return 0;
      }
      out->signature_name = s.data();
      out->signature_len = s.size();
    } else if (!d->has_instances && key_is(kv.key, "instances")) {
      d->has_instances = true;
      d->instances = kv.value;
      dom::array a;
      if (!kv.value.get_array().get(a)) {
        out->instances_array = 1;
        out->num_instances = (long long)a.size();
      }
    } else if (!d->has_inputs && key_is(kv.key, "inputs")) {
      d->has_inputs = true;
      d->inputs = kv.value;
    }
  }
  out->doc = d;
  out->has_instances = d->has_instances;
  out->has_inputs = d->has_inputs;
  return 1;
}

extern "C" int td_rest_fast_shape(const td_rest_fast_doc *doc, int row, const char *alias, int max_rank, int *rank,
                                  int64_t *dim) {
  if (doc && doc->is_dense) {
    const td_rest_dense_value *dv = dense_select(&doc->dense, row, alias);
    if (!dv || dv->rank > max_rank) return 0;
    *rank = dv->rank;
    std::memcpy(dim, dv->dim, (size_t)dv->rank * sizeof *dim);
    return 1;
  }
  dom::element v;
  if (!select(doc, row, alias, &v)) return 0;
  *rank = 0;
  if (!row) return dense_shape(v, max_rank, rank, dim) ? 1 : 0;
  dom::array a;
  if (v.get_array().get(a)) return 0;
  size_t n = a.size();
  if (n == 0) return 0;
  dom::element first = *a.begin();
  if (first.is_object()) return 0; // objects: named inputs per instance
  if (max_rank < 1) return 0;
  *rank = 1;
  dim[0] = (int64_t)n;
  return dense_shape(first, max_rank, rank, dim) ? 1 : 0;
}

extern "C" int td_rest_fast_fill(const td_rest_fast_doc *doc, int row, const char *alias, int rank, const int64_t *dim,
                                 td_rest_fast_kind kind, void *data) {
  if (doc && doc->is_dense) {
    const td_rest_dense_value *dv = dense_select(&doc->dense, row, alias);
    if (!data || !dv || dv->rank != rank || std::memcmp(dv->dim, dim, (size_t)rank * sizeof *dim)) return 0;
    return dense_fill(&doc->dense, dv, kind, data) ? 1 : 0;
  }
  dom::element v;
  if (!data || rank < (row ? 1 : 0) || !select(doc, row, alias, &v)) return 0;
  switch (kind) {
  case TD_REST_FAST_F32: return fill_as<float>(v, row, rank, dim, data);
  case TD_REST_FAST_F64: return fill_as<double>(v, row, rank, dim, data);
  case TD_REST_FAST_I32: return fill_as<int32_t>(v, row, rank, dim, data);
  case TD_REST_FAST_I64: return fill_as<int64_t>(v, row, rank, dim, data);
  case TD_REST_FAST_BOOL: return fill_as<uint8_t>(v, row, rank, dim, data);
  }
  return 0;
}

extern "C" int td_rest_fast_is_dense(const td_rest_fast_doc *doc) { return doc && doc->is_dense ? 1 : 0; }

extern "C" void td_rest_fast_release(td_rest_fast_doc *doc) {
  if (doc) give_back(doc);
}

extern "C" void td_rest_fast_set_enabled(int on) { enabled.store(on != 0, std::memory_order_relaxed); }
