/* tflite_savedmodel.c — a TFLite model as a SavedModel message (see tflite.h): boundary
 * nodes named after the TFLite tensors, the operators (tflite_ops.c), and the signatures
 * TF Serving's TfLiteSession would expose. The message is assembled from heap pieces,
 * serialized, and parsed back by the SavedModel reader, so the loader sees exactly what it
 * would read from a saved_model.pb. */
#include "tflite/tflite.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "model/savedmodel.h"
#include "tflite/tflite_internal.h"
#include "util/file.h"
#include "util/mem.h"

/* TF Serving maps only these TFLite types on model inputs/outputs. */
static int boundary_type_ok(int t) {
  return t == TD_TFL_FLOAT32 || t == TD_TFL_INT32 || t == TD_TFL_UINT8 || t == TD_TFL_INT64 || t == TD_TFL_STRING ||
         t == TD_TFL_BOOL || t == TD_TFL_INT16 || t == TD_TFL_COMPLEX64 || t == TD_TFL_INT8;
}

/* Splits "base:k" (k all digits) into base (heap, sanitized) and k; else k = 0. */
static char *split_name(const char *s, int *k) {
  *k = 0;
  size_t n = strlen(s);
  const char *colon = strrchr(s, ':');
  if (colon && colon[1]) {
    const char *p = colon + 1;
    while (*p && isdigit((unsigned char)*p)) p++;
    if (!*p && p - colon - 1 < 9) {
      *k = atoi(colon + 1);
      n = (size_t)(colon - s);
    }
  }
  char *b = td_xmalloc(n + 2);
  size_t j = 0;
  if (!n || !(isalnum((unsigned char)s[0]) || s[0] == '.')) b[j++] = 't';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    b[j++] = (char)(isalnum(c) || c == '_' || c == '.' || c == '/' || c == '-' ? c : '_');
  }
  b[j] = 0;
  return b;
}

/* A node name not used yet, derived from base. */
static const char *unique(td_tfl_tx *x, const char *base) {
  if (!td_strmap_has(&x->used, base)) return tx_str(x, "%s", base);
  for (int i = 1;; i++) {
    const char *c = tx_str(x, "%s_%d", base, i);
    if (!td_strmap_has(&x->used, c)) return c;
  }
}

typedef struct out_group {
  const char *base;
  int n;       /* slots */
  int *tensor; /* per slot: tensor index or -1 */
} out_group;

/* Binds subgraph outputs to boundary nodes; tf_names[i] (per output position) get their names. */
static td_code make_outputs(td_tfl_tx *x, const char **tf_names, const char **in_names, td_status *st) {
  const td_tfl_subgraph *sg = x->sg;
  out_group *groups = td_xcalloc((size_t)sg->nout + 1, sizeof *groups);
  int ng = 0;
  td_code code = TD_OK;
  int *slot = td_xcalloc((size_t)sg->nout + 1, sizeof *slot);
  int *grp = td_xcalloc((size_t)sg->nout + 1, sizeof *grp);
  for (int o = 0; o < sg->nout && code == TD_OK; o++) {
    int ti = sg->out[o];
    const td_tfl_tensor *t = &sg->tensors[ti];
    grp[o] = -1;
    for (int i = 0; i < sg->nin; i++)
      if (sg->in[i] == ti && !tx_is_quant(t)) tf_names[o] = in_names[i];
    if (tf_names[o]) continue;
    if (!boundary_type_ok(t->type)) {
      code = td_status_set(st, TD_INVALID_ARGUMENT, "Unknown TfLite type %s of output '%s'", td_tfl_type_name(t->type),
                           t->name);
      break;
    }
    int k;
    char *base = split_name(t->name, &k);
    int g = -1;
    for (int j = 0; j < ng; j++)
      if (!strcmp(groups[j].base, base)) g = j;
    if (g >= 0 && (k >= groups[g].n ? 0 : groups[g].tensor[k] >= 0)) g = -2; /* taken slot */
    if (g == -1 && td_strmap_has(&x->used, base)) g = -2;
    if (g == -2) { /* a name clash: a fresh single-output node */
      char *full = split_name(t->name, &k);
      free(base);
      base = td_xasprintf("%s_%d", full, k);
      free(full);
      k = 0;
      g = -1;
    }
    if (g == -1) {
      g = ng++;
      groups[g].base = unique(x, base);
      td_strmap_put(&x->used, groups[g].base, NULL);
    }
    free(base);
    if (k >= groups[g].n) {
      groups[g].tensor = td_xrealloc(groups[g].tensor, (size_t)(k + 1) * sizeof *groups[g].tensor);
      for (int j = groups[g].n; j <= k; j++) groups[g].tensor[j] = -1;
      groups[g].n = k + 1;
    }
    groups[g].tensor[k] = ti;
    grp[o] = g;
    slot[o] = k;
  }
  for (int g = 0; g < ng && code == TD_OK; g++) {
    td_tfl_val *v = td_xcalloc((size_t)groups[g].n + 1, sizeof *v);
    int first = -1;
    for (int j = 0; j < groups[g].n && code == TD_OK; j++) {
      int ti = groups[g].tensor[j];
      if (ti < 0) continue;
      code = tx_value(x, ti, &v[j], st);
      if (code == TD_OK && tx_is_quant(&sg->tensors[ti])) v[j] = tx_quantize_out(x, &sg->tensors[ti], v[j]);
      if (first < 0) first = j;
    }
    if (code == TD_OK) {
      for (int j = 0; j < groups[g].n; j++)
        if (groups[g].tensor[j] < 0) v[j] = v[first];
      Tensorflow__NodeDef *nd = tx_node_named(x, groups[g].n == 1 ? "Identity" : "IdentityN", groups[g].base);
      td_dtype *types = td_xcalloc((size_t)groups[g].n + 1, sizeof *types);
      for (int j = 0; j < groups[g].n; j++) {
        tx_in(nd, v[j].name);
        types[j] = v[j].dt;
      }
      if (groups[g].n == 1)
        td_node_attr_type(nd, "T", types[0]);
      else
        td_node_attr_types(nd, "T", types, (size_t)groups[g].n);
      free(types);
    }
    free(v);
  }
  for (int o = 0; o < sg->nout && code == TD_OK; o++)
    if (!tf_names[o]) {
      const char *b = groups[grp[o]].base;
      tf_names[o] = slot[o] ? tx_str(x, "%s:%d", b, slot[o]) : b;
    }
  for (int g = 0; g < ng; g++) free(groups[g].tensor);
  free(groups);
  free(slot);
  free(grp);
  return code;
}

/* ---- signatures ---- */

static Tensorflow__TensorInfo *tensor_info(const char *name, td_dtype dt, const td_tfl_tensor *t) {
  Tensorflow__TensorInfo *ti = td_xmalloc(sizeof *ti);
  tensorflow__tensor_info__init(ti);
  ti->encoding_case = TENSORFLOW__TENSOR_INFO__ENCODING_NAME;
  ti->name = td_xstrdup(name);
  ti->dtype = (Tensorflow__DataType)dt;
  ti->tensor_shape = td_xmalloc(sizeof *ti->tensor_shape);
  tensorflow__tensor_shape_proto__init(ti->tensor_shape);
  ti->tensor_shape->n_dim = (size_t)t->rank;
  ti->tensor_shape->dim = td_xcalloc((size_t)t->rank + 1, sizeof *ti->tensor_shape->dim);
  for (int i = 0; i < t->rank; i++) {
    ti->tensor_shape->dim[i] = td_xmalloc(sizeof *ti->tensor_shape->dim[i]);
    tensorflow__tensor_shape_proto__dim__init(ti->tensor_shape->dim[i]);
    ti->tensor_shape->dim[i]->size = t->dims[i];
  }
  return ti;
}

static char *strip_suffix(const char *s) {
  const char *c = strchr(s, ':');
  size_t n = c ? (size_t)(c - s) : strlen(s);
  char *d = td_xmalloc(n + 1);
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

static Tensorflow__SignatureDef *default_signature(td_tfl_tx *x, const char **in_names, const char **out_names) {
  const td_tfl_subgraph *sg = x->sg;
  Tensorflow__SignatureDef *sd = td_xmalloc(sizeof *sd);
  tensorflow__signature_def__init(sd);
  sd->method_name = td_xstrdup("tensorflow/serving/predict");
  sd->inputs = td_xcalloc((size_t)sg->nin + 1, sizeof *sd->inputs);
  sd->outputs = td_xcalloc((size_t)sg->nout + 1, sizeof *sd->outputs);
  for (int io = 0; io < 2; io++) {
    int n = io ? sg->nout : sg->nin;
    const int *idx = io ? sg->out : sg->in;
    for (int i = 0; i < n; i++) {
      const td_tfl_tensor *t = &sg->tensors[idx[i]];
      char *key = strip_suffix(t->name);
      Tensorflow__SignatureDef__InputsEntry **arr = io ? (Tensorflow__SignatureDef__InputsEntry **)sd->outputs : sd->inputs;
      size_t *cnt = io ? &sd->n_outputs : &sd->n_inputs;
      int dup = 0;
      for (size_t k = 0; k < *cnt; k++)
        if (!strcmp(arr[k]->key, key)) dup = 1;
      if (dup) { /* keys must be unique: keep the full name */
        free(key);
        key = td_xstrdup(t->name);
      }
      Tensorflow__SignatureDef__InputsEntry *e = td_xmalloc(sizeof *e);
      tensorflow__signature_def__inputs_entry__init(e);
      e->key = key;
      /* TF Serving shows the TFLite tensor name; "base:0" names the same graph tensor as "base" */
      const char *gname = io ? out_names[i] : in_names[i];
      size_t gl = strlen(gname);
      int same = !strcmp(t->name, gname) || (!strncmp(t->name, gname, gl) && !strcmp(t->name + gl, ":0"));
      e->value = tensor_info(same ? t->name : gname, tx_dtype(t->type), t);
      arr[(*cnt)++] = e;
    }
  }
  return sd;
}

/* Rewrites TensorInfo names of one map to the graph names of matching subgraph tensors. */
static td_code rewrite_names(td_tfl_tx *x, const char *key, Tensorflow__SignatureDef__InputsEntry **e, size_t n, int io,
                             const char **tf_names, td_status *st) {
  const td_tfl_subgraph *sg = x->sg;
  int cnt = io ? sg->nout : sg->nin;
  const int *idx = io ? sg->out : sg->in;
  for (size_t i = 0; i < n; i++) {
    Tensorflow__TensorInfo *ti = e[i]->value;
    if (!ti || ti->encoding_case != TENSORFLOW__TENSOR_INFO__ENCODING_NAME || !ti->name)
      return td_status_set(st, TD_INVALID_ARGUMENT, "signature '%s': '%s' has no tensor name", key, e[i]->key);
    int found = -1;
    for (int pass = 0; pass < 2 && found < 0; pass++) {
      char *want = pass ? strip_suffix(ti->name) : td_xstrdup(ti->name);
      for (int k = 0; k < cnt && found < 0; k++)
        if (!strcmp(sg->tensors[idx[k]].name, want)) found = k;
      free(want);
    }
    if (found < 0)
      return td_status_set(st, TD_INVALID_ARGUMENT, "signature '%s': cannot find TfLite tensor with name '%s'", key,
                           ti->name);
    free(ti->name);
    ti->name = td_xstrdup(tf_names[found]);
  }
  return TD_OK;
}

static td_code metadata_signatures(td_tfl_tx *x, const td_tfl_metadata *md, const char **in_names,
                                   const char **out_names, Tensorflow__MetaGraphDef *mg, td_status *st) {
  td_flex root = td_flex_root(md->data, md->len);
  uint32_t n = td_flex_map_size(&root);
  if (root.bad || root.type != TD_FLEX_MAP)
    return td_status_set(st, TD_DATA_LOSS, "signature_defs_metadata is not a FlexBuffer map");
  mg->signature_def = td_xcalloc((size_t)n + 1, sizeof *mg->signature_def);
  for (uint32_t i = 0; i < n; i++) {
    const char *key = td_flex_map_key(&root, i);
    td_flex v = td_flex_map_value(&root, i);
    size_t len;
    const char *bytes = td_flex_bytes(&v, &len);
    if (!key || !bytes) return td_status_set(st, TD_DATA_LOSS, "signature_defs_metadata entry %u is malformed", i);
    Tensorflow__SignatureDef *sd = tensorflow__signature_def__unpack(NULL, len, (const uint8_t *)bytes);
    if (!sd) return td_status_set(st, TD_DATA_LOSS, "signature_defs_metadata: cannot parse SignatureDef '%s'", key);
    Tensorflow__MetaGraphDef__SignatureDefEntry *e = td_xmalloc(sizeof *e);
    tensorflow__meta_graph_def__signature_def_entry__init(e);
    e->key = td_xstrdup(key);
    /* re-home the parsed message into malloc'd memory owned by mg (protobuf-c's default
     * allocator is malloc, so the unpacked message can be adopted as is) */
    e->value = sd;
    mg->signature_def[mg->n_signature_def++] = e;
    TD_TRY(rewrite_names(x, key, sd->inputs, sd->n_inputs, 0, in_names, st));
    TD_TRY(rewrite_names(x, key, (Tensorflow__SignatureDef__InputsEntry **)sd->outputs, sd->n_outputs, 1, out_names, st));
  }
  return TD_OK;
}

/* ---- assembly ---- */

static td_code build(td_tfl_tx *x, const char *what, Tensorflow__MetaGraphDef *mg, td_status *st) {
  const td_tfl_subgraph *sg = x->sg;
  const char **in_names = td_xcalloc((size_t)sg->nin + 1, sizeof *in_names);
  const char **out_names = td_xcalloc((size_t)sg->nout + 1, sizeof *out_names);
  td_code code = TD_OK;
  for (int i = 0; i < sg->nin && code == TD_OK; i++) {
    const td_tfl_tensor *t = &sg->tensors[sg->in[i]];
    if (!boundary_type_ok(t->type)) {
      code = td_status_set(st, TD_INVALID_ARGUMENT, "Unknown TfLite type %s of input '%s'", td_tfl_type_name(t->type),
                           t->name);
      break;
    }
    int k;
    char *base = split_name(t->name, &k);
    if (k) {
      char *b2 = td_xasprintf("%s_%d", base, k);
      free(base);
      base = b2;
    }
    const char *name = unique(x, base);
    free(base);
    Tensorflow__NodeDef *nd = tx_node_named(x, "Placeholder", name);
    td_dtype dt = tx_dtype(t->type);
    td_node_attr_type(nd, "dtype", dt);
    in_names[i] = name;
    td_tfl_val v = tx_out(x, nd, 0, dt);
    if (tx_is_quant(t)) v = tx_dequantize_in(x, t, v);
    x->vals[sg->in[i]] = v;
  }
  for (int k = 0; k < sg->nops && code == TD_OK; k++) code = tx_operator(x, k, st);
  if (code == TD_OK && x->missing)
    code = td_status_set(st, TD_UNIMPLEMENTED,
                         "TFLite model %s uses operators tensord does not support: %s", what, x->missing);
  if (code == TD_OK) code = make_outputs(x, out_names, in_names, st);
  if (code == TD_OK) {
    const td_tfl_metadata *md = td_tfl_model_metadata(x->m, "signature_defs_metadata");
    if (md && md->len) {
      code = metadata_signatures(x, md, in_names, out_names, mg, st);
    } else {
      mg->signature_def = td_xcalloc(2, sizeof *mg->signature_def);
      Tensorflow__MetaGraphDef__SignatureDefEntry *e = td_xmalloc(sizeof *e);
      tensorflow__meta_graph_def__signature_def_entry__init(e);
      e->key = td_xstrdup("serving_default");
      e->value = default_signature(x, in_names, out_names);
      mg->signature_def[mg->n_signature_def++] = e;
    }
  }
  free(in_names);
  free(out_names);
  return code;
}

td_code td_tflite_saved_model_from_bytes(const void *bytes, size_t len, const char *what, const char *const *tags,
                                         int ntags, Tensorflow__SavedModel **out, td_status *st) {
  static const char *const serve[] = {"serve"};
  *out = NULL;
  if (ntags == 0) tags = serve, ntags = 1;
  td_tfl_model *m;
  TD_TRY(td_tfl_model_parse(bytes, len, what, &m, st));
  Tensorflow__SavedModel *sm = td_xmalloc(sizeof *sm);
  tensorflow__saved_model__init(sm);
  sm->meta_graphs = td_xcalloc(2, sizeof *sm->meta_graphs);
  Tensorflow__MetaGraphDef *mg = td_xmalloc(sizeof *mg);
  tensorflow__meta_graph_def__init(mg);
  sm->meta_graphs[sm->n_meta_graphs++] = mg;
  mg->meta_info_def = td_xmalloc(sizeof *mg->meta_info_def);
  tensorflow__meta_graph_def__meta_info_def__init(mg->meta_info_def);
  mg->meta_info_def->tags = td_xcalloc((size_t)ntags + 1, sizeof(char *));
  for (int i = 0; i < ntags; i++) mg->meta_info_def->tags[mg->meta_info_def->n_tags++] = td_xstrdup(tags[i]);
  mg->graph_def = td_xmalloc(sizeof *mg->graph_def);
  tensorflow__graph_def__init(mg->graph_def);

  td_tfl_tx x = {.m = m, .sg = &m->subs[0], .gd = mg->graph_def};
  td_strmap_init(&x.used);
  x.vals = td_xcalloc((size_t)x.sg->ntensors + 1, sizeof *x.vals);
  td_code code = build(&x, what, mg, st);
  if (code == TD_OK) {
    size_t n = tensorflow__saved_model__get_packed_size(sm);
    uint8_t *buf = td_xmalloc(n + 1);
    tensorflow__saved_model__pack(sm, buf);
    code = td_savedmodel_parse(buf, n, what, out, st);
    free(buf);
  }
  for (size_t i = 0; i < x.npool; i++) free(x.pool[i]);
  free(x.pool);
  free(x.vals);
  free(x.missing);
  td_strmap_release(&x.used);
  tensorflow__saved_model__free_unpacked(sm, NULL);
  td_tfl_model_free(m);
  return code;
}

td_code td_tflite_saved_model(const char *path, const char *const *tags, int ntags, Tensorflow__SavedModel **out,
                              td_status *st) {
  char *data;
  size_t len;
  *out = NULL;
  TD_TRY(td_read_file(path, &data, &len, st));
  td_code code = td_tflite_saved_model_from_bytes(data, len, path, tags, ntags, out, st);
  free(data);
  return code;
}
