/* model.c — loads a SavedModel the way TF's C++ loader does (see model.h) and runs its
 * signatures. Invariant: after td_model_load succeeds every signature has either a callable or
 * an _error (it then answers FAILED_PRECONDITION), at least one has a callable, and nothing but
 * td_model_free mutates the model, so runs may proceed concurrently. */
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

#include "model/bundle.h"
#include "model/opscan.h"
#include "model/savedmodel.h"
#include "tflite/tflite.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strmap.h"

struct td_model {
  char *dir;
  Tensorflow__SavedModel *sm;
  const Tensorflow__MetaGraphDef *mg;
  td_bundle_cache *bundles;
  td_session *session;
  int nsigs;
  td_signature *sigs;
  struct td_batching_params *batching; /* owned; NULL = the server's */
  td_strmap missing; /* signature key → malloc'd "Op type not registered ..." (load-time scan) */
};

typedef struct feed_list {
  int n;
  char **names;
  td_tensor *values;
} feed_list;

static void feeds_add(feed_list *f, const char *name, const char *value) {
  f->names = td_xrealloc(f->names, (size_t)(f->n + 1) * sizeof *f->names);
  f->values = td_xrealloc(f->values, (size_t)(f->n + 1) * sizeof *f->values);
  f->names[f->n] = td_xstrdup(name);
  td_shape scalar = td_shape_scalar();
  if (td_tensor_alloc(&f->values[f->n], TD_DT_STRING, &scalar, NULL) != TD_OK) abort();
  td_tensor_set_string(&f->values[f->n], 0, value, strlen(value));
  f->n++;
}

static void feeds_free(feed_list *f) {
  for (int i = 0; i < f->n; i++) {
    free(f->names[i]);
    td_tensor_release(&f->values[i]);
  }
  free(f->names);
  free(f->values);
}

static td_code run_targets(td_model *m, const feed_list *f, const char *target, const char *what, td_status *st) {
  const char *targets[1] = {target};
  td_code code = td_session_run(m->session, (const char *const *)f->names, f->values, f->n, NULL, NULL, 0,
                                targets, 1, st);
  if (code != TD_OK) td_status_prefix(st, "%s of SavedModel at %s failed", what, m->dir);
  return code;
}

/* 1 when the graph holds variables (which a saver restores from variables/). */
static int has_variables(const Tensorflow__MetaGraphDef *mg) {
  static const char *const var_ops[] = {"VariableV2", "Variable", "VarHandleOp"};
  const Tensorflow__GraphDef *g = mg->graph_def;
  for (size_t i = 0; g && i < g->n_node; i++)
    for (size_t k = 0; k < sizeof var_ops / sizeof *var_ops; k++)
      if (g->node[i]->op && !strcmp(g->node[i]->op, var_ops[k])) return 1;
  return 0;
}

/* Restores variables (when the export has any) and runs the init op, both with asset feeds.
 * A graph with variables and a saver but no variables/variables.index is an incomplete copy
 * (saved_model.pb arrived first): it fails rather than serve uninitialized variables. */
static td_code restore_and_init(td_model *m, td_status *st) {
  char **asset_names = NULL, **asset_paths = NULL;
  int nassets = 0;
  TD_TRY(td_savedmodel_assets(m->dir, m->mg, &asset_names, &asset_paths, &nassets, st));
  feed_list f = {0};
  for (int i = 0; i < nassets; i++) feeds_add(&f, asset_names[i], asset_paths[i]);
  td_savedmodel_assets_free(asset_names, asset_paths, nassets);
  td_code code = TD_OK;
  char *prefix = td_xasprintf("%s/variables/variables", m->dir);
  char *index = td_xasprintf("%s.index", prefix);
  const Tensorflow__SaverDef *saver = m->mg->saver_def;
  int restores = saver && saver->restore_op_name && *saver->restore_op_name;
  if (restores && !td_is_file(index) && has_variables(m->mg))
    code = td_status_set(st, TD_UNAVAILABLE,
                         "Restoring variables of SavedModel at %s failed: the graph has variables but "
                         "variables/variables.index does not exist (is the version still being copied?)",
                         m->dir);
  else if (td_is_file(index) && restores) {
    feed_list rf = {0};
    for (int i = 0; i < f.n; i++) feeds_add(&rf, f.names[i], td_str(&f.values[i])[0].data);
    if (saver->filename_tensor_name && *saver->filename_tensor_name) feeds_add(&rf, saver->filename_tensor_name, prefix);
    code = run_targets(m, &rf, saver->restore_op_name, "Restoring variables", st);
    feeds_free(&rf);
  }
  free(index);
  free(prefix);
  const char *init_op = NULL;
  if (code == TD_OK) code = td_meta_graph_init_op(m->mg, &init_op, st);
  if (code == TD_OK && init_op) code = run_targets(m, &f, init_op, "Running the init op", st);
  feeds_free(&f);
  return code;
}

static int cmp_sig_tensor(const void *a, const void *b) {
  return strcmp(((const td_sig_tensor *)a)->alias, ((const td_sig_tensor *)b)->alias);
}

static int cmp_sig(const void *a, const void *b) {
  return strcmp(((const td_signature *)a)->key, ((const td_signature *)b)->key);
}

/* The signature's tensors from its inputs or outputs map. A tensor that is not a plain name
 * (sparse, composite, or no TensorInfo at all) gets tensor_name "" and sets *why (heap, the
 * first such reason): the signature is listed but not served. Errors: a malformed shape. */
static td_code sig_tensors(const Tensorflow__SignatureDef__InputsEntry *const *entries, size_t n,
                           td_sig_tensor **out, const char *sig_key, char **why, td_status *st) {
  td_sig_tensor *t = td_xcalloc(n + 1, sizeof *t);
  *out = t;
  for (size_t i = 0; i < n; i++) {
    const Tensorflow__TensorInfo *ti = entries[i]->value;
    t[i].alias = entries[i]->key;
    t[i].shape.rank = -1;
    t[i].tensor_name = td_tensor_info_name(ti);
    t[i].dtype = ti ? (td_dtype)ti->dtype : TD_DT_INVALID;
    if (!*t[i].tensor_name && !*why) {
      int sparse = ti && (ti->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_COO_SPARSE ||
                          ti->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_COMPOSITE_TENSOR);
      *why = sparse ? td_xasprintf("Signature '%s' tensor '%s' is sparse or composite, which tensord does not serve yet",
                                   sig_key, entries[i]->key)
                    : td_xasprintf("Signature '%s' tensor '%s' has no tensor name", sig_key, entries[i]->key);
    }
    if (ti && ti->tensor_shape) TD_TRY(td_shape_from_proto(ti->tensor_shape, &t[i].shape, st));
  }
  qsort(t, n, sizeof *t, cmp_sig_tensor);
  return TD_OK;
}

/* Marks signature s unservable with msg (taken) and logs why. */
static void fail_signature(td_model *m, td_signature *s, char *msg) {
  free(s->_error);
  s->_error = msg;
  TD_LOG_WARN("SavedModel at %s: signature '%s' is not served (requests for it answer FAILED_PRECONDITION): %s",
              m->dir, s->key, msg);
}

/* One callable per servable signature. A signature that fails to prepare is marked (see
 * fail_signature); the load fails only when no signature prepares. */
static td_code make_callables(td_model *m, td_status *st) {
  int ok = 0;
  td_status first = {0};
  for (int i = 0; i < m->nsigs; i++) {
    td_signature *s = &m->sigs[i];
    if (s->_error) continue;
    const char **in = td_xcalloc((size_t)s->num_inputs + 1, sizeof *in);
    const char **out = td_xcalloc((size_t)s->num_outputs + 1, sizeof *out);
    for (int k = 0; k < s->num_inputs; k++) in[k] = s->inputs[k].tensor_name;
    for (int k = 0; k < s->num_outputs; k++) out[k] = s->outputs[k].tensor_name;
    td_callable_free(s->_callable);
    s->_callable = NULL;
    td_code code = td_session_make_callable(m->session, in, s->num_inputs, out, s->num_outputs, NULL, 0,
                                            &s->_callable, st);
    free(in);
    free(out);
    if (code == TD_OK) {
      ok++;
      continue;
    }
    td_status_prefix(st, "Preparing signature '%s'", s->key);
    if (first.code == TD_OK) first = *st;
    fail_signature(m, s, td_xstrdup(st->msg));
  }
  if (!ok && m->nsigs > 0 && first.code != TD_OK) {
    *st = first;
    return first.code;
  }
  return TD_OK;
}

/* Scans, before import, the ops the restore / init ops and every signature need. Unsupported
 * ops for restore or init, or for every signature, fail the load with one error naming all of
 * them; a signature alone in needing some is remembered in m->missing (served as an error). */
static td_code scan_ops(td_model *m, td_status *st) {
  const Tensorflow__MetaGraphDef *mg = m->mg;
  const char *roots[2];
  size_t nroots = 0;
  const char *init_op = NULL;
  if (mg->saver_def && mg->saver_def->restore_op_name && *mg->saver_def->restore_op_name)
    roots[nroots++] = mg->saver_def->restore_op_name;
  if (td_meta_graph_init_op(mg, &init_op, NULL) == TD_OK && init_op) roots[nroots++] = init_op;
  char *msg = td_opscan_missing(mg, roots, nroots, NULL, 0);
  if (msg) {
    td_status_set(st, TD_UNIMPLEMENTED, "Loading SavedModel at %s: %s", m->dir, msg);
    free(msg);
    return TD_UNIMPLEMENTED;
  }
  size_t nsig = 0, nbad = 0;
  td_opscan *all = td_opscan_new(mg); /* the union, for the error when nothing is servable */
  for (size_t i = 0; i < mg->n_signature_def; i++) {
    const char *key = mg->signature_def[i]->key;
    const Tensorflow__SignatureDef *def = td_meta_graph_signature(mg, key);
    if (!def || !strcmp(key, TD_SAVED_MODEL_INIT_OP_SIGNATURE_KEY) || td_strmap_has(&m->missing, key)) continue;
    const char **outs = td_xcalloc(def->n_outputs + 1, sizeof *outs);
    const char **ins = td_xcalloc(def->n_inputs + 1, sizeof *ins);
    for (size_t k = 0; k < def->n_outputs; k++) outs[k] = td_tensor_info_name(def->outputs[k]->value);
    for (size_t k = 0; k < def->n_inputs; k++) ins[k] = td_tensor_info_name(def->inputs[k]->value);
    nsig++;
    msg = td_opscan_missing(mg, outs, def->n_outputs, ins, def->n_inputs);
    td_strmap_put(&m->missing, key, msg);
    if (msg) nbad++;
    td_opscan_walk(all, outs, def->n_outputs, ins, def->n_inputs);
    free(outs);
    free(ins);
  }
  td_code code = TD_OK;
  if (nsig > 0 && nbad == nsig) { /* nothing servable: one error naming every op */
    msg = td_opscan_message(all);
    code = td_status_set(st, TD_UNIMPLEMENTED, "Loading SavedModel at %s: %s", m->dir, msg ? msg : "unsupported ops");
    free(msg);
  }
  td_opscan_free(all);
  return code;
}

static td_code load_signatures(td_model *m, td_status *st) {
  const Tensorflow__MetaGraphDef *mg = m->mg;
  m->sigs = td_xcalloc(mg->n_signature_def + 1, sizeof *m->sigs);
  for (size_t i = 0; i < mg->n_signature_def; i++) {
    const char *key = mg->signature_def[i]->key;
    const Tensorflow__SignatureDef *def = mg->signature_def[i]->value;
    if (!def || !strcmp(key, TD_SAVED_MODEL_INIT_OP_SIGNATURE_KEY)) continue;
    if (td_model_find_signature(m, key)) continue; /* duplicate map key: last one wins in td_meta_graph_signature */
    td_signature *s = &m->sigs[m->nsigs++];
    def = td_meta_graph_signature(mg, key);
    s->key = key;
    char *missing = td_strmap_get(&m->missing, key);
    if (missing) fail_signature(m, s, td_xasprintf("Signature '%s' cannot be served: %s", key, missing));
    s->method_name = def->method_name ? def->method_name : "";
    s->_def = def;
    s->num_inputs = (int)def->n_inputs;
    s->num_outputs = (int)def->n_outputs;
    td_sig_tensor *in, *out;
    char *why = NULL; /* a tensor that is not a plain name: this signature is not served */
    td_code code = sig_tensors((const Tensorflow__SignatureDef__InputsEntry *const *)def->inputs, def->n_inputs, &in, key,
                               &why, st);
    s->inputs = in;
    if (code == TD_OK)
      code = sig_tensors((const Tensorflow__SignatureDef__InputsEntry *const *)def->outputs, def->n_outputs, &out, key,
                         &why, st);
    else
      out = NULL;
    s->outputs = out;
    if (code == TD_OK && why && !s->_error) fail_signature(m, s, why);
    else free(why);
    if (code != TD_OK) return code;
    td_tensor *defaults = td_xcalloc((size_t)s->num_inputs + 1, sizeof *defaults);
    s->_defaults = defaults;
    for (size_t d = 0; d < def->n_defaults; d++)
      for (int k = 0; k < s->num_inputs; k++)
        if (!strcmp(def->defaults[d]->key, in[k].alias) && def->defaults[d]->value)
          TD_TRY(td_tensor_from_proto(def->defaults[d]->value, &defaults[k], st));
  }
  qsort(m->sigs, (size_t)m->nsigs, sizeof *m->sigs, cmp_sig);
  TD_TRY(make_callables(m, st));
  /* Freeze when serving never writes state: variable reads then fold into constants. */
  for (int i = 0; i < m->nsigs; i++)
    if (m->sigs[i]._callable && td_callable_writes_state(m->sigs[i]._callable)) return TD_OK;
  td_session_freeze(m->session);
  return make_callables(m, st);
}

td_code td_model_load(const char *dir, const char *const *tags, int ntags, const td_model_options *opt,
                      td_model **out, td_status *st) {
  static const char *const serve[] = {"serve"};
  *out = NULL;
  if (ntags == 0) tags = serve, ntags = 1;
  td_model *m = td_xcalloc(1, sizeof *m);
  m->dir = td_xstrdup(dir);
  size_t len = strlen(m->dir);
  while (len > 1 && m->dir[len - 1] == '/') m->dir[--len] = 0;
  td_strmap_init(&m->missing);
  char *tflite = opt && opt->prefer_tflite_model ? td_path_join(m->dir, TD_TFLITE_MODEL_FILENAME) : NULL;
  td_code code = tflite && td_is_file(tflite) ? td_tflite_saved_model(tflite, tags, ntags, &m->sm, st)
                                              : td_savedmodel_read(m->dir, &m->sm, st);
  free(tflite);
  if (code == TD_OK) code = td_savedmodel_meta_graph(m->sm, tags, ntags, &m->mg, st);
  if (code == TD_OK) code = scan_ops(m, st);
  td_graph *g = NULL;
  Tensorflow__GraphDef empty; /* a MetaGraphDef without a graph: an empty one */
  tensorflow__graph_def__init(&empty);
  if (code == TD_OK) code = td_graph_import(m->mg->graph_def ? m->mg->graph_def : &empty, &g, st);
  if (code == TD_OK) {
    m->bundles = td_bundle_cache_new();
    td_session_options so = {.checkpoint = td_bundle_checkpoint_reader(m->bundles),
                             .intra_op_threads = opt ? opt->intra_op_threads : 0};
    code = td_session_new(g, &so, &m->session, st);
  }
  if (code == TD_OK) code = restore_and_init(m, st);
  if (code == TD_OK) code = load_signatures(m, st);
  if (code != TD_OK) {
    td_model_free(m);
    return code;
  }
  *out = m;
  return TD_OK;
}

void td_model_free(td_model *m) {
  if (!m) return;
  for (int i = 0; i < m->nsigs; i++) {
    td_signature *s = &m->sigs[i];
    td_callable_free(s->_callable);
    td_tensor *defaults = (td_tensor *)s->_defaults;
    for (int k = 0; defaults && k < s->num_inputs; k++) td_tensor_release(&defaults[k]);
    free(defaults);
    free((void *)s->inputs);
    free((void *)s->outputs);
    free(s->_error);
  }
  free(m->sigs);
  const char *k;
  void *v;
  for (size_t it = 0; td_strmap_next(&m->missing, &it, &k, &v);) free(v);
  td_strmap_release(&m->missing);
  free(m->batching);
  td_session_free(m->session);
  td_bundle_cache_free(m->bundles);
  td_savedmodel_free(m->sm);
  free(m->dir);
  free(m);
}

int td_model_num_signatures(const td_model *m) { return m->nsigs; }
const char *td_signature_error(const td_signature *sig) { return sig->_error; }
const td_signature *td_model_signature(const td_model *m, int i) { return &m->sigs[i]; }
const Tensorflow__MetaGraphDef *td_model_meta_graph(const td_model *m) { return m->mg; }

const td_signature *td_model_find_signature(const td_model *m, const char *key) {
  for (int i = 0; i < m->nsigs; i++)
    if (m->sigs[i].key && !strcmp(m->sigs[i].key, key)) return &m->sigs[i];
  return NULL;
}

td_code td_model_run(td_model *m, const td_signature *sig, const td_tensor *inputs, td_tensor *outputs,
                     td_status *st) {
  return td_model_run_opts(m, sig, inputs, outputs, NULL, st);
}

td_code td_model_run_opts(td_model *m, const td_signature *sig, const td_tensor *inputs, td_tensor *outputs,
                          const td_run_options *opt, td_status *st) {
  (void)m;
  if (sig->_error) return td_status_set(st, TD_FAILED_PRECONDITION, "%s", sig->_error);
  td_tensor small[16];
  td_tensor *feed = sig->num_inputs <= 16 ? small : td_xcalloc((size_t)sig->num_inputs, sizeof *feed);
  td_code code = TD_OK;
  for (int i = 0; i < sig->num_inputs && code == TD_OK; i++) {
    const td_sig_tensor *in = &sig->inputs[i];
    feed[i] = inputs[i];
    if (inputs[i].dtype == TD_DT_INVALID) {
      if (sig->_defaults[i].dtype == TD_DT_INVALID)
        code = td_status_set(st, TD_INVALID_ARGUMENT, "input '%s' of signature '%s' is missing", in->alias, sig->key);
      feed[i] = sig->_defaults[i];
    } /* dtypes are checked against the graph's placeholders by the callable; shapes are not
       * checked, as in TF Serving, but explain a failure (validate.c) */
  }
  if (code == TD_OK) {
    code = td_callable_run_opts(sig->_callable, feed, outputs, opt, st);
    if (code == TD_INVALID_ARGUMENT) td_signature_explain_failure(sig, inputs, st);
  }
  if (feed != small) free(feed);
  return code;
}

void td_model_set_batching_params(td_model *m, struct td_batching_params *p) {
  free(m->batching);
  m->batching = p;
}

const struct td_batching_params *td_model_batching_params(const td_model *m) { return m->batching; }
