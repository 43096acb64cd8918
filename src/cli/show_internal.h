/* show_internal.h — pieces of `tensord show` shared between show.c (modes, flags) and
 * show_functions.c (the TF2 "Concrete Functions" listing). Output goes to the given FILE in
 * the exact text layout of TF's python/tools/saved_model_cli.py. Thread affinity: the CLI's
 * main thread. */
#ifndef TD_CLI_SHOW_INTERNAL_H
#define TD_CLI_SHOW_INTERNAL_H

#include <stdio.h>

#include "proto/tf.h"

/* Python repr() of a str: 'abc' (or "it's"), with \\, \n, \t, \r, \xNN escapes. */
void td_show_py_repr(FILE *out, const char *s);
/* The DataType enum name ("DT_FLOAT", "DT_FLOAT_REF"); "DT_<n>" outside the enum. */
const char *td_show_dtype_name(int dtype, char *buf, size_t cap);

/* Prints "\nConcrete Functions:" and the per-function listing derived from the root
 * object's function children in the SavedObjectGraph of the first MetaGraphDef that has
 * one; prints nothing when no MetaGraphDef has an object graph. */
void td_show_concrete_functions(FILE *out, const Tensorflow__SavedModel *sm);

/* `--ops` (show_ops.c): the op histogram of mg and the functions it reaches, each op marked
 * supported / function call / UNSUPPORTED (needed to serve) / unsupported (not needed), then a
 * summary line. Returns the number of unsupported ops serving needs. */
int td_show_ops(FILE *out, const Tensorflow__MetaGraphDef *mg);

#endif
