/* bundle_map.h — read-only mappings of TensorBundle data shards ("<prefix>.data-*"), shared by
 * reference count between the td_bundle that mapped them and every tensor that views its
 * bytes in place, so checkpoint weights cost no anonymous memory and no copy at load.
 *
 * A mapping is PROT_READ / MAP_PRIVATE over the whole shard file; it lives until the bundle
 * closed it AND the last tensor viewing it was released (td_tensor_external's release hook).
 * Thread safety: references are atomic; everything else is immutable after creation.
 * Caveat: like any file mapping, the shard must not be truncated or rewritten in place while
 * a model uses it (TF Serving's version directories are written once; a new version is a new
 * directory, and deleting the files of a loaded version is safe).
 */
#ifndef TD_MODEL_BUNDLE_MAP_H
#define TD_MODEL_BUNDLE_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "engine/tensor.h"

typedef struct td_shard_map td_shard_map;

/* Maps the first len bytes of fd. NULL if len == 0 or mmap fails (callers then read with
 * pread). The result holds one reference. */
td_shard_map *td_shard_map_new(int fd, size_t len);
void td_shard_map_unref(td_shard_map *m);
const uint8_t *td_shard_map_bytes(const td_shard_map *m, int64_t offset);

/* The crc32c (finished, unmasked) of [offset, offset+len) of the file fd, read with pread through
 * a 256 KiB buffer, NOT through a mapping of it: the first touch of each page of a fresh mapping
 * costs a fault (in a VM an exit per 4 KiB page even after MADV_POPULATE_READ), 2-3x slower than
 * this copy for a 488 MiB entry (docs/bench.md), and pages the model never reads (embedding rows
 * not looked up) stay untouched. Ranges of 32 MiB or more are split in two halves, the second on
 * a short-lived helper thread (when there are 2+ CPUs), and joined with td_crc32c_combine.
 * Returns 0, an errno value, or -1 for an unexpected end of file (*err_offset = where). */
int td_shard_crc32c(int fd, int64_t offset, size_t len, uint32_t *crc, int64_t *err_offset);

/* The alignment an entry's first byte needs for kernels to use it in place (see bundle_map.c). */
size_t td_bundle_view_align(td_dtype dt);

/* If the `nbytes` at `offset` (bounds already checked by the caller) are aligned for dt, makes
 * *out an owned tensor of dt/shape viewing them (one more reference on m) and returns 1; else
 * returns 0 and leaves *out zeroed (the caller copies). */
int td_shard_map_view(td_shard_map *m, int64_t offset, td_dtype dt, const td_shape *shape, td_tensor *out);

/* A boolean environment switch: unset or empty = dflt; "0", "false", "off", "no" = 0; else 1. */
int td_bundle_env_flag(const char *name, int dflt);

#endif
