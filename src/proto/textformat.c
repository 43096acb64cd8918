/* textformat.c — protobuf text format → protobuf-c message, driven by runtime descriptors.
 *
 * Structure: the lexer (textformat_lex.c), a recursive-descent parser over message bodies,
 * and field setters that write values in exactly the layout protobuf-c's unpacker produces.
 *
 * Invariant: the message tree under construction is always valid for
 * protobuf_c_message_free_unpacked — every sub-message is initialised and attached before it
 * is filled, repeated arrays grow before their count does, oneof cases are switched only after
 * the previous member is released — so any error simply frees the whole tree.
 * Repeated arrays have capacity next_pow2(n) (derived from n, so no extra bookkeeping).
 */
#include "proto/textformat.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/textformat_internal.h"
#include "proto/tf.h"
#include "tensorflow/example.pb-c.h"
#include "tensorflow/tensor_bundle.pb-c.h"
#include "util/mem.h"

#define MAX_DEPTH 100

/* ------------------------------------------------------------------------------------------ */
/* Field storage in protobuf-c layout                                                         */

static size_t value_size(ProtobufCType type) {
  switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return 8;
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    default: return 4; /* int32 family, enum, float */
  }
}

static void *member(ProtobufCMessage *m, unsigned offset) { return (char *)m + offset; }

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d) {
  ProtobufCMessage *m = td_xmalloc(d->sizeof_message);
  protobuf_c_message_init(d, m);
  return m;
}

/* Frees the heap value held in a singular slot of field f (string / bytes / message). */
static void release_value(const ProtobufCFieldDescriptor *f, void *slot) {
  if (f->type == PROTOBUF_C_TYPE_STRING) {
    char *s = *(char **)slot;
    if (s && s != (const char *)f->default_value && s != protobuf_c_empty_string) free(s);
  } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
    ProtobufCBinaryData *bd = slot;
    const ProtobufCBinaryData *def = f->default_value;
    if (bd->data && (!def || def->data != bd->data)) free(bd->data);
  } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
    ProtobufCMessage *sm = *(ProtobufCMessage **)slot;
    if (sm && sm != f->default_value) protobuf_c_message_free_unpacked(sm, NULL);
  }
  memset(slot, 0, value_size(f->type));
}

/* The slot for the next element of repeated field f (zeroed, already counted). */
static void *append_slot(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
  size_t *n = member(m, f->quantifier_offset);
  void **arr = member(m, f->offset);
  size_t elt = value_size(f->type);
  if (*n == 0 || (*n & (*n - 1)) == 0) *arr = td_xrealloc(*arr, (*n ? 2 * *n : 1) * elt);
  void *slot = (char *)*arr + *n * elt;
  memset(slot, 0, elt);
  (*n)++;
  return slot;
}

/* The slot for a singular field about to be assigned: switches the oneof case (releasing
 * the previous member), marks proto2/proto3-optional presence. Messages keep their value
 * (text format merges a repeated singular message); other heap values are released. */
static void *singular_slot(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
  void *slot = member(m, f->offset);
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
    uint32_t *which = member(m, f->quantifier_offset);
    if (*which != f->id) {
      const ProtobufCFieldDescriptor *old =
          *which ? protobuf_c_message_descriptor_get_field(m->descriptor, *which) : NULL;
      if (old) release_value(old, member(m, old->offset));
      memset(slot, 0, value_size(f->type));
      *which = f->id;
    }
  } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE) {
    *(protobuf_c_boolean *)member(m, f->quantifier_offset) = 1;
  }
  if (f->type != PROTOBUF_C_TYPE_MESSAGE) release_value(f, slot);
  return slot;
}

static void *value_slot(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
  return f->label == PROTOBUF_C_LABEL_REPEATED ? append_slot(m, f) : singular_slot(m, f);
}

/* ------------------------------------------------------------------------------------------ */
/* Values                                                                                      */

typedef struct int_kind {
  ProtobufCType type;
  int is_signed;
  int bits;
} int_kind;

static const int_kind int_kinds[] = {
    {PROTOBUF_C_TYPE_INT32, 1, 32},    {PROTOBUF_C_TYPE_SINT32, 1, 32},
    {PROTOBUF_C_TYPE_SFIXED32, 1, 32}, {PROTOBUF_C_TYPE_INT64, 1, 64},
    {PROTOBUF_C_TYPE_SINT64, 1, 64},   {PROTOBUF_C_TYPE_SFIXED64, 1, 64},
    {PROTOBUF_C_TYPE_UINT32, 0, 32},   {PROTOBUF_C_TYPE_FIXED32, 0, 32},
    {PROTOBUF_C_TYPE_UINT64, 0, 64},   {PROTOBUF_C_TYPE_FIXED64, 0, 64},
};

static const int_kind *find_int_kind(ProtobufCType type) {
  for (size_t i = 0; i < sizeof int_kinds / sizeof int_kinds[0]; i++)
    if (int_kinds[i].type == type) return &int_kinds[i];
  return NULL;
}

/* [-]integer within the range of kind k, written to out (4 or 8 bytes). */
static td_code parse_integer(parser *ps, const ProtobufCFieldDescriptor *f, const int_kind *k, void *out) {
  char buf[64];
  int neg;
  token start = ps->tok; /* errors point at the '-' when there is one */
  TD_TRY(tf_accept(ps, '-', &neg));
  token t = ps->tok;
  uint64_t mag;
  if (!tf_token_to_u64(&t, &mag))
    return tf_perr(ps, &start, "Expected integer for field \"%s\", got: %s", f->name, tf_tok_desc(&t, buf, sizeof buf));
  if (neg && !k->is_signed)
    return tf_perr(ps, &start, "Expected unsigned integer for field \"%s\", got: a negative number", f->name);
  uint64_t limit = k->is_signed ? (k->bits == 32 ? (uint64_t)INT32_MAX : (uint64_t)INT64_MAX)
                                : (k->bits == 32 ? (uint64_t)UINT32_MAX : UINT64_MAX);
  if (mag > limit + (neg ? 1 : 0))
    return tf_perr(ps, &start, "Integer out of range for field \"%s\".", f->name);
  uint64_t bits = neg ? (uint64_t)0 - mag : mag;
  if (k->bits == 32) {
    uint32_t v32 = (uint32_t)bits;
    memcpy(out, &v32, 4);
  } else {
    memcpy(out, &bits, 8);
  }
  return tf_lex(ps);
}

static td_code parse_floating(parser *ps, const ProtobufCFieldDescriptor *f, void *out) {
  char buf[64];
  int neg;
  token start = ps->tok;
  TD_TRY(tf_accept(ps, '-', &neg));
  token t = ps->tok;
  double v;
  if (t.kind == TOK_IDENT && (tf_tok_iequals(&t, "inf") || tf_tok_iequals(&t, "infinity")))
    v = INFINITY;
  else if (t.kind == TOK_IDENT && tf_tok_iequals(&t, "nan"))
    v = NAN;
  else if (!tf_token_to_double(&t, &v))
    return tf_perr(ps, &start, "Expected double for field \"%s\", got: %s", f->name, tf_tok_desc(&t, buf, sizeof buf));
  if (neg) v = -v;
  if (f->type == PROTOBUF_C_TYPE_FLOAT) {
    float fv = (float)v;
    memcpy(out, &fv, 4);
  } else {
    memcpy(out, &v, 8);
  }
  return tf_lex(ps);
}

static const struct {
  const char *word;
  protobuf_c_boolean value;
} bool_words[] = {{"true", 1}, {"True", 1}, {"t", 1}, {"false", 0}, {"False", 0}, {"f", 0}};

static td_code parse_bool(parser *ps, const ProtobufCFieldDescriptor *f, void *out) {
  char buf[64];
  token t = ps->tok;
  uint64_t u;
  if (t.kind == TOK_NUMBER && tf_token_to_u64(&t, &u) && u <= 1) {
    *(protobuf_c_boolean *)out = (protobuf_c_boolean)u;
    return tf_lex(ps);
  }
  if (t.kind == TOK_IDENT)
    for (size_t i = 0; i < sizeof bool_words / sizeof bool_words[0]; i++)
      if (tf_tok_equals(&t, bool_words[i].word)) {
        *(protobuf_c_boolean *)out = bool_words[i].value;
        return tf_lex(ps);
      }
  return tf_perr(ps, &t, "Invalid value for boolean field \"%s\". Value: %s", f->name, tf_tok_desc(&t, buf, sizeof buf));
}

static td_code parse_enum(parser *ps, const ProtobufCFieldDescriptor *f, void *out) {
  const ProtobufCEnumDescriptor *ed = f->descriptor;
  char buf[64];
  token t = ps->tok;
  if (t.kind == TOK_IDENT) {
    char name[128];
    if (t.n < sizeof name) {
      memcpy(name, t.p, t.n);
      name[t.n] = '\0';
      const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
      if (ev) {
        int32_t v = ev->value;
        memcpy(out, &v, 4);
        return tf_lex(ps);
      }
    }
    return tf_perr(ps, &t, "Unknown enumeration value of %s for field \"%s\".", tf_tok_desc(&t, buf, sizeof buf),
                f->name);
  }
  static const int_kind enum_as_int = {PROTOBUF_C_TYPE_INT32, 1, 32};
  if (t.kind == TOK_NUMBER || tf_at_symbol(ps, '-')) return parse_integer(ps, f, &enum_as_int, out);
  return tf_perr(ps, &t, "Expected integer or identifier for field \"%s\", got: %s", f->name,
              tf_tok_desc(&t, buf, sizeof buf));
}

/* Parses a non-message value of field f into a fresh slot of message m. */
static td_code parse_scalar(parser *ps, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
  unsigned char tmp[8] = {0};
  switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES: {
      bytes_buf b;
      TD_TRY(tf_parse_string_value(ps, &b));
      void *slot = value_slot(m, f);
      if (f->type == PROTOBUF_C_TYPE_STRING) {
        *(char **)slot = b.data;
      } else {
        ProtobufCBinaryData *bd = slot;
        bd->data = (uint8_t *)b.data;
        bd->len = b.len;
      }
      return TD_OK;
    }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: TD_TRY(parse_floating(ps, f, tmp)); break;
    case PROTOBUF_C_TYPE_BOOL: TD_TRY(parse_bool(ps, f, tmp)); break;
    case PROTOBUF_C_TYPE_ENUM: TD_TRY(parse_enum(ps, f, tmp)); break;
    default: {
      const int_kind *k = find_int_kind(f->type);
      if (!k) return tf_perr(ps, &ps->tok, "Unsupported field type for \"%s\".", f->name);
      TD_TRY(parse_integer(ps, f, k, tmp));
    }
  }
  memcpy(value_slot(m, f), tmp, value_size(f->type));
  return TD_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Messages                                                                                    */

static td_code parse_body(parser *ps, ProtobufCMessage *m, char close);

/* `{ ... }` or `< ... >` into message m. */
static td_code parse_braced(parser *ps, ProtobufCMessage *m) {
  char buf[64];
  char close;
  if (tf_at_symbol(ps, '{'))
    close = '}';
  else if (tf_at_symbol(ps, '<'))
    close = '>';
  else
    return tf_perr(ps, &ps->tok, "Expected \"{\", found %s.", tf_tok_desc(&ps->tok, buf, sizeof buf));
  if (ps->depth >= MAX_DEPTH)
    return tf_perr(ps, &ps->tok, "Message is too deep (more than %d nested levels).", MAX_DEPTH);
  TD_TRY(tf_lex(ps));
  ps->depth++;
  td_code c = parse_body(ps, m, close);
  ps->depth--;
  return c;
}

static td_code parse_submessage(parser *ps, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
  ProtobufCMessage **slot = value_slot(m, f);
  if (!*slot) *slot = new_message(f->descriptor);
  return parse_braced(ps, *slot);
}

/* One value of field f, or a `[v, v, ...]` list when f is repeated. */
static td_code parse_field_value(parser *ps, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                                 const token *name) {
  int is_msg = f->type == PROTOBUF_C_TYPE_MESSAGE, list;
  if (tf_at_symbol(ps, '[') && f->label == PROTOBUF_C_LABEL_REPEATED) {
    TD_TRY(tf_accept(ps, '[', &list));
    int closed;
    TD_TRY(tf_accept(ps, ']', &closed));
    while (!closed) {
      TD_TRY(is_msg ? parse_submessage(ps, m, f) : parse_scalar(ps, m, f));
      int comma;
      TD_TRY(tf_accept(ps, ',', &comma));
      if (!comma) {
        TD_TRY(tf_expect(ps, ']'));
        closed = 1;
      }
    }
    return TD_OK;
  }
  if (tf_at_symbol(ps, '['))
    return tf_perr(ps, &ps->tok, "List syntax is only allowed for repeated fields, not \"%.*s\".", (int)name->n,
                name->p);
  return is_msg ? parse_submessage(ps, m, f) : parse_scalar(ps, m, f);
}

static void set_string_field(ProtobufCMessage *m, const char *field, char *value) {
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, field);
  *(char **)singular_slot(m, f) = value;
}

/* `[type.googleapis.com/pkg.Type] { ... }` inside a google.protobuf.Any: parse the body as
 * pkg.Type and store it packed. name = the bracketed text. */
static td_code parse_expanded_any(parser *ps, ProtobufCMessage *any, const char *name, const token *at) {
  const ProtobufCMessageDescriptor *d = td_textformat_find_type(name);
  if (!d) return tf_perr(ps, at, "Could not find the type named by the type URL stored in google.protobuf.Any.");
  int colon;
  TD_TRY(tf_accept(ps, ':', &colon));
  ProtobufCMessage *inner = new_message(d);
  td_code c = parse_braced(ps, inner);
  if (c != TD_OK) {
    protobuf_c_message_free_unpacked(inner, NULL);
    return c;
  }
  size_t size = protobuf_c_message_get_packed_size(inner);
  uint8_t *bytes = td_xmalloc(size ? size : 1);
  protobuf_c_message_pack(inner, bytes);
  protobuf_c_message_free_unpacked(inner, NULL);
  set_string_field(any, "type_url", td_xstrdup(name));
  const ProtobufCFieldDescriptor *vf = protobuf_c_message_descriptor_get_field_by_name(any->descriptor, "value");
  ProtobufCBinaryData *bd = singular_slot(any, vf);
  bd->data = bytes;
  bd->len = size;
  return TD_OK;
}

/* `[name]` (the lookahead is '['): extension or Any type URL. */
static td_code parse_bracketed_field(parser *ps, ProtobufCMessage *m) {
  token at = ps->tok;
  char name[256];
  size_t len = 0;
  TD_TRY(tf_lex(ps));
  while (ps->tok.kind == TOK_IDENT || tf_at_symbol(ps, '/')) {
    if (len + ps->tok.n >= sizeof name) return tf_perr(ps, &ps->tok, "Type name too long.");
    memcpy(name + len, ps->tok.p, ps->tok.n);
    len += ps->tok.n;
    TD_TRY(tf_lex(ps));
  }
  name[len] = '\0';
  TD_TRY(tf_expect(ps, ']'));
  if (strcmp(m->descriptor->name, "google.protobuf.Any") == 0 && strchr(name, '/'))
    return parse_expanded_any(ps, m, name, &at);
  return tf_perr(ps, &at, "Extension is not defined or is not an extension of \"%s\".", m->descriptor->name);
}

static td_code parse_field(parser *ps, ProtobufCMessage *m) {
  char buf[64];
  if (tf_at_symbol(ps, '[')) return parse_bracketed_field(ps, m);
  token name = ps->tok;
  if (name.kind != TOK_IDENT)
    return tf_perr(ps, &name, "Expected identifier, got: %s", tf_tok_desc(&name, buf, sizeof buf));
  char fname[128];
  const ProtobufCFieldDescriptor *f = NULL;
  if (name.n < sizeof fname) {
    memcpy(fname, name.p, name.n);
    fname[name.n] = '\0';
    f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, fname);
  }
  if (!f)
    return tf_perr(ps, &name, "Message type \"%s\" has no field of that name.", m->descriptor->name);
  TD_TRY(tf_lex(ps));
  int colon;
  TD_TRY(tf_accept(ps, ':', &colon));
  if (!colon && f->type != PROTOBUF_C_TYPE_MESSAGE)
    return tf_perr(ps, &ps->tok, "Expected \":\", found %s.", tf_tok_desc(&ps->tok, buf, sizeof buf));
  return parse_field_value(ps, m, f, &name);
}

/* Fields up to the closing symbol (or end of input at top level, close == 0). */
static td_code parse_body(parser *ps, ProtobufCMessage *m, char close) {
  char buf[64];
  for (;;) {
    if (close && tf_at_symbol(ps, close)) return tf_lex(ps);
    if (ps->tok.kind == TOK_END) {
      if (!close) return TD_OK;
      return tf_perr(ps, &ps->tok, "Expected \"%c\", found %s.", close, tf_tok_desc(&ps->tok, buf, sizeof buf));
    }
    TD_TRY(parse_field(ps, m));
    int sep;
    TD_TRY(tf_accept(ps, ';', &sep));
    if (!sep) TD_TRY(tf_accept(ps, ',', &sep));
  }
}

td_code td_textformat_parse(const ProtobufCMessageDescriptor *d, const char *text, size_t len,
                            ProtobufCMessage **out, td_status *st) {
  parser ps = {.cur = text, .end = text + len, .line_start = text, .line = 1, .root_type = d->name, .st = st};
  ProtobufCMessage *m = new_message(d);
  td_code c = tf_lex(&ps);
  if (c == TD_OK) c = parse_body(&ps, m, 0);
  if (c != TD_OK) {
    protobuf_c_message_free_unpacked(m, NULL);
    return c;
  }
  *out = m;
  return TD_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Type registry for expanded Any: every message reachable from these roots.                   */

static const ProtobufCMessageDescriptor *const registry_roots[] = {
    &tensorflow__saved_model__descriptor,
    &tensorflow__example__descriptor,
    &tensorflow__sequence_example__descriptor,
    &tensorflow__bundle_header_proto__descriptor,
    &tensorflow__bundle_entry_proto__descriptor,
    &google__protobuf__int64_value__descriptor,
    &google__protobuf__int32_value__descriptor,
    &google__protobuf__uint32_value__descriptor,
    &google__protobuf__string_value__descriptor,
    &google__protobuf__bool_value__descriptor,
    &google__protobuf__double_value__descriptor,
};

const ProtobufCMessageDescriptor *td_textformat_find_type(const char *type_name) {
  const char *slash = strrchr(type_name, '/');
  const char *want = slash ? slash + 1 : type_name;
  const ProtobufCMessageDescriptor **seen = NULL, *found = NULL;
  size_t nseen = 0, cap = 0;
  for (size_t i = 0; i < sizeof registry_roots / sizeof registry_roots[0]; i++) {
    TD_GROW(seen, cap, nseen + 1);
    seen[nseen++] = registry_roots[i];
  }
  /* seen[] doubles as the BFS queue. */
  for (size_t q = 0; q < nseen && !found; q++) {
    const ProtobufCMessageDescriptor *d = seen[q];
    if (strcmp(d->name, want) == 0) {
      found = d;
      break;
    }
    for (unsigned f = 0; f < d->n_fields; f++) {
      if (d->fields[f].type != PROTOBUF_C_TYPE_MESSAGE) continue;
      const ProtobufCMessageDescriptor *sub = d->fields[f].descriptor;
      size_t k = 0;
      while (k < nseen && seen[k] != sub) k++;
      if (k < nseen) continue;
      TD_GROW(seen, cap, nseen + 1);
      seen[nseen++] = sub;
    }
  }
  free(seen);
  return found;
}
