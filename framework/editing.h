/* lifelong — measuring a knowledge-editing run (private): the unedited
 * model's answers, then reliability, generalization and locality after
 * chosen numbers of edits (docs/editing.md). */
#pragma once

#include "host.h"

typedef struct LfEditingEval LfEditingEval;

/* Measures the model as it is now (before any edit): its arg-max on every
 * edit's locality prompts (what locality compares with) and its accuracy on
 * the knowledge base (sc->reference).  B: samples per forward. */
LfEditingEval *lf_editing_eval_new (LfModel *model, const LfScenario *sc, LfDataset *ds, int64_t B);
void           lf_editing_eval_free (LfEditingEval *ev);
/* Measures after the first k edits; edit_s: the seconds the k edits took.
 * row gets each of the sc->n_exp edits' reliability (NaN past k). */
void           lf_editing_eval_point (LfEditingEval *ev, int64_t k, double edit_s, double *row);
/* Per-edit reliability of the unedited model (the result's "baseline"). */
const double  *lf_editing_eval_baseline (const LfEditingEval *ev);
/* {"base_model": {...}, "points": [...]} (a new node), and the last
 * point's scores as the result's "metrics" (a new object). */
JsonNode      *lf_editing_eval_json (const LfEditingEval *ev);
JsonObject    *lf_editing_eval_metrics (const LfEditingEval *ev);
