// rest_fast.cc — the REST predict fast path over simdjson's DOM (see rest_fast.h for the
// contract: answer 0 for anything not reproduced exactly; the pull reader is authoritative).
//
// One dom::parser and one padded copy buffer per thread, reused across requests; a global
// counter numbers documents so a stale handle is refused. Only simdjson's error-code API is
// used (nothing here throws; allocations are std::nothrow): no C++ exception reaches C.
#include "http/rest_fast.h"

#include <simdjson.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

namespace {

namespace dom = simdjson::dom;

// Past this many body bytes a thread gives its parser's and buffer's memory back after use.
constexpr size_t kKeepBytes = 8u << 20;

struct fast_state {
  std::unique_ptr<dom::parser> parser;
  std::unique_ptr<char[]> buf; // body copy + SIMDJSON_PADDING
  size_t buf_cap = 0;
  uint64_t gen = 0;
  size_t len = 0;
  dom::element root;
  dom::element instances, inputs; // valid when has_*
  bool has_instances = false, has_inputs = false;
};

thread_local fast_state tls;
std::atomic<uint64_t> next_gen{1};
std::atomic<bool> enabled{true};

bool copy_padded(const char *body, size_t len) {
  size_t need = len + simdjson::SIMDJSON_PADDING;
  if (need < len) return false;
  if (tls.buf_cap < need) {
    tls.buf.reset(new (std::nothrow) char[need]);
    tls.buf_cap = tls.buf ? need : 0;
    if (!tls.buf) return false;
  }
  std::memcpy(tls.buf.get(), body, len);
  std::memset(tls.buf.get() + len, 0, simdjson::SIMDJSON_PADDING);
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
bool select(uint64_t gen, int row, const char *alias, dom::element *out) {
  if (gen == 0 || gen != tls.gen) return false;
  if (row) {
    if (!tls.has_instances || alias) return false;
    *out = tls.instances;
    return true;
  }
  if (!tls.has_inputs) return false;
  dom::element v = tls.inputs;
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
    // double → float as the pull reader's to_float: IEEE rounding, overflow to ±inf.
    if (d >= 0x1.ffffffp127) *out = __builtin_inff();
    else if (d <= -0x1.ffffffp127) *out = -__builtin_inff();
    else *out = (float)d;
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

} // namespace

extern "C" int td_rest_fast_scan(const char *body, size_t len, td_rest_fast_scan_result *out) {
  std::memset(out, 0, sizeof *out);
  tls.gen = 0;
  tls.has_instances = tls.has_inputs = false;
  if (!body || len == 0 || !enabled.load(std::memory_order_relaxed)) return 0;
  if ((unsigned char)body[0] == 0xEF) return 0; // a UTF-8 BOM: rapidjson's "Invalid value."
  if (!tls.parser) {
    tls.parser.reset(new (std::nothrow) dom::parser());
    if (!tls.parser) return 0;
  }
  if (!copy_padded(body, len)) return 0;
  dom::element root;
  if (tls.parser->parse(tls.buf.get(), len, false).get(root)) return 0;
  dom::object o;
  if (root.get_object().get(o)) return 0; // "Is not object": the pull reader's text
  bool has_sig = false;
  for (dom::key_value_pair kv : o) {
    if (!has_sig && key_is(kv.key, "signature_name")) {
      has_sig = true;
      std::string_view s;
      if (kv.value.get_string().get(s)) return 0; // not a string: the pull reader's error
      out->signature_name = s.data();
      out->signature_len = s.size();
    } else if (!tls.has_instances && key_is(kv.key, "instances")) {
      tls.has_instances = true;
      tls.instances = kv.value;
      dom::array a;
      if (!kv.value.get_array().get(a)) {
        out->instances_array = 1;
        out->num_instances = (long long)a.size();
      }
    } else if (!tls.has_inputs && key_is(kv.key, "inputs")) {
      tls.has_inputs = true;
      tls.inputs = kv.value;
    }
  }
  tls.root = root;
  tls.len = len;
  tls.gen = next_gen.fetch_add(1, std::memory_order_relaxed);
  out->gen = tls.gen;
  out->has_instances = tls.has_instances;
  out->has_inputs = tls.has_inputs;
  return 1;
}

extern "C" int td_rest_fast_shape(uint64_t gen, int row, const char *alias, int max_rank, int *rank, int64_t *dim) {
  dom::element v;
  if (!select(gen, row, alias, &v)) return 0;
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

extern "C" int td_rest_fast_fill(uint64_t gen, int row, const char *alias, int rank, const int64_t *dim,
                                 td_rest_fast_kind kind, void *data) {
  dom::element v;
  if (!data || rank < (row ? 1 : 0) || !select(gen, row, alias, &v)) return 0;
  switch (kind) {
  case TD_REST_FAST_F32: return fill_as<float>(v, row, rank, dim, data);
  case TD_REST_FAST_F64: return fill_as<double>(v, row, rank, dim, data);
  case TD_REST_FAST_I32: return fill_as<int32_t>(v, row, rank, dim, data);
  case TD_REST_FAST_I64: return fill_as<int64_t>(v, row, rank, dim, data);
  case TD_REST_FAST_BOOL: return fill_as<uint8_t>(v, row, rank, dim, data);
  }
  return 0;
}

extern "C" void td_rest_fast_release(uint64_t gen) {
  if (gen == 0 || gen != tls.gen) return;
  tls.gen = 0;
  tls.has_instances = tls.has_inputs = false;
  if (tls.len > kKeepBytes) {
    tls.parser.reset();
    tls.buf.reset();
    tls.buf_cap = 0;
  }
  tls.len = 0;
}

extern "C" void td_rest_fast_set_enabled(int on) { enabled.store(on != 0, std::memory_order_relaxed); }
