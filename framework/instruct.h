/* lifelong — measuring an instruction-tuning run (private): each task's
 * test items answered by greedy generation (exact match and token
 * accuracy), the general-ability loss on held-out text, and a few
 * generations kept for the result (docs/instruction-tuning.md). */
#pragma once

#include "host.h"

typedef struct LfInstructEval LfInstructEval;

/* B: samples per forward of the general loss. */
LfInstructEval *lf_instruct_eval_new (LfModel *model, const LfScenario *sc, LfDataset *ds, int64_t B,
                                      int64_t n_generations);
void            lf_instruct_eval_free (LfInstructEval *ev);
/* Greedy generation (the model's key/value cache) from each item's prompt
 * (BOS, the bytes before its answer span): the fraction of items whose
 * generation is exactly the answer followed by the end token; *token_acc
 * the mean over items of the fraction of those answer tokens (answer and
 * end token) generated right, position by position.  ids: scenario ids of
 * split. */
double          lf_instruct_eval_score (LfInstructEval *ev, LfSplit split, const GArray *ids, double *token_acc);
/* Closes a row of the matrix: keeps its token accuracies (T values) and
 * measures the general loss; the first row closed is the baseline (the
 * model before training), and it and the latest row keep the generations
 * of the first n_generations test items of every task. */
void            lf_instruct_eval_row (LfInstructEval *ev, const double *token_acc, gboolean baseline);
/* general loss after the last row minus before the first (NaN without
 * general texts). */
double          lf_instruct_eval_general_delta (const LfInstructEval *ev);
/* {"general_loss_before", "general_loss": [per row], "token_accuracy":
 * [[...]], "token_accuracy_baseline": [...], "generations": [...]}. */
JsonNode       *lf_instruct_eval_json (const LfInstructEval *ev);
