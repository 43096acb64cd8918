/* rest_json_internal.h — helpers shared by the REST JSON codec's files (rest_predict.c,
 * rest_examples.c, rest_response.c, rest_proto_json.c). Not part of the codec's API.
 * All functions operate on caller-owned readers/buffers; no global state.
 */
#ifndef TD_HTTP_REST_JSON_INTERNAL_H
#define TD_HTTP_REST_JSON_INTERNAL_H

#include "http/rest_json.h"
#include "json/json.h"

/* Appends the compact text of the value at the reader (TF's JsonValueToString, cut at
 * TD_REST_VALUE_TEXT_MAX bytes) without moving the reader. The value must be valid JSON. */
void rest_value_text(td_json_reader *r, td_buf *out);
/* TF's IsValBase64Object: an object with exactly one member "b64" whose value is a string.
 * Looks ahead without moving the reader. */
int rest_is_b64_object(td_json_reader *r);
/* Reads a value for which rest_is_b64_object() holds and appends the decoded bytes to out
 * (out is reset first). INVALID_ARGUMENT "Unable to base64 decode". */
td_code rest_read_b64_object(td_json_reader *r, td_buf *out, td_status *st);
/* Number of elements of the array at the reader, without moving it. */
long long rest_count_elements(td_json_reader *r);
/* Compares a (non-terminated) JSON key with a C string. */
int rest_key_eq(const td_json_str *key, const char *s);

#endif
