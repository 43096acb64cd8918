/* model_config.h — tensorflow.serving.ModelServerConfig as plain C: the list of models the
 * manager serves (name, base path, version policy, version labels), read from the text file
 * of --model_config_file, from a ReloadConfigRequest's message, or built for the single-model
 * flags (--model_name / --model_base_path).
 *
 * Validation follows TF Serving's ServerCore (server_core.cc) and uses its texts:
 *   duplicate name   → INVALID_ARGUMENT "Illegal to list model <m> multiple times in config list"
 *   relative path    → INVALID_ARGUMENT "Expected model <m> to have an absolute path or URI; got
 *                      base_path()=<p>"
 *   no platform      → FAILED_PRECONDITION "Illegal setting neither ModelServerConfig::model_type
 *                      (deprecated) nor ModelServerConfig::model_platform."
 *   other platform   → INVALID_ARGUMENT "Model <m> requested unsupported platform <p>"
 *   custom config    → FAILED_PRECONDITION "Cannot transition to requested config. It is only
 *                      legal to transition from one ModelConfigList to another."
 * Parse errors: INVALID_ARGUMENT "Error parsing text-format tensorflow.serving.ModelServerConfig:
 * L:C: ...".
 *
 * Ownership: a td_model_config_list owns all its strings and arrays (td_model_config_list_free).
 * Thread affinity: none; pure functions.
 */
#ifndef TD_CORE_MODEL_CONFIG_H
#define TD_CORE_MODEL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "proto/serving.h"
#include "util/status.h"

typedef enum td_version_policy {
  TD_POLICY_LATEST = 0, /* the num_versions highest (default, num_versions 1) */
  TD_POLICY_ALL,        /* every version on disk */
  TD_POLICY_SPECIFIC,   /* the listed versions that exist */
} td_version_policy;

typedef struct td_version_label {
  char *label;
  int64_t version;
} td_version_label;

typedef struct td_model_config {
  char *name;
  char *base_path;
  td_version_policy policy;
  uint32_t num_versions; /* LATEST; 0 is treated as 1 */
  int64_t *versions;     /* SPECIFIC */
  size_t nversions;
  td_version_label *labels;
  size_t nlabels;
} td_model_config;

typedef struct td_model_config_list {
  int is_set; /* 0: the config oneof was not set (an empty ModelServerConfig: "take no action") */
  td_model_config *models;
  size_t n;
} td_model_config_list;

/* Converts and validates a message (NULL = not set). On error *out is empty. */
td_code td_model_config_from_proto(const Tensorflow__Serving__ModelServerConfig *msg, td_model_config_list *out,
                                   td_status *st) TD_MUST_CHECK;
/* Parses text-format ModelServerConfig, then validates. */
td_code td_model_config_parse_text(const char *text, size_t len, td_model_config_list *out,
                                   td_status *st) TD_MUST_CHECK;
/* Reads and parses a file (NOT_FOUND / read errors name the path). */
td_code td_model_config_read_file(const char *path, td_model_config_list *out, td_status *st) TD_MUST_CHECK;
/* One model, latest-1 policy, no labels (the --model_name/--model_base_path config); validated. */
td_code td_model_config_single(const char *name, const char *base_path, td_model_config_list *out,
                               td_status *st) TD_MUST_CHECK;

/* Deep copy of one model's config into *dst. */
void td_model_config_copy(td_model_config *dst, const td_model_config *src);
void td_model_config_clear(td_model_config *c);
void td_model_config_list_free(td_model_config_list *l);
/* 1 if base path and version policy are equal (labels are not compared). */
int td_model_config_same_source(const td_model_config *a, const td_model_config *b);

#endif
