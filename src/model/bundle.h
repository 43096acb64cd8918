/* bundle.h — TensorFlow TensorBundle (checkpoint V2) reader: <prefix>.index + <prefix>.data-*.
 *
 * td_bundle_open reads and verifies the whole index (footer magic, every block checksum, snappy
 * blocks, key order, header proto: endianness LITTLE, supported version) into an in-memory
 * table sorted by key. Data shards "<prefix>.data-%05d-of-%05d" are opened lazily on first
 * read and mapped read-only: numeric entries aligned for their dtype are handed out as tensors
 * viewing the mapping (no copy; see bundle_map.h), the rest are read with pread. Every read
 * checks the entry's bounds against the file size and its crc32c against the stored bytes
 * (TD_CHECKPOINT_VERIFY=0 skips that for mapped entries). Corrupt input yields DATA_LOSS, never
 * a crash.
 *
 * Ownership: a td_bundle owns its entries (the Tensorflow__BundleEntryProto pointers it hands
 * out are valid until td_bundle_close) and its file descriptors and one reference on each shard
 * mapping. Tensors filled by the read functions are owned by the caller (td_tensor_release);
 * a mapped one keeps its shard's mapping alive after td_bundle_close.
 *
 * Thread safety: after td_bundle_open returns, every function except td_bundle_close may be
 * called from any number of threads at once (shard opening is mutex-protected; reads use
 * pread, there is no shared cursor). td_bundle_cache is fully thread-safe; the cache owns the
 * bundles it opened, and must outlive every reader derived from it.
 */
#ifndef TD_MODEL_BUNDLE_H
#define TD_MODEL_BUNDLE_H

#include "engine/engine.h"
#include "engine/tensor.h"
#include "proto/tf.h"
#include "util/status.h"

typedef struct td_bundle td_bundle;

/* prefix: e.g. "<export>/variables/variables". NOT_FOUND if <prefix>.index does not exist. */
td_code td_bundle_open(const char *prefix, td_bundle **out, td_status *st) TD_MUST_CHECK;
void td_bundle_close(td_bundle *b);

const char *td_bundle_prefix(const td_bundle *b);
/* Bytes of tensor data handed out so far as views of a shard mapping vs. read into heap
 * tensors (strings, misaligned entries, TD_CHECKPOINT_MMAP=0). */
void td_bundle_stats(const td_bundle *b, int64_t *mapped_bytes, int64_t *copied_bytes);
int td_bundle_num_shards(const td_bundle *b);
/* Tensor entries (the header entry excluded), sorted by key bytewise. */
int td_bundle_num_entries(const td_bundle *b);
/* Key of entry i (NUL-terminated; keys of partitioned-slice entries may embed NUL bytes). */
const char *td_bundle_key(const td_bundle *b, int i);
/* NULL if the key is absent. */
const Tensorflow__BundleEntryProto *td_bundle_entry(const td_bundle *b, const char *key);

/* Reads the whole tensor stored under key into a new owned tensor (*out is overwritten; it
 * holds nothing on failure). NOT_FOUND "Key <key> not found in checkpoint". */
td_code td_bundle_read(td_bundle *b, const char *key, td_tensor *out, td_status *st) TD_MUST_CHECK;

/* Reads a slice in RestoreV2's shape_and_slices syntax: "" = the whole tensor, else
 * "d0 d1 ... s0:s1:..." with each s "start,length" or "-" (whole dimension). The dims must
 * equal the stored shape. Entries stored as partitioned slices are UNIMPLEMENTED. */
td_code td_bundle_read_slice(td_bundle *b, const char *key, const char *slice_spec, td_tensor *out,
                             td_status *st) TD_MUST_CHECK;

/* ---- a cache of open bundles, and the engine's checkpoint reader on top of it ---- */
typedef struct td_bundle_cache td_bundle_cache;

td_bundle_cache *td_bundle_cache_new(void);
/* Closes every cached bundle. */
void td_bundle_cache_free(td_bundle_cache *c);
/* Returns the cached bundle for prefix, opening it on first use (failures are not cached).
 * The bundle stays owned by the cache. */
td_code td_bundle_cache_get(td_bundle_cache *c, const char *prefix, td_bundle **out,
                            td_status *st) TD_MUST_CHECK;
/* A td_checkpoint_reader (for td_session_options.checkpoint) reading through the cache.
 * read() checks the stored dtype against `expected` (INVALID_ARGUMENT
 * "tensor_name = X; expected dtype float does not equal original dtype int64"). */
td_checkpoint_reader td_bundle_checkpoint_reader(td_bundle_cache *c);

#endif
