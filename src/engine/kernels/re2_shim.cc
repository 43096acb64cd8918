// re2_shim.cc — the C API of re2_shim.h over RE2 (the only C++ in tensord).
//
// No exception crosses into C: every entry point catches and reports failure through its
// return value. RE2 is built with log_errors = false so bad patterns from requests do not
// spam stderr; the error text is returned instead. Thread-safe as RE2 itself (const use).
#include "engine/kernels/re2_shim.h"

#include <re2/re2.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

struct td_re2 {
  re2::RE2 re;
  td_re2(const char *p, size_t n, const re2::RE2::Options &o) : re(re2::StringPiece(p, n), o) {}
};

static char *dup_string(const std::string &s, size_t *len) {
  char *p = static_cast<char *>(std::malloc(s.size() + 1));
  if (!p) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = 0;
  if (len) *len = s.size();
  return p;
}

extern "C" td_re2 *td_re2_new(const char *pattern, size_t len, char **err) {
  *err = nullptr;
  try {
    re2::RE2::Options opts;
    opts.set_log_errors(false);
    td_re2 *r = new td_re2(pattern ? pattern : "", len, opts);
    if (!r->re.ok()) {
      *err = dup_string(r->re.error(), nullptr);
      delete r;
      return nullptr;
    }
    return r;
  } catch (...) {
    return nullptr;
  }
}

extern "C" void td_re2_free(td_re2 *re) { delete re; }

extern "C" int td_re2_full_match(const td_re2 *re, const char *s, size_t len) {
  return re2::RE2::FullMatch(re2::StringPiece(s ? s : "", len), re->re) ? 1 : 0;
}

extern "C" int td_re2_replace(const td_re2 *re, const char *s, size_t len, const char *rewrite, size_t rlen,
                              int global, char **out, size_t *out_len) {
  *out = nullptr;
  try {
    std::string buf(s ? s : "", len);
    re2::StringPiece rw(rewrite ? rewrite : "", rlen);
    int n = global ? re2::RE2::GlobalReplace(&buf, re->re, rw) : (re2::RE2::Replace(&buf, re->re, rw) ? 1 : 0);
    *out = dup_string(buf, out_len);
    return *out ? n : -1;
  } catch (...) {
    return -1;
  }
}

extern "C" int td_re2_find(const td_re2 *re, const char *s, size_t len, size_t pos, size_t *m0, size_t *m1,
                           size_t *g0, size_t *g1) {
  if (re->re.NumberOfCapturingGroups() < 1 || pos > len) return 0;
  re2::StringPiece text(s ? s + pos : "", len - pos), sub[2];
  if (!re->re.Match(text, 0, text.size(), re2::RE2::UNANCHORED, sub, 2)) return 0;
  *m0 = pos + static_cast<size_t>(sub[0].data() - text.data());
  *m1 = *m0 + sub[0].size();
  if (sub[1].data()) {
    *g0 = pos + static_cast<size_t>(sub[1].data() - text.data());
    *g1 = *g0 + sub[1].size();
  } else {
    *g0 = *g1 = *m0;
  }
  return 1;
}
