/* lifelong plugins — the mixture-of-experts computation on tensors: top-k
 * selection, the router's gates, the Switch/GShard balance loss, the
 * dispatch of each expert's tokens and the weighted combine back (one
 * custom op), and the momentum merge.  Engine API only (no module tree), so
 * tests/test-moe-ops.c compiles it against the double-precision engine for
 * its gradient checks.  Compiled into the moe, lifelong-moe and cl-moe
 * plugins (with moe-layer.c); not a public API. */
#pragma once

#include <lifelong/lifelong.h>

/* sel (rows, N) = 1 for the k largest of each row of logits (rows, N), ties
 * to the lower index; 0 elsewhere.  k is clamped to N. */
void      moe_topk (const LfReal *logits, int64_t rows, int64_t N, int64_t k, uint8_t *sel);

/* The gates of a top-k router -> (rows, N), zero outside sel:
 *   norm_all FALSE: softmax over the selected logits only (Mixtral; equal to
 *                   the full softmax renormalised over the selection);
 *   norm_all TRUE:  the full softmax's values at the selection, not
 *                   renormalised (Switch's top-1 gate).
 * Differentiable in logits. */
LfTensor *moe_gates (LfTensor *logits, const uint8_t *sel, gboolean norm_all);

/* The load-balancing loss N * sum_i f_i P_i (Switch Transformer, Fedus et
 * al. 2022, Eq. 4; GShard's mean-gates form): f_i the fraction of the
 * (token, expert) assignments in sel that went to expert i (a constant),
 * P_i the mean over rows of softmax (logits)_i (differentiable).  1 when
 * routing is uniform.  -> (1) */
LfTensor *moe_balance_loss (LfTensor *logits, const uint8_t *sel);

/* One expert's computation on its tokens: x (n_e, d) -> (n_e, d). */
typedef LfTensor *(*MoeExpertFn) (int64_t expert, LfTensor *x, void *user);

/* y (out_rows, d): for every row r of xa (rows, d) and every expert e with
 * sel[r, e], y[dst[r]] += gates[r, e] * expert_e (xa[r]); rows of y no r
 * maps to are 0.  dst NULL: dst[r] = r (out_rows = rows).  Each expert runs
 * once, on the rows routed to it only (a row gather, its GEMMs, one fused
 * weighted scatter back), so the work per token is that of the experts it
 * was routed to, whatever N is.  Differentiable in xa, gates and whatever
 * the experts use. */
LfTensor *moe_dispatch (LfTensor *xa, LfTensor *gates, const uint8_t *sel, const int32_t *dst, int64_t out_rows,
                        MoeExpertFn fn, void *user);

/* The weighted scatter alone (tests): y (out_rows, d) with y[dst[j]] +=
 * gates[grow[j], expert[j]] * ys[j] for the M rows of ys (M, d). */
LfTensor *moe_combine (LfTensor *ys, LfTensor *gates, int64_t M, const int32_t *dst, const int32_t *grow,
                       const int32_t *expert, int64_t out_rows);

/* theta = lambda * old + (1 - lambda) * theta, elementwise, in place (CL-MoE's
 * momentum update, Huai et al., CVPR 2025), accumulated in double. */
void      moe_momentum_merge (LfReal *theta, const LfReal *old, int64_t n, double lambda);
