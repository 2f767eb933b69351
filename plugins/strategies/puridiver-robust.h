/* lifelong plugins — PuriDivER's robust learning on its memory (Bang et
 * al., CVPR 2022; docs/open-environments.md, "puridiver"): a two-component
 * Gaussian mixture over per-sample losses splits the memory into a clean
 * (small-loss) and a noisy part, and a second mixture over the noisy
 * part's uncertainty (1 - the largest softmax probability), or a fixed
 * confidence threshold, picks the noisy samples whose label is replaced by
 * the model's prediction; the others lose their label.  Plain arrays, no
 * model: puridiver.c uses them, tests/test-puridiver-robust.c checks them
 * on hand-made values. */
#pragma once

#include <glib.h>
#include <stdint.h>

/* A fitted 1-D two-component mixture; component 0 has the smaller mean. */
typedef struct {
  double mean[2], var[2], weight[2];
  int    iterations;       /* EM iterations run */
} PuridiverGmm;

/* The variance floor added to each component's variance in every M step
 * (scikit-learn's reg_covar, as PuriDivER's code sets it), on values
 * scaled to [0, 1]. */
#define PURIDIVER_GMM_REG 5e-4

/* Fits a two-component Gaussian mixture to x[0..n) by EM, deterministically:
 * the values are first scaled to [0, 1] by their minimum and maximum (as
 * PuriDivER's code does), the components start at 0 and 1 with equal
 * weights and the variance of the scaled values, and EM runs until the mean
 * log-likelihood moves less than 1e-10 (at most 500 iterations).  Writes
 * p_low[i], the posterior probability that x[i] belongs to the component
 * with the smaller mean, and the fit (in scaled units) to *fit when not
 * NULL.  Values that do not vary (or n < 2): every p_low 1.  Returns FALSE
 * then (no split), TRUE otherwise. */
gboolean puridiver_gmm_fit (const double *x, int64_t n, double *p_low, PuridiverGmm *fit);

/* Whether a fitted two-component mixture has two modes at all
 * (docs/open-environments.md, "split_test"): at low noise the memory's
 * losses are one skewed mode, and a mixture fitted to them still cuts its
 * high-loss tail off as "noisy". */
enum {
  PURIDIVER_SPLIT_NONE = 0,   /* always split (PuriDivER's code) */
  PURIDIVER_SPLIT_BIC = 1,    /* two modes when the 2-component BIC is lower than the 1-component one */
  PURIDIVER_SPLIT_ASHMAN = 2, /* two modes when Ashman's D of the fit exceeds 2 */
};

/* Ashman's D of a fit: sqrt(2) |mean[1] - mean[0]| / sqrt(var[0] + var[1])
 * (the variances as fitted, PURIDIVER_GMM_REG included); D > 2 is the
 * standard criterion for a clean separation of two Gaussians. */
double puridiver_ashman_d (const PuridiverGmm *g);

/* BIC(1 component) - BIC(2 components) of x[0..n) scaled to [0, 1] by its
 * minimum and maximum as puridiver_gmm_fit scales it, with BIC = k ln n -
 * 2 log L, k = 2 parameters for one Gaussian (its mean and variance, the
 * variance with PURIDIVER_GMM_REG added like the mixture's) and 5 for the
 * mixture *g (as puridiver_gmm_fit returns it).  Positive: the mixture is
 * preferred.  0 when the values do not vary or n < 2. */
double puridiver_bic_gain (const double *x, int64_t n, const PuridiverGmm *g);

/* Whether the fit *g of x[0..n) has two modes under test
 * (PURIDIVER_SPLIT_*; NONE: always TRUE).  Writes the statistic (D, or the
 * BIC gain; 0 for NONE) to *stat when not NULL. */
gboolean puridiver_bimodal (const double *x, int64_t n, const PuridiverGmm *g, int test, double *stat);

/* What becomes of a memory sample's label in the robust step. */
enum {
  PURIDIVER_CLEAN = 0,     /* trained with its own label */
  PURIDIVER_RELABELED = 1, /* trained with the model's prediction */
  PURIDIVER_UNLABELED = 2, /* its label is not trusted: no label loss */
};

/* The robust split of n memory samples: loss[i], the cross-entropy of the
 * stored label labels[i] under the model; prob[i * C + c], the model's
 * softmax.  A sample is clean when its posterior of the small-loss
 * component is at least 0.5 (the arg-max of the mixture).  A noisy sample
 * is relabelled to the model's arg-max class when it is confident: its
 * largest probability at least threshold when threshold > 0, else (the
 * paper) when it falls in the low-uncertainty component of a second
 * mixture fitted to the noisy samples' 1 - max probability (three noisy
 * samples or fewer: none is relabelled).  A relabelled sample whose
 * prediction is its own label counts as clean.  Writes target[i] (the
 * label to train on, -1 when unlabelled), kind[i] (PURIDIVER_*), and
 * p_clean[i] when not NULL; returns the number of noisy samples. */
int64_t puridiver_robust_split (const double *loss, const double *prob, const int32_t *labels, int64_t n,
                                int64_t C, double threshold, int32_t *target, uint8_t *kind, double *p_clean);

/* puridiver_robust_split with a bimodality test first (PURIDIVER_SPLIT_*):
 * when the loss mixture fails it, every sample is clean (its own label,
 * p_clean 1) and 0 is returned; *unimodal (when not NULL) is set TRUE
 * then, FALSE otherwise.  PURIDIVER_SPLIT_NONE is puridiver_robust_split
 * exactly. */
int64_t puridiver_robust_split_tested (const double *loss, const double *prob, const int32_t *labels, int64_t n,
                                       int64_t C, double threshold, int split_test, int32_t *target, uint8_t *kind,
                                       double *p_clean, gboolean *unimodal);
