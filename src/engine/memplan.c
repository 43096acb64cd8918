/* memplan.c — per-callable memory plans: the first run for a given set of feed shapes
 * records how many bytes each value slot allocates and which slots alias (forward) which;
 * later runs with the same shapes place every plain-numeric intermediate at a precomputed
 * offset in one arena, reusing memory across slots whose lifetimes do not overlap. Arenas
 * are pooled per plan, so a steady-state run allocates only its fetched outputs.
 * Safety: a planned allocation is used only when the requested size equals the recorded
 * one, and a forward that would extend an arena tensor's life beyond its plan is copied
 * instead (exec.c), so a plan that no longer matches degrades to heap allocation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/session.h"
#include "util/mem.h"

#define MAX_PLANS 32
#define ALIGN 64
#define NONE SIZE_MAX

struct td_mem_plan {
  td_mem_plan *next;
  uint64_t key;
  size_t *offset; /* per slot: arena offset, or NONE */
  size_t *size;   /* per slot: recorded bytes */
  int *root;      /* per slot: recorded backing slot, or -1 */
  size_t arena_size;
  char **pool;
  int npool, pool_cap;
};

static uint64_t shapes_key(const td_callable *c, const td_tensor *feeds) {
  uint64_t h = 1469598103934665603ull;
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ull)
  for (int i = 0; i < c->nfeeds; i++) {
    MIX(feeds[i].dtype);
    MIX(feeds[i].shape.rank);
    for (int d = 0; d < feeds[i].shape.rank; d++) MIX(feeds[i].shape.dim[d]);
  }
#undef MIX
  return h;
}

void td_mem_begin(td_callable *c, const td_tensor *feeds, td_run_mem *m) {
  memset(m, 0, sizeof *m);
  m->key = shapes_key(c, feeds);
  int nplans = 0;
  pthread_mutex_lock(&c->plan_mu);
  for (td_mem_plan *p = c->plans; p; p = p->next, nplans++)
    if (p->key == m->key) {
      m->plan = p;
      if (p->npool) m->arena = p->pool[--p->npool];
      break;
    }
  pthread_mutex_unlock(&c->plan_mu);
  m->root = c->nslots < 64 ? m->root_small : td_xmalloc(sizeof *m->root * (size_t)(c->nslots + 1));
  for (int i = 0; i < c->nslots; i++) m->root[i] = -1;
  if (m->plan) {
    if (!m->arena && m->plan->arena_size) m->arena = aligned_alloc(ALIGN, m->plan->arena_size);
    if (!m->arena && m->plan->arena_size) m->plan = NULL; /* out of memory: heap it is */
  } else if (nplans < MAX_PLANS && c->nslots > 0) {
    m->recording = 1;
    m->size = td_xcalloc((size_t)c->nslots, sizeof *m->size);
  }
}

void *td_mem_slot(td_callable *c, td_run_mem *m, int slot, td_dtype dt, size_t nbytes, int zero) {
  (void)c;
  int plain = dt != TD_DT_STRING && dt != TD_DT_RESOURCE && dt != TD_DT_VARIANT && !td_dtype_is_ref(dt);
  if (m->recording) {
    if (plain) {
      m->size[slot] = nbytes;
      m->root[slot] = slot;
    }
    return NULL;
  }
  if (!m->plan || !plain || m->plan->offset[slot] == NONE || m->plan->size[slot] != nbytes) return NULL;
  m->root[slot] = slot;
  char *p = m->arena + m->plan->offset[slot];
  if (zero) memset(p, 0, nbytes);
  return p;
}

int td_mem_forward_ok(const td_run_mem *m, int out_slot, int root) {
  if (root < 0 || m->recording) return 1;
  return m->plan && m->plan->root[out_slot] == root;
}

/* Builds a plan from a recording run: lifetimes per backing slot, then greedy placement
 * (largest first, lowest offset that overlaps no live block). */
static td_mem_plan *build_plan(const td_callable *c, const td_run_mem *m) {
  int n = c->nslots;
  td_mem_plan *p = td_xcalloc(1, sizeof *p);
  p->key = m->key;
  p->offset = td_xmalloc(sizeof *p->offset * (size_t)n);
  p->size = td_xmalloc(sizeof *p->size * (size_t)n);
  p->root = td_xmalloc(sizeof *p->root * (size_t)n);
  memcpy(p->size, m->size, sizeof *p->size * (size_t)n);
  memcpy(p->root, m->root, sizeof *p->root * (size_t)n);
  int *first = td_xmalloc(sizeof *first * (size_t)n), *last = td_xmalloc(sizeof *last * (size_t)n);
  for (int k = 0; k < c->nsteps; k++)
    for (int o = 0; o < c->steps[k].nout; o++) first[c->steps[k].out_base + o] = last[c->steps[k].out_base + o] = k;
  for (int s = 0; s < n; s++) p->offset[s] = NONE;
  for (int s = 0; s < n; s++) { /* extend each backing slot's life over its aliases */
    int r = m->root[s];
    if (r < 0) continue;
    if (c->slot_fetched[s]) last[r] = INT32_MAX;
    else if (c->slot_last_use[s] > last[r]) last[r] = c->slot_last_use[s];
  }
  int *order = td_xmalloc(sizeof *order * (size_t)n), norder = 0;
  for (int s = 0; s < n; s++)
    if (m->root[s] == s && m->size[s] > 0 && last[s] != INT32_MAX) order[norder++] = s;
  for (int i = 1; i < norder; i++) /* insertion sort by size, descending */
    for (int j = i; j > 0 && m->size[order[j]] > m->size[order[j - 1]]; j--) {
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  for (int i = 0; i < norder; i++) {
    int s = order[i];
    size_t need = (m->size[s] + ALIGN - 1) / ALIGN * ALIGN, off = 0;
    for (int moved = 1; moved;) {
      moved = 0;
      for (int j = 0; j < i; j++) {
        int t = order[j];
        size_t tend = p->offset[t] + (p->size[t] + ALIGN - 1) / ALIGN * ALIGN;
        int live = first[s] <= last[t] && first[t] <= last[s];
        if (live && off < tend && p->offset[t] < off + need) {
          off = tend;
          moved = 1;
        }
      }
    }
    p->offset[s] = off;
    if (off + need > p->arena_size) p->arena_size = off + need;
  }
  free(order);
  free(first);
  free(last);
  return p;
}

void td_mem_end(td_callable *c, td_run_mem *m, int ok) {
  td_mem_plan *fresh = ok && m->recording ? build_plan(c, m) : NULL;
  pthread_mutex_lock(&c->plan_mu);
  if (fresh) {
    int dup = 0;
    for (td_mem_plan *p = c->plans; p; p = p->next) dup |= p->key == fresh->key;
    if (!dup) {
      fresh->next = c->plans;
      c->plans = fresh;
      fresh = NULL;
    }
  }
  if (m->arena && m->plan) {
    td_mem_plan *p = m->plan;
    if (p->npool == p->pool_cap) {
      p->pool_cap = p->pool_cap ? 2 * p->pool_cap : 4;
      p->pool = td_xrealloc(p->pool, sizeof *p->pool * (size_t)p->pool_cap);
    }
    p->pool[p->npool++] = m->arena;
    m->arena = NULL;
  }
  pthread_mutex_unlock(&c->plan_mu);
  if (fresh) {
    free(fresh->offset);
    free(fresh->size);
    free(fresh->root);
    free(fresh);
  }
  free(m->arena);
  free(m->size);
  if (m->root != m->root_small) free(m->root);
}

void td_exec_free_plans(td_callable *c) {
  while (c->plans) {
    td_mem_plan *p = c->plans;
    c->plans = p->next;
    for (int i = 0; i < p->npool; i++) free(p->pool[i]);
    free(p->pool);
    free(p->offset);
    free(p->size);
    free(p->root);
    free(p);
  }
}

size_t td_callable_arena_bytes(const td_callable *c, int *nplans) {
  size_t total = 0;
  int n = 0;
  pthread_mutex_lock((pthread_mutex_t *)&c->plan_mu);
  for (const td_mem_plan *p = c->plans; p; p = p->next, n++) total += p->arena_size;
  pthread_mutex_unlock((pthread_mutex_t *)&c->plan_mu);
  if (nplans) *nplans = n;
  return total;
}
