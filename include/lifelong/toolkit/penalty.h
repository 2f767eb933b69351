/* lifelong toolkit — what every quadratic-penalty regulariser (EWC, online
 * EWC, SI, MAS) keeps the same way: its parameters, an anchor theta*, the
 * importance weights w, the pull coef * sum w (theta - theta*)^2 handed to
 * the optimizer's update (lf_optimizer_set_pull), the figures a run
 * reports, a per-experience history, checkpoints and memory.  The plugin
 * keeps what is its own: how w is estimated, merged or decayed.
 * Since ABI 1.2. */
#pragma once

#include <lifelong/strategy.h>
#include <lifelong/toolkit/importance.h>
#include <lifelong/toolkit/snapshot.h>

G_BEGIN_DECLS

/* The figures every penalty keeps (lf_anchored_penalty_figure); a plugin's
 * own figures are numbered from LF_PENALTY_FIG_COUNT. */
enum {
  LF_PENALTY_FIG_QUAD_START,      /* "quadratic_at_start": sum w (theta - theta*)^2 + the constant,
                                   * at the first step of the last experience               */
  LF_PENALTY_FIG_PENALTY_START,   /* "penalty_at_start": coef times that                     */
  LF_PENALTY_FIG_PENALTY_LAST,    /* "penalty_last": the penalty at the last step            */
  LF_PENALTY_FIG_DRIFT,           /* "anchor_distance": |theta - theta*| at the end of the
                                   * last experience                                         */
  LF_PENALTY_FIG_COUNT
};

typedef struct LfAnchoredPenalty LfAnchoredPenalty;

/* Over the model's trainable parameters now (borrowed; the list is fixed
 * for the penalty's life), with zero weights and no anchor.  name prefixes
 * the checkpoint keys ("<name>.figures", ...); the penalty is coef * (sum w
 * (theta - theta*)^2 + constant).  extra_keys (n_extra, borrowed: static
 * strings) name the plugin's own figures, which start at NAN (left out of
 * the report until set). */
LfAnchoredPenalty *lf_anchored_penalty_new (LfStrategyCtx *ctx, const char *name, double coef,
                                            int n_extra, const char *const *extra_keys);
/* Removes its pull from the optimizer first: free it before the optimizer
 * (a strategy's destroy runs before the host frees the optimizer). */
void              lf_anchored_penalty_free (LfAnchoredPenalty *pen);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfAnchoredPenalty, lf_anchored_penalty_free)

int               lf_anchored_penalty_n (const LfAnchoredPenalty *pen);
LfTensor *const  *lf_anchored_penalty_params (const LfAnchoredPenalty *pen);
/* w, owned by pen and never moved (the optimizer reads it at each step):
 * a plugin accumulates, scales or overwrites it in place. */
LfImportance     *lf_anchored_penalty_weights (LfAnchoredPenalty *pen);
/* theta*_i, owned by pen and never moved; NULL before the first take. */
LfTensor         *lf_anchored_penalty_anchor (LfAnchoredPenalty *pen, int i);
gboolean          lf_anchored_penalty_has_anchor (const LfAnchoredPenalty *pen);
/* theta* = theta now (allocated the first time, then written in place). */
void              lf_anchored_penalty_take_anchor (LfAnchoredPenalty *pen);
/* A constant added to the measured sum for the figures (EWC's merged
 * terms); 0 at first. */
void              lf_anchored_penalty_set_constant (LfAnchoredPenalty *pen, double c);

/* ---- hooks --------------------------------------------------------------- */

/* In before_experience: hands the pull to lf_ctx_optimizer (ctx) for every
 * parameter, once there is an anchor (the pull survives the host's
 * set_params and reset_state, but the anchor may have been taken since the
 * last call), and makes the next step the experience's first. */
void              lf_anchored_penalty_begin (LfAnchoredPenalty *pen, LfStrategyCtx *ctx);
/* In after_step: the penalty the optimizer measured before its update ->
 * the figures. */
void              lf_anchored_penalty_after_step (LfAnchoredPenalty *pen, LfStrategyCtx *ctx);
/* |theta - to| over the parameters to holds (to NULL: pen's own anchor)
 * -> the drift figure; nothing when there is no anchor to measure from. */
void              lf_anchored_penalty_record_drift (LfAnchoredPenalty *pen, const LfSnapshot *to);
/* Each parameter's sum of imp (NULL: pen's weights) as experience e's row
 * of the history; the report lists rows 0 .. the last recorded. */
void              lf_anchored_penalty_record_history (LfAnchoredPenalty *pen, int64_t e, LfImportance *imp);
double            lf_anchored_penalty_figure (const LfAnchoredPenalty *pen, int k);
void              lf_anchored_penalty_set_figure (LfAnchoredPenalty *pen, int k, double v);

/* The figures that are not NAN (the four above, then the plugin's) and,
 * when history_key is not NULL, {"<param>": [row 0, row 1, ...], ...}
 * under it. */
void              lf_anchored_penalty_report (LfAnchoredPenalty *pen, LfStrategyCtx *ctx,
                                              const char *history_key);
/* Figures, history and, with tensors, the anchor ("<name>.anchor.<param>")
 * and the weights ("<name>.weight.<param>"); a plugin that derives them
 * from state of its own passes FALSE and rebuilds them after load. */
void              lf_anchored_penalty_save (LfAnchoredPenalty *pen, LfState *st, gboolean tensors);
/* FALSE with error (LF_ERROR_INVALID) naming the missing or misshapen key. */
gboolean          lf_anchored_penalty_load (LfAnchoredPenalty *pen, const LfState *st, gboolean tensors,
                                            GError **error);
size_t            lf_anchored_penalty_bytes (const LfAnchoredPenalty *pen);

/* The samples an importance estimate averages: the first min (max, n_all)
 * (every one when max <= 0) of a partial Fisher-Yates shuffle of
 * experience e's training ids, keyed by the run, the experience, the step
 * and purpose.  Newly allocated (g_free), NULL with *n = 0 when there are
 * none. */
int64_t          *lf_penalty_sample_ids (LfStrategyCtx *ctx, int64_t e, int64_t max, const char *purpose,
                                         int64_t *n);

/* EWC's diagonal Fisher from the model's predicted labels (Since: ABI 1.2):
 * into += 1/N sum_x (d log p(y^|x) / d theta)^2 over N = at most max
 * training samples of experience e (lf_penalty_sample_ids, purpose
 * "ewc-fisher"), y^ the arg-max of each row's task-masked logits; for a
 * language model's (n, T, V) logits, each sample's loss is its mean over
 * the positions its loss mask keeps of -log p(y^_t), y^_t the arg-max next
 * token.  batch > 1: exact per-sample squares batch samples at a time
 * (lf_importance_add_per_sample); 1: one backward pass per sample.
 * Returns N. */
int64_t           lf_fisher_predicted (LfImportance *into, LfStrategyCtx *ctx, int64_t e, int64_t max,
                                       int64_t batch);

G_END_DECLS
