/* bundle_map.c — refcounted read-only shard mappings, in-place tensor views, and the crc32c of
 * a shard range read with pread on up to two threads (bundle_map.h).
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

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/crc32c.h"
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

/* ---- checksumming a range with pread (td_shard_crc32c) ---- */

#define CRC_CHUNK ((size_t)256 << 10)
#define CRC_SPLIT_MIN ((size_t)32 << 20)

typedef struct {
  int fd;
  int64_t off;
  size_t n;
  uint32_t crc;
  int err;         /* 0, errno, or -1 = end of file */
  int64_t err_off; /* where err happened */
} crc_job;

static void crc_job_run(crc_job *j) {
  size_t cap = j->n < CRC_CHUNK ? j->n : CRC_CHUNK, n = j->n;
  uint8_t *buf = td_xmalloc(cap ? cap : 1);
  uint32_t c = 0;
  int64_t off = j->off;
  j->err = 0;
  while (n > 0) {
    ssize_t got = pread(j->fd, buf, n < cap ? n : cap, (off_t)off);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      j->err = got < 0 ? errno : -1;
      j->err_off = off;
      break;
    }
    c = td_crc32c_extend(c, buf, (size_t)got);
    off += got;
    n -= (size_t)got;
  }
  free(buf);
  j->crc = c;
}

static void *crc_job_main(void *arg) {
  crc_job_run(arg);
  return NULL;
}

int td_shard_crc32c(int fd, int64_t offset, size_t len, uint32_t *crc, int64_t *err_offset) {
  crc_job lo = {.fd = fd, .off = offset, .n = len}, hi = {.fd = fd};
  pthread_t th;
  int threaded = 0;
  if (len >= CRC_SPLIT_MIN && sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
    hi.off = offset + (int64_t)(len / 2);
    hi.n = len - len / 2;
    threaded = pthread_create(&th, NULL, crc_job_main, &hi) == 0;
    if (threaded) lo.n = len / 2;
  }
  crc_job_run(&lo);
  if (threaded) pthread_join(th, NULL);
  const crc_job *bad = lo.err ? &lo : threaded && hi.err ? &hi : NULL;
  if (bad) {
    *err_offset = bad->err_off;
    return bad->err;
  }
  *crc = threaded ? td_crc32c_combine(lo.crc, hi.crc, hi.n) : lo.crc;
  return 0;
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
