/* lifelong — the statistics of `lifelong report`: mean, sample standard
 * deviation and Student-t confidence intervals over seeds, ranks with ties,
 * and the Nemenyi test's q table (Demšar 2006).  docs/report.md. */
#include "report.h"
#include <math.h>
#include <string.h>

/* t_{0.975, df} for df = 1..30 (the values R's qt (0.975, df) gives). */
static const double t975_table[30] = {
  12.7062047, 4.30265273, 3.18244631, 2.77644511, 2.57058184, 2.44691185, 2.36462425,
  2.30600414, 2.26215716, 2.22813885, 2.20098516, 2.17881283, 2.16036866, 2.14478669,
  2.13144955, 2.11990530, 2.10981558, 2.10092204, 2.09302405, 2.08596345, 2.07961384,
  2.07387307, 2.06865761, 2.06389856, 2.05953855, 2.05552944, 2.05183052, 2.04840714,
  2.04522964, 2.04227246 };

double
lf_rpt_t975 (int df)
{
  if (df < 1)
    return NAN;
  if (df <= 30)
    return t975_table[df - 1];
  /* Abramowitz & Stegun 26.7.5: the normal quantile corrected in powers of
   * 1/df; at df = 31 the four terms are within 1e-6 of the exact value,
   * and they tend to z = 1.95996 as df grows. */
  const double z = 1.959963984540054, v = df;
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z, z9 = z7 * z * z;
  const double g1 = (z3 + z) / 4;
  const double g2 = (5 * z5 + 16 * z3 + 3 * z) / 96;
  const double g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384;
  const double g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160;
  return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v);
}

/* q_0.05 for k = 2..20: the studentized range quantile at infinite degrees
 * of freedom over sqrt 2 (Demšar 2006, Table 5a, to 5 digits; k = 11..20
 * computed by the same integral). */
static const double nemenyi_q05_table[19] = {
  1.95996, 2.34370, 2.56903, 2.72777, 2.84971, 2.94832, 3.03088, 3.10173, 3.16368,
  3.21865, 3.26800, 3.31274, 3.35362, 3.39123, 3.42604, 3.45842, 3.48868, 3.51707, 3.54380 };

double
lf_rpt_nemenyi_q05 (int k)
{
  return k >= 2 && k <= 20 ? nemenyi_q05_table[k - 2] : NAN;
}

void
lf_rpt_summarise (const double *x, int n, LfRptStat *out)
{
  int m = 0;
  double sum = 0;
  for (int i = 0; i < n; i++)
    if (isfinite (x[i]))
      {
        sum += x[i];
        m++;
      }
  out->n = m;
  out->mean = m > 0 ? sum / m : NAN;
  out->sd = NAN;
  out->ci = NAN;
  out->rank = NAN;
  if (m < 2)
    return;
  /* two passes: the squared deviations from the mean, not sum x^2 - n mean^2 */
  double ss = 0;
  for (int i = 0; i < n; i++)
    if (isfinite (x[i]))
      ss += (x[i] - out->mean) * (x[i] - out->mean);
  out->sd = sqrt (ss / (m - 1));
  out->ci = lf_rpt_t975 (m - 1) * out->sd / sqrt ((double) m);
}

void
lf_rpt_rank (const double *values, int n, gboolean higher_better, double *ranks)
{
  /* O(n^2), n is the number of methods: a value's rank is 1 + the number of
   * values strictly better + half the number of others equal to it. */
  for (int i = 0; i < n; i++)
    {
      if (!isfinite (values[i]))
        {
          ranks[i] = NAN;
          continue;
        }
      int better = 0, equal = 0;
      for (int j = 0; j < n; j++)
        {
          if (j == i || !isfinite (values[j]))
            continue;
          if (values[j] == values[i])
            equal++;
          else if (higher_better ? values[j] > values[i] : values[j] < values[i])
            better++;
        }
      ranks[i] = 1 + better + equal / 2.0;
    }
}

gboolean
lf_rpt_metric_higher_is_better (const char *name, LfMatrixKind kind)
{
  if (strstr (name, "forgetting") != NULL || strstr (name, "loss") != NULL)
    return FALSE;
  /* the feedback scenario: mistakes made again, and corrections needed */
  if (strstr (name, "error_rate") != NULL || strcmp (name, "corrections") == 0)
    return FALSE;
  if (strcmp (name, "bwt") == 0 || strcmp (name, "fwt") == 0)
    return lf_matrix_kind_higher_is_better (kind);
  return TRUE;   /* accuracies, exact match, a_auc, a_last, editing scores */
}
