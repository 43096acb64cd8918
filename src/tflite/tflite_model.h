/* tflite_model.h — a .tflite file read into plain C structs (schema version 3; field tables in
 * ../shared/reference/tflite-format.md §2): subgraphs, tensors (shape, type, constant bytes,
 * affine quantization incl. per-channel), operators (effective builtin code, options table,
 * custom options), metadata buffers and the FlatBuffer SignatureDefs.
 *
 * Every offset is validated while reading (fb.h); a corrupt or truncated file gives
 * DATA_LOSS / INVALID_ARGUMENT, never a crash. Builtin options stay as FlatBuffer tables and are
 * read on demand through `fb` (also bounds-checked).
 *
 * Ownership: td_tfl_model owns the file bytes; every pointer in it (names, constant data)
 * points into those bytes or into heap arrays freed by td_tfl_model_free.
 * Thread affinity: read-only after td_tfl_model_parse, except that option reads through `fb`
 * may set its bad flag, so translate on one thread.
 */
#ifndef TD_TFLITE_TFLITE_MODEL_H
#define TD_TFLITE_TFLITE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "tflite/fb.h"
#include "util/status.h"

#define TD_TFL_MAX_RANK 8

/* TensorType (schema order). */
enum {
  TD_TFL_FLOAT32 = 0, TD_TFL_FLOAT16 = 1, TD_TFL_INT32 = 2, TD_TFL_UINT8 = 3, TD_TFL_INT64 = 4,
  TD_TFL_STRING = 5, TD_TFL_BOOL = 6, TD_TFL_INT16 = 7, TD_TFL_COMPLEX64 = 8, TD_TFL_INT8 = 9,
  TD_TFL_FLOAT64 = 10, TD_TFL_COMPLEX128 = 11, TD_TFL_UINT64 = 12, TD_TFL_RESOURCE = 13,
  TD_TFL_VARIANT = 14, TD_TFL_UINT32 = 15, TD_TFL_UINT16 = 16, TD_TFL_INT4 = 17, TD_TFL_BFLOAT16 = 18,
};

typedef struct td_tfl_quant {
  int n;             /* number of scales; 0 = not quantized */
  float *scale;      /* heap, n */
  int64_t *zero_point; /* heap, n (0 when the file has fewer) */
  int axis;          /* quantized_dimension (per-channel when n > 1) */
} td_tfl_quant;

typedef struct td_tfl_tensor {
  char *name;        /* heap, NUL-terminated ("" when absent) */
  int type;          /* TD_TFL_* */
  int rank;          /* shape field (absent = 0 = scalar) */
  int64_t dims[TD_TFL_MAX_RANK];
  int has_signature; /* shape_signature present */
  int64_t sig_dims[TD_TFL_MAX_RANK]; /* -1 = dynamic */
  const uint8_t *data; /* constant bytes, NULL for runtime tensors */
  size_t nbytes;
  td_tfl_quant q;
  int is_variable;
} td_tfl_tensor;

typedef struct td_tfl_op {
  int builtin;       /* effective builtin code (32 = CUSTOM) */
  int version;
  const char *custom_code; /* heap NUL-terminated, for CUSTOM */
  int nin, nout;
  int *in, *out;     /* heap; -1 = omitted optional input */
  int options_type;  /* BuiltinOptions union type (0 = none) */
  td_fb_table options;
  const uint8_t *custom_options;
  size_t custom_options_len;
} td_tfl_op;

typedef struct td_tfl_subgraph {
  char *name;
  int ntensors, nin, nout, nops;
  td_tfl_tensor *tensors;
  int *in, *out;
  td_tfl_op *ops;
} td_tfl_subgraph;

typedef struct td_tfl_tensor_map {
  char *name;
  int tensor;
} td_tfl_tensor_map;

typedef struct td_tfl_sigdef { /* Model.signature_defs (the converter's own list) */
  char *key;
  int subgraph;
  int nin, nout;
  td_tfl_tensor_map *in, *out;
} td_tfl_sigdef;

typedef struct td_tfl_metadata {
  char *name;
  const uint8_t *data;
  size_t len;
} td_tfl_metadata;

typedef struct td_tfl_model {
  uint8_t *file;
  size_t len;
  td_fb fb;
  uint32_t version;
  char *description;
  int nsub, nmeta, nsigdefs;
  td_tfl_subgraph *subs;
  td_tfl_metadata *meta;
  td_tfl_sigdef *sigdefs;
  struct td_tfl_opcode *_codes; /* private: operator codes (own the custom-code strings) */
  int _ncodes;
} td_tfl_model;

/* Parses bytes (copied). what names the source in errors. DATA_LOSS for a malformed buffer
 * ("Failed to parse TFLite model <what>: <reason>"), INVALID_ARGUMENT for a schema version
 * other than 3 or out-of-range indices. */
td_code td_tfl_model_parse(const void *bytes, size_t len, const char *what, td_tfl_model **out,
                           td_status *st) TD_MUST_CHECK;
td_code td_tfl_model_read(const char *path, td_tfl_model **out, td_status *st) TD_MUST_CHECK;
void td_tfl_model_free(td_tfl_model *m);

/* The metadata buffer named name, or NULL. */
const td_tfl_metadata *td_tfl_model_metadata(const td_tfl_model *m, const char *name);
/* "ADD", "CONV_2D", ... or NULL for codes this reader does not name. */
const char *td_tfl_builtin_name(int code);
/* Element byte size of a TFLite type (0 for STRING/unsupported). */
size_t td_tfl_type_size(int type);
const char *td_tfl_type_name(int type);

#endif
