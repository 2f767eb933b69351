/* lifelong toolkit — novelty scores (toolkit/novelty.h): maximum softmax
 * probability, energy and feature distance, each "higher = more novel",
 * computed in double from a row-major array of logits or features. */
#include <lifelong/lifelong.h>
#include <math.h>

/* max and log-sum-exp of row[c] / T over the kept classes */
static double
row_logsumexp (const LfReal *row, int64_t C, const uint8_t *keep, double T, double *max_out)
{
  double m = -INFINITY;
  for (int64_t c = 0; c < C; c++)
    if (keep == NULL || keep[c])
      m = MAX (m, (double) row[c] / T);
  double s = 0;
  for (int64_t c = 0; c < C; c++)
    if (keep == NULL || keep[c])
      s += exp ((double) row[c] / T - m);
  *max_out = m;
  return m + log (s);
}

void
lf_novelty_msp (const LfReal *logits, int64_t n, int64_t C, const uint8_t *keep, double *scores)
{
  g_return_if_fail (n == 0 || (logits != NULL && scores != NULL && C > 0));
  for (int64_t i = 0; i < n; i++)
    {
      double m;
      double lse = row_logsumexp (logits + i * C, C, keep, 1.0, &m);
      /* the largest probability is exp (max - lse) */
      scores[i] = isfinite (m) ? 1.0 - exp (m - lse) : NAN;
    }
}

void
lf_novelty_energy (const LfReal *logits, int64_t n, int64_t C, const uint8_t *keep, double T, double *scores)
{
  g_return_if_fail (n == 0 || (logits != NULL && scores != NULL && C > 0));
  g_return_if_fail (T > 0);
  for (int64_t i = 0; i < n; i++)
    {
      double m;
      double lse = row_logsumexp (logits + i * C, C, keep, T, &m);
      scores[i] = isfinite (m) ? -T * lse : NAN;
    }
}

static void
normalise (const LfReal *src, int64_t d, double *dst)
{
  double s = 0;
  for (int64_t j = 0; j < d; j++)
    s += (double) src[j] * (double) src[j];
  double inv = s > 0 ? 1.0 / sqrt (s) : 0;
  for (int64_t j = 0; j < d; j++)
    dst[j] = (double) src[j] * inv;
}

void
lf_novelty_distance (const LfReal *features, int64_t n, int64_t d, const LfReal *centres, int64_t k, double *scores)
{
  g_return_if_fail (n == 0 || (features != NULL && scores != NULL && centres != NULL && k >= 1 && d >= 1));
  g_autofree double *cn = g_new (double, MAX (k * d, 1));
  g_autofree double *f = g_new (double, MAX (d, 1));
  for (int64_t c = 0; c < k; c++)
    normalise (centres + c * d, d, cn + c * d);
  for (int64_t i = 0; i < n; i++)
    {
      normalise (features + i * d, d, f);
      double best = INFINITY;
      for (int64_t c = 0; c < k; c++)
        {
          double s = 0;
          for (int64_t j = 0; j < d; j++)
            {
              double t = f[j] - cn[c * d + j];
              s += t * t;
            }
          best = MIN (best, s);
        }
      scores[i] = best;
    }
}
