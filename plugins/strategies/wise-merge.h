/* lifelong plugins — WISE's knowledge shards and their merge (Wang et al.,
 * NeurIPS 2024; docs/editing.md, "wise"): the random subspace masks an
 * edit shard trains in, and the TIES merge (Yadav et al., NeurIPS 2023) of
 * the shards' task vectors into a side memory.  Plain arrays, no model:
 * wise-editor.c uses them, tests/test-editing.c checks them on hand-made
 * values. */
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
