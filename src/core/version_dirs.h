/* version_dirs.h — the file-system source of the manager: lists a model's version directories
 * (<base_path>/<int64>/) and picks the aspired ones by version policy (TF Serving's
 * FileSystemStoragePathSource).
 *
 * A child counts as a version when its whole name parses as a non-negative int64 ("00000123"
 * → 123) and it is a directory; other children are ignored. It is `complete` once it holds
 * saved_model.pb, saved_model.pbtxt or model.tflite, or once it has not changed for
 * TD_VERSION_DIR_SETTLE_SECONDS (then it is a broken version, not a copy in progress: it is
 * aspired, fails to load and reports why, as in TF). Incomplete ones are never aspired.
 * Two names for one number: the last listed wins (with a warning), as in TF.
 * `signature` changes whenever any file of the version changes (name, size or mtime of every
 * entry in its tree, up to 4096 entries): a version that failed to load is retried once it was
 * rewritten — e.g. its variables/ arrived after its saved_model.pb.
 *
 * Ownership: td_version_dir arrays and their paths are heap (td_version_dirs_free).
 * Thread affinity: none.
 */
#ifndef TD_CORE_VERSION_DIRS_H
#define TD_CORE_VERSION_DIRS_H

#include <stddef.h>
#include <stdint.h>

#include "core/model_config.h"
#include "util/status.h"

#define TD_VERSION_DIR_SETTLE_SECONDS 5

typedef struct td_version_dir {
  int64_t version;
  char *path;
  int complete;
  uint64_t signature;
} td_version_dir;

/* Lists base's version dirs, ascending. NOT_FOUND "Could not find base path <base>" when base
 * is not a readable directory. */
td_code td_version_dirs_list(const char *base, td_version_dir **out, size_t *n, td_status *st) TD_MUST_CHECK;
void td_version_dirs_free(td_version_dir *dirs, size_t n);

/* The aspired versions among the complete dirs under the policy of c, descending (highest
 * first); returns how many were written to out (room for n). */
size_t td_aspired_versions(const td_model_config *c, const td_version_dir *dirs, size_t n, int64_t *out);

/* The dir of a version in dirs, or NULL. */
const td_version_dir *td_version_dirs_find(const td_version_dir *dirs, size_t n, int64_t version);

#endif
