/* lifelong toolkit — per-parameter importance for regularisation methods:
 * accumulators of squared gradients (EWC's Fisher), absolute gradients
 * (MAS), the SI path integral, and the fused quadratic penalty
 * sum_k w_k (theta_k - anchor_k)^2 they all pull with. */
#pragma once

#include <lifelong/tensor.h>

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

/* SI's path integral (Zenke et al. 2017): per step, omega += -g * dtheta;
 * at the end of an experience, Omega += omega / (Delta^2 + xi) with Delta
 * the parameters' change over the experience. */
typedef struct LfPathIntegral LfPathIntegral;

LfPathIntegral *lf_path_integral_new (int n, LfTensor *const *params);
void            lf_path_integral_free (LfPathIntegral *pi);
/* Before the optimizer step (after_backward): remembers theta and g. */
void            lf_path_integral_before_step (LfPathIntegral *pi);
/* After the step: omega += -g * (theta_new - theta_old). */
void            lf_path_integral_after_step (LfPathIntegral *pi);
/* Adds omega / (Delta^2 + xi) into into (shaped like the same params),
 * then starts a new experience (omega = 0, theta_start = theta). */
void            lf_path_integral_consolidate (LfPathIntegral *pi, LfImportance *into, double xi);
size_t          lf_path_integral_bytes (const LfPathIntegral *pi);

G_END_DECLS
