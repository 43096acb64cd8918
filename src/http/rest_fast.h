/* rest_fast.h — the REST predict fast path (rest_fast.cc): a body of dense numbers (the common
 * predict body: signature_name, and instances / inputs holding rectangular lists of numbers) is
 * read in one pass by rest_dense.cc (grammar checked, numbers converted once, correctly
 * rounded, by fast_float); any other body is read by simdjson's DOM parser (structure
 * validated, numbers converted, correctly rounded). Dense numeric instances / inputs are then
 * copied straight into tensors.
 *
 * It is only a fast path: every function answers 0 ("not handled") for anything it does not
 * reproduce exactly — any syntax error (rapidjson's texts and offsets come from the pull
 * reader), NaN/Infinity, trailing bytes, a UTF-8 BOM, non-object bodies, ragged or empty
 * lists, non-numeric leaves, values that do not fit the dtype, a signature_name that is not
 * a string — and the caller then runs the pull reader (json/json.h), which is authoritative.
 * A body simdjson accepts is one rapidjson (TF Serving's parser) accepts with the same
 * values: simdjson is stricter (UTF-8, depth, number range), never looser.
 *
 * State: td_rest_fast_scan gives the request a document (the dense reading's doubles, or
 * simdjson's parser, tape and the padded copy of the body it read: simdjson reads up to 64
 * bytes past the end) that stays valid until
 * td_rest_fast_release; the caller's buffer is only borrowed during the scan. Released
 * documents are kept for reuse in a process-wide pool bounded in bytes (warm parsers: no page
 * faults per request). A document belongs to one request; the pool is thread-safe.
 * No C++ exception crosses into C.
 */
#ifndef TD_HTTP_REST_FAST_H
#define TD_HTTP_REST_FAST_H

#include <stddef.h>
#include <stdint.h>


#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_rest_fast_doc td_rest_fast_doc;

typedef struct td_rest_fast_scan_result {
  td_rest_fast_doc *doc;      /* owned by the caller: td_rest_fast_release */
  const char *signature_name; /* into the document's strings (valid with doc); NULL: absent */
  size_t signature_len;
  int has_instances, has_inputs; /* the first "instances" / "inputs" member */
  int instances_array;           /* "instances" is a list (then num_instances counts it) */
  long long num_instances;
} td_rest_fast_scan_result;

/* Parses body. 1: a JSON object simdjson read completely; *out describes its top level (the
 * first occurrence of each key wins, as the pull reader's scan). 0: use the pull reader. */
int td_rest_fast_scan(const char *body, size_t len, td_rest_fast_scan_result *out);

/* Element kinds the fill writes (the C side maps td_dtype onto these). */
typedef enum td_rest_fast_kind {
  TD_REST_FAST_F32,
  TD_REST_FAST_F64,
  TD_REST_FAST_I32,
  TD_REST_FAST_I64,
  TD_REST_FAST_BOOL, /* one byte, 0 / 1 */
} td_rest_fast_kind;

/* Dense shapes: rank dims of dim[] (max_rank is the capacity of dim, TD_MAX_RANK). */

/* Selects the value of one input: row format (row != 0): "instances", which must be a
 * non-empty list of non-objects (one input); columnar: "inputs" itself when alias is NULL
 * (a list or scalar), else the first member named alias of the "inputs" object. Then sets
 * *rank / dim to the dense shape TF derives (row: [num_instances] + shape of instance 0;
 * descending element [0]). 0 when not handled (missing, objects, empty lists, rank over
 * max_rank). */
int td_rest_fast_shape(const td_rest_fast_doc *doc, int row, const char *alias, int max_rank, int *rank,
                       int64_t *dim);

/* Copies the value selected by the same (doc, row, alias) into data as kind when every list
 * has exactly the size of its dim and every leaf is a
 * value the pull reader would accept for dtype (numbers: integers / doubles as TF's Get*;
 * int32 / int64 leaves: integers in range; bool: true / false); 0 otherwise (data then
 * holds partial values). */
int td_rest_fast_fill(const td_rest_fast_doc *doc, int row, const char *alias, int rank, const int64_t *dim,
                      td_rest_fast_kind kind, void *data);

/* Process-wide switch (default on): off, td_rest_fast_scan always answers 0. For tests and
 * benchmarks that compare the fast path with the pull reader. */
void td_rest_fast_set_enabled(int on);

/* 1 when the document is the dense reader's (rest_dense.h), 0 for simdjson's DOM or NULL:
 * which reader took a body (tests, benchmarks). */
int td_rest_fast_is_dense(const td_rest_fast_doc *doc);

/* Ends the document's use (NULL: nothing); it goes back to the pool or is freed. */
void td_rest_fast_release(td_rest_fast_doc *doc);

#ifdef __cplusplus
}
#endif

#endif
