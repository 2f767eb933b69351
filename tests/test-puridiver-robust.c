/* lifelong tests — PuriDivER's robust split (plugins/strategies/
 * puridiver-robust.c): the two-component EM on hand-made bimodal lists
 * (its exact fixed point, the assignment), and the clean / relabelled /
 * unlabelled rule on a hand-made memory. */
#include "../plugins/strategies/puridiver-robust.h"
#include <math.h>

/* Two well-separated groups of three: after scaling to [0, 1] by min and
 * max, each component is its group's mean, variance and weight exactly
 * (the other group's responsibility is below 1e-70). */
static void
test_gmm_bimodal (void)
{
  const double x[6] = { 2.3, 0.1, 2.1, 0.2, 2.2, 0.3 };
  double p[6];
  PuridiverGmm g;
  g_assert_true (puridiver_gmm_fit (x, 6, p, &g));
  const double lo = 0.1 / 2.2, hi = 2.1 / 2.2;        /* group means, scaled */
  const double v = (2.0 / 3.0) * (0.1 / 2.2) * (0.1 / 2.2) + PURIDIVER_GMM_REG;
  g_assert_cmpfloat_with_epsilon (g.mean[0], lo, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.mean[1], hi, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.var[0], v, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.var[1], v, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.weight[0], 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.weight[1], 0.5, 1e-12);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat_with_epsilon (p[i], x[i] < 1 ? 1.0 : 0.0, 1e-12);
  /* an unequal split, already in [0, 1]: 7 small values (mean 0.05) and 3 large (mean 0.95) */
  const double y[10] = { 0, 0.95, 0.05, 0.1, 1.0, 0.05, 0, 0.1, 0.9, 0.05 };
  double q[10];
  g_assert_true (puridiver_gmm_fit (y, 10, q, &g));
  g_assert_cmpfloat_with_epsilon (g.mean[0], 0.05, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.mean[1], 0.95, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.weight[0], 0.7, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.weight[1], 0.3, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.var[0], 0.01 / 7 + PURIDIVER_GMM_REG, 1e-12);   /* 4 x 0.05^2 / 7 */
  g_assert_cmpfloat_with_epsilon (g.var[1], 0.005 / 3 + PURIDIVER_GMM_REG, 1e-12);  /* 2 x 0.05^2 / 3 */
  for (int i = 0; i < 10; i++)
    g_assert_cmpint (q[i] >= 0.5, ==, y[i] < 0.5);
}

/* Overlapping groups: the fit is EM's fixed point (one more EM step from
 * the posteriors it returns gives back its parameters), deterministic, and
 * the posterior of the low component falls as the value grows. */
static void
test_gmm_fixed_point (void)
{
  const double x[12] = { 0.0, 0.12, 0.2, 0.25, 0.3, 0.33, 0.45, 0.5, 0.62, 0.7, 0.8, 1.0 };
  double p[12], p2[12];
  PuridiverGmm g, g2;
  g_assert_true (puridiver_gmm_fit (x, 12, p, &g));
  g_assert_true (puridiver_gmm_fit (x, 12, p2, &g2));
  g_assert_cmpmem (g.mean, sizeof g.mean, g2.mean, sizeof g2.mean);
  g_assert_cmpmem (g.var, sizeof g.var, g2.var, sizeof g2.var);
  g_assert_cmpmem (g.weight, sizeof g.weight, g2.weight, sizeof g2.weight);
  g_assert_cmpint (g.iterations, ==, g2.iterations);
  g_assert_cmpmem (p, sizeof p, p2, sizeof p2);
  g_assert_cmpint (g.iterations, >, 1);
  g_assert_cmpint (g.iterations, <, 500);
  double r0 = 0, s0 = 0, s1 = 0;
  for (int i = 0; i < 12; i++)
    {
      r0 += p[i];
      s0 += p[i] * x[i];
      s1 += (1 - p[i]) * x[i];
    }
  double m0 = s0 / r0, m1 = s1 / (12 - r0), v0 = 0, v1 = 0;
  for (int i = 0; i < 12; i++)
    {
      v0 += p[i] * (x[i] - m0) * (x[i] - m0);
      v1 += (1 - p[i]) * (x[i] - m1) * (x[i] - m1);
    }
  g_assert_cmpfloat_with_epsilon (m0, g.mean[0], 1e-5);
  g_assert_cmpfloat_with_epsilon (m1, g.mean[1], 1e-5);
  g_assert_cmpfloat_with_epsilon (v0 / r0 + PURIDIVER_GMM_REG, g.var[0], 1e-5);
  g_assert_cmpfloat_with_epsilon (v1 / (12 - r0) + PURIDIVER_GMM_REG, g.var[1], 1e-5);
  g_assert_cmpfloat_with_epsilon (r0 / 12, g.weight[0], 1e-5);
  g_assert_cmpfloat (g.mean[0], <, g.mean[1]);
  for (int i = 1; i < 12; i++)
    g_assert_cmpfloat (p[i], <=, p[i - 1] + 1e-12);
  /* nothing to split: every value clean */
  const double same[3] = { 0.4, 0.4, 0.4 };
  double ps[3];
  g_assert_false (puridiver_gmm_fit (same, 3, ps, NULL));
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat (ps[i], ==, 1.0);
}

/* A memory of 10 samples over 3 classes: 6 small losses (clean), 4 large
 * (noisy).  Of the noisy ones the model is sure of two (max probability
 * 0.97 and 0.95, another class than the label) and unsure of two (0.40,
 * 0.45): the paper's rule relabels the sure ones to the model's class and
 * takes the label off the unsure ones; a threshold of 0.96 relabels only
 * the surest. */
static void
test_relabel_rule (void)
{
  const double loss[10] = { 0.10, 0.12, 0.08, 0.15, 0.11, 0.09, 3.0, 3.2, 2.9, 3.1 };
  const int32_t labels[10] = { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0 };
  double prob[30] = { 0 };
  for (int i = 0; i < 6; i++)
    for (int c = 0; c < 3; c++)
      prob[i * 3 + c] = c == labels[i] ? 0.9 : 0.05;
  const double noisy[4][3] = {
    { 0.01, 0.97, 0.02 },   /* labelled 0, surely 1 */
    { 0.95, 0.03, 0.02 },   /* labelled 1, surely 0 */
    { 0.30, 0.40, 0.30 },   /* labelled 2, unsure   */
    { 0.35, 0.45, 0.20 },   /* labelled 0, unsure   */
  };
  memcpy (prob + 18, noisy, sizeof noisy);
  int32_t target[10];
  uint8_t kind[10];
  double pc[10];
  g_assert_cmpint (puridiver_robust_split (loss, prob, labels, 10, 3, 0, target, kind, pc), ==, 4);
  for (int i = 0; i < 6; i++)
    {
      g_assert_cmpint (kind[i], ==, PURIDIVER_CLEAN);
      g_assert_cmpint (target[i], ==, labels[i]);
      g_assert_cmpfloat (pc[i], >=, 0.5);
    }
  for (int i = 6; i < 10; i++)
    g_assert_cmpfloat (pc[i], <, 0.5);
  g_assert_cmpint (kind[6], ==, PURIDIVER_RELABELED);
  g_assert_cmpint (target[6], ==, 1);
  g_assert_cmpint (kind[7], ==, PURIDIVER_RELABELED);
  g_assert_cmpint (target[7], ==, 0);
  g_assert_cmpint (kind[8], ==, PURIDIVER_UNLABELED);
  g_assert_cmpint (target[8], ==, -1);
  g_assert_cmpint (kind[9], ==, PURIDIVER_UNLABELED);
  g_assert_cmpint (target[9], ==, -1);
  /* a fixed threshold instead of the second mixture */
  puridiver_robust_split (loss, prob, labels, 10, 3, 0.96, target, kind, NULL);
  g_assert_cmpint (target[6], ==, 1);
  g_assert_cmpint (kind[7], ==, PURIDIVER_UNLABELED);
  g_assert_cmpint (target[7], ==, -1);
  g_assert_cmpint (target[8], ==, -1);
  /* three noisy samples or fewer: too few for a second mixture, none relabelled */
  const double loss3[9] = { 0.10, 0.12, 0.08, 0.15, 0.11, 0.09, 3.5, 3.0, 3.2 };
  g_assert_cmpint (puridiver_robust_split (loss3, prob, labels, 9, 3, 0, target, kind, NULL), ==, 3);
  for (int i = 6; i < 9; i++)
    g_assert_cmpint (kind[i], ==, PURIDIVER_UNLABELED);
}

/* The bimodality criteria on the well-separated list of test_gmm_bimodal,
 * whose fit is known exactly: Ashman's D and the BIC gain by hand. */
static void
test_bimodal_separated (void)
{
  const double x[6] = { 2.3, 0.1, 2.1, 0.2, 2.2, 0.3 };
  double p[6], stat;
  PuridiverGmm g;
  g_assert_true (puridiver_gmm_fit (x, 6, p, &g));
  /* each component: variance v = (2/3) (1/22)^2 + reg, means 1/22 apart from 21/22 */
  const double v = (2.0 / 3.0) / (22.0 * 22.0) + PURIDIVER_GMM_REG;
  const double d = G_SQRT2 * (20.0 / 22.0) / sqrt (2 * v);
  g_assert_cmpfloat_with_epsilon (puridiver_ashman_d (&g), d, 1e-9);
  g_assert_cmpfloat (d, >, 20);
  g_assert_true (puridiver_bimodal (x, 6, &g, PURIDIVER_SPLIT_ASHMAN, &stat));
  g_assert_cmpfloat_with_epsilon (stat, d, 1e-9);
  /* scaled values 0, 1/22, 2/22 and 20/22, 21/22, 1: one Gaussian has mean
   * 1/2 and q = sum of squared deviations = 2 (0.5^2 + (10/22)^2 + (9/22)^2);
   * the mixture, weight 1/2 each, the other component's density negligible
   * (exp(-197) relative), has within-group squares 6 (v - reg) */
  const double q = 2 * (0.25 + 100.0 / 484 + 81.0 / 484), v1 = q / 6 + PURIDIVER_GMM_REG;
  const double ll1 = -3 * log (2 * G_PI * v1) - 0.5 * q / v1;
  const double ll2 = 6 * log (0.5) - 3 * log (2 * G_PI * v) - 3 * (v - PURIDIVER_GMM_REG) / v;
  const double gain = (2 * log (6.0) - 2 * ll1) - (5 * log (6.0) - 2 * ll2);
  g_assert_cmpfloat_with_epsilon (puridiver_bic_gain (x, 6, &g), gain, 1e-9);
  g_assert_cmpfloat (gain, >, 10);
  g_assert_true (puridiver_bimodal (x, 6, &g, PURIDIVER_SPLIT_BIC, &stat));
  g_assert_cmpfloat_with_epsilon (stat, gain, 1e-9);
  g_assert_true (puridiver_bimodal (x, 6, &g, PURIDIVER_SPLIT_NONE, &stat));
  g_assert_cmpfloat (stat, ==, 0);
  /* the split goes ahead under either test: the three large losses are noisy */
  const int32_t labels[6] = { 0, 0, 0, 0, 0, 0 };
  double prob[12];
  for (int i = 0; i < 6; i++)
    prob[2 * i] = 0.4, prob[2 * i + 1] = 0.6;
  int32_t target[6];
  uint8_t kind[6];
  gboolean one = TRUE;
  for (int test = PURIDIVER_SPLIT_BIC; test <= PURIDIVER_SPLIT_ASHMAN; test++)
    {
      g_assert_cmpint (puridiver_robust_split_tested (x, prob, labels, 6, 2, 0.5, test, target, kind, NULL, &one),
                       ==, 3);
      g_assert_false (one);
      for (int i = 0; i < 6; i++)
        g_assert_cmpint (kind[i], ==, x[i] > 1 ? PURIDIVER_RELABELED : PURIDIVER_CLEAN);
    }
}

/* One mode.  Symmetric (21 normal quantiles): both tests say one.  Skewed
 * like a memory's losses at low noise (30 exponential quantiles): the
 * mixture still cuts a high-loss tail off, BIC prefers it (a skewed
 * Gaussian is not one Gaussian), Ashman's D stays below 2.  Then the
 * tested split keeps every label; "none" is the untested split exactly. */
static void
test_bimodal_one_mode (void)
{
  const double z[21] = { -1.9808, -1.4652, -1.1798, -0.9674, -0.7916, -0.6375, -0.4972, -0.3661, -0.2410, -0.1196, 0,
                         0.1196,  0.2410,  0.3661,  0.4972,  0.6375,  0.7916,  0.9674,  1.1798,  1.4652,  1.9808 };
  double p[30], stat;
  PuridiverGmm g;
  g_assert_true (puridiver_gmm_fit (z, 21, p, &g));
  g_assert_false (puridiver_bimodal (z, 21, &g, PURIDIVER_SPLIT_ASHMAN, &stat));
  g_assert_cmpfloat_with_epsilon (stat, G_SQRT2 * (g.mean[1] - g.mean[0]) / sqrt (g.var[0] + g.var[1]), 1e-12);
  g_assert_cmpfloat (stat, <, 2);
  g_assert_false (puridiver_bimodal (z, 21, &g, PURIDIVER_SPLIT_BIC, &stat));
  g_assert_cmpfloat (stat, <, 0);

  double x[30];
  for (int i = 0; i < 30; i++)
    x[i] = -log (1 - (i + 0.5) / 30);
  g_assert_true (puridiver_gmm_fit (x, 30, p, &g));
  g_assert_true (puridiver_bimodal (x, 30, &g, PURIDIVER_SPLIT_BIC, &stat));
  g_assert_cmpfloat (stat, >, 0);
  g_assert_false (puridiver_bimodal (x, 30, &g, PURIDIVER_SPLIT_ASHMAN, &stat));
  g_assert_cmpfloat (stat, >, 1.5);
  g_assert_cmpfloat (stat, <, 2);

  int32_t labels[30], target[30], target0[30];
  uint8_t kind[30], kind0[30];
  double prob[60], pc[30], pc0[30];
  for (int i = 0; i < 30; i++)
    {
      labels[i] = 0;
      prob[2 * i] = 0.3, prob[2 * i + 1] = 0.7;
    }
  gboolean one = FALSE;
  int64_t k0 = puridiver_robust_split (x, prob, labels, 30, 2, 0.5, target0, kind0, pc0);
  g_assert_cmpint (k0, >=, 5);   /* the tail the untested mixture cuts off */
  g_assert_cmpint (puridiver_robust_split_tested (x, prob, labels, 30, 2, 0.5, PURIDIVER_SPLIT_NONE, target, kind, pc,
                                                  &one), ==, k0);
  g_assert_false (one);
  g_assert_cmpmem (target, sizeof target, target0, sizeof target0);
  g_assert_cmpmem (kind, sizeof kind, kind0, sizeof kind0);
  g_assert_cmpmem (pc, sizeof pc, pc0, sizeof pc0);
  g_assert_cmpint (puridiver_robust_split_tested (x, prob, labels, 30, 2, 0.5, PURIDIVER_SPLIT_BIC, target, kind, pc,
                                                  &one), ==, k0);
  g_assert_false (one);
  g_assert_cmpint (puridiver_robust_split_tested (x, prob, labels, 30, 2, 0.5, PURIDIVER_SPLIT_ASHMAN, target, kind,
                                                  pc, &one), ==, 0);
  g_assert_true (one);
  for (int i = 0; i < 30; i++)
    {
      g_assert_cmpint (kind[i], ==, PURIDIVER_CLEAN);
      g_assert_cmpint (target[i], ==, 0);
      g_assert_cmpfloat (pc[i], ==, 1);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/puridiver/gmm/bimodal", test_gmm_bimodal);
  g_test_add_func ("/puridiver/gmm/fixed-point", test_gmm_fixed_point);
  g_test_add_func ("/puridiver/relabel", test_relabel_rule);
  g_test_add_func ("/puridiver/bimodal/separated", test_bimodal_separated);
  g_test_add_func ("/puridiver/bimodal/one-mode", test_bimodal_one_mode);
  return g_test_run ();
}
