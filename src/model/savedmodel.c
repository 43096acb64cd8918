/* savedmodel.c — SavedModel directory reading and MetaGraphDef lookups (see savedmodel.h).
 *
 * Invariants: every message handed out was allocated by protobuf-c's default allocator
 * (binary unpack) or by the text-format parser in the same layout, so one free function
 * serves both. Lookups never modify the message.
 */
#include "model/savedmodel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/textformat.h"
#include "util/file.h"
#include "util/mem.h"

#define ASSET_FILE_DEF_TYPE_URL "type.googleapis.com/tensorflow.AssetFileDef"
#define SAVED_MODEL_ASSETS_KEY "saved_model_assets"
#define SAVED_MODEL_ASSETS_DIRECTORY "assets"
#define SAVED_MODEL_MAIN_OP_KEY "saved_model_main_op"
#define LEGACY_INIT_OP_KEY "legacy_init_op"

/* ---- attr maps without values ----
 * A map entry may come without its value (protobuf-c then leaves the message pointer NULL);
 * TensorFlow's protobuf reads such an entry as the default message, an AttrValue with no value
 * set. fill_* gives every attr entry of the graph and its functions that empty AttrValue, so the
 * rest of tensord sees what TensorFlow sees (a fuzzed model crashed graph import on one). The
 * filled messages are malloc'd like protobuf-c's own and freed with the model. */

/* Every attr map (NodeDef, FunctionDef, ArgAttrs, NameAttrList) has entries with an AttrValue
 * `value`; a macro serves the four entry types. */
#define FILL_ATTR_MAP(entries, n)                                                          \
  do {                                                                                     \
    for (size_t k_ = 0; k_ < (n); k_++) fill_value(&(entries)[k_]->value);                 \
  } while (0)

static void fill_value(Tensorflow__AttrValue **v) {
  if (!*v) {
    *v = td_xmalloc(sizeof **v);
    tensorflow__attr_value__init(*v);
    return;
  }
  Tensorflow__AttrValue *a = *v;
  if (a->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC && a->func) FILL_ATTR_MAP(a->func->attr, a->func->n_attr);
  if (a->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && a->list)
    for (size_t i = 0; i < a->list->n_func; i++) FILL_ATTR_MAP(a->list->func[i]->attr, a->list->func[i]->n_attr);
}

static void fill_graph_attrs(Tensorflow__GraphDef *g) {
  if (!g) return;
  for (size_t i = 0; i < g->n_node; i++) FILL_ATTR_MAP(g->node[i]->attr, g->node[i]->n_attr);
  const Tensorflow__FunctionDefLibrary *lib = g->library;
  for (size_t f = 0; lib && f < lib->n_function; f++) {
    Tensorflow__FunctionDef *fd = lib->function[f];
    for (size_t i = 0; i < fd->n_node_def; i++) FILL_ATTR_MAP(fd->node_def[i]->attr, fd->node_def[i]->n_attr);
    FILL_ATTR_MAP(fd->attr, fd->n_attr);
    for (size_t i = 0; i < fd->n_arg_attr; i++) {
      Tensorflow__FunctionDef__ArgAttrEntry *e = fd->arg_attr[i];
      if (!e->value) {
        e->value = td_xmalloc(sizeof *e->value);
        tensorflow__function_def__arg_attrs__init(e->value);
      }
      FILL_ATTR_MAP(e->value->attr, e->value->n_attr);
    }
  }
}

static void fill_model_attrs(Tensorflow__SavedModel *sm) {
  for (size_t i = 0; i < sm->n_meta_graphs; i++) fill_graph_attrs(sm->meta_graphs[i]->graph_def);
}

td_code td_savedmodel_parse(const void *data, size_t len, const char *what, Tensorflow__SavedModel **out,
                            td_status *st) {
  Tensorflow__SavedModel *sm = tensorflow__saved_model__unpack(NULL, len, data);
  if (!sm)
    return td_status_set(st, TD_DATA_LOSS, "Can't parse %s as binary proto (truncated or corrupt SavedModel)",
                         what);
  fill_model_attrs(sm);
  *out = sm;
  return TD_OK;
}

static td_code read_binary(const char *path, Tensorflow__SavedModel **out, td_status *st) {
  char *data;
  size_t len;
  TD_TRY(td_read_file(path, &data, &len, st));
  td_code c = td_savedmodel_parse(data, len, path, out, st);
  free(data);
  return c;
}

static td_code read_text(const char *path, Tensorflow__SavedModel **out, td_status *st) {
  char *data;
  size_t len;
  TD_TRY(td_read_file(path, &data, &len, st));
  ProtobufCMessage *m = NULL;
  td_code c = td_textformat_parse(&tensorflow__saved_model__descriptor, data, len, &m, st);
  free(data);
  if (c != TD_OK) {
    td_status_prefix(st, "Can't parse %s as text proto", path);
    if (st) st->code = TD_DATA_LOSS;
    return TD_DATA_LOSS;
  }
  *out = (Tensorflow__SavedModel *)m;
  fill_model_attrs(*out);
  return TD_OK;
}

td_code td_savedmodel_read(const char *dir, Tensorflow__SavedModel **out, td_status *st) {
  static const struct {
    const char *filename;
    td_code (*read)(const char *path, Tensorflow__SavedModel **out, td_status *st);
  } formats[] = {{TD_SAVED_MODEL_FILENAME_PB, read_binary}, {TD_SAVED_MODEL_FILENAME_PBTXT, read_text}};
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
    char *path = td_path_join(dir, formats[i].filename);
    if (td_is_file(path)) {
      td_code c = formats[i].read(path, out, st);
      free(path);
      return c;
    }
    free(path);
  }
  return td_status_set(st, TD_NOT_FOUND,
                       "Could not find SavedModel .pb or .pbtxt at supplied export directory path: %s", dir);
}

void td_savedmodel_free(Tensorflow__SavedModel *sm) {
  if (sm) protobuf_c_message_free_unpacked(&sm->base, NULL);
}

/* ---- tag sets ---- */

static int contains(char *const *set, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(set[i], s)) return 1;
  return 0;
}

static int tags_equal(const Tensorflow__MetaGraphDef *mg, const char *const *tags, int ntags) {
  const Tensorflow__MetaGraphDef__MetaInfoDef *info = mg->meta_info_def;
  size_t nhave = info ? info->n_tags : 0;
  char *const *have = info ? info->tags : NULL;
  for (int i = 0; i < ntags; i++)
    if (!contains(have, nhave, tags[i])) return 0;
  for (size_t i = 0; i < nhave; i++)
    if (!contains((char *const *)tags, (size_t)ntags, have[i])) return 0;
  return 1;
}

td_code td_savedmodel_meta_graph(const Tensorflow__SavedModel *sm, const char *const *tags, int ntags,
                                 const Tensorflow__MetaGraphDef **out, td_status *st) {
  for (size_t i = 0; i < sm->n_meta_graphs; i++)
    if (tags_equal(sm->meta_graphs[i], tags, ntags)) {
      *out = sm->meta_graphs[i];
      return TD_OK;
    }
  char list[512] = "";
  size_t used = 0;
  for (int i = 0; i < ntags && used < sizeof list; i++)
    used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? " " : "", tags[i]);
  return td_status_set(st, TD_NOT_FOUND,
                       "Could not find meta graph def matching supplied tags: { %s }. To inspect available "
                       "tag-sets in the SavedModel, please use the SavedModel CLI: `saved_model_cli`",
                       list);
}

/* ---- map lookups (last duplicate wins, like protobuf map parsing) ---- */

const Tensorflow__SignatureDef *td_meta_graph_signature(const Tensorflow__MetaGraphDef *mg, const char *key) {
  for (size_t i = mg->n_signature_def; i-- > 0;)
    if (!strcmp(mg->signature_def[i]->key, key)) return mg->signature_def[i]->value;
  return NULL;
}

const Tensorflow__CollectionDef *td_meta_graph_collection(const Tensorflow__MetaGraphDef *mg, const char *key) {
  for (size_t i = mg->n_collection_def; i-- > 0;)
    if (!strcmp(mg->collection_def[i]->key, key)) return mg->collection_def[i]->value;
  return NULL;
}

/* ---- assets ---- */

static td_code add_asset(const char *dir, const Tensorflow__AssetFileDef *a, size_t index, char **names,
                         char **paths, td_status *st) {
  const char *tensor = td_tensor_info_name(a->tensor_info);
  if (!*tensor)
    return td_status_set(st, TD_FAILED_PRECONDITION, "Asset file def #%zu (\"%s\") has no tensor name", index,
                         a->filename ? a->filename : "");
  if (!a->filename || !a->filename[0])
    return td_status_set(st, TD_FAILED_PRECONDITION, "Asset file def #%zu (tensor %s) has no filename", index,
                         tensor);
  char *assets_dir = td_path_join(dir, SAVED_MODEL_ASSETS_DIRECTORY);
  names[index] = td_xstrdup(tensor);
  paths[index] = td_path_join(assets_dir, a->filename);
  free(assets_dir);
  return TD_OK;
}

/* Unpacks collection entry i (an Any) into a new AssetFileDef. */
static td_code unpack_asset_any(const Google__Protobuf__Any *any, size_t i, Tensorflow__AssetFileDef **out,
                                td_status *st) {
  if (!any->type_url || strcmp(any->type_url, ASSET_FILE_DEF_TYPE_URL) != 0)
    return td_status_set(st, TD_FAILED_PRECONDITION,
                         "Expected Any type_url for: tensorflow.AssetFileDef. Got: %s (collection %s entry %zu)",
                         any->type_url ? any->type_url : "", SAVED_MODEL_ASSETS_KEY, i);
  *out = tensorflow__asset_file_def__unpack(NULL, any->value.len, any->value.data);
  if (!*out)
    return td_status_set(st, TD_FAILED_PRECONDITION, "Failed to unpack: tensorflow.AssetFileDef (collection %s entry %zu)",
                         SAVED_MODEL_ASSETS_KEY, i);
  return TD_OK;
}

td_code td_savedmodel_assets(const char *dir, const Tensorflow__MetaGraphDef *mg, char ***tensor_names,
                             char ***paths, int *n, td_status *st) {
  *tensor_names = NULL;
  *paths = NULL;
  *n = 0;
  const Tensorflow__CollectionDef *coll = NULL;
  size_t count = mg->n_asset_file_def;
  if (count == 0) {
    coll = td_meta_graph_collection(mg, SAVED_MODEL_ASSETS_KEY);
    if (coll && coll->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_ANY_LIST && coll->any_list)
      count = coll->any_list->n_value;
  }
  if (count == 0) return TD_OK;
  char **names = td_xcalloc(count, sizeof *names), **files = td_xcalloc(count, sizeof *files);
  td_code c = TD_OK;
  for (size_t i = 0; i < count && c == TD_OK; i++) {
    if (mg->n_asset_file_def) {
      c = add_asset(dir, mg->asset_file_def[i], i, names, files, st);
    } else {
      Tensorflow__AssetFileDef *a = NULL;
      c = unpack_asset_any(coll->any_list->value[i], i, &a, st);
      if (c == TD_OK) c = add_asset(dir, a, i, names, files, st);
      if (a) tensorflow__asset_file_def__free_unpacked(a, NULL);
    }
  }
  if (c != TD_OK) {
    td_savedmodel_assets_free(names, files, (int)count);
    return c;
  }
  *tensor_names = names;
  *paths = files;
  *n = (int)count;
  return TD_OK;
}

void td_savedmodel_assets_free(char **tensor_names, char **paths, int n) {
  for (int i = 0; i < n; i++) {
    if (tensor_names) free(tensor_names[i]);
    if (paths) free(paths[i]);
  }
  free(tensor_names);
  free(paths);
}

const char *td_tensor_info_name(const Tensorflow__TensorInfo *ti) {
  return ti && ti->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_NAME && ti->name ? ti->name : "";
}

/* ---- init op ---- */

static const Tensorflow__TensorInfo *signature_output(const Tensorflow__SignatureDef *sig, const char *key) {
  for (size_t i = sig->n_outputs; i-- > 0;)
    if (!strcmp(sig->outputs[i]->key, key)) return sig->outputs[i]->value;
  return NULL;
}

td_code td_meta_graph_init_op(const Tensorflow__MetaGraphDef *mg, const char **node_name, td_status *st) {
  *node_name = NULL;
  const Tensorflow__SignatureDef *sig = td_meta_graph_signature(mg, TD_SAVED_MODEL_INIT_OP_SIGNATURE_KEY);
  if (sig) {
    const char *name = td_tensor_info_name(signature_output(sig, TD_SAVED_MODEL_INIT_OP_SIGNATURE_KEY));
    if (!*name)
      return td_status_set(st, TD_FAILED_PRECONDITION, "Could not find output %s in the %s signature",
                           TD_SAVED_MODEL_INIT_OP_SIGNATURE_KEY, TD_SAVED_MODEL_INIT_OP_SIGNATURE_KEY);
    *node_name = name;
    return TD_OK;
  }
  const char *key = SAVED_MODEL_MAIN_OP_KEY;
  const Tensorflow__CollectionDef *coll = td_meta_graph_collection(mg, key);
  if (!coll) coll = td_meta_graph_collection(mg, key = LEGACY_INIT_OP_KEY);
  if (!coll) return TD_OK;
  if (coll->kind_case != TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST || !coll->node_list ||
      coll->node_list->n_value != 1)
    return td_status_set(st, TD_FAILED_PRECONDITION, "Expected exactly one main op in collection %s (found %zu)",
                         key,
                         coll->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST && coll->node_list
                             ? coll->node_list->n_value
                             : (size_t)0);
  *node_name = coll->node_list->value[0];
  return TD_OK;
}
