/* lifelong — the oracle: a budgeted, host-side source of true labels that a
 * strategy may query by sample id (lf_ctx_oracle_query).  Generic: who the
 * truth is comes from a callback, so open-world novelty and any later
 * setting that asks for labels share it.  Never installed. */
#pragma once

#include <lifelong/lifelong.h>
#include <json-glib/json-glib.h>

/* The true label of sample id of split, as known at experience `now`;
 * FALSE with error (naming the id) when the oracle may not answer about it. */
typedef gboolean (*LfOracleTruthFn) (void *data, LfSplit split, int64_t id, int64_t now, int32_t *label,
                                     GError **error);

typedef struct LfOracle LfOracle;

/* budget >= 0 labels for the whole run; truth and data are borrowed. */
LfOracle *lf_oracle_new (int64_t budget, LfOracleTruthFn truth, void *data);
void      lf_oracle_free (LfOracle *o);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfOracle, lf_oracle_free)

/* Reads scenario.oracle (JSON text: {"budget": N}); FALSE with an error
 * naming scenario.oracle.KEY and the value. */
gboolean  lf_oracle_config_parse (const char *json, int64_t *budget, GError **error);

int64_t   lf_oracle_budget (const LfOracle *o);
/* Labels given (budget spent) and ids refused so far. */
int64_t   lf_oracle_used (const LfOracle *o);
int64_t   lf_oracle_refused (const LfOracle *o);
/* Queries logged so far (one per call that did not fail). */
int64_t   lf_oracle_n_queries (const LfOracle *o);

/* The query of lf_ctx_oracle_query (strategy.h), made at experience `now`
 * and step `step` (for the log).  Returns the number answered, or -1 with
 * error (nothing spent, nothing logged). */
int64_t   lf_oracle_query (LfOracle *o, LfSplit split, const int64_t *ids, int64_t n, int64_t now, int64_t step,
                           int32_t *labels, GError **error);
/* The corrector's query, "check these answers" (the feedback scenario,
 * docs/open-environments.md): answers[i] is the label the model gave id.
 * A right answer reveals nothing and costs nothing (labels[i] =
 * LF_LABEL_UNKNOWN); a wrong one is corrected, labels[i] = its true label,
 * at one label of the budget each time (a mistake made again is corrected
 * again, and paid again); a wrong one past the budget is refused
 * (LF_LABEL_UNKNOWN).  A corrected label is given as lf_oracle_query's
 * are (lf_oracle_known).  Logged with "kind": "check" (asked = n, answered
 * = charged = corrections, refused; the right answers are asked - answered
 * - refused).  Returns the corrections, or -1 with error (nothing spent,
 * nothing logged). */
int64_t   lf_oracle_check (LfOracle *o, LfSplit split, const int64_t *ids, const int32_t *answers, int64_t n,
                           int64_t now, int64_t step, int32_t *labels, GError **error);
/* TRUE, with the label, when the oracle has given id's label. */
gboolean  lf_oracle_known (const LfOracle *o, LfSplit split, int64_t id, int32_t *label);

/* The result's "oracle" member: {"budget", "used", "refused", "queries":
 * [{"experience", "step", "split", "asked", "answered", "charged",
 * "refused"}, ...]}; a corrector's check (lf_oracle_check) also has
 * "kind": "check". */
JsonNode *lf_oracle_to_json (const LfOracle *o);

/* Checkpoints: the spent budget, the labels given and the log, under the
 * host's own keys ("host.oracle.*") of the strategy's state blob. */
void      lf_oracle_save (const LfOracle *o, LfState *st);
gboolean  lf_oracle_load (LfOracle *o, const LfState *st, GError **error);
