/* lifelong toolkit — per-parameter importance for regularisation methods:
 * accumulators of squared gradients (EWC's Fisher), absolute gradients
 * (MAS), the SI path integral, and the fused quadratic penalty
 * sum_k w_k (theta_k - anchor_k)^2 they all pull with. */
#pragma once

#include <lifelong/tensor.h>
#include <lifelong/module.h>
#include <lifelong/optim.h>

G_BEGIN_DECLS

typedef struct LfImportance LfImportance;

/* Zero accumulators shaped like params[0..n) (borrowed; they must outlive it). */
LfImportance *lf_importance_new (int n, LfTensor *const *params);
void          lf_importance_free (LfImportance *imp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LfImportance, lf_importance_free)
int           lf_importance_n (const LfImportance *imp);
LfTensor     *lf_importance_param (LfImportance *imp, int i);
/* The accumulator of parameter i (owned by imp). */
LfTensor     *lf_importance_values (LfImportance *imp, int i);
/* acc_i += weight * g_i^2, and acc_i += weight * |g_i|.  grads[i] are the
 * parameters' gradients (numel each), or grads = NULL to read each
 * parameter's .grad (a NULL .grad counts as zero). */
void          lf_importance_add_sq (LfImportance *imp, const LfReal *const *grads, double weight);
void          lf_importance_add_abs (LfImportance *imp, const LfReal *const *grads, double weight);
/* ---- exact per-sample sums in batches ----------------------------------------
 * EWC's Fisher and MAS's importance sum a function of each sample's own
 * gradient, which a batch-of-one pass per sample computes slowly.  For a
 * linear y = a W^T + b the gradient of sample s is dW_s = delta_s a_s^T and
 * db_s = delta_s (delta_s = dL_s/dy_s, a_s the layer's input row), so
 *   sum_s dW_s^2 = (delta o delta)^T (a o a),   sum_s db_s^2 = sum_s delta_s^2,
 *   sum_s |dW_s| = |delta|^T |a|,               sum_s |db_s| = sum_s |delta_s|
 * exactly: one forward and backward of the summed losses of a batch gives
 * every per-sample sum of a plain linear's weight and bias.
 *
 * lf_importance_add_per_sample hooks every plain linear (class
 * lf_linear_class) under root whose weight or bias is in imp: the hook sees
 * the layer's input and passes its output through an identity op whose
 * backward keeps delta.  Per batch it checks, on the recorded graph, that
 * each such parameter reaches the loss through exactly one call of its
 * linear, on a (rows, in) input with one row per sample, whose output is
 * used by nothing else; every other parameter of imp that the loss reaches
 * (not a plain linear's, a linear called twice or on sequences, a weight
 * shared by two layers) and, when the graph holds a custom op (which may
 * read parameters through its context), every parameter, takes the slow
 * path: one batch-of-one pass per sample of the batch, for those
 * parameters only.  A parameter the loss does not reach gets nothing (its
 * gradient is zero).  The results equal the batch-of-one sums up to float
 * rounding (tests/test-importance.c, /importance/per-sample/...). */
typedef enum {
  LF_IMPORTANCE_SQUARED = 0,   /* acc += weight * sum_s g_s^2  (EWC's Fisher) */
  LF_IMPORTANCE_ABSOLUTE,      /* acc += weight * sum_s |g_s|  (MAS)          */
} LfImportanceKind;

/* The caller's loss of samples [first, first + count) of its own list: a
 * (1) tensor recorded in the current (innermost) tape scope, the SUM (not
 * the mean) of one loss per sample, each depending on its own sample only
 * (no batch statistics: evaluation-mode forwards).  Called inside a tape
 * scope the toolkit opens and pops; allocate with lf_scope_alloc. */
typedef LfTensor *(*LfSampleLossFn) (void *user, int64_t first, int64_t count);

/* Adds weight * sum_{s < n} f(g_s) into imp (f = square or absolute value,
 * g_s the gradient of sample s's loss with respect to imp's parameters),
 * running the samples in batches of batch_size (>= 1) through loss.  No
 * .grad is touched.  Returns the batch-of-one passes the slow path ran (0
 * when every parameter the loss reaches is a plain linear's). */
int64_t       lf_importance_add_per_sample (LfImportance *imp, LfModule *root, LfImportanceKind kind,
                                            int64_t n, int64_t batch_size, LfSampleLossFn loss,
                                            void *user, double weight);

/* Since ABI 1.2.  The same sums one sample at a time: for each s < n one
 * tape scope, loss (user, s, 1) and its gradient with respect to imp's
 * parameters (lf_grad_into, no .grad touched), added with
 * lf_importance_add_sq or _abs.  Exact, and slow. */
void          lf_importance_add_each_sample (LfImportance *imp, LfImportanceKind kind, int64_t n,
                                             LfSampleLossFn loss, void *user, double weight);

/* acc *= s (online EWC's gamma), acc += w * other's acc, acc = 0. */
void          lf_importance_scale (LfImportance *imp, double s);
void          lf_importance_add (LfImportance *imp, const LfImportance *other, double w);
void          lf_importance_zero (LfImportance *imp);
/* Sum of every accumulator element (diagnostics, tests). */
double        lf_importance_total (const LfImportance *imp);
size_t        lf_importance_bytes (const LfImportance *imp);

/* sum_i sum_k w_ik (theta_ik - anchor_ik)^2 -> (1), differentiable in theta
 * (gradient 2 w (theta - anchor)), one fused pass.  weights NULL: w = 1 (an
 * L2 pull).  anchors[i] has numel of parameter i; frozen parameters are
 * skipped. */
LfTensor     *lf_quadratic_penalty (int n, LfTensor *const *params, LfTensor *const *anchors,
                                    const LfImportance *weights);

/* The same penalty applied without a tape node, for after_backward: adds
 * coef * d/dtheta [sum w (theta - anchor)^2] = 2 coef w (theta - anchor)
 * into each parameter's .grad (written when no gradient reached it this
 * step) and returns sum w (theta - anchor)^2, in one pass over theta,
 * anchor, w and .grad where lf_scale (lf_quadratic_penalty (...), coef)
 * added to the loss takes two (the value in the forward, the gradient in
 * the backward).  The value and the gradient are the op's, rounded the same
 * way; the loss the host sees (and logs) does not include the term.
 * coef = 0: the value only, no .grad touched.  Skips what
 * lf_quadratic_penalty skips. */
double        lf_quadratic_penalty_add_grad (int n, LfTensor *const *params, LfTensor *const *anchors,
                                             const LfImportance *weights, double coef);

/* SI's path integral (Zenke et al. 2017): per step, omega += -g * dtheta;
 * at the end of an experience, Omega += omega / (Delta^2 + xi) with Delta
 * the parameters' change over the experience.  Either attached to the
 * optimizer, whose update accumulates omega in the same pass
 * (lf_path_integral_attach), or by hand around each step (before_step and
 * after_step, two extra passes and two copies of the parameters). */
typedef struct LfPathIntegral LfPathIntegral;

LfPathIntegral *lf_path_integral_new (int n, LfTensor *const *params);
/* Detaches it first (the optimizer must still be alive when attached). */
void            lf_path_integral_free (LfPathIntegral *pi);
/* Since ABI 1.2.  From the next step on, opt's update accumulates omega
 * (lf_optimizer_set_path_integral on every parameter: g is the gradient
 * before the optimizer's folded pull, the task's); NULL detaches from the
 * optimizer it was attached to.  pi must be detached or freed before opt
 * is; while attached, before_step and after_step must not be called. */
void            lf_path_integral_attach (LfPathIntegral *pi, LfOptimizer *opt);
/* Before the optimizer step (after_backward): remembers theta and g. */
void            lf_path_integral_before_step (LfPathIntegral *pi);
/* After the step: omega += -g * (theta_new - theta_old). */
void            lf_path_integral_after_step (LfPathIntegral *pi);
/* Adds omega / (Delta^2 + xi) into into (shaped like the same params),
 * then starts a new experience (omega = 0, theta_start = theta). */
void            lf_path_integral_consolidate (LfPathIntegral *pi, LfImportance *into, double xi);
size_t          lf_path_integral_bytes (const LfPathIntegral *pi);

G_END_DECLS
