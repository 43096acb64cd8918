/* metrics.c — the metrics registry and its Prometheus text writer (see metrics.h).
 *
 * Invariants: a family's series live in an open-addressing table (power-of-two capacity, at
 * most half full) keyed by the label values joined with '\x1f'; series are never removed, so
 * a series pointer found under the read lock stays valid after unlocking. Values are
 * atomics: counters/gauges one int64, histograms one int64 per bucket plus the sum as the
 * bits of a double (updated with a compare-and-swap loop).
 */
#include "metrics/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/mem.h"

#define LABEL_SEP '\x1f'

typedef struct series {
  char *key;                                  /* label values joined by LABEL_SEP */
  char *values[TD_METRICS_MAX_LABELS];        /* split copies of the label values */
  _Atomic int64_t value;                      /* counter / gauge */
  _Atomic int64_t *buckets;                   /* histogram: n_bounds + 1 */
  _Atomic uint64_t sum_bits;                  /* histogram: the double sum */
} series;

struct td_metric {
  td_metric_kind kind;
  char *name;     /* raw TF name */
  char *exported; /* Prometheus name */
  int n_labels;
  char *label_names[TD_METRICS_MAX_LABELS];
  double *bounds;
  int n_bounds;
  pthread_rwlock_t lock;
  series **slots; /* open addressing */
  size_t cap, count;
};

struct td_metrics {
  pthread_mutex_t lock;
  td_metric **families;
  size_t n, cap;
};

int64_t td_metrics_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

td_metrics *td_metrics_new(void) {
  td_metrics *r = td_xcalloc(1, sizeof *r);
  pthread_mutex_init(&r->lock, NULL);
  return r;
}

static void family_free(td_metric *m) {
  for (size_t i = 0; i < m->cap; i++) {
    series *s = m->slots[i];
    if (!s) continue;
    for (int k = 0; k < m->n_labels; k++) free(s->values[k]);
    free(s->key);
    free((void *)s->buckets);
    free(s);
  }
  free(m->slots);
  for (int k = 0; k < m->n_labels; k++) free(m->label_names[k]);
  pthread_rwlock_destroy(&m->lock);
  free(m->bounds);
  free(m->name);
  free(m->exported);
  free(m);
}

void td_metrics_free(td_metrics *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) family_free(r->families[i]);
  free(r->families);
  pthread_mutex_destroy(&r->lock);
  free(r);
}

static int is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* TF's prometheus_exporter: '/' and any other non [a-zA-Z0-9_] → ':', leading digit → '_'. */
static char *export_name(const char *raw) {
  size_t n = strlen(raw);
  char *out = td_xmalloc(n + 2);
  size_t j = 0;
  if (raw[0] >= '0' && raw[0] <= '9') out[j++] = '_';
  for (size_t i = 0; i < n; i++) out[j++] = is_name_char(raw[i]) ? raw[i] : ':';
  out[j] = 0;
  return out;
}

static char *export_label_name(const char *raw) {
  char *out = td_xstrdup(raw);
  for (char *p = out; *p; p++)
    if (!is_name_char(*p)) *p = '_';
  return out;
}

td_metric *td_metrics_register(td_metrics *r, td_metric_kind kind, const char *name, int n_labels,
                               const char *const *label_names, const double *bounds, int n_bounds) {
  if (n_labels < 0 || n_labels > TD_METRICS_MAX_LABELS || n_bounds < 0) return NULL;
  pthread_mutex_lock(&r->lock);
  td_metric *m = NULL;
  for (size_t i = 0; i < r->n && !m; i++)
    if (!strcmp(r->families[i]->name, name)) m = r->families[i];
  if (m) {
    if (m->kind != kind || m->n_labels != n_labels) m = NULL;
    pthread_mutex_unlock(&r->lock);
    return m;
  }
  m = td_xcalloc(1, sizeof *m);
  m->kind = kind;
  m->name = td_xstrdup(name);
  m->exported = export_name(name);
  m->n_labels = n_labels;
  for (int k = 0; k < n_labels; k++) m->label_names[k] = export_label_name(label_names[k]);
  if (kind == TD_METRIC_HISTOGRAM) {
    m->n_bounds = n_bounds;
    m->bounds = td_xcalloc((size_t)n_bounds + 1, sizeof *m->bounds);
    if (n_bounds) memcpy(m->bounds, bounds, sizeof *bounds * (size_t)n_bounds);
  }
  pthread_rwlock_init(&m->lock, NULL);
  td_grow((void **)&r->families, sizeof *r->families, &r->cap, r->n + 1);
  r->families[r->n++] = m;
  pthread_mutex_unlock(&r->lock);
  return m;
}

void td_metrics_exponential_bounds(double scale, double growth, int n, double *out) {
  double bound = scale;
  for (int i = 0; i < n; i++, bound *= growth) out[i] = bound;
}

/* ---- series lookup ---- */

static uint64_t hash_key(const char *key) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = (h ^ *p) * 1099511628211ull;
  return h;
}

/* The series key: label values joined by LABEL_SEP, NUL-terminated, in buf when it fits (the
 * common case: no allocation per recorded request), else in *heap (freed by the caller). */
static const char *join_key(const td_metric *m, const char *const *values, char *buf, size_t cap, td_buf *heap) {
  size_t len = 0;
  for (int k = 0; k < m->n_labels; k++) len += (k > 0) + strlen(values && values[k] ? values[k] : "");
  if (len < cap) {
    char *p = buf;
    for (int k = 0; k < m->n_labels; k++) {
      const char *v = values && values[k] ? values[k] : "";
      size_t n = strlen(v);
      if (k) *p++ = LABEL_SEP;
      memcpy(p, v, n);
      p += n;
    }
    *p = 0;
    return buf;
  }
  for (int k = 0; k < m->n_labels; k++) {
    if (k) td_buf_putc(heap, LABEL_SEP);
    td_buf_puts(heap, values && values[k] ? values[k] : "");
  }
  td_buf_putc(heap, 0);
  return heap->data;
}

static series *find_locked(const td_metric *m, const char *key) {
  if (!m->cap) return NULL;
  for (size_t i = hash_key(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    if (!m->slots[i]) return NULL;
    if (!strcmp(m->slots[i]->key, key)) return m->slots[i];
  }
}

static void insert_locked(td_metric *m, series *s) {
  if ((m->count + 1) * 2 > m->cap) {
    size_t old_cap = m->cap;
    series **old = m->slots;
    m->cap = old_cap ? old_cap * 2 : 16;
    m->slots = td_xcalloc(m->cap, sizeof *m->slots);
    m->count = 0;
    for (size_t i = 0; i < old_cap; i++)
      if (old[i]) insert_locked(m, old[i]);
    free(old);
  }
  size_t i = hash_key(s->key) & (m->cap - 1);
  while (m->slots[i]) i = (i + 1) & (m->cap - 1);
  m->slots[i] = s;
  m->count++;
}

/* The series for values; created when create != 0 (else NULL if absent). */
static series *get_series(td_metric *m, const char *const *values, int create) {
  char small[256];
  td_buf heap;
  td_buf_init(&heap);
  const char *key = join_key(m, values, small, sizeof small, &heap);
  pthread_rwlock_rdlock(&m->lock);
  series *s = find_locked(m, key);
  pthread_rwlock_unlock(&m->lock);
  if (!s && create) {
    pthread_rwlock_wrlock(&m->lock);
    s = find_locked(m, key);
    if (!s) {
      s = td_xcalloc(1, sizeof *s);
      s->key = td_xstrdup(key);
      for (int k = 0; k < m->n_labels; k++) s->values[k] = td_xstrdup(values && values[k] ? values[k] : "");
      if (m->kind == TD_METRIC_HISTOGRAM) s->buckets = td_xcalloc((size_t)m->n_bounds + 1, sizeof *s->buckets);
      insert_locked(m, s);
    }
    pthread_rwlock_unlock(&m->lock);
  }
  td_buf_release(&heap);
  return s;
}

void td_metric_add(td_metric *m, const char *const *label_values, int64_t delta) {
  if (!m || m->kind == TD_METRIC_HISTOGRAM) return;
  atomic_fetch_add_explicit(&get_series(m, label_values, 1)->value, delta, memory_order_relaxed);
}

void td_metric_set(td_metric *m, const char *const *label_values, int64_t value) {
  if (!m || m->kind != TD_METRIC_GAUGE) return;
  atomic_store_explicit(&get_series(m, label_values, 1)->value, value, memory_order_relaxed);
}

void td_metric_observe(td_metric *m, const char *const *label_values, double value) {
  if (!m || m->kind != TD_METRIC_HISTOGRAM) return;
  series *s = get_series(m, label_values, 1);
  int b = 0;
  while (b < m->n_bounds && !(value < m->bounds[b])) b++; /* [lower, upper) */
  atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
  uint64_t old = atomic_load_explicit(&s->sum_bits, memory_order_relaxed), next;
  do {
    double sum;
    memcpy(&sum, &old, sizeof sum);
    sum += value;
    memcpy(&next, &sum, sizeof next);
  } while (!atomic_compare_exchange_weak_explicit(&s->sum_bits, &old, next, memory_order_relaxed,
                                                  memory_order_relaxed));
}

static int64_t histogram_count(const td_metric *m, series *s) {
  int64_t n = 0;
  for (int b = 0; b <= m->n_bounds; b++) n += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
  return n;
}

int64_t td_metric_value(td_metric *m, const char *const *label_values) {
  series *s = m ? get_series(m, label_values, 0) : NULL;
  if (!s) return 0;
  if (m->kind == TD_METRIC_HISTOGRAM) return histogram_count(m, s);
  return atomic_load_explicit(&s->value, memory_order_relaxed);
}

/* ---- exposition ---- */

static const char *const kind_names[] = {
    [TD_METRIC_COUNTER] = "counter",
    [TD_METRIC_GAUGE] = "gauge",
    [TD_METRIC_HISTOGRAM] = "histogram",
};

static int by_exported_name(const void *a, const void *b) {
  return strcmp((*(td_metric *const *)a)->exported, (*(td_metric *const *)b)->exported);
}

/* values[k] is NULL past the family's label count, which ends the comparison. */
static int by_label_values(const void *a, const void *b) {
  const series *x = *(series *const *)a, *y = *(series *const *)b;
  for (int k = 0; k < TD_METRICS_MAX_LABELS && x->values[k] && y->values[k]; k++) {
    int c = strcmp(x->values[k], y->values[k]);
    if (c) return c;
  }
  return 0;
}

/* `l1="v1",l2="v2"` (values escape '\\', '"' and newline). */
static void put_labels(td_buf *out, const td_metric *m, const series *s) {
  for (int k = 0; k < m->n_labels; k++) {
    td_buf_printf(out, "%s%s=\"", k ? "," : "", m->label_names[k]);
    for (const char *p = s->values[k]; *p; p++) {
      if (*p == '\\' || *p == '"') td_buf_putc(out, '\\');
      if (*p == '\n') {
        td_buf_puts(out, "\\n");
        continue;
      }
      td_buf_putc(out, *p);
    }
    td_buf_putc(out, '"');
  }
}

static void write_series(td_buf *out, const td_metric *m, series *s) {
  if (m->kind != TD_METRIC_HISTOGRAM) {
    td_buf_printf(out, "%s{", m->exported);
    put_labels(out, m, s);
    td_buf_printf(out, "} %lld\n", (long long)atomic_load_explicit(&s->value, memory_order_relaxed));
    return;
  }
  int64_t cumulative = 0;
  for (int b = 0; b <= m->n_bounds; b++) {
    cumulative += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
    td_buf_printf(out, "%s_bucket{", m->exported);
    put_labels(out, m, s);
    if (b < m->n_bounds)
      td_buf_printf(out, "%sle=\"%g\"} %lld\n", m->n_labels ? "," : "", m->bounds[b], (long long)cumulative);
    else
      td_buf_printf(out, "%sle=\"+Inf\"} %lld\n", m->n_labels ? "," : "", (long long)cumulative);
  }
  uint64_t bits = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
  double sum;
  memcpy(&sum, &bits, sizeof sum);
  td_buf_printf(out, "%s_sum{", m->exported);
  put_labels(out, m, s);
  td_buf_printf(out, "} %g\n%s_count{", sum, m->exported);
  put_labels(out, m, s);
  td_buf_printf(out, "} %lld\n", (long long)cumulative);
}

static void write_family(td_buf *out, td_metric *m) {
  pthread_rwlock_rdlock(&m->lock);
  if (m->count) {
    series **list = td_xcalloc(m->count, sizeof *list);
    size_t n = 0;
    for (size_t i = 0; i < m->cap; i++)
      if (m->slots[i]) list[n++] = m->slots[i];
    qsort(list, n, sizeof *list, by_label_values);
    td_buf_printf(out, "# TYPE %s %s\n", m->exported, kind_names[m->kind]);
    for (size_t i = 0; i < n; i++) write_series(out, m, list[i]);
    free(list);
  }
  pthread_rwlock_unlock(&m->lock);
}

void td_metrics_write_prometheus(td_metrics *r, td_buf *out) {
  pthread_mutex_lock(&r->lock);
  td_metric **sorted = td_xcalloc(r->n + 1, sizeof *sorted);
  size_t n = r->n;
  if (n) memcpy(sorted, r->families, n * sizeof *sorted);
  pthread_mutex_unlock(&r->lock);
  qsort(sorted, n, sizeof *sorted, by_exported_name);
  for (size_t i = 0; i < n; i++) write_family(out, sorted[i]);
  free(sorted);
}
