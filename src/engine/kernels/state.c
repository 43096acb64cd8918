/* kernels/state.c — graph plumbing (Const, Placeholder, Identity, NoOp) and state ops:
 * TF1 ref variables, TF2 resource variables, assignments and RestoreV2.
 * Resource keys are "<container>/<shared_name>", or "<container>/<node name>" when the
 * shared_name is empty, so restore and serving paths meet the same variable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "util/mem.h"

td_code td_k_const(td_kctx *c) {
  const Tensorflow__TensorProto *p = td_attr_tensor(td_k_node(c), "value");
  if (!p) return td_k_fail(c, TD_INVALID_ARGUMENT, "Const node has no 'value' attr");
  td_tensor t;
  td_status st;
  if (td_tensor_from_proto(p, &t, &st) != TD_OK) return td_k_fail(c, st.code, "%s", st.msg);
  td_k_set_output(c, 0, &t);
  td_tensor_release(&t);
  return TD_OK;
}

td_code td_k_placeholder(td_kctx *c) {
  const td_node *n = td_k_node(c);
  char shape[128] = "";
  const Tensorflow__TensorShapeProto *sp = td_attr_shape(n, "shape");
  td_shape s;
  if (sp && td_shape_from_proto(sp, &s, NULL) == TD_OK && s.rank >= 0) {
    strcpy(shape, " and shape ");
    td_shape_str(&s, shape + strlen(shape), sizeof shape - strlen(shape));
  }
  return td_k_fail(c, TD_INVALID_ARGUMENT, "You must feed a value for placeholder tensor '%s' with dtype %s%s",
                   td_node_name(n), td_dtype_name(td_attr_type(n, "dtype", TD_DT_INVALID)), shape);
}

td_code td_k_identity(td_kctx *c) { return td_k_forward(c, 0, 0, NULL); }

td_code td_k_identity_n(td_kctx *c) {
  for (int i = 0; i < td_k_num_inputs(c) && i < td_k_num_outputs(c); i++) TD_TRY(td_k_forward(c, i, i, NULL));
  return TD_OK;
}

td_code td_k_noop(td_kctx *c) {
  (void)c;
  return TD_OK;
}

/* "<container>/<shared_name or node name>" into buf. */
static const char *resource_key(const td_node *n, char *buf, size_t size) {
  size_t clen, slen;
  const char *container = td_attr_str(n, "container", &clen);
  const char *shared = td_attr_str(n, "shared_name", &slen);
  if (!shared || !slen) shared = td_node_name(n), slen = strlen(shared);
  snprintf(buf, size, "%.*s/%.*s", (int)clen, container ? container : "", (int)slen, shared);
  return buf;
}

static td_code output_resource(td_kctx *c, td_dtype dt, td_resource *r) {
  td_tensor *out;
  td_shape scalar = td_shape_scalar();
  TD_TRY(td_k_alloc_output(c, 0, dt, &scalar, &out));
  td_tensor_set_resource(out, 0, r);
  return TD_OK;
}

td_code td_k_variable_v2(td_kctx *c) {
  char key[1024];
  td_variable *v = NULL;
  TD_TRY(td_k_variable(c, resource_key(td_k_node(c), key, sizeof key), &v));
  td_dtype dt = td_attr_type(td_k_node(c), "dtype", TD_DT_FLOAT);
  return output_resource(c, (td_dtype)(td_dtype_base(dt) + TD_DT_REF_OFFSET), &v->base);
}

td_code td_k_var_handle(td_kctx *c) {
  char key[1024];
  td_variable *v = NULL;
  TD_TRY(td_k_variable(c, resource_key(td_k_node(c), key, sizeof key), &v));
  return output_resource(c, TD_DT_RESOURCE, &v->base);
}

/* The variable behind input i (a RESOURCE handle or a TF1 ref). */
static td_code input_variable(td_kctx *c, int i, td_variable **out) {
  const td_tensor *t = td_k_input(c, i);
  if ((t->dtype != TD_DT_RESOURCE && !td_dtype_is_ref(t->dtype)) || td_tensor_num_elements(t) != 1 || !td_res(t)[0])
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input %d of %s is not a variable handle", i, td_node_op(td_k_node(c)));
  td_resource *r = td_res(t)[0];
  if (strcmp(r->kind, "variable"))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "resource '%s' is a %s, not a variable", r->name, r->kind);
  *out = (td_variable *)r;
  return TD_OK;
}

static td_code read_var(td_kctx *c, td_variable *v, td_tensor *out) {
  td_status st;
  if (td_variable_read(v, out, &st) != TD_OK) {
    if (td_dtype_is_ref(td_k_input(c, 0)->dtype)) return td_k_fail(c, st.code, "%s", st.msg);
    return td_k_fail(c, st.code, "Error while reading resource variable %s. This could mean that the variable "
                     "was uninitialized.", v->base.name);
  }
  return TD_OK;
}

td_code td_k_read_variable(td_kctx *c) {
  td_variable *v = NULL;
  td_tensor t;
  TD_TRY(input_variable(c, 0, &v));
  TD_TRY(read_var(c, v, &t));
  td_k_set_output(c, 0, &t);
  td_tensor_release(&t);
  return TD_OK;
}

td_code td_k_assign_variable(td_kctx *c) {
  td_variable *v = NULL;
  TD_TRY(input_variable(c, 0, &v));
  td_variable_assign(v, td_k_input(c, 1));
  return TD_OK;
}

/* value = old (+|-) delta, elementwise over equal shapes. */
static td_code update_var(td_kctx *c, td_variable *v, const td_tensor *delta, int sign) {
  td_tensor old, nv;
  TD_TRY(read_var(c, v, &old));
  td_code code = TD_OK;
  td_status st;
  if (!td_shape_equal(&old.shape, &delta->shape) || old.dtype != delta->dtype)
    code = td_k_fail(c, TD_INVALID_ARGUMENT, "Cannot update variable %s: shape or dtype mismatch", v->base.name);
  else if ((code = td_tensor_copy(&nv, &old, &st)) != TD_OK)
    code = td_k_fail(c, st.code, "%s", st.msg);
  if (code == TD_OK) {
    int64_t n = td_tensor_num_elements(&nv);
    if (nv.dtype == TD_DT_INT64)
      for (int64_t i = 0; i < n; i++) td_i64(&nv)[i] += sign * td_i64(delta)[i];
    else
      for (int64_t i = 0; i < n; i++)
        td_tensor_set_double(&nv, i, td_tensor_get_double(&nv, i) + sign * td_tensor_get_double(delta, i));
    td_variable_assign(v, &nv);
    td_tensor_release(&nv);
  }
  td_tensor_release(&old);
  return code;
}

td_code td_k_assign_add_variable(td_kctx *c) {
  td_variable *v = NULL;
  TD_TRY(input_variable(c, 0, &v));
  return update_var(c, v, td_k_input(c, 1), 1);
}

td_code td_k_assign_sub_variable(td_kctx *c) {
  td_variable *v = NULL;
  TD_TRY(input_variable(c, 0, &v));
  return update_var(c, v, td_k_input(c, 1), -1);
}

static td_code output_bool(td_kctx *c, int value) {
  td_tensor *out;
  td_shape scalar = td_shape_scalar();
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_BOOL, &scalar, &out));
  td_u8(out)[0] = (uint8_t)value;
  return TD_OK;
}

td_code td_k_var_is_initialized(td_kctx *c) {
  td_variable *v = NULL;
  TD_TRY(input_variable(c, 0, &v));
  td_tensor t;
  int ok = td_variable_read(v, &t, NULL) == TD_OK;
  if (ok) td_tensor_release(&t);
  return output_bool(c, ok);
}

td_code td_k_is_variable_initialized(td_kctx *c) { return td_k_var_is_initialized(c); }

td_code td_k_assign(td_kctx *c) {
  td_variable *v = NULL;
  TD_TRY(input_variable(c, 0, &v));
  const td_tensor *value = td_k_input(c, 1);
  if (td_dtype_is_ref(value->dtype)) return td_k_fail(c, TD_INVALID_ARGUMENT, "Assign of a reference value");
  td_variable_assign(v, value);
  return td_k_forward(c, 0, 0, NULL);
}

td_code td_k_assign_add(td_kctx *c) {
  td_variable *v = NULL;
  TD_TRY(input_variable(c, 0, &v));
  TD_TRY(update_var(c, v, td_k_input(c, 1), 1));
  return td_k_forward(c, 0, 0, NULL);
}

td_code td_k_assign_sub(td_kctx *c) {
  td_variable *v = NULL;
  TD_TRY(input_variable(c, 0, &v));
  TD_TRY(update_var(c, v, td_k_input(c, 1), -1));
  return td_k_forward(c, 0, 0, NULL);
}

td_code td_k_restore_v2(td_kctx *c) {
  const td_tensor *prefix = td_k_input(c, 0), *names = td_k_input(c, 1), *slices = td_k_input(c, 2);
  const int *dtypes;
  size_t n = td_attr_list_type(td_k_node(c), "dtypes", &dtypes);
  if (prefix->dtype != TD_DT_STRING || td_tensor_num_elements(prefix) != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input prefix should be a single string tensor");
  if (names->dtype != TD_DT_STRING || slices->dtype != TD_DT_STRING ||
      td_tensor_num_elements(names) != (int64_t)n || td_tensor_num_elements(slices) != (int64_t)n)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected %zu tensor names and shape_and_slices", n);
  const td_checkpoint_reader *r = td_k_checkpoint(c);
  if (!r->read) return td_k_fail(c, TD_FAILED_PRECONDITION, "RestoreV2: this session has no checkpoint reader");
  const char *pfx = td_str(prefix)[0].data ? td_str(prefix)[0].data : "";
  for (size_t i = 0; i < n; i++) {
    if (!td_k_output_used(c, (int)i)) continue;
    const char *name = td_str(names)[i].data ? td_str(names)[i].data : "";
    const char *slice = td_str(slices)[i].data ? td_str(slices)[i].data : "";
    td_tensor t;
    td_status st;
    if (r->read(r->self, pfx, name, slice, (td_dtype)dtypes[i], &t, &st) != TD_OK)
      return td_k_fail(c, st.code, "%s", st.msg);
    td_k_set_output(c, (int)i, &t);
    td_tensor_release(&t);
  }
  return TD_OK;
}
