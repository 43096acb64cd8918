// rest_dense.cc — reads a dense numeric predict body in one pass (see rest_dense.h for the
// accepted form and what is refused). The grammar is checked here; decimal → double is
// fast_float's (correctly rounded), called only for tokens that are not plain integers of up to
// 19 digits and not zero. Every read stays inside [body, body + len).
#include "http/rest_dense.h"

#include <fast_float/fast_float.h>

#include <cmath>
#include <cstring>
#include <new>

td_rest_dense::~td_rest_dense() { delete[] values; }

size_t td_rest_dense_bytes(const td_rest_dense *d) { return d->capacity * sizeof(double); }

namespace {

struct cursor {
  const char *p, *end;
};

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The end of the digits at p; ORs their values into *nonzero. Eight at a time while eight bytes
// remain (one load: all of them digits?), then one by one.
inline const char *digits(const char *p, const char *end, uint64_t *nonzero) {
  for (uint64_t v; end - p >= 8; p += 8) {
    std::memcpy(&v, p, 8);
    uint64_t d = v - 0x3030303030303030ull;
    if (((v + 0x4646464646464646ull) | d) & 0x8080808080808080ull) break; // a byte not in '0'..'9'
    *nonzero |= d;
  }
  while (p < end && is_digit(*p)) *nonzero |= (uint64_t)(*p++ - '0');
  return p;
}

inline const char *skip_ws(const char *p, const char *end) {
  while (p < end && (unsigned char)*p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

inline void skip_ws(cursor *c) { c->p = skip_ws(c->p, c->end); }

// At c->p, after whitespace: ch (consumed) or false.
inline bool expect(cursor *c, char ch) {
  skip_ws(c);
  if (c->p >= c->end || *c->p != ch) return false;
  c->p++;
  return true;
}

// A string of printable ASCII without escapes, at '"'.
bool plain_string(cursor *c, std::string *out) {
  if (!expect(c, '"')) return false;
  const char *s = c->p;
  while (c->p < c->end && *c->p != '"') {
    unsigned char b = (unsigned char)*c->p;
    if (b < 0x20 || b > 0x7e || b == '\\') return false;
    c->p++;
  }
  if (c->p >= c->end) return false;
  out->assign(s, (size_t)(c->p - s));
  c->p++;
  return true;
}

bool grow(td_rest_dense *d) {
  size_t cap = d->capacity ? d->capacity * 2 : 1024;
  double *v = new (std::nothrow) double[cap];
  if (!v) return false;
  if (d->used) std::memcpy(v, d->values, d->used * sizeof(double));
  delete[] d->values;
  d->values = v;
  d->capacity = cap;
  return true;
}

// The JSON number at p (no whitespace before it) into *x; sets *not_int when it cannot fill an
// integer input (rest_dense.h). Returns the end of the number, or NULL when there is none.
inline const char *number(const char *p, const char *end, double *x, bool *not_int) {
  if (end - p > 3 && p[0] == '0' && p[1] == '.' && p[2] == '0' && !is_digit(p[3]) && (p[3] | 0x20) != 'e') {
    *x = 0.0; // "0.0": most of an image's pixels
    *not_int = true;
    return p + 3;
  }
  const char *s = p;
  bool neg = p < end && *p == '-';
  if (neg) p++;
  if (p >= end || !is_digit(*p)) return nullptr;
  const char *int_start = p;
  uint64_t nonzero = 0; // any digit other than '0'
  if (*p == '0') p++;
  else p = digits(p, end, &nonzero);
  bool integer = p >= end || (*p != '.' && *p != 'e' && *p != 'E');
  if (integer && (!nonzero || p - int_start <= 19)) { // plain integers: exact here
    uint64_t mag = 0;
    for (const char *q = int_start; q < p; q++) mag = mag * 10 + (uint64_t)(*q - '0');
    *x = mag == 0 ? 0.0 : neg ? -(double)mag : (double)mag; // "-0" too: rapidjson's Int(0), +0.0
    *not_int |= mag > (uint64_t)1 << 53; // inexact as a double (or no int64 at all)
    return p;
  }
  if (!integer && *p == '.' && (p + 1 >= end || !is_digit(p[1]))) return nullptr; // "1.", "1.e5"
  // A fraction, an exponent or an integer of 20+ digits: a double, fast_float's.
  auto r = fast_float::from_chars(s, end, *x);
  if (r.ec != std::errc() || std::isinf(*x)) return nullptr; // inf: "Number too big"
  *not_int = true;
  return r.ptr; // where it stopped: "1e", "1.5.2" leave 'e', '.' there, which no caller accepts
}

// A number or a non-empty rectangular nested list of numbers (rest_dense.h) into v.
bool dense_value(cursor *c, td_rest_dense *d, td_rest_dense_value *v) {
  int64_t count[kDenseMaxRank];
  int depth = 0, rank = -1;
  bool not_int = false;
  const char *p = c->p, *end = c->end;
  v->first = d->used;
  for (;;) { // at the start of an element (or of the value)
    p = skip_ws(p, end);
    if (p >= end) return false;
    if (*p == '[') {
      if (depth == kDenseMaxRank || (rank >= 0 && depth >= rank)) return false; // deeper than a leaf
      count[depth++] = 0;
      p++;
      continue;
    }
    if (rank < 0) rank = depth; // the first leaf fixes the rank; dims come from first lists
    else if (depth != rank) return false;
    if (d->used == d->capacity && !grow(d)) return false;
    if (!(p = number(p, end, &d->values[d->used], &not_int))) return false;
    d->used++;
    for (;;) { // after an element at this depth: ',' or ']' (closing lists)
      if (depth == 0) goto done;
      count[depth - 1]++;
      p = skip_ws(p, end);
      if (p >= end) return false;
      if (*p == ',') {
        p++;
        if (depth != rank) break; // the next element is a list: back to the element start
        p = skip_ws(p, end);      // the next leaf of this list, read here (a '[' is no number)
        if (d->used == d->capacity && !grow(d)) return false;
        if (!(p = number(p, end, &d->values[d->used], &not_int))) return false;
        d->used++;
        continue;
      }
      if (*p++ != ']') return false;
      int k = --depth; // the list at depth k closed with count[k] elements
      bool first_at_k = true;
      for (int i = 0; i < k; i++) first_at_k &= count[i] == 0; // only [0]-descendants so far
      if (first_at_k) v->dim[k] = count[k];
      else if (count[k] != v->dim[k]) return false;
    }
  }
done:
  c->p = p;
  v->rank = rank;
  v->count = d->used - v->first;
  v->not_int = not_int;
  return true;
}

// The value of "inputs": an object of named dense values, or one dense value.
bool inputs_value(cursor *c, td_rest_dense *d) {
  skip_ws(c);
  if (c->p >= c->end || *c->p != '{') {
    d->inputs_object = false;
    return dense_value(c, d, &d->inputs);
  }
  c->p++;
  d->inputs_object = true;
  if (expect(c, '}')) return false; // {}: the pull reader's errors
  do {
    d->members.emplace_back();
    td_rest_dense_value &m = d->members.back();
    if (!plain_string(c, &m.name) || !expect(c, ':')) return false;
    for (size_t i = 0; i + 1 < d->members.size(); i++)
      if (d->members[i].name == m.name) return false; // a repeated name: first one wins there
    if (!dense_value(c, d, &m)) return false;
  } while (expect(c, ','));
  return expect(c, '}');
}

bool read_body(const char *body, size_t len, td_rest_dense *d) {
  d->has_signature = d->has_instances = d->has_inputs = d->inputs_object = false;
  d->members.clear();
  d->used = 0;
  cursor c = {body, body + len};
  if (!expect(&c, '{') || expect(&c, '}')) return false;
  std::string key;
  do {
    if (!plain_string(&c, &key) || !expect(&c, ':')) return false;
    if (key == "signature_name" && !d->has_signature) {
      d->has_signature = true;
      if (!plain_string(&c, &d->signature)) return false;
    } else if (key == "instances" && !d->has_instances) {
      d->has_instances = true;
      skip_ws(&c);
      if (c.p >= c.end || *c.p != '[' || !dense_value(&c, d, &d->instances)) return false;
    } else if (key == "inputs" && !d->has_inputs) {
      d->has_inputs = true;
      if (!inputs_value(&c, d)) return false;
    } else {
      return false; // other keys, repeated keys
    }
  } while (expect(&c, ','));
  if (!expect(&c, '}')) return false;
  skip_ws(&c);
  return c.p == c.end;
}

} // namespace

bool td_rest_dense_read(const char *body, size_t len, td_rest_dense *d) {
  try { // std::string / std::vector allocations: no exception may reach the C caller
    return read_body(body, len, d);
  } catch (...) {
    return false;
  }
}
