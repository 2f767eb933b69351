/* lifelong — continual-learning metrics from a results matrix R (T x T,
 * R[i][j] = score on experience j after training through experience i),
 * online-stream metrics, and their JSON form.  docs/metrics.md gives every
 * definition with its direction and what an undefined (null) value means. */
#pragma once

#include <stdint.h>
#include <glib.h>

G_BEGIN_DECLS

/* What the matrix holds, which fixes each metric's direction. */
typedef enum {
  LF_MATRIX_ACCURACY,     /* fraction correct, in [0, 1]; higher is better   */
  LF_MATRIX_LOSS,         /* mean loss (e.g. per token); lower is better     */
  LF_MATRIX_EXACT_MATCH,  /* fraction of exact answers, in [0, 1]; higher is better */
} LfMatrixKind;

/* TRUE for LF_MATRIX_ACCURACY and LF_MATRIX_EXACT_MATCH. */
gboolean    lf_matrix_kind_higher_is_better (LfMatrixKind kind);
/* "accuracy", "loss", "exact_match": the result file's "matrix_kind". */
const char *lf_matrix_kind_name (LfMatrixKind kind);
/* The kind named by lf_matrix_kind_name; FALSE (and *out untouched) for any
 * other string. */
gboolean    lf_matrix_kind_from_name (const char *name, LfMatrixKind *out);

/* The matrix metrics.  NaN means undefined (T = 1, no baseline, a joint
 * run's single row); lf_metrics_to_json writes it as null.  For a loss
 * matrix each field holds the loss-valued counterpart (the JSON names say
 * so: "average_loss", "learning_loss"). */
typedef struct {
  LfMatrixKind kind;
  double average;             /* A  = mean_j R[T-1][j]                          */
  double average_forgetting;  /* F: drop from the best earlier score (rise in loss) */
  double bwt;                 /* mean_{j<T-1} (R[T-1][j] - R[j][j])             */
  double fwt;                 /* mean_{j>=1} (R[j-1][j] - b[j])                 */
  double learning_accuracy;   /* mean_j R[j][j] (the learning loss for LF_MATRIX_LOSS) */
} LfMetrics;

/* Computes every metric of the T x T row-major matrix R (R[i*T + j]: after
 * training through experience i, tested on experience j; 0-based) with
 * baseline b (T scores of the untrained model, or NULL: FWT is then NaN).
 * T >= 1.  A NaN cell makes every metric that reads it NaN.  For a loss
 * matrix forgetting is the rise in loss, mean_{j<T-1} (R[T-1][j] -
 * min_{j<=i<T-1} R[i][j]), and BWT keeps its formula, so a positive BWT
 * means the loss went up (worse).  Writes all of *out. */
void lf_metrics_compute (LfMatrixKind kind, int64_t T, const double *R,
                         const double *baseline, LfMetrics *out);

/* The same for a matrix of n_rows x T (1 <= n_rows <= T) when training did
 * not stop after every experience: joint training gives one row, measured
 * once at the end.  With n_rows == T this is lf_metrics_compute; with fewer
 * rows only the average (of the last row) is defined and every other field
 * is NaN. */
void lf_metrics_compute_rows (LfMatrixKind kind, int64_t T, int64_t n_rows, const double *R,
                              const double *baseline, LfMetrics *out);

/* A new JSON object (free with g_free), one line:
 *   {"average_accuracy":A,"average_forgetting":F,"bwt":B,"fwt":W,"learning_accuracy":L}
 * or, for a loss matrix, with "average_loss" and "learning_loss" in place of
 * the first and last keys.  NaN and infinities are written as null. */
char *lf_metrics_to_json (const LfMetrics *m);

/* ---- online (single pass over a stream) ---------------------------------
 * acc[k] is the accuracy measured after at_samples[k] training samples have
 * been seen, k = 0 .. n-1, at_samples strictly increasing and >= 0. */

/* A_AUC (Koh et al., ICLR 2022): the area under the accuracy-over-samples
 * curve divided by the stream length seen,
 *   sum_k acc[k] * (at_samples[k] - at_samples[k-1]) / at_samples[n-1],
 * with at_samples[-1] = 0: each measurement stands for the interval of
 * samples that led up to it (a right-endpoint step sum; no interpolation).
 * With evenly spaced evaluations (at_samples[k] = (k+1) * d) it is the mean
 * accuracy; at_samples == NULL means exactly that.  NaN when n == 0 or
 * nothing was trained (at_samples[n-1] == 0). */
double lf_metrics_auc (const double *acc, const double *at_samples, int64_t n);
/* A_last: the accuracy at the end of the stream, acc[n-1] (NaN when n == 0). */
double lf_metrics_a_last (const double *acc, int64_t n);

/* ---- knowledge editing (EasyEdit's token-level scores) -------------------
 * Since ABI 1.2.  pred and ref hold, for n samples, one token per answer
 * position (teacher forcing: pred[k] is the arg-max at the position that
 * predicts ref[k]); sample i spans [offs[i], offs[i+1]).  A sample scores
 * the fraction of its positions where pred == ref (exact: 1 when all are,
 * else 0); the samples of one edit (group[i], or each sample its own edit
 * when group is NULL) are averaged, then the edits:
 *   reliability    = score (edited model on the edit prompts, ref = the new objects)
 *   generalization = score (on the held-out paraphrases, ref = the new objects)
 *   locality       = score (on unrelated prompts, ref = the unedited model's arg-max)
 * A sample without positions is left out; NaN when nothing is left. */
double lf_metrics_editing (const int32_t *pred, const int32_t *ref, const int64_t *offs,
                           const int64_t *group, int64_t n, gboolean exact);

/* ---- novelty detection ------------------------------------------------
 * Since ABI 1.3.  The area under the ROC curve of scores as a detector of
 * the samples with positive[i] != 0 (higher score = more likely positive):
 * the probability that a random positive scores above a random negative,
 * ties counting one half (the Mann-Whitney U statistic over P * N, exact,
 * with average ranks for tied scores).  NaN when there are no positives
 * or no negatives, or a score is NaN. */
double lf_metrics_auroc (const double *scores, const uint8_t *positive, int64_t n);

G_END_DECLS
