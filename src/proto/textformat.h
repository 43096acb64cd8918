/* textformat.h — protobuf text format (the `saved_model.pbtxt` / `*.pbtxt` syntax) parsed into
 * protobuf-c messages, driven only by protobuf-c's runtime descriptors, so it works for every
 * generated message type.
 *
 * Accepted syntax (a superset of what TF writes): `field: value`, `field { ... }`,
 * `field < ... >`, `field: { ... }`, repetition and `[a, b]` lists for repeated fields, `#`
 * comments, quoted strings with C escapes (adjacent literals concatenate), decimal / hex /
 * octal / negative integers, floats (inf, nan, trailing f), bools (true/false/t/f/1/0), enums
 * by name or number, map fields as repeated `{ key: ... value: ... }` entries, and
 * google.protobuf.Any in either form: `type_url: "..." value: "..."` or the expanded
 * `[type.googleapis.com/tensorflow.AssetFileDef] { ... }` (the type must be a tensorflow
 * message reachable from tensorflow.SavedModel, tensorflow.Example or google.protobuf
 * wrappers). Singular scalars may repeat (last wins); a repeated singular message merges.
 *
 * Errors are INVALID_ARGUMENT with a message "Error parsing text-format <type>: L:C: ..."
 * (1-based line and column of the offending token) and a description that never quotes the
 * input: tokens are named by kind ("an identifier", "a string", ...), unknown field and type
 * names are not repeated (a parsed file may be a link to any file; errors reach clients).
 *
 * Ownership: *out is a new heap message owned by the caller, freed with
 * protobuf_c_message_free_unpacked(msg, NULL) (everything is allocated with malloc, in the
 * layout protobuf-c's unpacker produces). Thread affinity: none; no global state.
 */
#ifndef TD_PROTO_TEXTFORMAT_H
#define TD_PROTO_TEXTFORMAT_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "util/status.h"

/* Parses text[0..len) as a message of type d. On failure *out is untouched. */
td_code td_textformat_parse(const ProtobufCMessageDescriptor *d, const char *text, size_t len,
                            ProtobufCMessage **out, td_status *st) TD_MUST_CHECK;

/* The message descriptor for a full type name ("tensorflow.AssetFileDef") among the types
 * reachable from the registry roots above, or NULL. A leading "type.googleapis.com/"-style
 * prefix (anything up to the last '/') is ignored. */
const ProtobufCMessageDescriptor *td_textformat_find_type(const char *type_name);

#endif
