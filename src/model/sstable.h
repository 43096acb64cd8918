/* sstable.h — a reader for LevelDB-format table files (TensorFlow's tensorflow/core/lib/io copy,
 * as used for TensorBundle variables.index).
 *
 * File layout: data blocks · metaindex block · index block · 48-byte footer (two BlockHandles,
 * zero padding, 8-byte magic 0xdb4775248b80fb57). Each block is followed by a 5-byte trailer:
 * compression type (0 raw, 1 snappy) and the masked crc32c of contents ‖ type.
 *
 * The reader works on a whole file already in memory and visits every key/value in index order.
 * It never reads outside the buffer: every handle, varint, block and entry is bounds-checked and
 * every block checksum verified; corrupt input gives DATA_LOSS with a message naming `path`.
 * Stateless and thread-safe; callers own the file buffer.
 */
#ifndef TD_MODEL_SSTABLE_H
#define TD_MODEL_SSTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

#define TD_SSTABLE_MAGIC 0xdb4775248b80fb57ull
#define TD_SSTABLE_FOOTER_LEN 48
#define TD_SSTABLE_TRAILER_LEN 5

/* Called once per entry in file order. key/value are valid only during the call (key is not
 * NUL-terminated). Return TD_OK to continue; any other code stops the scan and is returned. */
typedef td_code (*td_sstable_visit_fn)(void *arg, const uint8_t *key, size_t key_len,
                                       const uint8_t *value, size_t value_len, td_status *st);

/* Visits every entry of every data block listed by the index block, checking that keys are
 * strictly increasing. `path` is used only in error messages. */
td_code td_sstable_scan(const char *path, const uint8_t *file, size_t len, td_sstable_visit_fn fn,
                        void *arg, td_status *st) TD_MUST_CHECK;

/* Little helpers shared with the bundle reader: decode a varint at *p (< end), advancing *p.
 * Return 0 on truncated or overlong input. */
int td_varint64_decode(const uint8_t **p, const uint8_t *end, uint64_t *out);
int td_varint32_decode(const uint8_t **p, const uint8_t *end, uint32_t *out);

#endif
