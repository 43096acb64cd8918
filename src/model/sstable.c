/* sstable.c — whole-file LevelDB table scan: footer → index block → every data block.
 *
 * Invariants: every pointer handed to a callback lies inside `file` or inside a decompressed
 * block buffer owned by this scan; a block is used only after its trailer checksum matched;
 * snappy output size is capped relative to the input (snappy cannot expand beyond ~22x).
 */
#include "model/sstable.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "util/crc32c.h"
#include "util/mem.h"

enum { BLOCK_RAW = 0, BLOCK_SNAPPY = 1 };

int td_varint64_decode(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  const uint8_t *q = *p;
  for (int shift = 0; shift <= 63 && q < end; shift += 7) {
    uint8_t byte = *q++;
    if (shift == 63 && byte > 1) return 0;
    v |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *p = q;
      *out = v;
      return 1;
    }
  }
  return 0;
}

int td_varint32_decode(const uint8_t **p, const uint8_t *end, uint32_t *out) {
  uint64_t v;
  const uint8_t *q = *p;
  if (!td_varint64_decode(&q, end, &v) || v > UINT32_MAX || q - *p > 5) return 0;
  *p = q;
  *out = (uint32_t)v;
  return 1;
}

static uint32_t load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct block_handle {
  uint64_t offset, size;
} block_handle;

static int decode_handle(const uint8_t **p, const uint8_t *end, block_handle *h) {
  return td_varint64_decode(p, end, &h->offset) && td_varint64_decode(p, end, &h->size);
}

/* A block's contents after checksum verification and decompression. */
typedef struct block {
  const uint8_t *data;
  size_t len;
  uint8_t *owned; /* decompressed buffer, or NULL when data points into the file */
} block;

static td_code block_read(const char *path, const uint8_t *file, size_t blocks_end, block_handle h,
                          const char *what, block *out, td_status *st) {
  memset(out, 0, sizeof *out);
  if (h.offset > blocks_end || h.size > blocks_end - h.offset ||
      TD_SSTABLE_TRAILER_LEN > blocks_end - h.offset - h.size)
    return td_status_set(st, TD_DATA_LOSS,
                         "%s: %s block (offset %llu, size %llu) extends past the end of the table "
                         "(%zu bytes before the footer); the file is truncated or corrupted",
                         path, what, (unsigned long long)h.offset, (unsigned long long)h.size,
                         blocks_end);
  const uint8_t *contents = file + h.offset;
  size_t n = (size_t)h.size;
  uint32_t stored = td_crc32c_unmask(load_le32(contents + n + 1));
  uint32_t actual = td_crc32c(contents, n + 1);
  if (stored != actual)
    return td_status_set(st, TD_DATA_LOSS,
                         "%s: block checksum mismatch in %s block at offset %llu "
                         "(stored crc32c %08x, computed %08x)",
                         path, what, (unsigned long long)h.offset, stored, actual);
  switch (contents[n]) {
    case BLOCK_RAW:
      out->data = contents;
      out->len = n;
      return TD_OK;
    case BLOCK_SNAPPY: {
      size_t ulen = 0;
      if (snappy_uncompressed_length((const char *)contents, n, &ulen) != SNAPPY_OK ||
          ulen > 32 * n + 64)
        return td_status_set(st, TD_DATA_LOSS, "%s: corrupted snappy-compressed %s block at offset %llu",
                             path, what, (unsigned long long)h.offset);
      out->owned = td_xmalloc(ulen ? ulen : 1);
      size_t got = ulen;
      if (snappy_uncompress((const char *)contents, n, (char *)out->owned, &got) != SNAPPY_OK ||
          got != ulen) {
        free(out->owned);
        out->owned = NULL;
        return td_status_set(st, TD_DATA_LOSS, "%s: corrupted snappy-compressed %s block at offset %llu",
                             path, what, (unsigned long long)h.offset);
      }
      out->data = out->owned;
      out->len = ulen;
      return TD_OK;
    }
    default:
      return td_status_set(st, TD_DATA_LOSS, "%s: %s block at offset %llu has unknown compression type %u",
                           path, what, (unsigned long long)h.offset, contents[n]);
  }
}

/* Iterates the prefix-compressed entries of one block. The restart array is validated but not
 * needed for a full scan. */
typedef struct block_iter {
  const char *path, *what;
  const uint8_t *p, *end; /* remaining entry bytes */
  uint8_t *key;           /* current key (owned, reused) */
  size_t key_len, key_cap;
  const uint8_t *value;
  size_t value_len;
} block_iter;

static td_code block_iter_init(block_iter *it, const char *path, const char *what, const block *b,
                               td_status *st) {
  memset(it, 0, sizeof *it);
  it->path = path;
  it->what = what;
  if (b->len < 4)
    return td_status_set(st, TD_DATA_LOSS, "%s: %s block is too short (%zu bytes)", path, what, b->len);
  uint32_t num_restarts = load_le32(b->data + b->len - 4);
  if (num_restarts > (b->len - 4) / 4)
    return td_status_set(st, TD_DATA_LOSS, "%s: %s block has a bad restart count %u for %zu bytes", path,
                         what, num_restarts, b->len);
  it->p = b->data;
  /* LevelDB treats a block without restart points as empty. */
  it->end = num_restarts ? b->data + b->len - 4 - 4 * (size_t)num_restarts : b->data;
  return TD_OK;
}

/* 1 = an entry is available, 0 = end of block, -1 = corrupt (st set). */
static int block_iter_next(block_iter *it, td_status *st) {
  if (it->p >= it->end) return 0;
  uint32_t shared, non_shared, value_len;
  if (!td_varint32_decode(&it->p, it->end, &shared) || !td_varint32_decode(&it->p, it->end, &non_shared) ||
      !td_varint32_decode(&it->p, it->end, &value_len) || shared > it->key_len ||
      non_shared > (size_t)(it->end - it->p) || value_len > (size_t)(it->end - it->p) - non_shared) {
    td_status_set(st, TD_DATA_LOSS, "%s: corrupted entry in %s block", it->path, it->what);
    return -1;
  }
  it->key_len = shared;
  TD_GROW(it->key, it->key_cap, (size_t)shared + non_shared + 1);
  if (non_shared) memcpy(it->key + shared, it->p, non_shared);
  it->key_len += non_shared;
  it->p += non_shared;
  it->value = it->p;
  it->value_len = value_len;
  it->p += value_len;
  return 1;
}

static int key_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int c = n ? memcmp(a, b, n) : 0;
  if (c) return c;
  return alen < blen ? -1 : alen > blen;
}

typedef struct scan_state {
  const char *path;
  const uint8_t *file;
  size_t blocks_end;
  td_sstable_visit_fn fn;
  void *arg;
  uint8_t *prev; /* previous key across all data blocks */
  size_t prev_len, prev_cap;
  int have_prev;
} scan_state;

static td_code scan_data_block(scan_state *s, block_handle h, td_status *st) {
  block b;
  TD_TRY(block_read(s->path, s->file, s->blocks_end, h, "data", &b, st));
  block_iter it;
  td_code rc = block_iter_init(&it, s->path, "data", &b, st);
  int more = 0;
  while (rc == TD_OK && (more = block_iter_next(&it, st)) == 1) {
    if (s->have_prev && key_compare(s->prev, s->prev_len, it.key, it.key_len) >= 0) {
      rc = td_status_set(st, TD_DATA_LOSS, "%s: keys are not in strictly increasing order", s->path);
      break;
    }
    TD_GROW(s->prev, s->prev_cap, it.key_len + 1);
    if (it.key_len) memcpy(s->prev, it.key, it.key_len);
    s->prev_len = it.key_len;
    s->have_prev = 1;
    rc = s->fn(s->arg, it.key, it.key_len, it.value, it.value_len, st);
  }
  if (rc == TD_OK && more < 0) rc = TD_DATA_LOSS;
  free(it.key);
  free(b.owned);
  return rc;
}

td_code td_sstable_scan(const char *path, const uint8_t *file, size_t len, td_sstable_visit_fn fn,
                        void *arg, td_status *st) {
  if (len < TD_SSTABLE_FOOTER_LEN)
    return td_status_set(st, TD_DATA_LOSS,
                         "%s: file is too short (%zu bytes) to be an sstable; the file is truncated or "
                         "corrupted",
                         path, len);
  const uint8_t *footer = file + len - TD_SSTABLE_FOOTER_LEN;
  uint64_t magic = (uint64_t)load_le32(footer + 40) | (uint64_t)load_le32(footer + 44) << 32;
  if (magic != TD_SSTABLE_MAGIC)
    return td_status_set(st, TD_DATA_LOSS, "%s: not an sstable (bad magic number %016llx)", path,
                         (unsigned long long)magic);
  const uint8_t *p = footer, *end = footer + 40;
  block_handle metaindex, index;
  if (!decode_handle(&p, end, &metaindex) || !decode_handle(&p, end, &index))
    return td_status_set(st, TD_DATA_LOSS, "%s: corrupted sstable footer", path);

  scan_state s = {.path = path, .file = file, .blocks_end = len - TD_SSTABLE_FOOTER_LEN, .fn = fn, .arg = arg};
  block meta;
  TD_TRY(block_read(path, file, s.blocks_end, metaindex, "metaindex", &meta, st));
  free(meta.owned);
  block ib;
  TD_TRY(block_read(path, file, s.blocks_end, index, "index", &ib, st));
  block_iter it;
  td_code rc = block_iter_init(&it, path, "index", &ib, st);
  int more = 0;
  while (rc == TD_OK && (more = block_iter_next(&it, st)) == 1) {
    const uint8_t *v = it.value;
    block_handle h;
    if (!decode_handle(&v, it.value + it.value_len, &h)) {
      rc = td_status_set(st, TD_DATA_LOSS, "%s: corrupted block handle in index block", path);
      break;
    }
    rc = scan_data_block(&s, h, st);
  }
  if (rc == TD_OK && more < 0) rc = TD_DATA_LOSS;
  free(it.key);
  free(ib.owned);
  free(s.prev);
  return rc;
}
