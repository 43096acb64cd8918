/* show_functions.c — the "Concrete Functions:" tail of `saved_model_cli show --all` for TF2
 * SavedModels, reconstructed from the SavedObjectGraph instead of loading the model in Python.
 *
 * saved_model_cli loads the model and lists the root object's function-valued children
 * (sorted by name); for each tf.function, its concrete functions (sorted by name) with the
 * structured input signature (args tuple, kwargs dict) printed by _print_args. Here the root
 * children are SavedObject.children of node 0 whose kind is `function` or
 * `bare_concrete_function`, and each signature is decoded from
 * SavedConcreteFunction.canonicalized_input_signature (a StructuredValue), printing Python's
 * str()/repr() of the decoded values (TensorSpec, TensorShape, DType, list, tuple, dict, ...).
 * Gap: values Python would rebuild as arbitrary TypeSpec subclasses (RaggedTensorSpec, ...)
 * are printed from their type_spec_class_name only. The '\b\b' sequences are literal, as in
 * the Python tool's output.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/show_internal.h"
#include "util/mem.h"

/* Python tf.DType names by DataType value. */
static const char *const py_dtype_names[] = {
    [1] = "float32",    [2] = "float64",  [3] = "int32",     [4] = "uint8",    [5] = "int16",
    [6] = "int8",       [7] = "string",   [8] = "complex64", [9] = "int64",    [10] = "bool",
    [11] = "qint8",     [12] = "quint8",  [13] = "qint32",   [14] = "bfloat16", [15] = "qint16",
    [16] = "quint16",   [17] = "uint16",  [18] = "complex128", [19] = "float16", [20] = "resource",
    [21] = "variant",   [22] = "uint32",  [23] = "uint64",   [24] = "float8_e5m2", [25] = "float8_e4m3fn",
    [29] = "int4",      [30] = "uint4",
};

static void print_py_dtype_name(FILE *out, int dt) {
  int base = dt > 100 ? dt - 100 : dt;
  const char *name = base > 0 && base < (int)(sizeof py_dtype_names / sizeof py_dtype_names[0])
                         ? py_dtype_names[base]
                         : NULL;
  if (name)
    fprintf(out, "%s%s", name, dt > 100 ? "_ref" : "");
  else
    fprintf(out, "<dtype %d>", dt);
}

/* Python's repr(float): shortest round-tripping digits, ".0" for integral values. */
static void print_py_float(FILE *out, double v) {
  if (isnan(v)) {
    fputs("nan", out);
    return;
  }
  if (isinf(v)) {
    fputs(v < 0 ? "-inf" : "inf", out);
    return;
  }
  char buf[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  fputs(buf, out);
  if (!strpbrk(buf, ".eni")) fputs(".0", out);
}

/* str(TensorShape): "<unknown>", "()", "(3,)", "(None, 28, 28)". */
static void print_tensor_shape(FILE *out, const Tensorflow__TensorShapeProto *s) {
  if (s && s->unknown_rank) {
    fputs("<unknown>", out);
    return;
  }
  size_t n = s ? s->n_dim : 0;
  fputc('(', out);
  for (size_t i = 0; i < n; i++) {
    if (i) fputs(", ", out);
    if (s->dim[i]->size < 0)
      fputs("None", out);
    else
      fprintf(out, "%lld", (long long)s->dim[i]->size);
  }
  fputs(n == 1 ? ",)" : ")", out);
}

/* repr(TensorSpec) / repr(BoundedTensorSpec) (min/max omitted). */
static void print_tensor_spec(FILE *out, const char *cls, const char *name, const Tensorflow__TensorShapeProto *shape,
                              int dtype) {
  fprintf(out, "%s(shape=", cls);
  print_tensor_shape(out, shape);
  fputs(", dtype=tf.", out);
  print_py_dtype_name(out, dtype);
  fputs(", name=", out);
  if (name && name[0])
    td_show_py_repr(out, name);
  else
    fputs("None", out);
  fputc(')', out);
}

static const char *type_name_of(const Tensorflow__StructuredValue *v) {
  switch (v->kind_case) {
    case TENSORFLOW__STRUCTURED_VALUE__KIND_FLOAT64_VALUE: return "float";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_INT64_VALUE: return "int";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_STRING_VALUE: return "str";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_BOOL_VALUE: return "bool";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_SHAPE_VALUE: return "TensorShape";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_DTYPE_VALUE: return "DType";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_SPEC_VALUE: return "TensorSpec";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_BOUNDED_TENSOR_SPEC_VALUE: return "BoundedTensorSpec";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_LIST_VALUE: return "list";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TUPLE_VALUE: return "tuple";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_DICT_VALUE: return "dict";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_NAMED_TUPLE_VALUE:
      return v->named_tuple_value && v->named_tuple_value->name ? v->named_tuple_value->name : "tuple";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TYPE_SPEC_VALUE:
      return v->type_spec_value && v->type_spec_value->type_spec_class_name ? v->type_spec_value->type_spec_class_name
                                                                            : "TypeSpec";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_VALUE:
    case TENSORFLOW__STRUCTURED_VALUE__KIND_NUMPY_VALUE: return "ndarray";
    default: return "NoneType";
  }
}

static void print_str(FILE *out, const Tensorflow__StructuredValue *v);

/* Items of an iterable StructuredValue (list, tuple, named tuple); 0 if not iterable. */
static int iterable_items(const Tensorflow__StructuredValue *v, Tensorflow__StructuredValue ***items, size_t *n) {
  if (v->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_LIST_VALUE && v->list_value) {
    *items = v->list_value->values;
    *n = v->list_value->n_values;
    return 1;
  }
  if (v->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_TUPLE_VALUE && v->tuple_value) {
    *items = v->tuple_value->values;
    *n = v->tuple_value->n_values;
    return 1;
  }
  return 0;
}

/* repr() of a value inside a container (Python containers repr their items). */
static void print_repr(FILE *out, const Tensorflow__StructuredValue *v) {
  if (v->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_STRING_VALUE)
    td_show_py_repr(out, v->string_value ? v->string_value : "");
  else
    print_str(out, v);
}

/* str() of a decoded StructuredValue. */
static void print_str(FILE *out, const Tensorflow__StructuredValue *v) {
  Tensorflow__StructuredValue **items;
  size_t n;
  switch (v->kind_case) {
    case TENSORFLOW__STRUCTURED_VALUE__KIND_FLOAT64_VALUE: print_py_float(out, v->float64_value); return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_INT64_VALUE: fprintf(out, "%lld", (long long)v->int64_value); return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_STRING_VALUE: fputs(v->string_value ? v->string_value : "", out); return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_BOOL_VALUE: fputs(v->bool_value ? "True" : "False", out); return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_SHAPE_VALUE: print_tensor_shape(out, v->tensor_shape_value); return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_DTYPE_VALUE:
      fputs("<dtype: '", out);
      print_py_dtype_name(out, v->tensor_dtype_value);
      fputs("'>", out);
      return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_SPEC_VALUE: {
      const Tensorflow__TensorSpecProto *s = v->tensor_spec_value;
      print_tensor_spec(out, "TensorSpec", s ? s->name : NULL, s ? s->shape : NULL, s ? (int)s->dtype : 0);
      return;
    }
    case TENSORFLOW__STRUCTURED_VALUE__KIND_BOUNDED_TENSOR_SPEC_VALUE: {
      const Tensorflow__BoundedTensorSpecProto *s = v->bounded_tensor_spec_value;
      print_tensor_spec(out, "BoundedTensorSpec", s ? s->name : NULL, s ? s->shape : NULL, s ? (int)s->dtype : 0);
      return;
    }
    case TENSORFLOW__STRUCTURED_VALUE__KIND_DICT_VALUE: {
      const Tensorflow__DictValue *d = v->dict_value;
      fputc('{', out);
      for (size_t i = 0; d && i < d->n_fields; i++) {
        if (i) fputs(", ", out);
        td_show_py_repr(out, d->fields[i]->key);
        fputs(": ", out);
        if (d->fields[i]->value)
          print_repr(out, d->fields[i]->value);
        else
          fputs("None", out);
      }
      fputc('}', out);
      return;
    }
    default: break;
  }
  if (iterable_items(v, &items, &n)) {
    int tuple = v->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_TUPLE_VALUE;
    fputc(tuple ? '(' : '[', out);
    for (size_t i = 0; i < n; i++) {
      if (i) fputs(", ", out);
      print_repr(out, items[i]);
    }
    fputs(tuple ? (n == 1 ? ",)" : ")") : "]", out);
    return;
  }
  fputs(v->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_NONE_VALUE || v->kind_case == 0 ? "None" : type_name_of(v),
        out);
}

/* _maybe_add_quotes: str values get single quotes, others their str(). */
static void print_quoted(FILE *out, const Tensorflow__StructuredValue *v) {
  int is_str = v->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_STRING_VALUE;
  if (is_str) fputc('\'', out);
  print_str(out, v);
  if (is_str) fputc('\'', out);
}

/* saved_model_cli._print_args(arguments, argument_type, indent=4) for one element. */
static void print_arg(FILE *out, const Tensorflow__StructuredValue *e) {
  const char *pad = "        "; /* indent 4 */
  Tensorflow__StructuredValue **items;
  size_t n;
  if (e->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_STRING_VALUE) {
    fprintf(out, "%s  %s\n", pad, e->string_value ? e->string_value : "");
  } else if (e->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_SPEC_VALUE) {
    const Tensorflow__TensorSpecProto *s = e->tensor_spec_value;
    const char *name = s && s->name && s->name[0] ? s->name : "None";
    fprintf(out, "          %s: ", name);
    print_str(out, e);
    fputc('\n', out);
  } else if (iterable_items(e, &items, &n)) {
    fprintf(out, "%s  DType: %s\n%s  Value: [", pad, type_name_of(e), pad);
    for (size_t i = 0; i < n; i++) {
      print_quoted(out, items[i]);
      fputs(", ", out);
    }
    fputs("\b\b]\n", out);
  } else if (e->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_DICT_VALUE) {
    const Tensorflow__DictValue *d = e->dict_value;
    fprintf(out, "%s  DType: dict\n%s  Value: {", pad, pad);
    for (size_t i = 0; d && i < d->n_fields; i++) {
      fprintf(out, "'%s': ", d->fields[i]->key);
      if (d->fields[i]->value)
        print_quoted(out, d->fields[i]->value);
      else
        fputs("None", out);
      fputs(", ", out);
    }
    fputs("\b\b}\n", out);
  } else {
    fprintf(out, "%s  DType: %s\n%s  Value: ", pad, type_name_of(e), pad);
    print_str(out, e);
    fputc('\n', out);
  }
}

static void print_args(FILE *out, Tensorflow__StructuredValue **elems, size_t n, const char *kind) {
  for (size_t i = 0; i < n; i++) {
    fprintf(out, "        %s #%zu\n", kind, i + 1);
    print_arg(out, elems[i]);
  }
}

static const Tensorflow__SavedConcreteFunction *find_concrete(const Tensorflow__SavedObjectGraph *og,
                                                              const char *name) {
  for (size_t i = og->n_concrete_functions; i-- > 0;)
    if (!strcmp(og->concrete_functions[i]->key, name)) return og->concrete_functions[i]->value;
  return NULL;
}

/* "Option #i" for one concrete function: (args tuple, kwargs dict). */
static void print_option(FILE *out, const Tensorflow__SavedObjectGraph *og, const char *fn, size_t index) {
  const Tensorflow__SavedConcreteFunction *cf = find_concrete(og, fn);
  const Tensorflow__StructuredValue *sig = cf ? cf->canonicalized_input_signature : NULL;
  if (!sig || sig->kind_case != TENSORFLOW__STRUCTURED_VALUE__KIND_TUPLE_VALUE || !sig->tuple_value ||
      sig->tuple_value->n_values != 2)
    return;
  Tensorflow__StructuredValue **args;
  size_t nargs;
  if (iterable_items(sig->tuple_value->values[0], &args, &nargs) && nargs) {
    fprintf(out, "    Option #%zu\n      Callable with:\n", index);
    print_args(out, args, nargs, "Argument");
  }
  const Tensorflow__StructuredValue *kw = sig->tuple_value->values[1];
  if (kw->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_DICT_VALUE && kw->dict_value && kw->dict_value->n_fields) {
    /* Iterating a dict yields its keys: each prints as a plain string argument. */
    for (size_t i = 0; i < kw->dict_value->n_fields; i++)
      fprintf(out, "        Named Argument #%zu\n          %s\n", i + 1, kw->dict_value->fields[i]->key);
  }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int cmp_children(const void *a, const void *b) {
  const Tensorflow__SavedObject__ObjectReference *x = *(Tensorflow__SavedObject__ObjectReference *const *)a;
  const Tensorflow__SavedObject__ObjectReference *y = *(Tensorflow__SavedObject__ObjectReference *const *)b;
  return strcmp(x->local_name, y->local_name);
}

void td_show_concrete_functions(FILE *out, const Tensorflow__SavedModel *sm) {
  const Tensorflow__SavedObjectGraph *og = NULL;
  for (size_t i = 0; i < sm->n_meta_graphs && !og; i++) og = sm->meta_graphs[i]->object_graph_def;
  if (!og) return;
  fputs("\nConcrete Functions:", out);
  if (og->n_nodes == 0) return;
  const Tensorflow__SavedObject *root = og->nodes[0];
  size_t nchildren = root->n_children;
  Tensorflow__SavedObject__ObjectReference **children = td_xcalloc(nchildren + 1, sizeof *children);
  if (nchildren) memcpy(children, root->children, nchildren * sizeof *children);
  qsort(children, nchildren, sizeof *children, cmp_children);
  for (size_t c = 0; c < nchildren; c++) {
    int id = children[c]->node_id;
    if (id < 0 || (size_t)id >= og->n_nodes) continue;
    const Tensorflow__SavedObject *obj = og->nodes[id];
    char **names;
    size_t nnames;
    if (obj->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_FUNCTION && obj->function) {
      nnames = obj->function->n_concrete_functions;
      names = td_xcalloc(nnames + 1, sizeof *names);
      if (nnames) memcpy(names, obj->function->concrete_functions, nnames * sizeof *names);
    } else if (obj->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION && obj->bare_concrete_function) {
      nnames = 1;
      names = td_xcalloc(2, sizeof *names);
      names[0] = obj->bare_concrete_function->concrete_function_name;
    } else {
      continue;
    }
    fprintf(out, "\n  Function Name: '%s'\n", children[c]->local_name);
    qsort(names, nnames, sizeof *names, cmp_str);
    for (size_t i = 0; i < nnames; i++) print_option(out, og, names[i], i + 1);
    free(names);
  }
  free(children);
}
