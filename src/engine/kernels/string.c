/* string.c — string kernels: StringToHashBucketFast, AsString, StringToNumber, DecodeBase64,
 * EncodeBase64, StringJoin, Substr (unit BYTE or UTF8_CHAR; input and pos/len broadcast).
 *
 * Semantics and error texts follow TF's kernels: hashing is FarmHash Fingerprint64 mod
 * num_buckets; AsString builds TF's printf format from its attrs; StringToNumber accepts what
 * TF's safe_strto* accept; base64 is TF's web-safe alphabet ('-', '_') with optional '='
 * padding. String outputs are built in kernel-owned tensors (td_tensor_alloc) and handed to
 * the output slot with td_k_set_output; numeric outputs come from td_k_alloc_output.
 * Kernels are stateless and reentrant.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "engine/kernels/string_num.h"
#include "util/farmhash.h"
#include "util/mem.h"

/* ---------------------------------------------------------------- helpers */

static const char *shape_text(const td_shape *s, char *buf, size_t n) { return td_shape_str(s, buf, n); }

/* Allocates a kernel-owned STRING tensor of `shape` in *t. */
static td_code new_string_tensor(td_kctx *ctx, const td_shape *shape, td_tensor *t) {
  td_status st;
  if (td_tensor_alloc(t, TD_DT_STRING, shape, &st) != TD_OK) return td_k_fail(ctx, st.code, "%s", st.msg);
  return TD_OK;
}

/* Hands a kernel-owned tensor to output i (or drops it on failure). */
static td_code finish_string_output(td_kctx *ctx, int i, td_tensor *t, td_code rc) {
  if (rc == TD_OK) td_k_set_output(ctx, i, t);
  td_tensor_release(t);
  return rc;
}

static td_code expect_string_input(td_kctx *ctx, int i, const char *what) {
  const td_tensor *t = td_k_input(ctx, i);
  if (t->dtype != TD_DT_STRING)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "%s must be a string tensor, got %s", what,
                     td_dtype_name(t->dtype));
  return TD_OK;
}

/* ---------------------------------------------------------------- StringToHashBucketFast */

td_code td_k_string_to_hash_bucket_fast(td_kctx *ctx) {
  TD_TRY(expect_string_input(ctx, 0, "input"));
  const td_tensor *in = td_k_input(ctx, 0);
  int64_t buckets = td_attr_int(td_k_node(ctx), "num_buckets", 0);
  if (buckets < 1)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "num_buckets must be >= 1, got %" PRId64, buckets);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(ctx, 0, TD_DT_INT64, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  const td_string *s = td_str(in);
  int64_t *o = td_i64(out);
  for (int64_t i = 0; i < n; i++)
    o[i] = (int64_t)(td_fingerprint64(s[i].data ? s[i].data : "", s[i].len) % (uint64_t)buckets);
  return TD_OK;
}

/* ---------------------------------------------------------------- AsString */

typedef enum { AS_SIGNED, AS_UNSIGNED, AS_FLOAT, AS_COMPLEX, AS_BOOL, AS_STRING } as_class;

static const struct as_type {
  td_dtype dtype;
  as_class cls;
  const char *conv; /* printf conversion for ints / strings; floats pick f/e/g */
} kAsTypes[] = {
    {TD_DT_INT8, AS_SIGNED, "lld"},    {TD_DT_INT16, AS_SIGNED, "lld"},
    {TD_DT_INT32, AS_SIGNED, "lld"},   {TD_DT_INT64, AS_SIGNED, "lld"},
    {TD_DT_UINT8, AS_UNSIGNED, "llu"}, {TD_DT_UINT16, AS_UNSIGNED, "llu"},
    {TD_DT_UINT32, AS_UNSIGNED, "llu"}, {TD_DT_UINT64, AS_UNSIGNED, "llu"},
    {TD_DT_HALF, AS_FLOAT, NULL},      {TD_DT_BFLOAT16, AS_FLOAT, NULL},
    {TD_DT_FLOAT, AS_FLOAT, NULL},     {TD_DT_DOUBLE, AS_FLOAT, NULL},
    {TD_DT_COMPLEX64, AS_COMPLEX, NULL}, {TD_DT_COMPLEX128, AS_COMPLEX, NULL},
    {TD_DT_BOOL, AS_BOOL, NULL},       {TD_DT_STRING, AS_STRING, "s"},
};

static double as_real(const td_tensor *t, int64_t i) {
  switch (t->dtype) {
    case TD_DT_COMPLEX64: return ((const float *)t->data)[2 * i];
    case TD_DT_COMPLEX128: return ((const double *)t->data)[2 * i];
    default: return td_tensor_get_double(t, i);
  }
}

static double as_imag(const td_tensor *t, int64_t i) {
  return t->dtype == TD_DT_COMPLEX64 ? ((const float *)t->data)[2 * i + 1]
                                     : ((const double *)t->data)[2 * i + 1];
}

static uint64_t as_unsigned(const td_tensor *t, int64_t i) {
  if (t->dtype == TD_DT_UINT64) return ((const uint64_t *)t->data)[i];
  return (uint64_t)td_tensor_get_int(t, i);
}

/* Formats element i into *out (heap); returns its length or -1. */
static int as_format(const char *fmt, const td_tensor *in, const struct as_type *ty, int64_t i, char **out) {
  char small[64];
  int n = 0;
  for (int pass = 0; pass < 2; pass++) {
    char *buf = pass ? *out : small;
    size_t cap = pass ? (size_t)n + 1 : sizeof small;
    switch (ty->cls) {
      case AS_SIGNED: n = snprintf(buf, cap, fmt, (long long)td_tensor_get_int(in, i)); break;
      case AS_UNSIGNED: n = snprintf(buf, cap, fmt, (unsigned long long)as_unsigned(in, i)); break;
      case AS_FLOAT: n = snprintf(buf, cap, fmt, as_real(in, i)); break;
      case AS_COMPLEX: n = snprintf(buf, cap, fmt, as_real(in, i), as_imag(in, i)); break;
      case AS_STRING: {
        td_string s = td_str(in)[i];
        char *z = td_xstrndup(s.data ? s.data : "", s.len);
        n = snprintf(buf, cap, fmt, z);
        free(z);
        break;
      }
      case AS_BOOL: n = snprintf(buf, cap, "%s", td_u8(in)[i] ? "true" : "false"); break;
    }
    if (n < 0) return -1;
    if (pass == 0) {
      *out = malloc((size_t)n + 1);
      if (!*out) return -1;
      if ((size_t)n < sizeof small) {
        memcpy(*out, small, (size_t)n + 1);
        return n;
      }
    }
  }
  return n;
}

td_code td_k_as_string(td_kctx *ctx) {
  const td_node *node = td_k_node(ctx);
  const td_tensor *in = td_k_input(ctx, 0);
  const struct as_type *ty = NULL;
  for (size_t k = 0; k < sizeof kAsTypes / sizeof kAsTypes[0]; k++)
    if (kAsTypes[k].dtype == in->dtype) ty = &kAsTypes[k];
  if (!ty) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Type not supported: %s", td_dtype_name(in->dtype));
  int64_t precision = td_attr_int(node, "precision", -1), width = td_attr_int(node, "width", -1);
  bool scientific = td_attr_bool(node, "scientific", false), shortest = td_attr_bool(node, "shortest", false);
  size_t fill_len = 0;
  const char *fill = td_attr_str(node, "fill", &fill_len);
  if (!fill) fill_len = 0;
  if (scientific && shortest)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Cannot select both scientific and shortest notation");
  if (fill_len > 1)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Fill string must be one or fewer characters");
  if (precision > 1000000 || width > 1000000)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "AsString: precision/width too large");
  char fmt[128];
  size_t at = 0;
  fmt[at++] = '%';
  if (fill_len == 1) {
    if (!strchr(" +-0#", fill[0]))
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Fill argument not supported: \"%.*s\"", (int)fill_len, fill);
    fmt[at++] = fill[0];
  }
  if (width > -1) at += (size_t)snprintf(fmt + at, sizeof fmt - at, "%" PRId64, width);
  if (ty->cls == AS_SIGNED || ty->cls == AS_UNSIGNED) {
    const char *bad = scientific ? "scientific" : shortest ? "shortest" : precision > -1 ? "precision" : NULL;
    if (bad)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "%s not supported for dtype %s", bad, td_dtype_name(in->dtype));
  }
  if (precision > -1) at += (size_t)snprintf(fmt + at, sizeof fmt - at, ".%" PRId64, precision);
  if (ty->cls == AS_FLOAT || ty->cls == AS_COMPLEX)
    snprintf(fmt + at, sizeof fmt - at, "%s", shortest ? "g" : scientific ? "e" : "f");
  else
    snprintf(fmt + at, sizeof fmt - at, "%s", ty->conv ? ty->conv : "");
  if (ty->cls == AS_COMPLEX) {
    char one[60];
    if (strlen(fmt) >= sizeof one) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "AsString: format too long");
    memcpy(one, fmt, strlen(fmt) + 1);
    snprintf(fmt, sizeof fmt, "(%s,%s)", one, one);
  }

  td_tensor out;
  TD_TRY(new_string_tensor(ctx, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  td_code rc = TD_OK;
  for (int64_t i = 0; i < n && rc == TD_OK; i++) {
    char *s = NULL;
    int len = as_format(fmt, in, ty, i, &s);
    if (len < 0) rc = td_k_fail(ctx, TD_RESOURCE_EXHAUSTED, "AsString: formatting failed");
    else td_tensor_set_string(&out, i, s, (size_t)len);
    free(s);
  }
  return finish_string_output(ctx, 0, &out, rc);
}

/* ---------------------------------------------------------------- StringToNumber */

td_code td_k_string_to_number(td_kctx *ctx) {
  TD_TRY(expect_string_input(ctx, 0, "string_tensor"));
  const td_tensor *in = td_k_input(ctx, 0);
  td_dtype dt = td_attr_type(td_k_node(ctx), "out_type", TD_DT_FLOAT);
  if (dt != TD_DT_FLOAT && dt != TD_DT_DOUBLE && dt != TD_DT_INT32 && dt != TD_DT_INT64)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "StringToNumber: unsupported out_type %s", td_dtype_name(dt));
  td_tensor *out;
  TD_TRY(td_k_alloc_output(ctx, 0, dt, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  for (int64_t i = 0; i < n; i++) {
    td_string s = td_str(in)[i];
    const char *p = s.data ? s.data : "";
    int ok;
    if (dt == TD_DT_INT32 || dt == TD_DT_INT64) {
      int64_t v = 0;
      ok = dt == TD_DT_INT32 ? td_parse_decimal(p, s.len, INT32_MIN, INT32_MAX, &v)
                             : td_parse_decimal(p, s.len, INT64_MIN, INT64_MAX, &v);
      if (ok && dt == TD_DT_INT32) td_i32(out)[i] = (int32_t)v;
      else if (ok) td_i64(out)[i] = v;
    } else {
      double v = 0;
      ok = td_parse_real(p, s.len, dt == TD_DT_FLOAT, &v);
      if (ok && dt == TD_DT_FLOAT) td_f32(out)[i] = (float)v;
      else if (ok) td_f64(out)[i] = v;
    }
    if (!ok)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "StringToNumberOp could not correctly convert string: %.*s",
                       (int)s.len, p);
  }
  return TD_OK;
}

/* ---------------------------------------------------------------- base64 (web-safe) */

static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

static int b64_decode_quad(const char *q, char *out) {
  int a = b64_value((unsigned char)q[0]), b = b64_value((unsigned char)q[1]);
  int c = b64_value((unsigned char)q[2]), d = b64_value((unsigned char)q[3]);
  if ((a | b | c | d) < 0) return 0;
  uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
  out[0] = (char)(v >> 16);
  out[1] = (char)(v >> 8);
  out[2] = (char)v;
  return 1;
}

/* TF's Base64Decode: groups of 4; the last group may be 2..4 chars or padded with '='. */
static td_code b64_decode(td_kctx *ctx, const char *s, size_t n, char *out, size_t *out_len) {
  *out_len = 0;
  if (n == 0) return TD_OK;
  const char *end = s + n;
  char *cur = out;
  while (end - s > 4) {
    if (!b64_decode_quad(s, cur)) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Invalid character found in base64.");
    s += 4;
    cur += 3;
  }
  if (end - s == 4) {
    if (s[2] == '=' && s[3] == '=') end -= 2;
    if (s[2] != '=' && s[3] == '=') end -= 1;
  }
  int remain = (int)(end - s);
  if (remain == 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Base64 string length cannot be 1 modulo 4.");
  char tail[4] = {'A', 'A', 'A', 'A'}, three[3];
  memcpy(tail, s, (size_t)remain);
  if (!b64_decode_quad(tail, three)) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Invalid character found in base64.");
  memcpy(cur, three, (size_t)(remain - 1));
  cur += remain - 1;
  *out_len = (size_t)(cur - out);
  return TD_OK;
}

static size_t b64_encode(const unsigned char *s, size_t n, int pad, char *out) {
  char *cur = out;
  for (; n >= 3; s += 3, n -= 3) {
    *cur++ = kB64[s[0] >> 2];
    *cur++ = kB64[(s[0] & 3) << 4 | s[1] >> 4];
    *cur++ = kB64[(s[1] & 15) << 2 | s[2] >> 6];
    *cur++ = kB64[s[2] & 63];
  }
  if (n == 2) {
    *cur++ = kB64[s[0] >> 2];
    *cur++ = kB64[(s[0] & 3) << 4 | s[1] >> 4];
    *cur++ = kB64[(s[1] & 15) << 2];
    if (pad) *cur++ = '=';
  } else if (n == 1) {
    *cur++ = kB64[s[0] >> 2];
    *cur++ = kB64[(s[0] & 3) << 4];
    if (pad) {
      *cur++ = '=';
      *cur++ = '=';
    }
  }
  return (size_t)(cur - out);
}

td_code td_k_string_decode_base64(td_kctx *ctx) {
  TD_TRY(expect_string_input(ctx, 0, "input"));
  const td_tensor *in = td_k_input(ctx, 0);
  td_tensor out;
  TD_TRY(new_string_tensor(ctx, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  td_code rc = TD_OK;
  for (int64_t i = 0; i < n && rc == TD_OK; i++) {
    td_string s = td_str(in)[i];
    char *buf = td_xmalloc(3 * (s.len / 4) + 3);
    size_t len;
    rc = b64_decode(ctx, s.data ? s.data : "", s.len, buf, &len);
    if (rc == TD_OK) td_tensor_set_string(&out, i, buf, len);
    free(buf);
  }
  return finish_string_output(ctx, 0, &out, rc);
}

td_code td_k_string_encode_base64(td_kctx *ctx) {
  TD_TRY(expect_string_input(ctx, 0, "input"));
  const td_tensor *in = td_k_input(ctx, 0);
  int pad = td_attr_bool(td_k_node(ctx), "pad", false);
  td_tensor out;
  TD_TRY(new_string_tensor(ctx, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  for (int64_t i = 0; i < n; i++) {
    td_string s = td_str(in)[i];
    char *buf = td_xmalloc(4 * (s.len / 3) + 4);
    size_t len = b64_encode((const unsigned char *)(s.data ? s.data : ""), s.len, pad, buf);
    td_tensor_set_string(&out, i, buf, len);
    free(buf);
  }
  return finish_string_output(ctx, 0, &out, TD_OK);
}

/* ---------------------------------------------------------------- StringJoin */

td_code td_k_string_join(td_kctx *ctx) {
  int nin = td_k_num_inputs(ctx);
  size_t sep_len = 0;
  const char *sep = td_attr_str(td_k_node(ctx), "separator", &sep_len);
  if (!sep) sep_len = 0;
  const td_shape *shape = NULL;
  char a[64], b[64];
  for (int k = 0; k < nin; k++) {
    const td_tensor *t = td_k_input(ctx, k);
    if (t->dtype != TD_DT_STRING)
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "StringJoin input %d is %s, expected string", k, td_dtype_name(t->dtype));
    if (t->shape.rank == 0) continue;
    if (!shape) shape = &t->shape;
    else if (!td_shape_equal(shape, &t->shape))
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Input shapes do not match: %s vs. %s",
                       shape_text(shape, a, sizeof a), shape_text(&t->shape, b, sizeof b));
  }
  td_shape scalar = td_shape_scalar();
  if (!shape) shape = &scalar;
  td_tensor out;
  TD_TRY(new_string_tensor(ctx, shape, &out));
  int64_t n = td_shape_num_elements(shape);
  char *buf = NULL;
  size_t cap = 0;
  for (int64_t i = 0; i < n; i++) {
    size_t len = 0;
    for (int k = 0; k < nin; k++) {
      const td_tensor *t = td_k_input(ctx, k);
      td_string s = td_str(t)[t->shape.rank == 0 ? 0 : i];
      size_t need = len + s.len + (k ? sep_len : 0);
      if (need > cap) TD_GROW(buf, cap, need);
      if (k && sep_len) {
        memcpy(buf + len, sep, sep_len);
        len += sep_len;
      }
      if (s.len) memcpy(buf + len, s.data, s.len);
      len += s.len;
    }
    td_tensor_set_string(&out, i, buf, len);
  }
  free(buf);
  return finish_string_output(ctx, 0, &out, TD_OK);
}

/* ---------------------------------------------------------------- Substr */

/* Byte offset of UTF-8 character k of s (n if k is the character count): characters start at
 * bytes that are not continuation bytes (TF's UTF8 unit). */
static int64_t utf8_offset(const char *s, int64_t n, int64_t k) {
  int64_t seen = 0;
  for (int64_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80 && seen++ == k) return i;
  return n;
}

/* Numpy broadcasting of shapes a and b into *out; strides sa / sb (0 on broadcast dims) per
 * output dim. Returns 0 when incompatible. */
static int broadcast2(const td_shape *a, const td_shape *b, td_shape *out, int64_t *sa, int64_t *sb) {
  int r = a->rank > b->rank ? a->rank : b->rank;
  out->rank = r;
  int64_t ma = 1, mb = 1;
  for (int d = r - 1; d >= 0; d--) {
    int da = d - (r - a->rank), db = d - (r - b->rank);
    int64_t x = da >= 0 ? a->dim[da] : 1, y = db >= 0 ? b->dim[db] : 1;
    if (x != y && x != 1 && y != 1) return 0;
    out->dim[d] = x == 1 ? y : x;
    sa[d] = x == 1 ? 0 : ma;
    sb[d] = y == 1 ? 0 : mb;
    ma *= x;
    mb *= y;
  }
  return 1;
}

static int64_t utf8_count(const char *s, int64_t n) {
  int64_t c = 0;
  for (int64_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

td_code td_k_string_substr(td_kctx *ctx) {
  TD_TRY(expect_string_input(ctx, 0, "input"));
  const td_tensor *in = td_k_input(ctx, 0), *pos = td_k_input(ctx, 1), *len = td_k_input(ctx, 2);
  char a[64], b[64];
  int chars = td_attr_str_eq(td_k_node(ctx), "unit", "UTF8_CHAR");
  if (!chars && !td_attr_str_eq(td_k_node(ctx), "unit", "BYTE") && td_attr_str(td_k_node(ctx), "unit", &(size_t){0}))
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "unit must be one of BYTE, UTF8_CHAR");
  if (!td_shape_equal(&pos->shape, &len->shape))
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "pos and len should have the same shape, got: %s vs. %s",
                     shape_text(&pos->shape, a, sizeof a), shape_text(&len->shape, b, sizeof b));
  td_shape oshape;
  int64_t s_in[TD_MAX_RANK], s_pos[TD_MAX_RANK];
  if (!broadcast2(&in->shape, &pos->shape, &oshape, s_in, s_pos))
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Incompatible shapes: %s vs. %s", shape_text(&in->shape, a, sizeof a),
                     shape_text(&pos->shape, b, sizeof b));
  td_tensor out;
  TD_TRY(new_string_tensor(ctx, &oshape, &out));
  int64_t n = td_shape_num_elements(&oshape), coord[TD_MAX_RANK] = {0}, ii = 0, pi = 0;
  td_code rc = TD_OK;
  for (int64_t i = 0; i < n && rc == TD_OK; i++) {
    if (i > 0) /* odometer over the output, tracking the input / pos offsets */
      for (int d = oshape.rank - 1; d >= 0; d--) {
        ii += s_in[d], pi += s_pos[d];
        if (++coord[d] < oshape.dim[d]) break;
        ii -= s_in[d] * coord[d], pi -= s_pos[d] * coord[d];
        coord[d] = 0;
      }
    td_string s = td_str(in)[ii];
    int64_t p = td_tensor_get_int(pos, pi), l = td_tensor_get_int(len, pi);
    const char *bytes = s.data ? s.data : "";
    int64_t size = chars ? utf8_count(bytes, (int64_t)s.len) : (int64_t)s.len;
    if (p > size || p < -size) {
      rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "pos %" PRId64 " out of range for stringb'%.*s' at index %" PRId64,
                     p, (int)s.len, s.data ? s.data : "", i);
      break;
    }
    if (p < 0) p += size;
    int64_t take = l < 0 || l > size - p ? size - p : l;
    if (chars) {
      int64_t from = utf8_offset(bytes, (int64_t)s.len, p), to = utf8_offset(bytes, (int64_t)s.len, p + take);
      td_tensor_set_string(&out, i, bytes + from, (size_t)(to - from));
    } else {
      td_tensor_set_string(&out, i, bytes + p, (size_t)take);
    }
  }
  return finish_string_output(ctx, 0, &out, rc);
}
