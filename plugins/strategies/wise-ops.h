/* lifelong plugins — WISE's computations (Wang et al., NeurIPS 2024;
 * docs/editing.md, "wise"): the random subspace masks an edit shard trains
 * in, the TIES merge (Yadav et al., NeurIPS 2023) of the shards' task
 * vectors into a side memory, and the activation score as a differentiable
 * op.  Plain arrays and the engine API, no model: wise-editor.c uses them,
 * tests/test-editing.c checks the masks and TIES on hand-made values,
 * tests/test-wise-ops.c the score's gradient in double precision. */
#pragma once

#include <lifelong/lifelong.h>

/* The mask of a shard: exactly round (rho * n) of the n bytes set to 1, the
 * others 0, chosen uniformly at random (a partial Fisher-Yates shuffle) from
 * the stream of key.  The same key gives the same mask.  0 < rho <= 1.
 * Returns the number of ones. */
int64_t wise_shard_mask (uint8_t *mask, int64_t n, double rho, uint64_t key);

/* TIES merging of k weight tensors (n values each, in thetas[i]) that
 * fine-tuned base:
 *   tau_i     = thetas[i] - base                          (task vectors)
 *   trim      keep the round (density * n) largest |tau_i| of each tau_i
 *             (ties: the lower index first), zero the rest
 *   elect     sign_p = sign (sum_i trimmed tau_i[p])
 *   merge     tau_p = mean of the trimmed tau_i[p] that are non-zero and
 *             have the elected sign (0 when none, or when sign_p is 0)
 *   out       = base + lambda * tau
 * 0 < density <= 1; out may alias base.  Returns how many elements of the
 * trimmed task vectors were dropped for disagreeing with the elected sign. */
int64_t wise_ties_merge (const LfReal *base, const LfReal *const *thetas, int k, int64_t n, double density,
                         double lambda, LfReal *out);

/* The activation score of each sequence: z, y (nseq * T rows of d values,
 * any shape with that many elements; d = numel / (nseq * T)), the side and
 * the main memory's outputs; per sequence b, over its positions t whose
 * token is not LF_TOKEN_PAD (tok (nseq, T); NULL: every position):
 *   mean: 1/n_b sum_t ||z_bt - y_bt||_2      max: max_t ||z_bt - y_bt||_2
 * (0 for a sequence with no position).  -> (nseq), differentiable in z and
 * y (max: through its arg-max position, the first of equals; a position
 * where z = y gets no gradient). */
LfTensor *wise_activation_score (LfTensor *z, LfTensor *y, int64_t nseq, int64_t T, const int32_t *tok,
                                 gboolean mean);
