/* lifelong — the metrics of DESIGN.md, computed exactly as docs/metrics.md
 * writes them (0-based), and their JSON form.  Undefined is NaN in C and
 * null in JSON, never 0: a zero would rank as a real score. */
#include <lifelong/metrics.h>
#include "json-write.h"
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

gboolean
lf_matrix_kind_higher_is_better (LfMatrixKind kind)
{
  return kind != LF_MATRIX_LOSS;
}

static const char *const kind_names[] = {
  [LF_MATRIX_ACCURACY] = "accuracy",
  [LF_MATRIX_LOSS] = "loss",
  [LF_MATRIX_EXACT_MATCH] = "exact_match",
};

const char *
lf_matrix_kind_name (LfMatrixKind kind)
{
  g_return_val_if_fail ((unsigned) kind < G_N_ELEMENTS (kind_names), NULL);
  return kind_names[kind];
}

gboolean
lf_matrix_kind_from_name (const char *name, LfMatrixKind *out)
{
  g_return_val_if_fail (out != NULL, FALSE);
  for (unsigned k = 0; name != NULL && k < G_N_ELEMENTS (kind_names); k++)
    if (strcmp (name, kind_names[k]) == 0)
      {
        *out = (LfMatrixKind) k;
        return TRUE;
      }
  return FALSE;
}

/* The better of two scores in the matrix's direction; NaN wins, so a cell
 * that was never measured makes the result undefined rather than being
 * skipped (fmax would skip it). */
static double
better (LfMatrixKind kind, double a, double b)
{
  if (isnan (a) || isnan (b))
    return NAN;
  if (lf_matrix_kind_higher_is_better (kind))
    return a > b ? a : b;
  return a < b ? a : b;
}

/* Sums in index order, so the result is the same on every machine. */
static double
mean_row (int64_t T, int64_t row, const double *R)
{
  double s = 0.0;
  for (int64_t j = 0; j < T; j++)
    s += R[row * T + j];
  return s / (double) T;
}

static void
metrics_undefined (LfMatrixKind kind, LfMetrics *out)
{
  *out = (LfMetrics) { .kind = kind, .average = NAN, .average_forgetting = NAN,
                       .bwt = NAN, .fwt = NAN, .learning_accuracy = NAN };
}

void
lf_metrics_compute (LfMatrixKind kind, int64_t T, const double *R,
                    const double *baseline, LfMetrics *out)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail ((unsigned) kind < G_N_ELEMENTS (kind_names));
  metrics_undefined (kind, out);
  g_return_if_fail (T >= 1 && R != NULL);
  const int64_t last = T - 1;

  /* A = mean_j R[T-1][j] */
  out->average = mean_row (T, last, R);

  /* learning accuracy = mean_j R[j][j] */
  double la = 0.0;
  for (int64_t j = 0; j < T; j++)
    la += R[j * T + j];
  out->learning_accuracy = la / (double) T;

  if (T == 1)
    return;   /* nothing can have been forgotten or transferred yet */

  /* F = mean_{j<T-1} (best_{j<=i<T-1} R[i][j] - R[T-1][j]), best = max for
   * scores; for a loss, the rise: R[T-1][j] - min_{j<=i<T-1} R[i][j].
   * BWT = mean_{j<T-1} (R[T-1][j] - R[j][j]), in both directions. */
  const gboolean higher = lf_matrix_kind_higher_is_better (kind);
  double f = 0.0, bwt = 0.0;
  for (int64_t j = 0; j < last; j++)
    {
      double best = R[j * T + j];
      for (int64_t i = j + 1; i < last; i++)
        best = better (kind, best, R[i * T + j]);
      const double final = R[last * T + j];
      f += higher ? best - final : final - best;
      bwt += final - R[j * T + j];
    }
  out->average_forgetting = f / (double) last;
  out->bwt = bwt / (double) last;

  /* FWT = mean_{j>=1} (R[j-1][j] - b[j]): the score on experience j just
   * before training on it, against the untrained model's. */
  if (baseline != NULL)
    {
      double fwt = 0.0;
      for (int64_t j = 1; j < T; j++)
        fwt += R[(j - 1) * T + j] - baseline[j];
      out->fwt = fwt / (double) last;
    }
}

void
lf_metrics_compute_rows (LfMatrixKind kind, int64_t T, int64_t n_rows, const double *R,
                         const double *baseline, LfMetrics *out)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail ((unsigned) kind < G_N_ELEMENTS (kind_names));
  metrics_undefined (kind, out);
  g_return_if_fail (T >= 1 && n_rows >= 1 && n_rows <= T && R != NULL);
  if (n_rows == T)
    {
      lf_metrics_compute (kind, T, R, baseline, out);
      return;
    }
  /* Without a row per experience there is no diagonal and no earlier
   * score: only the final average means anything. */
  out->average = mean_row (T, n_rows - 1, R);
}

static void
add_number (JsonBuilder *b, const char *key, double v)
{
  json_builder_set_member_name (b, key);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

char *
lf_metrics_to_json (const LfMetrics *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  const gboolean loss = m->kind == LF_MATRIX_LOSS;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_number (b, loss ? "average_loss" : "average_accuracy", m->average);
  add_number (b, "average_forgetting", m->average_forgetting);
  add_number (b, "bwt", m->bwt);
  add_number (b, "fwt", m->fwt);
  add_number (b, loss ? "learning_loss" : "learning_accuracy", m->learning_accuracy);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return lf_json_to_string (root, FALSE);
}

double
lf_metrics_auc (const double *acc, const double *at_samples, int64_t n)
{
  g_return_val_if_fail (n >= 0 && (n == 0 || acc != NULL), NAN);
  if (n == 0)
    return NAN;
  if (at_samples == NULL)
    {
      double s = 0.0;
      for (int64_t k = 0; k < n; k++)
        s += acc[k];
      return s / (double) n;
    }
  /* sum_k acc[k] * (s[k] - s[k-1]) / s[n-1], s[-1] = 0 */
  double area = 0.0, prev = 0.0;
  for (int64_t k = 0; k < n; k++)
    {
      g_return_val_if_fail (at_samples[k] >= prev && (k == 0 || at_samples[k] > prev), NAN);
      area += acc[k] * (at_samples[k] - prev);
      prev = at_samples[k];
    }
  return prev > 0.0 ? area / prev : NAN;
}

double
lf_metrics_a_last (const double *acc, int64_t n)
{
  g_return_val_if_fail (n >= 0 && (n == 0 || acc != NULL), NAN);
  return n == 0 ? NAN : acc[n - 1];
}

double
lf_metrics_editing (const int32_t *pred, const int32_t *ref, const int64_t *offs, const int64_t *group, int64_t n,
                    gboolean exact)
{
  /* per edit: the sum of its samples' scores and their count, summed over
   * edits in the order they first appear (the same numbers every time) */
  g_autoptr (GHashTable) slot = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr (GArray) sums = g_array_new (FALSE, TRUE, sizeof (double) * 2);
  for (int64_t i = 0; i < n; i++)
    {
      int64_t len = offs[i + 1] - offs[i], hit = 0;
      if (len <= 0)
        continue;
      for (int64_t k = offs[i]; k < offs[i + 1]; k++)
        hit += pred[k] == ref[k];
      int64_t g = group ? group[i] : i;
      gpointer at;
      if (!g_hash_table_lookup_extended (slot, &g, NULL, &at))
        {
          at = GUINT_TO_POINTER (sums->len);
          g_hash_table_insert (slot, g_memdup2 (&g, sizeof g), at);
          g_array_set_size (sums, sums->len + 1);
        }
      double *acc = (double *) (void *) (sums->data + GPOINTER_TO_UINT (at) * sizeof (double) * 2);
      acc[0] += exact ? (double) (hit == len) : (double) hit / (double) len;
      acc[1] += 1;
    }
  double total = 0;
  for (guint e = 0; e < sums->len; e++)
    {
      const double *acc = (const double *) (void *) (sums->data + e * sizeof (double) * 2);
      total += acc[0] / acc[1];
    }
  return sums->len > 0 ? total / (double) sums->len : NAN;
}

/* (score, positive) pairs sorted by score for the rank statistic */
typedef struct {
  double  s;
  uint8_t pos;
} ScoredSample;

static int
cmp_scored (const void *a, const void *b)
{
  double x = ((const ScoredSample *) a)->s, y = ((const ScoredSample *) b)->s;
  return (x > y) - (x < y);
}

double
lf_metrics_auroc (const double *scores, const uint8_t *positive, int64_t n)
{
  g_return_val_if_fail (n >= 0 && (n == 0 || (scores != NULL && positive != NULL)), NAN);
  g_autofree ScoredSample *v = g_new (ScoredSample, MAX (n, 1));
  int64_t P = 0;
  for (int64_t i = 0; i < n; i++)
    {
      if (isnan (scores[i]))
        return NAN;
      v[i] = (ScoredSample) { scores[i], positive[i] != 0 };
      P += v[i].pos;
    }
  int64_t N = n - P;
  if (P == 0 || N == 0)
    return NAN;
  qsort (v, (size_t) n, sizeof *v, cmp_scored);
  /* the sum of the positives' ranks (1-based), a tied group sharing its
   * average rank: U = sum - P (P + 1) / 2 counts every (positive,
   * negative) pair the positive wins, ties as one half */
  double rank_sum = 0;
  for (int64_t i = 0; i < n;)
    {
      int64_t j = i, pos = 0;
      while (j < n && v[j].s == v[i].s)
        pos += v[j++].pos;
      rank_sum += (double) pos * ((double) (i + 1) + (double) j) / 2.0;
      i = j;
    }
  double U = rank_sum - (double) P * (double) (P + 1) / 2.0;
  return U / ((double) P * (double) N);
}
