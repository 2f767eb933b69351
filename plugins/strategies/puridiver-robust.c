/* lifelong plugins — PuriDivER's robust split of its memory: 1-D EM for a
 * two-component Gaussian mixture, and the clean / relabelled / unlabelled
 * decision (puridiver-robust.h). */
#include "puridiver-robust.h"
#include <float.h>
#include <math.h>

static double
puridiver_gauss (double x, double mean, double var)
{
  return exp (-0.5 * (x - mean) * (x - mean) / var) / sqrt (2 * G_PI * var);
}

gboolean
puridiver_gmm_fit (const double *x, int64_t n, double *p_low, PuridiverGmm *fit)
{
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; i++)
    {
      lo = MIN (lo, x[i]);
      hi = MAX (hi, x[i]);
    }
  PuridiverGmm g = { { 0, 1 }, { 1, 1 }, { 0.5, 0.5 }, 0 };
  if (n < 2 || !(hi - lo > 1e-12))
    {
      for (int64_t i = 0; i < n; i++)
        p_low[i] = 1;
      if (fit)
        *fit = g;
      return FALSE;
    }
  g_autofree double *u = g_new (double, n);
  double m = 0, v = 0;
  for (int64_t i = 0; i < n; i++)
    {
      u[i] = (x[i] - lo) / (hi - lo);
      m += u[i];
    }
  m /= (double) n;
  for (int64_t i = 0; i < n; i++)
    v += (u[i] - m) * (u[i] - m);
  v = v / (double) n + PURIDIVER_GMM_REG;
  g.var[0] = g.var[1] = v;
  double prev = -INFINITY;
  for (g.iterations = 1; g.iterations <= 500; g.iterations++)
    {
      /* E step: responsibilities of component 0 (in p_low), log-likelihood */
      double ll = 0;
      for (int64_t i = 0; i < n; i++)
        {
          double a = g.weight[0] * puridiver_gauss (u[i], g.mean[0], g.var[0]);
          double b = g.weight[1] * puridiver_gauss (u[i], g.mean[1], g.var[1]);
          double s = a + b;
          /* both densities underflow only far out in a tail: the nearer
           * mean takes the point */
          p_low[i] = s > 0 ? a / s : (fabs (u[i] - g.mean[0]) <= fabs (u[i] - g.mean[1]));
          ll += log (s > 0 ? s : DBL_MIN);
        }
      ll /= (double) n;
      /* M step */
      double r0 = 0, r1 = 0, s0 = 0, s1 = 0;
      for (int64_t i = 0; i < n; i++)
        {
          r0 += p_low[i];
          r1 += 1 - p_low[i];
          s0 += p_low[i] * u[i];
          s1 += (1 - p_low[i]) * u[i];
        }
      if (r0 < 1e-12 || r1 < 1e-12)
        break;   /* one component took every point: keep the last fit */
      g.mean[0] = s0 / r0;
      g.mean[1] = s1 / r1;
      double q0 = 0, q1 = 0;
      for (int64_t i = 0; i < n; i++)
        {
          q0 += p_low[i] * (u[i] - g.mean[0]) * (u[i] - g.mean[0]);
          q1 += (1 - p_low[i]) * (u[i] - g.mean[1]) * (u[i] - g.mean[1]);
        }
      g.var[0] = q0 / r0 + PURIDIVER_GMM_REG;
      g.var[1] = q1 / r1 + PURIDIVER_GMM_REG;
      g.weight[0] = r0 / (double) n;
      g.weight[1] = r1 / (double) n;
      if (fabs (ll - prev) < 1e-10)
        break;
      prev = ll;
    }
  /* the posteriors under the final parameters, component 0 the lower mean */
  gboolean swap = g.mean[1] < g.mean[0];
  if (swap)
    {
      PuridiverGmm h = g;
      for (int c = 0; c < 2; c++)
        {
          g.mean[c] = h.mean[1 - c];
          g.var[c] = h.var[1 - c];
          g.weight[c] = h.weight[1 - c];
        }
    }
  for (int64_t i = 0; i < n; i++)
    {
      double a = g.weight[0] * puridiver_gauss (u[i], g.mean[0], g.var[0]);
      double b = g.weight[1] * puridiver_gauss (u[i], g.mean[1], g.var[1]);
      double s = a + b;
      p_low[i] = s > 0 ? a / s : (fabs (u[i] - g.mean[0]) <= fabs (u[i] - g.mean[1]));
    }
  g.iterations = MIN (g.iterations, 500);
  if (fit)
    *fit = g;
  return TRUE;
}

double
puridiver_ashman_d (const PuridiverGmm *g)
{
  return G_SQRT2 * fabs (g->mean[1] - g->mean[0]) / sqrt (g->var[0] + g->var[1]);
}

double
puridiver_bic_gain (const double *x, int64_t n, const PuridiverGmm *g)
{
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; i++)
    {
      lo = MIN (lo, x[i]);
      hi = MAX (hi, x[i]);
    }
  if (n < 2 || !(hi - lo > 1e-12))
    return 0;
  double m = 0, q = 0;
  for (int64_t i = 0; i < n; i++)
    m += (x[i] - lo) / (hi - lo);
  m /= (double) n;
  for (int64_t i = 0; i < n; i++)
    {
      double d = (x[i] - lo) / (hi - lo) - m;
      q += d * d;
    }
  double v = q / (double) n + PURIDIVER_GMM_REG;
  double ll1 = -0.5 * (double) n * log (2 * G_PI * v) - 0.5 * q / v;
  double ll2 = 0;
  for (int64_t i = 0; i < n; i++)
    {
      double u = (x[i] - lo) / (hi - lo);
      double s = g->weight[0] * puridiver_gauss (u, g->mean[0], g->var[0])
                 + g->weight[1] * puridiver_gauss (u, g->mean[1], g->var[1]);
      ll2 += log (s > 0 ? s : DBL_MIN);
    }
  double ln = log ((double) n);
  return (2 * ln - 2 * ll1) - (5 * ln - 2 * ll2);
}

gboolean
puridiver_bimodal (const double *x, int64_t n, const PuridiverGmm *g, int test, double *stat)
{
  double v = 0;
  gboolean two = TRUE;
  if (test == PURIDIVER_SPLIT_BIC)
    {
      v = puridiver_bic_gain (x, n, g);
      two = v > 0;
    }
  else if (test == PURIDIVER_SPLIT_ASHMAN)
    {
      v = puridiver_ashman_d (g);
      two = v > 2;
    }
  if (stat)
    *stat = v;
  return two;
}

int64_t
puridiver_robust_split (const double *loss, const double *prob, const int32_t *labels, int64_t n,
                        int64_t C, double threshold, int32_t *target, uint8_t *kind, double *p_clean)
{
  return puridiver_robust_split_tested (loss, prob, labels, n, C, threshold, PURIDIVER_SPLIT_NONE, target, kind,
                                        p_clean, NULL);
}

int64_t
puridiver_robust_split_tested (const double *loss, const double *prob, const int32_t *labels, int64_t n,
                               int64_t C, double threshold, int split_test, int32_t *target, uint8_t *kind,
                               double *p_clean, gboolean *unimodal)
{
  g_autofree double *pc = g_new (double, MAX (n, 1));
  PuridiverGmm fit;
  gboolean varies = puridiver_gmm_fit (loss, n, pc, &fit);
  gboolean one = varies && split_test != PURIDIVER_SPLIT_NONE && !puridiver_bimodal (loss, n, &fit, split_test, NULL);
  if (unimodal)
    *unimodal = one;
  if (one)
    {
      for (int64_t i = 0; i < n; i++)
        {
          if (p_clean)
            p_clean[i] = 1;
          target[i] = labels[i];
          kind[i] = PURIDIVER_CLEAN;
        }
      return 0;
    }
  g_autofree int64_t *noisy = g_new (int64_t, MAX (n, 1));
  g_autofree double *unc = g_new (double, MAX (n, 1));
  g_autofree int32_t *pred = g_new (int32_t, MAX (n, 1));
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++)
    {
      if (p_clean)
        p_clean[i] = pc[i];
      target[i] = labels[i];
      kind[i] = PURIDIVER_CLEAN;
      if (pc[i] >= 0.5)
        continue;
      const double *p = prob + i * C;
      int32_t best = 0;
      for (int32_t c = 1; c < C; c++)
        if (p[c] > p[best])
          best = c;
      pred[k] = best;
      unc[k] = 1 - p[best];
      noisy[k++] = i;
    }
  /* the confident part of the noisy samples */
  g_autofree double *p_certain = g_new (double, MAX (k, 1));
  if (threshold > 0)
    for (int64_t a = 0; a < k; a++)
      p_certain[a] = 1 - unc[a] >= threshold;
  else if (k > 3)
    puridiver_gmm_fit (unc, k, p_certain, NULL);
  else
    for (int64_t a = 0; a < k; a++)
      p_certain[a] = 0;
  for (int64_t a = 0; a < k; a++)
    {
      int64_t i = noisy[a];
      if (p_certain[a] >= 0.5)
        {
          target[i] = pred[a];
          kind[i] = pred[a] == labels[i] ? PURIDIVER_CLEAN : PURIDIVER_RELABELED;
        }
      else
        {
          target[i] = -1;
          kind[i] = PURIDIVER_UNLABELED;
        }
    }
  return k;
}
