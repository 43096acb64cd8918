/* bundle_map.c — refcounted read-only shard mappings and in-place tensor views (bundle_map.h).
 *
 * Alignment policy: an entry is viewed in place only when its address is a multiple of its
 * element's natural alignment (the element size, 8 for 16-byte complex128). That is what C
 * requires for typed access (and what UBSan checks); no kernel assumes more: none uses aligned
 * vector loads, OpenBLAS and oneDNN take any element-aligned pointer (oneDNN reorders weights
 * into its own buffers anyway), and heap tensors give kernels no more than malloc's 16 bytes.
 * TF's BundleWriter packs entries without padding (data_alignment 1), so an entry that follows
 * an odd-sized one (a string, a bool) may be misaligned: it is read and copied, as before.
 * The mapping's base is page-aligned, so an entry's alignment is its offset's.
 */
#include "model/bundle_map.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/mem.h"

struct td_shard_map {
  atomic_int refs;
  void *base;
  size_t len;
};

td_shard_map *td_shard_map_new(int fd, size_t len) {
  if (len == 0) return NULL;
  void *base = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  if (base == MAP_FAILED) return NULL;
  td_shard_map *m = td_xmalloc(sizeof *m);
  atomic_init(&m->refs, 1);
  m->base = base;
  m->len = len;
  return m;
}

void td_shard_map_unref(td_shard_map *m) {
  if (!m || atomic_fetch_sub(&m->refs, 1) != 1) return;
  munmap(m->base, m->len);
  free(m);
}

static void view_release(void *ctx) { td_shard_map_unref(ctx); }

const uint8_t *td_shard_map_bytes(const td_shard_map *m, int64_t offset) {
  return (const uint8_t *)m->base + offset;
}

size_t td_bundle_view_align(td_dtype dt) {
  size_t esize = td_dtype_size(dt);
  return esize > 8 ? 8 : esize ? esize : 1;
}

int td_shard_map_view(td_shard_map *m, int64_t offset, td_dtype dt, const td_shape *shape, td_tensor *out) {
  memset(out, 0, sizeof *out);
  uint8_t *p = (uint8_t *)m->base + offset;
  if ((uintptr_t)p % td_bundle_view_align(dt)) return 0;
  atomic_fetch_add(&m->refs, 1);
  /* The tensor layer only reads through this pointer (tensors are immutable; writers allocate
   * new ones), so dropping const is safe; a stray write would fault on the PROT_READ page. */
  if (td_tensor_external(out, dt, shape, p, view_release, m, NULL) != TD_OK) {
    atomic_fetch_sub(&m->refs, 1);
    return 0;
  }
  return 1;
}

int td_bundle_env_flag(const char *name, int dflt) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  return !(!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcasecmp(v, "no"));
}
