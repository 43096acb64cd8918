// rest_dense.h — the REST predict body reader for dense numeric data (rest_dense.cc), C++
// inside the fast path only (rest_fast.cc uses it; nothing in C sees it).
//
// It reads, in one pass straight from the body, a predict body of exactly this form:
//   { ["signature_name": "<plain string>",] "instances": <dense>  |  "inputs": <dense> or
//     {"<name>": <dense>, ...} }   (members in any order, each key at most once)
// where <dense> is a number or a non-empty rectangular nested list of numbers (every list as
// long as the first one at its depth, every leaf at the same depth). Numbers follow JSON's
// grammar and are converted once, to the correctly rounded double (fast_float), into one array
// of doubles; the caller converts that to the input's dtype. Anything else — other keys, strings
// with escapes or non-ASCII bytes, true/false/null, NaN/Infinity, ragged or empty lists, numbers
// too big for a double, trailing bytes, more nesting than kDenseMaxRank — is refused (false) and
// the caller uses simdjson's DOM (and then the pull reader), which know every rule and error.
//
// What a value keeps for the dtype conversion (the rules of the DOM fill / the pull reader):
// an integer token ("-0", "12") is rapidjson's Int (its double is +0.0 for "-0"); a token
// with a fraction or exponent, or an integer out of int64 range, is a double and cannot fill an
// integer input; an integer beyond ±2^53 is not exact as a double, so it cannot either (the
// DOM path reads it).
//
// Ownership: a td_rest_dense keeps its buffers between reads (capacity reused); one reader per
// object at a time. No exceptions (allocation failure refuses the body).
#ifndef TD_HTTP_REST_DENSE_H
#define TD_HTTP_REST_DENSE_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

constexpr int kDenseMaxRank = 32;

// One dense value: its shape and its span [first, first + count) of td_rest_dense::values.
struct td_rest_dense_value {
  std::string name; // member name (members of an "inputs" object); empty otherwise
  int rank = 0;
  int64_t dim[kDenseMaxRank];
  size_t first = 0, count = 0;
  bool not_int = false; // a token that cannot fill an integer input exactly (see above)
};

struct td_rest_dense {
  bool has_signature = false;
  std::string signature;
  bool has_instances = false, has_inputs = false;
  bool inputs_object = false;            // "inputs" was an object: its values are in members
  td_rest_dense_value instances, inputs; // valid when has_*, inputs only when !inputs_object
  std::vector<td_rest_dense_value> members;
  double *values = nullptr; // capacity doubles, owned
  size_t used = 0, capacity = 0;

  td_rest_dense() = default;
  td_rest_dense(const td_rest_dense &) = delete;
  td_rest_dense &operator=(const td_rest_dense &) = delete;
  ~td_rest_dense();
};

// Reads body into d (its previous contents are replaced); false: not this form (d is then
// unspecified until the next successful read).
bool td_rest_dense_read(const char *body, size_t len, td_rest_dense *d);

// Bytes of buffer capacity d holds (for the document pool's bound).
size_t td_rest_dense_bytes(const td_rest_dense *d);

#endif
