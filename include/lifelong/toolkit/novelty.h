/* lifelong toolkit — novelty scores for open-world detection: for each
 * sample, how likely it belongs to a class the model has not learned
 * (higher = more novel).  Since ABI 1.3.  The host scores with
 * lf_novelty_msp when a strategy has no novelty hook. */
#pragma once

#include <lifelong/tensor.h>

G_BEGIN_DECLS

/* Maximum softmax probability (Hendrycks & Gimpel, ICLR 2017):
 * scores[i] = 1 - max_c softmax(logits[i])_c over the classes with
 * keep[c] != 0 (keep NULL: all C).  logits: (n, C) row-major. */
void lf_novelty_msp (const LfReal *logits, int64_t n, int64_t C, const uint8_t *keep, double *scores);

/* Energy (Liu et al., NeurIPS 2020): scores[i] = -T log sum_c
 * exp (logits[i][c] / T) over the kept classes; T > 0. */
void lf_novelty_energy (const LfReal *logits, int64_t n, int64_t C, const uint8_t *keep, double T,
                        double *scores);

/* Feature distance: scores[i] = min_k || f_i / |f_i| - m_k / |m_k| ||^2,
 * the squared distance of the sample's L2-normalised feature to the
 * nearest of k normalised class centres (a zero vector stays zero).
 * features: (n, d); centres: (k, d), k >= 1. */
void lf_novelty_distance (const LfReal *features, int64_t n, int64_t d, const LfReal *centres, int64_t k,
                          double *scores);

G_END_DECLS
