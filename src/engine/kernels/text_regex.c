/* text_regex.c — regex kernels with RE2 semantics (through re2_shim.h): StaticRegexReplace,
 * RegexReplace, StaticRegexFullMatch, RegexFullMatch.
 *
 * Static* ops compile their `pattern` attr once per (callable, node) into td_k_state; the
 * compiled RE2 is read-only afterwards and shared by concurrent runs. The dynamic ops compile
 * the scalar pattern input on every run. Error texts are TF's ("Invalid pattern: P, error:
 * E", "Pattern must be scalar, but received [2]").
 */
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/re2_shim.h"
#include "engine/kernels/text_internal.h"

static td_code compile(td_kctx *ctx, const char *pat, size_t len, td_re2 **out) {
  char *err = NULL;
  *out = td_re2_new(pat, len, &err);
  if (*out) return TD_OK;
  td_code rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "Invalid pattern: %.*s, error: %s", (int)len, pat,
                         err ? err : "out of memory");
  free(err);
  return rc;
}

static td_code create_static(td_kctx *ctx, void **state) {
  size_t len = 0;
  const char *pat = td_attr_str(td_k_node(ctx), "pattern", &len);
  if (!pat) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "%s: missing attr 'pattern'", td_node_op(td_k_node(ctx)));
  td_re2 *re;
  TD_TRY(compile(ctx, pat, len, &re));
  *state = re;
  return TD_OK;
}

static void destroy_static(void *state) { td_re2_free(state); }

static td_code scalar_string(td_kctx *ctx, int i, const char *what, td_string *out) {
  const td_tensor *t = td_k_input(ctx, i);
  char buf[64];
  if (t->dtype != TD_DT_STRING)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "%s must be a string tensor, got %s", what, td_dtype_name(t->dtype));
  if (t->shape.rank != 0)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "%s must be scalar, but received %s", what,
                     td_shape_str(&t->shape, buf, sizeof buf));
  *out = td_str(t)[0];
  return TD_OK;
}

/* ---------------------------------------------------------------- replace */

static td_code replace_all(td_kctx *ctx, const td_re2 *re, const char *rw, size_t rlen, int global) {
  const td_tensor *in = td_k_input(ctx, 0);
  td_tensor out;
  TD_TRY(td_text_new_tensor(ctx, TD_DT_STRING, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  td_code rc = TD_OK;
  for (int64_t i = 0; i < n && rc == TD_OK; i++) {
    const td_string *s = &td_str(in)[i];
    char *res;
    size_t len;
    if (td_re2_replace(re, td_text_bytes(s), s->len, rw, rlen, global, &res, &len) < 0)
      rc = td_k_fail(ctx, TD_RESOURCE_EXHAUSTED, "%s: out of memory", td_node_op(td_k_node(ctx)));
    else td_tensor_set_string(&out, i, res, len);
    free(res);
  }
  return td_text_finish(ctx, 0, &out, rc);
}

td_code td_k_static_regex_replace(td_kctx *ctx) {
  TD_TRY(td_text_expect_string(ctx, 0, "input"));
  void *re;
  TD_TRY(td_k_state(ctx, create_static, destroy_static, &re));
  const td_node *node = td_k_node(ctx);
  size_t rlen = 0;
  const char *rw = td_attr_str(node, "rewrite", &rlen);
  if (!rw) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "StaticRegexReplace: missing attr 'rewrite'");
  return replace_all(ctx, re, rw, rlen, td_attr_bool(node, "replace_global", true));
}

td_code td_k_regex_replace(td_kctx *ctx) {
  TD_TRY(td_text_expect_string(ctx, 0, "input"));
  td_string pat = {0}, rw = {0};
  TD_TRY(scalar_string(ctx, 1, "Pattern", &pat));
  td_re2 *re;
  TD_TRY(compile(ctx, td_text_bytes(&pat), pat.len, &re));
  td_code rc = scalar_string(ctx, 2, "Rewrite", &rw);
  if (rc == TD_OK)
    rc = replace_all(ctx, re, td_text_bytes(&rw), rw.len, td_attr_bool(td_k_node(ctx), "replace_global", true));
  td_re2_free(re);
  return rc;
}

/* ---------------------------------------------------------------- full match */

static td_code full_match(td_kctx *ctx, const td_re2 *re) {
  const td_tensor *in = td_k_input(ctx, 0);
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(ctx, 0, TD_DT_BOOL, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  for (int64_t i = 0; i < n; i++) {
    const td_string *s = &td_str(in)[i];
    td_u8(out)[i] = (uint8_t)td_re2_full_match(re, td_text_bytes(s), s->len);
  }
  return TD_OK;
}

td_code td_k_static_regex_full_match(td_kctx *ctx) {
  TD_TRY(td_text_expect_string(ctx, 0, "input"));
  void *re;
  TD_TRY(td_k_state(ctx, create_static, destroy_static, &re));
  return full_match(ctx, re);
}

td_code td_k_regex_full_match(td_kctx *ctx) {
  TD_TRY(td_text_expect_string(ctx, 0, "input"));
  td_string pat = {0};
  TD_TRY(scalar_string(ctx, 1, "Pattern", &pat));
  td_re2 *re;
  TD_TRY(compile(ctx, td_text_bytes(&pat), pat.len, &re));
  td_code rc = full_match(ctx, re);
  td_re2_free(re);
  return rc;
}
