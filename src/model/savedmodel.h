/* savedmodel.h — reading a SavedModel export directory's protos (no graph execution):
 * the SavedModel message, MetaGraphDef selection by tag set, signatures, assets and the
 * init op, following TF's C++ loader (cc/saved_model/loader.cc, loader_util.cc) rules.
 *
 * Ownership: td_savedmodel_read returns a message owned by the caller (td_savedmodel_free).
 * Every `const` pointer returned by the lookup functions points into that message and lives
 * as long as it does. td_savedmodel_assets returns new arrays (td_savedmodel_assets_free).
 * Thread affinity: none; the functions keep no global state and only read their inputs, so
 * one SavedModel may be inspected from several threads at once.
 */
#ifndef TD_MODEL_SAVEDMODEL_H
#define TD_MODEL_SAVEDMODEL_H

#include "proto/tf.h"
#include "util/status.h"

#define TD_SAVED_MODEL_FILENAME_PB "saved_model.pb"
#define TD_SAVED_MODEL_FILENAME_PBTXT "saved_model.pbtxt"
#define TD_SAVED_MODEL_INIT_OP_SIGNATURE_KEY "__saved_model_init_op"

/* Reads <dir>/saved_model.pb (binary), else <dir>/saved_model.pbtxt (text format).
 * Errors: NOT_FOUND "Could not find SavedModel .pb or .pbtxt at supplied export directory
 * path: <dir>" when neither exists; DATA_LOSS "Can't parse <path> as binary|text proto..."
 * for a corrupt or truncated file; read errors from td_read_file. */
td_code td_savedmodel_read(const char *dir, Tensorflow__SavedModel **out, td_status *st) TD_MUST_CHECK;
/* Parses serialized SavedModel bytes (what saved_model.pb holds); `what` names the source in
 * error messages. */
td_code td_savedmodel_parse(const void *data, size_t len, const char *what, Tensorflow__SavedModel **out,
                            td_status *st) TD_MUST_CHECK;
void td_savedmodel_free(Tensorflow__SavedModel *sm);

/* The MetaGraphDef whose meta_info_def.tags equals {tags} as a set (duplicates ignored).
 * NOT_FOUND "Could not find meta graph def matching supplied tags: { serve }. To inspect
 * available tag-sets in the SavedModel, please use the SavedModel CLI: `saved_model_cli`". */
td_code td_savedmodel_meta_graph(const Tensorflow__SavedModel *sm, const char *const *tags, int ntags,
                                 const Tensorflow__MetaGraphDef **out, td_status *st) TD_MUST_CHECK;

/* The SignatureDef stored under key (the last entry wins on duplicates), or NULL. */
const Tensorflow__SignatureDef *td_meta_graph_signature(const Tensorflow__MetaGraphDef *mg, const char *key);
/* The CollectionDef stored under key, or NULL. */
const Tensorflow__CollectionDef *td_meta_graph_collection(const Tensorflow__MetaGraphDef *mg, const char *key);
/* The tensor name a TensorInfo (may be NULL) holds; "" when it has none: absent, no encoding,
 * or a sparse / composite one. `name` is a oneof member (a union in protobuf-c): NULL without
 * an encoding, and another member's pointer under a sparse or composite one. */
const char *td_tensor_info_name(const Tensorflow__TensorInfo *ti);

/* The assets to feed at init time: MetaGraphDef.asset_file_def if non-empty, else the
 * `saved_model_assets` collection (Any-packed tensorflow.AssetFileDef). On success *n
 * entries; (*tensor_names)[i] is the placeholder tensor ("Const:0") and (*paths)[i] is
 * <dir>/assets/<filename>. Both arrays (and their strings) are new; free them with
 * td_savedmodel_assets_free. *n == 0 leaves the arrays NULL. FAILED_PRECONDITION for a
 * collection entry of another type or undecodable bytes. */
td_code td_savedmodel_assets(const char *dir, const Tensorflow__MetaGraphDef *mg, char ***tensor_names,
                             char ***paths, int *n, td_status *st) TD_MUST_CHECK;
void td_savedmodel_assets_free(char **tensor_names, char **paths, int n);

/* The init op node name, TF's order: output "__saved_model_init_op" of the
 * "__saved_model_init_op" signature, else the single value of collection
 * `saved_model_main_op`, else of `legacy_init_op`; *node_name = NULL when there is none.
 * The name points into mg and is returned as written (TF writes plain node names, e.g.
 * "NoOp", "group_deps"). FAILED_PRECONDITION when the signature lacks that output or the
 * collection does not hold exactly one name. */
td_code td_meta_graph_init_op(const Tensorflow__MetaGraphDef *mg, const char **node_name,
                              td_status *st) TD_MUST_CHECK;

#endif
