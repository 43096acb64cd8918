/* npy.c — NumPy .npy/.npz reading and .npy writing (see npy.h for the supported subset).
 *
 * Invariants: every offset read from a file is bounds-checked against the buffer before use;
 * element counts are overflow-checked; returned tensors are owned. Zip member data is
 * CRC-32 verified so corrupted .npz files are reported, not silently used.
 */
#include "cli/npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/file.h"
#include "util/mem.h"

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* Numeric descrs: kind + item size <-> dtype. */
static const struct {
  char kind;
  int size;
  td_dtype dtype;
} descr_table[] = {
    {'f', 2, TD_DT_HALF},  {'f', 4, TD_DT_FLOAT},  {'f', 8, TD_DT_DOUBLE}, {'i', 1, TD_DT_INT8},
    {'i', 2, TD_DT_INT16}, {'i', 4, TD_DT_INT32},  {'i', 8, TD_DT_INT64},  {'u', 1, TD_DT_UINT8},
    {'u', 2, TD_DT_UINT16}, {'u', 4, TD_DT_UINT32}, {'u', 8, TD_DT_UINT64}, {'b', 1, TD_DT_BOOL},
};
#define N_DESCR (sizeof descr_table / sizeof descr_table[0])

/* ---- header parsing ---- */

typedef struct npy_header {
  char kind;     /* 'f','i','u','b','S','U' */
  long itemsize; /* bytes per element in the file */
  int fortran;
  td_shape shape;
} npy_header;

static const char *find_key(const char *h, size_t n, const char *key) {
  size_t kl = strlen(key);
  for (size_t i = 0; i + kl + 2 <= n; i++) {
    if ((h[i] == '\'' || h[i] == '"') && !memcmp(h + i + 1, key, kl) && h[i + 1 + kl] == h[i]) {
      const char *p = h + i + kl + 2;
      while (p < h + n && (*p == ' ' || *p == ':')) p++;
      return p;
    }
  }
  return NULL;
}

static td_code parse_descr(const char *p, const char *end, npy_header *hd, td_status *st) {
  if (p >= end || (*p != '\'' && *p != '"')) return td_status_set(st, TD_INVALID_ARGUMENT, "npy: bad 'descr'");
  char q = *p++;
  const char *close = memchr(p, q, (size_t)(end - p));
  if (!close || close - p < 2 || close - p > 16)
    return td_status_set(st, TD_INVALID_ARGUMENT, "npy: bad 'descr'");
  char d[17];
  memcpy(d, p, (size_t)(close - p));
  d[close - p] = 0;
  char order = d[0];
  const char *k = d + 1;
  if (order != '<' && order != '>' && order != '|' && order != '=') {
    order = '|';
    k = d;
  }
  char *num_end;
  errno = 0;
  long size = strtol(k + 1, &num_end, 10);
  if (*num_end || errno || size < 0 || size > (1L << 24))
    return td_status_set(st, TD_UNIMPLEMENTED, "npy: unsupported dtype descr '%s'", d);
  hd->kind = k[0];
  hd->itemsize = hd->kind == 'U' ? size * 4 : size;
  if (order == '>' && hd->itemsize > 1 && hd->kind != 'S')
    return td_status_set(st, TD_UNIMPLEMENTED, "npy: big-endian descr '%s' is not supported", d);
  if (hd->kind == 'S' || hd->kind == 'U') return TD_OK;
  for (size_t i = 0; i < N_DESCR; i++)
    if (descr_table[i].kind == hd->kind && descr_table[i].size == size) return TD_OK;
  return td_status_set(st, TD_UNIMPLEMENTED, "npy: unsupported dtype descr '%s'", d);
}

static td_code parse_shape(const char *p, const char *end, td_shape *s, td_status *st) {
  if (p >= end || *p != '(') return td_status_set(st, TD_INVALID_ARGUMENT, "npy: bad 'shape'");
  p++;
  s->rank = 0;
  for (;;) {
    while (p < end && (*p == ' ' || *p == ',')) p++;
    if (p >= end) return td_status_set(st, TD_INVALID_ARGUMENT, "npy: unterminated 'shape'");
    if (*p == ')') return TD_OK;
    char *num_end;
    errno = 0;
    long long v = strtoll(p, &num_end, 10);
    if (num_end == p || errno || v < 0 || num_end > end)
      return td_status_set(st, TD_INVALID_ARGUMENT, "npy: bad dimension in 'shape'");
    if (s->rank >= TD_MAX_RANK)
      return td_status_set(st, TD_INVALID_ARGUMENT, "npy: rank > %d is not supported", TD_MAX_RANK);
    s->dim[s->rank++] = v;
    p = num_end;
    if (p < end && *p == 'L') p++; /* python 2 longs */
  }
}

static td_code parse_header(const unsigned char *b, size_t len, npy_header *hd, size_t *data_off,
                            td_status *st) {
  if (len < 10 || memcmp(b, npy_magic, 6))
    return td_status_set(st, TD_INVALID_ARGUMENT, "not a .npy file (bad magic)");
  int major = b[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = (size_t)b[8] | (size_t)b[9] << 8;
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (len < 12) return td_status_set(st, TD_INVALID_ARGUMENT, "npy: truncated header");
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    hstart = 12;
  } else {
    return td_status_set(st, TD_UNIMPLEMENTED, "npy: format version %d.%d is not supported", major, b[7]);
  }
  if (hlen > len - hstart) return td_status_set(st, TD_INVALID_ARGUMENT, "npy: truncated header");
  const char *h = (const char *)b + hstart, *end = h + hlen;
  const char *p = find_key(h, hlen, "descr");
  if (!p) return td_status_set(st, TD_INVALID_ARGUMENT, "npy: header has no 'descr'");
  TD_TRY(parse_descr(p, end, hd, st));
  p = find_key(h, hlen, "fortran_order");
  hd->fortran = p && end - p >= 4 && !memcmp(p, "True", 4);
  if (hd->fortran)
    return td_status_set(st, TD_UNIMPLEMENTED, "npy: fortran_order arrays are not supported (save a C-order copy)");
  p = find_key(h, hlen, "shape");
  if (!p) return td_status_set(st, TD_INVALID_ARGUMENT, "npy: header has no 'shape'");
  TD_TRY(parse_shape(p, end, &hd->shape, st));
  *data_off = hstart + hlen;
  return TD_OK;
}

static td_dtype numeric_dtype(const npy_header *hd) {
  for (size_t i = 0; i < N_DESCR; i++)
    if (descr_table[i].kind == hd->kind && descr_table[i].size == hd->itemsize) return descr_table[i].dtype;
  return TD_DT_INVALID;
}

/* Appends code point cp as UTF-8; returns bytes written (0 for invalid code points). */
static size_t utf8_put(char *out, uint32_t cp) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) { out[0] = (char)(0xC0 | cp >> 6); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | cp >> 12); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F)); return 3;
  }
  if (cp < 0x110000) {
    out[0] = (char)(0xF0 | cp >> 18); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); return 4;
  }
  return 0;
}

static void fill_strings(td_tensor *t, const unsigned char *src, const npy_header *hd, int64_t n) {
  char *tmp = td_xmalloc((size_t)hd->itemsize + 1);
  for (int64_t i = 0; i < n; i++) {
    const unsigned char *e = src + (size_t)i * (size_t)hd->itemsize;
    size_t len = 0;
    if (hd->kind == 'S') {
      len = (size_t)hd->itemsize;
      while (len > 0 && e[len - 1] == 0) len--;
      td_tensor_set_string(t, i, (const char *)e, len);
      continue;
    }
    long nchars = hd->itemsize / 4;
    while (nchars > 0 && !memcmp(e + (nchars - 1) * 4, "\0\0\0\0", 4)) nchars--;
    for (long c = 0; c < nchars; c++) {
      uint32_t cp = (uint32_t)e[c * 4] | (uint32_t)e[c * 4 + 1] << 8 | (uint32_t)e[c * 4 + 2] << 16 |
                    (uint32_t)e[c * 4 + 3] << 24;
      len += utf8_put(tmp + len, cp); /* <= 4 bytes per 4-byte code unit: fits */
    }
    td_tensor_set_string(t, i, tmp, len);
  }
  free(tmp);
}

td_code td_npy_parse(const void *data, size_t len, td_tensor *out, td_status *st) {
  const unsigned char *b = data;
  npy_header hd;
  size_t off = 0;
  memset(out, 0, sizeof *out);
  TD_TRY(parse_header(b, len, &hd, &off, st));
  int64_t n = 1;
  for (int i = 0; i < hd.shape.rank; i++) {
    if (hd.shape.dim[i] && n > INT64_MAX / 8 / hd.shape.dim[i])
      return td_status_set(st, TD_INVALID_ARGUMENT, "npy: shape too large");
    n *= hd.shape.dim[i];
  }
  if (hd.itemsize && (uint64_t)n > (uint64_t)(len - off) / (uint64_t)hd.itemsize)
    return td_status_set(st, TD_DATA_LOSS, "npy: truncated data (%zu bytes for %lld elements of %ld bytes)",
                         len - off, (long long)n, hd.itemsize);
  size_t nbytes = (size_t)n * (size_t)hd.itemsize;
  if (len - off != nbytes)
    return td_status_set(st, TD_DATA_LOSS, "npy: %zu trailing bytes after the data", len - off - nbytes);
  td_dtype dt = (hd.kind == 'S' || hd.kind == 'U') ? TD_DT_STRING : numeric_dtype(&hd);
  TD_TRY(td_tensor_alloc(out, dt, &hd.shape, st));
  if (dt == TD_DT_STRING) {
    fill_strings(out, b + off, &hd, n);
  } else {
    if (nbytes) memcpy(out->data, b + off, nbytes);
    if (dt == TD_DT_BOOL)
      for (int64_t i = 0; i < n; i++) td_u8(out)[i] = td_u8(out)[i] != 0;
  }
  return TD_OK;
}

/* ---- zip (.npz) ---- */

static uint32_t rd16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const unsigned char *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint32_t crc32_ieee(const unsigned char *p, size_t n) {
  static uint32_t table[256];
  static int ready; /* benign race: every thread computes identical values */
  if (!ready) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
      table[i] = c;
    }
    ready = 1;
  }
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

typedef struct zip_dir {
  uint64_t entries, cd_off, cd_size;
} zip_dir;

static td_code zip_find_dir(const unsigned char *z, size_t len, zip_dir *d, td_status *st) {
  if (len < 22) return td_status_set(st, TD_INVALID_ARGUMENT, "npz: file too short to be a zip archive");
  size_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
  for (size_t i = len - 22 + 1; i-- > lo;) {
    if (rd32(z + i) != 0x06054b50u) continue;
    d->entries = rd16(z + i + 10);
    d->cd_size = rd32(z + i + 12);
    d->cd_off = rd32(z + i + 16);
    if ((d->entries == 0xFFFF || d->cd_size == 0xFFFFFFFFu || d->cd_off == 0xFFFFFFFFu) && i >= 20 &&
        rd32(z + i - 20) == 0x07064b50u) {
      uint64_t z64 = rd64(z + i - 20 + 8);
      if (z64 > len || len - z64 < 56 || rd32(z + z64) != 0x06064b50u)
        return td_status_set(st, TD_DATA_LOSS, "npz: bad zip64 end of central directory");
      d->entries = rd64(z + z64 + 32);
      d->cd_size = rd64(z + z64 + 40);
      d->cd_off = rd64(z + z64 + 48);
    }
    if (d->cd_off > len || d->cd_size > len - d->cd_off)
      return td_status_set(st, TD_DATA_LOSS, "npz: central directory out of range (truncated file?)");
    return TD_OK;
  }
  return td_status_set(st, TD_INVALID_ARGUMENT, "npz: no zip end-of-central-directory record (not a zip file, or truncated)");
}

td_code td_zip_find_stored(const unsigned char *z, size_t len, const char *name, const unsigned char **data,
                           size_t *size, char **entry_name, td_status *st) {
  zip_dir d = {0, 0, 0};
  TD_TRY(zip_find_dir(z, len, &d, st));
  size_t p = (size_t)d.cd_off, end = (size_t)(d.cd_off + d.cd_size);
  for (uint64_t e = 0; e < d.entries; e++) {
    if (end - p < 46 || rd32(z + p) != 0x02014b50u)
      return td_status_set(st, TD_DATA_LOSS, "npz: corrupt central directory entry");
    uint32_t method = rd16(z + p + 10), crc = rd32(z + p + 16);
    uint64_t csize = rd32(z + p + 20), usize = rd32(z + p + 24), loff = rd32(z + p + 42);
    size_t nlen = rd16(z + p + 28), xlen = rd16(z + p + 30), clen = rd16(z + p + 32);
    if (end - p - 46 < nlen + xlen + clen) return td_status_set(st, TD_DATA_LOSS, "npz: corrupt central directory");
    const char *ename = (const char *)z + p + 46;
    /* zip64 extra: the 0xFFFFFFFF fields, in order usize, csize, offset */
    for (size_t x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
      size_t id = rd16(z + x), sz = rd16(z + x + 2), q = x + 4;
      if (x + 4 + sz > p + 46 + nlen + xlen) break;
      if (id == 1) {
        if (usize == 0xFFFFFFFFu && q + 8 <= x + 4 + sz) usize = rd64(z + q), q += 8;
        if (csize == 0xFFFFFFFFu && q + 8 <= x + 4 + sz) csize = rd64(z + q), q += 8;
        if (loff == 0xFFFFFFFFu && q + 8 <= x + 4 + sz) loff = rd64(z + q);
      }
      x += 4 + sz;
    }
    p += 46 + nlen + xlen + clen;
    if (name && (strlen(name) != nlen || memcmp(name, ename, nlen))) continue;
    if (method != 0)
      return td_status_set(st, TD_UNIMPLEMENTED,
                           "npz: member '%.*s' is compressed (method %u); only np.savez (stored) files are "
                           "supported, not np.savez_compressed", (int)nlen, ename, method);
    if (loff > len || len - loff < 30 || rd32(z + loff) != 0x04034b50u)
      return td_status_set(st, TD_DATA_LOSS, "npz: bad local header for '%.*s'", (int)nlen, ename);
    uint64_t doff = loff + 30 + rd16(z + loff + 26) + rd16(z + loff + 28);
    if (csize != usize || doff > len || csize > len - doff)
      return td_status_set(st, TD_DATA_LOSS, "npz: member '%.*s' is truncated", (int)nlen, ename);
    if (crc32_ieee(z + doff, (size_t)csize) != crc)
      return td_status_set(st, TD_DATA_LOSS, "npz: CRC mismatch in member '%.*s'", (int)nlen, ename);
    *data = z + doff;
    *size = (size_t)csize;
    if (entry_name) *entry_name = td_xstrndup(ename, nlen);
    return TD_OK;
  }
  if (name) return td_status_set(st, TD_NOT_FOUND, "npz: no member named '%s'", name);
  return td_status_set(st, TD_INVALID_ARGUMENT, "npz: archive has no members");
}

td_code td_npy_read_file(const char *path, const char *member, td_tensor *out, td_status *st) {
  char *buf;
  size_t len;
  memset(out, 0, sizeof *out);
  td_code c = td_read_file(path, &buf, &len, st);
  if (c != TD_OK) return c;
  if (len >= 4 && !memcmp(buf, "PK\x03\x04", 4)) {
    const unsigned char *data;
    size_t size;
    char *want = member ? td_xasprintf("%s.npy", member) : NULL;
    c = td_zip_find_stored((const unsigned char *)buf, len, want, &data, &size, NULL, st);
    if (c == TD_NOT_FOUND && member) /* also accept the exact entry name */
      c = td_zip_find_stored((const unsigned char *)buf, len, member, &data, &size, NULL, st);
    free(want);
    if (c == TD_OK) c = td_npy_parse(data, size, out, st);
  } else {
    c = td_npy_parse(buf, len, out, st);
  }
  free(buf);
  if (c != TD_OK) td_status_prefix(st, "%s", path);
  return c;
}

/* ---- writing ---- */

static td_code descr_for(const td_tensor *t, char *d, size_t n, size_t *itemsize, td_status *st) {
  if (t->dtype == TD_DT_STRING) {
    size_t maxlen = 1;
    int64_t cnt = td_tensor_num_elements(t);
    for (int64_t i = 0; i < cnt; i++)
      if (td_str(t)[i].len > maxlen) maxlen = td_str(t)[i].len;
    snprintf(d, n, "|S%zu", maxlen);
    *itemsize = maxlen;
    return TD_OK;
  }
  for (size_t i = 0; i < N_DESCR; i++) {
    if (descr_table[i].dtype != t->dtype) continue;
    snprintf(d, n, "%c%c%d", descr_table[i].size == 1 ? '|' : '<', descr_table[i].kind, descr_table[i].size);
    *itemsize = (size_t)descr_table[i].size;
    return TD_OK;
  }
  return td_status_set(st, TD_UNIMPLEMENTED, "npy: cannot write dtype %s", td_dtype_name(t->dtype));
}

td_code td_npy_encode(const td_tensor *t, char **data, size_t *len, td_status *st) {
  char descr[32], shape[TD_MAX_RANK * 24 + 4] = "(", header[512];
  size_t itemsize = 0;
  TD_TRY(descr_for(t, descr, sizeof descr, &itemsize, st));
  if (t->shape.rank < 0) return td_status_set(st, TD_INVALID_ARGUMENT, "npy: unknown rank");
  for (int i = 0; i < t->shape.rank; i++)
    snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", i ? ", " : "", (long long)t->shape.dim[i]);
  strcat(shape, t->shape.rank == 1 ? ",)" : ")");
  int hl = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
  /* numpy leaves room to grow the first axis in place (GROWTH_AXIS_MAX_DIGITS = 21) */
  if (t->shape.rank > 0) {
    int digits = snprintf(NULL, 0, "%lld", (long long)t->shape.dim[0]);
    for (int i = digits; i < 21; i++) header[hl++] = ' ';
  }
  size_t total_hdr = 10 + (size_t)hl + 1;
  size_t pad = (64 - total_hdr % 64) % 64;
  size_t hlen = (size_t)hl + pad + 1;
  int64_t n = td_tensor_num_elements(t);
  size_t nbytes = (size_t)n * itemsize;
  char *b = td_xmalloc(10 + hlen + nbytes + 1);
  memcpy(b, npy_magic, 6);
  b[6] = 1;
  b[7] = 0;
  b[8] = (char)(hlen & 0xFF);
  b[9] = (char)(hlen >> 8);
  memcpy(b + 10, header, (size_t)hl);
  memset(b + 10 + hl, ' ', pad);
  b[10 + hlen - 1] = '\n';
  char *dst = b + 10 + hlen;
  if (t->dtype == TD_DT_STRING) {
    memset(dst, 0, nbytes);
    for (int64_t i = 0; i < n; i++)
      if (td_str(t)[i].len) memcpy(dst + (size_t)i * itemsize, td_str(t)[i].data, td_str(t)[i].len);
  } else if (nbytes) {
    memcpy(dst, t->data, nbytes);
  }
  *data = b;
  *len = 10 + hlen + nbytes;
  return TD_OK;
}

td_code td_npy_write_file(const char *path, const td_tensor *t, int overwrite, td_status *st) {
  struct stat sb;
  if (!overwrite && stat(path, &sb) == 0)
    return td_status_set(st, TD_ALREADY_EXISTS, "%s already exists (use --overwrite)", path);
  char *data;
  size_t len;
  TD_TRY(td_npy_encode(t, &data, &len, st));
  FILE *f = fopen(path, "wb");
  if (!f) {
    free(data);
    return td_status_set(st, TD_PERMISSION_DENIED, "cannot open %s for writing: %s", path, strerror(errno));
  }
  size_t w = fwrite(data, 1, len, f);
  int cerr = fclose(f);
  free(data);
  if (w != len || cerr) return td_status_set(st, TD_INTERNAL, "error writing %s", path);
  return TD_OK;
}
