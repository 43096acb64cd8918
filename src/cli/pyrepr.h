/* pyrepr.h — Python text <-> values for `tensord run`: numpy-style array printing and a
 * parser for the Python literals saved_model_cli accepts in --input_exprs / --input_examples.
 *
 * Printing: format tensors exactly like numpy's str(ndarray) (what saved_model_cli prints).
 *
 * Follows numpy >= 1.14 default print options: precision 8, floatmode 'maxprec',
 * suppress False, linewidth 75, threshold 1000 with edgeitems 3 ("..." summaries), sign '-'.
 * Floats use the shortest round-trip digits of their own width (float32 digits for float32),
 * switch to scientific notation when max|x| >= 1e8, min|x| < 1e-4 or max/min > 1e3, and are
 * aligned on the decimal point. Rank-0 tensors print like numpy scalars ("2.5", "3.0").
 * STRING elements print as Python bytes reprs (b'...').
 *
 * Returns a new heap string (caller frees). Never fails on valid tensors; dtypes numpy cannot
 * show (resource, variant, complex) print a placeholder. Thread-safe.
 */
#ifndef TD_CLI_PYREPR_H
#define TD_CLI_PYREPR_H

#include "engine/tensor.h"

char *td_pyrepr_array(const td_tensor *t);

/* Parsed Python literal. Lists and tuples are both LIST; dict items alternate key, value;
 * a CALL is `dotted.name(args, kw=value)`; a bare dotted identifier (np.float32) is NAME. */
typedef enum td_py_kind {
  TD_PY_NONE, TD_PY_BOOL, TD_PY_INT, TD_PY_FLOAT, TD_PY_STR, TD_PY_BYTES,
  TD_PY_LIST, TD_PY_DICT, TD_PY_CALL, TD_PY_NAME,
} td_py_kind;

typedef struct td_pyval {
  td_py_kind kind;
  int64_t i;               /* INT, BOOL */
  double f;                /* FLOAT */
  char *s;                 /* STR (UTF-8) / BYTES / CALL and NAME identifier; NUL-terminated */
  size_t slen;
  struct td_pyval **items; /* LIST, DICT (key, value, ...), CALL args */
  char **kw;               /* CALL: keyword of each arg, NULL for positional */
  size_t n;
} td_pyval;

/* Parses one Python literal expression (nesting depth <= 64). INVALID_ARGUMENT with the
 * offending column on syntax errors. */
td_code td_pylit_parse(const char *src, td_pyval **out, td_status *st) TD_MUST_CHECK;
void td_pyval_free(td_pyval *v);

#endif
