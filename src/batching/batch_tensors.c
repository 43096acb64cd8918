/* batch_tensors.c — the tensor side of a batch: concatenate the tasks' inputs along dim 0
 * (padding inner dims and extra rows as TF's BatchingSession does), run once, split the
 * outputs back by task size.
 *
 * Invariants: inputs are only read; a task with the batch to itself and no padding runs on its
 * own tensors (no copies). Every task ends with the batch's code; outputs are set only on
 * success. Strings are copied element by element; other dtypes must be plain data.
 */
#include <stdlib.h>
#include <string.h>

#include "batching/batch_internal.h"
#include "util/mem.h"

td_code td_batch_task_size(const td_signature *sig, const td_tensor *inputs, int64_t *size, td_status *st) {
  for (int i = 0; i < sig->num_inputs; i++) {
    const td_tensor *t = &inputs[i];
    if (t->shape.rank < 1)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Batching Run() input tensors must have at least one dimension");
    if (i == 0) *size = t->shape.dim[0];
    else if (t->shape.dim[0] != *size)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Batching Run() input tensors must have equal 0th-dimension size");
  }
  return TD_OK;
}

static int batchable_dtype(td_dtype dt) { return dt == TD_DT_STRING || td_dtype_size(dt) > 0; }

int td_batch_task_fits_signature(const td_batching_params *p, const td_signature *sig, const td_tensor *inputs) {
  for (int i = 0; i < sig->num_inputs; i++) {
    const td_sig_tensor *want = &sig->inputs[i];
    const td_tensor *got = &inputs[i];
    if (!batchable_dtype(got->dtype) || got->shape.rank < 1) return 0;
    if (want->dtype != TD_DT_INVALID && td_dtype_base(want->dtype) != got->dtype) return 0;
    if (want->shape.rank < 0) continue;
    if (want->shape.rank != got->shape.rank) return 0;
    for (int d = 1; d < got->shape.rank; d++) {
      int64_t w = want->shape.dim[d], g = got->shape.dim[d];
      if (w >= 0 && (p->pad_variable_length_inputs ? g > w : g != w)) return 0; /* padding grows up to w */
    }
  }
  return 1;
}

int td_batch_tasks_compatible(const td_batching_params *p, const td_signature *sig, const batch_task *a,
                              const batch_task *b) {
  for (int i = 0; i < sig->num_inputs; i++) {
    const td_tensor *x = &a->inputs[i], *y = &b->inputs[i];
    if (x->dtype != y->dtype || x->shape.rank != y->shape.rank) return 0;
    if (p->pad_variable_length_inputs) continue;
    for (int d = 1; d < x->shape.rank; d++)
      if (x->shape.dim[d] != y->shape.dim[d]) return 0;
  }
  return 1;
}

/* dst[di..di+n) = src[si..si+n) */
static void copy_elems(td_tensor *dst, int64_t di, const td_tensor *src, int64_t si, int64_t n) {
  if (n <= 0) return;
  if (src->dtype == TD_DT_STRING) {
    const td_string *s = td_str(src) + si;
    for (int64_t k = 0; k < n; k++) td_tensor_set_string(dst, di + k, s[k].data, s[k].len);
    return;
  }
  size_t es = td_dtype_size(src->dtype);
  memcpy((char *)dst->data + (size_t)di * es, (const char *)src->data + (size_t)si * es, (size_t)n * es);
}

/* Elements per row (product of dims 1..) of a shape. */
static int64_t row_elems(const td_shape *s) {
  int64_t n = 1;
  for (int d = 1; d < s->rank; d++) n *= s->dim[d];
  return n;
}

/* Copies `rows` rows of src (inner dims src->shape[1..]) into dst starting at row dst_row,
 * where dst's inner dims may be larger: the rest of each row is filled with src's first
 * element (TF's pad_variable_length_inputs). */
static void copy_rows_padded(td_tensor *dst, int64_t dst_row, const td_tensor *src, int64_t rows) {
  int rank = src->shape.rank;
  int64_t drow = row_elems(&dst->shape), srow = row_elems(&src->shape);
  if (srow == drow) { /* same inner shape */
    copy_elems(dst, dst_row * drow, src, 0, rows * srow);
    return;
  }
  if (srow == 0) return; /* no first element to pad with: the zeroed storage stays */
  int64_t last = rank > 1 ? src->shape.dim[rank - 1] : 1;
  for (int64_t r = 0; r < rows; r++) {
    int64_t base = (dst_row + r) * drow;
    for (int64_t k = 0; k < drow; k++) copy_elems(dst, base + k, src, 0, 1);
    /* every run along the last dim: index tuple over dims 1..rank-2 */
    int64_t idx[TD_MAX_RANK] = {0};
    for (int64_t run = 0; run < srow / (last ? last : 1); run++) {
      int64_t so = r * srow, dof = base;
      int64_t sstride = last, dstride = rank > 1 ? dst->shape.dim[rank - 1] : 1;
      for (int d = rank - 2; d >= 1; d--) {
        so += idx[d] * sstride;
        dof += idx[d] * dstride;
        sstride *= src->shape.dim[d];
        dstride *= dst->shape.dim[d];
      }
      copy_elems(dst, dof, src, so, last);
      for (int d = rank - 2; d >= 1 && ++idx[d] == src->shape.dim[d]; d--) idx[d] = 0;
    }
  }
}

/* The batched tensor for input i: tasks' rows in order, then padding rows (copies of the last
 * task's first row). */
static td_code concat_input(const td_batching_params *p, const td_signature *sig, int i, batch_task *head,
                            int64_t size, int64_t padded, td_tensor *out, td_status *st) {
  const td_tensor *first = &head->inputs[i];
  td_shape shape = first->shape;
  if (!batchable_dtype(first->dtype))
    return td_status_set(st, TD_INVALID_ARGUMENT, "Cannot batch input '%s' of type %s", sig->inputs[i].alias,
                         td_dtype_name(first->dtype));
  int differ = 0;
  for (batch_task *t = head->next; t; t = t->next) {
    const td_tensor *x = &t->inputs[i];
    if (x->dtype != first->dtype || x->shape.rank != shape.rank)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Tensors with name '%s' from different tasks have different %s",
                           sig->inputs[i].alias, x->dtype != first->dtype ? "dtypes" : "ranks");
    for (int d = 1; d < shape.rank; d++) {
      if (x->shape.dim[d] != shape.dim[d]) differ = 1;
      if (x->shape.dim[d] > shape.dim[d]) shape.dim[d] = x->shape.dim[d];
    }
  }
  if (differ && !p->pad_variable_length_inputs)
    return td_status_set(st, TD_FAILED_PRECONDITION,
                         "Tensors with name '%s' from different tasks have different shapes and padding is turned "
                         "off. Set pad_variable_length_inputs to true, or ensure that all tensors with the same name "
                         "have equal dimensions starting with the first dim.",
                         sig->inputs[i].alias);
  shape.dim[0] = padded;
  TD_TRY(td_tensor_alloc(out, first->dtype, &shape, st));
  int64_t row = 0;
  batch_task *last = head;
  for (batch_task *t = head; t; t = t->next) {
    copy_rows_padded(out, row, &t->inputs[i], t->size);
    row += t->size;
    last = t;
  }
  int64_t re = row_elems(&shape), last_start = size - last->size;
  for (; row < padded; row++) copy_elems(out, row * re, out, last_start * re, re);
  return TD_OK;
}

/* Task t's rows [from, from + t->size) of every batched output. */
static td_code split_outputs(const td_signature *sig, const td_tensor *out, batch_task *t, int64_t from,
                             td_status *st) {
  for (int j = 0; j < sig->num_outputs; j++) {
    td_shape shape = out[j].shape;
    shape.dim[0] = t->size;
    int64_t re = row_elems(&shape);
    if (td_tensor_alloc(&t->outputs[j], out[j].dtype, &shape, st) != TD_OK) {
      for (int k = 0; k <= j; k++) td_tensor_release(&t->outputs[k]);
      return st->code;
    }
    copy_elems(&t->outputs[j], 0, &out[j], from * re, t->size * re);
  }
  return TD_OK;
}

static void finish_all(batch_task *head, td_code code, const td_status *st) {
  for (batch_task *t = head; t; t = t->next) {
    t->code = code;
    if (code != TD_OK) t->status = *st;
  }
}

void td_batch_execute(const td_batching_params *p, td_model *m, const td_signature *sig, batch_task *head,
                      int64_t size, int64_t padded) {
  if (!head->next && padded == size) { /* alone and unpadded: its own tensors */
    td_status_clear(&head->status);
    head->code = td_model_run_opts(m, sig, head->inputs, head->outputs, NULL, &head->status);
    return;
  }
  int nin = sig->num_inputs, nout = sig->num_outputs;
  td_tensor *in = td_xcalloc((size_t)nin + 1, sizeof *in), *out = td_xcalloc((size_t)nout + 1, sizeof *out);
  td_status st;
  td_status_clear(&st);
  td_code code = TD_OK;
  for (int i = 0; i < nin && code == TD_OK; i++) code = concat_input(p, sig, i, head, size, padded, &in[i], &st);
  int ran = 0;
  if (code == TD_OK) ran = (code = td_model_run_opts(m, sig, in, out, NULL, &st)) == TD_OK;
  for (int j = 0; j < nout && code == TD_OK; j++)
    if (out[j].shape.rank < 1 || out[j].shape.dim[0] != padded)
      code = td_status_set(&st, TD_FAILED_PRECONDITION,
                           "Batched output tensor's 0th dimension does not equal the sum of the 0th dimension sizes of "
                           "the input tensors");
  int64_t from = 0;
  batch_task *t = head;
  while (t && code == TD_OK && (code = split_outputs(sig, out, t, from, &st)) == TD_OK) {
    from += t->size;
    t = t->next;
  }
  if (code != TD_OK) /* tasks split before a failure release theirs (t released its own) */
    for (batch_task *u = head; u != t; u = u->next)
      for (int j = 0; j < nout; j++) td_tensor_release(&u->outputs[j]);
  finish_all(head, code, &st);
  for (int i = 0; i < nin; i++) td_tensor_release(&in[i]);
  for (int j = 0; ran && j < nout; j++) td_tensor_release(&out[j]);
  free(in);
  free(out);
}
