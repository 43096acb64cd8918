/* queue.c — TF1 FIFOQueueV2 and its V2 queue ops: Enqueue, EnqueueMany, Dequeue, DequeueMany,
 * DequeueUpTo, Close, Size, IsClosed.
 *
 * A queue is a session resource (kind "fifo_queue") keyed by container/shared_name, or by the
 * node name when shared_name is empty (TF keeps such a queue per kernel, i.e. per session):
 * it outlives runs, so requests that enqueue and dequeue share it. An element is a tuple of
 * component tensors (references; immutable once enqueued). One mutex per queue guards the
 * ring of elements and the closed flag; kernels never block on it beyond that.
 *
 * Blocking: TF blocks an enqueue into a full queue and a dequeue from an open queue without
 * enough elements until another step acts. A serving request must not wait on other requests,
 * so tensord answers FAILED_PRECONDITION ("... would block ...") there instead, changing
 * nothing. A dequeue from a closed queue without enough elements is OUT_OF_RANGE with TF's
 * text; an enqueue into a closed queue is CANCELLED. An EnqueueMany that does not fit as a
 * whole enqueues nothing.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "util/mem.h"

static const char kQueueKind[] = "fifo_queue";

typedef struct fifo_queue {
  td_resource base;
  pthread_mutex_t mu;
  int ncomp;
  td_dtype *dtypes;
  td_shape *shapes; /* ncomp entries when specified (all fully defined), else NULL */
  int64_t capacity; /* INT32_MAX when unbounded */
  td_tensor *ring;  /* cap_alloc slots of ncomp tensors each */
  int64_t head, count, cap_alloc;
  int closed;
} fifo_queue;

typedef struct queue_spec {
  int ncomp;
  const int *types;
  Tensorflow__TensorShapeProto *const *shapes;
  size_t nshapes;
  int64_t capacity;
  const char *name;
} queue_spec;

static void queue_destroy(td_resource *r) {
  fifo_queue *q = (fifo_queue *)r;
  for (int64_t i = 0; i < q->count; i++)
    for (int k = 0; k < q->ncomp; k++) td_tensor_release(&q->ring[((q->head + i) % q->cap_alloc) * q->ncomp + k]);
  free(q->ring);
  free(q->dtypes);
  free(q->shapes);
  pthread_mutex_destroy(&q->mu);
  free(q);
}

static td_code create_queue(void *arg, td_resource **out, td_status *st) {
  const queue_spec *spec = arg;
  fifo_queue *q = td_xcalloc(1, sizeof *q);
  atomic_init(&q->base.refs, 1);
  q->base.kind = kQueueKind;
  q->base.name = td_xstrdup(spec->name);
  q->base.destroy = queue_destroy;
  pthread_mutex_init(&q->mu, NULL);
  q->ncomp = spec->ncomp;
  q->dtypes = td_xcalloc((size_t)spec->ncomp, sizeof *q->dtypes);
  for (int k = 0; k < spec->ncomp; k++) q->dtypes[k] = (td_dtype)spec->types[k];
  q->capacity = spec->capacity;
  if (spec->nshapes) {
    q->shapes = td_xcalloc((size_t)spec->ncomp, sizeof *q->shapes);
    for (int k = 0; k < spec->ncomp; k++)
      if (td_shape_from_proto(spec->shapes[k], &q->shapes[k], st) != TD_OK) {
        queue_destroy(&q->base);
        return st->code;
      }
  }
  *out = &q->base;
  return TD_OK;
}

td_code td_k_fifo_queue(td_kctx *c) {
  const td_node *n = td_k_node(c);
  queue_spec spec = {0};
  spec.ncomp = (int)td_attr_list_type(n, "component_types", &spec.types);
  spec.nshapes = td_attr_list_shape(n, "shapes", &spec.shapes);
  if (spec.ncomp < 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "FIFOQueue: component_types must not be empty");
  if (spec.nshapes && spec.nshapes != (size_t)spec.ncomp)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "All shapes must be fully defined: %zu shapes for %d components",
                     spec.nshapes, spec.ncomp);
  for (size_t k = 0; k < spec.nshapes; k++) {
    td_shape s;
    td_status st;
    if (td_shape_from_proto(spec.shapes[k], &s, &st) != TD_OK || s.rank < 0 || td_shape_num_elements(&s) < 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "All shapes must be fully defined: component %zu", k);
  }
  int64_t capacity = td_attr_int(n, "capacity", -1);
  spec.capacity = capacity < 0 ? INT32_MAX : capacity;
  size_t clen = 0, slen = 0;
  const char *container = td_attr_str(n, "container", &clen);
  const char *shared = td_attr_str(n, "shared_name", &slen);
  char *name = shared && slen ? td_xasprintf("%.*s", (int)slen, shared) : td_xstrdup(td_node_name(n));
  char *key = td_xasprintf("queue:%.*s/%s%s", (int)clen, container ? container : "", name,
                           shared && slen ? "" : "/_private");
  spec.name = name;
  td_resource *r;
  td_code rc = td_k_resource(c, key, create_queue, &spec, &r);
  free(key);
  free(name);
  TD_TRY(rc);
  fifo_queue *q = (fifo_queue *)r;
  int same = q->ncomp == spec.ncomp;
  for (int k = 0; same && k < q->ncomp; k++) same = q->dtypes[k] == (td_dtype)spec.types[k];
  if (!same)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Shared queue '%s' has different component types than requested",
                     r->name);
  td_tensor *out;
  td_shape scalar = td_shape_scalar();
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_RESOURCE, &scalar, &out));
  td_tensor_set_resource(out, 0, r);
  return TD_OK;
}

static td_code input_queue(td_kctx *c, fifo_queue **out) {
  const td_tensor *h = td_k_input(c, 0);
  if (h->dtype != TD_DT_RESOURCE || td_tensor_num_elements(h) != 1 || !td_res(h)[0])
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s: handle is not a queue handle", td_node_op(td_k_node(c)));
  td_resource *r = td_res(h)[0];
  if (r->kind != kQueueKind && strcmp(r->kind, kQueueKind))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "resource '%s' is a %s, not a queue", r->name, r->kind);
  *out = (fifo_queue *)r;
  return TD_OK;
}

static td_tensor *slot(fifo_queue *q, int64_t i) { return &q->ring[((q->head + i) % q->cap_alloc) * q->ncomp]; }

/* Makes room for `more` elements; caller holds q->mu. */
static void reserve_locked(fifo_queue *q, int64_t more) {
  if (q->count + more <= q->cap_alloc) return;
  int64_t cap = q->cap_alloc ? q->cap_alloc : 8;
  while (cap < q->count + more) cap *= 2;
  td_tensor *ring = td_xcalloc((size_t)(cap * q->ncomp), sizeof *ring);
  for (int64_t i = 0; i < q->count; i++) memcpy(&ring[i * q->ncomp], slot(q, i), (size_t)q->ncomp * sizeof *ring);
  free(q->ring);
  q->ring = ring;
  q->head = 0;
  q->cap_alloc = cap;
}

static td_code check_components(td_kctx *c, fifo_queue *q, int many) {
  int n = td_k_num_inputs(c) - 1;
  if (n != q->ncomp)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Wrong number of components in tuple. Expected %d, got %d", q->ncomp, n);
  char a[160], b[160];
  int64_t batch = -1;
  for (int k = 0; k < n; k++) {
    const td_tensor *t = td_k_input(c, 1 + k);
    if (t->dtype != q->dtypes[k])
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Type mismatch in tuple component %d. Expected %s, got %s", k,
                       td_dtype_name(q->dtypes[k]), td_dtype_name(t->dtype));
    if (many && t->shape.rank < 1)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Shape mismatch in tuple component %d. Expected at least a vector, got %s",
                       k, td_shape_str(&t->shape, a, sizeof a));
    if (many && k == 0) batch = t->shape.dim[0];
    if (q->shapes) {
      td_shape want = q->shapes[k];
      if (many) {
        if (want.rank + 1 > TD_MAX_RANK) return td_k_fail(c, TD_INVALID_ARGUMENT, "component %d rank too large", k);
        memmove(&want.dim[1], &want.dim[0], (size_t)want.rank * sizeof want.dim[0]);
        want.dim[0] = batch;
        want.rank++;
      }
      if (!td_shape_equal(&want, &t->shape))
        return td_k_fail(c, TD_INVALID_ARGUMENT, "Shape mismatch in tuple component %d. Expected %s, got %s", k,
                         td_shape_str(&want, a, sizeof a), td_shape_str(&t->shape, b, sizeof b));
    } else if (many && t->shape.dim[0] != batch) {
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "All input tensors must have the same size in the 0th dimension. Component %d has %lld, and "
                       "should have %lld",
                       k, (long long)t->shape.dim[0], (long long)batch);
    }
  }
  return TD_OK;
}

/* Row r of t (dimension 0 dropped) as a new tensor. */
static td_code row_of(td_kctx *c, const td_tensor *t, int64_t r, td_tensor *out) {
  td_shape s = {.rank = t->shape.rank - 1};
  for (int d = 1; d < t->shape.rank; d++) s.dim[d - 1] = t->shape.dim[d];
  td_status st;
  if (td_tensor_alloc(out, t->dtype, &s, &st) != TD_OK) return td_k_fail(c, st.code, "%s", st.msg);
  int64_t per = td_shape_num_elements(&s);
  if (t->dtype == TD_DT_STRING) {
    for (int64_t i = 0; i < per; i++) td_tensor_set_string(out, i, td_str(t)[r * per + i].data, td_str(t)[r * per + i].len);
  } else {
    size_t bytes = (size_t)per * td_dtype_size(t->dtype);
    if (bytes) memcpy(out->data, (const char *)t->data + (size_t)r * bytes, bytes);
  }
  return TD_OK;
}

static td_code would_block(td_kctx *c, fifo_queue *q, const char *what, int64_t n) {
  return td_k_fail(c, TD_FAILED_PRECONDITION,
                   "FIFOQueue '%s' %s (requested %lld, current size %lld, capacity %lld): TF would block this step "
                   "until another step acts on the queue; tensord does not block a request",
                   q->base.name, what, (long long)n, (long long)q->count, (long long)q->capacity);
}

static td_code enqueue(td_kctx *c, int many) {
  fifo_queue *q = NULL;
  TD_TRY(input_queue(c, &q));
  TD_TRY(check_components(c, q, many));
  int64_t n = many ? td_k_input(c, 1)->shape.dim[0] : 1;
  pthread_mutex_lock(&q->mu);
  td_code rc = TD_OK;
  if (q->closed) rc = td_k_fail(c, TD_CANCELLED, "FIFOQueue '%s' is closed.", q->base.name);
  else if (q->count + n > q->capacity) rc = would_block(c, q, "is full", n);
  if (rc == TD_OK) reserve_locked(q, n);
  int64_t added = 0;
  for (; added < n && rc == TD_OK; added++) {
    td_tensor *dst = slot(q, q->count + added);
    for (int k = 0; k < q->ncomp && rc == TD_OK; k++) {
      const td_tensor *t = td_k_input(c, 1 + k);
      td_status st;
      if (many) rc = row_of(c, t, added, &dst[k]);
      else if (t->buf) dst[k] = td_tensor_ref(t);
      else if (td_tensor_copy(&dst[k], t, &st) != TD_OK) rc = td_k_fail(c, st.code, "%s", st.msg);
      if (rc != TD_OK)
        for (int j = 0; j < k; j++) td_tensor_release(&dst[j]);
    }
  }
  if (rc == TD_OK) q->count += n;
  else
    for (int64_t i = 0; i + 1 < added; i++)
      for (int k = 0; k < q->ncomp; k++) td_tensor_release(&slot(q, q->count + i)[k]);
  pthread_mutex_unlock(&q->mu);
  return rc;
}

td_code td_k_queue_enqueue(td_kctx *c) { return enqueue(c, 0); }
td_code td_k_queue_enqueue_many(td_kctx *c) { return enqueue(c, 1); }

static td_code check_outputs(td_kctx *c, fifo_queue *q) {
  if (td_k_num_outputs(c) != q->ncomp)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s: component_types has %d entries but the queue '%s' has %d",
                     td_node_op(td_k_node(c)), td_k_num_outputs(c), q->base.name, q->ncomp);
  return TD_OK;
}

td_code td_k_queue_dequeue(td_kctx *c) {
  fifo_queue *q = NULL;
  TD_TRY(input_queue(c, &q));
  TD_TRY(check_outputs(c, q));
  pthread_mutex_lock(&q->mu);
  td_code rc = TD_OK;
  if (q->count == 0)
    rc = q->closed ? td_k_fail(c, TD_OUT_OF_RANGE,
                               "FIFOQueue '%s' is closed and has insufficient elements (requested 1, current size 0)",
                               q->base.name)
                   : would_block(c, q, "is empty", 1);
  if (rc == TD_OK) {
    td_tensor *e = slot(q, 0);
    for (int k = 0; k < q->ncomp; k++) {
      td_k_set_output(c, k, &e[k]);
      td_tensor_release(&e[k]);
    }
    q->head = (q->head + 1) % q->cap_alloc;
    q->count--;
  }
  pthread_mutex_unlock(&q->mu);
  return rc;
}

/* Dequeues n elements stacked along a new dimension 0; caller holds q->mu and checked count. */
static td_code dequeue_stacked_locked(td_kctx *c, fifo_queue *q, int64_t n) {
  for (int k = 0; k < q->ncomp; k++) {
    const td_shape *es = &q->shapes[k];
    td_shape s = {.rank = es->rank + 1};
    s.dim[0] = n;
    for (int d = 0; d < es->rank; d++) s.dim[d + 1] = es->dim[d];
    td_tensor *out;
    TD_TRY(td_k_alloc_output(c, k, q->dtypes[k], &s, &out));
    int64_t per = td_shape_num_elements(es);
    size_t bytes = (size_t)per * td_dtype_size(q->dtypes[k]);
    for (int64_t i = 0; i < n; i++) {
      const td_tensor *e = &slot(q, i)[k];
      if (q->dtypes[k] == TD_DT_STRING)
        for (int64_t j = 0; j < per; j++) td_tensor_set_string(out, i * per + j, td_str(e)[j].data, td_str(e)[j].len);
      else if (bytes)
        memcpy((char *)out->data + (size_t)i * bytes, e->data, bytes);
    }
  }
  for (int64_t i = 0; i < n; i++)
    for (int k = 0; k < q->ncomp; k++) td_tensor_release(&slot(q, i)[k]);
  if (n) q->head = (q->head + n) % q->cap_alloc;
  q->count -= n;
  return TD_OK;
}

static td_code dequeue_many(td_kctx *c, int up_to) {
  fifo_queue *q = NULL;
  TD_TRY(input_queue(c, &q));
  TD_TRY(check_outputs(c, q));
  const td_tensor *nt = td_k_input(c, 1);
  if (nt->dtype != TD_DT_INT32 || td_tensor_num_elements(nt) != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "n must be an int32 scalar");
  int64_t n = td_i32(nt)[0];
  if (n < 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s requested %lld < 0 elements", up_to ? "DequeueUpToOp" : "DequeueManyOp",
                     (long long)n);
  if (!q->shapes)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "FIFOQueue's DequeueMany and DequeueUpTo require the components to have specified shapes.");
  pthread_mutex_lock(&q->mu);
  td_code rc = TD_OK;
  int64_t take = n;
  if (q->count < n) {
    if (q->closed && up_to && q->count > 0) take = q->count;
    else if (q->closed)
      rc = td_k_fail(c, TD_OUT_OF_RANGE,
                     "FIFOQueue '%s' is closed and has insufficient elements (requested %lld, current size %lld)",
                     q->base.name, (long long)n, (long long)q->count);
    else rc = would_block(c, q, "has too few elements", n);
  }
  if (rc == TD_OK) rc = dequeue_stacked_locked(c, q, take);
  pthread_mutex_unlock(&q->mu);
  return rc;
}

td_code td_k_queue_dequeue_many(td_kctx *c) { return dequeue_many(c, 0); }
td_code td_k_queue_dequeue_up_to(td_kctx *c) { return dequeue_many(c, 1); }

td_code td_k_queue_close(td_kctx *c) {
  fifo_queue *q = NULL;
  TD_TRY(input_queue(c, &q));
  pthread_mutex_lock(&q->mu);
  q->closed = 1;
  pthread_mutex_unlock(&q->mu);
  return TD_OK;
}

static td_code scalar_out(td_kctx *c, fifo_queue *q, td_dtype dt) {
  td_tensor *out;
  td_shape scalar = td_shape_scalar();
  TD_TRY(td_k_alloc_output(c, 0, dt, &scalar, &out));
  pthread_mutex_lock(&q->mu);
  if (dt == TD_DT_INT32) td_i32(out)[0] = (int32_t)q->count;
  else td_u8(out)[0] = (uint8_t)q->closed;
  pthread_mutex_unlock(&q->mu);
  return TD_OK;
}

td_code td_k_queue_size(td_kctx *c) {
  fifo_queue *q = NULL;
  TD_TRY(input_queue(c, &q));
  return scalar_out(c, q, TD_DT_INT32);
}

td_code td_k_queue_is_closed(td_kctx *c) {
  fifo_queue *q = NULL;
  TD_TRY(input_queue(c, &q));
  return scalar_out(c, q, TD_DT_BOOL);
}
