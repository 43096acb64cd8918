/* rest_proto_json.c — protobuf messages → proto3 JSON, driven by protobuf-c descriptors,
 * with the options TF Serving's REST handler uses: original field names
 * (preserve_proto_field_names), fields without presence always printed
 * (always_print_fields_with_no_presence), enums by name, 64-bit integers as strings, bytes
 * as base64, NaN/Infinity as strings, maps as objects, wrapper types as their value.
 * Used for model status (§1.4) and metadata (§1.5; the SignatureDefMap Any is unpacked by
 * hand and printed without "@type"). Recursion follows the message structure, which comes
 * from the server (models, status), never from a request body.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/rest_json_internal.h"
#include "util/base64.h"

static void print_message(td_buf *out, const ProtobufCMessage *m);

static size_t scalar_size(ProtobufCType type) {
  switch (type) {
  case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
  case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: return 8;
  case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
  case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
  case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
  case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
  case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
  case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
  default: return 4;
  }
}

/* protobuf's SimpleFtoa / SimpleDtoa: shortest of 6/9 (float) or 15/17 (double) digits. */
static void print_real(td_buf *out, double v, int is_float) {
  if (isnan(v)) { td_buf_puts(out, "\"NaN\""); return; }
  if (isinf(v)) { td_buf_puts(out, v > 0 ? "\"Infinity\"" : "\"-Infinity\""); return; }
  char text[48];
  if (is_float) {
    snprintf(text, sizeof text, "%.6g", v);
    if (strtof(text, NULL) != (float)v) snprintf(text, sizeof text, "%.9g", v);
  } else {
    snprintf(text, sizeof text, "%.15g", v);
    if (strtod(text, NULL) != v) snprintf(text, sizeof text, "%.17g", v);
  }
  td_buf_puts(out, text);
}

/* One value of a field (p points at the stored value). quote_numbers: map keys. */
static void print_value(td_buf *out, const ProtobufCFieldDescriptor *f, const void *p, int as_key) {
  const char *q = as_key ? "\"" : "";
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    td_buf_printf(out, "%s%d%s", q, *(const int32_t *)p, q);
    break;
  case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
    td_buf_printf(out, "%s%u%s", q, *(const uint32_t *)p, q);
    break;
  case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    td_buf_printf(out, "\"%lld\"", (long long)*(const int64_t *)p);
    break;
  case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
    td_buf_printf(out, "\"%llu\"", (unsigned long long)*(const uint64_t *)p);
    break;
  case PROTOBUF_C_TYPE_FLOAT: print_real(out, *(const float *)p, 1); break;
  case PROTOBUF_C_TYPE_DOUBLE: print_real(out, *(const double *)p, 0); break;
  case PROTOBUF_C_TYPE_BOOL: td_buf_printf(out, "%s%s%s", q, *(const protobuf_c_boolean *)p ? "true" : "false", q); break;
  case PROTOBUF_C_TYPE_ENUM: {
    int v = *(const int *)p;
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
    if (ev) td_json_write_string(out, ev->name, strlen(ev->name));
    else td_buf_printf(out, "%d", v);
    break;
  }
  case PROTOBUF_C_TYPE_STRING: {
    const char *s = *(char *const *)p;
    td_json_write_string(out, s ? s : "", s ? strlen(s) : 0);
    break;
  }
  case PROTOBUF_C_TYPE_BYTES: {
    const ProtobufCBinaryData *b = p;
    td_buf_putc(out, '"');
    td_base64_encode(b->data, b->len, out);
    td_buf_putc(out, '"');
    break;
  }
  case PROTOBUF_C_TYPE_MESSAGE: {
    const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
    if (m) print_message(out, m);
    else td_buf_puts(out, "null");
    break;
  }
  default: td_buf_puts(out, "null");
  }
}

static int is_map_entry(const ProtobufCMessageDescriptor *d) {
  size_t n = strlen(d->name);
  return d->n_fields == 2 && n > 5 && strcmp(d->name + n - 5, "Entry") == 0 && strcmp(d->fields[0].name, "key") == 0 &&
         strcmp(d->fields[1].name, "value") == 0;
}

static int is_wrapper(const ProtobufCMessageDescriptor *d) {
  size_t n = strlen(d->name);
  return strncmp(d->name, "google.protobuf.", 16) == 0 && n > 5 && strcmp(d->name + n - 5, "Value") == 0 &&
         d->n_fields == 1 && strcmp(d->fields[0].name, "value") == 0;
}

static void print_repeated(td_buf *out, const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m) {
  size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
  const char *arr = *(char *const *)((const char *)m + f->offset);
  int map = f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor);
  td_buf_putc(out, map ? '{' : '[');
  size_t esz = scalar_size(f->type);
  for (size_t i = 0; i < n; i++) {
    if (i) td_buf_append(out, ", ", 2);
    const void *p = arr + i * esz;
    if (!map) {
      print_value(out, f, p, 0);
      continue;
    }
    const ProtobufCMessage *entry = *(ProtobufCMessage *const *)p;
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    print_value(out, kf, (const char *)entry + kf->offset, 1);
    td_buf_append(out, ": ", 2);
    if (vf->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)((const char *)entry + vf->offset))
      td_buf_puts(out, "{}");
    else
      print_value(out, vf, (const char *)entry + vf->offset, 0);
  }
  td_buf_putc(out, map ? '}' : ']');
}

/* Whether a singular field is printed (presence rules with always_print_fields_with_no_presence). */
static int field_printed(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m) {
  const char *base = (const char *)m;
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
  if (f->type == PROTOBUF_C_TYPE_MESSAGE) return *(ProtobufCMessage *const *)(base + f->offset) != NULL;
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset && f->type != PROTOBUF_C_TYPE_STRING)
    return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
  return 1;
}

static void print_message(td_buf *out, const ProtobufCMessage *m) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  if (is_wrapper(d)) {
    print_value(out, &d->fields[0], (const char *)m + d->fields[0].offset, 0);
    return;
  }
  td_buf_putc(out, '{');
  int first = 1;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->label != PROTOBUF_C_LABEL_REPEATED && !field_printed(f, m)) continue;
    if (!first) td_buf_append(out, ", ", 2);
    first = 0;
    td_json_write_string(out, f->name, strlen(f->name));
    td_buf_append(out, ": ", 2);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) print_repeated(out, f, m);
    else print_value(out, f, (const char *)m + f->offset, 0);
  }
  td_buf_putc(out, '}');
}

void td_rest_status_json(const Tensorflow__Serving__GetModelStatusResponse *r, td_buf *out) {
  print_message(out, &r->base);
}

#define SIGNATURE_DEF_MAP_URL "type.googleapis.com/tensorflow.serving.SignatureDefMap"

td_code td_rest_metadata_json(const Tensorflow__Serving__GetModelMetadataResponse *r, td_buf *out, td_status *st) {
  td_buf_puts(out, "{\"model_spec\": ");
  if (r->model_spec) print_message(out, &r->model_spec->base);
  else td_buf_puts(out, "{}");
  td_buf_puts(out, ", \"metadata\": {");
  for (size_t i = 0; i < r->n_metadata; i++) {
    const Tensorflow__Serving__GetModelMetadataResponse__MetadataEntry *e = r->metadata[i];
    const Google__Protobuf__Any *any = e->value;
    if (!any || !any->type_url || strcmp(any->type_url, SIGNATURE_DEF_MAP_URL) != 0)
      return td_status_set(st, TD_INTERNAL, "Unexpected metadata type for key %s: %s", e->key,
                           any && any->type_url ? any->type_url : "(none)");
    Tensorflow__Serving__SignatureDefMap *map =
        tensorflow__serving__signature_def_map__unpack(NULL, any->value.len, any->value.data);
    if (!map) return td_status_set(st, TD_INTERNAL, "Could not parse the SignatureDefMap of metadata key %s", e->key);
    if (i) td_buf_append(out, ", ", 2);
    td_json_write_string(out, e->key, strlen(e->key));
    td_buf_append(out, ": ", 2);
    print_message(out, &map->base);
    tensorflow__serving__signature_def_map__free_unpacked(map, NULL);
  }
  td_buf_puts(out, "}}");
  return TD_OK;
}
